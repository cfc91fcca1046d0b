// SPDX-License-Identifier: MIT
// A fitted equation from C++ without Python: networks set by hand to the
// Ornstein-Uhlenbeck process dx = -x dt + sqrt(2 D) dW (D = 0.5) through the
// normalisation (s_x = 2); the simulated variance matches the Euler-Maruyama
// recursion within 4 standard errors, and 1 and 2 threads give the same bits.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "stochinfer/inferred_langevin.hpp"

using namespace stochinfer;

int main() {
  const double D = 0.5, s_x = 2.0, dt = 0.01;
  BayesMlpSpec lin;  // one dense layer: raw = w x + b
  lin.in_dim = 1;
  lin.out_dim = 1;
  lin.hidden = 1;
  lin.n_layers = 1;
  lin.n_bayes = 0;
  HeadSpec affine;
  affine.d = 1;
  LangevinNet<double> drift(lin, affine, 1, 0, 1);
  drift.params()[0] = -1.0;  // normalised drift -x̃, physical -x̃ s_x = -x
  drift.params()[1] = 0.0;

  BayesMlpSpec constant = lin;  // homogeneous: no input, raw = b
  constant.in_dim = 0;
  HeadSpec chol;
  chol.kind = HeadKind::cholesky;
  chol.d = 1;
  const double L = std::sqrt(D / (s_x * s_x));  // D̃ = L², physical D̃ s_x²
  chol.mean = {std::log(std::expm1(L - chol.diag_eps))};
  LangevinNet<double> diffusion(constant, chol, 1, 0, 1);
  diffusion.params()[0] = 0.0;

  InferredFieldsSpec spec;
  spec.dim = 1;
  spec.mu_x = {0.0};
  spec.s_x = {s_x};
  spec.diffusion_factor = {1.0};
  spec.homogeneous_diffusion = true;

  InferredSimulationConfig cfg;
  cfg.n_traj = 4000;
  cfg.n_steps = 600;
  cfg.dt = dt;
  cfg.n_samples = 0;  // mean weights: one sample
  cfg.record_every = 600;
  cfg.seed = 11;
  std::vector<double> x0(cfg.n_traj, 0.0), rec[2];
  for (int threads = 1; threads <= 2; ++threads) {
    InferredLangevin<double> eq(drift, nullptr, diffusion, spec, threads);
    CHECK(eq.n_outputs(0) == 1);
    const double z = 1.5;
    double f, dd;
    CHECK(eq.fields(&z, nullptr, 1, 0, 0, false, &f, &dd));
    CHECK(std::fabs(f + 1.5) < 1e-12);
    CHECK(std::fabs(dd - D) < 1e-12);
    rec[threads - 1].assign(std::size_t(cfg.n_traj) * 2, 0.0);
    const auto r = eq.simulate(cfg, x0.data(), nullptr, rec[threads - 1].data(), nullptr, nullptr);
    CHECK(r.steps_done == cfg.n_steps && !r.diverged);
  }
  CHECK(rec[0] == rec[1]);

  double var = 0.0;  // Euler-Maruyama: v_{k+1} = (1 - dt)² v_k + 2 D dt
  for (int k = 0; k < cfg.n_steps; ++k) var = (1 - dt) * (1 - dt) * var + 2 * D * dt;
  double m = 0.0, m2 = 0.0;
  for (std::int64_t i = 0; i < cfg.n_traj; ++i) {
    const double x = rec[0][i * 2 + 1];
    m += x;
    m2 += x * x;
  }
  m /= double(cfg.n_traj);
  const double v_hat = m2 / double(cfg.n_traj) - m * m;
  CHECK(std::fabs(m) < 4 * std::sqrt(var / double(cfg.n_traj)));
  CHECK(std::fabs(v_hat - var) < 4 * var * std::sqrt(2.0 / double(cfg.n_traj - 1)));

  // bad configuration: a clear exception, not a crash
  CHECK(stochinfer_test::throws_invalid_argument([&] {
    cfg.dt = -1.0;
    InferredLangevin<double> eq(drift, nullptr, diffusion, spec, 1);
    eq.simulate(cfg, x0.data(), nullptr, rec[0].data(), nullptr, nullptr);
  }));

  // quadratic diffusion base b(u) = max(floor, c0 + c1 u0 + c2 u1 + c00 u0² + c01 u0 u1 + c11 u1²)
  CHECK(diffusion_base_size(2) == 6 && diffusion_base_size(5) == 21);
  const std::vector<double> c = {1.0, 0.5, -0.25, 0.3, 0.2, 0.1};
  const double u[2] = {2.0, -1.0};
  const double expect = 1.0 + 0.5 * 2.0 + 0.25 + 0.3 * 4.0 - 0.2 * 2.0 + 0.1;
  CHECK(std::fabs(quadratic_diffusion_base(u, 2, c.data(), 0.01) - expect) < 1e-14);
  const std::vector<double> negative = {-1.0, 0, 0, 0, 0, 0};
  CHECK(quadratic_diffusion_base(u, 2, negative.data(), 0.05) == 0.05);  // the floor
  // a base needs the right size, a positive floor and an input-dependent network
  const auto rejects = [&](InferredFieldsSpec sp) {
    try {
      sp.validate();
    } catch (const std::invalid_argument&) {
      return true;
    }
    return false;
  };
  InferredFieldsSpec based = spec;
  based.homogeneous_diffusion = false;
  based.diffusion_base = {1.0, 0.0, 0.5};  // in_dim 1: 1 + 1 + 1 coefficients
  based.diffusion_base_floor = 0.1;
  CHECK(!rejects(based));
  InferredFieldsSpec bad = based;
  bad.diffusion_base_floor = 0.0;
  CHECK(rejects(bad));
  bad = based;
  bad.diffusion_base.push_back(0.0);
  CHECK(rejects(bad));
  bad = based;
  bad.homogeneous_diffusion = true;
  CHECK(rejects(bad));
  bad = based;
  bad.diffusion_base_chol = {1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0};  // 3 coefficients need 3 x 3
  CHECK(rejects(bad));
  bad.diffusion_base_chol.push_back(1.0);
  CHECK(!rejects(bad));
  // the friction the drift lacks is added to an unshrink only, one per coordinate
  InferredFieldsSpec moving = spec;
  moving.underdamped = true;
  moving.mu_v = {0.0};
  moving.s_v = {1.0};
  moving.dt = 0.01;
  moving.friction_bias = {0.4};
  CHECK(rejects(moving));
  moving.friction = {10.0};
  CHECK(!rejects(moving));
  moving.friction_bias = {0.4, 0.4};
  CHECK(rejects(moving));

  // a periodic time input: two columns cos, sin of 2πt/P, so t and t + P are the same input
  InferredFieldsSpec periodic = spec;
  periodic.time_input = true;
  periodic.time_period = 4.0;
  CHECK(!rejects(periodic) && periodic.in_dim() == 3 && periodic.time_inputs() == 2);
  BayesMlpSpec lin3 = lin;  // raw = w · (x̃, cos, sin) + b
  lin3.in_dim = 3;
  LangevinNet<double> drift3(lin3, affine, 1, 0, 1);
  drift3.params()[0] = -1.0;
  drift3.params()[1] = 0.5;
  drift3.params()[2] = 0.25;
  drift3.params()[3] = 0.0;
  InferredLangevin<double> driven(drift3, nullptr, diffusion, periodic, 1);
  const double z = 1.5, times[3] = {1.0, 5.0, -3.0};  // one phase, three periods apart
  double fp[3], dp[3];
  for (int i = 0; i < 3; ++i) CHECK(driven.fields(&z, &times[i], 1, 0, 0, false, &fp[i], &dp[i]));
  const double f_expect = (-0.75 + 0.5 * std::cos(1.5707963267948966) + 0.25 * std::sin(1.5707963267948966)) * s_x;
  CHECK(std::fabs(fp[0] - f_expect) < 1e-12);
  CHECK(std::fabs(fp[1] - fp[0]) < 1e-12 && std::fabs(fp[2] - fp[0]) < 1e-12);
  bad = periodic;
  bad.time_input = false;  // a period without a time input
  CHECK(rejects(bad));
  bad = periodic;
  bad.time_period = -1.0;
  CHECK(rejects(bad));
  bad = periodic;
  bad.time_harmonics = 0;
  CHECK(rejects(bad));
  bad = spec;  // harmonics without a period
  bad.time_input = true;
  bad.time_harmonics = 2;
  CHECK(rejects(bad));
  periodic.time_harmonics = 2;  // cos φ, sin φ, cos 2φ, sin 2φ
  CHECK(!rejects(periodic) && periodic.in_dim() == 5);
  BayesMlpSpec lin5 = lin;
  lin5.in_dim = 5;
  LangevinNet<double> drift5(lin5, affine, 1, 0, 1);
  const double w5[6] = {-1.0, 0.5, 0.25, 0.125, -0.375, 0.0};  // weights of (x̃, cos, sin, cos 2, sin 2), bias
  for (int i = 0; i < 6; ++i) drift5.params()[i] = w5[i];
  InferredLangevin<double> driven2(drift5, nullptr, diffusion, periodic, 1);
  const double t2 = 0.5;  // φ = π/4
  double f2, d2;
  CHECK(driven2.fields(&z, &t2, 1, 0, 0, false, &f2, &d2));
  const double ph = 0.7853981633974483;
  const double f2_expect = (-0.75 + 0.5 * std::cos(ph) + 0.25 * std::sin(ph) + 0.125 * std::cos(2 * ph) -
                            0.375 * std::sin(2 * ph)) * s_x;
  CHECK(std::fabs(f2 - f2_expect) < 1e-12);
  return stochinfer_test::report();
}
