// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>
#include <cstddef>

#include "stochinfer/config.hpp"
#include "stochinfer/nn/types.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// SiLU's derivative needs the pre-activation; every other one is a function of
/// the output, so only SiLU layers keep their pre-activations for backward.
inline bool activation_needs_input(Activation a) { return a == Activation::silu; }

template <class T>
STOCHINFER_HD T activation_value(Activation a, T z) {
  switch (a) {
    case Activation::identity: return z;
    case Activation::relu: return z > T(0) ? z : T(0);
    case Activation::elu: return z > T(0) ? z : std::expm1(z);
    case Activation::tanh: return std::tanh(z);
    case Activation::softplus: return z > T(20) ? z : std::log1p(std::exp(z));  // torch's threshold
    case Activation::silu: return z / (T(1) + std::exp(-z));
  }
  return z;
}

/// f'(z) from the output y (and z where needed).
template <class T>
STOCHINFER_HD T activation_slope(Activation a, T z, T y) {
  switch (a) {
    case Activation::identity: return T(1);
    case Activation::relu: return y > T(0) ? T(1) : T(0);
    case Activation::elu: return y > T(0) ? T(1) : y + T(1);
    case Activation::tanh: return T(1) - y * y;
    case Activation::softplus: return -std::expm1(-y);  // sigmoid(z) = 1 - e^{-softplus(z)}
    case Activation::silu: {
      const T s = T(1) / (T(1) + std::exp(-z));
      return s * (T(1) + z * (T(1) - s));
    }
  }
  return T(1);
}

/// y[i] = f(z[i]); y may alias z unless the activation needs its input later.
template <class T>
void activation_forward(Activation a, const T* z, T* y, std::size_t n) {
  if (a == Activation::relu) {  // the hot case: a branch-free loop the compiler vectorises
    for (std::size_t i = 0; i < n; ++i) y[i] = z[i] > T(0) ? z[i] : T(0);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) y[i] = activation_value(a, z[i]);
}

/// g[i] *= f'(z[i]) in place: turns dL/dy into dL/dz. z is read only for SiLU.
template <class T>
void activation_backward(Activation a, const T* z, const T* y, T* g, std::size_t n) {
  if (a == Activation::identity) return;
  if (a == Activation::relu) {
    for (std::size_t i = 0; i < n; ++i) g[i] = y[i] > T(0) ? g[i] : T(0);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) g[i] *= activation_slope(a, z ? z[i] : T(0), y[i]);
}

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
