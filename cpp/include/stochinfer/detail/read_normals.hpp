// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>
#include <cstdint>

#include "stochinfer/config.hpp"
#include "stochinfer/rng.hpp"
#include "stochinfer/simd.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace detail {

/// Reads the next n normals of one stream into out, as s.read(out, n) does, bit for
/// bit, but W Philox blocks at a time in lanes (the CPU's SIMD): a per-normal read
/// costs a branch and a scalar Philox + Box-Muller, which dominated sampling the
/// weights of a Bayesian network (hundreds of thousands of normals per update).
/// Host only: the lanes are Pack, as in the CPU simulator.
template <int W = 16>
void read_normals(NormalStream<std::uint32_t>& s, float* out, std::size_t n) {
  using U = Pack<std::uint32_t, W>;
  using F = Pack<float, W>;
  std::size_t k = 0;
  for (; k < n && s.used != 4; ++k) s.read(out + k, 1);  // finish the cached block
  const U c2(static_cast<std::uint32_t>(s.purpose) << 24 | (s.traj_hi & 0xFFFFFFu));
  for (; n - k >= std::size_t(4 * W); k += 4 * W, s.next_block += W) {
    U c[4];
    for (int i = 0; i < W; ++i) {  // the counter layout of philox_block, one block per lane
      const std::uint64_t b = s.next_block + std::uint64_t(i);
      c[0].v[i] = static_cast<std::uint32_t>(b);
      c[1].v[i] = static_cast<std::uint32_t>(b >> 32);
    }
    c[2] = c2;
    c[3] = U(s.traj_lo);
    philox4x32_10(c, static_cast<std::uint32_t>(s.seed), static_cast<std::uint32_t>(s.seed >> 32));
    F z[4];
    box_muller4<U>(c, z);
    for (int i = 0; i < W; ++i)
      for (int j = 0; j < 4; ++j) out[k + 4 * std::size_t(i) + j] = z[j].v[i];
  }
  if (k < n) s.read(out + k, static_cast<int>(n - k));
}

}  // namespace detail
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
