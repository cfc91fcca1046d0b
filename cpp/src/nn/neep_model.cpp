// SPDX-License-Identifier: MIT
// NEEP training and evaluation on CPU threads. Compiled for the network
// instruction set (STOCHINFER_NN_ISA) inside its own ISA namespace.
#include "stochinfer/neep.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "stochinfer/losses/neep.hpp"
#include "stochinfer/nn/adam.hpp"
#include "stochinfer/nn/mlp.hpp"
#include "stochinfer/parallel.hpp"
#include "stochinfer/rng.hpp"

namespace stochinfer {
namespace {

// Fixed work decomposition: pairs are processed in chunks of kChunk, and chunk c
// adds its gradient into group c % kGroups, groups summed in order, so the result
// does not depend on the thread count.
constexpr int kChunk = 256;
constexpr int kGroups = 16;

std::int64_t n_transitions(const std::vector<Segment>& segs) {
  std::int64_t n = 0;
  for (const Segment& s : segs) n += s.end - s.begin - 1;
  return n;
}

void check_segments(const StateArray& a, const std::vector<Segment>& segs) {
  for (const Segment& s : segs)
    if (s.traj < 0 || s.traj >= a.n_traj || s.begin < 0 || s.end > a.length || s.end - s.begin < 2)
      throw std::invalid_argument("segment (" + std::to_string(s.traj) + ", " + std::to_string(s.begin) + ", " +
                                  std::to_string(s.end) + ") is outside the data or shorter than 2 points");
}

}  // namespace

template <class T>
struct NeepModel<T>::Impl {
  using Mlp = nn::Mlp<T>;
  Mlp mlp;
  std::vector<T> p, m, v, grad;
  std::int64_t step = 0;
  ThreadPool pool;
  std::vector<typename Mlp::Workspace> ws;
  std::vector<std::vector<T>> dout;         // per worker, 2 * kChunk
  std::vector<std::vector<T>> group_grad;   // kGroups x n_params
  std::vector<std::vector<T>> chunk_grad;   // per worker scratch, n_params
  std::vector<double> shift, scale;
  std::vector<std::int64_t> tr, tt;         // sampled (trajectory, time) of the current batch

  Impl(const MlpSpec& spec, std::uint64_t seed, int n_threads)
      : mlp(spec), p(mlp.n_params()), m(mlp.n_params(), T(0)), v(mlp.n_params(), T(0)),
        grad(mlp.n_params()), pool(n_threads) {
    mlp.init(p.data(), seed);
    ws.resize(pool.size());
    dout.assign(pool.size(), std::vector<T>(2 * kChunk));
    chunk_grad.assign(pool.size(), std::vector<T>(mlp.n_params()));
    for (auto& w : ws) mlp.reserve(w, 2 * kChunk);
  }

  void check_data(const StateArray& a) const {
    const MlpSpec& s = mlp.spec();
    if (!a.data) throw std::invalid_argument("data is empty");
    if (s.n_tokens > 0) {
      if (a.type != StateType::int32 || a.dim != 1)
        throw std::invalid_argument("this network embeds tokens: data must be int32 token paths");
    } else {
      if (a.type == StateType::int32) throw std::invalid_argument("this network takes real-valued states, got tokens");
      if (a.dim != s.state_dim)
        throw std::invalid_argument("data has " + std::to_string(a.dim) + " components per state, the network " +
                                    std::to_string(s.state_dim));
    }
  }

