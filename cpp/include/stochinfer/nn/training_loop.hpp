// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "stochinfer/neep.hpp"
#include "stochinfer/nn/batching.hpp"
#include "stochinfer/nn/flush_denormals.hpp"
#include "stochinfer/nn/optimizer_step.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// Parameters, optimiser state and the scratch of a network trained by train_loop.
/// Adam keeps its moments in m and v; SGD its momentum buffer in m (v unused).
template <class T>
struct OptimState {
  std::vector<T> p, m, v, grad;
  std::int64_t step = 0;   ///< optimiser updates done (Adam's bias-correction counter)
  std::int64_t draws = 0;  ///< minibatches drawn (keys them; a reset to a checkpoint restores step, not draws)
  GroupedGradient<T> grouped;
  std::vector<std::int64_t> trj, start;  ///< the current minibatch

  explicit OptimState(std::size_t n) : p(n), m(n, T(0)), v(n, T(0)), grad(n) {}
};

/// The update of `st` by its gradient: Adam or SGD with momentum, element-wise, so
/// parameter slices run in parallel without changing a bit.
template <class T, class OptConfig>
void optimizer_update(ThreadPool& pool, const OptConfig& c, OptimState<T>& st) {
  for_each_slice(pool, st.p.size(), [&](std::size_t lo, std::size_t hi) {
    optimizer_step(c, long(st.step), st.p.data() + lo, st.grad.data() + lo, st.m.data() + lo, st.v.data() + lo,
                   hi - lo);
  });
}

/// ItemGrad: (const int64* trj, const int64* start, int n, int worker, double denom,
/// T* g) -> loss sum of the n items; writes d(loss sum / denom)/dθ into g.
/// Index: WindowIndex, or RowIndex (rows of a table; start is 0).

/// n_steps optimiser updates (AdamConfig or SgdConfig) on minibatches of `batch`
/// items drawn from `index`.
template <class T, class Index, class OptConfig, class ItemGrad>
NeepTrainStats train_loop(ThreadPool& pool, OptimState<T>& st, const Index& index, std::int64_t n_steps,
                          int batch, int chunk, const OptConfig& optimizer, std::uint64_t seed,
                          const std::atomic<bool>* cancel, ItemGrad item_grad) {
  FlushDenormals ftz;
  st.trj.resize(batch);
  st.start.resize(batch);
  NeepTrainStats out;
  double loss_sum = 0.0;
  for (std::int64_t s = 0; s < n_steps; ++s) {
    if (cancel && cancel->load(std::memory_order_relaxed)) break;
    index.sample(seed, st.draws, batch, st.trj.data(), st.start.data());
    const double loss = st.grouped.run(pool, batch, chunk, st.p.size(), st.grad.data(), [&](std::int64_t c, int w, T* g) {
      // a large batch takes seconds: Ctrl-C skips its remaining chunks, and the update is dropped below
      if (cancel && cancel->load(std::memory_order_relaxed)) return 0.0;
      const std::int64_t lo = c * chunk;
      const int n = static_cast<int>(std::min<std::int64_t>(chunk, batch - lo));
      return item_grad(st.trj.data() + lo, st.start.data() + lo, n, w, double(batch), g);
    });
    if (cancel && cancel->load(std::memory_order_relaxed)) break;  // a partial gradient is never applied
    ++st.step;
    ++st.draws;
    optimizer_update(pool, optimizer, st);
    loss_sum += loss / batch;
    ++out.steps_done;
  }
  out.mean_loss = out.steps_done ? loss_sum / double(out.steps_done) : 0.0;
  return out;
}

/// train_loop with the optimiser chosen at run time (validated first).
template <class T, class Index, class ItemGrad>
NeepTrainStats train_loop(ThreadPool& pool, OptimState<T>& st, const Index& index, std::int64_t n_steps, int batch,
                          int chunk, const OptimizerConfig& optimizer, std::uint64_t seed,
                          const std::atomic<bool>* cancel, ItemGrad item_grad) {
  if (n_steps < 0) throw std::invalid_argument("n_steps must be >= 0");
  return std::visit(
      [&](const auto& c) {
        c.validate();
        return train_loop(pool, st, index, n_steps, batch, chunk, c, seed, cancel, item_grad);
      },
      optimizer);
}

/// Mean loss over every window of `index` (in order) and its gradient into grad.
template <class T, class Index, class ItemGrad>
double full_gradient(ThreadPool& pool, OptimState<T>& st, const Index& index, int chunk, T* grad,
                     ItemGrad item_grad) {
  FlushDenormals ftz;
  const std::int64_t total = index.size();
  if (total == 0) throw std::invalid_argument("no items to evaluate: the segments (or rows) are empty");
  std::vector<std::vector<std::int64_t>> idx(pool.size(), std::vector<std::int64_t>(2 * std::size_t(chunk)));
  const double loss = st.grouped.run(pool, total, chunk, st.p.size(), grad, [&](std::int64_t c, int w, T* g) {
    const std::int64_t lo = c * chunk;
    const int n = static_cast<int>(std::min<std::int64_t>(chunk, total - lo));
    index.at(lo, n, idx[w].data(), idx[w].data() + chunk);
    return item_grad(idx[w].data(), idx[w].data() + chunk, n, w, double(total), g);
  });
  return loss / double(total);
}

/// Runs eval(trj, start, n, worker, lo) over every window of `index` in chunks, in
/// parallel; returns false when cancelled.
template <class Index, class Eval>
bool evaluate_loop(ThreadPool& pool, const Index& index, int chunk, const std::atomic<bool>* cancel, Eval eval) {
  FlushDenormals ftz;
  const std::int64_t total = index.size();
  const std::int64_t n_chunks = (total + chunk - 1) / chunk;
  const int n_tasks = static_cast<int>(std::min<std::int64_t>(n_chunks, 1 << 20));
  std::vector<std::vector<std::int64_t>> idx(pool.size(), std::vector<std::int64_t>(2 * std::size_t(chunk)));
  std::atomic<bool> stopped{false};
  pool.parallel_for(n_tasks, [&](int task, int w) {
    FlushDenormals ftz_worker;
    for (std::int64_t c = task; c < n_chunks; c += n_tasks) {
      if (cancel && cancel->load(std::memory_order_relaxed)) {
        stopped = true;
        return;
      }
      const std::int64_t lo = c * chunk;
      const int n = static_cast<int>(std::min<std::int64_t>(chunk, total - lo));
      index.at(lo, n, idx[w].data(), idx[w].data() + chunk);
      eval(idx[w].data(), idx[w].data() + chunk, n, w, lo);
    }
  });
  return !stopped;
}

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
