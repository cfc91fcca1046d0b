// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/config.hpp"
#include "stochinfer/models/model_base.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// Underdamped Van der Pol oscillators (methods.md §5.7), d independent copies:
/// dx = v dt, dv = [mu (1 - x^2) v - x] dt + sqrt(2 D) dW,
/// D = T (1 + c_x x^2 + c_v v^2)  (c_x = c_v = 0: VanDerPol; 0.3, 0.1: VanDerPolIHD).
/// p = [mu, T, c_x, c_v].
template <class T>
struct VanDerPol : ModelDefaults {
  using scalar = T;
  static constexpr bool kUnderdamped = true;
  static constexpr bool kAdditiveNoise = false;
  int d = 1;
  const T* p = nullptr;

  STOCHINFER_HD int dof() const { return d; }
  STOCHINFER_HD int dim() const { return 2 * d; }
  STOCHINFER_HD int noise_dim() const { return d; }
  STOCHINFER_HD T friction(double) const { return T(0); }
  template <class V>
  STOCHINFER_HD void force(const V* x, const V* v, double, V* a) const {
    const T mu = p[0];
    for (int i = 0; i < d; ++i) a[i] = mu * (T(1) - x[i] * x[i]) * v[i] - x[i];
  }
  template <class V>
  STOCHINFER_HD void noise(const V* x, const V* v, double, const V* xi, V* g) const {
    const T temp = p[1], cx = p[2], cv = p[3];
    for (int i = 0; i < d; ++i)
      g[i] = vsqrt((T(2) * temp) * (T(1) + cx * x[i] * x[i] + cv * v[i] * v[i])) * xi[i];
  }
};

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
