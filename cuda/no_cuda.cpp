// SPDX-License-Identifier: MIT
// Linked instead of the CUDA backend when the build has no CUDA toolkit.
#include <stdexcept>

#include "stochinfer/builtin.hpp"

namespace stochinfer {

bool cuda_available() { return false; }

static const char* const kNoCuda =
    "stochinfer was built without CUDA: use the CPU backend (Python: backend='cpu'; C++: simulate_builtin) or "
    "rebuild with a CUDA toolkit";

SimulationStatus simulate_builtin_cuda(const BuiltinModel&, const SimulationConfig&, float*) {
  throw std::runtime_error(kNoCuda);
}
SimulationStatus simulate_builtin_cuda(const BuiltinModel&, const SimulationConfig&, double*) {
  throw std::runtime_error(kNoCuda);
}

}  // namespace stochinfer
