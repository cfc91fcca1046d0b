// SPDX-License-Identifier: MIT
// CNEEP training and evaluation on CPU threads (network instruction set, its own
// ISA namespace; see neep_model.cpp).
#include "stochinfer/cneep.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "stochinfer/losses/neep.hpp"
#include "stochinfer/nn/cnn.hpp"
#include "stochinfer/nn/flush_denormals.hpp"
#include "stochinfer/nn/training_loop.hpp"

namespace stochinfer {
namespace {
/// Windows per chunk: a function of the network only (thread invariance); 16
/// windows are 32 columns, a few MB of activations and im2col per worker at the
/// default 20 × 40 frames.
constexpr int kChunkWindows = 16;
}  // namespace

template <class T>
struct CneepModel<T>::Impl {
  mutable CallMutex call_mutex;  // detail/call_lock.hpp
  nn::Cnn<T> cnn;
  nn::OptimState<T> opt;
  ThreadPool pool;
  std::vector<typename nn::Cnn<T>::Workspace> ws;
  std::vector<std::vector<T>> dout;
  double shift = 0.0, scale = 1.0;

  Impl(const CnnSpec& spec, std::uint64_t seed, int n_threads) : cnn(spec), opt(cnn.n_params()), pool(n_threads) {
    cnn.init(opt.p.data(), seed);
    ws.resize(pool.size());
    for (auto& w : ws) cnn.reserve(w, 2 * kChunkWindows);
    dout.assign(pool.size(), std::vector<T>(2 * kChunkWindows));
  }

  void check_data(const StateArray& a) const {
    const CnnSpec& s = cnn.spec();
    if (!a.data) throw std::invalid_argument("movies are empty");
    if (a.type == StateType::int32) throw std::invalid_argument("movies must be uint8, float32 or float64 frames");
    if (a.dim != std::int64_t(s.height) * s.width)
      throw std::invalid_argument("frames have " + std::to_string(a.dim) + " pixels, the network was built for " +
                                  std::to_string(s.height) + " x " + std::to_string(s.width));
  }

  /// Columns i (frames in order) and n + i (reversed) of worker w's input.
  template <class S>
  void gather_typed(const S* base, const StateArray& a, const std::int64_t* trj, const std::int64_t* start, int n,
                    int w) {
    const int L = cnn.spec().seq_len;
    const std::int64_t P = a.dim;
    T* x = ws[w].act[0].data();
    const std::size_t col = std::size_t(L) * P;
    for (int i = 0; i < n; ++i) {
      T* fwd = x + std::size_t(i) * col;
      T* rev = x + std::size_t(n + i) * col;
      for (int c = 0; c < L; ++c) {
        const S* frame = base + (trj[i] * a.length + start[i] + c) * P;
        for (std::int64_t q = 0; q < P; ++q) {
          const T v = T((double(frame[q]) - shift) * scale);
          fwd[c + L * q] = v;
          rev[(L - 1 - c) + L * q] = v;
        }
      }
    }
  }

  void gather(const StateArray& a, const std::int64_t* trj, const std::int64_t* start, int n, int w) {
    switch (a.type) {
      case StateType::uint8: return gather_typed(static_cast<const unsigned char*>(a.data), a, trj, start, n, w);
      case StateType::float32: return gather_typed(static_cast<const float*>(a.data), a, trj, start, n, w);
      case StateType::float64: return gather_typed(static_cast<const double*>(a.data), a, trj, start, n, w);
      case StateType::int32: break;
    }
    throw std::invalid_argument("movies must be uint8, float32 or float64 frames");
  }

