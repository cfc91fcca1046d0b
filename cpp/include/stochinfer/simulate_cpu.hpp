// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/config.hpp"
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <thread>
#include <type_traits>
#include <vector>

#include "stochinfer/detail/run_on_threads.hpp"
#include "stochinfer/integrators/integrator_step.hpp"
#include "stochinfer/rng.hpp"
#include "stochinfer/simd.hpp"
#include "stochinfer/simulate.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

namespace detail {

template <class Model, class = void>
struct has_initial_state : std::false_type {};
template <class Model>
struct has_initial_state<Model, std::void_t<decltype(&Model::template initial_state<typename Model::scalar>)>>
    : std::true_type {};

/// Initial state of W lanes starting at global trajectory index traj (lane l = traj + l).
template <class Model, class V, class U>
inline void initial_state(const Model& m, const SimulationConfig& c, std::int64_t first_local,
                          const U& traj_lo, const U& traj_hi, V* x) {
  using T = typename Model::scalar;
  constexpr int W = value_traits<V>::width;
  const int d = m.dim();
  switch (c.init) {
    case InitKind::zeros:
      for (int k = 0; k < d; ++k) x[k] = V(T(0));
      break;
    case InitKind::broadcast:
      for (int k = 0; k < d; ++k) x[k] = V(static_cast<T>(c.init_data[k]));
      break;
    case InitKind::per_trajectory:
      for (int k = 0; k < d; ++k)
        for (int l = 0; l < W; ++l) {
          const std::int64_t i = std::min<std::int64_t>(first_local + l, c.n_traj - 1);
          if constexpr (W == 1)
            x[k] = static_cast<T>(c.init_data[i * d + k]);
          else
            x[k][l] = static_cast<T>(c.init_data[i * d + k]);
        }
      break;
    case InitKind::gaussian:
    case InitKind::model_default: {
      std::vector<V> z(d);
      if (c.init == InitKind::gaussian) {
        NormalStream<U> ns{c.seed, RngPurpose::initial_state, traj_lo, traj_hi};
        ns.read(z.data(), d);
      } else {
        for (int b = 0; 4 * b < d; ++b) {  // uniforms in (0, 1), 31 bits each
          U ctr[4];
          philox_block(c.seed, RngPurpose::initial_uniform, traj_lo, traj_hi, b, ctr);
          for (int j = 0; j < 4 && 4 * b + j < d; ++j)
            z[4 * b + j] = vcast<V>((vto_float31(ctr[j] >> 1) + 0.5f) * 4.656612873077393e-10f);
        }
      }
      if (c.init == InitKind::gaussian) {
        const double* mean = c.init_data;
        const double* L = c.init_data + d;
        for (int i = 0; i < d; ++i) {
          V s = V(static_cast<T>(mean[i]));
          for (int j = 0; j <= i; ++j) s += static_cast<T>(L[i * d + j]) * z[j];
          x[i] = s;
        }
      } else {
        if constexpr (has_initial_state<Model>::value) {
          m.initial_state(z.data(), x);
        } else {
          for (int k = 0; k < d; ++k) x[k] = V(T(0));
        }
      }
      break;
    }
  }
}

/// Advances W trajectories [first, first + W) through all steps, writing records.
template <class Model, int W>
bool simulate_lanes(const Model& m, const SimulationConfig& c, std::int64_t first,
                    typename Model::scalar* out) {
  using T = typename Model::scalar;
  using V = std::conditional_t<W == 1, T, Pack<T, W>>;
  using U = std::conditional_t<W == 1, std::uint32_t, Pack<std::uint32_t, W>>;
  const int d = m.dim();
  const int nd = m.noise_dim();
  const std::int64_t nrec = n_records(c);
  const int lanes = static_cast<int>(std::min<std::int64_t>(W, c.n_traj - first));

  U traj_lo, traj_hi;
  for (int l = 0; l < W; ++l) {
    const std::uint64_t traj = c.traj_offset + static_cast<std::uint64_t>(first + l);
    if constexpr (W == 1) {
      traj_lo = static_cast<std::uint32_t>(traj);
      traj_hi = static_cast<std::uint32_t>(traj >> 32);
    } else {
      traj_lo[l] = static_cast<std::uint32_t>(traj);
      traj_hi[l] = static_cast<std::uint32_t>(traj >> 32);
    }
  }
  std::vector<V> x(d), xi(nd), work(6 * d);
  initial_state(m, c, first, traj_lo, traj_hi, x.data());
  NormalStream<U> noise{c.seed, RngPurpose::integrator_noise, traj_lo, traj_hi};

  auto record = [&](std::int64_t r) {
    for (int l = 0; l < lanes; ++l) {
      T* row = out + ((first + l) * nrec + r) * d;
      for (int k = 0; k < d; ++k) {
        if constexpr (W == 1)
          row[k] = x[k];
        else
          row[k] = x[k][l];
      }
    }
  };
  if (c.burn_in == 0) record(0);

  const T h = static_cast<T>(c.dt / c.substeps);
  const T sqrt_h = static_cast<T>(std::sqrt(c.dt / c.substeps));
  const std::int64_t total = c.burn_in + c.n_steps;
  std::uint64_t g = 0;  // integration step counter (reads normals g*nd .. g*nd + nd - 1)
  // Ctrl-C is polled about every kPollSteps integration steps: every 64 records for short records,
  // more often for longer ones, and inside records of more than kPollSteps substeps (a record may
  // hold millions). The common path keeps the plain substep loop: a poll inside it cost 8–40%.
  constexpr int kPollSteps = 256;
  std::int64_t poll_mask = 63;
  while (poll_mask > 0 && (poll_mask + 1) * c.substeps > kPollSteps) poll_mask >>= 1;
  // substeps of more than kPollSteps are integrated in chunks with a poll between them
  const int chunk = c.substeps > kPollSteps ? kPollSteps : c.substeps;
  for (std::int64_t n = 0; n < total; ++n) {
    if (c.cancel && (n & poll_mask) == 0 && c.cancel->load(std::memory_order_relaxed)) return false;
    for (int s0 = 0; s0 < c.substeps; s0 += chunk) {
      if (s0 > 0 && c.cancel && c.cancel->load(std::memory_order_relaxed)) return false;
      const int s1 = s0 + chunk < c.substeps ? s0 + chunk : c.substeps;
      for (int s = s0; s < s1; ++s, ++g) {
        noise.read(xi.data(), nd);
        const double t = c.t0 + (static_cast<double>(g) / c.substeps - static_cast<double>(c.burn_in)) * c.dt;
        integrator_step(c.integrator, m, x.data(), t, h, sqrt_h, xi.data(), work.data());
      }
    }
    const std::int64_t rec_n = n - c.burn_in + 1;  // recorded interval index after this step
    if (rec_n >= 0 && rec_n % c.record_every == 0) record(rec_n / c.record_every);
  }
  return true;
}

}  // namespace detail

