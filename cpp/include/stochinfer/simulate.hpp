// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "stochinfer/config.hpp"

namespace stochinfer {

enum class Integrator {
  euler_maruyama,     ///< overdamped, Ito
  heun,               ///< overdamped, stochastic Heun (same Ito SDE, Stratonovich-consistent)
  underdamped_euler,  ///< underdamped, explicit Euler of the reference LBN code
  baoab,              ///< underdamped, BAOAB splitting
};

enum class InitKind {
  zeros,           ///< x(0) = 0
  broadcast,       ///< x(0) = init_data[0 .. dim), same for every trajectory
  per_trajectory,  ///< x(0) = init_data[i * dim .. (i+1) * dim) for trajectory i
  gaussian,        ///< x(0) = mean + L z: init_data = [mean (dim), L (dim*dim, row-major lower)]
  model_default,   ///< Model::initial_state(u, x) from uniforms u
};

/// Everything a simulation needs besides the model and the output buffer.
/// Times are in the model's time unit. The normal used for (trajectory i,
/// integration step g, component k) is normal_at(seed, integrator_noise,
/// traj_offset + i, g, k), g counted from the start of burn-in; so output never
/// depends on thread count or on how trajectories are split into calls (use
/// traj_offset). The CUDA backend draws the same normals; its arithmetic (FMA
/// contraction, device math functions) agrees with the CPU's to rounding.
struct SimulationConfig {
  std::int64_t n_traj = 1;
  std::int64_t n_steps = 1;       ///< recording intervals of length dt after burn-in
  int substeps = 1;               ///< integration steps per dt (step dt / substeps)
  std::int64_t record_every = 1;  ///< keep every record_every-th point (t = 0 always kept)
  std::int64_t burn_in = 0;       ///< intervals of length dt simulated first and discarded
  double dt = 0.01;
  double t0 = 0.0;  ///< time of the first recorded point; burn-in runs from t0 - burn_in*dt
  std::uint64_t seed = 0;
  std::uint64_t traj_offset = 0;
  Integrator integrator = Integrator::euler_maruyama;
  InitKind init = InitKind::zeros;
  const double* init_data = nullptr;  ///< see InitKind
  int n_threads = 0;                  ///< 0: all hardware threads
  const std::atomic<bool>* cancel = nullptr;  ///< polled; set it to stop early
};

enum class SimulationStatus { completed, cancelled };

// The inline functions live in the ISA namespace of the translation unit including them: a copy
// compiled with -mavx2 must not be the one every other caller links to (config.hpp).
inline namespace STOCHINFER_ISA_NAMESPACE {

/// Number of recorded points per trajectory: floor(n_steps / record_every) + 1 (throws
/// std::invalid_argument for record_every < 1, which would divide by zero).
inline std::int64_t n_records(const SimulationConfig& c) {
  if (c.record_every < 1) throw std::invalid_argument("record_every must be >= 1");
  return c.n_steps / c.record_every + 1;
}

/// Throws std::invalid_argument naming the offending field.
inline void validate(const SimulationConfig& c) {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (c.n_traj < 1) fail("n_traj must be >= 1");
  if (c.n_steps < 1) fail("n_steps must be >= 1");
  if (c.substeps < 1) fail("substeps must be >= 1");
  if (c.record_every < 1) fail("record_every must be >= 1");
  if (c.burn_in < 0) fail("burn_in must be >= 0");
  // the Philox counter keeps 56 bits of the trajectory index: beyond, streams would repeat
  const std::uint64_t n_streams = std::uint64_t(1) << 56;
  if (static_cast<std::uint64_t>(c.n_traj) > n_streams ||
      c.traj_offset > n_streams - static_cast<std::uint64_t>(c.n_traj))
    fail("traj_offset + n_traj must be <= 2^56");
  if (!(c.dt > 0.0) || c.dt == c.dt + 1.0) fail("dt must be finite, > 0 and below 2^53");
  if (!(c.t0 == c.t0) || c.t0 - c.t0 != 0.0) fail("t0 must be finite");
  if (c.init != InitKind::zeros && c.init != InitKind::model_default && c.init_data == nullptr)
    fail("init_data is required for this InitKind");
  // in double: burn_in + n_steps can overflow int64 for absurd burn-ins
  const double total = (static_cast<double>(c.burn_in) + static_cast<double>(c.n_steps)) * c.substeps;
  if (total >= 72057594037927936.0) fail("too many integration steps (counter has 56 bits)");
}

/// Throws std::invalid_argument unless the starting states in c.init_data (dim
/// components per state; InitKind says how many) are finite.
inline void validate_initial_states(const SimulationConfig& c, int dim) {
  std::int64_t n = 0;
  switch (c.init) {
    case InitKind::broadcast: n = dim; break;
    case InitKind::per_trajectory: n = c.n_traj * dim; break;
    case InitKind::gaussian: n = std::int64_t(dim) * (dim + 1); break;
    default: return;
  }
  for (std::int64_t i = 0; i < n; ++i)
    if (!(c.init_data[i] == c.init_data[i]) || c.init_data[i] - c.init_data[i] != 0.0)
      throw std::invalid_argument("init_data must be finite (entry " + std::to_string(i) + ")");
}

/// Throws std::invalid_argument if the integrator does not fit the model kind.
inline void validate_integrator(bool underdamped, Integrator integrator) {
  if (underdamped) {
    if (integrator != Integrator::baoab && integrator != Integrator::underdamped_euler)
      throw std::invalid_argument("integrator: underdamped models need 'baoab' or 'underdamped_euler'");
  } else if (integrator != Integrator::euler_maruyama && integrator != Integrator::heun) {
    throw std::invalid_argument("integrator: overdamped models need 'euler_maruyama' or 'heun'");
  }
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
