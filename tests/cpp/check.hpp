// SPDX-License-Identifier: MIT
// Minimal test harness: CHECK records failures; report() prints "N passed, M failed".
#pragma once
#include <cstdio>
#include <stdexcept>

namespace stochinfer_test {
inline int& passed() { static int n = 0; return n; }
inline int& failed() { static int n = 0; return n; }
inline int report() {
  std::printf("%d passed, %d failed\n", passed(), failed());
  return failed() == 0 ? 0 : 1;
}
/// Whether f() throws std::invalid_argument (other exceptions propagate and fail the test).
template <class F>
bool throws_invalid_argument(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}
}  // namespace stochinfer_test

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (cond) {                                                              \
      ++stochinfer_test::passed();                                           \
    } else {                                                                 \
      ++stochinfer_test::failed();                                           \
      std::printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
    }                                                                        \
  } while (0)
