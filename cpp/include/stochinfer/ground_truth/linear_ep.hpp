// SPDX-License-Identifier: MIT
#pragma once
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

#include "stochinfer/ground_truth/lyapunov.hpp"

namespace stochinfer {
namespace ground_truth {

namespace detail {

/// [13/13] Pade approximant of e^{M / 2^s} (Higham 2005) as (U, V): r = (V - U)^{-1} (V + U).
struct Pade13 {
  Eigen::MatrixXd U, V;
  int squarings = 0;
};

inline Pade13 pade13(const Eigen::MatrixXd& M) {
  static const double b[] = {64764752532480000.0, 32382376266240000.0, 7771770303897600.0,
                             1187353796428800.0,  129060195264000.0,   10559470521600.0,
                             670442572800.0,      33522128640.0,       1323241920.0,
                             40840800.0,          960960.0,            16380.0,
                             182.0,               1.0};
  const double theta13 = 5.371920351148152;
  const Eigen::Index n = M.rows();
  const double norm1 = M.cwiseAbs().colwise().sum().maxCoeff();
  Pade13 out;
  if (norm1 > theta13) out.squarings = static_cast<int>(std::ceil(std::log2(norm1 / theta13)));
  const Eigen::MatrixXd X = M / std::ldexp(1.0, out.squarings);
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(n, n);
  const Eigen::MatrixXd X2 = X * X, X4 = X2 * X2, X6 = X4 * X2;
  out.U = X * (X6 * (b[13] * X6 + b[11] * X4 + b[9] * X2) + b[7] * X6 + b[5] * X4 + b[3] * X2 +
               b[1] * I);
  out.V = X6 * (b[12] * X6 + b[10] * X4 + b[8] * X2) + b[6] * X6 + b[4] * X4 + b[2] * X2 +
          b[0] * I;
  return out;
}

}  // namespace detail

/// Matrix exponential e^M (M square), scaling and squaring with the [13/13] Pade
/// approximant (Higham 2005).
inline Eigen::MatrixXd expm(const Eigen::MatrixXd& M) {
  detail::require_square(M, "M");
  detail::require_finite(M, "M");
  if (M.rows() == 0) return Eigen::MatrixXd(0, 0);
  const detail::Pade13 p = detail::pade13(M);
  Eigen::MatrixXd R = (p.V - p.U).partialPivLu().solve(p.V + p.U);
  for (int i = 0; i < p.squarings; ++i) R = R * R;
  return R;
}

/// e^M - I for a square matrix M (same method as expm). Computed without forming e^M, so
/// it keeps full relative accuracy when ||M|| is small (a one-step propagator minus I).
inline Eigen::MatrixXd expm_minus_identity(const Eigen::MatrixXd& M) {
  detail::require_square(M, "M");
  detail::require_finite(M, "M");
  if (M.rows() == 0) return Eigen::MatrixXd(0, 0);
  const detail::Pade13 p = detail::pade13(M);
  // r - I = 2 (V - U)^{-1} U, and (R + I)^2 - I = R R + 2 R.
  Eigen::MatrixXd R = (p.V - p.U).partialPivLu().solve(2.0 * p.U);
  for (int i = 0; i < p.squarings; ++i) R = R * R + 2.0 * R;
  return R;
}

/// How snapshots Delta t apart are produced from dx = A x dt + sqrt(2D) dW.
struct SnapshotSpec {
  enum Kind {
    exact,           ///< exact OU transition density
    euler_maruyama,  ///< `substeps` Euler-Maruyama steps of dt/substeps per snapshot
    heun,            ///< `substeps` stochastic Heun (predictor-corrector) steps per snapshot
  };
  Kind kind = exact;
  int substeps = 1;  ///< used for euler_maruyama and heun; >= 1
};

/// The sampled chain x_{k+1} = E x_k + xi_k, xi_k ~ N(0, Q), with stationary covariance C_s.
struct SampledChain {
  Eigen::MatrixXd propagator;                 ///< E (d x d)
  Eigen::MatrixXd propagator_minus_identity;  ///< E - I, computed without cancellation
  Eigen::MatrixXd noise_covariance;           ///< Q = C_s - E C_s E^T (d x d)
  Eigen::MatrixXd covariance;                 ///< C_s (d x d)
};

namespace detail {

inline void check_drift_diffusion(const Eigen::MatrixXd& A, const Eigen::MatrixXd& D,
                                  const char* fn) {
  try {
    require_square(A, "A");
    if (A.rows() == 0) throw std::invalid_argument("A must not be empty");
    require_same_shape(A, D, "A", "D");
    require_finite(A, "A");
    require_finite(D, "D");
    require_symmetric(D, "D");
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string(fn) + ": " + e.what());
  }
}

inline Eigen::LLT<Eigen::MatrixXd> spd_factor(const Eigen::MatrixXd& M, const char* fn,
                                              const char* name) {
  Eigen::LLT<Eigen::MatrixXd> llt(M);
  if (llt.info() != Eigen::Success) {
    throw std::invalid_argument(std::string(fn) + ": " + name +
                                " must be symmetric positive definite");
  }
  return llt;
}

inline Eigen::MatrixXd stationary_covariance_checked(const Eigen::MatrixXd& A,
                                                     const Eigen::MatrixXd& D, const char* fn) {
  try {
    return shifted_lyapunov_unchecked(A, 2.0 * D, 0.0);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string(fn) + ": A is not stable (" + e.what() + ")");
  }
}

inline void check_snapshot(double dt, const SnapshotSpec& spec, const char* fn) {
  if (!(dt > 0.0) || !std::isfinite(dt)) {
    throw std::invalid_argument(std::string(fn) + ": dt must be finite and > 0");
  }
  if (spec.kind != SnapshotSpec::exact && spec.kind != SnapshotSpec::euler_maruyama &&
      spec.kind != SnapshotSpec::heun) {
    throw std::invalid_argument(std::string(fn) + ": unknown snapshot kind");
  }
  if (spec.kind != SnapshotSpec::exact && spec.substeps < 1) {
    throw std::invalid_argument(std::string(fn) + ": substeps must be >= 1");
  }
}

}  // namespace detail

