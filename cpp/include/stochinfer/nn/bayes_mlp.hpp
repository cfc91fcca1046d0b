// SPDX-License-Identifier: MIT
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "stochinfer/nn/activation.hpp"
#include "stochinfer/nn/dense.hpp"
#include "stochinfer/detail/read_normals.hpp"
#include "stochinfer/rng.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

inline double softplus(double r) { return r > 20 ? r : std::log1p(std::exp(r)); }
inline double sigmoid(double r) { return 1.0 / (1.0 + std::exp(-r)); }

/// Vector-output MLP whose last n_bayes layers are Bayes-by-Backprop layers
/// (methods.md §3.2). Parameter layout, layer by layer: a deterministic layer is
/// Dense's [W, b]; a Bayesian layer is [mu_W, mu_b] (Dense layout) then
/// [rho_W, rho_b]. A forward pass runs on "dense weights": one [W, b] per layer,
/// pointing into the parameters (deterministic layers) or into a sampled buffer
/// w = mu + softplus(rho) * eps holding the Bayesian layers, which are last and
/// therefore one contiguous block of n_sampled() values.
template <class T>
class BayesMlp {
 public:
  struct Workspace {
    Mat<T> x0;              ///< input (in_dim x cols)
    std::vector<Mat<T>> act;  ///< per hidden layer output
    Mat<T> out;             ///< out_dim x cols (raw network output)
    Mat<T> g0, g1;          ///< backward scratch
  };

  explicit BayesMlp(const BayesMlpSpec& spec) : spec_(spec) {
    spec.validate();
    if (activation_needs_input(spec.activation))
      throw std::invalid_argument("the Bayesian network supports activations that need no input copy (not silu)");
    std::size_t po = 0, wo = 0;
    int in = spec.in_dim;
    for (int l = 0; l < spec.n_layers; ++l) {
      const int out = l + 1 < spec.n_layers ? spec.hidden : spec.out_dim;
      layers_.push_back(Dense{in, out});
      param_off_.push_back(po);
      dense_off_.push_back(wo);
      const std::size_t n = layers_.back().n_params();
      po += is_bayes(l) ? 2 * n : n;
      wo += n;
      in = out;
    }
    n_params_ = po;
    n_dense_ = wo;
    sampled_off_ = spec.n_bayes > 0 ? dense_off_[first_bayes()] : n_dense_;
  }

  const BayesMlpSpec& spec() const { return spec_; }
  std::size_t n_params() const { return n_params_; }
  /// Number of dense weights: every layer's [W, b] (the size of a full gradient in Dense layout).
  std::size_t n_dense() const { return n_dense_; }
  /// Number of Bayesian weights and biases (each has a mu and a rho).
  std::size_t n_sampled() const { return n_dense_ - sampled_off_; }
  int first_bayes() const { return spec_.n_layers - spec_.n_bayes; }
  bool is_bayes(int l) const { return l >= first_bayes(); }
  int n_layers() const { return spec_.n_layers; }

  /// Deterministic layers: PyTorch's default U(±1/√fan_in) for W and b. Bayesian
  /// layers: mu_W ~ U(±√(6/fan_in)), mu_b = 0, rho = rho_init (methods.md §3.2).
  /// A layer without input (fan_in 0) starts with b = 0.
  /// Drawn from the counter-based RNG keyed by (seed, weight_init, index).
  void init(T* p, std::uint64_t seed) const {
    for (int l = 0; l < n_layers(); ++l) {
      const Dense& d = layers_[l];
      T* q = p + param_off_[l];
      const std::size_t nw = std::size_t(d.out) * d.in, n = d.n_params();
      const double fan = std::max(1, d.in);
      // no input (a constant output vector): start at 0, i.e. at the head's mean
      const double bound = d.in == 0 ? 0.0 : is_bayes(l) ? std::sqrt(6.0 / fan) : 1.0 / std::sqrt(fan);
      for (std::size_t k = 0; k < n; ++k) {
        const double u = 2.0 * double(uniform_at(seed, RngPurpose::weight_init, 2, param_off_[l] + k)) - 1.0;
        q[k] = (is_bayes(l) && k >= nw) ? T(0) : T(bound * u);
      }
      if (is_bayes(l)) std::fill(q + n, q + 2 * n, T(spec_.rho_init));
    }
  }