  /// Columns i and n + i of the workspace input: [s_t; s_t+1] and [s_t+1; s_t].
  void gather_pairs(const StateArray& a, const std::int64_t* trj, const std::int64_t* tim, int n,
                    typename Mlp::Workspace& w) const {
    const MlpSpec& s = mlp.spec();
    if (s.n_tokens > 0) {
      const int* base = static_cast<const int*>(a.data);
      for (int i = 0; i < n; ++i) {
        const std::int64_t o = trj[i] * a.length + tim[i];
        const int t0 = base[o], t1 = base[o + 1];
        if (t0 < 0 || t0 >= s.n_tokens || t1 < 0 || t1 >= s.n_tokens)
          throw std::invalid_argument("token out of range [0, " + std::to_string(s.n_tokens) + ")");
        w.tokens[2 * i] = t0;
        w.tokens[2 * i + 1] = t1;
        w.tokens[2 * (n + i)] = t1;
        w.tokens[2 * (n + i) + 1] = t0;
      }
      return;
    }
    if (a.type == StateType::float32)
      gather_real_pairs(static_cast<const float*>(a.data), a, trj, tim, n, w);
    else
      gather_real_pairs(static_cast<const double*>(a.data), a, trj, tim, n, w);
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

  /// Forward + backward of n pairs in worker w's buffers; adds the loss sum to
  /// *loss_sum and writes the gradient (scaled by 1/denom) into g.
  void pair_grad(int w, int n, double denom, double* loss_sum, T* g) {
    auto& wk = ws[w];
    mlp.forward(p.data(), wk, 2 * n);
    const T* h = wk.out.data();
    T* dy = dout[w].data();
    double sum = 0.0;
    for (int i = 0; i < n; ++i) {
      const double ds = double(h[i]) - double(h[n + i]);
      const double term = neep_loss_term(ds);
      if (!std::isfinite(term))
        throw std::runtime_error("NEEP training diverged: a transition got ΔS = " + std::to_string(ds) +
                                 " and e^{-ΔS} overflowed; lower the learning rate or standardise the input");
      sum += term;
      const T slope = T(neep_loss_slope(ds) / denom);
      dy[i] = slope;
      dy[n + i] = -slope;
    }
    *loss_sum += sum;
    mlp.backward(p.data(), wk, 2 * n, dy, g);
  }

  /// Sums the per-chunk gradients of a batch: chunk c goes to group c % kGroups.
  /// `load(c, w)` fills worker w's input with chunk c and returns its size.
  template <class Load>
  double batch_grad(std::int64_t n_pairs, double denom, Load load) {
    const std::int64_t n_chunks = (n_pairs + kChunk - 1) / kChunk;
    const int n_groups = static_cast<int>(std::min<std::int64_t>(kGroups, n_chunks));
    const std::size_t np = p.size();
    if (group_grad.size() < std::size_t(n_groups)) group_grad.resize(n_groups);
    std::vector<double> group_loss(n_groups, 0.0);
    pool.parallel_for(n_groups, [&](int grp, int w) {
      auto& acc = group_grad[grp];
      acc.resize(np);
      T* tmp = chunk_grad[w].data();
      for (std::int64_t c = grp; c < n_chunks; c += n_groups) {
        const int n = load(c, w);
        const bool first = c == grp;  // the group's first chunk writes its sum directly
        pair_grad(w, n, denom, &group_loss[grp], first ? acc.data() : tmp);
        if (!first)
          for (std::size_t j = 0; j < np; ++j) acc[j] += tmp[j];
      }
    });
    std::copy(group_grad[0].begin(), group_grad[0].end(), grad.begin());
    double loss = group_loss[0];
    for (int grp = 1; grp < n_groups; ++grp) {
      loss += group_loss[grp];
      const T* a = group_grad[grp].data();
      for (std::size_t j = 0; j < np; ++j) grad[j] += a[j];
    }
    return loss / denom;
  }

  void sample_batch(const std::vector<Segment>& segs, const std::vector<std::int64_t>& cum, int batch,
                    std::uint64_t seed, std::int64_t k) {
    tr.resize(batch);
    tt.resize(batch);
    const std::uint64_t total = static_cast<std::uint64_t>(cum.back());
    for (int i = 0; i < batch; i += 2) {
      std::uint32_t c[4];
      philox_block<std::uint32_t>(seed, RngPurpose::minibatch, static_cast<std::uint32_t>(k),
                                  static_cast<std::uint32_t>(std::uint64_t(k) >> 32), std::uint64_t(i / 2), c);
      for (int h = 0; h < 2 && i + h < batch; ++h) {
        const std::uint64_t u = ((std::uint64_t(c[2 * h + 1]) << 32) | c[2 * h]) % total;
        const std::size_t sidx =
            std::upper_bound(cum.begin(), cum.end(), static_cast<std::int64_t>(u)) - cum.begin() - 1;
        tr[i + h] = segs[sidx].traj;
        tt[i + h] = segs[sidx].begin + (static_cast<std::int64_t>(u) - cum[sidx]);
      }
    }
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
std::size_t NeepModel<T>::n_params() const { return impl_->p.size(); }
template <class T>
T* NeepModel<T>::params() { return impl_->p.data(); }
template <class T>
T* NeepModel<T>::adam_m() { return impl_->m.data(); }
template <class T>
T* NeepModel<T>::adam_v() { return impl_->v.data(); }
template <class T>
std::int64_t& NeepModel<T>::adam_step() { return impl_->step; }

template <class T>
void NeepModel<T>::set_input_transform(const std::vector<double>& shift, const std::vector<double>& scale) {
  const MlpSpec& s = impl_->mlp.spec();
  if (shift.size() != scale.size()) throw std::invalid_argument("shift and scale must have the same length");
  if (!shift.empty() && (s.n_tokens > 0 || int(shift.size()) != s.state_dim))
    throw std::invalid_argument("input transform needs one (shift, scale) per state component");
  impl_->shift = shift;
  impl_->scale = scale;
}

template <class T>
NeepTrainStats NeepModel<T>::train(const StateArray& data, const std::vector<Segment>& segs, std::int64_t n_steps,
                                   int batch, const AdamConfig& adam, std::uint64_t sample_seed,
                                   const std::atomic<bool>* cancel) {
  Impl& I = *impl_;
  I.check_data(data);
  check_segments(data, segs);
  adam.validate();
  if (segs.empty()) throw std::invalid_argument("no training transitions");
  if (batch < 1) throw std::invalid_argument("batch must be >= 1");
  std::vector<std::int64_t> cum(segs.size() + 1, 0);
  for (std::size_t k = 0; k < segs.size(); ++k) cum[k + 1] = cum[k] + segs[k].end - segs[k].begin - 1;
  NeepTrainStats st;
  double loss_sum = 0.0;
  for (std::int64_t s = 0; s < n_steps; ++s) {
    if (cancel && cancel->load(std::memory_order_relaxed)) break;
    I.sample_batch(segs, cum, batch, sample_seed, I.step);
    const double loss = I.batch_grad(batch, double(batch), [&](std::int64_t c, int w) {
      const std::int64_t lo = c * kChunk;
      const int n = static_cast<int>(std::min<std::int64_t>(kChunk, batch - lo));
      I.gather_pairs(data, I.tr.data() + lo, I.tt.data() + lo, n, I.ws[w]);
      return n;
    });
    ++I.step;
    nn::adam_update(adam, long(I.step), I.p.data(), I.grad.data(), I.m.data(), I.v.data(), I.p.size());
    loss_sum += loss;
    ++st.steps_done;
  }
  st.mean_loss = st.steps_done ? loss_sum / double(st.steps_done) : 0.0;
  return st;
}

namespace {
/// The (trajectory, time) of transitions [lo, lo + n) of the segments in order.
void transitions_at(const std::vector<Segment>& segs, const std::vector<std::int64_t>& cum, std::int64_t lo, int n,
                    std::int64_t* trj, std::int64_t* tim) {
  std::size_t k = std::upper_bound(cum.begin(), cum.end(), lo) - cum.begin() - 1;
  for (int i = 0; i < n; ++i) {
    while (lo + i >= cum[k + 1]) ++k;
    trj[i] = segs[k].traj;
    tim[i] = segs[k].begin + (lo + i - cum[k]);
  }
}
}  // namespace

template <class T>
bool NeepModel<T>::delta_s(const StateArray& data, const std::vector<Segment>& segs, double* out,
                           const std::atomic<bool>* cancel) {
  Impl& I = *impl_;
  I.check_data(data);
  check_segments(data, segs);
  std::vector<std::int64_t> cum(segs.size() + 1, 0);
  for (std::size_t k = 0; k < segs.size(); ++k) cum[k + 1] = cum[k] + segs[k].end - segs[k].begin - 1;
  const std::int64_t total = cum.back();
  const std::int64_t n_chunks = (total + kChunk - 1) / kChunk;
  const int n_tasks = static_cast<int>(std::min<std::int64_t>(n_chunks, 1 << 20));
  std::vector<std::vector<std::int64_t>> idx(I.pool.size(), std::vector<std::int64_t>(2 * kChunk));
  std::atomic<bool> stopped{false};
  // tasks stride over chunks so any chunk count fits in an int task index
  const std::int64_t stride = n_tasks;
  I.pool.parallel_for(n_tasks, [&](int task, int w) {
    for (std::int64_t c = task; c < n_chunks; c += stride) {
      if (cancel && cancel->load(std::memory_order_relaxed)) {
        stopped = true;
        return;
      }
      const std::int64_t lo = c * kChunk;
      const int n = static_cast<int>(std::min<std::int64_t>(kChunk, total - lo));
      std::int64_t* trj = idx[w].data();
      std::int64_t* tim = trj + kChunk;
      transitions_at(segs, cum, lo, n, trj, tim);
      I.gather_pairs(data, trj, tim, n, I.ws[w]);
      I.mlp.forward(I.p.data(), I.ws[w], 2 * n);
      const T* h = I.ws[w].out.data();
      for (int i = 0; i < n; ++i) out[lo + i] = double(h[i]) - double(h[n + i]);
    }
  });
  return !stopped;
}

template <class T>
double NeepModel<T>::loss_and_grad(const StateArray& data, const std::vector<Segment>& segs, T* grad) {
  Impl& I = *impl_;
  I.check_data(data);
  check_segments(data, segs);
  std::vector<std::int64_t> cum(segs.size() + 1, 0);
  for (std::size_t k = 0; k < segs.size(); ++k) cum[k + 1] = cum[k] + segs[k].end - segs[k].begin - 1;
  const std::int64_t total = cum.back();
  if (total < 1) throw std::invalid_argument("no transitions");
  std::vector<std::vector<std::int64_t>> idx(I.pool.size(), std::vector<std::int64_t>(2 * kChunk));
  const double loss = I.batch_grad(total, double(total), [&](std::int64_t c, int w) {
    const std::int64_t lo = c * kChunk;
    const int n = static_cast<int>(std::min<std::int64_t>(kChunk, total - lo));
    transitions_at(segs, cum, lo, n, idx[w].data(), idx[w].data() + kChunk);
    I.gather_pairs(data, idx[w].data(), idx[w].data() + kChunk, n, I.ws[w]);
    return n;
  });
  std::copy(I.grad.begin(), I.grad.end(), grad);
  return loss;
}

template <class T>
void NeepModel<T>::forward_rows(const T* x, std::int64_t n, T* out) {
  Impl& I = *impl_;
  const MlpSpec& s = I.mlp.spec();
  if (s.n_tokens > 0) throw std::invalid_argument("forward_rows takes real-valued inputs");
  const int width = s.input_width();
  auto& w = I.ws[0];
  for (std::int64_t lo = 0; lo < n; lo += 2 * kChunk) {
    const int m = static_cast<int>(std::min<std::int64_t>(2 * kChunk, n - lo));
    std::copy(x + lo * width, x + (lo + m) * width, w.x0.data());  // row-major rows = columns
    I.mlp.forward(I.p.data(), w, m);
    std::copy(w.out.data(), w.out.data() + m, out + lo);
  }
}

template class NeepModel<float>;
template class NeepModel<double>;

}  // namespace stochinfer
