// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>
#include <cstddef>

#include <Eigen/Core>

#include "stochinfer/config.hpp"
#include "stochinfer/nn/types.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// SiLU's derivative needs the pre-activation; every other one is a function of
/// the output, so only SiLU layers keep their pre-activations for backward.
inline bool activation_needs_input(Activation a) { return a == Activation::silu; }

/// y[i] = f(z[i]); y may alias z unless the activation needs its input later.
/// Whole-array Eigen expressions: exp, expm1, tanh and logistic are vectorised.
template <class T>
void activation_forward(Activation a, const T* z, T* y, std::size_t n) {
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<const A> Z(z, Eigen::Index(n));
  Eigen::Map<A> Y(y, Eigen::Index(n));
  switch (a) {
    case Activation::identity:
      if (y != z) Y = Z;
      return;
    case Activation::relu: Y = Z.max(T(0)); return;
    // max(z, 0) + exp(min(z, 0)) - 1: no select and no expm1, which Eigen 3.4
    // evaluates one scalar at a time (a third of a training step). The absolute
    // error stays at one ulp of 1, all a network output needs.
    case Activation::elu: Y = Z.max(T(0)) + (Z.min(T(0)).exp() - T(1)); return;
    case Activation::tanh: Y = Z.tanh(); return;
    case Activation::softplus: Y = (Z > T(20)).select(Z, Z.min(T(20)).exp().log1p()); return;  // torch's threshold
    case Activation::silu: Y = Z * Z.logistic(); return;
  }
}

/// g[i] *= f'(z[i]) in place: turns dL/dy into dL/dz. z is read only for SiLU.
template <class T>
void activation_backward(Activation a, const T* z, const T* y, T* g, std::size_t n) {
  using A = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<const A> Y(y, Eigen::Index(n));
  Eigen::Map<A> G(g, Eigen::Index(n));
  switch (a) {
    case Activation::identity: return;
    case Activation::relu: G = (Y > T(0)).select(G, T(0)); return;
    case Activation::elu: G *= Y.min(T(0)) + T(1); return;  // 1 for y > 0, y + 1 = e^z otherwise
    case Activation::tanh: G *= T(1) - Y.square(); return;
    case Activation::softplus: G *= T(1) - (-Y).exp(); return;  // sigmoid(z) = 1 - e^{-softplus(z)}
    case Activation::silu: {
      Eigen::Map<const A> Z(z, Eigen::Index(n));
      const A s = Z.logistic();
      G *= s * (T(1) + Z * (T(1) - s));
      return;
    }
  }
}

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
