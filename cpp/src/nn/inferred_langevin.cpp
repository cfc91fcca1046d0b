// SPDX-License-Identifier: MIT
// Fields and simulation of a fitted Langevin equation (methods.md §3, §3.6).
// Compiled with the network code (its ISA namespace): the step templates and
// the noise streams are instantiated here.
#include "stochinfer/inferred_langevin.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "stochinfer/integrators/euler_maruyama.hpp"
#include "stochinfer/integrators/underdamped_euler.hpp"
#include "stochinfer/nn/antithetic.hpp"
#include "stochinfer/parallel.hpp"
#include "stochinfer/rng.hpp"

namespace stochinfer {

namespace {

constexpr std::int64_t kTrajChunk = 64;  // trajectories per simulation task: fixed, thread-count independent

void need(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument(what);
}

bool finite_positive(double v) { return std::isfinite(v) && v > 0; }

/// Coefficients of the diffusion base per posterior sample into out: S x size (c ± L ξ,
/// InferredFieldsSpec::diffusion_base_chol), or c alone when S = 0 or no factor is given.
void diffusion_base_samples(const InferredFieldsSpec& s, int S, std::uint64_t seed, std::vector<double>& out) {
  const std::size_t p = s.diffusion_base.size();
  if (S == 0 || s.diffusion_base_chol.empty()) {
    out = s.diffusion_base;
    return;
  }
  out.resize(p * std::size_t(S));
  std::vector<double> xi(p);
  for (int k = 0; k < S; ++k)
    antithetic_gaussian_draw(seed, RngPurpose::diffusion_base_sample, 0, k, s.diffusion_base.data(),
                             s.diffusion_base_chol.data(), p, xi.data(), out.data() + std::size_t(k) * p);
}

/// Fields of one (sample, trajectory) cached for a step: the step templates'
/// model contract (models/model_base.hpp) on a constant drift and noise factor.
struct CachedFields {
  static constexpr bool kUnderdamped = false;  // unused: the caller picks the template
  int d;
  const double* f;  ///< drift (overdamped) or total acceleration (underdamped), d values
  const double* g;  ///< √2 L, d x d row-major (zero outside the noisy block)
  int dim() const { return d; }
  int dof() const { return d; }
  void drift(const double*, double, double* out) const { std::copy(f, f + d, out); }
  void force(const double*, const double*, double, double* out) const { std::copy(f, f + d, out); }
  double friction(double) const { return 0.0; }  // the learned drift holds the friction
  void noise(const double*, double, const double* xi, double* out) const { apply(xi, out); }
  void noise(const double*, const double*, double, const double* xi, double* out) const { apply(xi, out); }
  void project(double*) const {}
  void apply(const double* xi, double* out) const {
    for (int i = 0; i < d; ++i) {
      double s = 0.0;
      for (int j = 0; j <= i; ++j) s += g[i * d + j] * xi[j];
      out[i] = s;
    }
  }
};

/// √2 L with D = L Lᵀ on the noisy block (D row-major d x d); false when the
/// block is not positive definite.
bool scaled_cholesky(const double* D, int d, const std::vector<int>& noisy, double* g) {
  std::fill(g, g + d * d, 0.0);
  const int m = static_cast<int>(noisy.size());
  for (int a = 0; a < m; ++a) {
    const int i = noisy[a];
    for (int b = 0; b <= a; ++b) {
      const int j = noisy[b];
      double s = D[i * d + j];
      for (int c = 0; c < b; ++c) s -= g[i * d + noisy[c]] * g[j * d + noisy[c]];
      if (a == b) {
        if (!(s > 0) || !std::isfinite(s)) return false;
        g[i * d + i] = std::sqrt(s);
      } else {
        g[i * d + j] = s / g[j * d + j];
      }
    }
  }
  for (int k = 0; k < d * d; ++k) g[k] *= std::sqrt(2.0);
  return true;
}

}  // namespace

void InferredFieldsSpec::validate() const {
  need(dim >= 1, "dim must be >= 1");
  const auto sized = [&](const std::vector<double>& v, const char* name, bool positive) {
    need(v.size() == std::size_t(dim), std::string(name) + " must have dim entries");
    for (double a : v) need(positive ? finite_positive(a) : std::isfinite(a), std::string(name) + " must be finite" +
                                                                                  (positive ? " and > 0" : ""));
  };
  sized(mu_x, "mu_x", false);
  sized(s_x, "s_x", true);
  if (underdamped) {
    sized(mu_v, "mu_v", false);
    sized(s_v, "s_v", true);
  }
  if (time_input) need(std::isfinite(mu_t) && finite_positive(s_t), "mu_t, s_t must be finite, s_t > 0");
  need(std::isfinite(time_period) && time_period >= 0, "time_period must be finite and >= 0 (0: time as is)");
  need(time_input || time_period == 0, "time_period needs time_input");
  need(time_harmonics >= 1 && (time_harmonics == 1 || time_period > 0),
       "time_harmonics must be >= 1, and above 1 only with a time_period");
  for (std::size_t k = 0; k < noisy.size(); ++k) {
    need(noisy[k] >= 0 && noisy[k] < dim, "noisy coordinates must lie in [0, dim)");
    need(k == 0 || noisy[k] > noisy[k - 1], "noisy coordinates must be increasing");
  }
  const std::size_t nd = noisy.empty() ? std::size_t(dim) : noisy.size();
  need(diffusion_factor.size() == nd, "diffusion_factor needs one entry per noisy coordinate");
  for (double a : diffusion_factor) need(finite_positive(a), "diffusion_factor must be finite and > 0");
  need(fr_linear.empty() || fr_linear.size() == std::size_t(in_dim() + 1) * dim,
       "fr_linear must hold (1 + in_dim) x dim coefficients");
  for (double a : fr_linear) need(std::isfinite(a), "fr_linear must be finite");
  if (!diffusion_base.empty()) {
    need(!homogeneous_diffusion, "a diffusion base needs an input-dependent diffusion network");
    need(diffusion_base.size() == std::size_t(diffusion_base_size(in_dim())),
         "diffusion_base must hold 1 + n + n(n + 1)/2 coefficients, n = in_dim");
    for (double a : diffusion_base) need(std::isfinite(a), "diffusion_base must be finite");
    need(finite_positive(diffusion_base_floor), "diffusion_base_floor must be finite and > 0");
  }
  if (!diffusion_base_chol.empty()) {
    need(!diffusion_base.empty(), "diffusion_base_chol needs a diffusion_base");
    need(diffusion_base_chol.size() == diffusion_base.size() * diffusion_base.size(),
         "diffusion_base_chol must hold size(diffusion_base)² values");
    for (double a : diffusion_base_chol) need(std::isfinite(a), "diffusion_base_chol must be finite");
  }
  if (!friction.empty()) {
    need(underdamped, "friction (the finite-γΔt drift correction) applies to underdamped fits only");
    sized(friction, "friction", false);
    need(finite_positive(dt), "dt must be > 0 with a friction correction");
  }
  if (!friction_bias.empty()) {
    need(!friction.empty(), "friction_bias needs a friction");
    sized(friction_bias, "friction_bias", false);
  }
}

void InferredSimulationConfig::validate() const {
  need(n_traj >= 1, "n_traj must be >= 1");
  need(n_steps >= 1, "n_steps must be >= 1");
  need(finite_positive(dt), "dt must be finite and > 0");
  need(std::isfinite(t0), "t0 must be finite");
  need(std::isfinite(period) && period >= 0, "period must be finite and >= 0 (0: none)");
  need(n_samples >= 0, "n_samples must be >= 0");
  need(record_every >= 1, "record_every must be >= 1");
}

template <class T>
struct InferredLangevin<T>::Impl {
  LangevinNet<T>* drift;
  LangevinNet<T>* shifted;
  LangevinNet<T>* diffusion;
  LangevinNet<T>* noiseless_drift = nullptr;
  InferredFieldsSpec spec;
  std::vector<int> noisy;  // resolved: all coordinates when spec.noisy is empty
  std::vector<int> slot;   // per coordinate: its output of noiseless_drift, or -1
  int n_threads;
  std::unique_ptr<ThreadPool> pool;  // started by the first simulate(): field queries need no threads
  std::vector<T> in, out_f, out_fr, out_d, out_fq;
  // the diffusion base's coefficients per posterior sample, for (base_S, base_seed): the same
  // at every step of a simulation
  std::vector<double> base_coeffs;
  int base_S = -1;
  std::uint64_t base_seed = 0;
  std::vector<double> in64;
  mutable CallMutex call_mutex;  // the networks' own mutexes guard them in their calls

