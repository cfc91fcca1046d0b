// SPDX-License-Identifier: MIT
#pragma once
#include <Eigen/Dense>
#include <Eigen/Eigenvalues>
#include <cmath>
#include <complex>
#include <sstream>
#include <stdexcept>
#include <string>

namespace stochinfer {
namespace ground_truth {
namespace detail {

inline void require_square(const Eigen::MatrixXd& M, const char* name) {
  if (M.rows() != M.cols()) {
    std::ostringstream msg;
    msg << name << " must be square, got " << M.rows() << "x" << M.cols();
    throw std::invalid_argument(msg.str());
  }
}

inline void require_same_shape(const Eigen::MatrixXd& M, const Eigen::MatrixXd& N,
                               const char* name_m, const char* name_n) {
  if (M.rows() != N.rows() || M.cols() != N.cols()) {
    std::ostringstream msg;
    msg << name_n << " must have the shape of " << name_m << " (" << M.rows() << "x"
        << M.cols() << "), got " << N.rows() << "x" << N.cols();
    throw std::invalid_argument(msg.str());
  }
}

inline void require_finite(const Eigen::MatrixXd& M, const char* name) {
  if (!M.allFinite()) throw std::invalid_argument(std::string(name) + " contains NaN or inf");
}

inline void require_symmetric(const Eigen::MatrixXd& M, const char* name) {
  if (M.size() == 0) return;
  const double scale = M.cwiseAbs().maxCoeff();
  if ((M - M.transpose()).cwiseAbs().maxCoeff() > 1e-8 * scale) {
    throw std::invalid_argument(std::string(name) + " must be symmetric");
  }
}

/// |1 + h lam| < 1 written as 2 Re(lam) + h |lam|^2 < 0, which never forms 1 + h lam (for
/// small h lam that rounds to 1 and refused stable steps), with a relative margin of 1e-12
/// so that a step on the stability boundary (no stationary law) is refused, not solved.
inline bool is_stable_eigenvalue(std::complex<double> lam, double h) {
  if (h == 0.0) return lam.real() < 0.0;
  const double two_re = 2.0 * lam.real(), quad = h * std::norm(lam);
  return two_re + quad < -1e-12 * (std::abs(two_re) + quad);
}

[[noreturn]] inline void throw_unstable(std::complex<double> lam, double h) {
  std::ostringstream msg;
  msg.precision(17);
  const std::complex<double> mu = h == 0.0 ? lam : 1.0 + h * lam;
  msg << (h == 0.0 ? "eigenvalue " : "propagator eigenvalue ") << mu.real()
      << (mu.imag() < 0 ? "" : "+") << mu.imag()
      << (h == 0.0 ? "i has real part >= 0" : "i has modulus >= 1 - 1e-12 (on or too near the stability boundary)");
  throw std::invalid_argument(msg.str());
}

/// Solves A C + C A^T + h A C A^T + Q = 0 by Bartels-Stewart on the complex
/// Schur form of A (eigendecomposition when A is exactly symmetric). h = 0 is the
/// continuous Lyapunov equation; h > 0 is the stationary covariance equation of the
/// chain x' = (I + hA) x + noise(hQ), written without forming I + hA so that small h
/// loses no digits. Q is assumed symmetric; the result is symmetrised.
inline Eigen::MatrixXd shifted_lyapunov_unchecked(const Eigen::MatrixXd& A,
                                                  const Eigen::MatrixXd& Q, double h) {
  using cd = std::complex<double>;
  const Eigen::Index n = A.rows();
  if (n == 0) return Eigen::MatrixXd(0, 0);

  if ((A - A.transpose()).cwiseAbs().maxCoeff() == 0.0) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(A);
    if (eig.info() != Eigen::Success) {
      throw std::runtime_error("Lyapunov solver: symmetric eigendecomposition did not converge");
    }
    const Eigen::VectorXd& lam = eig.eigenvalues();
    const Eigen::MatrixXd& V = eig.eigenvectors();
    for (Eigen::Index i = 0; i < n; ++i) {
      if (!is_stable_eigenvalue(lam(i), h)) throw_unstable(lam(i), h);
    }
    Eigen::MatrixXd Y = V.transpose() * Q * V;
    for (Eigen::Index j = 0; j < n; ++j) {
      for (Eigen::Index i = 0; i < n; ++i) Y(i, j) /= -(lam(i) + lam(j) + h * lam(i) * lam(j));
    }
    Eigen::MatrixXd C = V * Y * V.transpose();
    return 0.5 * (C + C.transpose());
  }

  Eigen::ComplexSchur<Eigen::MatrixXd> schur(A);
  if (schur.info() != Eigen::Success) {
    throw std::runtime_error("Lyapunov solver: complex Schur decomposition did not converge");
  }
  const Eigen::MatrixXcd& T = schur.matrixT();
  const Eigen::MatrixXcd& U = schur.matrixU();
  for (Eigen::Index i = 0; i < n; ++i) {
    if (!is_stable_eigenvalue(T(i, i), h)) throw_unstable(T(i, i), h);
  }

