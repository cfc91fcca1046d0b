// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "stochinfer/langevin_net.hpp"
#include "stochinfer/nn/polynomial.hpp"

namespace stochinfer {

/// How network outputs become the physical fields of a fitted Langevin equation
/// dz = Φ dt + √(2D) dW (methods.md §3). Written by the Python pipeline (the
/// `norm` of a LangevinFit) or by a C++ user who trained the networks.
///
/// Inputs of every network are the normalised state: (x − mu_x)/s_x, then
/// (underdamped) (v/s_x − mu_v)/s_v, then (time inputs) (t − mu_t)/s_t, or, with a
/// time_period P > 0 (periodically driven fits), cos(2πht/P), sin(2πht/P) for the
/// harmonics h = 1 … time_harmonics in that order, so that t and t + P are the same input
/// and the period's ends are neighbours.
/// Drift: f = F + (F − F_r)/4 when a shifted drift network F_r is given
/// (methods.md §3.3), or f = F + [1, inputs]·C with `fr_linear` = C, the
/// least-squares linear projection of (F − F_r)/4 over the training states
/// (the same first-order correction without the two networks' noise); with `friction` γ set, the non-friction part is
/// scaled back by (1 + γΔt/2) and the friction the drift lacks, δ = `friction_bias` (γ − γ̂, γ̂ the friction of f; 0
/// when empty), is added: f + (γΔt/2)(f + (γ − δ)v) − δv (python/stochinfer/langevin/friction.py derives the
/// finite-γΔt corrections); Φ = f · s_x.
/// Diffusion: the noisy block is b(u) D̃ s_i s_j with s = s_x[noisy] √factor;
/// noiseless coordinates get exactly zero rows and columns. b(u) is the scalar
/// quadratic base of the network inputs u (diffusion_base, 1 when empty), the
/// least-squares trend the diffusion network learns its ratio to, optionally drawn
/// per posterior sample from its coefficients' sampling covariance.
struct InferredFieldsSpec {
  int dim = 1;                              ///< d: positions (underdamped states are (x, v), 2d)
  bool underdamped = false;
  bool time_input = false;                  ///< the networks take time as their last input
  std::vector<double> mu_x, s_x;            ///< d each
  std::vector<double> mu_v, s_v;            ///< d each (underdamped)
  double mu_t = 0.0, s_t = 1.0;
  double time_period = 0.0;                 ///< > 0: time enters as cos, sin of 2πht/time_period
  int time_harmonics = 1;                   ///< h = 1 … time_harmonics (with a time_period)
  std::vector<int> noisy;                   ///< noisy coordinates, increasing; empty = all
  std::vector<double> diffusion_factor;     ///< one per noisy coordinate (3/2 underdamped: ρ(γΔt) is divided out of the labels)
  std::vector<double> friction;             ///< d mean frictions γ (1/time); empty: no unshrink
  std::vector<double> friction_bias;        ///< d: γ − γ̂, the friction f lacks (1/time); empty: 0 (needs friction)
  std::vector<double> fr_linear;            ///< (1 + in_dim) x d row-major C; empty: none (or the network F_r)
  double dt = 0.0;                          ///< the data's time step (for the unshrink)
  /// c of b(u) = max(floor, c₀ + Σ_j c_j u_j + Σ_{j≤k} c_jk u_j u_k), the pairs (j, k) in
  /// row-major upper-triangle order (diffusion_base_size(in_dim) values); empty: b = 1
  std::vector<double> diffusion_base;
  double diffusion_base_floor = 0.0;        ///< > 0 with a base: keeps b (and D) positive definite
  /// lower Cholesky factor (row-major, size² values) of the base coefficients' covariance; with it,
  /// posterior sample k (n_samples > 0) uses c ± L ξ, ξ from the stream (seed + 104729,
  /// diffusion_base_sample, k with its lowest bit cleared): antithetic pairs, so the samples'
  /// mean keeps c. Empty: every sample uses c
  std::vector<double> diffusion_base_chol;
  bool homogeneous_diffusion = false;       ///< the diffusion network takes no input
  int state_dim() const { return underdamped ? 2 * dim : dim; }
  int time_inputs() const { return time_input ? (time_period > 0 ? 2 * time_harmonics : 1) : 0; }
  int in_dim() const { return state_dim() + time_inputs(); }
  void validate() const;
};

/// Number of coefficients of a quadratic diffusion base over n inputs: 1 + n + n(n + 1)/2.
inline int diffusion_base_size(int n) { return n_monomials(n, 2); }

/// b(u) for one input row u (n values) and coefficients c (diffusion_base_size(n) values,
/// the order of InferredFieldsSpec::diffusion_base).
inline double quadratic_diffusion_base(const double* u, int n, const double* c, double floor) {
  const double b = polynomial_value(u, n, 2, c);
  return b > floor ? b : floor;
}

/// Settings of a simulation of the inferred equation (methods.md §3.6).
struct InferredSimulationConfig {
  std::int64_t n_traj = 1;
  std::int64_t n_steps = 1;
  double dt = 0.01;
  double t0 = 0.0;
  double period = 0.0;          ///< > 0: networks see t mod period (periodically driven fits)
  int n_samples = 20;           ///< posterior samples (bbb); ensembles use their members
  bool per_sample = true;       ///< false: the published ensemble-mean scheme
  std::uint64_t seed = 0;       ///< noise: stream (seed, integrator_noise, trajectory), d normals per step
  std::uint64_t posterior_seed = 0;
  std::int64_t record_every = 1;
  void validate() const;
};

struct InferredSimulationResult {
  std::int64_t steps_done = 0;  ///< fewer than asked when cancelled or diverged
  bool diverged = false;  ///< at step steps_done + 1 a state or field became NaN/inf, or a D sample lost definiteness
  /// a posterior diffusion sample was finite but not positive definite at step
  /// steps_done + 1 (states far outside the data); diverged is set too
  bool diffusion_not_positive_definite = false;
};

/// A fitted Langevin equation: drift network, optional shifted drift network
/// (underdamped F_r correction) and diffusion network, plus the normalisation.
/// The single implementation of the field assembly (Python's LangevinFit.drift,
/// .diffusion and .simulate all call it) and of the simulation loop. The
/// networks are borrowed and must outlive this object. Calls from several
/// threads are serialised (call_mutex(): it reuses scratch buffers, and the
/// networks their posterior caches), not run in parallel.
///
/// Fields come per posterior sample: S = n_members · max(n_samples, 1) samples
/// (n_samples = 0: the mean weights). `paired`: the states hold S blocks of n
/// rows and sample s is evaluated on block s only.
template <class T>
class InferredLangevin {
 public:
  InferredLangevin(LangevinNet<T>& drift, LangevinNet<T>* drift_shifted, LangevinNet<T>& diffusion,
                   InferredFieldsSpec spec, int n_threads = 0);
  ~InferredLangevin();
  InferredLangevin(InferredLangevin&&) noexcept;
  InferredLangevin& operator=(InferredLangevin&&) noexcept;