/// Lanes per CPU block: two AVX2 registers of the scalar type.
template <class T>
constexpr int cpu_lanes() {
  return sizeof(T) == 4 ? 16 : 8;
}

/// Simulates c.n_traj trajectories of model m on CPU threads into `out`, a
/// caller-owned buffer of n_traj * n_records(c) * m.dim() values, row-major
/// (trajectory, record, component). W = 1 gives the scalar reference loop.
template <class Model, int W = cpu_lanes<typename Model::scalar>()>
SimulationStatus simulate_cpu(const Model& m, const SimulationConfig& c,
                              typename Model::scalar* out) {
  validate(c);
  validate_integrator(Model::kUnderdamped, c.integrator);
  validate_initial_states(c, m.dim());
  const std::int64_t nblocks = (c.n_traj + W - 1) / W;
  int nthreads = c.n_threads > 0 ? c.n_threads : static_cast<int>(std::thread::hardware_concurrency());
  nthreads = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(nthreads, nblocks)));
  std::atomic<std::int64_t> next{0};
  std::atomic<bool> stopped{false};
  auto worker = [&]() {
    for (;;) {
      const std::int64_t b = next.fetch_add(1);
      if (b >= nblocks || stopped.load(std::memory_order_relaxed)) return;
      if (!detail::simulate_lanes<Model, W>(m, c, b * W, out)) {
        stopped = true;
        return;
      }
    }
  };
  host_threads::run_on_threads_rethrowing(nthreads, stopped, worker);
  return stopped ? SimulationStatus::cancelled : SimulationStatus::completed;
}

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
