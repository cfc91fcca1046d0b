// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "stochinfer/neep.hpp"

namespace stochinfer {

/// RNEEP network: a window of `window` tokens, each embedded in embed_dim reals,
/// runs through a one-layer GRU (hidden units, zero initial state); the outputs are
/// averaged over time and a Linear(hidden, 1) gives g(w) (methods.md §1.4 (c)).
struct RneepSpec {
  int n_tokens = 0;
  int embed_dim = 128;
  int hidden = 128;
  int window = 32;
  void validate() const;
};

/// Recurrent NEEP for partially observed (non-Markovian) token sequences:
/// ΔS(w) = g(w) − g(w reversed), trained on the NEEP loss over windows drawn
/// uniformly (stride 1); read out on windows of stride window − 1 (consecutive
/// windows share an endpoint). Same threading and determinism as NeepModel.
template <class T>
class RneepModel {
 public:
  RneepModel(const RneepSpec& spec, std::uint64_t init_seed, int n_threads = 0);
  ~RneepModel();
  RneepModel(RneepModel&&) noexcept;
  RneepModel& operator=(RneepModel&&) noexcept;

  const RneepSpec& spec() const;
  std::size_t n_params() const;
  /// Values of T each worker thread's scratch holds for this spec (the GRU's tape of a
  /// chunk of windows, the embedding's projections): for size checks before construction.
  static std::size_t workspace_values(const RneepSpec& spec);
  T* params();  ///< [E (embed x n_tokens)] [W_i (3H x embed)] [b_i] [W_h (3H x H)] [b_h] [w_out (H)] [b_out]
  const T* params() const;
  T* adam_m();
  T* adam_v();
  std::int64_t& adam_step();
  std::int64_t& batch_draws();  ///< minibatches drawn so far: the key of the next one
  /// Held by every method that uses the model's state (one call at a time); hold it while
  /// using the pointers and references above when other threads may call the model.
  CallMutex& call_mutex() const;

  NeepTrainStats train(const StateArray& tokens, const std::vector<Segment>& segments, std::int64_t n_steps,
                       int batch, const OptimizerConfig& optimizer, std::uint64_t sample_seed,
                       const std::atomic<bool>* cancel = nullptr);
  /// ΔS of the windows of stride window − 1 of every segment, in order.
  bool delta_s(const StateArray& tokens, const std::vector<Segment>& segments, double* out,
               const std::atomic<bool>* cancel = nullptr);
  /// Number of ΔS values (read-out windows) delta_s writes for these segments.
  std::int64_t n_delta_s(const StateArray& tokens, const std::vector<Segment>& segments) const;
  /// Mean loss over the read-out windows and its gradient (no update).
  double loss_and_grad(const StateArray& tokens, const std::vector<Segment>& segments, T* grad);

 private:
  NnIsaCheck isa_check_;  // first: refuses a CPU without nn_isa() before any of its code runs
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class RneepModel<float>;
extern template class RneepModel<double>;

}  // namespace stochinfer
