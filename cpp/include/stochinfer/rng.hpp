// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>

#include "stochinfer/config.hpp"
#include "stochinfer/simd.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// What a draw is for; part of the counter so streams never overlap.
enum class RngPurpose : std::uint32_t {
  integrator_noise = 0,
  initial_state = 1,
  markov_jump = 2,
  user = 3,
};

/// Philox4x32-10 (Salmon et al., SC'11) on a word type U: std::uint32_t (one
/// stream, CUDA and reference) or Pack<std::uint32_t, W> (W streams, CPU SIMD).
/// Stateless: the output depends only on (counter, key).
template <class U>
STOCHINFER_HD void philox4x32_10(U c[4], std::uint32_t k0, std::uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    U hi0, lo0, hi1, lo1;
    vmulhilo(0xD2511F53u, c[0], hi0, lo0);
    vmulhilo(0xCD9E8D57u, c[2], hi1, lo1);
    c[0] = hi1 ^ c[1] ^ U(k0);
    c[1] = lo1;
    c[2] = hi0 ^ c[3] ^ U(k1);
    c[3] = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

/// Counter layout shared by every backend. One Philox call gives components
/// 4*block .. 4*block+3 of (trajectory, step):
///   c0 = component block, c1 = step bits 0..31,
///   c2 = purpose << 24 | step bits 32..55, c3 = trajectory (mod 2^32); key = seed.
template <class U>
STOCHINFER_HD void philox_block(std::uint64_t seed, RngPurpose purpose, const U& trajectory,
                                std::uint64_t step, std::uint32_t block, U c[4]) {
  c[0] = U(block);
  c[1] = U(static_cast<std::uint32_t>(step));
  c[2] = U((static_cast<std::uint32_t>(purpose) << 24) |
           static_cast<std::uint32_t>((step >> 32) & 0xFFFFFFu));
  c[3] = trajectory;
  philox4x32_10(c, static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
}

/// Natural log on (0, 1], branch-free: exponent from the float bits, mantissa
/// m in [1, 2) through the atanh series. Relative error < 3e-7.
template <class F, class U>
STOCHINFER_HD F log_unit(const F& x) {
  const U bits = vbits(x);
  const F e = vto_float31(bits >> 23) - 127.0f;
  const F m = vfrom_bits((bits & U(0x007FFFFFu)) | U(0x3F800000u));
  const F s = (m - 1.0f) / (m + 1.0f);  // [0, 1/3)
  const F s2 = s * s;
  // Every a * b + c is an explicit vfma (see simd.hpp): bit-identical on all backends.
  F p = F(1.0f / 15);
  p = vfma(s2, p, F(1.0f / 13));
  p = vfma(s2, p, F(1.0f / 11));
  p = vfma(s2, p, F(1.0f / 9));
  p = vfma(s2, p, F(1.0f / 7));
  p = vfma(s2, p, F(1.0f / 5));
  p = vfma(s2, p, F(1.0f / 3));
  p = vfma(s2, p, F(1.0f));
  return vfma(e, F(0.693147180559945f), (2.0f * s) * p);
}

/// Four standard normals (float precision) from one Philox block: two
/// Box-Muller pairs. The angle's octant comes from the top 3 bits of a word
/// (swap and two sign flips: the 8 symmetries of the square), the angle within
/// [0, pi/4] from the other 29 bits, so sin/cos need only short polynomials.
template <class U>
STOCHINFER_HD void box_muller4(const U r[4], typename float_of<U>::type z[4]) {
  using F = typename float_of<U>::type;
  for (int pair = 0; pair < 2; ++pair) {
    // 31 random bits suffice in float precision: u1 = (k + 1/2) / 2^31 in (0, 1)
    const F u1 = (vto_float31(r[2 * pair] >> 1) + 0.5f) * 4.656612873077393e-10f;
    const F rad = vsqrt(-2.0f * log_unit<F, U>(u1));
    const U w = r[2 * pair + 1];
    const F a = (vto_float31(w & U(0x1FFFFFFFu)) + 0.5f) *
                (1.862645149230957e-09f * 0.785398163397448f);  // (0, pi/4)
    const F a2 = a * a;
    // Horner steps as explicit vfma, and no product feeds an addition below, so
    // contraction (nvcc, GCC -mfma) cannot change the bits.
    const F s = a * vfma(a2, vfma(a2, vfma(a2, F(-1.0f / 5040), F(1.0f / 120)), F(-1.0f / 6)), F(1.0f));
    const F c = vfma(a2, vfma(a2, vfma(a2, vfma(a2, F(1.0f / 40320), F(-1.0f / 720)), F(1.0f / 24)), F(-0.5f)),
                     F(1.0f));
    const F sign_c = 1.0f - 2.0f * vto_float31((w >> 30) & U(1u));  // exact either way
    const F sign_s = 1.0f - 2.0f * vto_float31((w >> 29) & U(1u));
    // swap (top bit) exchanges c and s: a branch-free bit select
    const U bc = vbits(c);
    const U bs = vbits(s);
    const U flip = (bc ^ bs) & (U(0u) - (w >> 31));
    z[2 * pair] = rad * sign_c * vfrom_bits(bc ^ flip);      // swap ? s : c
    z[2 * pair + 1] = rad * sign_s * vfrom_bits(bs ^ flip);  // swap ? c : s
  }
}

/// The standard normal for (seed, purpose, trajectory, step, component): the
/// single definition every backend reproduces.
STOCHINFER_HD float normal_at(std::uint64_t seed, RngPurpose purpose, std::uint64_t trajectory,
                              std::uint64_t step, std::uint32_t component) {
  std::uint32_t c[4];
  philox_block<std::uint32_t>(seed, purpose, static_cast<std::uint32_t>(trajectory), step,
                              component / 4, c);
  float z[4];
  box_muller4<std::uint32_t>(c, z);
  return z[component % 4];
}

/// Uniform in (0, 1) for (seed, purpose, trajectory, step, component).
STOCHINFER_HD float uniform_at(std::uint64_t seed, RngPurpose purpose, std::uint64_t trajectory,
                               std::uint64_t step, std::uint32_t component) {
  std::uint32_t c[4];
  philox_block<std::uint32_t>(seed, purpose, static_cast<std::uint32_t>(trajectory), step,
                              component / 4, c);
  return (vto_float31(c[component % 4] >> 1) + 0.5f) * 4.656612873077393e-10f;
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
