// SPDX-License-Identifier: MIT
// Instantiates the CPU loops of every built-in model for one instruction set;
// included by simulate_builtin_generic.cpp and simulate_builtin_avx2.cpp, which
// differ only in compile flags and in STOCHINFER_ISA_NAMESPACE (the inline
// namespace of all code headers, so the two instantiations never merge at link time).
#pragma once
#include <stdexcept>
#include <vector>

#include "stochinfer/builtin.hpp"
#include "stochinfer/detail/with_builtin.hpp"
#include "stochinfer/simulate_cpu.hpp"

namespace stochinfer {
namespace STOCHINFER_DISPATCH_NS {

template <class T>
SimulationStatus simulate_builtin_cpu(const BuiltinModel& model, const SimulationConfig& c, T* out) {
  const std::vector<T> p(model.params.begin(), model.params.end());
  return detail::with_builtin<T>(model, p.data(), [&](const auto& m) { return simulate_cpu(m, c, out); });
}

}  // namespace STOCHINFER_DISPATCH_NS
}  // namespace stochinfer
