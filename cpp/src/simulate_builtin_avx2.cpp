// SPDX-License-Identifier: MIT
// Built-in models' CPU loops compiled for AVX2 + FMA (see CMakeLists.txt).
#define STOCHINFER_ISA_NAMESPACE isa_avx2
#define STOCHINFER_DISPATCH_NS dispatch_avx2
#include "builtin_dispatch.hpp"

namespace stochinfer::dispatch_avx2 {
SimulationStatus run(const BuiltinModel& m, const SimulationConfig& c, float* out) {
  return simulate_builtin_cpu(m, c, out);
}
SimulationStatus run(const BuiltinModel& m, const SimulationConfig& c, double* out) {
  return simulate_builtin_cpu(m, c, out);
}
}  // namespace stochinfer::dispatch_avx2