/// Stationary covariance C (d x d) of dx = A x dt + sqrt(2D) dW: A C + C A^T + 2D = 0.
/// A: d x d stable drift matrix (1/time); D: d x d symmetric diffusion matrix
/// (length^2/time). Throws std::invalid_argument on bad shapes or unstable A.
inline Eigen::MatrixXd stationary_covariance(const Eigen::MatrixXd& A, const Eigen::MatrixXd& D) {
  detail::check_drift_diffusion(A, D, "stationary_covariance");
  return detail::stationary_covariance_checked(A, D, "stationary_covariance");
}

/// Steady-state entropy production rate sigma = tr[Omega^T D^{-1} Omega C]
/// (k_B per unit time), Omega = A + D C^{-1}, of dx = A x dt + sqrt(2D) dW.
/// A: d x d stable; D: d x d symmetric positive definite.
inline double ep_rate(const Eigen::MatrixXd& A, const Eigen::MatrixXd& D) {
  detail::check_drift_diffusion(A, D, "ep_rate");
  const auto llt_d = detail::spd_factor(D, "ep_rate", "D");
  const Eigen::MatrixXd C = detail::stationary_covariance_checked(A, D, "ep_rate");
  const auto llt_c = detail::spd_factor(C, "ep_rate", "stationary covariance");
  // G = Omega C = A C + D (antisymmetric); Omega = G C^{-1} = (C^{-1} G^T)^T and
  // sigma = tr[Omega^T D^{-1} G] = sum_ij Omega_ij (D^{-1} G)_ij.
  const Eigen::MatrixXd G = A * C + D;
  const Eigen::MatrixXd Omega = llt_c.solve(G.transpose()).transpose();
  const Eigen::MatrixXd DinvG = llt_d.solve(G);
  return (Omega.array() * DinvG.array()).sum();
}

