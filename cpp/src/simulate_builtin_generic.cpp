// SPDX-License-Identifier: MIT
// Built-in models' CPU loops compiled for baseline x86-64. Not isa_baseline, the namespace a
// consumer's own instantiations of the same headers get: the linker would merge theirs
// (their flags, -O0 or -ffast-math) into this fallback.
#define STOCHINFER_ISA_NAMESPACE isa_generic
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
