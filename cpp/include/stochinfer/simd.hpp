// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "stochinfer/config.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// Fixed-width lane pack: W trajectories advanced in lock-step on the CPU. Each
/// operator is a plain loop over lanes that the compiler turns into SIMD
/// instructions, so physics written once against a value type V runs as
/// V = float/double on CUDA and in the reference, and V = Pack<T, W> here.
template <class T, int W>
struct Pack {
  T v[W];
  Pack() = default;
  Pack(T x) {  // NOLINT: implicit splat keeps the physics code readable
    for (int i = 0; i < W; ++i) v[i] = x;
  }
  T& operator[](int i) { return v[i]; }
  const T& operator[](int i) const { return v[i]; }
};

template <class V>
struct value_traits {
  using scalar = V;
  static constexpr int width = 1;
};
template <class T, int W>
struct value_traits<Pack<T, W>> {
  using scalar = T;
  static constexpr int width = W;
};

#define STOCHINFER_PACK_BINOP(op)                                                   \
  template <class T, int W>                                                         \
  inline Pack<T, W> operator op(const Pack<T, W>& a, const Pack<T, W>& b) {         \
    Pack<T, W> r;                                                                   \
    for (int i = 0; i < W; ++i) r.v[i] = a.v[i] op b.v[i];                          \
    return r;                                                                       \
  }                                                                                 \
  template <class T, int W>                                                         \
  inline Pack<T, W> operator op(const Pack<T, W>& a, T b) {                         \
    Pack<T, W> r;                                                                   \
    for (int i = 0; i < W; ++i) r.v[i] = a.v[i] op b;                               \
    return r;                                                                       \
  }                                                                                 \
  template <class T, int W>                                                         \
  inline Pack<T, W> operator op(T a, const Pack<T, W>& b) {                         \
    Pack<T, W> r;                                                                   \
    for (int i = 0; i < W; ++i) r.v[i] = a op b.v[i];                               \
    return r;                                                                       \
  }                                                                                 \
  template <class T, int W>                                                         \
  inline Pack<T, W>& operator op##=(Pack<T, W>& a, const Pack<T, W>& b) {           \
    for (int i = 0; i < W; ++i) a.v[i] = a.v[i] op b.v[i];                          \
    return a;                                                                       \
  }                                                                                 \
  template <class T, int W>                                                         \
  inline Pack<T, W>& operator op##=(Pack<T, W>& a, T b) {                           \
    for (int i = 0; i < W; ++i) a.v[i] = a.v[i] op b;                               \
    return a;                                                                       \
  }

STOCHINFER_PACK_BINOP(+)
STOCHINFER_PACK_BINOP(-)
STOCHINFER_PACK_BINOP(*)
STOCHINFER_PACK_BINOP(/)
STOCHINFER_PACK_BINOP(&)
STOCHINFER_PACK_BINOP(|)
STOCHINFER_PACK_BINOP(^)
#undef STOCHINFER_PACK_BINOP

template <class T, int W>
inline Pack<T, W> operator-(const Pack<T, W>& a) {
  Pack<T, W> r;
  for (int i = 0; i < W; ++i) r.v[i] = -a.v[i];
  return r;
}
template <class T, int W>
inline Pack<T, W> operator>>(const Pack<T, W>& a, int s) {
  Pack<T, W> r;
  for (int i = 0; i < W; ++i) r.v[i] = a.v[i] >> s;
  return r;
}
template <class T, int W>
inline Pack<T, W> operator<<(const Pack<T, W>& a, int s) {
  Pack<T, W> r;
  for (int i = 0; i < W; ++i) r.v[i] = a.v[i] << s;
  return r;
}

// ---- elementwise math; scalar overloads first so generic code can call them ----
STOCHINFER_HD float vsqrt(float x) { return sqrtf(x); }
STOCHINFER_HD double vsqrt(double x) { return sqrt(x); }
STOCHINFER_HD float vexp(float x) { return expf(x); }
STOCHINFER_HD double vexp(double x) { return exp(x); }
STOCHINFER_HD float vmin(float a, float b) { return a < b ? a : b; }
STOCHINFER_HD double vmin(double a, double b) { return a < b ? a : b; }
STOCHINFER_HD float vmax(float a, float b) { return a > b ? a : b; }
STOCHINFER_HD double vmax(double a, double b) { return a > b ? a : b; }
STOCHINFER_HD float vabs(float a) { return fabsf(a); }
STOCHINFER_HD double vabs(double a) { return fabs(a); }
/// Exact float fma without an FMA instruction: a * b is exact in double, the sum
/// is rounded to odd (TwoSum error e; truncate, then set the last bit if
/// inexact), and the final rounding to float is then correct (53 >= 24 + 2).
/// Branch-free integer/double ops only, so lane loops vectorise with SSE2.
/// Equals fmaf for every finite result (and for infinities).
STOCHINFER_HD float fma_emulated(float a, float b, float c) {
  const double p = static_cast<double>(a) * static_cast<double>(b);
  const double cd = c;
  const double s = p + cd;
  const double bb = s - p;
  const double e = (p - (s - bb)) + (cd - bb);  // s + e == p + c exactly
  std::uint64_t u, ue;
  std::memcpy(&u, &s, 8);
  std::memcpy(&ue, &e, 8);
  // flags as 0/1 words from shifts and adds only (no 64-bit compares: SSE2 has none)
  const std::uint64_t mag = ue & 0x7FFFFFFFFFFFFFFFull;
  const std::uint64_t nonzero = (mag + 0x7FFFFFFFFFFFFFFFull) >> 63;
  const std::uint64_t finite = (((mag >> 52) + 1u) >> 11) ^ 1u;
  const std::uint64_t inexact = nonzero & finite;
  const std::uint64_t away = ((u ^ ue) >> 63) & inexact;  // s was rounded away from zero
  u = (u - away) | inexact;
  double r;
  std::memcpy(&r, &u, 8);
  return static_cast<float>(r);
}
/// Fused multiply-add a * b + c with a single rounding, on every backend. The RNG's
/// float arithmetic spells out each fusion with vfma so that no compiler's
/// contraction choice (nvcc, or GCC with -mfma) can change the normals' bits;
/// x86 builds without FMA use the exact emulation above.
STOCHINFER_HD float vfma(float a, float b, float c) {
#if defined(__CUDA_ARCH__) || defined(__FMA__) || !(defined(__x86_64__) || defined(_M_X64))
  return fmaf(a, b, c);
#else
  return fma_emulated(a, b, c);
#endif
}
STOCHINFER_HD double vfma(double a, double b, double c) { return fma(a, b, c); }
/// select(c, a, b) = c ? a : b with c a 0/1-valued scalar of the value type.
template <class T>
STOCHINFER_HD T vselect_lt(T x, T y, T a, T b) {  // x < y ? a : b
  return x < y ? a : b;
}

