// SPDX-License-Identifier: MIT
#pragma once
#include <Eigen/Dense>
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "stochinfer/ground_truth/linear_ep.hpp"

namespace stochinfer {
namespace ground_truth {

/// Drift matrix A = (k/gamma) tridiag(1, -2, 1) (n x n, 1/time) of the bead-spring chain
/// with both end beads tied to fixed walls (methods.md §5.1). n >= 1, k > 0, gamma > 0.
inline Eigen::MatrixXd bead_spring_drift_matrix(int n, double k = 1.0, double gamma = 1.0) {
  if (n < 1) throw std::invalid_argument("bead_spring_drift_matrix: n must be >= 1");
  if (!(k > 0.0) || !std::isfinite(k)) {
    throw std::invalid_argument("bead_spring_drift_matrix: k must be finite and > 0");
  }
  if (!(gamma > 0.0) || !std::isfinite(gamma)) {
    throw std::invalid_argument("bead_spring_drift_matrix: gamma must be finite and > 0");
  }
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(n, n);
  const double c = k / gamma;
  for (int i = 0; i < n; ++i) {
    A(i, i) = -2.0 * c;
    if (i > 0) A(i, i - 1) = c;
    if (i + 1 < n) A(i, i + 1) = c;
  }
  return A;
}

/// Diffusion matrix D = diag(T_i / gamma) (n x n, length^2/time) for bath temperatures
/// temps (n entries, each > 0) and friction gamma > 0.
inline Eigen::MatrixXd bead_spring_diffusion(const Eigen::VectorXd& temps, double gamma = 1.0) {
  if (temps.size() < 1) throw std::invalid_argument("bead_spring_diffusion: temps is empty");
  if (!temps.allFinite() || !(temps.minCoeff() > 0.0)) {
    throw std::invalid_argument("bead_spring_diffusion: temps must be finite and > 0");
  }
  if (!(gamma > 0.0) || !std::isfinite(gamma)) {
    throw std::invalid_argument("bead_spring_diffusion: gamma must be finite and > 0");
  }
  return (temps / gamma).asDiagonal();
}

/// Linear temperature profile T_i = T_c + (T_h - T_c)(i - 1)/(n - 1), i = 1..n (n >= 2):
/// bead 1 at t_cold, bead n at t_hot.
inline Eigen::VectorXd linear_temperature_profile(int n, double t_cold, double t_hot) {
  if (n < 2) throw std::invalid_argument("linear_temperature_profile: n must be >= 2");
  if (!(t_cold > 0.0) || !(t_hot > 0.0) || !std::isfinite(t_cold) || !std::isfinite(t_hot)) {
    throw std::invalid_argument("linear_temperature_profile: temperatures must be finite and > 0");
  }
  Eigen::VectorXd T(n);
  for (int i = 0; i < n; ++i) T(i) = t_cold + (t_hot - t_cold) * i / (n - 1.0);
  return T;
}

/// EP rate (k_B per unit time) of the bead-spring chain with n beads, linear profile
/// from t_cold (bead 1) to t_hot (bead n), via the Lyapunov covariance.
inline double bead_spring_ep_rate(int n, double t_cold, double t_hot, double k = 1.0,
                                  double gamma = 1.0) {
  return ep_rate(bead_spring_drift_matrix(n, k, gamma),
                 bead_spring_diffusion(linear_temperature_profile(n, t_cold, t_hot), gamma));
}

/// Closed-form EP rate of the N = 2 chain: k (T1 - T2)^2 / (4 gamma T1 T2) (methods.md §5.1).
inline double bead_spring_ep_rate_n2(double t1, double t2, double k = 1.0, double gamma = 1.0) {
  return k * (t1 - t2) * (t1 - t2) / (4.0 * gamma * t1 * t2);
}

/// Closed-form EP rate of the N = 5 chain with linear profile from t1 (bead 1) to t2
/// (bead 5): k (T1-T2)^2 (111 T1^2 + 430 T1 T2 + 111 T2^2) / [495 gamma T1 T2 (3T1+T2)(T1+3T2)].
inline double bead_spring_ep_rate_n5(double t1, double t2, double k = 1.0, double gamma = 1.0) {
  const double num =
      k * (t1 - t2) * (t1 - t2) * (111.0 * t1 * t1 + 430.0 * t1 * t2 + 111.0 * t2 * t2);
  const double den = 495.0 * gamma * t1 * t2 * (3.0 * t1 + t2) * (t1 + 3.0 * t2);
  return num / den;
}

/// Closed-form stationary covariance of the N = 2 chain (2 x 2, length^2):
/// (1/12k) [[7T1 + T2, 2(T1 + T2)], [2(T1 + T2), T1 + 7T2]] (independent of gamma).
inline Eigen::Matrix2d bead_spring_covariance_n2(double t1, double t2, double k = 1.0) {
  Eigen::Matrix2d C;
  C << 7.0 * t1 + t2, 2.0 * (t1 + t2), 2.0 * (t1 + t2), t1 + 7.0 * t2;
  return C / (12.0 * k);
}

/// Cold-end temperature T_1 (0 < T_1 < t_hot) of the n-bead chain with linear profile up to
/// T_n = t_hot for which the EP rate equals target_sigma (methods.md §5.2: sigma = 1,
/// t_hot = 10). Brent's method on sigma(T_1) - target, relative tolerance ~1e-14.
inline double high_dim_cold_temperature(int n, double t_hot = 10.0, double target_sigma = 1.0,
                                        double k = 1.0, double gamma = 1.0,
                                        const std::atomic<bool>* cancel = nullptr) {
  const char* fn = "high_dim_cold_temperature";
  if (n < 2) throw std::invalid_argument(std::string(fn) + ": n must be >= 2");
  if (!(t_hot > 0.0) || !std::isfinite(t_hot)) {
    throw std::invalid_argument(std::string(fn) + ": t_hot must be finite and > 0");
  }
  if (!(target_sigma > 0.0) || !std::isfinite(target_sigma)) {
    throw std::invalid_argument(std::string(fn) + ": target_sigma must be finite and > 0");
  }
  const Eigen::MatrixXd A = bead_spring_drift_matrix(n, k, gamma);
  auto f = [&](double t1) {  // an O(n^3) solve per call, ~40 calls: the cancel point
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed))
      throw std::runtime_error(std::string(fn) + ": cancelled");
    return ep_rate(A, bead_spring_diffusion(linear_temperature_profile(n, t1, t_hot), gamma)) -
           target_sigma;
  };
  // sigma = 0 at T_1 = t_hot and grows without bound as T_1 -> 0: bracket by halving.
  double b = t_hot, fb = -target_sigma;
  double a = 0.5 * t_hot, fa = f(a);
  for (int it = 0; fa < 0.0; ++it) {
    if (it > 200) throw std::runtime_error(std::string(fn) + ": could not bracket the root");
    b = a;
    fb = fa;
    a *= 0.5;
    fa = f(a);
  }
  // Brent (1973), as in Numerical Recipes' zbrent.
  double c = b, fc = fb, d = b - a, e = d;
  for (int it = 0; it < 200; ++it) {
    if ((fb > 0.0 && fc > 0.0) || (fb < 0.0 && fc < 0.0)) {
      c = a;
      fc = fa;
      d = e = b - a;
    }
    if (std::abs(fc) < std::abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const double tol = 2.0 * std::numeric_limits<double>::epsilon() * std::abs(b) + 1e-15 * t_hot;
    const double xm = 0.5 * (c - b);
    if (std::abs(xm) <= tol || fb == 0.0) return b;
    if (std::abs(e) >= tol && std::abs(fa) > std::abs(fb)) {
      double p, q, r;
      const double s = fb / fa;
      if (a == c) {
        p = 2.0 * xm * s;
        q = 1.0 - s;
      } else {
        q = fa / fc;
        r = fb / fc;
        p = s * (2.0 * xm * q * (q - r) - (b - a) * (r - 1.0));
        q = (q - 1.0) * (r - 1.0) * (s - 1.0);
      }
      if (p > 0.0) q = -q;
      p = std::abs(p);
      const double min1 = 3.0 * xm * q - std::abs(tol * q);
      const double min2 = std::abs(e * q);
      if (2.0 * p < (min1 < min2 ? min1 : min2)) {
        e = d;
        d = p / q;
      } else {
        d = xm;
        e = d;
      }
    } else {
      d = xm;
      e = d;
    }
    a = b;
    fa = fb;
    b += std::abs(d) > tol ? d : (xm >= 0.0 ? tol : -tol);
    fb = f(b);
  }
  throw std::runtime_error(std::string(fn) + ": Brent iteration did not converge");
}

}  // namespace ground_truth
}  // namespace stochinfer
