// SPDX-License-Identifier: MIT
// MLP classifier training and evaluation on CPU threads (methods.md §4), compiled
// for the network instruction set like the other estimators.
#include "stochinfer/classifier.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "stochinfer/losses/classification.hpp"
#include "stochinfer/nn/flush_denormals.hpp"
#include "stochinfer/nn/input_transform.hpp"
#include "stochinfer/nn/mlp.hpp"
#include "stochinfer/nn/training_loop.hpp"

namespace stochinfer {
namespace {
/// Samples per chunk: about 64k values in the widest layer (input, hidden or class
/// logits), a function of the network only (thread-count invariance), as NEEP's.
/// stochinfer.Classifier's memory pre-check repeats this formula.
int chunk_rows(const MlpSpec& s) {
  return std::max(32, std::min(4096, 65536 / std::max({s.hidden, s.out_dim, s.state_dim})));
}
}  // namespace

template <class T>
struct ClassifierModel<T>::Impl {
  mutable CallMutex call_mutex;  // detail/call_lock.hpp
  using Mlp = nn::Mlp<T>;
  Mlp mlp;
  ClassLossSpec loss;
  int kChunk;
  nn::OptimState<T> opt;
  ThreadPool pool;
  std::vector<typename Mlp::Workspace> ws;  // per worker
  std::vector<nn::Mat<T>> dout;             // per worker, n_classes x kChunk
  std::vector<std::vector<int>> labels;     // per worker, the chunk's labels
  std::vector<std::vector<double>> chunk_targets;  // ELR, per worker: the chunk's targets (C x kChunk)
  std::vector<double> targets;        // ELR: running target of every row of the training table (rows x C)
  std::vector<double> batch_targets;  // ELR: the current minibatch's moved targets (batch x C)
  std::vector<double> row_weights;    // truncated GCE: weight of every row of the table (empty: all 1)
  std::vector<std::vector<double>> chunk_weights;  // truncated GCE, per worker: the chunk's weights
  std::vector<double> shift, scale;

  Impl(const MlpSpec& spec, const ClassLossSpec& l, std::uint64_t seed, int n_threads)
      : mlp(checked(spec)), loss(l), kChunk(chunk_rows(spec)), opt(mlp.n_params()), pool(n_threads) {
    loss.validate();
    mlp.init(opt.p.data(), seed);
    ws.resize(pool.size());
    for (auto& w : ws) mlp.reserve(w, kChunk);
    dout.assign(pool.size(), nn::Mat<T>(spec.out_dim, kChunk));
    labels.assign(pool.size(), std::vector<int>(kChunk));
    if (loss.kind == ClassLoss::elr)
      chunk_targets.assign(pool.size(), std::vector<double>(std::size_t(kChunk) * spec.out_dim));
    if (loss.kind == ClassLoss::tgce) chunk_weights.assign(pool.size(), std::vector<double>(kChunk));
  }

  static const MlpSpec& checked(const MlpSpec& s) {
    if (s.n_tokens != 0 || s.n_states != 1)
      throw std::invalid_argument("a classifier takes one real-valued feature vector per sample");
    if (s.out_dim < 2) throw std::invalid_argument("a classifier needs at least 2 classes");
    return s;
  }

  void check_features(const StateArray& a) const {
    if (!a.data) throw std::invalid_argument("features are empty");
    if (a.type != StateType::float32 && a.type != StateType::float64)
      throw std::invalid_argument("features must be float32 or float64");
    if (a.length != 1) throw std::invalid_argument("features must be a table: one row per sample");
    if (a.dim != mlp.spec().state_dim)
      throw std::invalid_argument("features have " + std::to_string(a.dim) + " columns, the network " +
                                  std::to_string(mlp.spec().state_dim));
  }
  void check(const LabelledTable& d) const {
    check_features(d.features);
    if (!d.labels) throw std::invalid_argument("labels are empty");
  }

  /// Loads rows[0..n) into worker w's input columns.
  void gather(const StateArray& a, const std::int64_t* rows, int n, int w) {
    if (a.type == StateType::float32)
      gather_rows(static_cast<const float*>(a.data), a, rows, n, ws[w]);
    else
      gather_rows(static_cast<const double*>(a.data), a, rows, n, ws[w]);
  }
  template <class S>
  void gather_rows(const S* base, const StateArray& a, const std::int64_t* rows, int n,
                   typename Mlp::Workspace& w) const {
    const int d = static_cast<int>(a.dim);
    const bool affine = !shift.empty();
    for (int i = 0; i < n; ++i) {
      const S* x = base + rows[i] * a.dim;
      T* c = w.x0.data() + std::int64_t(i) * d;
      for (int k = 0; k < d; ++k) c[k] = affine ? T((double(x[k]) - shift[k]) * scale[k]) : T(x[k]);
    }
  }