  /// Sets the output layer's weights and bias (their means, if Bayesian) to zero:
  /// the network then starts as its head's base field (a residual fit).
  void zero_output_layer(T* p) const {
    const std::size_t off = param_off_.back();
    std::fill(p + off, p + off + layers_.back().n_params(), T(0));
  }

  /// A piece of one Bayesian layer's parameters, [lo, hi) within the layer, whose first
  /// weight is number o in sampled order: the unit of the element-wise per-update work
  /// (rho maps, the KL term), so a network of one member still uses every thread.
  struct Slice {
    int layer;
    std::size_t lo, hi, o;
  };
  /// The Bayesian layers cut into pieces of `size` weights (a multiple of 64, so each
  /// piece's vectorised math splits into packets exactly as the whole layer's does: the
  /// same bits as one pass over the layer).
  std::vector<Slice> slices(std::size_t size) const {
    std::vector<Slice> out;
    std::size_t o = 0;
    for (int l = first_bayes(); l < n_layers(); ++l) {
      const std::size_t n = layers_[l].n_params();
      for (std::size_t lo = 0; lo < n; lo += size) out.push_back({l, lo, std::min(n, lo + size), o + lo});
      o += n;
    }
    return out;
  }

  /// softplus(rho) and σ(rho) of the slice's weights into soft and sig (n_sampled()
  /// entries each, in sampled order), once per update and shared by its weight samples.
  void rho_maps(const T* p, const Slice& sl, T* soft, T* sig) const {
    using A = Eigen::Array<T, Eigen::Dynamic, 1>;
    const std::size_t n = layers_[sl.layer].n_params();
    const Eigen::Index m = Eigen::Index(sl.hi - sl.lo);
    // an aligned copy: Eigen peels scalar iterations up to the first aligned
    // address, and its scalar and packet exp differ in the last bit, so mapping
    // the parameters in place would make the bits depend on heap addresses
    const A rho = Eigen::Map<const A>(p + param_off_[sl.layer] + n + sl.lo, m);
    const A sp = (rho > T(20)).select(rho, rho.min(T(20)).exp().log1p());
    const A sg = rho.logistic();
    std::copy(sp.data(), sp.data() + m, soft + sl.o);
    std::copy(sg.data(), sg.data() + m, sig + sl.o);
  }
  /// The same for every Bayesian weight.
  void rho_maps(const T* p, T* soft, T* sig) const {
    for (const Slice& sl : slices(std::size_t(-1) / 2)) rho_maps(p, sl, soft, sig);
  }

  /// w = mu + soft * eps for every Bayesian weight, eps read from `noise` (eps = 0
  /// when noise is null: the mean weights); soft from rho_maps. Writes
  /// n_sampled() values into w and, when non-null, eps (training needs them for
  /// the rho gradient; prediction does not).
  void sample(const T* p, const T* soft, NormalStream<std::uint32_t>* noise, T* w, T* eps) const {
    thread_local std::vector<float> z;  // the normals, in the order the weights read them
    if (noise) {
      z.resize(n_sampled());
      detail::read_normals(*noise, z.data(), z.size());
    }
    std::size_t o = 0;
    for (int l = first_bayes(); l < n_layers(); ++l) {
      const std::size_t n = layers_[l].n_params();
      const T* mu = p + param_off_[l];
      for (std::size_t k = 0; k < n; ++k, ++o) {
        const float e = noise ? z[o] : 0.0f;
        w[o] = mu[k] + soft[o] * T(e);
        if (eps) eps[o] = T(e);
      }
    }
  }

  /// Per-layer [W, b] pointers: deterministic layers from p, Bayesian from w.
  void layer_weights(const T* p, const T* w, std::vector<const T*>& ptr) const {
    ptr.resize(n_layers());
    for (int l = 0; l < n_layers(); ++l)
      ptr[l] = is_bayes(l) ? w + (dense_off_[l] - sampled_off_) : p + param_off_[l];
  }

