// SPDX-License-Identifier: MIT
// Classification losses on softmax probabilities (methods.md §4.3): one sample's
// loss and its gradient with respect to the logits.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "stochinfer/config.hpp"
#include "stochinfer/nn/types.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// −log(1e-4): symmetric cross-entropy's reverse term clips log 0 to log 1e-4.
inline constexpr double kSceLogClip = 9.210340371976184;

/// Loss of the n samples whose logits are the columns of z (n_classes x n,
/// column-major) with labels y; returns their sum and writes d(sum / denom)/dz into
/// dz (same layout). Every loss here is f(p_y), so dL/dz_k = c (δ_yk − p_k) with
/// c = p_y f'(p_y). correct (optional) counts the samples whose largest logit is
/// the label's (ties go to the lowest class index).
template <class T>
double classification_loss(const ClassLossSpec& s, const T* z, const int* y, int n, int n_classes, double denom,
                           T* dz, std::int64_t* correct = nullptr) {
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
      default:  // sce
        loss = -s.alpha * log_py + s.beta * kSceLogClip * (1.0 - py);
        c = -s.alpha - s.beta * kSceLogClip * py;
    }
    total += loss;
    if (!dz) continue;
    T* gi = dz + std::size_t(i) * n_classes;
    const double scale = c / denom;
    for (int k = 0; k < n_classes; ++k) {
      const double pk = std::exp(double(zi[k]) - zmax) / sum;
      gi[k] = T(scale * ((k == yi ? 1.0 : 0.0) - pk));
    }
  }
  return total;
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