  /// Forward (and, with g, backward) of rows[0..n) on worker w: their loss sum. ELR
  /// reads the rows' running targets (zero for a table they were not kept for); with
  /// moved non-null (training) it moves them and writes the moved ones there.
  double rows_loss(const LabelledTable& d, const std::int64_t* rows, int n, int w, double denom, T* g,
                   std::int64_t* correct = nullptr, double* moved = nullptr) {
    gather(d.features, rows, n, w);
    int* y = labels[w].data();
    for (int i = 0; i < n; ++i) y[i] = d.labels[rows[i]];
    const int C = mlp.spec().out_dim;
    const double* t = nullptr;
    if (loss.kind == ClassLoss::elr && targets.size() == std::size_t(d.features.n_traj) * C) {
      double* tw = chunk_targets[w].data();
      for (int i = 0; i < n; ++i) std::copy_n(targets.data() + rows[i] * C, C, tw + std::size_t(i) * C);
      t = tw;
    }
    const double* wt = nullptr;
    if (loss.kind == ClassLoss::tgce && row_weights.size() == std::size_t(d.features.n_traj)) {
      double* cw = chunk_weights[w].data();
      for (int i = 0; i < n; ++i) cw[i] = row_weights[rows[i]];
      wt = cw;
    }
    mlp.forward(opt.p.data(), ws[w], n);
    const double sum = classification_loss(loss, ws[w].out.data(), y, n, C, denom, g ? dout[w].data() : nullptr,
                                           correct, t, moved, wt);
    if (g) mlp.backward(opt.p.data(), ws[w], n, dout[w].data(), g);
    return sum;
  }

