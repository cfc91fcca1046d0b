// SPDX-License-Identifier: MIT
// Langevin drift/diffusion networks (Bayes-by-Backprop or deep ensemble) on CPU
// threads. Compiled for the network instruction set inside its ISA namespace.
#include "stochinfer/langevin_net.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "stochinfer/losses/langevin.hpp"
#include "stochinfer/nn/optimizer_step.hpp"
#include "stochinfer/nn/antithetic.hpp"
#include "stochinfer/nn/bayes_mlp.hpp"
#include "stochinfer/nn/flush_denormals.hpp"
#include "stochinfer/nn/polynomial.hpp"
#include "stochinfer/parallel.hpp"
#include "stochinfer/rng.hpp"

namespace stochinfer {

void LangevinTrainConfig::validate() const {
  if (batch < 1) throw std::invalid_argument("batch must be >= 1");
  if (n_samples < 1 || n_samples > 255) throw std::invalid_argument("n_samples must be in [1, 255]");
  if (!(kl_weight >= 0) || !std::isfinite(kl_weight)) throw std::invalid_argument("kl_weight must be >= 0");
  std::visit([](const auto& o) { o.validate(); }, optimizer);
}

namespace {
constexpr int kTrainChunk = 64;   // rows per training task: fixed, so results ignore the thread count
constexpr int kEvalChunk = 256;   // points per evaluation task
constexpr int kMaxGroups = 8;     // gradient accumulators per member
// element-wise per-update work (rho maps, KL, accumulator sums) in fixed pieces, a multiple of
// 64: one member's network uses every thread, and results ignore the thread count
constexpr std::size_t kSliceWeights = 4096;
}  // namespace

template <class T>
struct LangevinNet<T>::Impl {
  using Net = nn::BayesMlp<T>;
  struct Worker {
    typename Net::Workspace ws;
    losses::LangevinHead head;
    nn::Mat<T> y, dout, dacc;  // labels, dL/draw, summed dL/d(prefix output)
    std::vector<T> gd;         // dense-layout gradient scratch
    std::vector<const T*> wptr;
    std::vector<double> base;  // the head's base field at one state
    explicit Worker(const HeadSpec& h) : head(h), base(std::size_t(h.out_dim())) {}
  };

  Net net;
  HeadSpec head_spec;
  int E;
  std::size_t P;
  std::vector<T> p, m, v, grad;
  std::int64_t step = 0;   // Adam's counter
  std::int64_t draws = 0;  // minibatches drawn: keys batches and weight samples (not rewound by a reset)
  ThreadPool pool;
  std::vector<Worker> wk;
  std::vector<std::vector<T>> acc;  // per (member, group) gradient accumulators
  std::vector<T> wsamp, eps;        // sampled Bayesian weights and their noise, per (member, sample)
  std::vector<T> soft, sig;         // softplus(rho), σ(rho) per member
  std::vector<typename Net::Slice> slices;  // the Bayesian weights in pieces of kSliceWeights
  std::vector<T> post_w;            // cached posterior samples (ensure_posterior)
  std::vector<double> lin;          // polynomial base field, per member n_monomials x out_dim; empty: none
  int lin_degree = 1;               // its degree
  std::size_t lin_q = 0;            // its coefficients per member, n_monomials(in_dim, lin_degree) x out_dim
  std::vector<double> lin_chol;     // Cholesky factor of its covariance, per member; empty: fixed
  std::vector<double> post_lin;     // its posterior samples, per (member, sample), with post_w
  bool post_valid = false, post_mean = false;
  int post_ns = 0;
  std::uint64_t post_seed = 0, post_version = 0, version = 0;  // version: bumped when parameters may change
  mutable CallMutex call_mutex;

  Impl(const BayesMlpSpec& s, const HeadSpec& h, int n_members, std::uint64_t seed, int n_threads)
      : net(s), head_spec(h), E(n_members), P(net.n_params()), pool(n_threads),
        slices(net.slices(kSliceWeights)) {
    h.validate();
    if (h.out_dim() != s.out_dim)
      throw std::invalid_argument("the head needs " + std::to_string(h.out_dim()) + " network outputs, the network has " +
                                  std::to_string(s.out_dim));
    if (n_members < 1 || n_members > 255) throw std::invalid_argument("n_members must be in [1, 255]");
    p.resize(P * E);
    m.assign(P * E, T(0));
    v.assign(P * E, T(0));
    grad.resize(P * E);
    // member e's initialisation is keyed by seed + e: members are independent draws
    for (int e = 0; e < E; ++e) net.init(p.data() + P * e, seed + std::uint64_t(e));
    for (int w = 0; w < pool.size(); ++w) {
      wk.emplace_back(h);
      Worker& k = wk.back();
      net.reserve(k.ws, kEvalChunk);
      k.y.resize(s.out_dim, kEvalChunk);
      k.dout.resize(s.out_dim, kEvalChunk);
      k.dacc.resize(s.hidden, kEvalChunk);
      k.gd.resize(net.n_dense());
    }
  }

