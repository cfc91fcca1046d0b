// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>
#include <cstdint>

#include "stochinfer/rng.hpp"

namespace stochinfer {

/// Posterior draw k of mean ± L ξ (q values; L lower-triangular, row-major q x q):
/// draws 2j and 2j + 1 share ξ, read from the stream (seed, purpose,
/// stream_hi << 32 | 2j), with opposite signs. Each draw keeps the law
/// N(mean, L Lᵀ), and a pair's average is `mean` exactly, so a posterior mean
/// carries no Monte Carlo noise from these coefficients. xi: q scratch values.
inline void antithetic_gaussian_draw(std::uint64_t seed, RngPurpose purpose, std::uint64_t stream_hi, int k,
                                     const double* mean, const double* L, std::size_t q, double* xi, double* out) {
  const std::uint64_t pair = std::uint64_t(k) & ~std::uint64_t(1);
  auto noise = normal_stream(seed, purpose, (stream_hi << 32) | pair);
  noise.read(xi, int(q));
  const double sign = (k & 1) ? -1.0 : 1.0;
  for (std::size_t r = 0; r < q; ++r) {
    double v = 0.0;
    for (std::size_t c = 0; c <= r; ++c) v += L[r * q + c] * xi[c];
    out[r] = mean[r] + sign * v;
  }
}

}  // namespace stochinfer