  /// Values reserve(ws, max_cols) allocates: one worker's scratch, for size checks
  /// before a network is built.
  static std::size_t workspace_values(const BayesMlpSpec& s, int max_cols) {
    const std::size_t c = std::size_t(max_cols), wide = std::size_t(std::max({s.hidden, s.in_dim, s.out_dim}));
    return c * (std::size_t(s.in_dim) + std::size_t(std::max(s.n_layers - 1, 0)) * std::size_t(s.hidden) +
                std::size_t(s.out_dim) + 2 * wide);  // x0, act, out, g0 and g1
  }

  void reserve(Workspace& ws, int max_cols) const {
    if (ws.out.cols() >= max_cols) return;
    ws.x0.resize(spec_.in_dim, max_cols);
    ws.act.assign(n_layers() - 1, Mat<T>(spec_.hidden, max_cols));
    ws.out.resize(spec_.out_dim, max_cols);
    const int wide = std::max({spec_.hidden, spec_.in_dim, spec_.out_dim});
    ws.g0.resize(wide, max_cols);
    ws.g1.resize(wide, max_cols);
  }

  /// Forward pass over the first n columns, from layer `from` on (from > 0 reuses
  /// ws.act[from - 1], e.g. the deterministic layers shared by weight samples).
  void forward(const std::vector<const T*>& w, Workspace& ws, int n, int from = 0) const {
    for (int l = from; l < n_layers(); ++l) {
      const Dense& d = layers_[l];
      ConstMatMap<T> x(l == 0 ? ws.x0.data() : ws.act[l - 1].data(), d.in, n);
      const bool last = l + 1 == n_layers();
      MatMap<T> y(last ? ws.out.data() : ws.act[l].data(), d.out, n);
      d.forward(w[l], x, y);
      if (!last) activation_forward(spec_.activation, y.data(), y.data(), std::size_t(d.out) * n);
    }
  }

  /// Backward through layers [lo, hi) after forward(w, ws, n): dy = dL/d(output
  /// of layer hi - 1 before its activation; the raw output when hi = n_layers).
  /// Writes dL/d(dense weights) of those layers into gd at their Dense-layout
  /// offsets. When lo > 0 returns dL/d(pre-activation of layer lo - 1) (hidden x n,
  /// in ws scratch, valid until the next call); otherwise nullptr.
  const T* backward(const std::vector<const T*>& w, Workspace& ws, int n, const T* dy_top, T* gd, int lo,
                    int hi) const {
    Mat<T>* cur = &ws.g0;
    Mat<T>* nxt = &ws.g1;
    const T* result = nullptr;
    for (int l = hi - 1; l >= lo; --l) {
      const Dense& d = layers_[l];
      ConstMatMap<T> x(l == 0 ? ws.x0.data() : ws.act[l - 1].data(), d.in, n);
      ConstMatMap<T> dy(l == hi - 1 ? dy_top : cur->data(), d.out, n);
      MatMap<T> dx(nxt->data(), d.in, n);
      d.backward(w[l], x, dy, l > 0 ? &dx : nullptr, gd + dense_off_[l]);
      if (l > 0) {
        activation_backward(spec_.activation, static_cast<const T*>(nullptr), ws.act[l - 1].data(), dx.data(),
                            std::size_t(d.in) * n);
        result = dx.data();
      }
      std::swap(cur, nxt);
    }
    return lo > 0 ? result : nullptr;
  }

  /// Dense-layout gradient size of the deterministic layers (they come first).
  std::size_t n_prefix() const { return sampled_off_; }

