// SPDX-License-Identifier: MIT
#pragma once
#include <algorithm>
#include <cmath>
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
/// integrand), starting at equilibrium at (k_M/9, T0) and running warmup_cycles cycles
/// before the recorded one (more if the phase-0 moments still change by > 1e-13 relative
/// over the last cycle, as for very short tau). steps_per_unit_time sets the step
/// (h <= 1/steps_per_unit_time, at least min_steps_per_quarter steps per quarter); the
/// defaults give ~1e-9 absolute accuracy on work and heat for gamma = 10, k_M = 40.
inline CarnotCycle carnot_cycle_moments(const CarnotProtocol& protocol, double gamma = 10.0,
                                        int warmup_cycles = 100,
                                        double steps_per_unit_time = 50.0,
                                        int min_steps_per_quarter = 500) {
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
  const double n_q_real = std::max(static_cast<double>(min_steps_per_quarter),
                                   std::ceil(quarter * steps_per_unit_time));
  if (n_q_real > 1e9) throw std::invalid_argument(std::string(fn) + ": tau too long for the step");
  const long n_q = static_cast<long>(n_q_real);
  const double h = quarter / n_q;

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

  const double k0 = protocol.stiffness(0.0), T0 = protocol.temperature(0.0);
  State y{T0 / k0, 0.0, T0, 0.0, 0.0};
  auto run_cycle = [&]() {
    const State start = y;
    for (int qi = 0; qi < 4; ++qi) run_quarter(qi, y);
    const double scale = std::abs(y.x2) + std::abs(y.v2);
    return std::max({std::abs(y.x2 - start.x2), std::abs(y.xv - start.xv),
                     std::abs(y.v2 - start.v2)}) / scale;
  };
  double change = 1.0;
  for (int c = 0; c < warmup_cycles; ++c) change = run_cycle();
  for (long extra = 0; change > 1e-13; ++extra) {
    if (extra > 10000000L) {
      throw std::runtime_error(std::string(fn) + ": no periodic steady state reached");
    }
    change = run_cycle();
  }
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
