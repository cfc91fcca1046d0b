// SPDX-License-Identifier: MIT
#pragma once
#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace stochinfer {
namespace ground_truth {

/// Largest |V| / T whose jump probabilities double precision holds (exp(-600) ~ 1e-261).
inline constexpr double kRatchetMaxBarrier = 300.0;

/// Embedded jump chain P (6 x 6, zero diagonal, rows sum to 1) of the discrete flashing
/// ratchet (methods.md §5.3). Token i = (position i, potential on), token 3 + i =
/// (position i, off), i in {0, 1, 2}. On: U(i) = i V and any two distinct positions are
/// connected with rate exp(-[U(j) - U(i)]/(2T)); off: rate 1; on <-> off at fixed position:
/// rate r. One step is one jump, P_ij = k_ij / sum_j k_ij. T > 0, r > 0.
inline Eigen::MatrixXd ratchet_transition_matrix(double V, double T = 1.0, double r = 1.0) {
  if (!std::isfinite(V)) throw std::invalid_argument("ratchet_transition_matrix: V must be finite");
  if (!(T > 0.0) || !std::isfinite(T)) {
    throw std::invalid_argument("ratchet_transition_matrix: T must be finite and > 0");
  }
  if (!(r > 0.0) || !std::isfinite(r)) {
    throw std::invalid_argument("ratchet_transition_matrix: r must be finite and > 0");
  }
  // rates span exp(+-V/T) within a row, probabilities exp(-2V/T): beyond this they underflow
  if (std::abs(V) / T > kRatchetMaxBarrier) {
    throw std::invalid_argument("ratchet_transition_matrix: |V| / T must be <= 300 (jump probabilities "
                                "underflow double precision beyond)");
  }
  Eigen::MatrixXd K = Eigen::MatrixXd::Zero(6, 6);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      if (i == j) continue;
      K(i, j) = std::exp(-(j - i) * V / (2.0 * T));
      K(3 + i, 3 + j) = 1.0;
    }
    K(i, 3 + i) = r;
    K(3 + i, i) = r;
  }
  for (int i = 0; i < 6; ++i) K.row(i) /= K.row(i).sum();
  return K;
}

namespace detail {

inline void check_stochastic(const Eigen::MatrixXd& P, const char* fn) {
  if (P.rows() != P.cols() || P.rows() < 1) {
    std::ostringstream msg;
    msg << fn << ": P must be a non-empty square matrix, got " << P.rows() << "x" << P.cols();
    throw std::invalid_argument(msg.str());
  }
  if (!P.allFinite() || P.minCoeff() < 0.0) {
    throw std::invalid_argument(std::string(fn) + ": P must be finite and non-negative");
  }
  const double worst = (P.rowwise().sum().array() - 1.0).abs().maxCoeff();
  if (worst > 1e-10) {
    throw std::invalid_argument(std::string(fn) + ": rows of P must sum to 1");
  }
}

inline void check_distribution(const Eigen::VectorXd& pi, Eigen::Index n, const char* fn) {
  if (pi.size() != n) {
    throw std::invalid_argument(std::string(fn) + ": pi must have " + std::to_string(n) +
                                " entries, got " + std::to_string(pi.size()));
  }
  if (!pi.allFinite() || pi.minCoeff() < 0.0 || std::abs(pi.sum() - 1.0) > 1e-10) {
    throw std::invalid_argument(std::string(fn) +
                                ": pi must be a probability vector (non-negative, sums to 1)");
  }
}

}  // namespace detail

/// Stationary distribution pi (n entries, sums to 1) of a row-stochastic n x n matrix P:
/// pi P = pi. Throws std::invalid_argument if P is not stochastic or has no unique
/// stationary distribution.
inline Eigen::VectorXd stationary_distribution(const Eigen::MatrixXd& P) {
  const char* fn = "stationary_distribution";
  detail::check_stochastic(P, fn);
  const Eigen::Index n = P.rows();
  // (P^T - I) pi = 0 with one equation replaced by sum(pi) = 1.
  Eigen::MatrixXd M = P.transpose() - Eigen::MatrixXd::Identity(n, n);
  M.row(n - 1).setOnes();
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(n);
  rhs(n - 1) = 1.0;
  const Eigen::FullPivLU<Eigen::MatrixXd> lu(M);
  if (!lu.isInvertible()) {
    throw std::invalid_argument(std::string(fn) +
                                ": P has no unique stationary distribution (reducible chain)");
  }
  Eigen::VectorXd pi = lu.solve(rhs);
  if (pi.minCoeff() < -1e-12) {
    throw std::invalid_argument(std::string(fn) + ": P has no unique stationary distribution");
  }
  pi = pi.cwiseMax(0.0);
  return pi / pi.sum();
}

