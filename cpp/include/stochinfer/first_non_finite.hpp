// SPDX-License-Identifier: MIT
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <type_traits>

#include "stochinfer/config.hpp"
#include "stochinfer/detail/run_on_threads.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

namespace detail {
/// True for NaN and ±inf, from the exponent bits: unlike std::isfinite or x − x != 0,
/// -ffast-math cannot fold it away in code that includes this header.
template <class T>
inline bool non_finite_bits(T v) {
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr U exponent = sizeof(T) == 4 ? U(0x7F800000u) : U(0x7FF0000000000000ull);
  U bits;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits & exponent) == exponent;
}
}  // namespace detail

/// Index of the first of `rows` consecutive rows of `row_len` values (float or double)
/// that holds a NaN or an infinity, or -1 if there is none: the divergence check after a
/// simulation, in one vectorised pass on up to `threads` threads (0: all cores; a
/// single-threaded pass over the output cost as much as the simulation itself on a
/// machine with many cores). The answer does not depend on the thread count.
template <class T>
std::int64_t first_non_finite_row(const T* x, std::int64_t rows, std::int64_t row_len, int threads) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double values");
  if (rows <= 0 || row_len <= 0) return -1;
  if (threads <= 0) threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const std::int64_t block = std::max<std::int64_t>(1, (std::int64_t(1) << 16) / row_len);  // rows per task
  const std::int64_t n_blocks = (rows + block - 1) / block;
  std::atomic<std::int64_t> next{0}, first{rows};
  auto worker = [&]() {
    for (std::int64_t b; (b = next.fetch_add(1)) < n_blocks;) {
      const std::int64_t r0 = b * block, r1 = std::min(rows, r0 + block);
      if (r0 >= first.load(std::memory_order_relaxed)) continue;  // an earlier row is already bad
      const T* p = x + r0 * row_len;
      const std::int64_t n = (r1 - r0) * row_len;
      int bad = 0;  // an integer OR over the values: the compiler vectorises it
      for (std::int64_t i = 0; i < n; ++i) bad |= detail::non_finite_bits(p[i]);
      if (!bad) continue;
      for (std::int64_t r = r0; r < r1; ++r) {
        const T* q = x + r * row_len;
        if (std::any_of(q, q + row_len, [](T v) { return detail::non_finite_bits(v); })) {
          std::int64_t cur = first.load();
          while (r < cur && !first.compare_exchange_weak(cur, r)) {
          }
          break;
        }
      }
    }
  };
  host_threads::run_on_threads(std::max(1, std::min<int>(threads, int(std::min<std::int64_t>(n_blocks, 1 << 10)))),
                               worker);
  const std::int64_t r = first.load();
  return r < rows ? r : -1;
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
