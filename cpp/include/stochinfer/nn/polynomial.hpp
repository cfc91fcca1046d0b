// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>

namespace stochinfer {

/// Polynomials of a few inputs as least-squares bases: the drift networks'
/// polynomial base field and the diffusion network's quadratic trend. Monomials
/// up to degree 3 in graded order: 1; u_j; u_j u_k (j <= k); u_j u_k u_l
/// (j <= k <= l), each block row-major. python/stochinfer/langevin/linear.py
/// (polynomial_features) builds the same columns for the fits.
constexpr int kMaxPolynomialDegree = 3;

/// Number of monomials of degree <= `degree` in n inputs: C(n + degree, degree).
inline int n_monomials(int n, int degree) {
  if (n < 0 || degree < 0 || degree > kMaxPolynomialDegree)
    throw std::invalid_argument("monomials need n >= 0 inputs and a degree in [0, " +
                                std::to_string(kMaxPolynomialDegree) + "], got n = " + std::to_string(n) +
                                ", degree " + std::to_string(degree));
  long long c = 1;
  for (int i = 1; i <= degree; ++i) c = c * (n + i) / i;
  return int(c);
}

/// Σ_i c[i * stride] m_i(u) over the monomials m_i of u (n values) up to `degree`,
/// accumulated in monomial order (degree 1: c₀ + Σ_j c_j u_j, term by term).
template <class U>
inline double polynomial_value(const U* u, int n, int degree, const double* c, std::size_t stride = 1) {
  double acc = c[0];
  std::size_t i = 1;
  if (degree >= 1)
    for (int j = 0; j < n; ++j) acc += c[stride * i++] * double(u[j]);
  if (degree >= 2)
    for (int j = 0; j < n; ++j)
      for (int k = j; k < n; ++k) acc += c[stride * i++] * double(u[j]) * double(u[k]);
  if (degree >= 3)
    for (int j = 0; j < n; ++j)
      for (int k = j; k < n; ++k)
        for (int l = k; l < n; ++l) acc += c[stride * i++] * double(u[j]) * double(u[k]) * double(u[l]);
  return acc;
}

}  // namespace stochinfer
