// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "stochinfer/neep.hpp"
#include "stochinfer/nn/types.hpp"
#include "stochinfer/nn_isa.hpp"

namespace stochinfer {

/// A feature table and its class labels: features is a StateArray with n_traj =
/// samples, length = 1 and dim = features per sample (float32 or float64, read in
/// place); labels holds n_traj ints in [0, n_classes).
struct LabelledTable {
  StateArray features;
  const int* labels = nullptr;
};

/// An MLP classifier (MlpSpec with n_states = 1 and out_dim = n_classes) trained on
/// a classification loss (ClassLossSpec) by Adam or SGD with momentum; the test
/// bed of stochastic resetting under label noise (methods.md §4). Minibatches are
/// drawn uniformly with replacement from the given rows, keyed by (sample_seed,
/// minibatch number); work is split into fixed chunks reduced in a fixed order, so
/// results do not depend on the number of threads.
template <class T>
class ClassifierModel {
 public:
  ClassifierModel(const MlpSpec& spec, const ClassLossSpec& loss, std::uint64_t init_seed, int n_threads = 0);
  ~ClassifierModel();
  ClassifierModel(ClassifierModel&&) noexcept;
  ClassifierModel& operator=(ClassifierModel&&) noexcept;

  const MlpSpec& spec() const;
  int n_classes() const;
  std::size_t n_params() const;
  /// Offsets of Dense layer l's parameters, l = 0 … n_layers (the last is the
  /// output layer), and n_params() at the end: layer l is [offsets[l], offsets[l+1]).
  std::vector<std::size_t> layer_offsets() const;
  T* params();
  const T* params() const;
  T* adam_m();  ///< Adam first moment, or SGD's momentum buffer
  T* adam_v();  ///< Adam second moment (unused by SGD)
  std::int64_t& adam_step();    ///< optimiser updates done
  std::int64_t& batch_draws();  ///< minibatches drawn so far: the key of the next one
  /// Held by every method that uses the model's state (one call at a time); hold it while
  /// using the pointers and references above when other threads may call the model.
  CallMutex& call_mutex() const;

  /// Per-feature map x -> (x - shift) * scale applied while reading (empty = identity).
  void set_input_transform(const std::vector<double>& shift, const std::vector<double>& scale);

  /// n_steps updates (Adam or SGD) on minibatches of `batch` rows drawn from `rows`.
  NeepTrainStats train(const LabelledTable& data, const std::vector<std::int64_t>& rows, std::int64_t n_steps,
                       int batch, const OptimizerConfig& optimizer, std::uint64_t sample_seed,
                       const std::atomic<bool>* cancel = nullptr);

  /// ELR's running targets, (table rows x n_classes) row-major: zeros until the first
  /// ELR update on a table; reset to zeros when training moves to a table of another
  /// size. Empty for the other losses. They belong to rows, not to a table: evaluate
  /// and loss_and_grad apply them to any table of the same number of rows (use them
  /// on the training table, or on rows never trained on, whose targets are zero).
  std::vector<double>& elr_targets();
  /// Truncated GCE's weight of every row of the table (one per row; empty: all 1),
  /// applied by train, evaluate and loss_and_grad to a table of that many rows.
  std::vector<double>& row_weights();

  /// Mean loss over the rows and its gradient (n_params entries); no update (ELR:
  /// with the targets as kept, held constant).
  double loss_and_grad(const LabelledTable& data, const std::vector<std::int64_t>& rows, T* grad);

  /// Mean loss and accuracy (fraction whose largest logit is the label) over the
  /// rows; false when cancelled.
  bool evaluate(const LabelledTable& data, const std::vector<std::int64_t>& rows, double& mean_loss,
                double& accuracy, const std::atomic<bool>* cancel = nullptr);

  /// Logits of the rows of a feature table (labels not needed), (rows x n_classes)
  /// row-major into out; false when cancelled.
  bool logits(const StateArray& features, const std::vector<std::int64_t>& rows, double* out,
              const std::atomic<bool>* cancel = nullptr);

 private:
  NnIsaCheck isa_check_;  // first: refuses a CPU without nn_isa() before any of its code runs
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class ClassifierModel<float>;
extern template class ClassifierModel<double>;

}  // namespace stochinfer