/// Steady-state EP per step (k_B per jump) of the chain P with stationary pi:
/// sum_ij pi_i P_ij ln(P_ij / P_ji). +inf if some used transition has no reverse.
inline double ep_per_step(const Eigen::MatrixXd& P, const Eigen::VectorXd& pi) {
  const char* fn = "ep_per_step";
  detail::check_stochastic(P, fn);
  detail::check_distribution(pi, P.rows(), fn);
  double s = 0.0;
  for (Eigen::Index i = 0; i < P.rows(); ++i) {
    for (Eigen::Index j = 0; j < P.cols(); ++j) {
      const double flux = pi(i) * P(i, j);
      if (flux == 0.0 || i == j) continue;
      if (P(j, i) == 0.0) return std::numeric_limits<double>::infinity();
      s += flux * std::log(P(i, j) / P(j, i));
    }
  }
  return s;
}

/// Steady-state EP per step (k_B per jump) of the chain P, with pi = stationary_distribution(P).
inline double ep_per_step(const Eigen::MatrixXd& P) {
  return ep_per_step(P, stationary_distribution(P));
}

/// Stochastic EP (k_B) of the jump i -> j: ln[pi_i P_ij / (pi_j P_ji)]. 0 for i == j
/// (a lazy step), +inf when P_ji = 0. Throws std::invalid_argument if P_ij = 0 (the jump
/// cannot occur) or an index is out of range.
inline double transition_entropy(const Eigen::MatrixXd& P, const Eigen::VectorXd& pi,
                                 std::int64_t i, std::int64_t j) {
  const char* fn = "transition_entropy";
  detail::check_stochastic(P, fn);
  detail::check_distribution(pi, P.rows(), fn);
  const std::int64_t n = P.rows();
  if (i < 0 || i >= n || j < 0 || j >= n) {
    std::ostringstream msg;
    msg << fn << ": token out of range [0, " << n << "): " << (i < 0 || i >= n ? i : j);
    throw std::invalid_argument(msg.str());
  }
  if (P(i, j) == 0.0) {
    std::ostringstream msg;
    msg << fn << ": transition " << i << " -> " << j << " has zero probability under P";
    throw std::invalid_argument(msg.str());
  }
  if (i == j) return 0.0;
  if (P(j, i) == 0.0) return std::numeric_limits<double>::infinity();
  return std::log(pi(i) * P(i, j)) - std::log(pi(j) * P(j, i));
}

/// Vectorised transition_entropy over token trajectories: tokens is n_traj x length,
/// row-major; out is n_traj x (length - 1), row-major, out[t] = Delta S of
/// tokens[t] -> tokens[t + 1] within each trajectory (k_B per jump). length >= 1.
inline void transition_entropy(const Eigen::MatrixXd& P, const Eigen::VectorXd& pi,
                               const std::int64_t* tokens, std::int64_t n_traj,
                               std::int64_t length, double* out) {
  const char* fn = "transition_entropy";
  detail::check_stochastic(P, fn);
  detail::check_distribution(pi, P.rows(), fn);
  if (n_traj < 0 || length < 1) {
    throw std::invalid_argument(std::string(fn) + ": need n_traj >= 0 and length >= 1");
  }
  const std::int64_t n = P.rows();
  // Table of ln[pi_i P_ij/(pi_j P_ji)]; NaN marks jumps that cannot occur.
  Eigen::MatrixXd S(n, n);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      if (P(i, j) == 0.0) {
        S(i, j) = std::numeric_limits<double>::quiet_NaN();
      } else if (i == j) {
        S(i, j) = 0.0;
      } else if (P(j, i) == 0.0) {
        S(i, j) = std::numeric_limits<double>::infinity();
      } else {
        S(i, j) = std::log(pi(i) * P(i, j)) - std::log(pi(j) * P(j, i));
      }
    }
  }
  for (std::int64_t m = 0; m < n_traj; ++m) {
    const std::int64_t* tok = tokens + m * length;
    double* o = out + m * (length - 1);
    for (std::int64_t t = 0; t < length; ++t) {
      if (tok[t] < 0 || tok[t] >= n) {
        std::ostringstream msg;
        msg << fn << ": token " << tok[t] << " at [" << m << ", " << t << "] out of range [0, "
            << n << ")";
        throw std::invalid_argument(msg.str());
      }
    }
    for (std::int64_t t = 0; t + 1 < length; ++t) {
      const double v = S(tok[t], tok[t + 1]);
      if (std::isnan(v)) {
        std::ostringstream msg;
        msg << fn << ": transition " << tok[t] << " -> " << tok[t + 1] << " at [" << m << ", "
            << t << "] has zero probability under P";
        throw std::invalid_argument(msg.str());
      }
      o[t] = v;
    }
  }
}

}  // namespace ground_truth
}  // namespace stochinfer
