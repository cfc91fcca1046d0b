// SPDX-License-Identifier: MIT
// RNEEP (GRU over token windows) training and evaluation on CPU threads.
#include "stochinfer/rneep.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "stochinfer/losses/neep.hpp"
#include "stochinfer/nn/gru.hpp"
#include "stochinfer/nn/training_loop.hpp"

namespace stochinfer {
namespace {
constexpr int kChunk = 64;  // windows per chunk (2 x 64 sequences)
}  // namespace

template <class T>
struct RneepModel<T>::Impl {
  mutable CallMutex call_mutex;  // detail/call_lock.hpp
  using Mat = nn::Mat<T>;
  /// Offsets in the flat parameter buffer (see rneep.hpp) and its size.
  struct Layout {
    std::size_t wi, bi, gru, w, b, n;
    explicit Layout(const RneepSpec& s) {
      s.validate();
      const std::size_t E = s.embed_dim, H = s.hidden;
      wi = E * s.n_tokens;
      bi = wi + 3 * H * E;
      gru = bi + 3 * H;
      w = gru + nn::Gru{s.hidden}.n_params();
      b = w + H;
      n = b + 1;
    }
  };
  RneepSpec spec;
  nn::Gru gru;
  Layout o;
  nn::OptimState<T> opt;
  std::vector<T>& p = opt.p;
  ThreadPool pool;
  struct Work {
    std::vector<int> tok;          // S x n tokens, row s = sequence s
    Mat P, dP, gi, hbar, dgi, carry, ext, dout;
    nn::Gru::Tape<T> tape;
  };
  std::vector<Work> ws;

  Impl(const RneepSpec& s, std::uint64_t seed, int n_threads)
      : spec(s), gru{s.hidden}, o(s), opt(o.n), pool(n_threads) {
    const int H = s.hidden;
    // PyTorch defaults: Embedding N(0, 1); GRU and Linear(H, 1) U(-1/√H, 1/√H)
    for (std::size_t i = 0; i < o.wi; ++i) p[i] = T(normal_at(seed, RngPurpose::weight_init, 0, i));
    const double bound = 1.0 / std::sqrt(double(H));
    for (std::size_t i = o.wi; i < o.n; ++i)
      p[i] = T(bound * (2.0 * double(uniform_at(seed, RngPurpose::weight_init, 1, i)) - 1.0));
    ws.resize(pool.size());
    const int S = 2 * kChunk, n = s.window;
    for (auto& w : ws) {
      w.tok.resize(std::size_t(S) * n);
      w.P.resize(3 * H, s.n_tokens);
      w.dP.resize(3 * H, s.n_tokens);
      w.gi.resize(3 * H, S);
      w.hbar.resize(H, S);
      w.dgi.resize(3 * H, S);
      w.carry.resize(H, S);
      w.ext.resize(H, S);
      w.dout.resize(1, S);
      w.tape.reserve(H, S * n, S);
    }
  }

  void check_data(const StateArray& a) const {
    if (!a.data || a.type != StateType::int32 || a.dim != 1)
      throw std::invalid_argument("RNEEP takes int32 token paths (n_traj, L)");
  }

  /// Loads windows (trj, start) into worker w: sequence i is window i, sequence
  /// n_win + i the same window reversed.
  void load(const StateArray& a, const std::int64_t* trj, const std::int64_t* start, int n_win, Work& w) const {
    const int* base = static_cast<const int*>(a.data);
    const int n = spec.window;
    for (int i = 0; i < n_win; ++i) {
      const int* src = base + trj[i] * a.length + start[i];
      for (int t = 0; t < n; ++t) {
        const int k = src[t];
        if (k < 0 || k >= spec.n_tokens)
          throw std::invalid_argument("token out of range [0, " + std::to_string(spec.n_tokens) + ")");
        w.tok[std::size_t(i) * n + t] = k;
        w.tok[std::size_t(n_win + i) * n + (n - 1 - t)] = k;
      }
    }
  }

