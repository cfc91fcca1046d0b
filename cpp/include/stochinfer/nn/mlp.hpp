// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "stochinfer/nn/activation.hpp"
#include "stochinfer/nn/dense.hpp"
#include "stochinfer/nn/embedding.hpp"
#include "stochinfer/rng.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// Parameter layout in one flat buffer: [embedding table (embed_dim x n_tokens)]
/// then each Dense layer's W (out x in, column-major) and b, in order.
template <class T>
class Mlp {
 public:
  /// Per-thread buffers for a batch of up to max_cols samples (columns).
  struct Workspace {
    Mat<T> x0;                     ///< input (input_width x cols)
    std::vector<int> tokens;       ///< n_states tokens per column (token inputs)
    std::vector<Mat<T>> pre, act;  ///< per hidden layer: pre-activation (SiLU only), output
    Mat<T> out;                    ///< out_dim x cols
    Mat<T> g0, g1;                 ///< backward scratch
  };

  explicit Mlp(const MlpSpec& spec) : spec_(spec) {
    spec.validate();
    std::size_t off = 0;
    if (spec.n_tokens > 0) {
      embed_ = Embedding{spec.n_tokens, spec.embed_dim};
      off = embed_.n_params();
    }
    int in = spec.input_width();
    for (int l = 0; l <= spec.n_layers; ++l) {
      const int out = l < spec.n_layers ? spec.hidden : spec.out_dim;
      layers_.push_back(Dense{in, out});
      offsets_.push_back(off);
      off += layers_.back().n_params();
      in = out;
    }
    n_params_ = off;
  }

  const MlpSpec& spec() const { return spec_; }
  std::size_t n_params() const { return n_params_; }

  /// PyTorch-default initialisation, drawn from the counter-based RNG keyed by
  /// (seed, weight_init, parameter index): Dense W, b ~ U(-1/√fan_in, 1/√fan_in);
  /// embedding ~ N(0, 1).
  void init(T* p, std::uint64_t seed) const {
    std::size_t i = 0;
    for (; i < embed_.n_params(); ++i) p[i] = T(normal_at(seed, RngPurpose::weight_init, 0, i));
    for (const Dense& d : layers_) {
      const double bound = 1.0 / std::sqrt(double(d.in));
      for (std::size_t k = 0; k < d.n_params(); ++k, ++i)
        p[i] = T(bound * (2.0 * double(uniform_at(seed, RngPurpose::weight_init, 1, i)) - 1.0));
    }
  }

  /// Values (of T; token slots counted alike) reserve(ws, max_cols) allocates: one worker's
  /// scratch, for size checks before a model is built.
  static std::size_t workspace_values(const MlpSpec& s, int max_cols) {
    const std::size_t c = std::size_t(max_cols), H = std::size_t(s.hidden), w = std::size_t(s.input_width());
    const std::size_t per_layer = H * c * (activation_needs_input(s.activation) ? 2 : 1);  // act (+ pre)
    return w * c + c * std::size_t(s.n_states) + std::size_t(s.n_layers) * per_layer + std::size_t(s.out_dim) * c +
           2 * std::max(H, w) * c;  // x0, tokens, layers, out, g0 and g1
  }

  void reserve(Workspace& ws, int max_cols) const {
    if (ws.x0.cols() >= max_cols) return;
    ws.x0.resize(spec_.input_width(), max_cols);
    ws.tokens.resize(std::size_t(max_cols) * spec_.n_states);
    ws.pre.assign(spec_.n_layers, Mat<T>());
    ws.act.assign(spec_.n_layers, Mat<T>(spec_.hidden, max_cols));
    if (activation_needs_input(spec_.activation))
      for (auto& m : ws.pre) m.resize(spec_.hidden, max_cols);
    ws.out.resize(spec_.out_dim, max_cols);
    const int wide = std::max(spec_.hidden, spec_.input_width());
    ws.g0.resize(wide, max_cols);
    ws.g1.resize(wide, max_cols);
  }

  /// Forward pass over the first n columns of ws.x0 (continuous) or ws.tokens
  /// (token inputs); writes ws.out.
  void forward(const T* p, Workspace& ws, int n) const {
    if (spec_.n_tokens > 0) {
      MatMap<T> x0(ws.x0.data(), spec_.input_width(), n);
      for (int k = 0; k < spec_.n_states; ++k) embed_.forward(p, ws.tokens.data(), spec_.n_states, k, n, x0);
    }
    for (int l = 0; l <= spec_.n_layers; ++l) {
      const Dense& d = layers_[l];
      ConstMatMap<T> x(l == 0 ? ws.x0.data() : ws.act[l - 1].data(), d.in, n);
      if (l == spec_.n_layers) {
        MatMap<T> y(ws.out.data(), spec_.out_dim, n);
        d.forward(p + offsets_[l], x, y);
        break;
      }
      const bool keep_pre = activation_needs_input(spec_.activation);
      MatMap<T> z(keep_pre ? ws.pre[l].data() : ws.act[l].data(), d.out, n);
      d.forward(p + offsets_[l], x, z);
      activation_forward(spec_.activation, z.data(), ws.act[l].data(), std::size_t(d.out) * n);
    }
  }

  /// Offset of layer l's parameters (W then b) in the flat buffer; l = n_layers is
  /// the output layer and offset(n_layers + 1) == n_params() (the embedding, if
  /// any, lies before offset(0)).
  std::size_t offset(int l) const { return l <= spec_.n_layers ? offsets_[l] : n_params_; }

  /// Backward pass after forward(p, ws, n): dout (out_dim x n) = dL/d out; writes the
  /// full gradient into g (n_params entries, overwritten).
  void backward(const T* p, Workspace& ws, int n, const T* dout, T* g) const {
    const bool tokens = spec_.n_tokens > 0;
    Mat<T>* cur = &ws.g0;  // holds dL/d(output of the layer being processed)
    Mat<T>* nxt = &ws.g1;
    for (int l = spec_.n_layers; l >= 0; --l) {
      const Dense& d = layers_[l];
      ConstMatMap<T> x(l == 0 ? ws.x0.data() : ws.act[l - 1].data(), d.in, n);
      ConstMatMap<T> dy(l == spec_.n_layers ? dout : cur->data(), d.out, n);
      MatMap<T> dx(nxt->data(), d.in, n);
      const bool need_dx = l > 0 || tokens;
      d.backward(p + offsets_[l], x, dy, need_dx ? &dx : nullptr, g + offsets_[l]);
      if (l > 0) {  // through the activation of hidden layer l-1
        const T* z = activation_needs_input(spec_.activation) ? ws.pre[l - 1].data() : nullptr;
        activation_backward(spec_.activation, z, ws.act[l - 1].data(), dx.data(), std::size_t(d.in) * n);
      }
      std::swap(cur, nxt);
    }
    if (tokens) {
      T* ge = g;
      std::fill(ge, ge + embed_.n_params(), T(0));
      ConstMatMap<T> dx0(cur->data(), spec_.input_width(), n);
      for (int k = 0; k < spec_.n_states; ++k) embed_.backward_add(ws.tokens.data(), spec_.n_states, k, n, dx0, ge);
    }
  }

 private:
  MlpSpec spec_;
  Embedding embed_;
  std::vector<Dense> layers_;
  std::vector<std::size_t> offsets_;
  std::size_t n_params_ = 0;
};

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