  Impl(LangevinNet<T>& f, LangevinNet<T>* fr, LangevinNet<T>& D, InferredFieldsSpec s, int n_threads)
      : drift(&f), shifted(fr), diffusion(&D), spec(std::move(s)), n_threads(n_threads) {
    spec.validate();
    noisy = spec.noisy;
    if (noisy.empty())
      for (int i = 0; i < spec.dim; ++i) noisy.push_back(i);
    const int nd = static_cast<int>(noisy.size());
    const auto check_drift = [&](const LangevinNet<T>& n, const char* name) {
      need(n.head_spec().kind == HeadKind::affine && n.head_spec().d == spec.dim,
           std::string(name) + " must be an affine-head network with d = dim outputs");
      need(n.net_spec().in_dim == spec.in_dim(), std::string(name) + " takes " +
                                                     std::to_string(n.net_spec().in_dim) + " inputs, the spec " +
                                                     std::to_string(spec.in_dim()));
    };
    check_drift(f, "drift");
    if (fr) check_drift(*fr, "drift_shifted");
    need(!(fr && !spec.fr_linear.empty()), "give the F_r correction as a network or as fr_linear, not both");
    need(D.head_spec().kind == HeadKind::cholesky && D.head_spec().d == nd,
         "diffusion must be a cholesky-head network over the noisy coordinates");
    need(D.net_spec().in_dim == (spec.homogeneous_diffusion ? 0 : spec.in_dim()),
         "diffusion network inputs do not match the spec (homogeneous_diffusion: none)");
  }

