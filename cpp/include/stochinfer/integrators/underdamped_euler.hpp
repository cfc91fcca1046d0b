// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/config.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// Explicit Euler scheme of the reference LBN code (methods.md §5.7): force
/// from the old (x, v); x advanced with the old v; then v advanced.
/// state = (x, v), each dof() long; work: >= 2 dof() values.
template <class Model, class V, class T>
STOCHINFER_HD void underdamped_euler_step(const Model& m, V* state, double t, T dt, T sqrt_dt,
                                          const V* xi, V* work) {
  const int n = m.dof();
  V* x = state;
  V* v = state + n;
  V* a = work;
  V* g = work + n;
  m.force(x, v, t, a);
  m.noise(x, v, t, xi, g);
  const T gamma = m.friction(t);
  for (int i = 0; i < n; ++i) {
    const V v_old = v[i];
    v[i] += (a[i] - gamma * v_old) * dt + g[i] * sqrt_dt;
    x[i] += v_old * dt;
  }
  m.project(state);
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
