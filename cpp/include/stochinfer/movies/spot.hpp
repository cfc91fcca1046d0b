// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>

#include "stochinfer/config.hpp"

namespace stochinfer {
namespace movies {

/// Standard normal probability between a and b (a <= b), computed on the side
/// where the difference of complementary error functions does not cancel.
STOCHINFER_HD double normal_mass(double a, double b) {
  constexpr double inv_sqrt2 = 0.70710678118654752440;
  if (a >= 0) return 0.5 * (std::erfc(a * inv_sqrt2) - std::erfc(b * inv_sqrt2));
  if (b <= 0) return 0.5 * (std::erfc(-b * inv_sqrt2) - std::erfc(-a * inv_sqrt2));
  return 1.0 - 0.5 * (std::erfc(-a * inv_sqrt2) + std::erfc(b * inv_sqrt2));
}

/// Mass of a 1-D Gaussian spot (centre c, std w, in pixels) over the pixels
/// [first, first + count): pixel k covers [k − ½, k + ½], so a block of pixels is
/// one interval and the pixel-integrated profile summed over it telescopes.
STOCHINFER_HD double spot_block_mass(double first, double count, double c, double w) {
  return normal_mass((first - 0.5 - c) / w, (first + count - 0.5 - c) / w);
}

/// Peak of a pixel-centred spot, (2Φ(1/(2w)) − 1)²: intensities are divided by it
/// so that a spot centred on a pixel reads 1 there.
STOCHINFER_HD double spot_peak(double w) {
  const double m = normal_mass(-0.5 / w, 0.5 / w);
  return m * m;
}

/// Quantisation to 8 bits: clip(floor(255 I + ½), 0, 255).
STOCHINFER_HD unsigned char quantize_u8(double intensity) {
  const double v = std::floor(255.0 * intensity + 0.5);
  return static_cast<unsigned char>(v > 255 ? 255 : (v > 0 ? v : 0));  // NaN reads 0
}

}  // namespace movies
}  // namespace stochinfer