  std::size_t lin_size() const { return lin_q; }  // fixed by set_linear_base, read per row

  /// The base field at input column i of w's input, member e; posterior sample s
  /// of the base when it has a covariance and posterior samples are drawn (s < 0:
  /// the fitted base). nullptr: no base.
  const double* base(Worker& w, int e, int i, int s = -1) const {
    if (lin.empty()) return nullptr;
    const int din = net.spec().in_dim, mo = net.spec().out_dim;
    const double* a = (s >= 0 && !post_lin.empty()) ? post_lin.data() + lin_size() * (std::size_t(e) * post_ns + s)
                                                    : lin.data() + lin_size() * e;
    const T* x = w.ws.x0.data() + std::int64_t(i) * din;
    for (int k = 0; k < mo; ++k) w.base[k] = polynomial_value(x, din, lin_degree, a + k, std::size_t(mo));
    return w.base.data();
  }

  int n_bayes_samples(int k) const { return net.n_sampled() > 0 ? k : 1; }
  const T* member(int e) const { return p.data() + P * std::size_t(e); }

  /// Weight samples (e, k) for k < K into w and, when non-null, their noise into
  /// ep ((member, sample) blocks of n_sampled()), keyed by (seed, purpose, key(e, k)).
  template <class Key>
  void sample_weights(int K, std::uint64_t seed, RngPurpose purpose, bool mean_weights, Key key, std::vector<T>& w,
                      std::vector<T>* ep) {
    const std::size_t ns = net.n_sampled();
    if (ns == 0) return;
    w.resize(ns * E * K);
    if (ep) ep->resize(ns * E * K);
    soft.resize(ns * E);
    sig.resize(ns * E);
    const int n_sl = static_cast<int>(slices.size());
    pool.parallel_for(E * n_sl, [&](int t, int) {
      nn::FlushDenormals ftz;  // every piece under the same floating-point mode, whichever thread runs it
      const int e = t / n_sl;
      net.rho_maps(member(e), slices[std::size_t(t % n_sl)], soft.data() + ns * e, sig.data() + ns * e);
    });
    pool.parallel_for(E * K, [&](int t, int) {
      nn::FlushDenormals ftz;
      const int e = t / K, k = t % K;
      auto noise = normal_stream(seed, purpose, key(e, k));
      net.sample(member(e), soft.data() + ns * e, mean_weights ? nullptr : &noise, w.data() + ns * t,
                 ep ? ep->data() + ns * t : nullptr);
    });
  }
  const T* sampled(int K, int e, int k) const {
    return net.n_sampled() ? wsamp.data() + net.n_sampled() * (std::size_t(e) * K + k) : nullptr;
  }
  const T* sampled_eps(int K, int e, int k) const {
    return net.n_sampled() ? eps.data() + net.n_sampled() * (std::size_t(e) * K + k) : nullptr;
  }

  /// Posterior weight samples s < n_s of every member, keyed by (seed,
  /// posterior_sample, e << 32 | s), kept until the parameters change: simulating
  /// the inferred equation evaluates the same samples at every step.
  void ensure_posterior(int n_s, std::uint64_t seed, bool mean_w) {
    if (post_valid && post_ns == n_s && post_seed == seed && post_mean == mean_w && post_version == version) return;
    sample_weights(n_s, seed, RngPurpose::posterior_sample, mean_w,
                   [](int e, int k) { return (std::uint64_t(e) << 32) | std::uint64_t(k); }, post_w, nullptr);
    post_lin.clear();
    if (!lin_chol.empty() && !mean_w) {  // the base's posterior samples A_e ± chol ξ
      // antithetic pairs (samples 2j, 2j + 1 draw ξ and −ξ): each sample keeps its law, and the
      // posterior mean of the base is the fit itself rather than the fit plus Monte Carlo noise
      const std::size_t q = lin_size();
      post_lin.resize(q * E * n_s);
      std::vector<double> xi(q);
      for (int e = 0; e < E; ++e)
        for (int k = 0; k < n_s; ++k)
          antithetic_gaussian_draw(seed, RngPurpose::linear_base_sample, std::uint64_t(e), k, lin.data() + q * e,
                                   lin_chol.data() + q * q * e, q, xi.data(),
                                   post_lin.data() + q * (std::size_t(e) * n_s + k));
    }
    post_valid = true;
    post_ns = n_s;
    post_seed = seed;
    post_mean = mean_w;
    post_version = version;
  }
  const T* posterior(int e, int s) const {
    return net.n_sampled() ? post_w.data() + net.n_sampled() * (std::size_t(e) * post_ns + s) : nullptr;
  }

