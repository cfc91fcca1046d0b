"""Langevin equation inference with uncertainty (methods.md §3): drift and
diffusion networks (Bayes-by-Backprop, or a deep ensemble) trained on
trajectories, overdamped or underdamped (positions only)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Optional, Sequence

import numpy as np

from .data import LangevinData, as_langevin_data, split_rows, tril_outer, tril_pairs, tril_to_matrix
from .field_net import FieldNetwork, TrainSettings
from . import metrics

#: Faster than the published protocol (Adam lr 1e-6/5e-6, 5000/10000 epochs of batch
#: 128): larger steps with cosine decay and early stopping on the validation NLL.
PRESETS = {
    "fast": (TrainSettings(lr=1e-3, batch=256), TrainSettings(lr=1e-3, batch=256)),
    "reference": (TrainSettings(lr=1e-6, batch=128, n_iter=300_000, eval_every=79, patience=None,
                                lr_schedule="constant"),
                  TrainSettings(lr=5e-6, batch=128, n_iter=600_000, eval_every=79, patience=None,
                                lr_schedule="constant")),
}


@dataclass
class FieldEstimate:
    """A field at n states: posterior mean, standard deviation and a central band
    (lo, hi) holding `level` of the posterior, in physical units. Drift (n, d);
    diffusion (n, d, d). samples: (S, n, ...) when asked for."""

    mean: np.ndarray
    std: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    level: float
    samples: Optional[np.ndarray] = None


def _t_quantile(q: float, dof: int) -> float:
    """Student-t quantile (Cornish–Fisher to 1/ν³; 0.2% at ν = 4, q = 0.975)."""
    z = NormalDist().inv_cdf(q)
    v = float(dof)
    return (z + (z ** 3 + z) / (4 * v) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * v ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * v ** 3))


class LangevinFit:
    """A fitted Langevin equation dz = Φ dt + √(2D) dW with posterior uncertainty.

    Use `drift(points)` and `diffusion(points)` for the fields with bands,
    `report(truth=model)` for accuracy and calibration against a known model.
    Physical units: states as given, time in the data's unit."""

    def __init__(self, d: LangevinData, nets: dict, norm: dict, options: dict, histories: dict):
        self.regime = d.regime
        self.dim = d.dim
        self.dt = d.dt
        self.model = d.model
        self.time_dependent = d.t is not None
        self.nets = nets
        self.norm = norm
        self.options = options
        self.histories = histories
        self.notes = list(d.notes)
        self._val_states = norm.pop("_val_states")

    # ----- inputs -----------------------------------------------------------
    @property
    def state_dim(self) -> int:
        """Components of a state: d (overdamped) or 2d, (x, v) (underdamped)."""
        return self.dim * (2 if self.regime == "underdamped" else 1)

    def _inputs(self, points, t) -> np.ndarray:
        z = np.asarray(points, dtype=np.float64)
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != self.state_dim:
            what = "(x, v)" if self.regime == "underdamped" else "x"
            raise ValueError(f"points must have shape (n, {self.state_dim}) holding {what}, got {z.shape}")
        if not np.isfinite(z).all():
            raise ValueError("points contain NaN or inf")
        nm = self.norm
        cols = [(z[:, :self.dim] - nm["mu_x"]) / nm["s_x"]]
        if self.regime == "underdamped":
            cols.append((z[:, self.dim:] / nm["s_x"] - nm["mu_v"]) / nm["s_v"])
        if self.time_dependent:
            if t is None:
                raise ValueError("this fit has time as an input: pass t (scalar or (n,)) in the data's time unit")
            tt = np.broadcast_to(np.asarray(t, dtype=np.float64), (z.shape[0],))
            cols.append(((tt - nm["mu_t"]) / nm["s_t"])[:, None])
        return np.concatenate(cols, axis=1)

    def _band(self, samples: np.ndarray, level: float, ensemble: bool):
        from .. import _core

        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level}")
        flat = np.ascontiguousarray(samples.reshape(samples.shape[0], samples.shape[1], -1))
        q = (1 - level) / 2
        mean, std, lo, hi = _core.posterior_summary(flat, q, 1 - q)
        if ensemble:  # few members: a t band for a new draw, mean ± t σ √(1 + 1/E)
            E = samples.shape[0]
            half = _t_quantile(1 - q, E - 1) * std * math.sqrt(1 + 1 / E) if E > 1 else np.zeros_like(std)
            lo, hi = mean - half, mean + half
        shape = samples.shape[1:]
        return [a.reshape(shape) for a in (mean, std, lo, hi)]

    def _n_samples(self, n_samples: Optional[int]) -> int:
        n = self.options["n_posterior"] if n_samples is None else int(n_samples)
        if n < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        return n

    # ----- fields -------------------------------------------------------------
    def drift_samples(self, points, t=None, n_samples: Optional[int] = None, seed: int = 0) -> np.ndarray:
        """Posterior samples of the drift Φ (S, n, d) in physical units (ensemble: the members).
        Underdamped: the acceleration, with the F + (F − F_r)/4 correction when enabled."""
        x = self._inputs(points, t)
        S = self._n_samples(n_samples)
        f = self.nets["drift"].samples(x, S, seed)
        if "drift_shifted" in self.nets:
            fr = self.nets["drift_shifted"].samples(x, S, seed + 7919)
            f = f + (f - fr) / 4.0
        return f * self.norm["s_x"]

    def diffusion_samples(self, points, t=None, n_samples: Optional[int] = None, seed: int = 0) -> np.ndarray:
        """Posterior samples of the diffusion matrix D (S, n, d, d) in physical units
        (underdamped: of the velocity, times 3/2 when the correction is on)."""
        x = self._inputs(points, t)
        S = self._n_samples(n_samples)
        net = self.nets["diffusion"]
        xin = x[:, :0] if self.options["homogeneous_diffusion"] else x
        return self._physical_diffusion(net.samples(xin, S, seed + 104729))

    def _physical_diffusion(self, tri: np.ndarray) -> np.ndarray:
        """(S, n, m) lower-triangular entries of the noisy block -> (S, n, d, d) in
        physical units, noiseless coordinates exactly zero."""
        noisy = self.norm["noisy"]
        s = self.norm["s_x"][noisy]
        block = tril_to_matrix(tri, len(noisy)) * np.outer(s, s) * self.norm["diffusion_factor"]
        if len(noisy) == self.dim:
            return block
        D = np.zeros(block.shape[:-2] + (self.dim, self.dim))
        D[..., np.ix_(noisy, noisy)[0], np.ix_(noisy, noisy)[1]] = block
        return D

    def drift(self, points, t=None, *, n_samples: Optional[int] = None, level: float = 0.95, seed: int = 0,
              return_samples: bool = False) -> FieldEstimate:
        """Posterior mean, std and central `level` band of the drift at `points`
        ((n, d), or (n, 2d) = (x, v) underdamped; t for time-dependent fits)."""
        s = self.drift_samples(points, t, n_samples, seed)
        mean, std, lo, hi = self._band(s, level, self.options["method"] == "ensemble")
        return FieldEstimate(mean, std, lo, hi, level, s if return_samples else None)

    def diffusion(self, points, t=None, *, n_samples: Optional[int] = None, level: float = 0.95, seed: int = 0,
                  return_samples: bool = False) -> FieldEstimate:
        """Posterior mean, std and band of the diffusion matrix, (n, d, d) each;
        every sample is symmetric positive definite by construction."""
        s = self.diffusion_samples(points, t, n_samples, seed)
        mean, std, lo, hi = self._band(s, level, self.options["method"] == "ensemble")
        return FieldEstimate(mean, std, lo, hi, level, s if return_samples else None)

    def _fields_at(self, z: np.ndarray, t, n_samples: int, seed: int, paired: bool):
        """Drift (S, n, d) and diffusion (S, n, d, d), physical units, of S posterior
        samples at states z: (1, n, state_dim) shared by all samples, or (S, n,
        state_dim) with sample s at z[s] (paired). Same seeds as drift()/diffusion()."""
        U, n, _ = z.shape
        x = self._inputs(z.reshape(U * n, -1), None if t is None else np.full(U * n, t, dtype=np.float64)
                         if self.time_dependent else None).reshape(U, n, -1)
        xin = x if paired else x[0]
        f = self.nets["drift"].samples(xin, n_samples, seed, paired)
        if "drift_shifted" in self.nets:
            fr = self.nets["drift_shifted"].samples(xin, n_samples, seed + 7919, paired)
            f = f + (f - fr) / 4.0
        xd = xin[..., :0] if self.options["homogeneous_diffusion"] else xin
        D = self._physical_diffusion(self.nets["diffusion"].samples(xd, n_samples, seed + 104729, paired))
        return f * self.norm["s_x"], D

    def simulate(self, n_traj: int, n_steps: int, dt: Optional[float] = None, **kwargs):
        """Simulate the inferred equation with its posterior (see
        stochinfer.langevin.simulate_fit.simulate_fit for the options)."""
        from .simulate_fit import simulate_fit

        return simulate_fit(self, n_traj, n_steps, dt, **kwargs)

    def thermodynamics(self, sim, model=None) -> dict:
        """Thermodynamics along simulated paths with posterior error bars: medium EP
        rate (overdamped), or work per cycle, hot-isotherm heat and efficiency of a
        driven engine whose protocol `model` provides (e.g. BrownianCarnot)."""
        from .simulate_fit import carnot_cycle, entropy_production

        model = model if model is not None else self.model
        if model is not None and hasattr(model, "stiffness"):
            return carnot_cycle(self, sim, model)
        return entropy_production(self, sim)

    # ----- evaluation ---------------------------------------------------------
    def report(self, truth=None, points=None, t=None, *, n_samples: Optional[int] = None,
               level: float = 0.95) -> dict:
        """Accuracy and calibration against a model with known drift/diffusion (a
        built-in model, or anything with drift(x, t) and diffusion(x, t)).

        points default to the held-out validation states. Returns a dict per field:
        r2, nmse, relative_error, coverage (of the `level` band), calibration
        (correlation of log error with log posterior variance, p-value), and
        provenance (method, kl_gradient, corrections)."""
        truth = truth if truth is not None else self.model
        if truth is None:
            raise ValueError("report needs truth=<model with drift() and diffusion()> (none attached to the data)")
        if points is None:
            points, t = self._val_states
        pts = np.asarray(points, dtype=np.float64)
        tt = 0.0 if t is None else np.asarray(t, dtype=np.float64)
        out = {"n_points": int(pts.shape[0]), "level": level, "provenance": self.provenance()}
        for name, est_fn, true_fn in (("drift", self.drift, truth.drift), ("diffusion", self.diffusion,
                                                                          truth.diffusion)):
            est = est_fn(pts, t if self.time_dependent else None, n_samples=n_samples, level=level,
                         return_samples=True)
            f = self._truth_field(true_fn, pts, tt, name)
            out[name] = {
                "r2": metrics.r2(f, est.mean),
                "nmse": metrics.nmse(f, est.samples),
                "relative_error": metrics.relative_error(f, est.mean),
                "coverage": metrics.coverage(f, est.lo, est.hi),
                "calibration": metrics.calibration(f, est.mean, est.std),
                "mean_std": float(np.mean(est.std)),
            }
        return out

    def _truth_field(self, fn, pts, t, name):
        """The true field at pts. Underdamped truths give the acceleration (n, d) and
        the velocity diffusion (n, d, d), as the built-in models do; a full
        (x, v) field (2d components) is cut to its velocity part."""
        f = np.asarray(fn(pts, t), dtype=np.float64)
        d = self.dim
        if self.regime == "underdamped" and f.shape[-1] == 2 * d:
            f = f[..., d:] if name == "drift" else f[..., d:, d:]
        want = (pts.shape[0], d) if name == "drift" else (pts.shape[0], d, d)
        f = np.broadcast_to(f, want) if f.shape != want and f.size != np.prod(want) else f.reshape(want)
        return f

    def plot(self, path: Optional[str] = None, truth=None):
        """Fields along a slice with posterior bands (and a drift/uncertainty map
        for d >= 2); see stochinfer.langevin.plot.plot_fields. Needs matplotlib."""
        from .plot import plot_fields

        return plot_fields(self, path, truth)

    def format_report(self, rep: dict) -> str:
        """Human-readable lines of report()."""
        lines = [f"  vs truth on {rep['n_points']} held-out states ({rep['level']:.0%} bands):"]
        for name in ("drift", "diffusion"):
            r = rep[name]
            c = r["calibration"]
            r2 = "   n/a" if not np.isfinite(r["r2"]) else f"{r['r2']:6.3f}"
            lines.append(f"    {name:9s} R² {r2}  rel. error {r['relative_error']:6.3f}  NMSE {r['nmse']:.4f}  "
                         f"band coverage {r['coverage']:.3f}  corr(log err, log var) {c['corr']:+.2f} "
                         f"(p = {c['p_value']:.2g})")
        p = rep["provenance"]
        lines.append(f"    provenance: method {p['method']}, kl_gradient {p['kl_gradient']}, "
                     f"3/2 diffusion correction {p['diffusion_factor_3_2']}, F_r drift correction "
                     f"{p['drift_correction_F_r']}, diff_use_drift {p['diff_use_drift']}")
        return "\n".join(lines)

    def provenance(self) -> dict:
        """What produced these numbers (methods.md §7.4)."""
        o = self.options
        return {"regime": self.regime, "method": o["method"], "kl_gradient": o["kl_gradient"],
                "diffusion_factor_3_2": self.regime == "underdamped" and o["corrections"],
                "drift_correction_F_r": "drift_shifted" in self.nets, "preset": o["preset"],
                "homogeneous_diffusion": o["homogeneous_diffusion"], "diff_use_drift": o["diff_use_drift"]}

    def summary(self) -> str:
        o = self.options
        lines = [f"Langevin fit ({self.regime}, d = {self.dim}, dt = {self.dt:g}): {o['method']}"
                 + (f" ({self.nets['drift'].n_members} members)" if o["method"] == "ensemble" else
                    f", kl_gradient = {o['kl_gradient']}")]
        for k, h in self.histories.items():
            lines.append(f"  {k:14s} best validation NLL {h['best']['val_loss']:.6g} at update "
                         f"{h['best']['iteration']} of {h['iterations']} ({h['train_s']:.1f} s)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _standardise(a: np.ndarray, rows: np.ndarray):
    mu = a[rows].mean(axis=0)
    s = a[rows].std(axis=0)
    s = np.where(s > 0, s, 1.0)
    return mu, s


def _drift_output_scale(x: np.ndarray, rate: np.ndarray):
    """Output de-normalisation of the drift network: the mean of Δ/Δt and, per
    component, the spread of its linear least-squares fit on the inputs. The
    published code scales by std(Δ/Δt), which the noise dominates (√(2D/Δt), 10×
    the drift at Δt = 0.01): the drift then needs raw outputs ~0.1, as small as
    the Bayesian layers' weight noise, and the posterior mean degrades."""
    B = np.concatenate([np.ones((x.shape[0], 1)), x], axis=1)
    coef = np.linalg.lstsq(B, rate, rcond=None)[0]
    spread = (B @ coef).std(axis=0)
    noise = rate.std(axis=0)
    return rate.mean(axis=0), np.maximum(spread, 0.05 * np.maximum(noise, 1e-12))


def _check_noisy(x: np.ndarray, noisy) -> None:
    """Rejects coordinates without noise, which the Cholesky head cannot fit: over
    two steps a diffusive coordinate's mean squared increment doubles, a smooth
    (noiseless) one's quadruples. Ratio > 3: noiseless."""
    d1 = np.mean(np.diff(x, axis=1) ** 2, axis=(0, 1))
    d2 = np.mean((x[:, 2:] - x[:, :-2]) ** 2, axis=(0, 1))
    ratio = d2 / np.maximum(d1, 1e-300)
    smooth = [i for i in noisy if ratio[i] > 3.0 or d1[i] == 0]
    if smooth:
        raise ValueError(f"coordinates {smooth} look noiseless (two-step/one-step mean squared increment "
                         f"{np.round(ratio[smooth], 2).tolist()}, diffusive ≈ 2, smooth ≈ 4): the diffusion "
                         f"matrix is singular. Pass noiseless={smooth} to learn D on the other coordinates")


def infer_langevin(data, dt: Optional[float] = None, regime: str = "overdamped", *, method: str = "bbb",
                   hidden: int = 128, layers: int = 4, n_bayes: int = 2, n_members: int = 5,
                   bootstrap: bool = True, homogeneous_diffusion: bool = False, diff_use_drift: bool = True,
                   corrections: bool = True, time_dependent: bool = False, measurement_noise: float = 0.0,
                   noiseless: Sequence[int] = (),
                   preset: str = "fast", drift_settings: Optional[TrainSettings] = None,
                   diffusion_settings: Optional[TrainSettings] = None, kl_gradient: Optional[str] = None,
                   n_posterior: int = 200, val_fraction: float = 0.2, dtype: str = "float32", seed: int = 0,
                   n_threads: Optional[int] = None, progress: Optional[bool] = None, model=None) -> LangevinFit:
    """Infer the drift and diffusion of a Langevin equation from trajectories.

    data: Trajectories (positions are used) or an array (n_traj, L, d) / (L, d) of
    positions recorded every `dt` (model time unit). regime: 'overdamped'
    (dx = Φ(x) dt + √(2D(x)) dW) or 'underdamped' (dv = Φ(x, v) dt + √(2D) dW;
    velocities are reconstructed by finite differences, never observed).
    method: 'bbb' (Bayes-by-Backprop, the last n_bayes of `layers` layers Bayesian)
    or 'ensemble' (n_members deterministic networks trained together, each on a
    bootstrap resample when bootstrap=True). hidden: width (the paper's 256 is
    slower and was not more accurate at the default data size, bench/RESULTS.md).
    homogeneous_diffusion: constant D (a learned vector, no input).
    diff_use_drift (default True): subtract the frozen drift's (ΦΔt)(ΦΔt)ᵀ from the
    diffusion labels; without it D is biased by Φ²Δt/2 (25% for the nonlinear
    system's strong drift, 3x the target error for Van der Pol). corrections (underdamped): D × 3/2
    and Φ + (Φ − Φ_r)/4 (methods.md §3.3). time_dependent: time is an input and
    the split is by trajectory (driven systems). noiseless: coordinates known to
    carry no noise (e.g. [0], the voltage of the Hodgkin–Huxley model): D is
    learned on the others and their rows of D are exactly zero (methods.md §3.8).
    measurement_noise: std of
    Gaussian noise added to the positions before training (robustness studies).
    preset: 'fast' (default) or 'reference' (the published protocol; slow);
    drift_settings / diffusion_settings override it; kl_gradient 'elbo' (default)
    or 'detached' (the published code). n_posterior: samples for bands (200).
    dtype of the networks: 'float32' (default) or 'float64'.

    Returns a LangevinFit; training keeps the best validation NLL and stops
    cleanly (keeping the best model, with a warning) on Ctrl-C.
    """
    t_start = time.perf_counter()
    d = as_langevin_data(data, dt, regime, model=model, time_dependent=time_dependent)
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {tuple(PRESETS)}, got {preset!r}")
    ds, dd = (replace(s) for s in PRESETS[preset])
    ds = drift_settings if drift_settings is not None else ds
    dd = diffusion_settings if diffusion_settings is not None else dd
    if kl_gradient is not None:
        ds, dd = replace(ds, kl_gradient=kl_gradient), replace(dd, kl_gradient=kl_gradient)
    ds.validate()
    dd.validate()
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if n_posterior < 2:
        raise ValueError(f"n_posterior must be >= 2, got {n_posterior}")
    if method == "ensemble" and n_members < 2:
        raise ValueError(f"an ensemble needs n_members >= 2, got {n_members}")
    x = d.x
    if measurement_noise:
        if not (measurement_noise > 0 and math.isfinite(measurement_noise)):
            raise ValueError(f"measurement_noise must be a finite std > 0, got {measurement_noise}")
        x = x + np.random.default_rng([seed, 11]).normal(scale=measurement_noise, size=x.shape)
    M, L, dim = x.shape
    under = regime == "underdamped"
    n_pts = L - (2 if under else 1)  # rows per trajectory
    train, val = split_rows(M, n_pts, val_fraction, by_trajectory=d.t is not None, seed=seed)
    min_rows = 10 * dim * (dim + 1)
    if train.size < max(min_rows, 50):
        raise ValueError(f"too few points for the chosen network: {train.size} training rows "
                         f"(need at least {max(min_rows, 50)}); pass longer or more trajectories")

    # normalisation from training points only (methods.md §3.3)
    flat_x = x.reshape(M * L, dim)
    point_of_row = (np.arange(M * n_pts) // n_pts) * L + np.arange(M * n_pts) % n_pts
    mu_x, s_x = _standardise(flat_x, point_of_row[train])
    xt = (x - mu_x) / s_x  # (M, L, d)
    norm = {"mu_x": mu_x, "s_x": s_x}
    if under:
        v = np.diff(xt, axis=1) / d.dt            # v̂_i = (x̃_{i+1} − x̃_i)/Δt, (M, L−1, d)
        z_x, z_v = xt[:, :-2], v[:, :-1]          # states (x̃_i, v̂_i), i < L − 2
        label = (v[:, 1:] - v[:, :-1]).reshape(-1, dim)  # Δv̂_i
        vr = z_v.reshape(-1, dim)
        mu_v, s_v = _standardise(vr, train)
        norm.update(mu_v=mu_v, s_v=s_v)
        inputs = [z_x.reshape(-1, dim), (vr - mu_v) / s_v]
        shifted = [xt[:, 1:-1].reshape(-1, dim), ((v[:, 1:].reshape(-1, dim)) - mu_v) / s_v]
    else:
        inputs = [xt[:, :-1].reshape(-1, dim)]
        label = np.diff(xt, axis=1).reshape(-1, dim)  # Δx̃_i
        shifted = None
    if d.t is not None:
        tt = np.asarray(d.t, dtype=np.float64)[:, :n_pts].reshape(-1)
        mu_t, s_t = _standardise(tt[:, None], train)
        norm.update(mu_t=mu_t[0], s_t=s_t[0])
        inputs.append(((tt - mu_t[0]) / s_t[0])[:, None])
        if shifted is not None:
            t1 = np.asarray(d.t, dtype=np.float64)[:, 1:n_pts + 1].reshape(-1)
            shifted.append(((t1 - mu_t[0]) / s_t[0])[:, None])
    X = np.concatenate(inputs, axis=1)
    in_dim = X.shape[1]

    common = dict(hidden=hidden, layers=layers, n_bayes=n_bayes, method=method, n_members=n_members,
                  bootstrap=bootstrap, dtype=dtype, n_threads=n_threads)
    nets, hist = {}, {}
    # drift: field F̃ = raw · scale + mean, prediction F̃ Δt
    mean_f, scale_f = _drift_output_scale(X[train], label[train] / d.dt)
    drift = FieldNetwork("affine", in_dim, dim, mean_f, scale_f, d.dt, seed=seed, **common)
    hist["drift"] = drift.fit(X, label, train, val, ds, seed=seed, progress=progress, desc="drift")
    nets["drift"] = drift
    if under and corrections:
        Xs = np.concatenate(shifted, axis=1)
        drift_r = FieldNetwork("affine", in_dim, dim, mean_f, scale_f, d.dt, seed=seed + 1, **common)
        hist["drift_shifted"] = drift_r.fit(Xs, label, train, val, ds, seed=seed + 1, progress=progress,
                                            desc="drift (shifted)")
        nets["drift_shifted"] = drift_r

    # diffusion: labels tril(ΔΔᵀ) (minus the frozen drift's part), field D̃ = L Lᵀ, prediction 2D̃Δt
    noisy = [i for i in range(dim) if i not in set(int(k) for k in noiseless)]
    if any(not 0 <= int(k) < dim for k in noiseless) or not noisy:
        raise ValueError(f"noiseless must list coordinates in [0, {dim}) and leave at least one noisy one, "
                         f"got {list(noiseless)}")
    norm["noisy"] = noisy
    nd = len(noisy)
    if not under:
        _check_noisy(x, noisy)
    y_d = tril_outer(label[:, noisy])
    if diff_use_drift:
        f = drift.samples(X, 0, 0)[0][:, noisy] * d.dt
        y_d = y_d - tril_outer(f)
    d_bar = tril_to_matrix(y_d[train].mean(axis=0), nd) / (2 * d.dt)
    try:
        L0 = np.linalg.cholesky(d_bar)
        if np.min(np.diag(L0)) ** 2 < 1e-8 * np.max(np.diag(d_bar)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        ev = np.linalg.eigvalsh(d_bar)
        raise ValueError(f"the data's mean diffusion matrix is singular (eigenvalues {ev}): some directions "
                         "carry no noise. Pass noiseless=[...] for coordinates known to be noiseless; "
                         "otherwise this estimator needs noise in every component") from None
    mean_out, scale_out = [], []
    diag_scale = float(np.mean(np.diag(L0)))
    for i, j in tril_pairs(nd):
        if i == j:
            mean_out.append(float(np.log(np.expm1(L0[i, i]))))  # softplus⁻¹: raw 0 gives the mean D
            scale_out.append(0.5)
        else:
            mean_out.append(float(L0[i, j]))
            scale_out.append(0.5 * diag_scale)
    diff = FieldNetwork("cholesky", 0 if homogeneous_diffusion else in_dim, nd, np.array(mean_out),
                        np.array(scale_out), 2 * d.dt, seed=seed + 2, **common)
    Xd = X[:, :0] if homogeneous_diffusion else X
    hist["diffusion"] = diff.fit(Xd, y_d, train, val, dd, seed=seed + 2, progress=progress, desc="diffusion")
    nets["diffusion"] = diff
    norm["diffusion_factor"] = 1.5 if (under and corrections) else 1.0

    # held-out states in physical units, for report()
    if under:
        xs = x[:, :-2].reshape(-1, dim)[val]
        vs = (np.diff(x, axis=1)[:, :-1] / d.dt).reshape(-1, dim)[val]
        val_states = np.concatenate([xs, vs], axis=1)
    else:
        val_states = x[:, :-1].reshape(-1, dim)[val]
    val_t = np.asarray(d.t, dtype=np.float64)[:, :n_pts].reshape(-1)[val] if d.t is not None else None
    norm["_val_states"] = (val_states, val_t)
    options = dict(method=method, kl_gradient=ds.kl_gradient, corrections=corrections, preset=preset,
                   homogeneous_diffusion=homogeneous_diffusion, diff_use_drift=diff_use_drift,
                   noiseless=[i for i in range(dim) if i not in noisy],
                   n_posterior=n_posterior if method == "bbb" else None, measurement_noise=measurement_noise,
                   train_s=time.perf_counter() - t_start)
    if method == "ensemble":
        options["n_posterior"] = 1  # the members are the samples
    return LangevinFit(d, nets, norm, options, hist)
