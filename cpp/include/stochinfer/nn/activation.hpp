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
    case Activation::elu: Y = (Z > T(0)).select(Z, Z.min(T(0)).expm1()); return;
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
    case Activation::elu: G *= (Y > T(0)).select(A::Ones(Eigen::Index(n)), Y + T(1)); return;
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
