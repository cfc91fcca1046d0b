// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>

#include "stochinfer/config.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// One BAOAB step (Leimkuhler-Matthews splitting): half kick (B), half drift (A),
/// Ornstein-Uhlenbeck velocity update (O), half drift, half kick. The O step is
/// exact for the linear friction gamma = Model::friction(t):
///   v <- c1 v + sqrt((1 - c1^2) / (2 gamma)) G xi,  c1 = e^{-gamma dt}, G = sqrt(2D),
/// which tends to v + G xi sqrt(dt) as gamma -> 0. Velocity-dependent forces
/// (e.g. Van der Pol) enter the kicks. work: >= 2 dof() values.
template <class Model, class V, class T>
STOCHINFER_HD void baoab_step(const Model& m, V* state, double t, T dt, T sqrt_dt, const V* xi,
                              V* work) {
  const int n = m.dof();
  V* x = state;
  V* v = state + n;
  V* a = work;
  V* g = work + n;
  const T half = T(0.5) * dt;
  m.force(x, v, t, a);
  for (int i = 0; i < n; ++i) v[i] += half * a[i];
  for (int i = 0; i < n; ++i) x[i] += half * v[i];
  const double t_mid = t + static_cast<double>(half);
  const T gamma = m.friction(t_mid);
  const double gdt = static_cast<double>(gamma) * static_cast<double>(dt);
  const T c1 = static_cast<T>(exp(-gdt));
  // (1 - c1^2)/(2 gamma) = dt (1 - e^{-2 gdt}) / (2 gdt), stable as gdt -> 0
  const T o_scale = gdt > 1e-8 ? static_cast<T>(sqrt(-expm1(-2.0 * gdt) / (2.0 * gdt))) * sqrt_dt
                               : sqrt_dt;
  m.noise(x, v, t_mid, xi, g);
  for (int i = 0; i < n; ++i) v[i] = c1 * v[i] + o_scale * g[i];
  for (int i = 0; i < n; ++i) x[i] += half * v[i];
  m.force(x, v, t + static_cast<double>(dt), a);
  for (int i = 0; i < n; ++i) v[i] += half * a[i];
  m.project(state);
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