  /// g of the S loaded sequences into w.dout (used as output buffer first).
  void forward(Work& w, int S) const {
    const int E = spec.embed_dim, H = spec.hidden, n = spec.window;
    nn::ConstMatMap<T> Emb(p.data(), E, spec.n_tokens);
    nn::ConstMatMap<T> Wi(p.data() + o.wi, 3 * H, E);
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> bi(p.data() + o.bi, 3 * H);
    w.P.noalias() = Wi * Emb;  // input projection of every token: a lookup replaces W_i x_t
    w.P.colwise() += bi;
    gru.forward(p.data() + o.gru, S, n, w.tape, [&](int t) {
      nn::MatMap<T> gi(w.gi.data(), 3 * H, S);
      for (int s = 0; s < S; ++s) gi.col(s) = w.P.col(w.tok[std::size_t(s) * n + t]);
      return nn::ConstMatMap<T>(w.gi.data(), 3 * H, S);
    });
    nn::MatMap<T> hbar(w.hbar.data(), H, S);
    hbar.setZero();
    for (int t = 0; t < n; ++t) hbar += nn::ConstMatMap<T>(w.tape.h.data() + std::size_t(t) * H * S, H, S);
    hbar *= T(1) / T(n);
    Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>> wo(p.data() + o.w, H);
    nn::MatMap<T> out(w.dout.data(), 1, S);
    out.noalias() = wo * hbar;
    out.array() += p[o.b];
  }

  /// Backward from dL/dg (w.dout, S entries); writes the gradient into g.
  void backward(Work& w, int S, T* g) const {
    const int E = spec.embed_dim, H = spec.hidden, n = spec.window;
    nn::ConstMatMap<T> dout(w.dout.data(), 1, S);
    nn::ConstMatMap<T> hbar(w.hbar.data(), H, S);
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> dwo(g + o.w, H);
    dwo.setZero();
    T db = 0;
    for (int s = 0; s < S; ++s) {  // fixed order (thread invariance)
      dwo += hbar.col(s) * dout(0, s);
      db += dout(0, s);
    }
    g[o.b] = db;
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> wo(p.data() + o.w, H);
    nn::MatMap<T> ext(w.ext.data(), H, S);
    ext.noalias() = (wo / T(n)) * dout;  // each h_t feeds the time average
    w.dP.setZero();
    gru.backward(
        p.data() + o.gru, S, n, w.tape, [&](int) { return nn::ConstMatMap<T>(w.ext.data(), H, S); },
        [&](int t, const nn::ConstMatMap<T>& D) {
          for (int s = 0; s < S; ++s) w.dP.col(w.tok[std::size_t(s) * n + t]) += D.col(s);
        },
        w.dgi, w.carry, g + o.gru);
    nn::ConstMatMap<T> Emb(p.data(), E, spec.n_tokens);
    nn::ConstMatMap<T> Wi(p.data() + o.wi, 3 * H, E);
    nn::MatMap<T> dWi(g + o.wi, 3 * H, E);
    nn::MatMap<T> dEmb(g, E, spec.n_tokens);
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> dbi(g + o.bi, 3 * H);
    dWi.noalias() = w.dP * Emb.transpose();
    dEmb.noalias() = Wi.transpose() * w.dP;
    dbi.setZero();
    for (Eigen::Index k = 0; k < w.dP.cols(); ++k) dbi += w.dP.col(k);
  }

  /// The ItemGrad of train_loop / full_gradient for these data.
  auto item_grad(const StateArray& data) {
    return [this, &data](const std::int64_t* trj, const std::int64_t* start, int n, int w, double denom, T* g) {
      load(data, trj, start, n, ws[w]);
      return window_grad(ws[w], n, denom, g);
    };
  }