  /// g = c * dL/dθ of one member from dense-weight gradients: gd_prefix (the
  /// deterministic layers, n_prefix() entries) and, per weight sample k < K,
  /// gd_bayes[k] (the Bayesian layers, n_sampled() entries) with its noise
  /// eps[k]: dL/dmu = Σ_k dL/dw_k, dL/drho = Σ_k dL/dw_k eps_k σ(rho).
  void param_grad(const T* gd_prefix, const T* const* gd_bayes, const T* const* eps, int K, const T* sig, T c,
                  T* g) const {
    for (std::size_t k = 0; k < sampled_off_; ++k) g[k] = c * gd_prefix[k];
    std::size_t o = 0;
    for (int l = first_bayes(); l < n_layers(); ++l) {
      const std::size_t n = layers_[l].n_params();
      T* gm = g + param_off_[l];
      T* gr = gm + n;
      for (std::size_t k = 0; k < n; ++k) {
        T sm = 0, sr = 0;
        for (int j = 0; j < K; ++j) {
          sm += gd_bayes[j][o + k];
          sr += gd_bayes[j][o + k] * eps[j][o + k];
        }
        gm[k] = c * sm;
        gr[k] = c * sr * sig[o + k];
      }
      o += n;
    }
  }

  /// Mean KL divergence per Bayesian parameter, KL̄ = Σ[ln(σp/s) + (s² + mu²)/(2σp²) - ½] / n_sampled(),
  /// of q = N(mu, s²), s = softplus(rho), from the prior N(0, σp²). Adds c * dKL̄/dθ
  /// into g when g is non-null. 0 without Bayesian layers. `soft`: rho_maps' softplus of
  /// these parameters, if at hand (see kl_sum).
  double kl_mean(const T* p, T c = T(0), T* g = nullptr, const T* soft = nullptr) const {
    if (n_sampled() == 0) return 0.0;
    double sum = 0.0;
    for (const Slice& sl : slices(std::size_t(-1) / 2)) sum += kl_sum(p, sl, c, g, soft);
    return sum / double(n_sampled());
  }

  /// The slice's part of n_sampled()·KL̄ (kl_mean's sum), adding its part of c · dKL̄/dθ
  /// into g when non-null. With `soft` (rho_maps' output) ln s comes from it in vectorised
  /// precision-T arithmetic: the value only; the gradient is the same double expression
  /// either way. That saves the scalar double logarithm, a sixth of a training update.
  double kl_sum(const T* p, const Slice& sl, T c = T(0), T* g = nullptr, const T* soft = nullptr) const {
    using A = Eigen::Array<T, Eigen::Dynamic, 1>;
    const double sp = spec_.prior_std, inv_var = 1.0 / (sp * sp), log_sp = std::log(sp);
    const double cn = double(c) / double(n_sampled());
    const std::size_t n = layers_[sl.layer].n_params(), off = param_off_[sl.layer];
    const T* mu = p + off;
    const T* rho = mu + n;
    A log_s;
    if (soft) {  // from an aligned copy, as in rho_maps: the bits must not depend on heap addresses
      const A s_copy = Eigen::Map<const A>(soft + sl.o, Eigen::Index(sl.hi - sl.lo));
      log_s = s_copy.log();
    }
    double sum = 0.0;
    for (std::size_t k = sl.lo; k < sl.hi; ++k) {
      const double m = mu[k], r = rho[k], s = softplus(r);
      // a softplus below the smallest normal T (rho < -87 in float) was flushed or clamped
      // by the vectorised path: take the exact double logarithm there
      const T s_t = soft ? soft[sl.o + (k - sl.lo)] : T(0);
      const double log_s_k = soft && s_t >= std::numeric_limits<T>::min() ? double(log_s[Eigen::Index(k - sl.lo)])
                                                                          : std::log(s);
      sum += log_sp - log_s_k + 0.5 * (s * s + m * m) * inv_var - 0.5;
      if (g) {
        g[off + k] += T(cn * m * inv_var);
        g[off + n + k] += T(cn * (-1.0 / s + s * inv_var) * sigmoid(r));
      }
    }
    return sum;
  }

 private:
  BayesMlpSpec spec_;
  std::vector<Dense> layers_;
  std::vector<std::size_t> param_off_, dense_off_;
  std::size_t n_params_ = 0, n_dense_ = 0, sampled_off_ = 0;
};

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
