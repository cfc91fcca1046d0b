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

/// Regression rows owned by the caller: inputs X (n x in_dim) and labels Y
/// (n x out_dim), both row-major in the network's precision.
template <class T>
struct RegressionData {
  const T* x = nullptr;
  const T* y = nullptr;
  std::int64_t n = 0;
};

/// One training run's settings (methods.md §3.2, §3.4).
struct LangevinTrainConfig {
  int batch = 128;             ///< rows per minibatch (drawn with replacement)
  int n_samples = 3;           ///< K weight samples per minibatch (Bayesian layers)
  double kl_weight = 0.0;      ///< β / N_batches: weight of the mean KL per parameter
  KlGradient kl_gradient = KlGradient::elbo;
  OptimizerConfig optimizer = AdamConfig{};  ///< Adam/AdamW (default) or SGD with momentum
  std::uint64_t seed = 0;      ///< keys minibatches and weight noise with the update number
  void validate() const;
};

struct LangevinTrainStats {
  std::int64_t steps_done = 0;  ///< fewer than asked when cancelled
  double mean_loss = 0.0;       ///< mean objective (NLL + KL term) over steps and members
};

/// A drift or diffusion network of the Langevin Bayesian network estimator
/// (methods.md §3), or a deep ensemble of `n_members` such networks trained
/// together: every update draws one minibatch per member from that member's rows
/// (a bootstrap resample gives a bagged ensemble) and K weight samples, so the
/// members run in one batched, threaded pass. Every draw is keyed by (seed,
/// update number, member, sample), and the work is split into fixed chunks
/// reduced in a fixed order: results do not depend on the thread count.
/// Calls on one network from several threads run one at a time (detail/call_lock.hpp).
/// Member e starts from weights drawn with init_seed + e: networks meant to start
/// independently need init seeds at least n_members apart.
template <class T>
class LangevinNet {
 public:
  LangevinNet(const BayesMlpSpec& net, const HeadSpec& head, int n_members, std::uint64_t init_seed,
              int n_threads = 0);
  ~LangevinNet();
  LangevinNet(LangevinNet&&) noexcept;
  LangevinNet& operator=(LangevinNet&&) noexcept;

  /// Values (of T) each worker thread's scratch holds for this network: a chunk of
  /// points through every layer, labels and gradient scratch; for size checks before a
  /// network is built (the per-member parameters, moments and accumulators come on top).
  static std::size_t workspace_values(const BayesMlpSpec& net);

  const BayesMlpSpec& net_spec() const;
  const HeadSpec& head_spec() const;
  int n_members() const;
  std::size_t n_params_member() const;
  std::size_t n_params() const;  ///< all members: member e owns [e * n_params_member, ...)
  /// The parameters, writable. Predictions cache posterior weight samples (and the mean
  /// weights) until the parameters change; this call marks them changed, so writes made
  /// through the pointer before the next prediction are seen. After a prediction, call
  /// params() again (or invalidate_posterior()) before writing through a kept pointer.
  T* params();
  const T* params() const;  ///< read only: keeps the cache
  void set_params(const T* values);  ///< copies n_params() values and drops the cache
  void invalidate_posterior();  ///< drops the cached posterior samples
  T* adam_m();
  T* adam_v();
  std::int64_t& adam_step();
  std::int64_t& batch_draws();  ///< minibatches drawn so far: the key of the next one
  /// Held by every method that uses the network's state; hold it while using the
  /// pointers and references above when other threads may call the network.
  CallMutex& call_mutex() const;

