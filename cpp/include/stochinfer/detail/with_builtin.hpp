// SPDX-License-Identifier: MIT
// The one mapping from a built-in model's name to its functor, shared by the CPU
// dispatch (cpp/src/builtin_dispatch.hpp) and the CUDA backend. Host-only.
#pragma once
#include <stdexcept>
#include <string>

#include "stochinfer/builtin.hpp"
#include "stochinfer/models/bead_spring.hpp"
#include "stochinfer/models/brownian_carnot.hpp"
#include "stochinfer/models/hodgkin_huxley.hpp"
#include "stochinfer/models/inhomogeneous.hpp"
#include "stochinfer/models/linear.hpp"
#include "stochinfer/models/nonlinear.hpp"
#include "stochinfer/models/van_der_pol.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace detail {

/// Builds the functor for `model` over scalar T, with its parameter pointer set
/// to `p` (host or device memory holding model.params converted to T), and
/// returns `run(functor)`. Throws std::invalid_argument for unknown names.
template <class T, class Run>
auto with_builtin(const BuiltinModel& model, const T* p, Run&& run) {
  const std::string& n = model.name;
  if (n == "bead_spring") {
    BeadSpring<T> m;
    m.n = model.size;
    m.p = p;
    return run(m);
  }
  if (n == "linear_ou") {
    LinearOU<T> m;
    m.d = model.size;
    m.p = p;
    return run(m);
  }
  if (n == "nonlinear") {
    Nonlinear<T> m;
    m.d = model.size;
    m.p = p;
    return run(m);
  }
  if (n == "inhomogeneous") {
    Inhomogeneous<T> m;
    m.d = model.size;
    m.p = p;
    return run(m);
  }
  if (n == "hodgkin_huxley") {
    HodgkinHuxley<T> m;
    m.p = p;
    return run(m);
  }
  if (n == "van_der_pol") {
    VanDerPol<T> m;
    m.d = model.size;
    m.p = p;
    return run(m);
  }
  if (n == "brownian_carnot") {
    BrownianCarnot<T> m;
    m.p = p;
    return run(m);
  }
  throw std::invalid_argument("model: unknown built-in model '" + n + "'");
}

}  // namespace detail
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
