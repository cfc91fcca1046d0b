// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "stochinfer/detail/call_lock.hpp"
#include "stochinfer/nn/types.hpp"
#include "stochinfer/nn_isa.hpp"

namespace stochinfer {

enum class StateType { float32, float64, int32, uint8 };  // uint8: movie frames (CNEEP)

/// A C-contiguous (n_traj, length, dim) array owned by the caller; estimators
/// read it in place and never copy it (dim = 1 for token paths, type int32).
struct StateArray {
  const void* data = nullptr;
  StateType type = StateType::float64;
  std::int64_t n_traj = 0, length = 0, dim = 0;
};

/// Time points [begin, end) of one trajectory; its transitions are (t, t + 1)
/// for begin <= t < end - 1. Splits by trajectory or by time block are lists of these.
struct Segment {
  std::int64_t traj = 0, begin = 0, end = 0;
};

struct NeepTrainStats {
  std::int64_t steps_done = 0;  ///< fewer than asked when cancelled
  double mean_loss = 0.0;       ///< mean minibatch loss over the steps done
};

/// Neural estimator of entropy production (NEEP, methods.md §1) with an MLP
/// h(s, s') over continuous states or embedded tokens. ΔS(s, s') = h(s, s') -
/// h(s', s); both orders go through the network in one batched pass. Training
/// minimises mean(e^{-ΔS} - ΔS) with the OptimizerConfig's method (Adam/AdamW or
/// SGD) on minibatches drawn uniformly (with replacement) from the transitions of
/// the given segments; every random draw is
/// keyed by (seed, step, index), and the work is split into fixed chunks reduced
/// in a fixed order, so results do not depend on the number of threads.
template <class T>
class NeepModel {
 public:
  /// Weights are initialised from init_seed (PyTorch-default scheme).
  NeepModel(const MlpSpec& spec, std::uint64_t init_seed, int n_threads = 0);
  ~NeepModel();
  NeepModel(NeepModel&&) noexcept;
  NeepModel& operator=(NeepModel&&) noexcept;

  const MlpSpec& spec() const;
  std::size_t n_params() const;
  /// Values of T each worker thread's scratch holds for this spec (activations of a
  /// chunk of pairs through every layer): for size checks before construction.
  static std::size_t workspace_values(const MlpSpec& spec);
  T* params();  ///< flat parameter buffer (layout: see nn/mlp.hpp)
  const T* params() const;
  T* adam_m();  ///< Adam first-moment buffer
  T* adam_v();  ///< Adam second-moment buffer
  std::int64_t& adam_step();
  std::int64_t& batch_draws();  ///< minibatches drawn so far: the key of the next one
  /// Held by every method that uses the model's state (one call at a time); hold it while
  /// using the pointers and references above when other threads may call the model.
  CallMutex& call_mutex() const;

  /// Per-component input map x -> (x - shift) * scale applied while reading data
  /// (continuous states only; empty = identity).
  void set_input_transform(const std::vector<double>& shift, const std::vector<double>& scale);

  /// n_steps Adam updates on minibatches of `batch` transitions. The minibatch of
  /// k-th minibatch drawn (batch_draws() before it) is keyed by (sample_seed, k); without
  /// resets to a checkpoint (which restore adam_step, not batch_draws) k is the update number.
  NeepTrainStats train(const StateArray& data, const std::vector<Segment>& segments, std::int64_t n_steps,
                       int batch, const OptimizerConfig& optimizer, std::uint64_t sample_seed,
                       const std::atomic<bool>* cancel = nullptr);

  /// ΔS of every transition of the segments, in order, into out (Σ (end - begin - 1)
  /// entries). Returns false when cancelled.
  bool delta_s(const StateArray& data, const std::vector<Segment>& segments, double* out,
               const std::atomic<bool>* cancel = nullptr);
  /// Number of ΔS values (transitions) delta_s writes for these segments.
  std::int64_t n_delta_s(const StateArray& data, const std::vector<Segment>& segments) const;

  /// Mean loss over every transition of the segments and its gradient (n_params
  /// entries); no update. For gradient checks and diagnostics.
  double loss_and_grad(const StateArray& data, const std::vector<Segment>& segments, T* grad);

  /// Network output h for explicit inputs: x is (n, input_width) row-major
  /// (continuous) — the numpy reference test uses it.
  void forward_rows(const T* x, std::int64_t n, T* out);

 private:
  NnIsaCheck isa_check_;  // first: refuses a CPU without nn_isa() before any of its code runs
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class NeepModel<float>;
extern template class NeepModel<double>;

}  // namespace stochinfer
