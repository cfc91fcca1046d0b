// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/config.hpp"
#include "stochinfer/models/carnot_protocol.hpp"
#include "stochinfer/models/model_base.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// Underdamped Brownian Carnot engine (methods.md §5.8), m = 1:
/// dx = v dt, dv = [-k(t) x - gamma v] dt + sqrt(2 gamma T(t)) dW.
/// p = [gamma, tau, k_max, t_cold].
template <class T>
struct BrownianCarnot : ModelDefaults {
  using scalar = T;
  static constexpr bool kUnderdamped = true;
  const T* p = nullptr;

  STOCHINFER_HD CarnotProtocol protocol() const {
    CarnotProtocol c;
    c.tau = p[1];
    c.k_max = p[2];
    c.t_cold = p[3];
    return c;
  }
  STOCHINFER_HD int dof() const { return 1; }
  STOCHINFER_HD int dim() const { return 2; }
  STOCHINFER_HD int noise_dim() const { return 1; }
  STOCHINFER_HD T friction(double) const { return p[0]; }
  template <class V>
  STOCHINFER_HD void force(const V* x, const V*, double t, V* a) const {
    a[0] = static_cast<T>(-protocol().stiffness(t)) * x[0];
  }
  template <class V>
  STOCHINFER_HD void noise(const V*, const V*, double t, const V* xi, V* g) const {
    g[0] = static_cast<T>(sqrt(2.0 * p[0] * protocol().temperature(t))) * xi[0];
  }
};

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
