// SPDX-License-Identifier: MIT
// Philox known-answer vectors (Random123 tests/kat_vectors) and agreement of the
// lane-packed generator with the scalar one.
#include <cmath>
#include <cstdint>
#include <vector>

#include "check.hpp"
#include "stochinfer/detail/read_normals.hpp"
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

  // detail::read_normals (W blocks in lanes) reads the same bits as the scalar stream, from any
  // position and for any length, and leaves the stream where the scalar read does
  bool bulk = true;
  // (the last start puts block 2^32 inside a group of 16 lanes: the counter's carry)
  for (std::uint64_t start : {0ull, 1ull, 3ull, 4ull, 5ull, 63ull, 64ull, 65ull, (1ull << 34) - 2,
                              ((1ull << 32) - 5) * 4 + 2})
    for (std::size_t n : {0u, 1u, 3u, 4u, 63u, 64u, 65u, 300u}) {
      NormalStream<std::uint32_t> s1 = normal_stream(77, RngPurpose::weight_sample, (1ull << 40) + 3), s2 = s1,
                                  s3 = s1;
      s1.seek(start);
      s2.seek(start);
      s3.seek(start);
      std::vector<float> a(n + 1), b(n + 1), c(n + 1);
      s1.read(a.data(), static_cast<int>(n));
      detail::read_normals<16>(s2, b.data(), n);
      detail::read_normals<4>(s3, c.data(), n);
      s1.read(a.data() + n, 1);  // the next normal after the read
      s2.read(b.data() + n, 1);
      s3.read(c.data() + n, 1);
      for (std::size_t j = 0; j <= n; ++j) bulk = bulk && a[j] == b[j] && a[j] == c[j];
    }
  CHECK(bulk);

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
