// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>
#include <vector>

#include "stochinfer/config.hpp"
#include "stochinfer/nn/types.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace losses {

/// Output head of the Langevin drift and diffusion networks (methods.md §3.3):
/// raw network output -> field (drift F̃, or the d(d+1)/2 lower-triangular entries
/// of D̃ = L Lᵀ) -> prediction pred_scale * field, with the least-squares loss
/// ½‖y - prediction‖² of a regression label y and its gradient. Column-wise, one
/// state per call; the dimensions are small (d <= a few tens). The affine head
/// optionally adds a base field of the state (m entries per call, `base`): the
/// network then learns the residual from it.
class LangevinHead {
 public:
  explicit LangevinHead(const HeadSpec& s) : spec_(s), m_(s.out_dim()) {
    s.validate();
    mean_ = s.mean.empty() ? std::vector<double>(m_, 0.0) : s.mean;
    scale_ = s.scale.empty() ? std::vector<double>(m_, 1.0) : s.scale;
    L_.resize(std::size_t(s.d) * s.d);
    G_.resize(L_.size());
  }

  int out_dim() const { return m_; }
  const HeadSpec& spec() const { return spec_; }

  /// Field of one raw output column (m entries each); base as in loss_grad.
  template <class T>
  void field(const T* raw, T* f, const double* base = nullptr) {
    if (spec_.kind == HeadKind::affine) {
      for (int k = 0; k < m_; ++k) f[k] = T(double(raw[k]) * scale_[k] + mean_[k] + (base ? base[k] : 0.0));
      return;
    }
    fill_cholesky(raw);
    const int d = spec_.d;
    for (int i = 0, k = 0; i < d; ++i)
      for (int j = 0; j <= i; ++j, ++k) {
        double s = 0.0;
        for (int l = 0; l <= j; ++l) s += L_[i * d + l] * L_[j * d + l];
        f[k] = T(s);
      }
  }

  /// Loss ½‖y - pred_scale * field(raw)‖² of one column; writes dL/draw into g.
  /// base: the affine head's base field at this state (nullptr: none).
  template <class T>
  double loss_grad(const T* raw, const T* y, T* g, const double* base = nullptr) {
    const double ps = spec_.pred_scale;
    double loss = 0.0;
    if (spec_.kind == HeadKind::affine) {
      for (int k = 0; k < m_; ++k) {
        const double r = ps * (double(raw[k]) * scale_[k] + mean_[k] + (base ? base[k] : 0.0)) - double(y[k]);
        loss += 0.5 * r * r;
        g[k] = T(r * ps * scale_[k]);
      }
      return loss;
    }
    fill_cholesky(raw);
    const int d = spec_.d;
    // G: dL/dD on the lower triangle (the label holds each off-diagonal entry once)
    std::fill(G_.begin(), G_.end(), 0.0);
    for (int i = 0, k = 0; i < d; ++i)
      for (int j = 0; j <= i; ++j, ++k) {
        double s = 0.0;
        for (int l = 0; l <= j; ++l) s += L_[i * d + l] * L_[j * d + l];
        const double r = ps * s - double(y[k]);
        loss += 0.5 * r * r;
        G_[i * d + j] = r * ps;
      }
    // dL/dL = (G + Gᵀ) L on the lower triangle; the diagonal passes softplus
    for (int a = 0, k = 0; a < d; ++a)
      for (int b = 0; b <= a; ++b, ++k) {
        double s = 0.0;
        for (int j = b; j < d; ++j) s += (G_[a * d + j] + G_[j * d + a]) * L_[j * d + b];
        if (a == b) s *= 1.0 / (1.0 + std::exp(-u_diag(raw, k)));
        g[k] = T(s * scale_[k]);
      }
    return loss;
  }

 private:
  template <class T>
  double u_diag(const T* raw, int k) const {
    return double(raw[k]) * scale_[k] + mean_[k];
  }

  template <class T>
  void fill_cholesky(const T* raw) {
    const int d = spec_.d;
    std::fill(L_.begin(), L_.end(), 0.0);
    for (int i = 0, k = 0; i < d; ++i)
      for (int j = 0; j <= i; ++j, ++k) {
        const double u = double(raw[k]) * scale_[k] + mean_[k];
        L_[i * d + j] = i == j ? (u > 20 ? u : std::log1p(std::exp(u))) + spec_.diag_eps : u;
      }
  }

  HeadSpec spec_;
  int m_;
  std::vector<double> mean_, scale_, L_, G_;  // L_, G_: d x d row-major scratch
};

}  // namespace losses
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
