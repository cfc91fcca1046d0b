// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/config.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// One Euler-Maruyama (Ito) step of an overdamped model:
/// x <- x + Phi(x, t) dt + sqrt(2 D(x, t)) xi sqrt(dt).
/// xi: noise_dim() standard normals; work: >= 2 dim() values.
template <class Model, class V, class T>
STOCHINFER_HD void euler_maruyama_step(const Model& m, V* x, double t, T dt, T sqrt_dt, const V* xi,
                                       V* work) {
  const int d = m.dim();
  V* f = work;
  V* g = work + d;
  m.drift(x, t, f);
  m.noise(x, t, xi, g);
  for (int i = 0; i < d; ++i) x[i] += f[i] * dt + g[i] * sqrt_dt;
  m.project(x);
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
