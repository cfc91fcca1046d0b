// SPDX-License-Identifier: MIT
// first_passage_times: the mean first-passage time under resetting at the optimal
// rate (V = 0: r* = 2.5396 D/x0², ⟨T⟩ = 1.5441 x0²/D) within four standard errors,
// the same times on 1 and 3 threads, and bad configurations refused.
#include <cmath>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "stochinfer/first_passage.hpp"

int main() {
  stochinfer::FirstPassageConfig c;
  c.rate = 2.5396382821881653;
  c.dt = 1e-3;
  c.n_walkers = 20000;
  c.max_steps = 200000;
  c.seed = 11;
  std::vector<double> a(c.n_walkers), b(c.n_walkers);
  CHECK(stochinfer::first_passage_times(c, a.data(), 1) == stochinfer::SimulationStatus::completed);
  CHECK(stochinfer::first_passage_times(c, b.data(), 3) == stochinfer::SimulationStatus::completed);
  CHECK(a == b);
  double s = 0, s2 = 0;
  for (double t : a) {
    s += t;
    s2 += t * t;
  }
  const double n = double(a.size()), mean = s / n, se = std::sqrt((s2 / n - mean * mean) / (n - 1));
  CHECK(std::fabs(mean - 1.54413865237087) < 4 * se);
  for (auto bad : {&stochinfer::FirstPassageConfig::x0, &stochinfer::FirstPassageConfig::D,
                   &stochinfer::FirstPassageConfig::dt}) {
    stochinfer::FirstPassageConfig w = c;
    w.*bad = 0.0;
    CHECK(stochinfer_test::throws_invalid_argument([&] { w.validate(); }));
  }
  return stochinfer_test::report();
}
