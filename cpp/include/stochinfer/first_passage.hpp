// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
#include <cstdint>

#include "stochinfer/simulate.hpp"

namespace stochinfer {

/// Drift–diffusion towards a target under stochastic resetting (methods.md §4.1):
/// the distance x to the target starts at x0 and follows dx = −V dt + √(2D) dW
/// (V > 0 drifts towards the target), and at rate `rate` it jumps back to x0.
/// Euler steps of dt; walker i reads its normals from the stream
/// (seed, integrator_noise, i) and the waiting times between its resets, geometric
/// in steps with p = 1 − exp(−rate·dt) (a Bernoulli trial after every step), from
/// uniform_at(seed, reset_time, i, j). The walker is absorbed at the first step
/// whose x is at or below the barrier: 0, or with the discrete-monitoring
/// correction β√(2D dt), β = −ζ(½)/√(2π) ≈ 0.5826 (Broadie, Glasserman & Kou 1997),
/// which removes the upward bias of checking the target only every dt.
struct FirstPassageConfig {
  double x0 = 1.0;    ///< initial (and reset) distance to the target, > 0
  double D = 1.0;     ///< diffusion coefficient, > 0
  double V = 0.0;     ///< drift towards the target (negative: away)
  double rate = 0.0;  ///< resetting rate, >= 0
  double dt = 1e-3;   ///< time step, > 0
  std::int64_t n_walkers = 1;
  std::int64_t max_steps = 1;  ///< walkers not absorbed by then are censored
  std::uint64_t seed = 0;
  bool monitoring_correction = true;
  void validate() const;  ///< throws std::invalid_argument naming the bad field
};

/// β = −ζ(½)/√(2π) of the discrete-monitoring correction.
constexpr double kMonitoringBeta = 0.5825971579390106;

/// First-passage times (steps × dt) into times[0..n_walkers), NaN for walkers
/// censored at max_steps. Thread-count independent.
SimulationStatus first_passage_times(const FirstPassageConfig& cfg, double* times, int n_threads = 0,
                                     const std::atomic<bool>* cancel = nullptr);

}  // namespace stochinfer