template <class T, int W>
inline Pack<T, W> vsqrt(const Pack<T, W>& a) {
  Pack<T, W> r;
  for (int i = 0; i < W; ++i) r.v[i] = std::sqrt(a.v[i]);
  return r;
}
template <class T, int W>
inline Pack<T, W> vexp(const Pack<T, W>& a) {
  Pack<T, W> r;
  for (int i = 0; i < W; ++i) r.v[i] = std::exp(a.v[i]);
  return r;
}
template <class T, int W>
inline Pack<T, W> vmin(const Pack<T, W>& a, const Pack<T, W>& b) {
  Pack<T, W> r;
  for (int i = 0; i < W; ++i) r.v[i] = a.v[i] < b.v[i] ? a.v[i] : b.v[i];
  return r;
}
template <class T, int W>
inline Pack<T, W> vmax(const Pack<T, W>& a, const Pack<T, W>& b) {
  Pack<T, W> r;
  for (int i = 0; i < W; ++i) r.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
  return r;
}
template <class T, int W>
inline Pack<T, W> vabs(const Pack<T, W>& a) {
  Pack<T, W> r;
  for (int i = 0; i < W; ++i) r.v[i] = std::fabs(a.v[i]);
  return r;
}
template <class T, int W>
inline Pack<T, W> vfma(const Pack<T, W>& a, const Pack<T, W>& b, const Pack<T, W>& c) {
  Pack<T, W> r;
  for (int i = 0; i < W; ++i) r.v[i] = vfma(a.v[i], b.v[i], c.v[i]);
  return r;
}
template <class T, int W>
inline Pack<T, W> vselect_lt(const Pack<T, W>& x, const Pack<T, W>& y, const Pack<T, W>& a,
                             const Pack<T, W>& b) {
  Pack<T, W> r;
  for (int i = 0; i < W; ++i) r.v[i] = x.v[i] < y.v[i] ? a.v[i] : b.v[i];
  return r;
}

// ---- 32-bit words for the RNG ----
STOCHINFER_HD void vmulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}
template <int W>
inline void vmulhilo(std::uint32_t a, const Pack<std::uint32_t, W>& b, Pack<std::uint32_t, W>& hi,
                     Pack<std::uint32_t, W>& lo) {
  for (int i = 0; i < W; ++i) {
    const std::uint64_t p = static_cast<std::uint64_t>(a) * b.v[i];
    hi.v[i] = static_cast<std::uint32_t>(p >> 32);
    lo.v[i] = static_cast<std::uint32_t>(p);
  }
}
/// uint32 -> float for values below 2^31 (through int32: the signed conversion
/// vectorises on every x86 level), and the float <-> uint32 bit reinterpretation.
STOCHINFER_HD float vto_float31(std::uint32_t u) {
  return static_cast<float>(static_cast<std::int32_t>(u));
}
template <int W>
inline Pack<float, W> vto_float31(const Pack<std::uint32_t, W>& u) {
  Pack<float, W> r;
  for (int i = 0; i < W; ++i) r.v[i] = static_cast<float>(static_cast<std::int32_t>(u.v[i]));
  return r;
}
STOCHINFER_HD std::uint32_t vbits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
STOCHINFER_HD float vfrom_bits(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}
template <int W>
inline Pack<std::uint32_t, W> vbits(const Pack<float, W>& x) {
  Pack<std::uint32_t, W> r;
  std::memcpy(r.v, x.v, sizeof(r.v));
  return r;
}
template <int W>
inline Pack<float, W> vfrom_bits(const Pack<std::uint32_t, W>& u) {
  Pack<float, W> r;
  std::memcpy(r.v, u.v, sizeof(r.v));
  return r;
}

/// Value conversion between lane types of equal width (e.g. float -> double lanes).
template <class To>
struct LaneCast {
  template <class From>
  STOCHINFER_HD static To from(const From& x) {
    return static_cast<To>(x);
  }
};
template <class T, int W>
struct LaneCast<Pack<T, W>> {
  template <class From>
  static Pack<T, W> from(const Pack<From, W>& x) {
    Pack<T, W> r;
    for (int i = 0; i < W; ++i) r.v[i] = static_cast<T>(x.v[i]);
    return r;
  }
};
template <class To, class From>
STOCHINFER_HD To vcast(const From& x) {
  return LaneCast<To>::from(x);
}

/// The float lane type matching a word type.
template <class U>
struct float_of {
  using type = float;
};
template <int W>
struct float_of<Pack<std::uint32_t, W>> {
  using type = Pack<float, W>;
};

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
