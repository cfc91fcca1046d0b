// SPDX-License-Identifier: MIT
#pragma once
#include <string>
#include <vector>

#include "stochinfer/simulate.hpp"

namespace stochinfer {

/// A built-in model chosen at run time (for bindings and embedders that do not
/// want to instantiate templates): name, size and flat parameter block, in the
/// layout documented on each model functor (models/*.hpp).
///   "linear_ou" (size d), "bead_spring" (n beads), "nonlinear" (d),
///   "inhomogeneous" (d), "hodgkin_huxley" (4), "van_der_pol" (d oscillators),
///   "brownian_carnot" (1).
struct BuiltinModel {
  std::string name;
  int size = 0;
  std::vector<double> params;
};

/// State dimension of the built-in model (2 d for underdamped models).
int state_dim(const BuiltinModel& model);
/// Whether the model is underdamped (state = positions then velocities).
bool is_underdamped(const BuiltinModel& model);
/// Throws std::invalid_argument for unknown names or wrong parameter counts.
void validate(const BuiltinModel& model);

/// CPU simulation of a built-in model; `out` holds n_traj * n_records * state_dim values.
SimulationStatus simulate_builtin(const BuiltinModel& model, const SimulationConfig& config,
                                  float* out);
SimulationStatus simulate_builtin(const BuiltinModel& model, const SimulationConfig& config,
                                  double* out);

/// True when this build has CUDA support and a device is present.
bool cuda_available();
/// Name of the instruction set the CPU loops dispatched to ("avx2" or "generic").
const char* cpu_isa();

/// CUDA simulation of a built-in model: same streams as the CPU path. `out` is
/// host memory (copied back at the end); throws std::runtime_error when the
/// build has no CUDA.
SimulationStatus simulate_builtin_cuda(const BuiltinModel& model, const SimulationConfig& config,
                                       float* out);
SimulationStatus simulate_builtin_cuda(const BuiltinModel& model, const SimulationConfig& config,
                                       double* out);

}  // namespace stochinfer