  const InferredFieldsSpec& spec() const;
  CallMutex& call_mutex() const;  ///< held by the calls below (detail/call_lock.hpp)

  /// An optional second drift network for the noiseless coordinates (the
  /// complement of spec.noisy, in increasing order): its outputs replace the main
  /// drift network's for those coordinates, before the corrections. A noiseless
  /// coordinate's drift is a noise-free regression that needs more updates than the
  /// noisy ones, whose early stopping a shared network follows. Borrowed; nullptr
  /// removes it.
  void set_noiseless_drift(LangevinNet<T>* net);
  int n_outputs(int n_samples) const;  ///< S, the same for every network

  /// Network inputs (rows x in_dim) of physical states z (rows x state_dim) at
  /// times t (rows values; nullptr when the networks take no time).
  void normalise(const double* z, const double* t, std::int64_t rows, T* inputs) const;

  /// Physical drift (S, n, d) and diffusion (S, n, d, d) from network inputs
  /// ((n or S·n) x in_dim); either output may be nullptr. False when cancelled.
  bool fields_from_inputs(const T* inputs, std::int64_t n, int n_samples, std::uint64_t seed, bool paired,
                          double* drift, double* diffusion, const std::atomic<bool>* cancel = nullptr);

  /// The same from physical states z ((n or S·n) x state_dim) and times t (n per
  /// block, shared by the blocks; nullptr without a time input).
  bool fields(const double* z, const double* t, std::int64_t n, int n_samples, std::uint64_t seed, bool paired,
              double* drift, double* diffusion, const std::atomic<bool>* cancel = nullptr);

  /// Simulates the inferred equation from x0 (and v0, underdamped), each
  /// (n_traj x d). Every step evaluates the fields of all S samples at the
  /// current states (one batched network pass), then advances each trajectory
  /// with euler_maruyama_step (overdamped) or underdamped_euler_step on those
  /// cached fields, the noise √(2dt) L ξ with D = L Lᵀ on the noisy block and ξ
  /// shared by all samples (common random numbers). per_sample: sample s drives
  /// its own copy of the trajectories; otherwise the published scheme advances
  /// one copy with the mean over samples of the proposed states.
  /// Outputs: x_rec, v_rec (U, n_traj, n_rec, d) with U = S (per_sample) or 1 and
  /// n_rec = n_steps / record_every + 1; spread (n_traj, n_rec, d): std over
  /// samples of the proposed noisy variable (ensemble mean only; may be nullptr).
  /// Results do not depend on the thread count.
  InferredSimulationResult simulate(const InferredSimulationConfig& cfg, const double* x0, const double* v0,
                                    double* x_rec, double* v_rec, double* spread,
                                    const std::atomic<bool>* cancel = nullptr);

 private:
  bool assemble(const T* inputs, const double* inputs64, std::int64_t n, int n_samples, std::uint64_t seed,
                bool paired, double* drift, double* diffusion, const std::atomic<bool>* cancel);
  NnIsaCheck isa_check_;  // first: refuses a CPU without nn_isa() before any of its code runs
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class InferredLangevin<float>;
extern template class InferredLangevin<double>;

}  // namespace stochinfer
