// SPDX-License-Identifier: MIT
#define STOCHINFER_ISA_NS isa_avx2
#include "builtin_dispatch.hpp"

namespace stochinfer::isa_avx2 {
SimulationStatus run(const BuiltinModel& m, const SimulationConfig& c, float* out) {
  return simulate_builtin_cpu(m, c, out);
}
SimulationStatus run(const BuiltinModel& m, const SimulationConfig& c, double* out) {
  return simulate_builtin_cpu(m, c, out);
}
}  // namespace stochinfer::isa_avx2
