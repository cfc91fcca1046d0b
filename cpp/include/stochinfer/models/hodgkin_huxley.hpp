// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/config.hpp"
#include "stochinfer/models/model_base.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// Stochastic Hodgkin-Huxley neuron, shifted convention (rest ~ 0 mV; methods.md §5.6).
/// State (V, n, m, h); D = diag(0, T, T, T): noise on the gates only.
/// p = [C, g_Na, g_K, g_L, E_Na, E_K, E_L, I_ext, T].
template <class T>
struct HodgkinHuxley : ModelDefaults {
  using scalar = T;
  static constexpr bool kUnderdamped = false;
  const T* p = nullptr;

  STOCHINFER_HD int dim() const { return 4; }
  STOCHINFER_HD int noise_dim() const { return 4; }

  /// y / (e^y - 1), with its removable singularity at y = 0 taken as a series.
  template <class V>
  STOCHINFER_HD static V exprel_inv(const V& y) {
    const V series = T(1) - y * (T(0.5) - y * (T(1.0 / 12)));
    const V exact = y / (vexp(y) - T(1));
    return vselect_lt(vabs(y), V(T(1e-4)), series, exact);
  }
  template <class V>
  STOCHINFER_HD static void rates(const V& v, V a[3], V b[3]) {
    a[0] = T(0.1) * exprel_inv((T(10) - v) * T(0.1));   // alpha_n = 0.01 (10-V)/(e^{(10-V)/10}-1)
    b[0] = T(0.125) * vexp(v * T(-1.0 / 80));
    a[1] = exprel_inv((T(25) - v) * T(0.1));             // alpha_m = 0.1 (25-V)/(e^{(25-V)/10}-1)
    b[1] = T(4) * vexp(v * T(-1.0 / 18));
    a[2] = T(0.07) * vexp(v * T(-1.0 / 20));
    b[2] = T(1) / (vexp((T(30) - v) * T(0.1)) + T(1));
  }
  template <class V>
  STOCHINFER_HD void drift(const V* x, double, V* f) const {
    const T C = p[0], gna = p[1], gk = p[2], gl = p[3], ena = p[4], ek = p[5], el = p[6], iext = p[7];
    const V& v = x[0];
    const V n4 = (x[1] * x[1]) * (x[1] * x[1]);
    const V m3 = x[2] * x[2] * x[2];
    f[0] = (iext - (gna * m3 * x[3] * (v - ena) + gk * n4 * (v - ek) + gl * (v - el))) * (T(1) / C);
    V a[3], b[3];
    rates(v, a, b);
    for (int j = 0; j < 3; ++j) f[1 + j] = a[j] * (T(1) - x[1 + j]) - b[j] * x[1 + j];
  }
  template <class V>
  STOCHINFER_HD void noise(const V*, double, const V* xi, V* g) const {
    const T amp = vsqrt(T(2) * p[8]);
    g[0] = V(T(0));
    for (int j = 1; j < 4; ++j) g[j] = amp * xi[j];
  }
  template <class V>
  STOCHINFER_HD void stratonovich_shift(const V*, double, V* c) const {
    for (int i = 0; i < 4; ++i) c[i] = V(T(0));
  }
  /// Gates are probabilities: clip to [0, 1] after every step (part of the process).
  template <class V>
  STOCHINFER_HD void project(V* x) const {
    for (int j = 1; j < 4; ++j) x[j] = vmin(vmax(x[j], V(T(0))), V(T(1)));
  }
  /// V(0) ~ U(-20, 20) mV, gates at their steady state alpha/(alpha+beta).
  template <class V>
  STOCHINFER_HD void initial_state(const V* u, V* x) const {
    x[0] = T(-20) + T(40) * u[0];
    V a[3], b[3];
    rates(x[0], a, b);
    for (int j = 0; j < 3; ++j) x[1 + j] = a[j] / (a[j] + b[j]);
  }
};

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