  auto item_grad(const StateArray& data) {
    return [this, &data](const std::int64_t* trj, const std::int64_t* start, int n, int w, double denom, T* g) {
      gather(data, trj, start, n, w);
      auto& wk = ws[w];
      cnn.forward(opt.p.data(), wk, 2 * n);
      const double sum = neep_antisymmetric_loss(wk.out.data(), n, denom, dout[w].data(), "CNEEP");
      cnn.backward(opt.p.data(), wk, 2 * n, dout[w].data(), g);
      return sum;
    };
  }
};

template <class T>
CneepModel<T>::CneepModel(const CnnSpec& spec, std::uint64_t init_seed, int n_threads)
    : impl_(std::make_unique<Impl>(spec, init_seed, n_threads)) {}
template <class T>
CneepModel<T>::~CneepModel() = default;
template <class T>
CneepModel<T>::CneepModel(CneepModel&&) noexcept = default;
template <class T>
CneepModel<T>& CneepModel<T>::operator=(CneepModel&&) noexcept = default;

template <class T>
const CnnSpec& CneepModel<T>::spec() const { return impl_->cnn.spec(); }
template <class T>
std::size_t CneepModel<T>::n_params() const { return impl_->opt.p.size(); }
template <class T>
T* CneepModel<T>::params() { return impl_->opt.p.data(); }
template <class T>
const T* CneepModel<T>::params() const { return impl_->opt.p.data(); }
template <class T>
T* CneepModel<T>::adam_m() { return impl_->opt.m.data(); }
template <class T>
T* CneepModel<T>::adam_v() { return impl_->opt.v.data(); }
template <class T>
std::int64_t& CneepModel<T>::adam_step() { return impl_->opt.step; }
template <class T>
std::int64_t& CneepModel<T>::batch_draws() { return impl_->opt.draws; }
template <class T>
CallMutex& CneepModel<T>::call_mutex() const { return impl_->call_mutex; }
template <class T>
int CneepModel<T>::map_height() const { return impl_->cnn.map_height(); }
template <class T>
int CneepModel<T>::map_width() const { return impl_->cnn.map_width(); }

template <class T>
void CneepModel<T>::set_pixel_transform(double shift, double scale) {
  const CallLock lock(impl_->call_mutex);
  if (!std::isfinite(shift) || !std::isfinite(scale) || !(scale > 0))
    throw std::invalid_argument("pixel transform: shift must be finite and scale finite and > 0");
  impl_->shift = shift;
  impl_->scale = scale;
}

template <class T>
NeepTrainStats CneepModel<T>::train(const StateArray& data, const std::vector<Segment>& segs, std::int64_t n_steps,
                                    int batch, const OptimizerConfig& optimizer, std::uint64_t sample_seed,
                                    const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return {};
  Impl& I = *impl_;
  I.check_data(data);
  if (segs.empty()) throw std::invalid_argument("no training windows");
  if (batch < 1) throw std::invalid_argument("batch must be >= 1");
  const nn::WindowIndex index(data, segs, I.cnn.spec().seq_len, 1);
  return nn::train_loop(I.pool, I.opt, index, n_steps, batch, kChunkWindows, optimizer, sample_seed, cancel,
                        I.item_grad(data));
}

template <class T>
std::int64_t CneepModel<T>::n_delta_s(const StateArray& data, const std::vector<Segment>& segs,
                                      std::int64_t stride) const {
  if (stride < 1) throw std::invalid_argument("stride must be >= 1");
  return nn::WindowIndex(data, segs, impl_->cnn.spec().seq_len, stride).size();
}

template <class T>
bool CneepModel<T>::delta_s(const StateArray& data, const std::vector<Segment>& segs, std::int64_t stride,
                            double* out, double* map, const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return false;
  Impl& I = *impl_;
  I.check_data(data);
  if (stride < 1) throw std::invalid_argument("stride must be >= 1");
  const nn::WindowIndex index(data, segs, I.cnn.spec().seq_len, stride);
  const std::size_t map_size = std::size_t(I.cnn.map_height()) * I.cnn.map_width();
  return nn::evaluate_loop(I.pool, index, kChunkWindows, cancel,
                           [&](const std::int64_t* trj, const std::int64_t* start, int n, int w, std::int64_t lo) {
                             I.gather(data, trj, start, n, w);
                             I.cnn.forward(I.opt.p.data(), I.ws[w], 2 * n);
                             const T* h = I.ws[w].out.data();
                             for (int i = 0; i < n; ++i) out[lo + i] = double(h[i]) - double(h[n + i]);
                             if (map) I.cnn.dissipation_map(I.opt.p.data(), I.ws[w], n, map + lo * map_size);
                           });
}

template <class T>
double CneepModel<T>::loss_and_grad(const StateArray& data, const std::vector<Segment>& segs, T* grad) {
  const CallLock lock(impl_->call_mutex);
  Impl& I = *impl_;
  I.check_data(data);
  const nn::WindowIndex index(data, segs, I.cnn.spec().seq_len, 1);
  return nn::full_gradient(I.pool, I.opt, index, kChunkWindows, grad, I.item_grad(data));
}

template <class T>
void CneepModel<T>::forward_rows(const T* x, std::int64_t n, T* out) {
  const CallLock lock(impl_->call_mutex);
  Impl& I = *impl_;
  nn::FlushDenormals ftz;
  const CnnSpec& s = I.cnn.spec();
  const int L = s.seq_len;
  const std::int64_t P = std::int64_t(s.height) * s.width;
  auto& w = I.ws[0];
  for (std::int64_t lo = 0; lo < n; lo += 2 * kChunkWindows) {
    const int m = static_cast<int>(std::min<std::int64_t>(2 * kChunkWindows, n - lo));
    for (int i = 0; i < m; ++i)  // (seq_len, H, W) rows to channel-fastest columns
      for (int c = 0; c < L; ++c)
        for (std::int64_t q = 0; q < P; ++q)
          w.act[0][std::size_t(i) * L * P + c + L * q] = x[(lo + i) * L * P + c * P + q];
    I.cnn.forward(I.opt.p.data(), w, m);
    std::copy(w.out.begin(), w.out.begin() + m, out + lo);
  }
}

template class CneepModel<float>;
template class CneepModel<double>;

}  // namespace stochinfer
