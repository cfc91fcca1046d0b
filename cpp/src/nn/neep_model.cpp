// SPDX-License-Identifier: MIT
// NEEP training and evaluation on CPU threads. Compiled for the network
// instruction set (STOCHINFER_NN_ISA) inside its own ISA namespace.
#include "stochinfer/neep.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "stochinfer/losses/neep.hpp"
#include "stochinfer/nn/flush_denormals.hpp"
#include "stochinfer/nn/input_transform.hpp"
#include "stochinfer/nn/mlp.hpp"
#include "stochinfer/nn/training_loop.hpp"

namespace stochinfer {
namespace {
/// Pairs per chunk: about 64k activations per layer (L2-sized; 256 pairs at width 256,
/// 1024 at width 64, where bigger products run at a better fraction of peak). A
/// function of the network only, so results stay independent of the thread count. The
/// gathered inputs (input_width x 2 chunk per worker) are capped at ~8M values, which only
/// very wide states reach (input width > 4096 at width 64).
int chunk_pairs(const MlpSpec& s) {
  const int by_hidden = std::max(32, std::min(4096, 65536 / s.hidden));
  return std::min(by_hidden, std::max(32, (1 << 22) / std::max(1, s.input_width())));
}
}  // namespace

template <class T>
struct NeepModel<T>::Impl {
  mutable CallMutex call_mutex;  // detail/call_lock.hpp
  using Mlp = nn::Mlp<T>;
  Mlp mlp;
  int kChunk;  // pairs per chunk
  nn::OptimState<T> opt;
  ThreadPool pool;
  std::vector<typename Mlp::Workspace> ws;   // per worker
  std::vector<nn::Mat<T>> dout;              // per worker, 1 x 2 kChunk
  std::vector<double> shift, scale;

  Impl(const MlpSpec& spec, std::uint64_t seed, int n_threads)
      : mlp(checked(spec)), kChunk(chunk_pairs(spec)), opt(mlp.n_params()), pool(n_threads) {
    mlp.init(opt.p.data(), seed);
    ws.resize(pool.size());
    for (auto& w : ws) mlp.reserve(w, 2 * kChunk);
    dout.assign(pool.size(), nn::Mat<T>(1, 2 * kChunk));
  }

  // the pair gather writes 2 states per column and the loss reads one output per pair
  static const MlpSpec& checked(const MlpSpec& s) {
    if (s.n_states != 2) throw std::invalid_argument("NEEP takes pairs of states: n_states must be 2");
    if (s.out_dim != 1) throw std::invalid_argument("NEEP outputs one scalar per pair: out_dim must be 1");
    return s;
  }

  void check_data(const StateArray& a) const {
    const MlpSpec& s = mlp.spec();
    if (!a.data) throw std::invalid_argument("data is empty");
    if (s.n_tokens > 0) {
      if (a.type != StateType::int32 || a.dim != 1)
        throw std::invalid_argument("this network embeds tokens: data must be int32 token paths");
    } else {
      if (a.type != StateType::float32 && a.type != StateType::float64)
        throw std::invalid_argument("this network takes real-valued states (float32 or float64), not tokens");
      if (a.dim != s.state_dim)
        throw std::invalid_argument("data has " + std::to_string(a.dim) + " components per state, the network " +
                                    std::to_string(s.state_dim));
    }
  }