/// The chain sampled every dt from dx = A x dt + sqrt(2D) dW: propagator E, noise
/// covariance Q and stationary covariance C_s (all d x d). Exact sampling: E = e^{A dt},
/// Q = int_0^dt e^{As} 2D e^{A^T s} ds (Van Loan), C_s = C. Euler-Maruyama with n
/// substeps of h = dt/n: B = I + hA, E = B^n, Q = sum_{j<n} B^j (2Dh) B^{jT},
/// C_s = B C_s B^T + 2Dh (equivalently C_s = E C_s E^T + Q). Stochastic Heun (additive
/// noise, linear drift): B = I + hA + h²A²/2 and one substep's noise covariance
/// G (2Dh) G^T with G = I + hA/2; otherwise as Euler-Maruyama.
/// Throws std::invalid_argument on bad input, unstable A, or an unstable EM step; fn names
/// the caller in error messages.
inline SampledChain sampled_chain(const Eigen::MatrixXd& A, const Eigen::MatrixXd& D, double dt,
                                  const SnapshotSpec& spec, const char* fn = "sampled_chain") {
  detail::check_drift_diffusion(A, D, fn);
  detail::check_snapshot(dt, spec, fn);
  const Eigen::Index d = A.rows();
  // One step as (E, E - I, Q); steps compose exactly, and E - I is carried separately so
  // that neither small nor large dt loses digits to cancellation.
  struct Step {
    Eigen::MatrixXd E, P, Q;
  };
  auto then = [](const Step& a, const Step& b) {  // a, then b
    Step c;
    c.E = b.E * a.E;
    c.P = a.P + b.P + b.P * a.P;
    const Eigen::MatrixXd EbQa = b.E * a.Q;
    c.Q = EbQa * b.E.transpose() + b.Q;
    c.Q = 0.5 * (c.Q + c.Q.transpose());
    return c;
  };
  Step base;
  std::int64_t count = 1;
  SampledChain out;
  if (spec.kind == SnapshotSpec::exact) {
    out.covariance = detail::stationary_covariance_checked(A, D, fn);
    // Van Loan's block exponential is accurate only for ||A h|| small: halve until it is.
    const double norm1 = (A * dt).cwiseAbs().colwise().sum().maxCoeff();
    int halvings = 0;
    while (halvings < 60 && norm1 / std::ldexp(1.0, halvings) > 0.5) ++halvings;
    const double h = dt / std::ldexp(1.0, halvings);
    count = std::int64_t{1} << halvings;
    base.E = expm(A * h);
    base.P = expm_minus_identity(A * h);
    Eigen::MatrixXd M = Eigen::MatrixXd::Zero(2 * d, 2 * d);
    M.topLeftCorner(d, d) = -A * h;
    M.topRightCorner(d, d) = 2.0 * D * h;
    M.bottomRightCorner(d, d) = A.transpose() * h;
    const Eigen::MatrixXd F = expm(M);
    // int_0^h e^{As} 2D e^{A^T s} ds = F22^T F12.
    base.Q = F.bottomRightCorner(d, d).transpose() * F.topRightCorner(d, d);
    base.Q = 0.5 * (base.Q + base.Q.transpose());
  } else {
    // one substep x' = (I + hM) x + noise of covariance h N, with M = A and N = 2D for
    // Euler-Maruyama; the stationary covariance solves M C + C M^T + h M C M^T + N = 0,
    // which never forms I + hM (small h loses no digits)
    const double h = dt / spec.substeps;
    Eigen::MatrixXd M = A, N = 2.0 * D;
    if (spec.kind == SnapshotSpec::heun) {  // predictor-corrector on a linear drift
      M.noalias() += (0.5 * h) * (A * A);
      Eigen::MatrixXd G = (0.5 * h) * A;
      G.diagonal().array() += 1.0;
      N = G * (2.0 * D) * G.transpose();
      N = 0.5 * (N + N.transpose());
    }
    try {
      out.covariance = detail::shifted_lyapunov_unchecked(M, N, h);
    } catch (const std::invalid_argument& e) {
      std::ostringstream msg;
      msg.precision(6);
      msg << fn << ": " << (spec.kind == SnapshotSpec::heun ? "Heun" : "Euler-Maruyama") << " step " << h
          << " is unstable for this A (" << e.what() << ")";
      throw std::invalid_argument(msg.str());
    }
    count = spec.substeps;
    base.P = M * h;
    base.E = base.P;
    base.E.diagonal().array() += 1.0;
    base.Q = N * h;
  }
  // Binary powering: count copies of the base step.
  Step acc{Eigen::MatrixXd::Identity(d, d), Eigen::MatrixXd::Zero(d, d),
           Eigen::MatrixXd::Zero(d, d)};
  for (std::int64_t m = count; m > 0; m >>= 1) {
    if (m & 1) acc = then(acc, base);
    if (m > 1) base = then(base, base);
  }
  out.propagator = acc.E;
  out.propagator_minus_identity = acc.P;
  out.noise_covariance = acc.Q;
  return out;
}

