// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/config.hpp"
#include "stochinfer/integrators/baoab.hpp"
#include "stochinfer/integrators/euler_maruyama.hpp"
#include "stochinfer/integrators/heun.hpp"
#include "stochinfer/integrators/underdamped_euler.hpp"
#include "stochinfer/simulate.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// One integration step of the configured scheme; used by the CPU loop and the
/// CUDA kernel alike. The model kind (over/underdamped) was validated up front.
template <class Model, class V, class T>
STOCHINFER_HD void integrator_step(Integrator kind, const Model& m, V* x, double t, T dt, T sqrt_dt,
                                   const V* xi, V* work) {
  if constexpr (Model::kUnderdamped) {
    if (kind == Integrator::baoab)
      baoab_step(m, x, t, dt, sqrt_dt, xi, work);
    else
      underdamped_euler_step(m, x, t, dt, sqrt_dt, xi, work);
  } else {
    if (kind == Integrator::heun)
      heun_step(m, x, t, dt, sqrt_dt, xi, work);
    else
      euler_maruyama_step(m, x, t, dt, sqrt_dt, xi, work);
  }
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
