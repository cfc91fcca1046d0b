// SPDX-License-Identifier: MIT
// Monomials of the polynomial bases: count C(n + p, p), graded order
// 1; u_j; u_j u_k (j <= k); u_j u_k u_l (j <= k <= l), the strided coefficient
// layout of the drift base, and a clear error for degrees above 3.
#include <cmath>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "stochinfer/nn/polynomial.hpp"

using namespace stochinfer;

int main() {
  CHECK(n_monomials(2, 0) == 1 && n_monomials(2, 1) == 3 && n_monomials(2, 2) == 6 && n_monomials(2, 3) == 10);
  CHECK(n_monomials(4, 3) == 35 && n_monomials(5, 3) == 56);

  // with the unit coefficient on one monomial at a time, the value is that monomial
  const double u[2] = {2.0, 3.0};
  const double want[10] = {1, 2, 3, 4, 6, 9, 8, 12, 18, 27};
  for (int i = 0; i < 10; ++i) {
    std::vector<double> c(10, 0.0);
    c[std::size_t(i)] = 1.0;
    CHECK(polynomial_value(u, 2, 3, c.data()) == want[i]);
  }
  // strided: output k of a (monomial x out) row-major block
  std::vector<double> block(6 * 2);
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = double(i);
  double direct = 0.0;
  for (int i = 0; i < 6; ++i) direct += block[std::size_t(2 * i + 1)] * want[i];
  CHECK(std::fabs(polynomial_value(u, 2, 2, block.data() + 1, 2) - direct) < 1e-12);

  CHECK(stochinfer_test::throws_invalid_argument([] { n_monomials(2, 4); }));
  return stochinfer_test::report();
}