  /// The ItemGrad of full_gradient (targets as kept) or, training = true, of
  /// train_loop (ELR targets moved into batch_targets at the items' minibatch positions).
  auto item_grad(const LabelledTable& d, bool training = false) {
    return [this, &d, training](const std::int64_t* rows, const std::int64_t*, int n, int w, double denom, T* g) {
      double* moved = nullptr;
      if (training && loss.kind == ClassLoss::elr)
        moved = batch_targets.data() + (rows - opt.trj.data()) * mlp.spec().out_dim;
      return rows_loss(d, rows, n, w, denom, g, nullptr, moved);
    };
  }
};

template <class T>
ClassifierModel<T>::ClassifierModel(const MlpSpec& spec, const ClassLossSpec& loss, std::uint64_t init_seed,
                                    int n_threads)
    : impl_(std::make_unique<Impl>(spec, loss, init_seed, n_threads)) {}
template <class T>
ClassifierModel<T>::~ClassifierModel() = default;
template <class T>
ClassifierModel<T>::ClassifierModel(ClassifierModel&&) noexcept = default;
template <class T>
ClassifierModel<T>& ClassifierModel<T>::operator=(ClassifierModel&&) noexcept = default;

template <class T>
const MlpSpec& ClassifierModel<T>::spec() const { return impl_->mlp.spec(); }
template <class T>
int ClassifierModel<T>::n_classes() const { return impl_->mlp.spec().out_dim; }
template <class T>
std::size_t ClassifierModel<T>::n_params() const { return impl_->opt.p.size(); }
template <class T>
std::vector<std::size_t> ClassifierModel<T>::layer_offsets() const {
  std::vector<std::size_t> out;
  for (int l = 0; l <= impl_->mlp.spec().n_layers + 1; ++l) out.push_back(impl_->mlp.offset(l));
  return out;
}
template <class T>
T* ClassifierModel<T>::params() { return impl_->opt.p.data(); }
template <class T>
const T* ClassifierModel<T>::params() const { return impl_->opt.p.data(); }
template <class T>
T* ClassifierModel<T>::adam_m() { return impl_->opt.m.data(); }
template <class T>
T* ClassifierModel<T>::adam_v() { return impl_->opt.v.data(); }
template <class T>
std::int64_t& ClassifierModel<T>::adam_step() { return impl_->opt.step; }
template <class T>
std::int64_t& ClassifierModel<T>::batch_draws() { return impl_->opt.draws; }
template <class T>
CallMutex& ClassifierModel<T>::call_mutex() const { return impl_->call_mutex; }

template <class T>
void ClassifierModel<T>::set_input_transform(const std::vector<double>& shift, const std::vector<double>& scale) {
  const CallLock lock(impl_->call_mutex);
  nn::check_input_transform(shift, scale);
  if (!shift.empty() && int(shift.size()) != impl_->mlp.spec().state_dim)
    throw std::invalid_argument("input transform needs one (shift, scale) per feature");
  impl_->shift = shift;
  impl_->scale = scale;
}

template <class T>
NeepTrainStats ClassifierModel<T>::train(const LabelledTable& d, const std::vector<std::int64_t>& rows,
                                         std::int64_t n_steps, int batch, const OptimizerConfig& optimizer,
                                         std::uint64_t sample_seed, const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return {};
  Impl& I = *impl_;
  I.check(d);
  if (rows.empty()) throw std::invalid_argument("no training rows");
  if (batch < 1) throw std::invalid_argument("batch must be >= 1");
  const nn::RowIndex index(rows, d.features.n_traj);
  if (I.loss.kind != ClassLoss::elr)
    return nn::train_loop(I.pool, I.opt, index, n_steps, batch, I.kChunk, optimizer, sample_seed, cancel,
                          I.item_grad(d, true));
  // ELR: one update at a time, each followed by the write-back of its minibatch's moved
  // targets (a row drawn twice moves to the same value from both draws: same network)
  const int C = I.mlp.spec().out_dim;
  if (I.targets.size() != std::size_t(d.features.n_traj) * C) I.targets.assign(std::size_t(d.features.n_traj) * C, 0.0);
  I.batch_targets.resize(std::size_t(batch) * C);
  NeepTrainStats total;
  double loss_sum = 0.0;
  for (std::int64_t s = 0; s < n_steps; ++s) {
    const NeepTrainStats one = nn::train_loop(I.pool, I.opt, index, 1, batch, I.kChunk, optimizer, sample_seed,
                                              cancel, I.item_grad(d, true));
    if (one.steps_done == 0) break;
    for (int i = 0; i < batch; ++i)
      std::copy_n(I.batch_targets.data() + std::size_t(i) * C, C, I.targets.data() + I.opt.trj[i] * C);
    ++total.steps_done;
    loss_sum += one.mean_loss;
  }
  total.mean_loss = total.steps_done ? loss_sum / double(total.steps_done) : 0.0;
  return total;
}

template <class T>
std::vector<double>& ClassifierModel<T>::elr_targets() { return impl_->targets; }
template <class T>
std::vector<double>& ClassifierModel<T>::row_weights() { return impl_->row_weights; }

template <class T>
double ClassifierModel<T>::loss_and_grad(const LabelledTable& d, const std::vector<std::int64_t>& rows, T* grad) {
  const CallLock lock(impl_->call_mutex);
  Impl& I = *impl_;
  I.check(d);
  const nn::RowIndex index(rows, d.features.n_traj);
  return nn::full_gradient(I.pool, I.opt, index, I.kChunk, grad, I.item_grad(d));
}

template <class T>
bool ClassifierModel<T>::evaluate(const LabelledTable& d, const std::vector<std::int64_t>& rows, double& mean_loss,
                                  double& accuracy, const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return false;
  Impl& I = *impl_;
  I.check(d);
  if (rows.empty()) throw std::invalid_argument("no rows to evaluate");
  const nn::RowIndex index(rows, d.features.n_traj);
  const std::int64_t n_chunks = (index.size() + I.kChunk - 1) / I.kChunk;
  // per-chunk sums, added in chunk order: the same result for any thread count
  std::vector<double> loss(n_chunks, 0.0);
  std::vector<std::int64_t> correct(n_chunks, 0);
  const bool done = nn::evaluate_loop(I.pool, index, I.kChunk, cancel,
                                      [&](const std::int64_t* r, const std::int64_t*, int n, int w, std::int64_t lo) {
                                        const std::int64_t c = lo / I.kChunk;
                                        loss[c] = I.rows_loss(d, r, n, w, 1.0, nullptr, &correct[c]);
                                      });
  double l = 0.0;
  std::int64_t k = 0;
  for (std::int64_t c = 0; c < n_chunks; ++c) l += loss[c], k += correct[c];
  mean_loss = l / double(index.size());
  accuracy = double(k) / double(index.size());
  return done;
}

template <class T>
bool ClassifierModel<T>::logits(const StateArray& features, const std::vector<std::int64_t>& rows, double* out,
                                const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return false;
  Impl& I = *impl_;
  I.check_features(features);
  const nn::RowIndex index(rows, features.n_traj);
  const int C = I.mlp.spec().out_dim;
  return nn::evaluate_loop(I.pool, index, I.kChunk, cancel,
                           [&](const std::int64_t* r, const std::int64_t*, int n, int w, std::int64_t lo) {
                             I.gather(features, r, n, w);
                             I.mlp.forward(I.opt.p.data(), I.ws[w], n);
                             const T* z = I.ws[w].out.data();
                             for (std::int64_t i = 0; i < std::int64_t(n) * C; ++i) out[lo * C + i] = double(z[i]);
                           });
}

template class ClassifierModel<float>;
template class ClassifierModel<double>;

}  // namespace stochinfer
