// SPDX-License-Identifier: MIT
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "stochinfer/models/carnot_protocol.hpp"

namespace stochinfer {
namespace ground_truth {

/// Exact per-cycle thermodynamics of the underdamped Brownian Carnot engine (methods.md §5.8)
/// in its periodic steady state, from the closed second-moment equations (m = 1).
struct CarnotCycle {
  double mean_work;   ///< <W> = int (1/2)<x^2> dk per cycle: work on the particle (< 0: engine)
  double heat_hot;    ///< Q_h = int gamma (T - <v^2>) dt over the hot isotherm [tau/2, 3tau/4]
  double heat_total;  ///< heat absorbed over the whole cycle (= -mean_work in steady state)
  double efficiency;  ///< -mean_work / heat_hot (meaningless when mean_work > 0: not an engine)
  double x2;          ///< periodic-state <x^2> at phase 0
  double xv;          ///< periodic-state <x v> at phase 0
  double v2;          ///< periodic-state <v^2> at phase 0
};

/// Solves d<x^2>/dt = 2<xv>, d<xv>/dt = <v^2> - k<x^2> - gamma<xv>,
/// d<v^2>/dt = -2k<xv> - 2gamma<v^2> + 2gamma T with classical RK4 at a fixed step aligned
/// with the quarter-cycle breakpoints of the protocol (so each step sees a smooth
/// integrand). The moment equations are affine, and so is one RK4 cycle: y -> Phi y + psi.
/// The periodic state solves (I - Phi) y = psi; Phi and psi come from one cycle started at
/// 0 and at each unit vector, so the cost is about six cycles whatever the relaxation time
/// (iterating cycles from equilibrium needed ~100 and more for short tau). warmup_cycles
/// further cycles run from the solved state before the recorded one (0: none needed; more
/// run while the phase-0 moments still change by > 1e-13 relative over a cycle).
/// steps_per_unit_time sets the step (h <= 1/steps_per_unit_time and <= 0.4 over the fastest
/// rate max(2 gamma, 2 sqrt(k_max)), at least min_steps_per_quarter steps per quarter); the
/// defaults give ~1e-9 absolute accuracy on work and heat for gamma = 10, k_M = 40. A cycle
/// whose heat and work do not balance (a step too coarse) raises std::runtime_error. More
/// than 2.5e7 steps per quarter cycle (tau > 2e6 at the defaults) is refused: the cost grows
/// linearly with tau, and carnot_quasistatic is the limit. cancel, when non-null and set,
/// stops the integration within one million steps; the result is then meaningless.
inline CarnotCycle carnot_cycle_moments(const CarnotProtocol& protocol, double gamma = 10.0,
                                        int warmup_cycles = 0,
                                        double steps_per_unit_time = 50.0,
                                        int min_steps_per_quarter = 500,
                                        const std::atomic<bool>* cancel = nullptr) {
  const char* fn = "carnot_cycle_moments";
  if (!(protocol.tau > 0.0) || !std::isfinite(protocol.tau)) {
    throw std::invalid_argument(std::string(fn) + ": tau must be finite and > 0");
  }
  if (!(protocol.k_max > 0.0) || !std::isfinite(protocol.k_max)) {
    throw std::invalid_argument(std::string(fn) + ": k_max must be finite and > 0");
  }
  if (!(protocol.t_cold > 0.0) || !std::isfinite(protocol.t_cold)) {
    throw std::invalid_argument(std::string(fn) + ": t_cold must be finite and > 0");
  }
  if (!(gamma > 0.0) || !std::isfinite(gamma)) {
    throw std::invalid_argument(std::string(fn) + ": gamma must be finite and > 0");
  }
  if (warmup_cycles < 0) throw std::invalid_argument(std::string(fn) + ": warmup_cycles < 0");
  if (!(steps_per_unit_time > 0.0) || min_steps_per_quarter < 1) {
    throw std::invalid_argument(std::string(fn) + ": step controls must be positive");
  }
  const double tau = protocol.tau;
  const double quarter = 0.25 * tau;
  // RK4 is stable for |lambda| h below ~2.8; the moment equations' fastest rate is about
  // max(2 gamma, 2 sqrt(k_max)). 2.5 steps per unit of that rate keeps |lambda| h <= 0.4,
  // the defaults' (gamma = 10, k_max = 40: 50 steps per time unit)
  const double fastest = std::max(2.0 * gamma, 2.0 * std::sqrt(protocol.k_max));
  const double n_q_real = std::max(static_cast<double>(min_steps_per_quarter),
                                   std::ceil(quarter * std::max(steps_per_unit_time, 2.5 * fastest)));
  // ~7 cycles of 4 n_q steps at ~60 ns: 2.5e7 per quarter (tau = 2e6 at the default step) is a minute
  if (n_q_real > 2.5e7) {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "%s: tau = %.3g needs over 2.5e7 steps per quarter cycle at gamma = %.3g and k_max = %.3g; use the "
                  "quasi-static limit (carnot_quasistatic)",
                  fn, tau, gamma, protocol.k_max);
    throw std::invalid_argument(msg);
  }
  const long n_q = static_cast<long>(n_q_real);
  const double h = quarter / n_q;
  const auto cancelled = [cancel] { return cancel != nullptr && cancel->load(std::memory_order_relaxed); };