/// One-step propagator E (d x d) of the chain sampled every dt (see sampled_chain).
inline Eigen::MatrixXd one_step_propagator(const Eigen::MatrixXd& A, const Eigen::MatrixXd& D,
                                           double dt, const SnapshotSpec& spec) {
  return sampled_chain(A, D, dt, spec, "one_step_propagator").propagator;
}

/// Stationary covariance C_s (d x d) of the chain sampled every dt (see sampled_chain):
/// C for exact sampling, the Euler-Maruyama chain's own covariance otherwise.
inline Eigen::MatrixXd sampled_covariance(const Eigen::MatrixXd& A, const Eigen::MatrixXd& D,
                                          double dt, const SnapshotSpec& spec) {
  const char* fn = "sampled_covariance";
  detail::check_drift_diffusion(A, D, fn);
  detail::check_snapshot(dt, spec, fn);
  if (spec.kind == SnapshotSpec::exact) return detail::stationary_covariance_checked(A, D, fn);
  return sampled_chain(A, D, dt, spec, fn).covariance;
}

/// Snapshot EP rate sigma_dt (k_B per unit time): KL divergence per dt between the
/// stationary forward and time-reversed pair densities of the sampled chain,
/// [tr(Sigma_r^{-1} Sigma_f)/2 - d]/dt with Sigma_f = [[C_s, C_s E^T], [E C_s, C_s]]
/// (methods.md §5.0). This is what an estimator fed pairs dt apart converges to.
/// D must be symmetric positive definite.
inline double snapshot_ep_rate(const Eigen::MatrixXd& A, const Eigen::MatrixXd& D, double dt,
                               const SnapshotSpec& spec) {
  const char* fn = "snapshot_ep_rate";
  detail::check_drift_diffusion(A, D, fn);
  detail::check_snapshot(dt, spec, fn);
  detail::spd_factor(D, fn, "D");
  const SampledChain ch = sampled_chain(A, D, dt, spec, fn);
  // With x' = E x + xi, xi ~ N(0, Q), the block formula reduces exactly to
  // KL = tr[Q^{-1} K E^T], K = E C_s - C_s E^T. As tr[Q^{-1} K] = 0 (K antisymmetric), E may
  // be replaced by E - I; for small dt that form has only O(dt) factors and no cancellation.
  const Eigen::MatrixXd& Em = ch.propagator_minus_identity;
  const bool small_step = Em.cwiseAbs().colwise().sum().maxCoeff() < 0.5;
  const Eigen::MatrixXd& F = small_step ? Em : ch.propagator;
  const Eigen::MatrixXd FC = F * ch.covariance;
  const Eigen::MatrixXd K = FC - FC.transpose();
  const auto llt_q = detail::spd_factor(ch.noise_covariance, fn, "step noise covariance");
  const Eigen::MatrixXd QinvK = llt_q.solve(K);
  return (QinvK.array() * F.array()).sum() / dt;
}