  /// Columns i and n + i of worker w's input: [s_t; s_t+1] and [s_t+1; s_t].
  void gather_pairs(const StateArray& a, const std::int64_t* trj, const std::int64_t* tim, int n, int w) {
    const MlpSpec& s = mlp.spec();
    auto& wk = ws[w];
    if (s.n_tokens > 0) {
      const int* base = static_cast<const int*>(a.data);
      for (int i = 0; i < n; ++i) {
        const std::int64_t o = trj[i] * a.length + tim[i];
        const int t0 = base[o], t1 = base[o + 1];
        if (t0 < 0 || t0 >= s.n_tokens || t1 < 0 || t1 >= s.n_tokens)
          throw std::invalid_argument("token out of range [0, " + std::to_string(s.n_tokens) + ")");
        wk.tokens[2 * i] = t0;
        wk.tokens[2 * i + 1] = t1;
        wk.tokens[2 * (n + i)] = t1;
        wk.tokens[2 * (n + i) + 1] = t0;
      }
    } else if (a.type == StateType::float32) {
      gather_real_pairs(static_cast<const float*>(a.data), a, trj, tim, n, wk);
    } else {
      gather_real_pairs(static_cast<const double*>(a.data), a, trj, tim, n, wk);
    }
  }

  template <class S>
  void gather_real_pairs(const S* base, const StateArray& a, const std::int64_t* trj, const std::int64_t* tim,
                         int n, typename Mlp::Workspace& w) const {
    const int d = static_cast<int>(a.dim);
    const bool affine = !shift.empty();
    for (int i = 0; i < n; ++i) {
      const S* x0 = base + (trj[i] * a.length + tim[i]) * a.dim;
      const S* x1 = x0 + a.dim;
      T* c = w.x0.data() + std::int64_t(i) * 2 * d;
      T* r = w.x0.data() + std::int64_t(n + i) * 2 * d;
      for (int k = 0; k < d; ++k) {
        const T u0 = affine ? T((double(x0[k]) - shift[k]) * scale[k]) : T(x0[k]);
        const T u1 = affine ? T((double(x1[k]) - shift[k]) * scale[k]) : T(x1[k]);
        c[k] = u0;
        c[d + k] = u1;
        r[k] = u1;
        r[d + k] = u0;
      }
    }
  }

  /// The ItemGrad of train_loop / full_gradient for these data.
  auto item_grad(const StateArray& data) {
    return [this, &data](const std::int64_t* trj, const std::int64_t* tim, int n, int w, double denom, T* g) {
      gather_pairs(data, trj, tim, n, w);
      return pair_grad(w, n, denom, g);
    };
  }