  void gather(const RegressionData<T>& d, const std::int64_t* rows, int n, Worker& w, bool labels) const {
    const int din = net.spec().in_dim, dout = net.spec().out_dim;
    for (int i = 0; i < n; ++i) {
      const std::int64_t r = rows[i];
      if (r < 0 || r >= d.n) throw std::invalid_argument("row index " + std::to_string(r) + " is outside the data");
      std::copy(d.x + r * din, d.x + (r + 1) * din, w.ws.x0.data() + std::int64_t(i) * din);
      if (labels) std::copy(d.y + r * dout, d.y + (r + 1) * dout, w.y.data() + std::int64_t(i) * dout);
    }
  }

  /// Loss sum of the n rows loaded in worker w over K weight samples of member e;
  /// adds the dense-weight gradients of that sum into a (deterministic layers,
  /// then the Bayesian layers once per sample: n_prefix() + K n_sampled()).
  double rows_grad(Worker& w, int e, int K, int n, T* a) {
    const int fb = net.first_bayes(), L = net.n_layers(), mo = net.spec().out_dim;
    const std::size_t np = net.n_prefix(), ns = net.n_sampled();
    const T* pe = member(e);
    auto add = [&](std::size_t from, std::size_t count, T* dst) {
      const T* src = w.gd.data() + from;
      for (std::size_t j = 0; j < count; ++j) dst[j] += src[j];
    };
    net.layer_weights(pe, sampled(K, e, 0), w.wptr);
    net.forward(w.wptr, w.ws, n, 0);
    double loss = 0.0;
    const bool split = fb > 0 && fb < L;  // deterministic prefix shared by the samples
    if (split) w.dacc.leftCols(n).setZero();
    for (int k = 0; k < K; ++k) {
      if (k > 0) {
        net.layer_weights(pe, sampled(K, e, k), w.wptr);
        net.forward(w.wptr, w.ws, n, fb);
      }
      for (int i = 0; i < n; ++i)
        loss += w.head.loss_grad(w.ws.out.data() + std::int64_t(i) * mo, w.y.data() + std::int64_t(i) * mo,
                                 w.dout.data() + std::int64_t(i) * mo, base(w, e, i));
      const T* dz = net.backward(w.wptr, w.ws, n, w.dout.data(), w.gd.data(), split ? fb : 0, L);
      if (ns) add(np, ns, a + np + std::size_t(k) * ns);
      if (split) w.dacc.leftCols(n) += nn::ConstMatMap<T>(dz, net.spec().hidden, n);
    }
    if (split) net.backward(w.wptr, w.ws, n, w.dacc.data(), w.gd.data(), 0, fb);
    if (np) add(0, np, a);
    return loss;
  }

