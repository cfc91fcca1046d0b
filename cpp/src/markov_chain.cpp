// SPDX-License-Identifier: MIT
#include "stochinfer/markov_chain.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

#include "stochinfer/detail/run_on_threads.hpp"
#include "stochinfer/rng.hpp"

namespace stochinfer {

namespace {
// Inverse-CDF draw; u in (0, 1). The last state with positive mass absorbs rounding.
int draw(const double* cdf, int n, double u) {
  for (int j = 0; j < n - 1; ++j)
    if (u < cdf[j]) return j;
  return n - 1;
}

std::vector<double> cumulative(const double* p, int n, const char* what) {
  std::vector<double> c(n);
  double s = 0;
  for (int j = 0; j < n; ++j) {
    if (!(p[j] >= 0.0) || std::isinf(p[j]))
      throw std::invalid_argument(std::string(what) + ": entries must be finite and >= 0");
    s += p[j];
    c[j] = s;
  }
  if (std::fabs(s - 1.0) > 1e-9) throw std::invalid_argument(std::string(what) + ": rows must sum to 1");
  // never land on trailing zeros: the last state with positive mass takes every u from its lower
  // edge up (the row may sum to 1 - 1e-9, and u may round to 1), as draw() promises
  int last = n - 1;
  for (; last > 0 && p[last] == 0.0; --last) c[last] = 2.0;
  c[last] = 2.0;
  return c;
}
}  // namespace

SimulationStatus sample_markov_chain(const double* P, int n, const double* initial,
                                     std::int64_t n_traj, std::int64_t n_steps, std::uint64_t seed,
                                     std::int32_t* out, int n_threads,
                                     const std::atomic<bool>* cancel) {
  if (n < 1) throw std::invalid_argument("P: need at least one state");
  if (n_traj < 1 || n_steps < 1) throw std::invalid_argument("n_traj and n_steps must be >= 1");
  std::vector<double> cdf(static_cast<std::size_t>(n) * n);
  for (int i = 0; i < n; ++i) {
    auto row = cumulative(P + static_cast<std::size_t>(i) * n, n, "P");
    std::copy(row.begin(), row.end(), cdf.begin() + static_cast<std::size_t>(i) * n);
  }
  const std::vector<double> cdf0 = cumulative(initial, n, "initial");
  int nthreads = n_threads > 0 ? n_threads : static_cast<int>(std::thread::hardware_concurrency());
  nthreads = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(nthreads, n_traj)));
  std::atomic<std::int64_t> next{0};
  std::atomic<bool> stopped{false};
  auto worker = [&]() {
    for (;;) {
      const std::int64_t i = next.fetch_add(1);
      if (i >= n_traj || stopped) return;
      std::int32_t* row = out + i * (n_steps + 1);
      int s = draw(cdf0.data(), n, uniform_at(seed, RngPurpose::initial_uniform, i, 0));
      row[0] = s;
      for (std::int64_t t = 0; t < n_steps; ++t) {
        if (cancel && (t & 0xFFFF) == 0 && cancel->load(std::memory_order_relaxed)) {
          stopped = true;
          return;
        }
        // 31-bit float uniforms are too coarse for tiny jump probabilities; use two words.
        std::uint32_t c[4];
        philox_block<std::uint32_t>(seed, RngPurpose::markov_jump, static_cast<std::uint32_t>(i),
                                    static_cast<std::uint32_t>(i >> 32), static_cast<std::uint64_t>(t), c);
        const double u = ((static_cast<std::uint64_t>(c[0]) << 21 ^ c[1]) + 0.5) / 9007199254740992.0;
        s = draw(cdf.data() + static_cast<std::size_t>(s) * n, n, u);
        row[t + 1] = s;
      }
    }
  };
  host_threads::run_on_threads(nthreads, worker);
  return stopped ? SimulationStatus::cancelled : SimulationStatus::completed;
}

}  // namespace stochinfer
