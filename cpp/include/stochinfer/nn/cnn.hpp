// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "stochinfer/nn/activation.hpp"
#include "stochinfer/nn/conv2d.hpp"
#include "stochinfer/nn/dense.hpp"
#include "stochinfer/nn/types.hpp"
#include "stochinfer/rng.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// The CNEEP network h(frames) of CnnSpec on a batch stored one sample per column
/// (input: seq_len channels, channel-fastest, see Conv2d). Parameters in one flat
/// buffer: each convolution's (W, b) in order, then the head's W (1 × C·H'·W') and b.
template <class T>
class Cnn {
 public:
  struct Stage {
    bool pool;  ///< false: convolution + ReLU
    int index;  ///< into convs() or pools()
  };
  /// Per-thread buffers for up to `cap` columns.
  struct Workspace {
    int cap = 0;
    std::vector<std::vector<T>> act;   ///< act[0] input, act[s + 1] output of stage s
    std::vector<std::vector<T>> cols;  ///< per convolution: im2col of its input
    std::vector<std::vector<int>> arg;  ///< per pool: winning inputs
    std::vector<T> out, g0, g1, dcols;
  };

  explicit Cnn(const CnnSpec& spec) : spec_(spec) {
    spec.validate();
    int c = spec.seq_len, h = spec.height, w = spec.width;
    auto add_conv = [&](int c_out, int k, int stride, int pad) {
      Conv2d cv{c, c_out, h, w, k, stride, pad};
      stages_.push_back({false, int(convs_.size())});
      convs_.push_back(cv);
      c = c_out;
      h = cv.h_out();
      w = cv.w_out();
    };
    auto add_pool = [&]() {
      stages_.push_back({true, int(pools_.size())});
      pools_.push_back(MaxPool2{c, h, w});
      h /= 2;
      w /= 2;
    };
    add_conv(spec.n_channel, 5, 2, 2);
    add_pool();
    for (int b = 2; b <= spec.n_layer; ++b) {
      const int ci = spec.n_channel << (b - 2);
      add_conv(ci, 3, 1, 1);
      add_conv(2 * ci, 3, 1, 1);
      if (b < spec.n_layer) add_pool();
    }
    map_c_ = c;
    map_h_ = h;
    map_w_ = w;
    std::size_t off = 0;
    for (const Conv2d& cv : convs_) {
      offsets_.push_back(off);
      off += cv.n_params();
    }
    head_ = Dense{c * h * w, 1};
    head_offset_ = off;
    n_params_ = off + head_.n_params();
  }

  const CnnSpec& spec() const { return spec_; }
  std::size_t n_params() const { return n_params_; }
  int in_size() const { return spec_.seq_len * spec_.height * spec_.width; }
  int map_channels() const { return map_c_; }
  int map_height() const { return map_h_; }
  int map_width() const { return map_w_; }
  const std::vector<Conv2d>& convs() const { return convs_; }
  const T* head_weight(const T* p) const { return p + head_offset_; }

  /// Convolutions Kaiming-normal (fan_out, ReLU: std √(2 / (c_out k²))), zero
  /// biases; head Xavier-uniform, zero bias (methods.md §2.2). Keyed by
  /// (seed, weight_init, parameter index).
  void init(T* p, std::uint64_t seed) const {
    for (std::size_t l = 0; l < convs_.size(); ++l) {
      const Conv2d& cv = convs_[l];
      const double sd = std::sqrt(2.0 / (double(cv.c_out) * cv.k * cv.k));
      const std::size_t nw = std::size_t(cv.c_out) * cv.patch();
      for (std::size_t i = 0; i < cv.n_params(); ++i)
        p[offsets_[l] + i] = i < nw ? T(sd * normal_at(seed, RngPurpose::weight_init, 0, offsets_[l] + i)) : T(0);
    }
    const double bound = std::sqrt(6.0 / (double(head_.in) + 1.0));
    for (int i = 0; i < head_.in; ++i)
      p[head_offset_ + i] = T(bound * (2.0 * uniform_at(seed, RngPurpose::weight_init, 1, i) - 1.0));
    p[head_offset_ + head_.in] = T(0);
  }

