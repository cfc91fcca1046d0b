// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/config.hpp"
#include "stochinfer/simd.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// Contract of a model functor (one struct, used by the reference loop, the
/// CPU SIMD loop and the CUDA kernel). V is the value type: float/double or a
/// Pack of lanes; T the scalar type. Parameters live in a flat block `p`
/// (host or device memory, owned by the caller).
///
/// Overdamped (kUnderdamped = false), state x of size dim():
///   drift(x, t, f)            f = Phi(x, t) (Ito drift)
///   noise(x, t, xi, g)        g = sqrt(2 D(x, t)) xi, xi of size noise_dim()
///   stratonovich_shift(x,t,c) c = -1/2 sum_jk G_kj d_k G_ij (zero if additive)
/// Underdamped (kUnderdamped = true), state (x, v), each of size dof():
///   force(x, v, t, a)         acceleration without the linear friction
///   friction(t)               gamma (0: friction, if any, is inside force)
///   noise(x, v, t, xi, g)     g = sqrt(2 D(x, v, t)) xi acting on v
/// Both: project(state) after every step (e.g. clip gates), initial_state(u, x)
/// mapping uniforms in (0,1) to a model-specific start. Time t is double at every
/// precision: in float a driven protocol at t = 10^6 would lose its phase.
struct ModelDefaults {
  static constexpr bool kAdditiveNoise = true;
  template <class V>
  STOCHINFER_HD void project(V*) const {}
};

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