  static int outputs(const LangevinNet<T>& n, int n_samples) {
    return n.n_members() * ((n_samples == 0 || n.net_spec().n_bayes == 0) ? 1 : n_samples);
  }
};

template <class T>
InferredLangevin<T>::InferredLangevin(LangevinNet<T>& drift, LangevinNet<T>* drift_shifted,
                                      LangevinNet<T>& diffusion, InferredFieldsSpec spec, int n_threads)
    : impl_(std::make_unique<Impl>(drift, drift_shifted, diffusion, std::move(spec), n_threads)) {}
template <class T>
InferredLangevin<T>::~InferredLangevin() = default;
template <class T>
InferredLangevin<T>::InferredLangevin(InferredLangevin&&) noexcept = default;
template <class T>
InferredLangevin<T>& InferredLangevin<T>::operator=(InferredLangevin&&) noexcept = default;

template <class T>
const InferredFieldsSpec& InferredLangevin<T>::spec() const {
  return impl_->spec;
}
template <class T>
CallMutex& InferredLangevin<T>::call_mutex() const {
  return impl_->call_mutex;
}

template <class T>
void InferredLangevin<T>::set_noiseless_drift(LangevinNet<T>* net) {
  const CallLock lock(impl_->call_mutex);
  Impl& im = *impl_;
  std::vector<int> slot;  // checked in full before anything changes
  if (net) {
    slot.assign(im.spec.dim, -1);
    int q = 0;
    for (int k = 0; k < im.spec.dim; ++k)
      if (std::find(im.noisy.begin(), im.noisy.end(), k) == im.noisy.end()) slot[k] = q++;
    need(q > 0, "a noiseless drift network needs noiseless coordinates (spec.noisy lists them all)");
    need(net->head_spec().kind == HeadKind::affine && net->head_spec().d == q,
         "the noiseless drift network must have an affine head with one output per noiseless coordinate (" +
             std::to_string(q) + ")");
    need(net->net_spec().in_dim == im.spec.in_dim(), "the noiseless drift network takes " +
                                                        std::to_string(net->net_spec().in_dim) +
                                                        " inputs, the spec " + std::to_string(im.spec.in_dim()));
  }
  im.slot = std::move(slot);
  im.noiseless_drift = net;
}

template <class T>
int InferredLangevin<T>::n_outputs(int n_samples) const {
  const CallLock lock(impl_->call_mutex);  // reads the noiseless network, which set_noiseless_drift changes
  const Impl& im = *impl_;
  need(n_samples >= 0, "n_samples must be >= 0 (0: the mean weights)");
  const int S = Impl::outputs(*im.drift, n_samples);
  need(!im.shifted || Impl::outputs(*im.shifted, n_samples) == S, "drift_shifted gives a different sample count");
  need(!im.noiseless_drift || Impl::outputs(*im.noiseless_drift, n_samples) == S,
       "the noiseless drift network gives a different sample count");
  need(Impl::outputs(*im.diffusion, n_samples) == S,
       "the diffusion network gives a different number of posterior samples than the drift");
  return S;
}

namespace {
constexpr double kTwoPi = 6.283185307179586476925;

/// t holds one time per row of a block of `block` rows, shared by the blocks.
template <class V>
void normalise_rows(const InferredFieldsSpec& s, const double* z, const double* t, std::int64_t rows,
                    std::int64_t block, V* inputs) {
  const int d = s.dim, sd = s.state_dim(), din = s.in_dim();
  need(!s.time_input || t != nullptr, "this fit has time as an input: pass t");
  for (std::int64_t r = 0; r < rows; ++r) {
    const double* zr = z + r * sd;
    V* o = inputs + r * din;
    for (int k = 0; k < d; ++k) o[k] = V((zr[k] - s.mu_x[k]) / s.s_x[k]);
    if (s.underdamped)
      for (int k = 0; k < d; ++k) o[d + k] = V((zr[d + k] / s.s_x[k] - s.mu_v[k]) / s.s_v[k]);
    if (s.time_input && s.time_period > 0) {
      const double phase = kTwoPi * t[r % block] / s.time_period;
      for (int h = 0; h < s.time_harmonics; ++h) {
        o[sd + 2 * h] = V(std::cos((h + 1) * phase));
        o[sd + 2 * h + 1] = V(std::sin((h + 1) * phase));
      }
    } else if (s.time_input) {
      o[sd] = V((t[r % block] - s.mu_t) / s.s_t);
    }
  }
}
}  // namespace

template <class T>
void InferredLangevin<T>::normalise(const double* z, const double* t, std::int64_t rows, T* inputs) const {
  normalise_rows(impl_->spec, z, t, rows, rows, inputs);
}

template <class T>
bool InferredLangevin<T>::fields_from_inputs(const T* inputs, std::int64_t n, int n_samples, std::uint64_t seed,
                                             bool paired, double* drift, double* diffusion,
                                             const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return false;
  return assemble(inputs, nullptr, n, n_samples, seed, paired, drift, diffusion, cancel);
}

template <class T>
bool InferredLangevin<T>::assemble(const T* inputs, const double* inputs64, std::int64_t n, int n_samples,
                                   std::uint64_t seed, bool paired, double* drift, double* diffusion,
                                   const std::atomic<bool>* cancel) {
  Impl& im = *impl_;
  const InferredFieldsSpec& s = im.spec;
  const int S = n_outputs(n_samples);
  const int d = s.dim, din = s.in_dim();
  const std::int64_t total = std::int64_t(S) * n;
  const auto input = [&](std::int64_t i) { return inputs64 ? inputs64[i] : double(inputs[i]); };
  if (drift) {
    im.out_f.resize(std::size_t(total) * d);
    if (!im.drift->predict(inputs, n, n_samples, seed, im.out_f.data(), cancel, paired)) return false;
    if (im.shifted) {
      im.out_fr.resize(im.out_f.size());
      if (!im.shifted->predict(inputs, n, n_samples, seed + 7919, im.out_fr.data(), cancel, paired)) return false;
    }
    const int q = im.noiseless_drift ? im.noiseless_drift->head_spec().d : 0;
    if (q) {
      im.out_fq.resize(std::size_t(total) * q);
      if (!im.noiseless_drift->predict(inputs, n, n_samples, seed + 3571, im.out_fq.data(), cancel, paired))
        return false;
    }
    const std::vector<double>& C = s.fr_linear;
    for (std::int64_t r = 0; r < total; ++r) {
      const std::int64_t row = (paired ? r : r % n) * din;
      for (int k = 0; k < d; ++k) {
        double f = (q && im.slot[k] >= 0) ? double(im.out_fq[r * q + im.slot[k]]) : double(im.out_f[r * d + k]);
        if (im.shifted) f += (f - double(im.out_fr[r * d + k])) / 4.0;  // F + (F − F_r)/4
        if (!C.empty()) {  // its linear projection
          double c = C[k];
          for (int j = 0; j < din; ++j) c += input(row + j) * C[std::size_t(1 + j) * d + k];
          f += c;
        }
        if (!s.friction.empty()) {  // (1 + γΔt/2) on the non-friction part, −δv the friction f lacks; v in
          // normalised position units
          const double g = s.friction[k], v = input(row + d + k) * s.s_v[k] + s.mu_v[k];
          const double bias = s.friction_bias.empty() ? 0.0 : s.friction_bias[k];
          f += 0.5 * g * s.dt * (f + (g - bias) * v) - bias * v;
        }
        drift[r * d + k] = f * s.s_x[k];
      }
    }
  }
  if (diffusion) {
    const int nd = static_cast<int>(im.noisy.size()), m = nd * (nd + 1) / 2;
    im.out_d.resize(std::size_t(total) * m);
    if (!im.diffusion->predict(inputs, n, n_samples, seed + 104729, im.out_d.data(), cancel, paired)) return false;
    std::vector<double> scale(nd);
    for (int a = 0; a < nd; ++a) scale[a] = s.s_x[im.noisy[a]] * std::sqrt(s.diffusion_factor[a]);
    std::vector<double> u(s.diffusion_base.empty() ? 0 : din);
    const int base_S = n_samples > 0 ? S : 0;
    if (!u.empty() && (im.base_S != base_S || im.base_seed != seed)) {
      diffusion_base_samples(s, base_S, seed + 104729, im.base_coeffs);
      im.base_S = base_S;
      im.base_seed = seed;
    }
    const std::vector<double>& coeffs = im.base_coeffs;
    const std::size_t nc = s.diffusion_base.size();
    for (std::int64_t r = 0; r < total; ++r) {
      double* D = diffusion + r * d * d;
      std::fill(D, D + d * d, 0.0);
      double base = 1.0;
      if (!u.empty()) {
        const std::int64_t row = (paired ? r : r % n) * din;
        for (int j = 0; j < din; ++j) u[j] = input(row + j);
        const std::size_t k = coeffs.size() > nc ? std::size_t(r / n) : 0;  // the row's posterior sample
        base = quadratic_diffusion_base(u.data(), din, coeffs.data() + k * nc, s.diffusion_base_floor);
      }
      int k = 0;
      for (int a = 0; a < nd; ++a)
        for (int b = 0; b <= a; ++b, ++k) {  // lower triangle row by row, the head's layout
          const double v = double(im.out_d[r * m + k]) * scale[a] * scale[b] * base;
          D[im.noisy[a] * d + im.noisy[b]] = v;
          D[im.noisy[b] * d + im.noisy[a]] = v;
        }
    }
  }
  return true;
}

template <class T>
bool InferredLangevin<T>::fields(const double* z, const double* t, std::int64_t n, int n_samples,
                                 std::uint64_t seed, bool paired, double* drift, double* diffusion,
                                 const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return false;
  Impl& im = *impl_;
  const std::int64_t rows = paired ? std::int64_t(n_outputs(n_samples)) * n : n;
  // the networks see T inputs; the friction correction reads the velocity in double
  im.in64.resize(std::size_t(rows) * im.spec.in_dim());
  normalise_rows(im.spec, z, t, rows, n, im.in64.data());
  im.in.assign(im.in64.begin(), im.in64.end());
  return assemble(im.in.data(), im.in64.data(), n, n_samples, seed, paired, drift, diffusion, cancel);
}

template <class T>
InferredSimulationResult InferredLangevin<T>::simulate(const InferredSimulationConfig& cfg, const double* x0,
                                                       const double* v0, double* x_rec, double* v_rec,
                                                       double* spread, const std::atomic<bool>* cancel) {
  const auto lock = lock_unless_cancelled(impl_->call_mutex, cancel);
  if (!lock.owns_lock()) return {};
  cfg.validate();
  Impl& im = *impl_;
  const InferredFieldsSpec& s = im.spec;
  const bool under = s.underdamped;
  need(x0 != nullptr && x_rec != nullptr, "x0 and x_rec are required");
  need(!under || (v0 != nullptr && v_rec != nullptr), "underdamped fits need v0 and v_rec");
  const int d = s.dim, sd = s.state_dim();
  const int S = n_outputs(cfg.n_samples);
  const bool paired = cfg.per_sample;
  const std::int64_t U = paired ? S : 1, n = cfg.n_traj;
  const std::int64_t n_rec = cfg.n_steps / cfg.record_every + 1;
  std::vector<double> z(std::size_t(U * n) * sd), F(std::size_t(S * n) * d), D(std::size_t(S * n) * d * d);
  std::vector<double> t_rows(s.time_input ? n : 0);
  for (std::int64_t u = 0; u < U; ++u)
    for (std::int64_t i = 0; i < n; ++i) {
      std::copy(x0 + i * d, x0 + (i + 1) * d, &z[(u * n + i) * sd]);
      if (under) std::copy(v0 + i * d, v0 + (i + 1) * d, &z[(u * n + i) * sd + d]);
    }
  const auto record = [&](std::int64_t r) {
    for (std::int64_t u = 0; u < U; ++u)
      for (std::int64_t i = 0; i < n; ++i) {
        const double* zi = &z[(u * n + i) * sd];
        std::copy(zi, zi + d, x_rec + ((u * n + i) * n_rec + r) * d);
        if (under) std::copy(zi + d, zi + 2 * d, v_rec + ((u * n + i) * n_rec + r) * d);
      }
  };
  record(0);
  if (spread)
    for (std::int64_t i = 0; i < n; ++i) std::fill(spread + (i * n_rec) * d, spread + (i * n_rec + 1) * d, 0.0);

  std::vector<NormalStream<std::uint32_t>> streams(n);
  for (std::int64_t i = 0; i < n; ++i)
    streams[i] = normal_stream(cfg.seed, RngPurpose::integrator_noise, std::uint64_t(i));
  const int n_tasks = static_cast<int>((n + kTrajChunk - 1) / kTrajChunk);
  const double sqrt_dt = std::sqrt(cfg.dt);
  if (!im.pool) im.pool = std::make_unique<ThreadPool>(im.n_threads);
  InferredSimulationResult res;
  for (std::int64_t k = 1; k <= cfg.n_steps; ++k) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return res;
    double t = cfg.t0 + double(k - 1) * cfg.dt;
    if (cfg.period > 0) {
      t = std::fmod(t, cfg.period);
      if (t < 0) t += cfg.period;
    }
    std::fill(t_rows.begin(), t_rows.end(), t);
    if (!fields(z.data(), s.time_input ? t_rows.data() : nullptr, n, cfg.n_samples, cfg.posterior_seed, paired,
                F.data(), D.data(), cancel))
      return res;
    std::atomic<bool> bad_noise{false}, diverged{false};
    const bool rec = k % cfg.record_every == 0;
    const std::int64_t r = k / cfg.record_every;
    im.pool->parallel_for(n_tasks, [&](int task, int) {
      std::vector<double> xi(d), g(std::size_t(d) * d), work(2 * d), state(sd), prop(std::size_t(S) * d), x1(d);
      const std::int64_t lo = task * kTrajChunk, hi = std::min(n, lo + kTrajChunk);
      for (std::int64_t i = lo; i < hi; ++i) {
        streams[i].read(xi.data(), d);  // ξ shared by all samples
        for (int smp = 0; smp < S; ++smp) {
          const std::int64_t u = paired ? smp : 0;
          const std::int64_t fi = std::int64_t(smp) * n + i;
          if (!scaled_cholesky(&D[fi * d * d], d, im.noisy, g.data())) {
            // non-finite fields: the state ran away from where the networks are sane
            const bool finite = std::all_of(&D[fi * d * d], &D[(fi + 1) * d * d], [](double v) { return std::isfinite(v); });
            (finite ? bad_noise : diverged) = true;
            return;
          }
          const CachedFields m{d, &F[fi * d], g.data()};
          double* zi = &z[(u * n + i) * sd];
          std::copy(zi, zi + sd, state.begin());
          if (under)
            underdamped_euler_step(m, state.data(), t, cfg.dt, sqrt_dt, xi.data(), work.data());
          else
            euler_maruyama_step(m, state.data(), t, cfg.dt, sqrt_dt, xi.data(), work.data());
          if (paired)
            std::copy(state.begin(), state.end(), zi);
          else  // the noisy variable proposed by this sample: v (underdamped) or x
            std::copy(state.begin() + (under ? d : 0), state.begin() + (under ? 2 * d : d), &prop[smp * d]);
          if (!paired && smp == 0 && under) std::copy(state.begin(), state.begin() + d, x1.begin());  // x + v dt
        }
        double* zi = &z[i * sd];
        if (!paired) {  // the published scheme: advance with the mean proposal
          if (under) std::copy(x1.begin(), x1.end(), zi);
          double* target = zi + (under ? d : 0);
          for (int c = 0; c < d; ++c) {
            double mu = 0.0;
            for (int smp = 0; smp < S; ++smp) mu += prop[smp * d + c];
            mu /= S;
            double ss = 0.0;
            for (int smp = 0; smp < S; ++smp) ss += (prop[smp * d + c] - mu) * (prop[smp * d + c] - mu);
            target[c] = mu;
            if (spread && rec) spread[(i * n_rec + r) * d + c] = std::sqrt(ss / S);
          }
        }
        for (std::int64_t u = 0; u < U; ++u)
          for (int c = 0; c < sd; ++c)
            if (!std::isfinite(z[(u * n + i) * sd + c])) diverged = true;
      }
    });
    if (diverged || bad_noise) {  // the states left the region where the networks are sane
      res.diverged = true;
      res.diffusion_not_positive_definite = bad_noise;
      return res;
    }
    if (rec) record(r);
    res.steps_done = k;
  }
  return res;
}

template class InferredLangevin<float>;
template class InferredLangevin<double>;

}  // namespace stochinfer