/// Stochastic EP (k_B) of each transition x -> x' of dx = A x dt + sqrt(2D) dW, mid-point
/// form: Delta S = [x'^T C^{-1} x' - x^T C^{-1} x]/2 + (A xbar)^T D^{-1} (x' - x),
/// xbar = (x + x')/2. x, x_next, out: n rows of d = A.rows() doubles, row-major (n x d
/// arrays; out has n entries). C: the stationary covariance used for the system term
/// (C or C_s). D symmetric positive definite, C symmetric positive definite.
inline void transition_entropy(const Eigen::MatrixXd& A, const Eigen::MatrixXd& D,
                               const Eigen::MatrixXd& C, const double* x, const double* x_next,
                               std::int64_t n, double* out) {
  const char* fn = "transition_entropy";
  detail::check_drift_diffusion(A, D, fn);
  try {
    detail::require_same_shape(A, C, "A", "C");
    detail::require_finite(C, "C");
    detail::require_symmetric(C, "C");
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string(fn) + ": " + e.what());
  }
  if (n < 0) throw std::invalid_argument(std::string(fn) + ": n must be >= 0");
  if (n > 0 && (x == nullptr || x_next == nullptr || out == nullptr)) {
    throw std::invalid_argument(std::string(fn) + ": null data pointer");
  }
  const Eigen::Index d = A.rows();
  const auto llt_d = detail::spd_factor(D, fn, "D");
  const auto llt_c = detail::spd_factor(C, fn, "C");
  // Delta S = (x' - x)^T M xbar with M = C^{-1} + D^{-1} A (= D^{-1} Omega when C is exact).
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> Mt =
      (llt_c.solve(Eigen::MatrixXd::Identity(d, d)) + llt_d.solve(A)).transpose();
  using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ConstMap = Eigen::Map<const RowMat>;
  if (d <= 8) {  // plain loops beat blocked products for the usual small d
    const double* m = Mt.data();  // M^T, row-major
    double xb[8];
    for (std::int64_t r = 0; r < n; ++r) {
      const double* a = x + r * d;
      const double* b = x_next + r * d;
      for (Eigen::Index j = 0; j < d; ++j) xb[j] = 0.5 * (a[j] + b[j]);
      double s = 0.0;
      for (Eigen::Index j = 0; j < d; ++j) {
        double y = 0.0;
        for (Eigen::Index i = 0; i < d; ++i) y += xb[i] * m[i * d + j];
        s += y * (b[j] - a[j]);
      }
      out[r] = s;
    }
    return;
  }
  const std::int64_t chunk = 4096;
  RowMat xbar, dx, y;
  for (std::int64_t start = 0; start < n; start += chunk) {
    const Eigen::Index rows = static_cast<Eigen::Index>(std::min(chunk, n - start));
    const ConstMap X(x + start * d, rows, d), Xn(x_next + start * d, rows, d);
    xbar = 0.5 * (X + Xn);
    dx = Xn - X;
    y.noalias() = xbar * Mt;
    Eigen::Map<Eigen::VectorXd>(out + start, rows) = (y.array() * dx.array()).rowwise().sum();
  }
}

/// Eigen convenience overload: x and x_next are n x d; returns n values (k_B).
inline Eigen::VectorXd transition_entropy(const Eigen::MatrixXd& A, const Eigen::MatrixXd& D,
                                          const Eigen::MatrixXd& C, const Eigen::MatrixXd& x,
                                          const Eigen::MatrixXd& x_next) {
  if (x.cols() != A.rows() || x_next.rows() != x.rows() || x_next.cols() != x.cols()) {
    throw std::invalid_argument("transition_entropy: x and x_next must both be n x d with d = " +
                                std::to_string(A.rows()));
  }
  using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const RowMat xr = x, xnr = x_next;
  Eigen::VectorXd out(x.rows());
  transition_entropy(A, D, C, xr.data(), xnr.data(), static_cast<std::int64_t>(x.rows()),
                     out.data());
  return out;
}

}  // namespace ground_truth
}  // namespace stochinfer