  /// Sum over members of each member's objective (mean NLL over its rows and K
  /// samples + kl_weight * KL̄), gradient into g_all; weight noise must be sampled.
  double objective(const RegressionData<T>& d, const std::vector<const std::int64_t*>& rows, std::int64_t n_rows,
                   int K, const LangevinTrainConfig& cfg, T* g_all, const std::atomic<bool>* cancel = nullptr) {
    const std::int64_t nc = (n_rows + kTrainChunk - 1) / kTrainChunk;
    const int G = static_cast<int>(std::min<std::int64_t>(nc, kMaxGroups));
    const std::size_t np = net.n_prefix(), ns = net.n_sampled(), na = np + std::size_t(K) * ns;
    if (acc.size() < std::size_t(E * G)) acc.resize(E * G);
    std::vector<double> loss(E * G, 0.0);
    pool.parallel_for(E * G, [&](int t, int wi) {
      nn::FlushDenormals ftz;
      const int e = t / G, grp = t % G;
      auto& a = acc[t];
      a.assign(na, T(0));
      Worker& w = wk[wi];
      for (std::int64_t ch = grp; ch < nc; ch += G) {
        // a large batch takes seconds: Ctrl-C skips the rest, and train() drops the update
        if (cancel && cancel->load(std::memory_order_relaxed)) break;
        const std::int64_t lo = ch * kTrainChunk;
        const int n = static_cast<int>(std::min<std::int64_t>(kTrainChunk, n_rows - lo));
        gather(d, rows[e] + lo, n, w, true);
        loss[t] += rows_grad(w, e, K, n, a.data());
      }
    });
    const T c = T(1.0 / (double(K) * double(n_rows)));
    // the groups' accumulators into group 0's, in group order (thread-count independent), in pieces
    const int n_pieces = static_cast<int>((na + kSliceWeights - 1) / kSliceWeights);
    if (G > 1)
      pool.parallel_for(E * n_pieces, [&](int t, int) {
        nn::FlushDenormals ftz;
        const int e = t / n_pieces;
        const std::size_t lo = std::size_t(t % n_pieces) * kSliceWeights, hi = std::min(na, lo + kSliceWeights);
        T* a0 = acc[std::size_t(e) * G].data();
        for (int grp = 1; grp < G; ++grp) {
          const T* a = acc[std::size_t(e) * G + grp].data();
          for (std::size_t j = lo; j < hi; ++j) a0[j] += a[j];
        }
      });
    std::vector<double> total(E, 0.0);
    pool.parallel_for(E, [&](int e, int) {
      nn::FlushDenormals ftz;  // the sum over samples in param_grad, as on the calling thread
      const auto& a0 = acc[std::size_t(e) * G];
      double le = loss[std::size_t(e) * G];
      for (int grp = 1; grp < G; ++grp) le += loss[std::size_t(e) * G + grp];
      std::vector<const T*> gb(K), ep(K);
      for (int k = 0; k < K; ++k) {
        gb[k] = a0.data() + np + std::size_t(k) * ns;
        ep[k] = sampled_eps(K, e, k);
      }
      net.param_grad(a0.data(), gb.data(), ep.data(), K, ns ? sig.data() + ns * e : nullptr, c, g_all + P * e);
      total[e] = le * double(c);
    });
    // the KL term and its gradient, piece by piece (disjoint parameters), summed in piece order
    const int n_sl = ns ? static_cast<int>(slices.size()) : 0;
    const bool kl_grad = cfg.kl_gradient == KlGradient::elbo && cfg.kl_weight > 0;
    std::vector<double> kl_part(std::size_t(E) * n_sl, 0.0);
    pool.parallel_for(E * n_sl, [&](int t, int) {
      nn::FlushDenormals ftz;
      const int e = t / n_sl;
      kl_part[std::size_t(t)] = net.kl_sum(member(e), slices[std::size_t(t % n_sl)], T(cfg.kl_weight),
                                           kl_grad ? g_all + P * e : nullptr, soft.data() + ns * e);
    });
    double sum = 0.0;
    for (int e = 0; e < E; ++e) {
      double kl = 0.0;
      for (int s = 0; s < n_sl; ++s) kl += kl_part[std::size_t(e) * n_sl + s];
      sum += total[e] + cfg.kl_weight * (ns ? kl / double(ns) : 0.0);
    }
    return sum;
  }

  std::uint64_t train_key(std::int64_t s, int e, int k) const {
    return (std::uint64_t(s) << 16) | (std::uint64_t(e) << 8) | std::uint64_t(k);
  }

