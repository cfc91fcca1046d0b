// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/config.hpp"
#include "stochinfer/models/model_base.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// Ornstein-Uhlenbeck process dx = A x dt + G dW with G = chol(2D) constant.
/// p = [A (d*d, row-major), G (d*d, row-major, lower)].
template <class T>
struct LinearOU : ModelDefaults {
  using scalar = T;
  static constexpr bool kUnderdamped = false;
  int d = 0;
  const T* p = nullptr;

  STOCHINFER_HD int dim() const { return d; }
  STOCHINFER_HD int noise_dim() const { return d; }
  template <class V>
  STOCHINFER_HD void drift(const V* x, double, V* f) const {
    const T* A = p;
    for (int i = 0; i < d; ++i) {
      V s = A[i * d] * x[0];
      for (int j = 1; j < d; ++j) s += A[i * d + j] * x[j];
      f[i] = s;
    }
  }
  template <class V>
  STOCHINFER_HD void noise(const V*, double, const V* xi, V* g) const {
    const T* G = p + d * d;
    for (int i = 0; i < d; ++i) {
      V s = G[i * d] * xi[0];
      for (int j = 1; j <= i; ++j) s += G[i * d + j] * xi[j];
      g[i] = s;
    }
  }
  template <class V>
  STOCHINFER_HD void stratonovich_shift(const V*, double, V* c) const {
    for (int i = 0; i < d; ++i) c[i] = V(T(0));
  }
};

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
