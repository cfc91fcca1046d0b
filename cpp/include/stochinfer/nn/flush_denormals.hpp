// SPDX-License-Identifier: MIT
#pragma once
#if defined(__SSE2__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "stochinfer/config.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// Sets flush-to-zero and denormals-are-zero on this thread for its lifetime.
/// Late in training some float32 values (small gradients, decayed moments) become
/// subnormal, and every operation on them takes a microcode assist: training and
/// evaluation were measured 5-12x slower. Values below 1.2e-38 do not matter here.
class FlushDenormals {
 public:
#if defined(__SSE2__) || defined(__x86_64__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }  // FTZ | DAZ
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned int saved_;
#endif
};

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