  /// Runs fn(worker, e, s, lo, n) for every (member, posterior sample, chunk of
  /// points) after load(worker, e, s, lo, n) and the forward pass of sample s.
  /// paired = false: every sample sees the same points, loaded once per chunk and
  /// sharing the deterministic layers; paired = true: sample (e, s) has its own
  /// points (simulation of one trajectory set per sample). member_points: member e
  /// has its own count of points (each at most n_points); null: n_points for all.
  template <class Load, class Fn>
  bool eval_samples(std::int64_t n_points, int S, std::uint64_t seed, bool paired, const std::atomic<bool>* cancel,
                    Load load, Fn fn, const std::int64_t* member_points = nullptr) {
    const bool mean_w = S == 0 || net.n_sampled() == 0;
    const int n_s = mean_w ? 1 : S;
    ensure_posterior(n_s, seed, mean_w);
    const std::int64_t nc = (n_points + kEvalChunk - 1) / kEvalChunk;
    const int fb = net.first_bayes();
    const std::int64_t units = paired ? std::int64_t(E) * n_s : E;  // tasks per chunk
    std::atomic<bool> stopped{false};
    const int n_tasks = static_cast<int>(std::min<std::int64_t>(nc * units, 1 << 20));
    pool.parallel_for(n_tasks, [&](int task, int wi) {
      nn::FlushDenormals ftz;
      Worker& w = wk[wi];
      for (std::int64_t t = task; t < nc * units; t += n_tasks) {
        if (cancel && cancel->load(std::memory_order_relaxed)) {
          stopped = true;
          return;
        }
        const std::int64_t u = t % units;
        const int e = static_cast<int>(paired ? u / n_s : u);
        const std::int64_t lo = (t / units) * kEvalChunk;
        const std::int64_t points = member_points ? member_points[e] : n_points;
        if (lo >= points) continue;  // a member with fewer points: this chunk is past its end
        const int n = static_cast<int>(std::min<std::int64_t>(kEvalChunk, points - lo));
        const int s_begin = paired ? static_cast<int>(u % n_s) : 0;
        const int s_end = paired ? s_begin + 1 : n_s;
        if (!paired) load(w, e, 0, lo, n);
        for (int k = s_begin; k < s_end; ++k) {
          if (paired) load(w, e, k, lo, n);
          net.layer_weights(member(e), posterior(e, k), w.wptr);
          net.forward(w.wptr, w.ws, n, (k == s_begin) ? 0 : fb);
          fn(w, e, k, lo, n);
        }
      }
    });
    return !stopped;
  }
};

template <class T>
LangevinNet<T>::LangevinNet(const BayesMlpSpec& net, const HeadSpec& head, int n_members, std::uint64_t init_seed,
                            int n_threads)
    : impl_(std::make_unique<Impl>(net, head, n_members, init_seed, n_threads)) {}
template <class T>
LangevinNet<T>::~LangevinNet() = default;
template <class T>
LangevinNet<T>::LangevinNet(LangevinNet&&) noexcept = default;
template <class T>
LangevinNet<T>& LangevinNet<T>::operator=(LangevinNet&&) noexcept = default;

template <class T>
const BayesMlpSpec& LangevinNet<T>::net_spec() const { return impl_->net.spec(); }
template <class T>
const HeadSpec& LangevinNet<T>::head_spec() const { return impl_->head_spec; }
template <class T>
int LangevinNet<T>::n_members() const { return impl_->E; }
template <class T>
std::size_t LangevinNet<T>::workspace_values(const BayesMlpSpec& s) {
  // what Impl's constructor gives each Worker: the network's scratch, y and dout, dacc, gd
  return nn::BayesMlp<T>::workspace_values(s, kEvalChunk) +
         std::size_t(kEvalChunk) * (2 * std::size_t(s.out_dim) + std::size_t(s.hidden)) + nn::BayesMlp<T>(s).n_dense();
}

template <class T>
std::size_t LangevinNet<T>::n_params_member() const { return impl_->P; }
template <class T>
std::size_t LangevinNet<T>::n_params() const { return impl_->p.size(); }
template <class T>
T* LangevinNet<T>::params() {
  const CallLock lock(impl_->call_mutex);
  ++impl_->version;  // the caller may write through the pointer
  return impl_->p.data();
}
template <class T>
const T* LangevinNet<T>::params() const {
  return impl_->p.data();
}
template <class T>
void LangevinNet<T>::set_params(const T* values) {
  const CallLock lock(impl_->call_mutex);
  std::copy(values, values + impl_->p.size(), impl_->p.data());
  ++impl_->version;
}
template <class T>
void LangevinNet<T>::invalidate_posterior() {
  const CallLock lock(impl_->call_mutex);
  ++impl_->version;
}
template <class T>
void LangevinNet<T>::set_linear_base(const std::vector<double>& coeffs, const std::vector<double>& chol, int degree) {
  const CallLock lock(impl_->call_mutex);
  Impl& im = *impl_;
  if (degree < 1 || degree > kMaxPolynomialDegree)
    throw std::invalid_argument("the base's polynomial degree must be in [1, " + std::to_string(kMaxPolynomialDegree) +
                                "], got " + std::to_string(degree));
  const std::size_t q = std::size_t(n_monomials(im.net.spec().in_dim, degree)) * im.net.spec().out_dim,
                    want = std::size_t(im.E) * q;
  if (!chol.empty()) {
    if (coeffs.empty()) throw std::invalid_argument("a linear base covariance needs its coefficients");
    if (chol.size() != want * q)
      throw std::invalid_argument("the linear base's Cholesky factors need n_members x q x q = " +
                                  std::to_string(want * q) + " entries, got " + std::to_string(chol.size()));
    for (double c : chol)
      if (!std::isfinite(c)) throw std::invalid_argument("linear base Cholesky factors must be finite");
  }
  if (!coeffs.empty()) {
    if (im.head_spec.kind != HeadKind::affine) throw std::invalid_argument("a linear base needs the affine head");
    if (coeffs.size() != want)
      throw std::invalid_argument("the base needs n_members x n_monomials(in_dim, degree) x out_dim = " +
                                  std::to_string(want) + " coefficients, got " + std::to_string(coeffs.size()));
    for (double c : coeffs)
      if (!std::isfinite(c)) throw std::invalid_argument("linear base coefficients must be finite");
  }
  im.lin = coeffs;
  im.lin_chol = chol;
  im.lin_degree = degree;
  im.lin_q = q;
  im.post_valid = false;  // cached posterior samples hold the old base
}
template <class T>
const std::vector<double>& LangevinNet<T>::linear_base() const { return impl_->lin; }
template <class T>
const std::vector<double>& LangevinNet<T>::linear_base_chol() const { return impl_->lin_chol; }
template <class T>
int LangevinNet<T>::linear_base_degree() const { return impl_->lin_degree; }
template <class T>
void LangevinNet<T>::zero_output_layer() {
  const CallLock lock(impl_->call_mutex);
  Impl& im = *impl_;
  for (int e = 0; e < im.E; ++e) im.net.zero_output_layer(im.p.data() + im.P * std::size_t(e));
  ++im.version;
}
template <class T>
T* LangevinNet<T>::adam_m() { return impl_->m.data(); }
template <class T>
T* LangevinNet<T>::adam_v() { return impl_->v.data(); }
template <class T>
std::int64_t& LangevinNet<T>::adam_step() { return impl_->step; }
template <class T>
std::int64_t& LangevinNet<T>::batch_draws() { return impl_->draws; }
template <class T>
CallMutex& LangevinNet<T>::call_mutex() const { return impl_->call_mutex; }

namespace {
template <class T>
void check_data(const RegressionData<T>& d, const BayesMlpSpec& s) {
  if (d.n < 1) throw std::invalid_argument("no data rows");
  if ((s.in_dim > 0 && !d.x) || !d.y) throw std::invalid_argument("data pointers are null");
}

/// Each member's rows (one list shared by every member, or one per member), every list
/// nonempty and inside the data; counts[e]: member e's number of rows.
std::vector<const std::int64_t*> member_row_lists(const std::vector<std::vector<std::int64_t>>& rows, int E,
                                                  std::int64_t n_data, std::vector<std::int64_t>* counts) {
  if (rows.size() != 1 && rows.size() != std::size_t(E))
    throw std::invalid_argument("rows must hold one list, or one per ensemble member (" + std::to_string(E) + ")");
  for (const auto& r : rows) {
    if (r.empty()) throw std::invalid_argument("every member needs at least one row");
    for (std::int64_t i : r)
      if (i < 0 || i >= n_data) throw std::invalid_argument("row index " + std::to_string(i) + " is outside the data");
  }
  std::vector<const std::int64_t*> out(E);
  counts->resize(E);
  for (int e = 0; e < E; ++e) {
    const auto& r = rows[rows.size() == 1 ? 0 : e];
    out[e] = r.data();
    (*counts)[e] = std::int64_t(r.size());
  }
  return out;
}

/// The same, every member with the same number of rows *n_rows (training draws its minibatches alike).
std::vector<const std::int64_t*> member_rows(const std::vector<std::vector<std::int64_t>>& rows, int E,
                                             std::int64_t n_data, std::size_t* n_rows) {
  std::vector<std::int64_t> counts;
  auto out = member_row_lists(rows, E, n_data, &counts);
  for (std::int64_t c : counts)
    if (c != counts[0]) throw std::invalid_argument("every member needs the same number of rows");
  *n_rows = std::size_t(counts[0]);
  return out;
}
}  // namespace

template <class T>
LangevinTrainStats LangevinNet<T>::train(const RegressionData<T>& data,
                                         const std::vector<std::vector<std::int64_t>>& rows, std::int64_t n_steps,
                                         const LangevinTrainConfig& cfg, const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return {};
  cfg.validate();
  Impl& im = *impl_;
  check_data(data, im.net.spec());
  std::size_t n_rows = 0;
  const auto src = member_rows(rows, im.E, data.n, &n_rows);
  const int K = im.n_bayes_samples(cfg.n_samples);
  ++im.version;
  nn::FlushDenormals ftz;
  std::vector<std::vector<std::int64_t>> batch(im.E, std::vector<std::int64_t>(cfg.batch));
  std::vector<const std::int64_t*> bptr(im.E);
  LangevinTrainStats out;
  double loss_sum = 0.0;
  for (std::int64_t s = 0; s < n_steps; ++s) {
    if (cancel && cancel->load(std::memory_order_relaxed)) break;
    const std::int64_t key = im.draws;
    for (int e = 0; e < im.E; ++e) {
      for (int i = 0; i < cfg.batch; i += 2) {
        std::uint32_t c[4];
        philox_block<std::uint32_t>(cfg.seed, RngPurpose::minibatch, static_cast<std::uint32_t>(key),
                                    static_cast<std::uint32_t>(e), std::uint64_t(i / 2), c);
        for (int h = 0; h < 2 && i + h < cfg.batch; ++h)
          batch[e][i + h] = src[e][((std::uint64_t(c[2 * h + 1]) << 32) | c[2 * h]) % n_rows];
      }
      bptr[e] = batch[e].data();
    }
    im.sample_weights(K, cfg.seed, RngPurpose::weight_sample, false,
                      [&](int e, int k) { return im.train_key(key, e, k); }, im.wsamp, &im.eps);
    const double loss = im.objective(data, bptr, cfg.batch, K, cfg, im.grad.data(), cancel);
    if (cancel && cancel->load(std::memory_order_relaxed)) break;  // a partial gradient is never applied
    loss_sum += loss / im.E;
    ++im.step;
    ++im.draws;
    nn::optimizer_step(cfg.optimizer, long(im.step), im.p.data(), im.grad.data(), im.m.data(), im.v.data(),
                       im.p.size());
    ++out.steps_done;
  }
  out.mean_loss = out.steps_done ? loss_sum / double(out.steps_done) : 0.0;
  return out;
}

template <class T>
double LangevinNet<T>::objective_and_grad(const RegressionData<T>& data,
                                          const std::vector<std::vector<std::int64_t>>& rows,
                                          const LangevinTrainConfig& cfg, std::int64_t step, T* grad) {
  const CallLock lock(impl_->call_mutex);
  cfg.validate();
  Impl& im = *impl_;
  check_data(data, im.net.spec());
  std::size_t n_rows = 0;
  const auto src = member_rows(rows, im.E, data.n, &n_rows);
  const int K = im.n_bayes_samples(cfg.n_samples);
  im.sample_weights(K, cfg.seed, RngPurpose::weight_sample, false,
                    [&](int e, int k) { return im.train_key(step, e, k); }, im.wsamp, &im.eps);
  return im.objective(data, src, std::int64_t(n_rows), K, cfg, grad);
}

template <class T>
std::vector<double> LangevinNet<T>::nll(const RegressionData<T>& data,
                                        const std::vector<std::vector<std::int64_t>>& rows, int n_samples,
                                        std::uint64_t seed, const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) throw std::runtime_error("cancelled");
  Impl& im = *impl_;
  check_data(data, im.net.spec());
  std::vector<std::int64_t> count;
  const auto src = member_row_lists(rows, im.E, data.n, &count);
  if (n_samples < 0) throw std::invalid_argument("n_samples must be >= 0");
  const int mo = im.net.spec().out_dim;
  const std::int64_t longest = *std::max_element(count.begin(), count.end());
  const std::int64_t nc = (longest + kEvalChunk - 1) / kEvalChunk;
  // per (member, chunk) sums, added in order afterwards: thread-count independent
  std::vector<double> part(std::size_t(im.E) * nc, 0.0);
  const bool ok = im.eval_samples(
      longest, n_samples, seed, false, cancel,
      [&](typename Impl::Worker& w, int e, int, std::int64_t lo, int n) { im.gather(data, src[e] + lo, n, w, true); },
      [&](typename Impl::Worker& w, int e, int, std::int64_t lo, int n) {
        double s = 0.0;
        for (int i = 0; i < n; ++i)
          s += w.head.loss_grad(w.ws.out.data() + std::int64_t(i) * mo, w.y.data() + std::int64_t(i) * mo,
                                w.dout.data() + std::int64_t(i) * mo, im.base(w, e, i));
        part[std::size_t(e) * nc + lo / kEvalChunk] += s;
      },
      count.data());
  if (!ok) throw std::runtime_error("cancelled");
  const int n_s = (n_samples == 0 || im.net.n_sampled() == 0) ? 1 : n_samples;
  std::vector<double> out(im.E, 0.0);
  for (int e = 0; e < im.E; ++e) {
    for (std::int64_t c = 0; c < nc; ++c) out[e] += part[std::size_t(e) * nc + c];
    out[e] /= double(count[e]) * n_s;
  }
  return out;
}

