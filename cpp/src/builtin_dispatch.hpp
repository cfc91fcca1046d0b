// SPDX-License-Identifier: MIT
// Instantiates the CPU loops of every built-in model for one instruction set;
// included by simulate_builtin_generic.cpp and simulate_builtin_avx2.cpp, which
// differ only in compile flags and the namespace STOCHINFER_ISA_NS.
#pragma once
#include <stdexcept>
#include <vector>

#include "stochinfer/builtin.hpp"
#include "stochinfer/models/bead_spring.hpp"
#include "stochinfer/models/brownian_carnot.hpp"
#include "stochinfer/models/hodgkin_huxley.hpp"
#include "stochinfer/models/inhomogeneous.hpp"
#include "stochinfer/models/linear.hpp"
#include "stochinfer/models/nonlinear.hpp"
#include "stochinfer/models/van_der_pol.hpp"
#include "stochinfer/simulate_cpu.hpp"

namespace stochinfer {
namespace STOCHINFER_ISA_NS {

/// Builds the functor for `model` over scalar T and calls `run(functor)`.
template <class T, class Run>
SimulationStatus with_builtin(const BuiltinModel& model, const std::vector<T>& p, Run&& run) {
  const std::string& n = model.name;
  if (n == "bead_spring") {
    BeadSpring<T> m;
    m.n = model.size;
    m.p = p.data();
    return run(m);
  }
  if (n == "linear_ou") {
    LinearOU<T> m;
    m.d = model.size;
    m.p = p.data();
    return run(m);
  }
  if (n == "nonlinear") {
    Nonlinear<T> m;
    m.d = model.size;
    m.p = p.data();
    return run(m);
  }
  if (n == "inhomogeneous") {
    Inhomogeneous<T> m;
    m.d = model.size;
    m.p = p.data();
    return run(m);
  }
  if (n == "hodgkin_huxley") {
    HodgkinHuxley<T> m;
    m.p = p.data();
    return run(m);
  }
  if (n == "van_der_pol") {
    VanDerPol<T> m;
    m.d = model.size;
    m.p = p.data();
    return run(m);
  }
  if (n == "brownian_carnot") {
    BrownianCarnot<T> m;
    m.p = p.data();
    return run(m);
  }
  throw std::invalid_argument("model: unknown built-in model '" + n + "'");
}

template <class T>
SimulationStatus simulate_builtin_cpu(const BuiltinModel& model, const SimulationConfig& c, T* out) {
  const std::vector<T> p(model.params.begin(), model.params.end());
  return with_builtin<T>(model, p, [&](const auto& m) { return simulate_cpu(m, c, out); });
}

}  // namespace STOCHINFER_ISA_NS
}  // namespace stochinfer
