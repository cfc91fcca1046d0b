// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>

#include "stochinfer/config.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// NEEP loss of one transition, e^{-ΔS} - ΔS (methods.md §1.2), in double: the
/// mean over a batch is minimised at ΔS = ln p(s,s')/p(s',s) with value 1 - σ_Δt Δt.
STOCHINFER_HD double neep_loss_term(double delta_s) { return std::exp(-delta_s) - delta_s; }

/// d(e^{-ΔS} - ΔS)/dΔS.
STOCHINFER_HD double neep_loss_slope(double delta_s) { return -std::exp(-delta_s) - 1.0; }

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
