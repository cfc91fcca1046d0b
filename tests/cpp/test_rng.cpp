// SPDX-License-Identifier: MIT
// Philox known-answer vectors (Random123 tests/kat_vectors) and agreement of the
// lane-packed generator with the scalar one.
#include <cmath>
#include <cstdint>

#include "check.hpp"
#include "stochinfer/rng.hpp"

using namespace stochinfer;

static bool kat(std::uint32_t c0, std::uint32_t c1, std::uint32_t c2, std::uint32_t c3, std::uint32_t k0,
                std::uint32_t k1, std::uint32_t e0, std::uint32_t e1, std::uint32_t e2, std::uint32_t e3) {
  std::uint32_t c[4] = {c0, c1, c2, c3};
  philox4x32_10(c, k0, k1);
  return c[0] == e0 && c[1] == e1 && c[2] == e2 && c[3] == e3;
}

int main() {
  CHECK(kat(0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8));
  CHECK(kat(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e,
            0xa20bc7c6, 0x6d5451fd));
  CHECK(kat(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb,
            0x5001e420, 0x24126ea1));

  // Packed lanes read exactly the scalar stream of each trajectory, from any position.
  using U = Pack<std::uint32_t, 16>;
  U lo, hi;
  for (int l = 0; l < 16; ++l) {
    lo[l] = 0xFFFFFFF8u + l;  // lanes cross 2^32: the high word must follow
    hi[l] = l < 8 ? 0u : 1u;
  }
  NormalStream<U> packed{42, RngPurpose::integrator_noise, lo, hi};
  packed.seek(123456789013ull);
  Pack<float, 16> z[7];
  packed.read(z, 7);
  bool same = true;
  for (int l = 0; l < 16; ++l)
    for (int j = 0; j < 7; ++j)
      same = same && z[j][l] == normal_at(42, RngPurpose::integrator_noise, 0xFFFFFFF8ull + l,
                                          123456789013ull + j);
  CHECK(same);
  // reading in pieces equals reading at once
  NormalStream<std::uint32_t> a1 = normal_stream(9, RngPurpose::integrator_noise, 5), a2 = a1;
  float r1[11], r2[11];
  a1.read(r1, 11);
  a2.read(r2, 3);
  a2.read(r2 + 3, 5);
  a2.read(r2 + 8, 3);
  bool pieces = true;
  for (int j = 0; j < 11; ++j) pieces = pieces && r1[j] == r2[j];
  CHECK(pieces);

  // log_unit: absolute error below 2e-6 * max(1, |log x|) on (0, 1]
  bool log_ok = true;
  for (int i = 1; i <= 100000; ++i) {
    const float x = static_cast<float>(i) / 100000.0f;
    const double exact = std::log(static_cast<double>(x));
    log_ok = log_ok && std::fabs(log_unit<float, std::uint32_t>(x) - exact) < 2e-6 * std::fmax(1.0, -exact);
  }
  CHECK(log_ok);
  return stochinfer_test::report();
}