  // State: <x^2>, <xv>, <v^2>, work, heat; t is the phase in [0, tau].
  struct State {
    double x2, xv, v2, w, q;
  };
  auto rhs = [&](double t, const State& y) {
    const double k = protocol.stiffness(t);
    const double kdot = protocol.stiffness_rate(t);
    const double T = protocol.temperature(t);
    return State{2.0 * y.xv, y.v2 - k * y.x2 - gamma * y.xv,
                 -2.0 * k * y.xv - 2.0 * gamma * y.v2 + 2.0 * gamma * T, 0.5 * y.x2 * kdot,
                 gamma * (T - y.v2)};
  };
  auto axpy = [](const State& y, double a, const State& k) {
    return State{y.x2 + a * k.x2, y.xv + a * k.xv, y.v2 + a * k.v2, y.w + a * k.w, y.q + a * k.q};
  };
  // Integrates one quarter; the first and last stages are evaluated just inside the quarter
  // because k' jumps at tau/2 and stiffness_rate(tau/2) returns the left limit.
  auto run_quarter = [&](int qi, State& y) {
    const double t0 = qi * quarter, t1 = (qi + 1) * quarter;
    for (long j = 0; j < n_q; ++j) {
      if (j % 1000000 == 0 && cancelled()) return;
      double ta = t0 + j * h;
      double tb = j + 1 == n_q ? t1 : t0 + (j + 1) * h;
      const double tm = 0.5 * (ta + tb);
      if (j == 0) ta = std::nextafter(ta, t1);
      if (j + 1 == n_q) tb = std::nextafter(tb, t0);
      const State k1 = rhs(ta, y);
      const State k2 = rhs(tm, axpy(y, 0.5 * h, k1));
      const State k3 = rhs(tm, axpy(y, 0.5 * h, k2));
      const State k4 = rhs(tb, axpy(y, h, k3));
      y.x2 += h / 6.0 * (k1.x2 + 2.0 * k2.x2 + 2.0 * k3.x2 + k4.x2);
      y.xv += h / 6.0 * (k1.xv + 2.0 * k2.xv + 2.0 * k3.xv + k4.xv);
      y.v2 += h / 6.0 * (k1.v2 + 2.0 * k2.v2 + 2.0 * k3.v2 + k4.v2);
      y.w += h / 6.0 * (k1.w + 2.0 * k2.w + 2.0 * k3.w + k4.w);
      y.q += h / 6.0 * (k1.q + 2.0 * k2.q + 2.0 * k3.q + k4.q);
    }
  };
  auto cycle_from = [&](const State& start) {
    State y = start;
    for (int qi = 0; qi < 4; ++qi) run_quarter(qi, y);
    return y;
  };