template <class T>
std::vector<double> LangevinNet<T>::nll(const RegressionData<T>& data, const std::int64_t* rows, std::int64_t n_rows,
                                        int n_samples, std::uint64_t seed, const std::atomic<bool>* cancel) {
  if (n_rows < 1) throw std::invalid_argument("nll needs at least one row");
  return nll(data, {std::vector<std::int64_t>(rows, rows + n_rows)}, n_samples, seed, cancel);
}

template <class T>
double LangevinNet<T>::kl_mean(int member) const {
  const CallLock lock(impl_->call_mutex);
  if (member < 0 || member >= impl_->E) throw std::invalid_argument("member out of range");
  return impl_->net.kl_mean(impl_->member(member));
}

template <class T>
bool LangevinNet<T>::predict(const T* x, std::int64_t n, int n_samples, std::uint64_t seed, T* out,
                             const std::atomic<bool>* cancel, bool paired) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return false;
  Impl& im = *impl_;
  if (n < 0) throw std::invalid_argument("n must be >= 0");
  if (n_samples < 0) throw std::invalid_argument("n_samples must be >= 0");
  if (n == 0) return true;
  const int din = im.net.spec().in_dim, mo = im.net.spec().out_dim;
  const int n_s = (n_samples == 0 || im.net.n_sampled() == 0) ? 1 : n_samples;
  return im.eval_samples(
      n, n_samples, seed, paired, cancel,
      [&](typename Impl::Worker& w, int e, int s, std::int64_t lo, int cnt) {
        const T* src = x + ((paired ? std::int64_t(e) * n_s + s : 0) * n + lo) * din;
        std::copy(src, src + std::int64_t(cnt) * din, w.ws.x0.data());
      },
      [&](typename Impl::Worker& w, int e, int s, std::int64_t lo, int cnt) {
        T* o = out + ((std::int64_t(e) * n_s + s) * n + lo) * mo;
        for (int i = 0; i < cnt; ++i)
          w.head.field(w.ws.out.data() + std::int64_t(i) * mo, o + std::int64_t(i) * mo, im.base(w, e, i, s));
      });
}