  const Eigen::MatrixXcd F = U.adjoint() * Q.cast<cd>() * U;
  Eigen::MatrixXcd Y = Eigen::MatrixXcd::Zero(n, n);
  Eigen::VectorXcd w(n), rhs(n);
  // Column j of T Y + Y T^* + h T Y T^* + F = 0 couples only to columns k > j
  // because T^* is lower triangular; solve right to left.
  for (Eigen::Index j = n - 1; j >= 0; --j) {
    const Eigen::Index tail = n - 1 - j;
    if (tail > 0) {
      w.noalias() = Y.rightCols(tail) * T.row(j).tail(tail).adjoint();
    } else {
      w.setZero();
    }
    rhs = -F.col(j) - w;
    if (h != 0.0 && tail > 0) {
      for (Eigen::Index i = 0; i < n; ++i) {
        rhs(i) -= h * T.row(i).tail(n - i).transpose().cwiseProduct(w.tail(n - i)).sum();
      }
    }
    const cd cj = std::conj(T(j, j));
    const cd scale = 1.0 + h * cj;
    // Back-substitution with the upper-triangular (1 + h conj(t_jj)) T + conj(t_jj) I.
    for (Eigen::Index i = n - 1; i >= 0; --i) {
      cd acc = rhs(i);
      const Eigen::Index rest = n - 1 - i;
      if (rest > 0) {
        acc -= scale * T.row(i).tail(rest).transpose().cwiseProduct(Y.col(j).tail(rest)).sum();
      }
      const cd diag = T(i, i) + cj + h * T(i, i) * cj;
      Y(i, j) = acc / diag;
    }
  }
  Eigen::MatrixXd C = (U * Y * U.adjoint()).real();
  return 0.5 * (C + C.transpose());
}

}  // namespace detail

/// Solves A C + C A^T + Q = 0 for C (n x n) by Bartels-Stewart (complex Schur, O(n^3)).
/// A: n x n, stable (all eigenvalues with real part < 0), need not be symmetric.
/// Q: n x n symmetric. The stationary covariance of dx = A x dt + sqrt(2D) dW is
/// continuous_lyapunov(A, 2D). Returns the symmetrised solution.
/// Throws std::invalid_argument on shape mismatch, non-finite input, asymmetric Q
/// or unstable A.
inline Eigen::MatrixXd continuous_lyapunov(const Eigen::MatrixXd& A, const Eigen::MatrixXd& Q) {
  detail::require_square(A, "A");
  detail::require_same_shape(A, Q, "A", "Q");
  detail::require_finite(A, "A");
  detail::require_finite(Q, "Q");
  detail::require_symmetric(Q, "Q");
  try {
    return detail::shifted_lyapunov_unchecked(A, Q, 0.0);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("continuous_lyapunov: A is not stable (") +
                                e.what() + ")");
  }
}

/// Solves C = B C B^T + Q for C (n x n), the stationary covariance of the chain
/// x' = B x + noise with noise covariance Q. B: n x n, Schur-stable (spectral
/// radius < 1), need not be symmetric. Q: n x n symmetric. Returns the symmetrised
/// solution. Throws std::invalid_argument on shape mismatch, non-finite input,
/// asymmetric Q or spectral radius >= 1.
inline Eigen::MatrixXd discrete_lyapunov(const Eigen::MatrixXd& B, const Eigen::MatrixXd& Q) {
  detail::require_square(B, "B");
  detail::require_same_shape(B, Q, "B", "Q");
  detail::require_finite(B, "B");
  detail::require_finite(Q, "Q");
  detail::require_symmetric(Q, "Q");
  // C = B C B^T + Q  <=>  (B - I) C + C (B - I)^T + (B - I) C (B - I)^T + Q = 0.
  const Eigen::MatrixXd Bm = B - Eigen::MatrixXd::Identity(B.rows(), B.cols());
  try {
    return detail::shifted_lyapunov_unchecked(Bm, Q, 1.0);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(
        std::string("discrete_lyapunov: B is not Schur-stable (spectral radius >= 1; ") + e.what() +
        ")");
  }
}

/// Solves A C + C A^T + h A C A^T + Q = 0 (h >= 0). For h > 0 this is the stationary
/// covariance of the Euler-Maruyama chain x' = (I + hA) x + sqrt(h) noise(Q), e.g.
/// shifted_lyapunov(A, 2D, dt) for dx = A x dt + sqrt(2D) dW at step dt; h = 0 is
/// continuous_lyapunov. Solved without forming I + hA, so small h keeps full accuracy.
/// Throws std::invalid_argument on bad shapes, asymmetric Q, h < 0, or when the chain is
/// unstable (|1 + h lambda| >= 1 for an eigenvalue lambda of A).
inline Eigen::MatrixXd shifted_lyapunov(const Eigen::MatrixXd& A, const Eigen::MatrixXd& Q,
                                        double h) {
  detail::require_square(A, "A");
  detail::require_same_shape(A, Q, "A", "Q");
  detail::require_finite(A, "A");
  detail::require_finite(Q, "Q");
  detail::require_symmetric(Q, "Q");
  if (!(h >= 0.0) || !std::isfinite(h)) {
    throw std::invalid_argument("shifted_lyapunov: h must be finite and >= 0");
  }
  try {
    return detail::shifted_lyapunov_unchecked(A, Q, h);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("shifted_lyapunov: unstable (") + e.what() + ")");
  }
}

}  // namespace ground_truth
}  // namespace stochinfer
