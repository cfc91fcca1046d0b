// SPDX-License-Identifier: MIT
// Classification losses on softmax probabilities (methods.md §4.3): one sample's
// loss and its gradient with respect to the logits.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "stochinfer/config.hpp"
#include "stochinfer/nn/types.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// −log(1e-4): symmetric cross-entropy's reverse term clips log 0 to log 1e-4.
inline constexpr double kSceLogClip = 9.210340371976184;

/// ELR's probability clamp.
inline constexpr double kElrClamp = 1e-4;

/// ELR's regulariser λ log(1 − ⟨t, q⟩), q = clamp(p), for one sample with softmax
/// probabilities p and target t (n_classes each); adds its gradient with respect to
/// the logits, times `scale`, into g (entries beyond the clamp pass none; at it they
/// pass, as torch.clamp).
/// With t_new non-null, t is first moved to t_new = β t + (1 − β) q/Σq (detached).
inline double elr_term(const ClassLossSpec& s, const double* p, const double* t, double* t_new, int n_classes,
                       double scale, double* g) {
  const auto clamped = [](double x) { return std::min(std::max(x, kElrClamp), 1.0 - kElrClamp); };
  if (t_new) {
    double qsum = 0.0;
    for (int k = 0; k < n_classes; ++k) qsum += clamped(p[k]);
    for (int k = 0; k < n_classes; ++k) t_new[k] = s.elr_beta * t[k] + (1.0 - s.elr_beta) * clamped(p[k]) / qsum;
    t = t_new;
  }
  double dot = 0.0;
  for (int k = 0; k < n_classes; ++k) dot += t[k] * clamped(p[k]);
  if (g) {
    // dL/dq_k = −λ t_k / (1 − ⟨t, q⟩) where unclamped; dL/dz_j = p_j (dL/dq_j − Σ_k dL/dq_k p_k)
    const auto dq = [&](int k) {
      return p[k] >= kElrClamp && p[k] <= 1.0 - kElrClamp ? -s.elr_lambda * t[k] / (1.0 - dot) : 0.0;
    };
    double mean = 0.0;
    for (int k = 0; k < n_classes; ++k) mean += dq(k) * p[k];
    for (int k = 0; k < n_classes; ++k) g[k] += scale * p[k] * (dq(k) - mean);
  }
  return s.elr_lambda * std::log1p(-dot);
}

/// Loss of the n samples whose logits are the columns of z (n_classes x n,
/// column-major) with labels y; returns their sum and writes d(sum / denom)/dz into
/// dz (same layout). Every loss but ELR is f(p_y), so dL/dz_k = c (δ_yk − p_k) with
/// c = p_y f'(p_y). correct (optional) counts the samples whose largest logit is
/// the label's (ties go to the lowest class index). ELR reads each sample's target
/// from targets (n_classes x n; null: zero targets, where ELR is cross-entropy) and,
/// with new_targets non-null, moves it first and writes the moved targets there.
/// Truncated GCE weights each sample by weights[i] (null: 1).
template <class T>
double classification_loss(const ClassLossSpec& s, const T* z, const int* y, int n, int n_classes, double denom,
                           T* dz, std::int64_t* correct = nullptr, const double* targets = nullptr,
                           double* new_targets = nullptr, const double* weights = nullptr) {
  std::vector<double> p, gz, zero;
  if (s.kind == ClassLoss::elr) {
    p.resize(n_classes);
    gz.resize(n_classes);
    zero.assign(n_classes, 0.0);
  }
  double total = 0.0;
  for (int i = 0; i < n; ++i) {
    const T* zi = z + std::size_t(i) * n_classes;
    const int yi = y[i];
    if (yi < 0 || yi >= n_classes)
      throw std::invalid_argument("label " + std::to_string(yi) + " is outside [0, " + std::to_string(n_classes) +
                                  ")");
    int arg = 0;
    double zmax = zi[0];
    for (int k = 1; k < n_classes; ++k)
      if (double(zi[k]) > zmax) zmax = zi[k], arg = k;
    if (correct && arg == yi) ++*correct;
    double sum = 0.0;
    for (int k = 0; k < n_classes; ++k) sum += std::exp(double(zi[k]) - zmax);
    const double log_py = double(zi[yi]) - zmax - std::log(sum);
    const double py = std::exp(log_py);
    double loss, c;
    switch (s.kind) {
      case ClassLoss::cross_entropy: loss = -log_py, c = -1.0; break;
      case ClassLoss::mae: loss = 2.0 - 2.0 * py, c = -2.0 * py; break;
      case ClassLoss::gce: {
        const double pq = std::exp(s.q * log_py);
        loss = (1.0 - pq) / s.q, c = -pq;
        break;
      }
      case ClassLoss::elr: loss = -log_py, c = -1.0; break;  // plus the regulariser below
      case ClassLoss::tgce: {
        const double w = weights ? weights[i] : 1.0, pq = std::exp(s.q * log_py);
        loss = w * ((1.0 - pq) / s.q - (1.0 - std::pow(s.tgce_k, s.q)) / s.q), c = -w * pq;
        break;
      }
      default:  // sce
        loss = -s.alpha * log_py + s.beta * kSceLogClip * (1.0 - py);
        c = -s.alpha - s.beta * kSceLogClip * py;
    }
    if (s.kind == ClassLoss::elr) {
      for (int k = 0; k < n_classes; ++k) p[k] = std::exp(double(zi[k]) - zmax) / sum, gz[k] = 0.0;
      const double* t = targets ? targets + std::size_t(i) * n_classes : zero.data();
      double* t_new = new_targets ? new_targets + std::size_t(i) * n_classes : nullptr;
      loss += elr_term(s, p.data(), t, t_new, n_classes, 1.0 / denom, dz ? gz.data() : nullptr);
    }
    total += loss;
    if (!dz) continue;
    T* gi = dz + std::size_t(i) * n_classes;
    const double scale = c / denom;
    for (int k = 0; k < n_classes; ++k) {
      const double pk = std::exp(double(zi[k]) - zmax) / sum;
      gi[k] = T(scale * ((k == yi ? 1.0 : 0.0) - pk) + (s.kind == ClassLoss::elr ? gz[k] : 0.0));
    }
  }
  return total;
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
