// SPDX-License-Identifier: MIT
// Standalone checks of the analytic ground truth against methods.md §5 and §6 (H5, H8, H9).
// Build: g++ -std=c++17 -O2 -Icpp/include -I<eigen3> tests/cpp/test_ground_truth.cpp
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "stochinfer/ground_truth/bead_spring.hpp"
#include "stochinfer/ground_truth/carnot.hpp"
#include "stochinfer/ground_truth/linear_ep.hpp"
#include "stochinfer/ground_truth/motion_blur.hpp"
#include "stochinfer/ground_truth/lyapunov.hpp"
#include "stochinfer/ground_truth/ratchet.hpp"

namespace gt = stochinfer::ground_truth;
using Eigen::MatrixXd;
using Eigen::VectorXd;

static int g_passed = 0, g_failed = 0;

#define CHECK(cond, ...)                                            \
  do {                                                              \
    if (cond) {                                                     \
      ++g_passed;                                                   \
    } else {                                                        \
      ++g_failed;                                                   \
      std::printf("FAIL %s:%d: %s | ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                     \
      std::printf("\n");                                            \
    }                                                               \
  } while (0)

// value rounds to the printed table entry (as many decimals as printed).
static void check_printed(const char* what, double value, const char* printed) {
  const char* dot = std::strchr(printed, '.');
  const int decimals = dot ? static_cast<int>(std::strlen(dot + 1)) : 0;
  const double target = std::strtod(printed, nullptr);
  const double tol = 0.5 * std::pow(10.0, -decimals) * (1.0 + 1e-9);
  CHECK(std::abs(value - target) <= tol, "%s = %.10f, table %s", what, value, printed);
}

static void check_throws(const char* what, const std::function<void()>& f) {
  bool thrown = false;
  try {
    f();
  } catch (const std::invalid_argument&) {
    thrown = true;
  } catch (...) {
  }
  CHECK(thrown, "%s did not throw std::invalid_argument", what);
}

static MatrixXd random_matrix(std::mt19937_64& rng, int n) {
  std::normal_distribution<double> nd;
  MatrixXd M(n, n);
  for (Eigen::Index i = 0; i < M.size(); ++i) M.data()[i] = nd(rng);
  return M;
}

static double spectral_abscissa(const MatrixXd& A) {
  return Eigen::EigenSolver<MatrixXd>(A).eigenvalues().real().maxCoeff();
}

static double spectral_radius(const MatrixXd& A) {
  return Eigen::EigenSolver<MatrixXd>(A).eigenvalues().cwiseAbs().maxCoeff();
}

// sigma_dt straight from the block formula of methods.md §5.0.
static double block_formula(const MatrixXd& E, const MatrixXd& Cs, double dt) {
  const Eigen::Index d = E.rows();
  MatrixXd Sf(2 * d, 2 * d), Sr(2 * d, 2 * d);
  Sf << Cs, Cs * E.transpose(), E * Cs, Cs;
  Sr << Cs, E * Cs, Cs * E.transpose(), Cs;
  return (0.5 * Sr.ldlt().solve(Sf).trace() - d) / dt;
}

static const gt::SnapshotSpec kExact{gt::SnapshotSpec::exact, 1};
static const gt::SnapshotSpec kEM1{gt::SnapshotSpec::euler_maruyama, 1};
static const gt::SnapshotSpec kEM10{gt::SnapshotSpec::euler_maruyama, 10};

static void test_lyapunov_random() {
  std::mt19937_64 rng(20240611);
  for (int n : {3, 17, 64, 128}) {
    const MatrixXd G = random_matrix(rng, n);
    MatrixXd A = G / std::sqrt(n);
    A.diagonal().array() -= spectral_abscissa(A) + 0.3;
    const MatrixXd R = random_matrix(rng, n);
    const MatrixXd Q = R * R.transpose() / n;

    const MatrixXd C = gt::continuous_lyapunov(A, Q);
    const double rc = (A * C + C * A.transpose() + Q).norm() / (2 * A.norm() * C.norm() + Q.norm());
    CHECK(rc < 1e-13, "n=%d continuous residual %.3e", n, rc);
    CHECK((C - C.transpose()).norm() == 0.0, "n=%d continuous result not symmetric", n);

    const double h = 0.05;
    const MatrixXd Cs = gt::shifted_lyapunov(A, Q, h);
    const double rs = (A * Cs + Cs * A.transpose() + h * A * Cs * A.transpose() + Q).norm() /
                      (2 * A.norm() * Cs.norm() + h * A.norm() * A.norm() * Cs.norm() + Q.norm());
    CHECK(rs < 1e-13, "n=%d shifted residual %.3e", n, rs);

    const MatrixXd B = G / (1.25 * spectral_radius(G));
    const MatrixXd Cd = gt::discrete_lyapunov(B, Q);
    const double rd = (B * Cd * B.transpose() + Q - Cd).norm() / (Cd.norm() + Q.norm());
    CHECK(rd < 1e-13, "n=%d discrete residual %.3e", n, rd);

    // The shifted equation at step h is the discrete one for B = I + hA, noise hQ.
    const MatrixXd Bh = MatrixXd::Identity(n, n) + h * A;
    const MatrixXd Cd2 = gt::discrete_lyapunov(Bh, h * Q);
    CHECK((Cd2 - Cs).norm() <= 1e-10 * Cs.norm(), "n=%d shifted vs discrete %.3e", n,
          (Cd2 - Cs).norm() / Cs.norm());

    // Symmetric A takes the eigendecomposition path; a 1e-15 asymmetry forces Schur.
    const MatrixXd S = -(G * G.transpose() / n + MatrixXd::Identity(n, n));
    MatrixXd Sp = S;
    Sp(0, n - 1) += 1e-15;
    const MatrixXd Csym = gt::continuous_lyapunov(S, Q), Cschur = gt::continuous_lyapunov(Sp, Q);
    CHECK((Csym - Cschur).norm() <= 1e-12 * Csym.norm(), "n=%d symmetric vs Schur path %.3e", n,
          (Csym - Cschur).norm() / Csym.norm());
  }
}

static void test_expm() {
  const double th = 0.7;
  MatrixXd M(2, 2);
  M << 0, -th, th, 0;
  MatrixXd Rot(2, 2);
  Rot << std::cos(th), -std::sin(th), std::sin(th), std::cos(th);
  CHECK((gt::expm(M) - Rot).norm() < 1e-15, "rotation error %.3e", (gt::expm(M) - Rot).norm());
  M *= 30.0;  // forces scaling and squaring
  Rot << std::cos(30 * th), -std::sin(30 * th), std::sin(30 * th), std::cos(30 * th);
  CHECK((gt::expm(M) - Rot).norm() < 1e-13, "scaled rotation error %.3e",
        (gt::expm(M) - Rot).norm());

  std::mt19937_64 rng(7);
  const MatrixXd G = random_matrix(rng, 12);
  const MatrixXd S = 0.5 * (G + G.transpose());
  Eigen::SelfAdjointEigenSolver<MatrixXd> eig(S);
  const MatrixXd ref = eig.eigenvectors() * eig.eigenvalues().array().exp().matrix().asDiagonal() *
                       eig.eigenvectors().transpose();
  CHECK((gt::expm(S) - ref).norm() < 1e-12 * ref.norm(), "symmetric expm rel error %.3e",
        (gt::expm(S) - ref).norm() / ref.norm());

  // Strongly decaying (e^M ~ 1e-63): relative accuracy against the eigendecomposition.
  MatrixXd Md(2, 2);
  Md << -169.16026587027557, -100.95783556580341, 102.3134882280913, -119.51417101908986;
  Eigen::EigenSolver<MatrixXd> es(Md);
  const Eigen::MatrixXcd Vc = es.eigenvectors();
  const MatrixXd refd =
      (Vc * es.eigenvalues().array().exp().matrix().asDiagonal() * Vc.inverse()).real();
  CHECK((gt::expm(Md) - refd).norm() < 1e-11 * refd.norm(), "decaying expm rel error %.3e",
        (gt::expm(Md) - refd).norm() / refd.norm());

  // e^M - I for tiny M keeps relative accuracy: compare with the Taylor series.
  const MatrixXd small = 1e-9 * G;
  const MatrixXd taylor = small + 0.5 * small * small;
  CHECK((gt::expm_minus_identity(small) - taylor).norm() < 1e-14 * taylor.norm(),
        "expm_minus_identity rel error %.3e",
        (gt::expm_minus_identity(small) - taylor).norm() / taylor.norm());
}

static void test_bead_spring_tables() {
  const char* n2[] = {"2.025",   "0.8",     "0.40833", "0.225",  "0.125",
                      "0.06667", "0.03214", "0.0125",  "0.00278"};
  const char* n5[] = {"0.62982", "0.25434", "0.13156", "0.07311", "0.04084",
                      "0.02186", "0.01056", "0.00411", "0.00091"};
  for (int tc = 1; tc <= 9; ++tc) {
    const double s2 = gt::bead_spring_ep_rate(2, tc, 10.0);
    const double s5 = gt::bead_spring_ep_rate(5, tc, 10.0);
    const double c2 = gt::bead_spring_ep_rate_n2(tc, 10.0);
    const double c5 = gt::bead_spring_ep_rate_n5(tc, 10.0);
    const std::string tag = "T_c=" + std::to_string(tc);
    check_printed(("sigma N=2 Lyapunov " + tag).c_str(), s2, n2[tc - 1]);
    check_printed(("sigma N=2 closed form " + tag).c_str(), c2, n2[tc - 1]);
    check_printed(("sigma N=5 Lyapunov " + tag).c_str(), s5, n5[tc - 1]);
    check_printed(("sigma N=5 closed form " + tag).c_str(), c5, n5[tc - 1]);
    CHECK(std::abs(s2 - c2) < 1e-13 * c2, "N=2 %s Lyapunov %.16g vs closed %.16g", tag.c_str(),
          s2, c2);
    CHECK(std::abs(s5 - c5) < 1e-12 * c5, "N=5 %s Lyapunov %.16g vs closed %.16g", tag.c_str(),
          s5, c5);
  }
  // Non-unit k and gamma enter the closed forms as k/gamma.
  CHECK(std::abs(gt::bead_spring_ep_rate(5, 2.0, 7.0, 1.7, 0.6) -
                 gt::bead_spring_ep_rate_n5(2.0, 7.0, 1.7, 0.6)) < 1e-12,
        "N=5 closed form with k, gamma");

  // N = 2 covariance closed form; bead std 1.19 and 2.43 at T = (1, 10).
  for (double k : {1.0, 2.5}) {
    for (auto t : {std::pair<double, double>{1.0, 10.0}, {3.0, 4.0}, {6.0, 0.5}}) {
      const VectorXd temps = (VectorXd(2) << t.first, t.second).finished();
      const MatrixXd C = gt::stationary_covariance(gt::bead_spring_drift_matrix(2, k, 1.3),
                                                   gt::bead_spring_diffusion(temps, 1.3));
      const MatrixXd ref = gt::bead_spring_covariance_n2(t.first, t.second, k);
      CHECK((C - ref).norm() < 1e-13 * ref.norm(), "N=2 covariance error %.3e", (C - ref).norm());
    }
  }
  const MatrixXd C2 = gt::bead_spring_covariance_n2(1.0, 10.0);
  check_printed("N=2 bead 1 std", std::sqrt(C2(0, 0)), "1.19");
  check_printed("N=2 bead 2 std", std::sqrt(C2(1, 1)), "2.43");
}

static void test_high_dim() {
  const int ns[] = {8, 16, 32, 48, 64, 80, 128};
  const char* ours[] = {"0.4169974", "0.2076789", "0.1035820", "0.0689877",
                        "0.0517137", "0.0413573", "0.0258349"};
  const char* reference[] = {"0.416997", "0.20768", "0.10358", "0.06899",
                             "0.05171",  "0.04136", "0.02583"};
  for (int i = 0; i < 7; ++i) {
    const int n = ns[i];
    const double t1 = gt::high_dim_cold_temperature(n, 10.0, 1.0);
    check_printed(("T_1 N=" + std::to_string(n)).c_str(), t1, ours[i]);
    check_printed(("T_1 (reference rounding) N=" + std::to_string(n)).c_str(), t1, reference[i]);
    const MatrixXd A = gt::bead_spring_drift_matrix(n);
    const MatrixXd D = gt::bead_spring_diffusion(gt::linear_temperature_profile(n, t1, 10.0));
    const double sigma = gt::ep_rate(A, D);
    CHECK(std::abs(sigma - 1.0) < 1e-12, "N=%d sigma at root %.16g", n, sigma);
    const double s_ref = gt::bead_spring_ep_rate(n, std::strtod(reference[i], nullptr), 10.0);
    CHECK(std::abs(s_ref - 1.0) <= 2e-4, "N=%d sigma at rounded reference T_1 = %.6f", n, s_ref);

    // H9 high-dim row: ranges over N = 8 ... 128, printed to 4 decimals.
    const double ex = gt::snapshot_ep_rate(A, D, 0.01, kExact);
    const double em1 = gt::snapshot_ep_rate(A, D, 0.01, kEM1);
    const double em10 = gt::snapshot_ep_rate(A, D, 0.01, kEM10);
    CHECK(std::round(ex * 1e4) >= 9844 && std::round(ex * 1e4) <= 9849,
          "N=%d exact sigma_dt %.6f outside 0.9844-0.9849", n, ex);
    CHECK(std::round(em1 * 1e4) >= 10067 && std::round(em1 * 1e4) <= 10068,
          "N=%d EM sigma_dt %.6f outside 1.0067-1.0068", n, em1);
    if (n == 8) {
      // methods.md prints 0.9866-0.9870; N = 8 gives 0.986547 (0.9865 at 4 decimals, 0.9866
      // only via double rounding 0.98655 -> 0.9866). Pinned to our value; see the report.
      check_printed("EM10 sigma_dt N=8", em10, "0.986547");
    } else {
      CHECK(std::round(em10 * 1e4) >= 9866 && std::round(em10 * 1e4) <= 9870,
            "N=%d EM10 sigma_dt %.6f outside 0.9866-0.9870", n, em10);
    }
  }
}

static void test_h9_and_snapshot() {
  struct Row {
    int n;
    double tc;
    const char *sigma, *exact, *em1, *em10;
  };
  const Row rows[] = {{2, 1.0, "2.02500", "1.98464", "2.04030", "1.99006"},
                      {5, 1.0, "0.62982", "0.61975", "0.63419", "0.62116"},
                      {2, 5.0, "0.12500", "0.12252", "0.12594", "0.12285"}};
  for (const Row& r : rows) {
    const MatrixXd A = gt::bead_spring_drift_matrix(r.n);
    const MatrixXd D = gt::bead_spring_diffusion(gt::linear_temperature_profile(r.n, r.tc, 10.0));
    const std::string tag = "N=" + std::to_string(r.n) + " T_c=" + std::to_string(int(r.tc));
    check_printed(("H9 sigma " + tag).c_str(), gt::ep_rate(A, D), r.sigma);
    check_printed(("H9 exact " + tag).c_str(), gt::snapshot_ep_rate(A, D, 0.01, kExact), r.exact);
    check_printed(("H9 EM " + tag).c_str(), gt::snapshot_ep_rate(A, D, 0.01, kEM1), r.em1);
    check_printed(("H9 EM10 " + tag).c_str(), gt::snapshot_ep_rate(A, D, 0.01, kEM10), r.em10);
  }

  const MatrixXd A2 = gt::bead_spring_drift_matrix(2);
  const MatrixXd D2 = gt::bead_spring_diffusion(gt::linear_temperature_profile(2, 1.0, 10.0));
  // H8 and H5.
  check_printed("H8 sigma_dt EM", gt::snapshot_ep_rate(A2, D2, 0.01, kEM1), "2.0403");
  check_printed("H5 loss sigma", 1.0 - 0.01 * gt::ep_rate(A2, D2), "0.97975");
  check_printed("H5 loss EM", 1.0 - 0.01 * gt::snapshot_ep_rate(A2, D2, 0.01, kEM1), "0.97960");
  check_printed("H5 loss exact", 1.0 - 0.01 * gt::snapshot_ep_rate(A2, D2, 0.01, kExact),
                "0.98015");
  // Offset linear in dt (N = 2, exact): -0.60% at 0.003, -0.20% at 0.001.
  const double s2 = gt::ep_rate(A2, D2);
  check_printed("offset % dt=0.003",
                100.0 * (gt::snapshot_ep_rate(A2, D2, 0.003, kExact) / s2 - 1.0), "-0.60");
  check_printed("offset % dt=0.001",
                100.0 * (gt::snapshot_ep_rate(A2, D2, 0.001, kExact) / s2 - 1.0), "-0.20");
  // sigma_dt -> sigma as dt -> 0 for both schemes.
  CHECK(std::abs(gt::snapshot_ep_rate(A2, D2, 1e-6, kExact) / s2 - 1.0) < 1e-5, "exact dt->0");
  CHECK(std::abs(gt::snapshot_ep_rate(A2, D2, 1e-6, kEM1) / s2 - 1.0) < 1e-5, "EM dt->0");

  // Internal consistency on a random non-symmetric system with a full SPD D.
  std::mt19937_64 rng(99);
  for (int d : {2, 5, 9}) {
    MatrixXd A = random_matrix(rng, d);
    A.diagonal().array() -= spectral_abscissa(A) + 0.5;
    const MatrixXd R = random_matrix(rng, d);
    const MatrixXd D = R * R.transpose() / d + 0.2 * MatrixXd::Identity(d, d);
    const gt::SnapshotSpec em37{gt::SnapshotSpec::euler_maruyama, 37};
    struct Case {
      double dt;
      gt::SnapshotSpec spec;
    };
    // dt = 3 exercises the large-step paths (halving + squaring, E-form of the KL).
    for (const Case& cs : {Case{0.05, kExact}, Case{0.05, kEM1}, Case{0.05, kEM10},
                           Case{0.05, em37}, Case{3.0, kExact}, Case{3.0, em37}}) {
      const double dt = cs.dt;
      const gt::SnapshotSpec& spec = cs.spec;
      const gt::SampledChain ch = gt::sampled_chain(A, D, dt, spec);
      const MatrixXd& E = ch.propagator;
      const MatrixXd& Cs = ch.covariance;
      const double scale = Cs.norm();
      CHECK((Cs - E * Cs * E.transpose() - ch.noise_covariance).norm() < 1e-13 * scale,
            "d=%d kind=%d sub=%d: C_s != E C_s E^T + Q (%.3e)", d, int(spec.kind), spec.substeps,
            (Cs - E * Cs * E.transpose() - ch.noise_covariance).norm() / scale);
      const double s_fast = gt::snapshot_ep_rate(A, D, dt, spec);
      const double s_block = block_formula(E, Cs, dt);
      CHECK(std::abs(s_fast - s_block) < 1e-9 * (1.0 + std::abs(s_block)),
            "d=%d dt=%g kind=%d sub=%d: sigma_dt %.15g vs block formula %.15g", d, dt,
            int(spec.kind), spec.substeps, s_fast, s_block);
      CHECK(s_fast > 0.0, "sigma_dt must be positive for a random non-equilibrium system");
      CHECK((gt::one_step_propagator(A, D, dt, spec) - E).norm() < 1e-14 * E.norm(), "propagator");
      CHECK((gt::sampled_covariance(A, D, dt, spec) - Cs).norm() < 1e-14 * scale, "sampled cov");
      if (spec.kind == gt::SnapshotSpec::euler_maruyama) {
        const double h = dt / spec.substeps;
        const MatrixXd B = MatrixXd::Identity(d, d) + h * A;
        MatrixXd Bn = MatrixXd::Identity(d, d), Qn = MatrixXd::Zero(d, d);
        for (int j = 0; j < spec.substeps; ++j) {
          Qn += Bn * (2.0 * h * D) * Bn.transpose();
          Bn = B * Bn;
        }
        CHECK((E - Bn).norm() < 1e-13 * Bn.norm(), "EM propagator vs B^n");
        CHECK((ch.noise_covariance - Qn).norm() < 1e-13 * Qn.norm(), "EM noise vs sum");
        const MatrixXd Cd = gt::discrete_lyapunov(B, 2.0 * h * D);
        CHECK((Cs - Cd).norm() < 1e-10 * scale, "EM C_s vs discrete Lyapunov %.3e",
              (Cs - Cd).norm() / scale);
      } else {
        CHECK((Cs - gt::stationary_covariance(A, D)).norm() < 1e-14 * scale, "exact C_s = C");
        CHECK((E - gt::expm(A * dt)).norm() < 1e-14 * (1.0 + E.norm()), "exact propagator %.3e",
              (E - gt::expm(A * dt)).norm());
      }
    }
  }
}

static void test_transition_entropy_linear() {
  // Mean mid-point Delta S on the stationary pair law equals sigma_dt dt within 0.02% (§5.0).
  for (int n : {2, 5, 12}) {  // d = 12 takes the blocked path
    const MatrixXd A = gt::bead_spring_drift_matrix(n);
    const MatrixXd D = gt::bead_spring_diffusion(gt::linear_temperature_profile(n, 1.0, 10.0));
    const MatrixXd C = gt::stationary_covariance(A, D);
    for (const gt::SnapshotSpec& spec : {kExact, kEM1, kEM10}) {
      if (n > 5) break;
      const gt::SampledChain ch = gt::sampled_chain(A, D, 0.01, spec);
      // E[(x'-x)^T D^{-1} A xbar] = tr(D^{-1} A (C_s E^T - E C_s))/2; system term averages to 0.
      const MatrixXd cross =
          ch.covariance * ch.propagator.transpose() - ch.propagator * ch.covariance;
      const double mean = 0.5 * (D.llt().solve(A) * cross).trace();
      const double target = 0.01 * gt::snapshot_ep_rate(A, D, 0.01, spec);
      CHECK(std::abs(mean / target - 1.0) < 2e-4,
            "N=%d kind=%d sub=%d: <dS> %.8g vs sigma_dt dt %.8g", n, int(spec.kind),
            spec.substeps, mean, target);
    }
    // Vectorised values against the formula written out term by term.
    std::mt19937_64 rng(5);
    std::normal_distribution<double> nd;
    const std::int64_t m = 10000;  // > one chunk
    std::vector<double> x(m * n), xn(m * n), out(m);
    for (auto& v : x) v = nd(rng);
    for (auto& v : xn) v = nd(rng);
    gt::transition_entropy(A, D, C, x.data(), xn.data(), m, out.data());
    const MatrixXd Cinv = C.inverse(), Dinv = D.inverse();
    double worst = 0.0;
    for (std::int64_t r = 0; r < m; ++r) {
      const VectorXd a = Eigen::Map<const VectorXd>(&x[r * n], n);
      const VectorXd b = Eigen::Map<const VectorXd>(&xn[r * n], n);
      const double sys = 0.5 * b.dot(Cinv * b) - 0.5 * a.dot(Cinv * a);
      const double med = (A * (0.5 * (a + b))).dot(Dinv * (b - a));
      worst = std::max(worst, std::abs(out[r] - (sys + med)));
    }
    CHECK(worst < 1e-12, "N=%d vectorised transition_entropy max error %.3e", n, worst);
    using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const MatrixXd xm = Eigen::Map<RowMat>(x.data(), m, n);
    const MatrixXd xnm = Eigen::Map<RowMat>(xn.data(), m, n);
    const VectorXd viaEigen = gt::transition_entropy(A, D, C, xm, xnm);
    CHECK((viaEigen - Eigen::Map<VectorXd>(out.data(), m)).cwiseAbs().maxCoeff() == 0.0,
          "Eigen overload differs");
  }
}

static void test_ratchet() {
  const double V[] = {0.5, 1, 1.5, 2, 3, 4, 5};
  const char* table[] = {"0.016376", "0.062364", "0.130566", "0.213069",
                         "0.398201", "0.589870", "0.778371"};
  for (int i = 0; i < 7; ++i) {
    const MatrixXd P = gt::ratchet_transition_matrix(V[i]);
    const VectorXd pi = gt::stationary_distribution(P);
    check_printed(("ratchet sigma_step V=" + std::to_string(V[i])).c_str(), gt::ep_per_step(P),
                  table[i]);
    CHECK(P.diagonal().cwiseAbs().maxCoeff() == 0.0, "ratchet P has nonzero diagonal");
    CHECK((P.rowwise().sum().array() - 1.0).abs().maxCoeff() < 1e-15, "ratchet rows");
    CHECK((pi.transpose() * P - pi.transpose()).norm() < 1e-15, "pi P != pi");
    // Mean stochastic EP per jump equals the EP per step.
    double mean = 0.0;
    for (int a = 0; a < 6; ++a) {
      for (int b = 0; b < 6; ++b) {
        if (P(a, b) > 0) mean += pi(a) * P(a, b) * gt::transition_entropy(P, pi, a, b);
      }
    }
    CHECK(std::abs(mean - gt::ep_per_step(P, pi)) < 1e-15, "ratchet mean dS");
  }
  // Token layout: from (0, on) the three jumps are to (1, on), (2, on), (0, off).
  const MatrixXd P = gt::ratchet_transition_matrix(2.0, 1.0, 1.0);
  const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), z = e1 + e2 + 1.0;
  CHECK(std::abs(P(0, 1) - e1 / z) < 1e-15 && std::abs(P(0, 2) - e2 / z) < 1e-15 &&
            std::abs(P(0, 3) - 1.0 / z) < 1e-15,
        "ratchet row 0");
  CHECK(std::abs(P(3, 4) - 1.0 / 3.0) < 1e-15 && std::abs(P(3, 0) - 1.0 / 3.0) < 1e-15,
        "ratchet row 3");
  // Equilibrium (V = 0): no EP.
  CHECK(std::abs(gt::ep_per_step(gt::ratchet_transition_matrix(0.0))) < 1e-15, "ratchet V=0");

  const VectorXd pi = gt::stationary_distribution(P);
  const std::vector<std::int64_t> tokens = {0, 1, 4, 3, 5, 2, 0, 3, 0, 2, 1, 0};  // 2 x 6
  std::vector<double> out(2 * 5);
  gt::transition_entropy(P, pi, tokens.data(), 2, 6, out.data());
  bool same = true;
  for (int m = 0; m < 2; ++m) {
    for (int t = 0; t < 5; ++t) {
      const double one = gt::transition_entropy(P, pi, tokens[m * 6 + t], tokens[m * 6 + t + 1]);
      same = same && out[m * 5 + t] == one;
    }
  }
  CHECK(same, "vectorised ratchet transition_entropy differs");
  const std::vector<std::int64_t> stay = {0, 0};
  check_throws("ratchet self-transition",
               [&] { gt::transition_entropy(P, pi, stay.data(), 1, 2, out.data()); });
  const std::vector<std::int64_t> bad = {0, 6};
  check_throws("ratchet token out of range",
               [&] { gt::transition_entropy(P, pi, bad.data(), 1, 2, out.data()); });
  check_throws("non-stochastic P", [&] { gt::stationary_distribution(2.0 * P); });
  check_throws("reducible P", [&] { gt::stationary_distribution(MatrixXd::Identity(3, 3)); });
  check_throws("pi wrong size", [&] { gt::ep_per_step(P, VectorXd::Constant(5, 0.2)); });
}

static void test_carnot() {
  struct Row {
    double tau;
    const char *w, *qh, *eta;
  };
  const Row rows[] = {{10, "0.2349", "6.7494", nullptr},
                      {20, "-1.7504", "7.9648", "0.2198"},
                      {50, "-3.0911", "8.8403", "0.3497"},
                      {100, "-3.5557", "9.1664", "0.3879"},
                      {1000, "-3.9748", "9.4784", "0.4194"}};
  for (const Row& r : rows) {
    stochinfer::CarnotProtocol p;
    p.tau = r.tau;
    const auto t0 = std::chrono::steady_clock::now();
    const gt::CarnotCycle c = gt::carnot_cycle_moments(p, 10.0);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string tag = "tau=" + std::to_string(int(r.tau));
    check_printed(("Carnot <W> " + tag).c_str(), c.mean_work, r.w);
    check_printed(("Carnot Q_h " + tag).c_str(), c.heat_hot, r.qh);
    if (r.eta) check_printed(("Carnot eta " + tag).c_str(), c.efficiency, r.eta);
    if (!r.eta) CHECK(c.mean_work > 0.0, "tau=10 should not be an engine");
    CHECK(std::abs(c.heat_total + c.mean_work) < 1e-10, "%s energy balance %.3e", tag.c_str(),
          c.heat_total + c.mean_work);
    if (r.tau == 100) CHECK(secs < 1.0, "tau=100 took %.3f s", secs);
  }
  const gt::CarnotCycle qs = gt::carnot_quasistatic(40.0, 10.0);
  check_printed("quasi-static <W>", qs.mean_work, "-4.0212");
  check_printed("quasi-static Q_h", qs.heat_hot, "9.5143");
  check_printed("quasi-static eta", qs.efficiency, "0.4226");
  // Slow cycles approach the quasi-static limit.
  stochinfer::CarnotProtocol slow;
  slow.tau = 1e4;
  const gt::CarnotCycle c = gt::carnot_cycle_moments(slow, 10.0, 3);
  CHECK(std::abs(c.mean_work - qs.mean_work) < 0.01, "tau=1e4 <W> %.5f", c.mean_work);
  CHECK(c.mean_work > qs.mean_work, "finite-time work exceeds quasi-static");
  // Stiff settings: the step follows the fastest rate max(2 gamma, 2 sqrt(k_max)) (a fixed
  // 1/50 overflowed at gamma = 200 and gave unbalanced heat at k_max = 1e5); 4x finer agrees.
  {
    struct Stiff {
      double tau, k_max, gamma;
    };
    for (const Stiff& st : {Stiff{100.0, 40.0, 200.0}, Stiff{10.0, 1e5, 10.0}}) {
      stochinfer::CarnotProtocol p;
      p.tau = st.tau;
      p.k_max = st.k_max;
      const gt::CarnotCycle c = gt::carnot_cycle_moments(p, st.gamma);
      const gt::CarnotCycle fine = gt::carnot_cycle_moments(p, st.gamma, 0, 4 * 2.5 * std::max(2 * st.gamma,
                                                                                          2 * std::sqrt(st.k_max)));
      CHECK(std::isfinite(c.mean_work) && std::abs(c.heat_total + c.mean_work) < 1e-8,
            "stiff Carnot balance %.3e", c.heat_total + c.mean_work);
      CHECK(std::abs(c.mean_work - fine.mean_work) < 1e-6 * (1 + std::abs(fine.mean_work)),
            "stiff Carnot <W> %.9f vs finer step %.9f", c.mean_work, fine.mean_work);
    }
  }
  stochinfer::CarnotProtocol bad;
  bad.tau = -1.0;
  check_throws("Carnot tau < 0", [&] { gt::carnot_cycle_moments(bad); });
}

static void test_errors() {
  const MatrixXd A = gt::bead_spring_drift_matrix(3);
  const MatrixXd D = MatrixXd::Identity(3, 3);
  check_throws("unstable A", [&] { gt::continuous_lyapunov(-A, D); });
  MatrixXd marginal = A;
  marginal(0, 0) = 0.0;
  marginal(0, 1) = 0.0;
  marginal(1, 0) = 0.0;  // zero eigenvalue
  check_throws("marginally stable A", [&] { gt::continuous_lyapunov(marginal, D); });
  check_throws("non-square A", [&] { gt::continuous_lyapunov(MatrixXd::Zero(3, 2), D); });
  check_throws("Q shape", [&] { gt::continuous_lyapunov(A, MatrixXd::Identity(2, 2)); });
  MatrixXd asym = D;
  asym(0, 1) = 0.5;
  check_throws("asymmetric Q", [&] { gt::continuous_lyapunov(A, asym); });
  MatrixXd nan = A;
  nan(1, 1) = std::nan("");
  check_throws("NaN A", [&] { gt::continuous_lyapunov(nan, D); });
  check_throws("B spectral radius 1", [&] { gt::discrete_lyapunov(MatrixXd::Identity(3, 3), D); });
  check_throws("B spectral radius > 1",
               [&] { gt::discrete_lyapunov(-1.5 * MatrixXd::Identity(3, 3), D); });
  check_throws("D not SPD", [&] { gt::ep_rate(A, -D); });
  check_throws("dt <= 0", [&] { gt::snapshot_ep_rate(A, D, 0.0, kExact); });
  const gt::SnapshotSpec em0{gt::SnapshotSpec::euler_maruyama, 0};
  check_throws("substeps 0", [&] { gt::snapshot_ep_rate(A, D, 0.01, em0); });
  check_throws("EM step unstable", [&] { gt::snapshot_ep_rate(A, D, 2.0, kEM1); });
  check_throws("exact unstable A", [&] { gt::one_step_propagator(-A, D, 0.01, kExact); });
  check_throws("shifted h < 0", [&] { gt::shifted_lyapunov(A, D, -0.1); });
  check_throws("high_dim n < 2", [&] { gt::high_dim_cold_temperature(1); });
  check_throws("temps <= 0", [&] { gt::bead_spring_diffusion(VectorXd::Zero(3)); });
  check_throws("ratchet T <= 0", [&] { gt::ratchet_transition_matrix(1.0, 0.0); });
  double x[3] = {0, 0, 0}, out[1];
  check_throws("transition_entropy C shape",
               [&] { gt::transition_entropy(A, D, MatrixXd::Identity(2, 2), x, x, 1, out); });
  // The EM step is fine once sub-stepped.
  CHECK(std::isfinite(gt::snapshot_ep_rate(A, D, 2.0, kEM10)), "sub-stepped EM at large dt");
}

// Motion blur: without blur a window of snapshots (a Markov chain) shows sigma_dt at any
// seq_len; with it, sigma_dt < exposure means <= the spanned path (data processing).
void test_exposure_window() {
  const MatrixXd A = gt::bead_spring_drift_matrix(2);
  const MatrixXd D = gt::bead_spring_diffusion(VectorXd::LinSpaced(2, 1.0, 10.0));
  const double sigma_dt = gt::snapshot_ep_rate(A, D, 0.01, kEM10);
  for (int seq_len : {2, 3}) {
    const gt::ExposureEp e = gt::exposure_window_ep(A, D, 0.01, kEM10, 1, seq_len);
    CHECK(std::abs(e.mean_rate / sigma_dt - 1) < 1e-9, "seq_len %d unblurred %.12f vs %.12f", seq_len, e.mean_rate,
          sigma_dt);
    CHECK(std::abs(e.span_rate / sigma_dt - 1) < 1e-12, "seq_len %d span %.12f", seq_len, e.span_rate);
  }
  const gt::ExposureEp b = gt::exposure_window_ep(A, D, 0.01, kEM1, 10, 2);
  CHECK(gt::snapshot_ep_rate(A, D, 0.01, kEM10) < b.mean_rate && b.mean_rate <= b.span_rate,
        "blurred order %.6f %.6f", b.mean_rate, b.span_rate);
  check_throws("blur 0", [&] { gt::exposure_window_ep(A, D, 0.01, kEM1, 0, 2); });
  check_throws("seq_len 1", [&] { gt::exposure_window_ep(A, D, 0.01, kEM1, 2, 1); });
}

int main() {
  test_lyapunov_random();
  test_expm();
  test_bead_spring_tables();
  test_high_dim();
  test_h9_and_snapshot();
  test_transition_entropy_linear();
  test_ratchet();
  test_carnot();
  test_errors();
  test_exposure_window();
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