  // The affine cycle map, column by column: psi = map(0), Phi e_i = map(e_i) - psi.
  double a[3][3], b[3];
  {
    const State psi = cycle_from(State{0.0, 0.0, 0.0, 0.0, 0.0});
    const State units[3] = {{1.0, 0.0, 0.0, 0.0, 0.0}, {0.0, 1.0, 0.0, 0.0, 0.0}, {0.0, 0.0, 1.0, 0.0, 0.0}};
    for (int i = 0; i < 3; ++i) {
      const State c = cycle_from(units[i]);
      const double col[3] = {c.x2 - psi.x2, c.xv - psi.xv, c.v2 - psi.v2};
      for (int r = 0; r < 3; ++r) a[r][i] = (r == i ? 1.0 : 0.0) - col[r];  // I - Phi
    }
    b[0] = psi.x2;
    b[1] = psi.xv;
    b[2] = psi.v2;
  }
  if (cancelled()) return CarnotCycle{};
  for (int r = 0; r < 3; ++r) {
    if (!(std::isfinite(a[r][0]) && std::isfinite(a[r][1]) && std::isfinite(a[r][2]) && std::isfinite(b[r]))) {
      throw std::runtime_error(std::string(fn) + ": the integration overflowed (step unstable for these "
                               "gamma and k_max); raise steps_per_unit_time");
    }
  }
  // (I - Phi) y = psi by Gaussian elimination with partial pivoting (3 x 3)
  for (int c = 0; c < 3; ++c) {
    int piv = c;
    for (int r = c + 1; r < 3; ++r) {
      if (std::abs(a[r][c]) > std::abs(a[piv][c])) piv = r;
    }
    if (!(std::abs(a[piv][c]) > 0.0)) {
      throw std::runtime_error(std::string(fn) + ": no periodic steady state (the cycle map has eigenvalue 1)");
    }
    std::swap(a[c], a[piv]);
    std::swap(b[c], b[piv]);
    for (int r = c + 1; r < 3; ++r) {
      const double f = a[r][c] / a[c][c];
      for (int k = c; k < 3; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  State y{0.0, 0.0, 0.0, 0.0, 0.0};
  y.v2 = b[2] / a[2][2];
  y.xv = (b[1] - a[1][2] * y.v2) / a[1][1];
  y.x2 = (b[0] - a[0][1] * y.xv - a[0][2] * y.v2) / a[0][0];

  auto change_over_cycle = [&]() {
    const State start = y;
    y = cycle_from(start);
    const double scale = std::abs(y.x2) + std::abs(y.v2);
    return std::max({std::abs(y.x2 - start.x2), std::abs(y.xv - start.xv),
                     std::abs(y.v2 - start.v2)}) / scale;
  };
  // the solve is exact up to rounding: the first check cycle normally confirms it
  double change = 1.0;
  for (int c = 0; c < warmup_cycles && !cancelled(); ++c) change = change_over_cycle();
  for (long extra = 0; change > 1e-13 && !cancelled(); ++extra) {
    if (extra > 10000) throw std::runtime_error(std::string(fn) + ": no periodic steady state reached");
    change = change_over_cycle();
  }
  if (cancelled()) return CarnotCycle{};
  CarnotCycle out{};
  out.x2 = y.x2;
  out.xv = y.xv;
  out.v2 = y.v2;
  double work = 0.0, heat = 0.0;
  for (int qi = 0; qi < 4; ++qi) {
    y.w = 0.0;
    y.q = 0.0;
    run_quarter(qi, y);
    work += y.w;
    heat += y.q;
    if (qi == 2) out.heat_hot = y.q;
  }
  out.mean_work = work;
  out.heat_total = heat;
  out.efficiency = -work / out.heat_hot;
  // First law over a periodic cycle: the heat absorbed is the work done by the particle. The
  // tolerance is relative to the heat flows and to the energy in the trap (k_max <x^2> + <v^2>):
  // near tau -> 0 or where the work changes sign, heat and work both vanish and the solve's
  // rounding (~1e-13) is all that is left; a step too coarse misses by far more.
  const double flows = std::abs(out.heat_hot) + std::abs(heat - out.heat_hot) + std::abs(work);
  const double energy = protocol.k_max * std::abs(out.x2) + std::abs(out.v2);
  if (!(std::abs(heat + work) <= 1e-6 * flows + 1e-10 * energy)) {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "%s: the cycle's heat (%.3g) and work (%.3g) do not balance; the step is too coarse for gamma = "
                  "%.3g and k_max = %.3g: raise steps_per_unit_time",
                  fn, heat, work, gamma, protocol.k_max);
    throw std::runtime_error(msg);
  }
  return out;
}

/// Quasi-static limit (tau -> infinity) of carnot_cycle_moments (methods.md §5.8):
/// <W> = -(sqrt3 - 1)(T0/2) ln 3, Q_h = (sqrt3 T0/2) ln 3, eta = 1 - 1/sqrt3; the phase-0
/// moments are those of equilibrium at (k_M/9, T0).
inline CarnotCycle carnot_quasistatic(double k_max = 40.0, double t_cold = 10.0) {
  const double s3 = std::sqrt(3.0), l3 = std::log(3.0);
  CarnotCycle out{};
  out.mean_work = -(s3 - 1.0) * 0.5 * t_cold * l3;
  out.heat_hot = 0.5 * s3 * t_cold * l3;
  out.heat_total = -out.mean_work;
  out.efficiency = 1.0 - 1.0 / s3;
  out.x2 = 9.0 * t_cold / k_max;
  out.xv = 0.0;
  out.v2 = t_cold;
  return out;
}

}  // namespace ground_truth
}  // namespace stochinfer
