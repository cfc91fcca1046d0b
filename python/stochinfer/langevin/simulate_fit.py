"""Simulating an inferred Langevin equation (methods.md §3.6) and thermodynamic
read-outs with posterior error bars. The time loop and the networks run in C++
(InferredLangevin::simulate: every posterior sample at once, samples cached
between steps, the euler_maruyama / underdamped_euler step templates of the
built-in simulator on the per-step fields); the read-outs are numpy."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from .._validate import (c_int_count, check_output_fits, finite_float, positive_float, positive_int, real_array,
                         seed_value, user_stacklevel)

MODES = ("ensemble_mean", "per_sample")


@dataclass
class InferredTrajectories:
    """Paths of the inferred equation.

    x: (S, n_traj, n_rec, d) positions per posterior sample (mode 'per_sample'), or
    (1, n_traj, n_rec, d) for the ensemble-mean path; v likewise (underdamped) or
    None; t: (n_rec,); spread: (n_traj, n_rec, d) std over posterior samples (ddof
    0, as the published scheme) of the one-step predictions along the ensemble-mean
    path (mode 'ensemble_mean'),
    for one integration step of dt / settings['substeps'] (it shrinks with more
    substeps)."""

    x: np.ndarray
    v: Optional[np.ndarray]
    t: np.ndarray
    dt: float
    mode: str
    n_samples: int
    seed: int
    spread: Optional[np.ndarray] = None
    settings: dict = field(default_factory=dict)


def simulate_fit(fit, n_traj: int, n_steps: int, dt: Optional[float] = None, *, x0=None, v0=None,
                 t0: Optional[float] = None, n_samples: int = 20, mode: str = "per_sample", seed: int = 0,
                 record_every: int = 1, posterior_seed: int = 0,
                 period: Optional[float] = None, substeps: Optional[int] = None) -> InferredTrajectories:
    """Simulate the inferred equation for n_steps of dt (default: the data's dt),
    in C++ (threaded, GIL released, Ctrl-C stops it).

    substeps: integrate each step of dt in that many explicit steps (recording and
    record_every still count steps of dt). The explicit scheme biases the kinetic
    temperature where γΔt is not small: for an Ornstein–Uhlenbeck velocity the
    stationary ⟨v²⟩ is T/(1 − γΔt/2), +5% at γΔt = 0.1. Default: underdamped fits
    with a friction estimate take the fewest substeps that keep γΔt/substeps ≤ 0.02
    (Carnot engine, fitted γ̂Δt ≈ 0.1005: 6 substeps; one step per dt leaves ⟨v²⟩ 7%
    high, substeps 1–3%, bench/RESULTS.md), others 1.

    mode 'per_sample': every posterior sample j drives its own set of n_traj
    trajectories (the spread of derived quantities over samples is the posterior
    error bar); 'ensemble_mean' (the published scheme): each step computes
    x'_j = x + Φ_j dt + √(2D_j dt) ξ for every sample with a shared ξ and
    advances with the mean of the x'_j (√(2D_j dt) is the Cholesky factor, where
    methods.md §3.6 writes sqrtm: the same for d = 1 or diagonal D, otherwise the
    mean path's noise agrees and `spread` differs; read-outs of this path carry
    no posterior spread). Noise ξ is shared across samples in
    both modes (common random numbers): trajectory i reads d normals per step
    from the counter-based stream (seed, 'integrator_noise', i), the one
    stochinfer.simulate uses, so `_core.normals` reproduces it. x0 (and v0,
    underdamped: both or neither): (n_traj, d) or (d,) initial states; default: random held-out
    (validation) states of the data, x and v from the same state; for fits with a
    time input, among those recorded closest to t0 (in phase, when periodic). Underdamped: explicit Euler (x advanced with the old v,
    then v). Ensembles use their members as the samples. period: for
    periodically driven fits, the networks see t mod period (the time input
    covers one period); default: the fit's own period (infer_langevin(period=)),
    else none. t0: time of the first state (the data's time unit); default 0, and for
    driven fits without a period the earliest held-out time, whose recorded states
    start the paths (the networks know time only over the data's range: starting or
    running outside it warns, as do start states recorded far from t0). n_samples:
    posterior samples simulated (default 20; ensembles: their members). seed: keys the
    noise ξ; posterior_seed: keys the posterior samples (the same weights as
    fit.drift(..., seed=posterior_seed)). record_every: keep every that many steps of dt
    (the recorded interval is record_every·dt). Same seed, same paths, whatever the
    thread count."""
    n_traj = positive_int("n_traj", n_traj)
    n_steps = positive_int("n_steps", n_steps)
    record_every = positive_int("record_every", record_every)
    dt = fit.dt if dt is None else positive_float("dt", dt)
    substeps = _default_substeps(fit, dt) if substeps is None else c_int_count("substeps", substeps)
    for name, steps in (("n_steps", n_steps), ("record_every", record_every)):
        if steps * substeps >= 2**56:  # the noise streams' step counter has 56 bits, as stochinfer.simulate's
            raise ValueError(f"{name} ({steps}) times substeps ({substeps}) must be below 2**56 integration steps")
    t0 = _start_time(fit, t0, n_steps * dt, period)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if period is not None and not fit.time_dependent:
        raise ValueError("period applies to fits with time as an input (infer_langevin(time_dependent=True)); "
                         "this fit is autonomous")
    if v0 is not None and fit.regime != "underdamped":
        raise ValueError("v0 applies to underdamped fits; this fit is overdamped")
    if period is None:
        period = fit.norm.get("time_period")  # the fit's own period (infer_langevin(period=))
    if period is not None:
        period = positive_float("period", period)
    d = fit.dim
    under = fit.regime == "underdamped"
    seed, posterior_seed = seed_value("seed", seed), seed_value("posterior_seed", posterior_seed)
    ensemble = fit.options["method"] == "ensemble"
    eq = fit._equation()
    S = fit.nets["drift"].n_members if ensemble else c_int_count("n_samples", n_samples)
    S = eq.n_outputs(S)  # 1 for networks without Bayesian layers
    U = S if mode == "per_sample" else 1
    n_rec = n_steps // record_every + 1
    # before anything of size n_traj is allocated (the initial states included)
    check_output_fits((U * (2 if under else 1), n_traj, n_rec, d), np.float64,
                      "simulate fewer trajectories or steps, or raise record_every")
    check_output_fits((S, n_traj, 2 * d + 2, d), np.float64, "simulate fewer trajectories or posterior samples",
                      extra_bytes=S * fit._sample_bytes())  # and the weights drawn per sample
    if under and (x0 is None) != (v0 is None):  # one drawn from the data, one given: unrelated states
        raise ValueError("give both x0 and v0 for an underdamped fit, or neither (then both come from the same "
                         f"recorded states); got only {'x0' if v0 is None else 'v0'}")
    rng = np.random.Generator(np.random.Philox(seed))
    given = x0 is not None
    rows = None
    if x0 is None or (under and v0 is None):  # x and v from the same recorded states
        rows = _data_rows(fit._val_states, t0, period, n_traj, rng)
    states = fit._val_states[0]
    x0 = _initial(x0, states[:, :d], rows, n_traj, d, "x0")
    v0 = _initial(v0, states[:, d:], rows, n_traj, d, "v0") if under else None
    if given:  # the user's start states (review, session 32: paths from x0 = 1000 in data spanning ±2, silently)
        fit._warn_far_from_data(x0 if v0 is None else np.concatenate([x0, v0], axis=1), "start states")
    xs, vs, spread, done, diverged, not_pd = eq.simulate(
        x0, v0, n_steps * substeps, dt / substeps, t0, period or 0.0, S, mode == "per_sample", seed,
        posterior_seed, record_every * substeps)
    if diverged:
        why = "a posterior diffusion sample is not positive definite there" if not_pd else "a state became NaN/inf"
        raise FloatingPointError(f"the inferred equation diverged at step {done // substeps + 1} of dt (integration "
                                 f"step {done + 1} of dt/{substeps}: {why}); reduce dt or start inside the sampled "
                                 "region")
    t_rec = t0 + dt * record_every * np.arange(n_rec)
    return InferredTrajectories(xs, vs, t_rec, dt, mode, S, seed, spread,
                                {"n_traj": n_traj, "n_steps": n_steps, "record_every": record_every,
                                 "posterior_seed": posterior_seed, "period": period, "substeps": substeps,
                                 "fit_id": fit._id, "t0": t0, "x0": x0.copy()})


def _default_substeps(fit, dt: float, max_step: float = 0.02) -> int:
    """Fewest explicit steps per dt with γΔt/substeps <= max_step, γ the fit's largest
    friction estimate (underdamped fits with friction_correction); 1 otherwise."""
    gamma = np.abs(np.asarray(fit.norm.get("friction", []), dtype=np.float64))
    if fit.regime != "underdamped" or gamma.size == 0:
        return 1
    steps = np.ceil(gamma.max() * dt / max_step - 1e-9)
    if not steps < 2**40:  # inf for an absurd dt: int() would raise OverflowError
        raise ValueError(f"dt = {dt:g} needs {steps:.3g} integration substeps for the fit's friction "
                         f"{gamma.max():.3g}; pass a smaller dt")
    return max(1, int(steps))


def _start_time(fit, t0, span: float, period) -> float:
    """t0 checked, or its default; warns when a driven fit without a period would be
    simulated over times outside the data's (the time input would extrapolate). span: the
    simulated time, n_steps·dt (the fields are read up to t0 + span − dt)."""
    aperiodic = period is None and fit._recorded_times() is not None
    if t0 is None:  # the earliest held-out time: the start states are held-out states recorded near t0
        if not aperiodic:
            return 0.0
        t0 = float(np.min(fit._val_states[1]))  # the span may still run past the record (review, session 32)
    t0 = finite_float("t0", t0)
    if aperiodic:
        fit._warn_outside_record(t0, t0 + span - fit.dt, "simulating t in",
                                 " (pass t0 and n_steps within the record")
    return t0


def _data_rows(val_states, t0: float, period, n: int, rng) -> np.ndarray:
    """n random rows of the held-out states; for fits with a time input, among the
    2% (at least 10) recorded closest to t0 (in phase, when periodic), so that driven
    systems start from states of the protocol's phase t0."""
    states, times = val_states
    if times is None:
        return rng.integers(0, states.shape[0], size=n)
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    gap = np.abs(times - t0)
    if period:
        gap = np.mod(gap, period)
        gap = np.minimum(gap, period - gap)
    k = min(gap.size, max(10, gap.size // 50))
    nearest = np.argpartition(gap, k - 1)[:k]
    span = float(np.ptp(times))
    if not period and span > 0 and gap[nearest].max() > 0.1 * span:
        warnings.warn(f"the start states are held-out states recorded up to {gap[nearest].max():.4g} time units "
                      f"from t0 = {t0:.6g} (no held-out trajectory covers it): pass x0 (and v0) for states of "
                      "that time", stacklevel=4)
    return nearest[rng.integers(0, k, size=n)]


def _initial(value, data_states, rows, n, d, name):
    if value is None:
        return data_states[rows].copy()
    a = real_array(name, value)  # strings, booleans and complex numbers name the argument
    if a.ndim == 1 and a.shape[0] == d:
        a = np.broadcast_to(a, (n, d))
    if a.shape != (n, d):
        raise ValueError(f"{name} must have shape ({d},) or ({n}, {d}), got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf")
    return a.copy()


def entropy_production(fit, sim: InferredTrajectories, bias_correction: bool = True) -> dict:
    """Medium EP rate (k_B per time unit) of an overdamped fit's inferred equation, from
    its simulated paths, with the bias of estimation noise removed (bias_correction).

    Each posterior sample's rate is ΔS = Σ (D̂⁻¹Φ̂)(x̄)·Δx along its own paths, per unit
    time (path_ep_rates). The EP is a positive quadratic form of the drift, so noise in
    the fitted drift raises it: once in the fit (its error against the truth) and once
    more in each posterior sample (its spread around the fit). A calibrated posterior
    spreads as far as the fit errs, so the second rise, the per-sample mean less the rate
    along the posterior-mean path (simulate mode 'ensemble_mean', its fields' mean along
    it: the mean equation's EP), estimates the first: the corrected rate is
    2·(mean path) − (per-sample mean). Both simulations share their noise and start
    states (common random numbers), so the correction carries little path noise; it costs
    one more simulation. Its `error` is the per-sample error bar and the correction's
    own size in quadrature, since the correction is only as good as the posterior's
    calibration: a conservative bound rather than a standard error (8-D bead-spring chain:
    a 3–5-fold overestimate brought to within a bar that also holds 0). Where the posterior
    spreads less than the fit errs, part of the bias stays, upward (4-D rotational and 8-D
    Ornstein–Uhlenbeck processes: 50–70% removed); near equilibrium the corrected rate may
    come out negative (bench/RESULTS.md, "EP bias correction"). A sim cut in time (a burn-in
    dropped) is matched by the same cut of the mean path; one with trajectories removed is
    not corrected (a note says so). Returned: ep_rate and error (corrected),
    bias_estimate (per-sample mean − mean path: the mean path's estimated upward bias, half the
    per-sample read-out's), ep_rate_mean_path, ep_rate_per_sample and
    error_per_sample (the uncorrected read-out), posterior_std, stderr_paths and per_sample
    (of the per-sample read-out). Without a posterior spread (an ensemble-mean sim, one
    sample, no Bayesian layer) or with bias_correction=False: the uncorrected read-out as
    ep_rate and error, and a note on why it is not corrected (if not asked); so too when
    Ctrl-C stops the correction's simulation (with a warning and interrupted=True)."""
    raw = path_ep_rates(fit, sim)
    if not bias_correction:
        return raw
    if "note" in raw or raw["per_sample"].size < 2:  # no posterior spread: nothing to estimate the bias from
        why = "the EP's estimation-noise bias (upward) is not corrected without a posterior spread"
        raw["note"] = f"{raw['note']}; {why}" if "note" in raw else why
        return raw
    recorded = _recorded_part(sim)
    if isinstance(recorded, str):
        raw["note"] = f"the EP's estimation-noise bias (upward) is not corrected: {recorded}"
        return raw
    s = sim.settings
    try:
        with warnings.catch_warnings():  # the same settings as sim's, whose simulation and read-out warned already
            warnings.simplefilter("ignore")
            mean_path = simulate_fit(fit, s["n_traj"], s["n_steps"], sim.dt, x0=s["x0"], t0=s["t0"],
                                     n_samples=sim.n_samples, mode="ensemble_mean", seed=sim.seed,
                                     record_every=s["record_every"], posterior_seed=s["posterior_seed"],
                                     period=s["period"], substeps=s["substeps"])
            mean_path = replace(mean_path, x=mean_path.x[:, :, recorded], t=mean_path.t[recorded])
            mean = path_ep_rates(fit, mean_path)["ep_rate"]
    except KeyboardInterrupt:  # as an interrupted training keeps its best model: the read-out already made
        why = "the EP's estimation-noise bias (upward) is not corrected: Ctrl-C stopped the correction's simulation"
        warnings.warn(why, UserWarning, stacklevel=user_stacklevel())
        return dict(raw, note=f"{raw['note']}; {why}" if "note" in raw else why, interrupted=True)
    bias = raw["ep_rate"] - mean
    return dict(raw, ep_rate=mean - bias, error=float(np.hypot(raw["error"], bias)), bias_estimate=bias,
                ep_rate_mean_path=mean, ep_rate_per_sample=raw["ep_rate"], error_per_sample=raw["error"])


def _recorded_part(sim: InferredTrajectories):
    """The slice of the recorded points that sim still holds (a burn-in cut off the start or
    an end cut off, in time), for the bias correction's second simulation to match; or why
    it cannot be matched (trajectories removed, or times off the simulated grid)."""
    s = sim.settings
    if "x0" not in s or "t0" not in s:
        return "sim lacks its start states (made before they were kept): simulate it again"
    if sim.x.shape[1] != s["n_traj"]:
        return (f"sim holds {sim.x.shape[1]} of the {s['n_traj']} simulated trajectories (which ones is not known); "
                "simulate the trajectories wanted")
    step = sim.dt * s["record_every"]
    first = (float(sim.t[0]) - s["t0"]) / step
    k = int(round(first))
    n_rec = s["n_steps"] // s["record_every"] + 1
    if abs(first - k) > 1e-6 * max(1.0, abs(first)) or k < 0 or k + sim.t.size > n_rec or \
            not np.allclose(sim.t, s["t0"] + step * np.arange(k, k + sim.t.size), rtol=1e-9, atol=1e-9 * step):
        return "sim's times are not a run of its simulated record; pass paths as simulate() returned them"
    return slice(k, k + sim.t.size)


def path_ep_rates(fit, sim: InferredTrajectories) -> dict:
    """Medium EP along the simulated paths of an overdamped fit, per posterior
    sample: ΔS = Σ (D̂⁻¹Φ̂)(x̄)·Δx (Stratonovich mid-points x̄), as a rate (k_B per
    time unit). With noiseless coordinates D̂ is inverted on the noisy subspace
    only (methods.md §3.8). This is the medium EP for constant D; with state-dependent D
    the medium EP is Σ D⁻¹(Φ − ∇·D)∘Δx (Φ the Itô drift), and the ∇·D term left out here
    averages to zero in a steady state only in special cases (e.g. each D_ii depending on
    x_i alone, as in models.Inhomogeneous). Returns the posterior mean and std over samples of the rate, the
    per-sample rates, the standard error over trajectories of their mean, and
    `error`, the two combined in quadrature, the spread as σ√(1 + 1/S) (_combined). Not
    corrected for the bias of estimation noise (entropy_production does that). The sum runs over
    the recorded states: with a record interval Δ (dt × record_every) it is biased low by
    O(Δ) (an Ornstein–Uhlenbeck process of unit relaxation time: −1% at Δ = 0.01, −5% at
    0.05, −10% at 0.1), so record_every > 1 warns."""
    if fit.regime != "overdamped":
        raise ValueError("path EP ΔS = Σ D⁻¹Φ·Δx is defined here for overdamped fits; for a driven "
                         "underdamped engine pass its protocol: thermodynamics(sim, model=BrownianCarnot(...))")
    U, n, L, d = sim.x.shape
    per_sample = sim.mode == "per_sample"
    S = sim.n_samples
    noisy = fit.norm["noisy"]
    i, j = np.ix_(noisy, noisy)
    tau = sim.dt * sim.settings["record_every"]
    if sim.settings["record_every"] > 1:
        warnings.warn(f"the EP sums over the recorded states, every {sim.settings['record_every']} steps: a "
                      "coarse-grained estimate, biased low; simulate with record_every=1 for the EP",
                      UserWarning, stacklevel=user_stacklevel())
    eq = fit._equation()
    rates = np.zeros((S, n))
    chunk = max(1, 400_000 // (S * n))  # recorded steps per batched field evaluation
    for k0 in range(0, L - 1, chunk):
        k1 = min(L - 1, k0 + chunk)
        mid = 0.5 * (sim.x[:, :, k0 + 1:k1 + 1] + sim.x[:, :, k0:k1])  # (U, n, K, d) Stratonovich mid-points
        dx = (sim.x[:, :, k0 + 1:k1 + 1] - sim.x[:, :, k0:k1])[..., noisy]
        K = k1 - k0
        t = None
        if fit.time_dependent:
            tk = sim.t[k0:k1] + 0.5 * tau
            if sim.settings.get("period"):  # as the simulation saw it: t mod period
                tk = np.mod(tk, sim.settings["period"])
            t = np.ascontiguousarray(np.broadcast_to(tk, (n, K)).reshape(n * K))
        z = np.ascontiguousarray(mid.reshape(U, n * K, d) if per_sample else mid.reshape(n * K, d))
        F, Dm = eq.fields(z, t, S, sim.settings["posterior_seed"], per_sample)  # (S, n K, d), (S, n K, d, d)
        force = np.linalg.solve(Dm[..., i, j], F[..., noisy, None])[..., 0]  # D⁻¹Φ on the noisy subspace
        inc = np.einsum("snkd,snkd->sn", force.reshape(S, n, K, -1),
                        np.broadcast_to(dx, (S, n, K, dx.shape[-1])))
        rates += inc
    rates = rates / (tau * (L - 1))
    per = rates.mean(axis=1)
    note = _spread_unknown(fit, sim, per.size)
    post = _posterior_std(per, note)
    paths = float(rates.mean(axis=0).std(ddof=1) / np.sqrt(n))
    out = {"ep_rate": float(per.mean()), "error": _combined(post, paths, per.size), "posterior_std": post,
           "stderr_paths": paths, "per_sample": per}
    if note:
        out["note"] = note
    return out


def _spread_unknown(fit, sim: InferredTrajectories, n_samples: int) -> Optional[str]:
    """Why the posterior spread of the read-outs is unknown, or None. The
    ensemble-mean path and a single sample of a Bayesian fit carry none (nan, said
    so rather than 0); a fit without Bayesian layers has no posterior (0)."""
    if getattr(sim, "mode", "per_sample") == "ensemble_mean":
        return ("ensemble-mean paths carry no posterior spread (the spread of the fields along the one mean path "
                "is not the read-out's): the errors are path noise only; simulate with mode='per_sample' for "
                "posterior error bars")
    if n_samples == 1 and fit is not None and fit._equation().n_outputs(2) > 1:  # fit None: a known model's paths
        return ("one posterior sample: no posterior spread, the errors are path noise only; simulate with "
                "n_samples >= 2 (default 20) for posterior error bars")
    return None


def _posterior_std(values: np.ndarray, unknown: Optional[str]) -> float:
    """Std over posterior samples of per-sample `values` (nan where `unknown`)."""
    if unknown:
        return float("nan")
    return float(values.std(ddof=1)) if values.size > 1 else 0.0


def _combined(post: float, noise: float, n_samples: int) -> float:
    """The error bar to quote: posterior spread and path noise in quadrature (the
    noise alone where the spread is unknown). The estimate is the mean over n_samples
    posterior draws, so the truth (a draw from the posterior) differs from it by
    σ²(1 + 1/S) in variance, as the fields' ensemble bands take it; the spread alone
    left out the Monte Carlo error of that mean (5 members: 10%)."""
    if np.isnan(post):
        return float(noise)
    return float(np.hypot(post * np.sqrt(1.0 + 1.0 / max(n_samples, 1)), noise))


def carnot_cycle(fit, sim: InferredTrajectories, model) -> dict:
    """Work on the particle W = Σ ½x²Δk per cycle (negative: engine output), heat
    absorbed on the hot isotherm and efficiency, per posterior sample, for a
    driven underdamped fit of a Brownian Carnot engine (model provides the
    protocol stiffness(t) and temperature(t), periodic in t with period model.tau).
    The recorded times must span a whole number m >= 1 of periods, from any t0: each
    path's work and its heat on the hot isotherms (phases τ/2 to 3τ/4; those cut by
    the record's ends count in parts, which add up to m isotherms) are divided by m. Each read-out's error
    (`error`, `heat_hot_error`, `efficiency_error`) combines the posterior spread over
    samples with the path noise of the sample-averaged per-cycle values (the
    efficiency's by the delta method for a ratio). Assumes a periodic steady state."""
    if not hasattr(model, "stiffness"):
        raise ValueError("model must provide stiffness(t) (the driving protocol), e.g. models.BrownianCarnot")
    # the read-out scores coordinate 0 under the model's protocol: only a driven fit of that engine means anything
    # (fit None: paths of the engine itself)
    dof = int(getattr(model, "dof", 1))
    regime = "underdamped" if getattr(model, "underdamped", True) else "overdamped"
    if fit is not None and (not fit.time_dependent or fit.dim != dof or fit.regime != regime):
        raise ValueError(f"the cycle read-out of {type(model).__name__} needs a driven (time_dependent=True) "
                         f"{regime} fit of {dof} coordinate(s); this fit is "
                         f"{'driven' if fit.time_dependent else 'autonomous'}, {fit.regime}, with {fit.dim}. Fit "
                         "the engine's own record, or pass model=None for the EP rate")
    U, n, L, _ = sim.x.shape
    tau = float(model.tau)
    t = np.asarray(sim.t, dtype=np.float64)
    m = (t[-1] - t[0]) / tau
    if round(m) < 1 or abs(m - round(m)) > 1e-6 * max(m, 1.0):
        raise ValueError(f"sim spans {t[-1] - t[0]:g} time units, {m:.4g} periods of the protocol (tau = {tau:g}): "
                         "the cycle read-out needs a whole number of cycles; simulate n_steps with n_steps·dt a "
                         "multiple of tau")
    m = int(round(m))
    period = getattr(sim, "settings", {}).get("period")
    if period and abs(period / tau - 1.0) > 1e-9:  # another engine's protocol would score these paths
        raise ValueError(f"model's period tau = {tau:g} differs from the simulation's period {period:g}: pass the "
                         "model whose protocol drove the data")
    w = model.work(sim.x[..., 0].reshape(U * n, L), t).reshape(U, n) / m  # the model's own W = Σ ½x̄²Δk

    note = _spread_unknown(fit, sim, U)
    post = _posterior_std(w.mean(axis=1), note)
    cycles = float(w.mean(axis=0).std(ddof=1) / np.sqrt(w.shape[1]))
    out = {"work_per_cycle": float(w.mean()), "error": _combined(post, cycles, w.shape[0]), "posterior_std": post,
           "stderr_cycles": cycles, "work_per_sample": w.mean(axis=1), "cycles_per_path": m}
    if note:
        out["note"] = note
    if sim.v is not None and hasattr(model, "temperature"):
        k = model.stiffness(t)
        dk = np.diff(k)
        mid = 0.5 * (sim.x[..., 0][:, :, 1:] ** 2 + sim.x[..., 0][:, :, :-1] ** 2)
        u = 0.5 * k * sim.x[..., 0] ** 2 + 0.5 * sim.v[..., 0] ** 2  # (U, n, L)
        # the hot isotherms' parts inside the record (phases τ/2 to 3τ/4, clipped to it): over a
        # whole number m of periods they add up to m isotherms' worth of time from any start phase
        q_hot = np.zeros((U, n))
        eps = 1e-9 * tau
        for c in range(int(np.floor(t[0] / tau)) - 1, int(np.ceil(t[-1] / tau)) + 1):
            lo, hi = max(c * tau + tau / 2, t[0]), min(c * tau + 3 * tau / 4, t[-1])
            idx = np.nonzero((t >= lo - eps) & (t <= hi + eps))[0]
            if hi - lo <= eps or idx.size < 2:
                continue
            a, b = idx[0], idx[-1]
            w_hot = 0.5 * np.sum(mid[..., a:b] * dk[a:b], axis=-1)
            q_hot += (u[..., b] - u[..., a]) - w_hot  # first law on (this part of) the hot isotherm
        q_hot /= m
        eff = -w.mean(axis=1) / q_hot.mean(axis=1)
        q_post = _posterior_std(q_hot.mean(axis=1), note)
        q_cycles = float(q_hot.mean(axis=0).std(ddof=1) / np.sqrt(n))
        eff_post = _posterior_std(eff, note)
        out.update(heat_hot=float(q_hot.mean()), heat_hot_error=_combined(q_post, q_cycles, q_hot.shape[0]),
                   heat_hot_per_sample=q_hot.mean(axis=1), efficiency=float(eff.mean()),
                   efficiency_posterior_std=eff_post,
                   efficiency_error=_combined(eff_post, _ratio_stderr(w.mean(axis=0), q_hot.mean(axis=0)), eff.size))
    return out


def _ratio_stderr(a: np.ndarray, b: np.ndarray) -> float:
    """Standard error of −mean(a)/mean(b) over n paired cycles (delta method)."""
    n = a.size
    ma, mb = a.mean(), b.mean()
    c = np.cov(a, b, ddof=1)
    var = (c[0, 0] / ma**2 + c[1, 1] / mb**2 - 2 * c[0, 1] / (ma * mb)) * (ma / mb) ** 2 / n
    return float(np.sqrt(max(var, 0.0)))
