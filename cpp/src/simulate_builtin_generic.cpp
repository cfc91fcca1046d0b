// SPDX-License-Identifier: MIT
// Built-in models' CPU loops compiled for baseline x86-64.
#define STOCHINFER_ISA_NAMESPACE isa_baseline
#define STOCHINFER_DISPATCH_NS dispatch_generic
#include "builtin_dispatch.hpp"

namespace stochinfer::dispatch_generic {
SimulationStatus run(const BuiltinModel& m, const SimulationConfig& c, float* out) {
  return simulate_builtin_cpu(m, c, out);
}
SimulationStatus run(const BuiltinModel& m, const SimulationConfig& c, double* out) {
  return simulate_builtin_cpu(m, c, out);
}
}  // namespace stochinfer::dispatch_generic