template <class T>
bool posterior_summary(const T* samples, std::int64_t n_samples, std::int64_t n, std::int64_t m, double q_lo,
                       double q_hi, double* mean, double* stdev, double* lo, double* hi, int n_threads,
                       const std::atomic<bool>* cancel) {
  if (n_samples < 1) throw std::invalid_argument("posterior_summary needs at least one sample");
  if (!(q_lo >= 0 && q_lo <= q_hi && q_hi <= 1)) throw std::invalid_argument("need 0 <= q_lo <= q_hi <= 1");
  ThreadPool pool(n_threads);
  const std::int64_t total = n * m;
  const std::int64_t per = 4096;
  const int n_tasks = static_cast<int>((total + per - 1) / per);
  pool.parallel_for(n_tasks, [&](int task, int) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return;
    std::vector<double> col(n_samples);
    auto quantile = [&](double q) {  // numpy 'linear': position q (S - 1)
      const double pos = q * double(n_samples - 1);
      const std::int64_t i = static_cast<std::int64_t>(std::floor(pos));
      const double f = pos - double(i);
      std::nth_element(col.begin(), col.begin() + i, col.end());
      const double a = col[i];
      if (f == 0.0 || i + 1 >= n_samples) return a;
      const double b = *std::min_element(col.begin() + i + 1, col.end());
      return a + f * (b - a);
    };
    for (std::int64_t j = std::int64_t(task) * per; j < std::min(total, std::int64_t(task + 1) * per); ++j) {
      double s = 0.0;
      for (std::int64_t k = 0; k < n_samples; ++k) s += (col[k] = double(samples[k * total + j]));
      const double mu = s / double(n_samples);
      double ss = 0.0;
      for (double c : col) ss += (c - mu) * (c - mu);
      mean[j] = mu;
      stdev[j] = n_samples > 1 ? std::sqrt(ss / double(n_samples - 1)) : 0.0;
      lo[j] = quantile(q_lo);
      hi[j] = quantile(q_hi);
    }
  });
  return !(cancel && cancel->load());
}

template class LangevinNet<float>;
template class LangevinNet<double>;
template bool posterior_summary<float>(const float*, std::int64_t, std::int64_t, std::int64_t, double, double,
                                       double*, double*, double*, double*, int, const std::atomic<bool>*);
template bool posterior_summary<double>(const double*, std::int64_t, std::int64_t, std::int64_t, double, double,
                                        double*, double*, double*, double*, int, const std::atomic<bool>*);

}  // namespace stochinfer