  double window_grad(Work& w, int n_win, double denom, T* g) const {
    forward(w, 2 * n_win);
    const double sum = neep_antisymmetric_loss(w.dout.data(), n_win, denom, w.dout.data(), "RNEEP");
    backward(w, 2 * n_win, g);
    return sum;
  }
};

template <class T>
RneepModel<T>::RneepModel(const RneepSpec& spec, std::uint64_t init_seed, int n_threads)
    : impl_(std::make_unique<Impl>(spec, init_seed, n_threads)) {}
template <class T>
RneepModel<T>::~RneepModel() = default;
template <class T>
RneepModel<T>::RneepModel(RneepModel&&) noexcept = default;
template <class T>
RneepModel<T>& RneepModel<T>::operator=(RneepModel&&) noexcept = default;
template <class T>
const RneepSpec& RneepModel<T>::spec() const { return impl_->spec; }
template <class T>
std::size_t RneepModel<T>::n_params() const { return impl_->opt.p.size(); }
template <class T>
std::size_t RneepModel<T>::workspace_values(const RneepSpec& s) {
  // as the constructor reserves: tok, P and dP, gi and dgi, hbar, carry, ext, dout, the tape
  const std::size_t S = 2 * kChunk, n = std::size_t(s.window), H = std::size_t(s.hidden);
  return S * n + 6 * H * std::size_t(s.n_tokens) + 6 * H * S + 3 * H * S + S + 5 * H * S * n + 3 * H * S;
}
template <class T>
T* RneepModel<T>::params() { return impl_->p.data(); }
template <class T>
const T* RneepModel<T>::params() const { return impl_->p.data(); }
template <class T>
T* RneepModel<T>::adam_m() { return impl_->opt.m.data(); }
template <class T>
T* RneepModel<T>::adam_v() { return impl_->opt.v.data(); }
template <class T>
std::int64_t& RneepModel<T>::adam_step() { return impl_->opt.step; }
template <class T>
std::int64_t& RneepModel<T>::batch_draws() { return impl_->opt.draws; }
template <class T>
CallMutex& RneepModel<T>::call_mutex() const { return impl_->call_mutex; }

template <class T>
NeepTrainStats RneepModel<T>::train(const StateArray& data, const std::vector<Segment>& segs, std::int64_t n_steps,
                                    int batch, const OptimizerConfig& optimizer, std::uint64_t sample_seed,
                                    const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return {};
  Impl& I = *impl_;
  I.check_data(data);
  if (batch < 1) throw std::invalid_argument("batch must be >= 1");
  if (segs.empty()) throw std::invalid_argument("no training windows");
  const nn::WindowIndex index(data, segs, I.spec.window, 1);
  return nn::train_loop(I.pool, I.opt, index, n_steps, batch, kChunk, optimizer, sample_seed, cancel, I.item_grad(data));
}

template <class T>
std::int64_t RneepModel<T>::n_delta_s(const StateArray& data, const std::vector<Segment>& segs) const {
  return nn::WindowIndex(data, segs, impl_->spec.window, impl_->spec.window - 1).size();
}

template <class T>
bool RneepModel<T>::delta_s(const StateArray& data, const std::vector<Segment>& segs, double* out,
                            const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return false;
  Impl& I = *impl_;
  I.check_data(data);
  const nn::WindowIndex index(data, segs, I.spec.window, I.spec.window - 1);
  return nn::evaluate_loop(I.pool, index, kChunk, cancel,
                           [&](const std::int64_t* trj, const std::int64_t* start, int n, int w, std::int64_t lo) {
                             auto& wk = I.ws[w];
                             I.load(data, trj, start, n, wk);
                             I.forward(wk, 2 * n);
                             const T* g = wk.dout.data();
                             for (int i = 0; i < n; ++i) out[lo + i] = double(g[i]) - double(g[n + i]);
                           });
}

template <class T>
double RneepModel<T>::loss_and_grad(const StateArray& data, const std::vector<Segment>& segs, T* grad) {
  const CallLock lock(impl_->call_mutex);
  Impl& I = *impl_;
  I.check_data(data);
  const nn::WindowIndex index(data, segs, I.spec.window, I.spec.window - 1);
  return nn::full_gradient(I.pool, I.opt, index, kChunk, grad, I.item_grad(data));
}

template class RneepModel<float>;
template class RneepModel<double>;

}  // namespace stochinfer
