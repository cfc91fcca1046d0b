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
  initial_uniform = 4,
  weight_init = 5,
  minibatch = 6,
  weight_sample = 7,     ///< Bayesian weight noise while training
  posterior_sample = 8,  ///< Bayesian weight noise for evaluation and prediction
  linear_base_sample = 9,  ///< posterior samples of a network's linear base field
  diffusion_base_sample = 10,  ///< posterior samples of a fitted equation's diffusion base
  reset_time = 11,  ///< waiting times between resets (first passage under stochastic resetting)
  read_noise = 12,  ///< Gaussian pixel noise of rendered movies
  shot_noise = 13,  ///< Poisson pixel counts of rendered movies (uniforms, exact inversion)
  shot_noise_normal = 14,  ///< Poisson pixel counts of rendered movies (normals, large means)
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

/// Counter layout shared by every backend: block `block` of the stream
/// (seed, purpose, trajectory) is
///   c0 = block bits 0..31, c1 = block bits 32..63,
///   c2 = purpose << 24 | trajectory bits 32..55, c3 = trajectory bits 0..31; key = seed.
/// traj_lo / traj_hi are the trajectory's bits 0..31 and 32..55 (U: one or W lanes).
template <class U>
STOCHINFER_HD void philox_block(std::uint64_t seed, RngPurpose purpose, const U& traj_lo,
                                const U& traj_hi, std::uint64_t block, U c[4]) {
  c[0] = U(static_cast<std::uint32_t>(block));
  c[1] = U(static_cast<std::uint32_t>(block >> 32));
  c[2] = U(static_cast<std::uint32_t>(purpose) << 24) | (traj_hi & U(0xFFFFFFu));
  c[3] = traj_lo;
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

/// The normals of one trajectory's stream (seed, purpose, trajectory), read in
/// order: normal j is output j % 4 of Philox block j / 4. An integrator with
/// noise_dim() = m consumes normals g*m .. g*m + m - 1 at integration step g, so
/// no Philox output is wasted whatever m is. U = std::uint32_t gives one
/// trajectory (CUDA, reference); U = Pack<std::uint32_t, W> gives W trajectories
/// in lock-step (CPU), which share the read position.
template <class U>
struct NormalStream {
  using F = typename float_of<U>::type;
  std::uint64_t seed = 0;
  RngPurpose purpose = RngPurpose::integrator_noise;
  U traj_lo, traj_hi;
  std::uint64_t next_block = 0;  ///< block generated on the next refill
  int used = 4;                  ///< normals of `cache` already read (4: empty)
  F cache[4] = {};  ///< (initialised: brace-initialised streams would warn under -Wextra)

  STOCHINFER_HD void refill() {
    U c[4];
    philox_block(seed, purpose, traj_lo, traj_hi, next_block, c);
    box_muller4<U>(c, cache);
    ++next_block;
    used = 0;
  }
  /// Position the stream so that the next normal read is normal `index`.
  STOCHINFER_HD void seek(std::uint64_t index) {
    next_block = index / 4;
    used = 4;
    if (index % 4 != 0) {
      refill();
      used = static_cast<int>(index % 4);
    }
  }
  /// Reads the next n normals into out[0..n), converted to the value type V.
  template <class V>
  STOCHINFER_HD void read(V* out, int n) {
    for (int k = 0; k < n; ++k) {
      if (used == 4) refill();
      out[k] = vcast<V>(cache[used++]);
    }
  }
};

/// Stream of trajectory `trajectory` (56 bits are used), positioned at normal 0.
STOCHINFER_HD NormalStream<std::uint32_t> normal_stream(std::uint64_t seed, RngPurpose purpose,
                                                        std::uint64_t trajectory) {
  NormalStream<std::uint32_t> s;
  s.seed = seed;
  s.purpose = purpose;
  s.traj_lo = static_cast<std::uint32_t>(trajectory);
  s.traj_hi = static_cast<std::uint32_t>(trajectory >> 32);
  return s;
}

/// Normal number `index` of the stream (seed, purpose, trajectory): the single
/// definition every backend reproduces.
STOCHINFER_HD float normal_at(std::uint64_t seed, RngPurpose purpose, std::uint64_t trajectory,
                              std::uint64_t index) {
  NormalStream<std::uint32_t> s = normal_stream(seed, purpose, trajectory);
  s.seek(index);
  float z;
  s.read(&z, 1);
  return z;
}

/// Uniform in (0, 1] from 31 bits of output word `index` % 4 of block `index` / 4: the
/// float conversion rounds the top 64 of 2^31 values to exactly 1 (probability 3e-8).
/// Kept as is (changing it would change existing streams); the movie renderer, where a 1
/// would matter, draws its own 24-bit uniform.
STOCHINFER_HD float uniform_at(std::uint64_t seed, RngPurpose purpose, std::uint64_t trajectory,
                               std::uint64_t index) {
  std::uint32_t c[4];
  philox_block<std::uint32_t>(seed, purpose, static_cast<std::uint32_t>(trajectory),
                              static_cast<std::uint32_t>(trajectory >> 32), index / 4, c);
  return (vto_float31(c[index % 4] >> 1) + 0.5f) * 4.656612873077393e-10f;
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
