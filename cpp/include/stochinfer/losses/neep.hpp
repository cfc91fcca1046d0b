// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>
#include <stdexcept>
#include <string>

#include "stochinfer/config.hpp"
#include "stochinfer/training_diverged.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// NEEP loss of one transition, e^{-ΔS} - ΔS (methods.md §1.2), in double: the
/// mean over a batch is minimised at ΔS = ln p(s,s')/p(s',s) with value 1 - σ_Δt Δt.
STOCHINFER_HD double neep_loss_term(double delta_s) { return std::exp(-delta_s) - delta_s; }

/// d(e^{-ΔS} - ΔS)/dΔS.
STOCHINFER_HD double neep_loss_slope(double delta_s) { return -std::exp(-delta_s) - 1.0; }

/// The loss sum over n antisymmetric items ΔS_i = out[i] - out[n + i] (network
/// outputs for both orders of a pair or window). Writes d(loss sum / denom)/d out
/// into grad[i] and grad[n + i] (grad may alias out). Throws when e^{-ΔS} overflows.
template <class T>
double neep_antisymmetric_loss(T* out, int n, double denom, T* grad, const char* estimator) {
  double sum = 0.0;
  for (int i = 0; i < n; ++i) {
    const double ds = double(out[i]) - double(out[n + i]);
    const double term = neep_loss_term(ds);
    if (!std::isfinite(term))
      throw TrainingDiverged(std::string(estimator) + " training diverged: an item got ΔS = " + std::to_string(ds) +
                             (std::isfinite(ds) ? " and e^{-ΔS} overflowed" : " (a non-finite network output)") +
                             "; lower the learning rate or standardise the input");
    sum += term;
    const T slope = T(neep_loss_slope(ds) / denom);
    grad[i] = slope;
    grad[n + i] = -slope;
  }
  return sum;
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
