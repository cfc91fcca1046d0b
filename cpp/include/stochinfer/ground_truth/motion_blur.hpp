// SPDX-License-Identifier: MIT
#pragma once
#include <Eigen/Dense>
#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "stochinfer/ground_truth/linear_ep.hpp"

namespace stochinfer {
namespace ground_truth {

/// What a window of motion-blurred frames can reveal of dx = A x dt + sqrt(2D) dW,
/// as rates per frame interval (k_B per unit time, the window's KL divergence over
/// (seq_len − 1) frame intervals).
struct ExposureEp {
  /// the window of exposure-mean positions X̄_p = (1/blur) Σ_{i<blur} x_{p·blur+i}: a
  /// spot's centroid is linear in the image, so the frames show at least this much
  double mean_rate = 0;
  /// the sub-step path the window spans (seq_len·blur − 1 steps of the recorded chain):
  /// no function of that path, the frames included, shows more
  double span_rate = 0;
};

/// Exposure-window EP of the stationary chain recorded every dt / blur (integrated as
/// `spec` says over each such interval; frames are dt apart and each averages blur
/// consecutive records). observed: the coordinates the frames draw (empty: all); the
/// exposure-mean window is then theirs, while the span rate stays the whole path's.
/// Throws std::invalid_argument on bad input.
inline ExposureEp exposure_window_ep(const Eigen::MatrixXd& A, const Eigen::MatrixXd& D, double dt,
                                     const SnapshotSpec& spec, int blur, int seq_len,
                                     const std::vector<int>& observed = {}) {
  const char* fn = "exposure_window_ep";
  if (blur < 1 || seq_len < 2 || std::int64_t(blur) * seq_len > 100000)
    throw std::invalid_argument(std::string(fn) + ": need blur >= 1, seq_len >= 2 and blur * seq_len <= 100000");
  if (!(dt > 0)) throw std::invalid_argument(std::string(fn) + ": dt must be > 0");
  for (std::size_t i = 0; i < observed.size(); ++i)
    if (observed[i] < 0 || observed[i] >= A.rows() || (i > 0 && observed[i] <= observed[i - 1]))
      throw std::invalid_argument(std::string(fn) + ": observed must list distinct coordinates in increasing order");
  const double h = dt / blur;
  const SampledChain ch = sampled_chain(A, D, h, spec, fn);
  const Eigen::Index n = seq_len;
  // lag covariances R(m) = Cov(x_{j+m}, x_j) = E^m C_s for m = 0 … n·blur − 1
  const std::int64_t n_lags = std::int64_t(n) * blur;
  std::vector<Eigen::MatrixXd> R(static_cast<std::size_t>(n_lags));
  R[0] = ch.covariance;
  for (std::int64_t m = 1; m < n_lags; ++m) R[std::size_t(m)] = ch.propagator * R[std::size_t(m - 1)];
  auto lag = [&](std::int64_t m) -> Eigen::MatrixXd {
    return m >= 0 ? R[std::size_t(m)] : Eigen::MatrixXd(R[std::size_t(-m)].transpose());
  };
  // G(l) = Cov(X̄_{p+l}, X̄_p) = (1/b²) Σ_{|k|<b} (b − |k|) R(l·b + k)
  // the observed coordinates' rows and columns
  std::vector<int> obs = observed;
  if (obs.empty())
    for (int i = 0; i < int(A.rows()); ++i) obs.push_back(i);
  const Eigen::Index d = Eigen::Index(obs.size());
  std::vector<Eigen::MatrixXd> G(static_cast<std::size_t>(n));
  for (Eigen::Index l = 0; l < n; ++l) {
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(A.rows(), A.rows());
    for (int k = -(blur - 1); k < blur; ++k) g += double(blur - std::abs(k)) * lag(std::int64_t(l) * blur + k);
    G[std::size_t(l)] = g(obs, obs) / (double(blur) * blur);
  }
  // forward window: block (p, q) = G(p − q); reversed: G(q − p). Equal determinants, so
  // KL = tr(Σ_r⁻¹ Σ_f − I)/2 = tr(Σ_r⁻¹ (Σ_f − Σ_r))/2, the form that is exactly 0 for a
  // reversible process instead of a difference of two numbers of size n·d.
  Eigen::MatrixXd Sf(n * d, n * d), Sr(n * d, n * d);
  for (Eigen::Index p = 0; p < n; ++p)
    for (Eigen::Index q = 0; q < n; ++q) {
      const Eigen::MatrixXd gpq = p >= q ? G[std::size_t(p - q)] : Eigen::MatrixXd(G[std::size_t(q - p)].transpose());
      Sf.block(p * d, q * d, d, d) = gpq;
      Sr.block(p * d, q * d, d, d) = gpq.transpose();
    }
  const auto llt = detail::spd_factor(Sr, fn, "window covariance");
  const double kl = 0.5 * llt.solve(Eigen::MatrixXd(Sf - Sr)).trace();
  ExposureEp out;
  out.span_rate = std::max(0.0, snapshot_ep_rate(A, D, h, spec)) * h * double(n_lags - 1) / ((n - 1) * dt);
  // data processing: 0 <= exposure means <= the spanned path; the clamp removes rounding only
  out.mean_rate = std::min(std::max(0.0, kl / ((n - 1) * dt)), out.span_rate);
  return out;
}

}  // namespace ground_truth
}  // namespace stochinfer
