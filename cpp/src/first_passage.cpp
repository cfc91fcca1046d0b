// SPDX-License-Identifier: MIT
#include "stochinfer/first_passage.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>

#include "stochinfer/detail/run_on_threads.hpp"
#include "stochinfer/rng.hpp"
#include "nn_isa_code.hpp"

namespace stochinfer {

namespace {
// Steps until the next reset: Geometric(p) on {1, 2, ...} by inversion of one uniform.
std::int64_t steps_to_reset(double log1m_p, float u) {
  if (log1m_p == 0.0) return std::numeric_limits<std::int64_t>::max();  // no resetting
  const double k = std::ceil(std::log(static_cast<double>(u)) / log1m_p);
  return k >= 9e18 ? std::numeric_limits<std::int64_t>::max() : std::max<std::int64_t>(1, std::int64_t(k));
}
}  // namespace

SimulationStatus nn_isa_code::first_passage_times(const FirstPassageConfig& cfg, double* times, int n_threads,
                                                  const std::atomic<bool>* cancel) {
  cfg.validate();
  const double sigma = std::sqrt(2.0 * cfg.D * cfg.dt);
  const double barrier = cfg.monitoring_correction ? kMonitoringBeta * sigma : 0.0;
  const double log1m_p = -cfg.rate * cfg.dt;  // ln(1 − p) for p = 1 − e^{−rate dt}
  int nthreads = n_threads > 0 ? n_threads : static_cast<int>(std::thread::hardware_concurrency());
  nthreads = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(nthreads, cfg.n_walkers)));
  std::atomic<std::int64_t> next{0};
  std::atomic<bool> stopped{false};
  auto worker = [&]() {
    for (;;) {
      const std::int64_t i = next.fetch_add(1);
      if (i >= cfg.n_walkers || stopped) return;
      if (cancel && cancel->load(std::memory_order_relaxed)) {  // short walkers never reach the in-loop check
        stopped = true;
        return;
      }
      NormalStream<std::uint32_t> noise = normal_stream(cfg.seed, RngPurpose::integrator_noise, std::uint64_t(i));
      std::uint64_t n_resets = 0;
      std::int64_t reset_at = steps_to_reset(log1m_p, uniform_at(cfg.seed, RngPurpose::reset_time, i, n_resets++));
      double x = cfg.x0;
      times[i] = std::numeric_limits<double>::quiet_NaN();
      for (std::int64_t k = 1; k <= cfg.max_steps; ++k) {
        if (cancel && (k & 0xFFFF) == 0 && cancel->load(std::memory_order_relaxed)) {
          stopped = true;
          return;
        }
        float xi;
        noise.read(&xi, 1);
        x += -cfg.V * cfg.dt + sigma * double(xi);
        if (x <= barrier) {
          times[i] = double(k) * cfg.dt;
          break;
        }
        if (k == reset_at) {
          x = cfg.x0;
          const std::int64_t gap = steps_to_reset(log1m_p, uniform_at(cfg.seed, RngPurpose::reset_time, i, n_resets++));
          reset_at = gap > std::numeric_limits<std::int64_t>::max() - k ? gap : k + gap;
        }
      }
    }
  };
  host_threads::run_on_threads(nthreads, worker);
  return stopped ? SimulationStatus::cancelled : SimulationStatus::completed;
}

}  // namespace stochinfer