  /// Forward + backward of the n pairs loaded in worker w: returns their loss sum,
  /// writes the gradient of (loss sum / denom) into g.
  double pair_grad(int w, int n, double denom, T* g) {
    auto& wk = ws[w];
    mlp.forward(opt.p.data(), wk, 2 * n);
    const double sum = neep_antisymmetric_loss(wk.out.data(), n, denom, dout[w].data(), "NEEP");
    mlp.backward(opt.p.data(), wk, 2 * n, dout[w].data(), g);
    return sum;
  }
};

template <class T>
NeepModel<T>::NeepModel(const MlpSpec& spec, std::uint64_t init_seed, int n_threads)
    : impl_(std::make_unique<Impl>(spec, init_seed, n_threads)) {}
template <class T>
NeepModel<T>::~NeepModel() = default;
template <class T>
NeepModel<T>::NeepModel(NeepModel&&) noexcept = default;
template <class T>
NeepModel<T>& NeepModel<T>::operator=(NeepModel&&) noexcept = default;

template <class T>
const MlpSpec& NeepModel<T>::spec() const { return impl_->mlp.spec(); }
template <class T>
std::size_t NeepModel<T>::workspace_values(const MlpSpec& spec) {
  const int cols = 2 * chunk_pairs(spec);
  return nn::Mlp<T>::workspace_values(spec, cols) + std::size_t(cols);  // + dout
}
template <class T>
std::size_t NeepModel<T>::n_params() const { return impl_->opt.p.size(); }
template <class T>
T* NeepModel<T>::params() { return impl_->opt.p.data(); }
template <class T>
const T* NeepModel<T>::params() const { return impl_->opt.p.data(); }
template <class T>
T* NeepModel<T>::adam_m() { return impl_->opt.m.data(); }
template <class T>
T* NeepModel<T>::adam_v() { return impl_->opt.v.data(); }
template <class T>
std::int64_t& NeepModel<T>::adam_step() { return impl_->opt.step; }
template <class T>
std::int64_t& NeepModel<T>::batch_draws() { return impl_->opt.draws; }
template <class T>
CallMutex& NeepModel<T>::call_mutex() const { return impl_->call_mutex; }

template <class T>
void NeepModel<T>::set_input_transform(const std::vector<double>& shift, const std::vector<double>& scale) {
  const CallLock lock(impl_->call_mutex);
  const MlpSpec& s = impl_->mlp.spec();
  nn::check_input_transform(shift, scale);
  if (!shift.empty() && (s.n_tokens > 0 || int(shift.size()) != s.state_dim))
    throw std::invalid_argument("input transform needs one (shift, scale) per state component");
  impl_->shift = shift;
  impl_->scale = scale;
}

template <class T>
NeepTrainStats NeepModel<T>::train(const StateArray& data, const std::vector<Segment>& segs, std::int64_t n_steps,
                                   int batch, const OptimizerConfig& optimizer, std::uint64_t sample_seed,
                                   const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return {};
  Impl& I = *impl_;
  I.check_data(data);
  if (segs.empty()) throw std::invalid_argument("no training transitions");
  if (batch < 1) throw std::invalid_argument("batch must be >= 1");
  const nn::WindowIndex index(data, segs, 2, 1);
  return nn::train_loop(I.pool, I.opt, index, n_steps, batch, I.kChunk, optimizer, sample_seed, cancel, I.item_grad(data));
}

template <class T>
std::int64_t NeepModel<T>::n_delta_s(const StateArray& data, const std::vector<Segment>& segs) const {
  return nn::WindowIndex(data, segs, 2, 1).size();
}

template <class T>
bool NeepModel<T>::delta_s(const StateArray& data, const std::vector<Segment>& segs, double* out,
                           const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return false;
  Impl& I = *impl_;
  I.check_data(data);
  const nn::WindowIndex index(data, segs, 2, 1);
  return nn::evaluate_loop(I.pool, index, I.kChunk, cancel,
                           [&](const std::int64_t* trj, const std::int64_t* tim, int n, int w, std::int64_t lo) {
                             I.gather_pairs(data, trj, tim, n, w);
                             I.mlp.forward(I.opt.p.data(), I.ws[w], 2 * n);
                             const T* h = I.ws[w].out.data();
                             for (int i = 0; i < n; ++i) out[lo + i] = double(h[i]) - double(h[n + i]);
                           });
}

template <class T>
double NeepModel<T>::loss_and_grad(const StateArray& data, const std::vector<Segment>& segs, T* grad) {
  const CallLock lock(impl_->call_mutex);
  Impl& I = *impl_;
  I.check_data(data);
  const nn::WindowIndex index(data, segs, 2, 1);
  return nn::full_gradient(I.pool, I.opt, index, I.kChunk, grad, I.item_grad(data));
}

template <class T>
void NeepModel<T>::forward_rows(const T* x, std::int64_t n, T* out) {
  const CallLock lock(impl_->call_mutex);
  Impl& I = *impl_;
  nn::FlushDenormals ftz;
  const int kChunk = I.kChunk;
  const MlpSpec& s = I.mlp.spec();
  if (s.n_tokens > 0) throw std::invalid_argument("forward_rows takes real-valued inputs");
  const int width = s.input_width();
  auto& w = I.ws[0];
  for (std::int64_t lo = 0; lo < n; lo += 2 * kChunk) {
    const int m = static_cast<int>(std::min<std::int64_t>(2 * kChunk, n - lo));
    std::copy(x + lo * width, x + (lo + m) * width, w.x0.data());  // row-major rows = columns
    I.mlp.forward(I.opt.p.data(), w, m);
    std::copy(w.out.data(), w.out.data() + m, out + lo);
  }
}

template class NeepModel<float>;
template class NeepModel<double>;

}  // namespace stochinfer