  void reserve(Workspace& ws, int cap) const {
    ws.cap = cap;
    ws.act.assign(stages_.size() + 1, {});
    ws.act[0].resize(std::size_t(in_size()) * cap);
    ws.cols.assign(convs_.size(), {});
    ws.arg.assign(pools_.size(), {});
    std::size_t widest = in_size(), widest_cols = 0;
    for (std::size_t s = 0; s < stages_.size(); ++s) {
      const Stage& st = stages_[s];
      const std::size_t out = st.pool ? pools_[st.index].out_size() : convs_[st.index].out_size();
      ws.act[s + 1].resize(out * cap);
      widest = std::max(widest, out);
      if (st.pool) {
        ws.arg[st.index].resize(out * cap);
      } else {
        const Conv2d& cv = convs_[st.index];
        const std::size_t nc = std::size_t(cv.patch()) * cv.h_out() * cv.w_out() * cap;
        ws.cols[st.index].resize(nc);
        widest_cols = std::max(widest_cols, nc);
      }
    }
    ws.out.resize(cap);
    ws.g0.resize(widest * cap);
    ws.g1.resize(widest * cap);
    ws.dcols.resize(widest_cols);
  }

  /// h of the n columns of ws.act[0] into ws.out (n ≤ ws.cap).
  void forward(const T* p, Workspace& ws, int n) const {
    for (std::size_t s = 0; s < stages_.size(); ++s) {
      const Stage& st = stages_[s];
      const T* x = ws.act[s].data();
      T* y = ws.act[s + 1].data();
      if (st.pool) {
        pools_[st.index].forward(x, n, y, ws.arg[st.index].data());
      } else {
        const Conv2d& cv = convs_[st.index];
        cv.forward(p + offsets_[st.index], x, n, ws.cols[st.index].data(), y);
        activation_forward(Activation::relu, y, y, std::size_t(cv.out_size()) * n);
      }
    }
    ConstMatMap<T> a(ws.act.back().data(), head_.in, n);
    MatMap<T> o(ws.out.data(), 1, n);
    head_.forward(p + head_offset_, a, o);
  }

  /// Writes d(Σ_j dout[j] h_j)/dθ into g after forward on the same n columns.
  void backward(const T* p, Workspace& ws, int n, const T* dout, T* g) const {
    ConstMatMap<T> a(ws.act.back().data(), head_.in, n);
    ConstMatMap<T> d(dout, 1, n);
    MatMap<T> da(ws.g0.data(), head_.in, n);
    head_.backward(p + head_offset_, a, d, &da, g + head_offset_);
    T* grad = ws.g0.data();  // dL/d(output of the current stage)
    T* spare = ws.g1.data();
    for (std::size_t s = stages_.size(); s-- > 0;) {
      const Stage& st = stages_[s];
      if (st.pool) {
        pools_[st.index].backward(grad, ws.arg[st.index].data(), n, spare);
      } else {
        const Conv2d& cv = convs_[st.index];
        activation_backward(Activation::relu, static_cast<const T*>(nullptr), ws.act[s + 1].data(), grad,
                            std::size_t(cv.out_size()) * n);
        cv.backward(p + offsets_[st.index], ws.cols[st.index].data(), grad, n, s == 0 ? nullptr : spare,
                    ws.dcols.data(), g + offsets_[st.index]);
      }
      std::swap(grad, spare);
    }
  }

  /// Dissipation map of pairs (columns i and n + i after forward on 2n columns):
  /// map[i, y, x] = Σ_c w_c(y, x) (A_c^f − A_c^r)(y, x), w the head weight and A the
  /// last block's activations (methods.md §2.3); Σ_{y,x} = ΔS_i exactly up to rounding.
  void dissipation_map(const T* p, const Workspace& ws, int n, double* out) const {
    const T* w = p + head_offset_;
    const int C = map_c_, P = map_h_ * map_w_;
    for (int i = 0; i < n; ++i) {
      const T* af = ws.act.back().data() + std::size_t(i) * head_.in;
      const T* ar = ws.act.back().data() + std::size_t(n + i) * head_.in;
      double* o = out + std::size_t(i) * P;
      for (int q = 0; q < P; ++q) {
        double v = 0;
        for (int c = 0; c < C; ++c) v += double(w[c + C * q]) * (double(af[c + C * q]) - double(ar[c + C * q]));
        o[q] = v;
      }
    }
  }

 private:
  CnnSpec spec_;
  std::vector<Conv2d> convs_;
  std::vector<MaxPool2> pools_;
  std::vector<Stage> stages_;
  std::vector<std::size_t> offsets_;
  Dense head_;
  std::size_t head_offset_ = 0, n_params_ = 0;
  int map_c_ = 0, map_h_ = 0, map_w_ = 0;
};

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
