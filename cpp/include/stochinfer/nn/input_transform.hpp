// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "stochinfer/config.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {  // per instruction set, as every header its .cpp files include
namespace nn {

/// Checks an input transform u = (x - shift) * scale, one (shift, scale) per input
/// component: shift finite, scale finite and nonzero (a NaN surfaced later as a
/// diverged training whose advice, a lower learning rate, pointed the wrong way).
inline void check_input_transform(const std::vector<double>& shift, const std::vector<double>& scale) {
  if (shift.size() != scale.size()) throw std::invalid_argument("shift and scale must have the same length");
  for (std::size_t k = 0; k < shift.size(); ++k) {
    if (!std::isfinite(shift[k]))
      throw std::invalid_argument("input transform: shift[" + std::to_string(k) + "] must be finite");
    if (!std::isfinite(scale[k]) || scale[k] == 0.0)
      throw std::invalid_argument("input transform: scale[" + std::to_string(k) + "] must be finite and nonzero");
  }
}

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
