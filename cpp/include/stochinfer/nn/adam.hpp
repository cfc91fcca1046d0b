// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>
#include <cstddef>

#include "stochinfer/config.hpp"
#include "stochinfer/nn/types.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// One update of params p[0..n) with gradient g; m, v are the moment buffers and
/// `step` the 1-based count of this update (bias correction).
template <class T>
void adam_update(const AdamConfig& c, long step, T* p, const T* g, T* m, T* v, std::size_t n) {
  const double bc1 = 1.0 - std::pow(c.beta1, double(step));
  const double bc2 = 1.0 - std::pow(c.beta2, double(step));
  const T step_size = T(c.lr / bc1), inv_bc2_sqrt = T(1.0 / std::sqrt(bc2)), eps = T(c.eps);
  const T b1 = T(c.beta1), b2 = T(c.beta2), wd = T(c.weight_decay);
  const T shrink = T(1.0 - c.lr * c.weight_decay);
  for (std::size_t i = 0; i < n; ++i) {
    T gi = g[i];
    if (c.decoupled)
      p[i] *= shrink;
    else
      gi += wd * p[i];
    m[i] += (T(1) - b1) * (gi - m[i]);
    v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_bc2_sqrt + eps);
  }
}

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
