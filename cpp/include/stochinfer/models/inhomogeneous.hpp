// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/config.hpp"
#include "stochinfer/models/model_base.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// Multiplicative-noise system (methods.md §5.5): D(x) = diag(T (1 + T0 e^{-x_i^2/2})),
/// Phi(x) = A x - T T0 x e^{-x^2/2} (the second term is div D, the spurious drift).
/// p = [T, T0, A (d*d)].
template <class T>
struct Inhomogeneous : ModelDefaults {
  using scalar = T;
  static constexpr bool kUnderdamped = false;
  static constexpr bool kAdditiveNoise = false;
  int d = 0;
  const T* p = nullptr;

  STOCHINFER_HD int dim() const { return d; }
  STOCHINFER_HD int noise_dim() const { return d; }
  template <class V>
  STOCHINFER_HD void drift(const V* x, double, V* f) const {
    const T temp = p[0], t0 = p[1];
    const T* A = p + 2;
    for (int i = 0; i < d; ++i) {
      V s = (-temp * t0) * x[i] * vexp(T(-0.5) * x[i] * x[i]);
      for (int j = 0; j < d; ++j) s += A[i * d + j] * x[j];
      f[i] = s;
    }
  }
  template <class V>
  STOCHINFER_HD void noise(const V* x, double, const V* xi, V* g) const {
    const T temp = p[0], t0 = p[1];
    for (int i = 0; i < d; ++i)
      g[i] = vsqrt((T(2) * temp) * (T(1) + t0 * vexp(T(-0.5) * x[i] * x[i]))) * xi[i];
  }
  /// Ito -> Stratonovich: -1/2 d_i D_ii = +1/2 T T0 x_i e^{-x_i^2/2}.
  template <class V>
  STOCHINFER_HD void stratonovich_shift(const V* x, double, V* c) const {
    const T temp = p[0], t0 = p[1];
    for (int i = 0; i < d; ++i) c[i] = (T(0.5) * temp * t0) * x[i] * vexp(T(-0.5) * x[i] * x[i]);
  }
};

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
