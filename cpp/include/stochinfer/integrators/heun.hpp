// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/config.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// One stochastic Heun step: the predictor-corrector (trapezoidal) scheme that
/// converges to the Stratonovich solution. Models are specified in Ito form, so
/// the drift is shifted to its Stratonovich equivalent, Phi + c with
/// c = -1/2 sum G dG (Model::stratonovich_shift); the result integrates the same
/// SDE as Euler-Maruyama, with better accuracy for multiplicative noise.
/// work: >= 6 dim() values.
template <class Model, class V, class T>
STOCHINFER_HD void heun_step(const Model& m, V* x, double t, T dt, T sqrt_dt, const V* xi, V* work) {
  const int d = m.dim();
  V* f0 = work;
  V* g0 = work + d;
  V* xp = work + 2 * d;
  V* f1 = work + 3 * d;
  V* g1 = work + 4 * d;
  V* c = work + 5 * d;
  m.drift(x, t, f0);
  m.stratonovich_shift(x, t, c);
  for (int i = 0; i < d; ++i) f0[i] += c[i];
  m.noise(x, t, xi, g0);
  for (int i = 0; i < d; ++i) xp[i] = x[i] + f0[i] * dt + g0[i] * sqrt_dt;
  m.project(xp);
  const double t1 = t + static_cast<double>(dt);
  m.drift(xp, t1, f1);
  m.stratonovich_shift(xp, t1, c);
  for (int i = 0; i < d; ++i) f1[i] += c[i];
  m.noise(xp, t1, xi, g1);
  for (int i = 0; i < d; ++i)
    x[i] += T(0.5) * ((f0[i] + f1[i]) * dt + (g0[i] + g1[i]) * sqrt_dt);
  m.project(x);
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
