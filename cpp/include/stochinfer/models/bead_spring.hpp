// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/config.hpp"
#include "stochinfer/models/model_base.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// Bead-spring chain between walls (methods.md §5.1):
/// gamma dx_i = k (x_{i-1} - 2 x_i + x_{i+1}) dt + sqrt(2 gamma T_i) dW_i, x_0 = x_{N+1} = 0.
/// p = [k/gamma, sqrt(2 T_1/gamma), ..., sqrt(2 T_N/gamma)].
template <class T>
struct BeadSpring : ModelDefaults {
  using scalar = T;
  static constexpr bool kUnderdamped = false;
  int n = 0;
  const T* p = nullptr;

  STOCHINFER_HD int dim() const { return n; }
  STOCHINFER_HD int noise_dim() const { return n; }
  template <class V>
  STOCHINFER_HD void drift(const V* x, double, V* f) const {
    const T k = p[0];
    for (int i = 0; i < n; ++i) {
      V lap = T(-2) * x[i];
      if (i > 0) lap += x[i - 1];
      if (i + 1 < n) lap += x[i + 1];
      f[i] = k * lap;
    }
  }
  template <class V>
  STOCHINFER_HD void noise(const V*, double, const V* xi, V* g) const {
    for (int i = 0; i < n; ++i) g[i] = p[1 + i] * xi[i];
  }
  template <class V>
  STOCHINFER_HD void stratonovich_shift(const V*, double, V* c) const {
    for (int i = 0; i < n; ++i) c[i] = V(T(0));
  }
};

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