  /// Polynomial base field of the affine (drift) head: member e adds Σ_i m_i(x) A_e[i]
  /// to its field, m_i the monomials of the input x up to `degree` (1–3, the order
  /// of nn/polynomial.hpp; degree 1: [1, x]) and A_e the n_monomials(in_dim,
  /// degree) x out_dim row-major block e of `coeffs` (field units), so the network
  /// learns the residual from a least-squares fit. Empty: none.
  /// chol: optional lower Cholesky factors (row-major, q x q per member, q =
  /// n_monomials out_dim) of the covariance of A_e's entries. With it, posterior
  /// predictions (predict with n_samples > 0) draw A_e + chol ξ for sample s = 2j and
  /// A_e − chol ξ for s = 2j + 1 (antithetic pairs), ξ keyed by (seed,
  /// linear_base_sample, e << 32 | 2j); training, nll and the mean weights use A_e.
  void set_linear_base(const std::vector<double>& coeffs, const std::vector<double>& chol = {}, int degree = 1);
  const std::vector<double>& linear_base() const;
  const std::vector<double>& linear_base_chol() const;
  int linear_base_degree() const;
  /// Zeroes every member's output layer (weight means if Bayesian): the network
  /// starts as its linear base exactly.
  void zero_output_layer();

  /// n_steps Adam updates. rows[e] lists member e's training rows (indices into
  /// data, repeats allowed); a single list is shared by every member.
  LangevinTrainStats train(const RegressionData<T>& data, const std::vector<std::vector<std::int64_t>>& rows,
                           std::int64_t n_steps, const LangevinTrainConfig& cfg,
                           const std::atomic<bool>* cancel = nullptr);

  /// Objective of one update on the given rows with the weight noise of update
  /// `step` (the minibatch loss the training minimises, here over all listed
  /// rows), summed over members, and its gradient over all members' parameters.
  /// For gradient checks.
  double objective_and_grad(const RegressionData<T>& data, const std::vector<std::vector<std::int64_t>>& rows,
                            const LangevinTrainConfig& cfg, std::int64_t step, T* grad);

  /// Mean NLL ½‖y - prediction‖² over the rows, per member, averaged over
  /// n_samples weight samples keyed by seed (n_samples = 0: mean weights). rows: one
  /// list scored by every member, or one per member (member e is scored on rows[e],
  /// e.g. its out-of-bag rows; lengths may differ).
  std::vector<double> nll(const RegressionData<T>& data, const std::vector<std::vector<std::int64_t>>& rows,
                          int n_samples, std::uint64_t seed, const std::atomic<bool>* cancel = nullptr);
  /// The same for one list of n_rows rows scored by every member.
  std::vector<double> nll(const RegressionData<T>& data, const std::int64_t* rows, std::int64_t n_rows,
                          int n_samples, std::uint64_t seed, const std::atomic<bool>* cancel = nullptr);

  /// Mean KL per Bayesian parameter of member e (0 without Bayesian layers).
  double kl_mean(int member) const;

  /// Fields at n input rows x (n x in_dim) for n_samples posterior weight samples
  /// per member (keyed by seed; n_samples = 0: the mean weights, one "sample"):
  /// out has shape (U, n, out_dim), U = n_members * max(n_samples, 1). paired:
  /// x holds U blocks of n rows, block u evaluated by sample u only. The samples
  /// stay materialised until the parameters change, so repeated calls with the
  /// same (n_samples, seed) (a simulation loop) do not redraw them. False when cancelled.
  bool predict(const T* x, std::int64_t n, int n_samples, std::uint64_t seed, T* out,
               const std::atomic<bool>* cancel = nullptr, bool paired = false);

 private:
  NnIsaCheck isa_check_;  // first: refuses a CPU without nn_isa() before any of its code runs
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class LangevinNet<float>;
extern template class LangevinNet<double>;

/// Per-point summary of samples (n_samples, n, m): mean, standard deviation
/// (ddof 1; 0 for one sample) and the q_lo, q_hi quantiles (linear interpolation,
/// numpy's default), each written as (n, m). Threaded over points. False when cancelled
/// (the outputs are then incomplete).
template <class T>
bool posterior_summary(const T* samples, std::int64_t n_samples, std::int64_t n, std::int64_t m, double q_lo,
                       double q_hi, double* mean, double* stdev, double* lo, double* hi, int n_threads = 0,
                       const std::atomic<bool>* cancel = nullptr);

}  // namespace stochinfer
