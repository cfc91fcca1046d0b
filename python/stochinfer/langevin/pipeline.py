"""infer_langevin: the overdamped and underdamped pipelines of methods.md §3.3
(validation, split, normalisation, regression targets, training of the drift
and diffusion networks) that produce a LangevinFit."""
from __future__ import annotations

import numbers
import time
import warnings
from dataclasses import replace
from typing import Any, Optional, Sequence, Union

import numpy as np

from .._validate import (GLITCH_SD, beyond_robust_sd, boolean, bridge_points, check_output_fits, increment_moments,
                         integer, positive_float, positive_int, seed_value, thread_count, user_stacklevel)
from ..train import check_batch_size
from .data import (GAP_MODES, GLITCH_FIX, LOCALISATION_MODES, as_langevin_data, row_span, rows_touching, split_rows,
                   time_inputs, tril_outer, tril_pairs, tril_to_matrix)
from .ito_taylor import field_jacobian, gradient_term_share, remove_gradient_bias
from .field_net import (FieldNetwork, TrainSettings, history_interrupted, refuse_refit_with_out_of_bag,
                        refuse_refit_with_resetting)
from .fit import LangevinFit, check_truth
from .diffusion_base import CAP_RATIO, base_covariance_chol, cap_factor, evaluate_base, fit_base
from .friction import (finite_dt_bias, inertial_residual_correlation, local_friction, mean_friction,
                       unbiased_friction)
from .linear import linear_fit, n_monomials, polynomial_features, select_degree
from .out_of_bag import MIN_BLOCKS, require_blocks, row_blocks

#: Faster than the published protocol (Adam lr 1e-6/5e-6, 5000/10000 epochs of batch
#: 128): larger steps with cosine decay and early stopping on the validation NLL.
#: 'reference' n_iter and eval_every are placeholders: infer_langevin sets them from
#: the number of training rows (REFERENCE_EPOCHS epochs, a checkpoint every epoch).
PRESETS = {
    "fast": (TrainSettings(lr=1e-3, batch=256), TrainSettings(lr=1e-3, batch=256)),
    "reference": (TrainSettings(lr=1e-6, batch=128, n_iter=300_000, eval_every=79, patience=None,
                                lr_schedule="constant"),
                  TrainSettings(lr=5e-6, batch=128, n_iter=600_000, eval_every=79, patience=None,
                                lr_schedule="constant")),
}

#: drift, diffusion epochs of the published protocol (methods.md §3.4)
REFERENCE_EPOCHS = (5000, 10000)


def _reference_schedule(settings: TrainSettings, epochs: int, n_train: int) -> TrainSettings:
    """The published schedule in updates: `epochs` passes over n_train rows in
    batches of settings.batch, a checkpoint at the end of each pass."""
    per_epoch = -(-n_train // settings.batch)
    return replace(settings, n_iter=epochs * per_epoch, eval_every=per_epoch)


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
    spread = (x @ linear_fit(x, rate)[1:]).std(axis=0)  # the intercept does not spread
    noise = rate.std(axis=0)
    return rate.mean(axis=0), np.maximum(spread, 0.05 * np.maximum(noise, 1e-12))


#: drift_base -> polynomial degree of the drift networks' base fit (None: chosen on the validation rows,
#: _train_drift)
DRIFT_BASES = {"auto": None, "linear": 1, "quadratic": 2, "cubic": 3, "none": 1}


def _validation_score(hist: dict) -> float:
    """The validation NLL a trained network was kept at (ensembles: the mean of the
    members' own best checkpoints)."""
    if "member_best_val_loss" in hist:
        return float(np.mean(hist["member_best_val_loss"]))
    return float(hist["best"]["val_loss"])


def _train_drift(make, drift_base: str, x, label, train, val, settings, seed, progress, desc, refit,
                 oob_blocks=None, keep_unvalidated: bool = False):
    """Builds (make(degree)) and trains a drift network. drift_base 'auto': the
    polynomial degree of its base is the lowest of 1–3 within one standard error
    of the best held-out least-squares fit of the labels (select_degree); if that
    is above 1, a network with the linear base is trained too and the one with the
    lower validation NLL is kept. The polynomial fit alone is not enough: on the
    nonlinear system (a Gaussian bump) the cubic fit beats the linear one, but the
    network on top of it barely trains and ends at drift R² 0.64–0.78 instead of
    0.88–0.97 (bench/RESULTS.md). keep_unvalidated: FieldNetwork.fit's, for the first
    candidate (later ones always keep: Ctrl-C must not lose a trained one). Returns
    (network, history)."""
    fixed = DRIFT_BASES[drift_base]
    if fixed is not None:
        net = make(fixed)
        return net, net.fit(x, label, train, val, settings, seed=seed, progress=progress, desc=desc, refit=refit,
                            oob_blocks=oob_blocks, keep_unvalidated=keep_unvalidated)
    rows = lambda r: r[:: max(1, r.size // 50_000)]  # least squares on at most ~50 000 rows each
    degree, poly_scores = select_degree(x, label, rows(train), rows(val))
    fits = {}
    for deg in sorted({1, degree}):
        net = make(deg)
        fits[deg] = (net, net.fit(x, label, train, val, settings, seed=seed, progress=progress,
                                  desc=f"{desc} (base degree {deg})", refit=refit, oob_blocks=oob_blocks,
                                  keep_unvalidated=keep_unvalidated or bool(fits)))
        if history_interrupted(fits[deg][1]):  # Ctrl-C: no further candidate
            break
    scores = {deg: _validation_score(h) for deg, (_, h) in fits.items()}
    net, hist = fits[min(scores, key=scores.get)]
    hist["base_degree"] = {"polynomial_scores": poly_scores, "network_val_nll": scores, "chosen": net.base_degree}
    return net, hist


def _frame_count(d) -> int:
    """Distinct glitched frames of the data (pieces of a track share the frames at their ends)."""
    if d.tracks is None or not len(d.glitched):
        return len(d.glitched)
    p, j = d.glitched[:, 0], d.glitched[:, 1]
    return len({(int(d.tracks[a]), int(d.track_starts[a] + b)) for a, b in zip(p, j)})


def _check_noisy(x: np.ndarray, noisy, d1: np.ndarray, noiseless=()) -> None:
    """Rejects coordinates without noise, which the Cholesky head cannot fit: over
    two steps a diffusive coordinate's mean squared increment doubles, a smooth
    (noiseless) one's quadruples. Ratio > 3: noiseless. d1: the mean squared
    one-step increments (increment_moments). Declared noiseless ones that look diffusive
    warn first (_warn_declared_noisy)."""
    ratio = _increment_ratio(x, d1)
    _warn_declared_noisy(ratio, noiseless, under=False)
    smooth = [i for i in noisy if ratio[i] > 3.0]  # inf: never changes
    if smooth:
        raise ValueError(f"coordinates {smooth} look noiseless (two-step/one-step mean squared increment "
                         f"{np.round(ratio[smooth], 2).tolist()}, diffusive ≈ 2, smooth ≈ 4): the diffusion "
                         f"matrix is singular. {_noiseless_advice(smooth, noisy)}; positions of an "
                         "inertial system are smooth too: for those use regime='underdamped' (--regime "
                         "underdamped). A noisy coordinate whose increments a strong drift dominates (drift "
                         "step per dt well above the noise step) looks smooth too: if yours is noisy, pass "
                         "noise_check=False (--no-noise-check); its D will be hard to infer at this dt")


def _increment_ratio(x: np.ndarray, d1: Optional[np.ndarray] = None) -> np.ndarray:
    """Mean squared two-step increment over one-step, per coordinate of x (M, L, d); inf
    where x never changes (no noise at all). d1: the one-step ones, when already known."""
    if d1 is None:
        d1 = np.mean((x[:, 1:] - x[:, :-1]) ** 2, axis=(0, 1))
    d2 = np.mean((x[:, 2:] - x[:, :-2]) ** 2, axis=(0, 1))
    return np.where(d1 > 0, d2 / np.maximum(d1, 1e-300), np.inf)


def _check_underdamped(x: np.ndarray, noisy, dt: float, noiseless=()) -> None:
    """The underdamped counterpart of _check_noisy, before any training. Positions of an
    inertial system are smooth (two-step/one-step ratio ≈ 4; 3.2-4 on the built-in models
    for dt up to 0.5): ≈ 2 means diffusive positions, overdamped data, whose finite-difference
    'velocities' are noise: a warning, not an error, as position measurement noise lowers the
    ratio too. Velocities v̂ = Δx/dt of a noisy coordinate are diffusive-like (≈ 2.5, up to 3
    where the drift step is large), of a noiseless one smooth (≈ 4): D is then singular.
    Declared noiseless velocities that look noisy warn (_warn_declared_noisy)."""
    rx = _increment_ratio(x)
    diffusive = [i for i in noisy if rx[i] < 2.5]
    if diffusive:
        warnings.warn(f"positions of coordinates {diffusive} look diffusive (two-step/one-step mean squared "
                      f"increment {np.round(rx[diffusive], 2).tolist()}; inertial ≈ 4, diffusive ≈ 2): for "
                      "overdamped data use regime='overdamped' (--regime overdamped), the underdamped fit of "
                      "them is meaningless. An inertial system with friction × dt well above 1, or positions "
                      "with large measurement noise, look the same: record more often or more precisely; "
                      "noise_check=False silences this", UserWarning, stacklevel=user_stacklevel())
    rv = _increment_ratio(np.diff(x, axis=1) / dt)
    _warn_declared_noisy(rv, noiseless, under=True)
    # 3.95, not 3.5: weak noise under a strong drift reaches 3.6-3.9 (Van der Pol at T = 0.01)
    smooth = [i for i in noisy if rv[i] > 3.95]
    if smooth:
        raise ValueError(f"coordinates {smooth} look noiseless (their velocities' two-step/one-step mean squared "
                         f"increment {np.round(rv[smooth], 3).tolist()}; noisy ≈ 2.5, smooth ≈ 4): the diffusion "
                         f"matrix is singular. {_noiseless_advice(smooth, noisy)}; if yours is noisy "
                         "(a strong drift dominates its velocity increments), pass noise_check=False "
                         "(--no-noise-check)")


def _warn_declared_noisy(ratio: np.ndarray, noiseless, under: bool) -> None:
    """Warns when coordinates declared noiseless look diffusive (review, session 34: a noisy
    coordinate passed as noiseless got D = 0 and bands that covered the truth "1.000" while D
    was 82% off). ratio: per coordinate, the two-step/one-step mean squared increment ratio
    (_increment_ratio) of the positions (overdamped: ≈ 2 diffusive, ≈ 4 smooth, 3.2 for the
    Hodgkin–Huxley voltage at dt 0.1; warned below 2.5) or of the finite-difference
    velocities (underdamped: ≈ 2.5 noisy, ≈ 4 smooth; warned below 2.7)."""
    declared = sorted(set(int(k) for k in noiseless))
    limit, typical = (2.7, "noisy ≈ 2.5") if under else (2.5, "diffusive ≈ 2")
    noisy = [i for i in declared if ratio[i] < limit]
    if noisy:
        what = "velocities' " if under else ""
        warnings.warn(f"coordinates {noisy} were declared noiseless but look noisy (their {what}two-step/one-step "
                      f"mean squared increment {np.round(ratio[noisy], 2).tolist()}; {typical}, smooth ≈ 4): "
                      "their diffusion is set to zero and the fit ignores their noise. Drop them from noiseless "
                      "(--noiseless) unless you know they carry none; noise_check=False silences this",
                      UserWarning, stacklevel=user_stacklevel())


def _noiseless_advice(smooth: list, noisy) -> str:
    """How to fit around coordinates without noise; none left noisy: no such way."""
    if len(smooth) == len(noisy):
        return "No coordinate shows noise, and this estimator needs at least one"
    return (f"Pass noiseless={smooth} (command line: --noiseless {' '.join(map(str, smooth))}) to learn D on the "
            "other coordinates")


def _check_scales(x: np.ndarray, dt: float, var: np.ndarray, ms: np.ndarray, lo: float = 1e-20,
                  hi: float = 1e20) -> None:
    """Rejects units in which the networks' statistics would overflow or underflow
    (float32 holds 1e-38 to 3e38; the labels are increments over dt and their
    squares): the positions' spread, the rms increment per dt and the mean squared
    increment per 2 dt must lie within [lo, hi]. var, ms: the states' variance and
    mean squared increment per coordinate (increment_moments). Constant coordinates
    are left to the noiseless check."""
    coords = [i for i in range(x.shape[-1]) if np.any(x[:, 1:, i] != x[:, :-1, i])]
    var, ms = var[coords], ms[coords]
    with np.errstate(all="ignore"):
        scales = {"position spread": np.sqrt(var), "rms increment / dt": np.sqrt(ms) / dt,
                  "mean squared increment / (2 dt)": ms / (2 * dt)}
    for what, v in scales.items():
        if not (np.all(np.isfinite(v)) and np.all(v >= lo) and np.all(v <= hi)):
            raise ValueError(f"the data's {what} is {np.array2string(np.asarray(v), precision=3)}, outside "
                             f"[{lo:g}, {hi:g}]: express positions and dt in units closer to the motion's scale")


#: lag-1 correlation of the drift residuals below which measurement noise is reported: D is then
#: about 1/(1 − 2|ρ|) = 10% high or more
MEASUREMENT_NOISE_CORRELATION = -0.045


def _consecutive_residuals(resid: np.ndarray, rows: np.ndarray, n_pts: int):
    """(a, b, ρ): the residuals (rows, k) of consecutive training rows within a trajectory
    (n_pts rows each), a the earlier and b the later, and their lag-1 correlation per column;
    None under 100 pairs."""
    kept = np.zeros(resid.shape[0], dtype=bool)
    kept[rows] = True
    j = np.arange(resid.shape[0] - 1)
    pair = kept[j] & kept[j + 1] & ((j + 1) % n_pts != 0)
    if int(pair.sum()) < 100:
        return None
    a, b = resid[:-1][pair], resid[1:][pair]
    calm = _calm_rows(a, b)  # a glitched frame's jump out and back reads as strong anticorrelation
    a, b = a[calm], b[calm]
    return a, b, np.sum(a * b, axis=0) / np.sqrt(np.sum(a * a, axis=0) * np.sum(b * b, axis=0))


def _calm_rows(*columns: np.ndarray) -> np.ndarray:
    """Rows where every value of the (rows, k) arrays lies within GLITCH_SD robust standard
    deviations of its column: glitched frames' increments (out and straight back) left out of
    the noise checks, whose sums of products they would otherwise set (review, session 31)."""
    return ~np.any([beyond_robust_sd(c, GLITCH_SD, axis=0).any(axis=1) for c in columns], axis=0)


#: drop of the lag-1 correlation of underdamped residuals below its noiseless value that is
#: reported as measurement noise: D is then about 5% high
UNDERDAMPED_NOISE_DROP = 0.04


def _warn_underdamped_measurement_noise(resid: np.ndarray, rows: np.ndarray, n_pts: int, coords: list,
                                        dt: float, friction_step: np.ndarray, s_x: np.ndarray, notes: list) -> None:
    """Warns when the second differences less the drift are less correlated at lag 1 than
    an inertial system's, ρ₀(γΔt) (inertial_residual_correlation: 1/4 as γΔt → 0).
    Localisation noise of variance σ² adds Δ²η/Δt to the labels Δv̂ (variance 6σ²/Δt²,
    lag-1 covariance −4σ²/Δt²), so D is (1 + ε) high with ε ≈ (ρ₀ − ρ)/(ρ + 2/3); at
    γΔt = 0.1 noise of 0.1% of the positions' spread already makes D 10% high and the
    friction 10% high (exactly sampled oscillators, session 29): positions-only inertial
    inference is far more sensitive to it than the overdamped one. resid: (rows, k) in
    normalised velocity units (Δv̂ of x̃ = x/s_x); friction_step: γΔt per column (columns
    beyond 0.5 are not checked); notes: the fit's notes, which keep the finding."""
    pairs = _consecutive_residuals(resid, rows, n_pts)
    if pairs is None:
        return
    a, b, rho = pairs
    rho0 = inertial_residual_correlation(friction_step)
    drop = rho0 - rho
    # beyond γΔt = 0.5 the friction is unreliable (warned at the end of the fit), and ρ₀ with it
    bad = (drop > UNDERDAMPED_NOISE_DROP) & (drop > 4.0 / np.sqrt(a.shape[0])) & (friction_step <= 0.5)
    if not bad.any():
        return
    parts = []
    for k in np.flatnonzero(bad):
        eps = drop[k] / max(rho[k] + 2.0 / 3.0, 0.05)
        sigma = dt * float(np.sqrt(eps * np.mean(a[:, k] ** 2) / (6.0 * (1.0 + eps)))) * float(s_x[coords[k]])
        parts.append(f"coordinate {coords[k]}: lag-1 correlation {rho[k]:+.2f} (inertial motion: {rho0[k]:+.2f} at "
                     f"γΔt = {friction_step[k]:.2g}), noise std about {sigma:.3g} (position unit), D at least "
                     f"{1 + eps:.2g}x high")
    notes.append("measurement noise suspected (underdamped residuals): " + "; ".join(parts))
    warnings.warn("the second differences of the positions less the drift are less correlated than inertial motion "
                  "allows, the mark of measurement (localisation) noise: " + "; ".join(parts) + ". The friction "
                  "and the rest of the drift are biased too: from positions alone, inertial inference needs noise "
                  "well below the motion over one step. Use data recorded less often (e.g. x[:, ::n], with "
                  f"dt={dt:g}·n; the noise's share falls as n³), or more precise positions",
                  UserWarning, stacklevel=user_stacklevel())


#: share of a coordinate's squared increments below which robust labels call it noise only
NOISE_ONLY_SHARE = 0.01


def _warn_noise_only(first: np.ndarray, second: np.ndarray, coords: list, notes: list) -> None:
    """Robust labels: warns for coordinates whose diffusion, E[Δ₁² + 2Δ₁Δ₂], is under 1% of
    their squared increments E[Δ₁²] (plus 3 standard errors of that share): their increments
    are localisation noise, either over a coordinate without dynamics noise (D ≈ 0 is then
    right, but noiseless= says so) or swamping its diffusion (review, session 29: such a
    coordinate read D ≈ 0 silently). first, second: consecutive increments Δ₁, Δ₂ of the training rows, (rows, k)."""
    calm = _calm_rows(first, second)
    first, second = first[calm], second[calm]
    raw = np.maximum(np.mean(first * first, axis=0), 1e-300)
    label = first * first + 2.0 * first * second
    share = np.mean(label, axis=0) / raw
    se = np.std(label, axis=0) / np.sqrt(label.shape[0]) / raw  # a zero share reads ±se: 3 of them still count
    low = [(coords[k], share[k]) for k in range(len(coords)) if share[k] < NOISE_ONLY_SHARE + 3.0 * se[k]]
    if not low:
        return
    text = ", ".join(f"coordinate {i} ({100 * r:.2g}%)" for i, r in low)
    notes.append(f"increments almost all localisation noise: {text} of their squared increments is diffusion")
    warnings.warn(f"the increments of {text} are almost all localisation noise (the diffusion's share of their "
                  f"squared increments in parentheses): a coordinate without dynamics noise (pass noiseless="
                  f"{[i for i, _ in low]}), or noise that swamps its motion over a step (record less often)",
                  UserWarning, stacklevel=user_stacklevel())


def _warn_measurement_noise(resid: np.ndarray, rows: np.ndarray, n_pts: int, coords: list, dt: float,
                            s_x: np.ndarray, notes: list) -> None:
    """Warns when consecutive overdamped increments, less the drift, are anticorrelated.
    Localisation (measurement) noise of variance σ² in the positions gives the residuals
    r_i = Δx_i − Φ(x_i)Δt a lag-1 covariance −σ² and variance 2DΔt + 2σ², so the
    estimated D is D + σ²/Δt, a factor 1/(1 − 2|ρ|) high, and the drift is biased too;
    without it ρ is O(Δt²) (user trial, session 27: 10 nm on a trap with D = 0.1 µm²/s at
    Δt = 1 ms doubled D and the stiffness without a word). resid: (rows, k) in
    normalised units; rows: the training rows (consecutive pairs within a trajectory);
    notes: the fit's notes, which keep the finding."""
    pairs = _consecutive_residuals(resid, rows, n_pts)
    if pairs is None:
        return
    a, b, rho = pairs
    bad = (rho < MEASUREMENT_NOISE_CORRELATION) & (rho < -4.0 / np.sqrt(a.shape[0]))
    if not bad.any():
        return
    parts = []
    for k in np.flatnonzero(bad):
        sigma = float(np.sqrt(max(-np.mean(a[:, k] * b[:, k]), 0.0))) * float(s_x[coords[k]])
        parts.append(f"coordinate {coords[k]}: lag-1 correlation {rho[k]:+.2f}, noise std about {sigma:.3g} "
                     f"(position unit), D about {1 / (1 - 2 * min(-rho[k], 0.45)):.2g}x high")
    notes.append("measurement noise suspected (anticorrelated increments): " + "; ".join(parts))
    warnings.warn("the increments less the drift are anticorrelated, the mark of measurement (localisation) noise "
                  "in the positions: " + "; ".join(parts) + ". The drift is biased too. Pass localisation_noise="
                  "'robust' (labels free of the noise's bias; command line: --localisation-noise robust), or use "
                  f"data recorded less often (e.g. x[:, ::n], with dt={dt:g}·n), so that the noise variance is small "
                  "beside D·dt", UserWarning, stacklevel=user_stacklevel())


def _check_drift_trained(pred: np.ndarray, label: np.ndarray, ratio: float = 2.0) -> None:
    """A drift whose one-step predictions FΔt are larger than the increments did not
    converge (too large a learning rate): E[Δ²] = (FΔt)² + 2DΔt bounds the first
    term by the increments' mean square. Stops before the diffusion labels
    ΔΔᵀ − (FΔt)(FΔt)ᵀ go negative and the error blames the data."""
    with np.errstate(all="ignore"):
        size, scale = np.sqrt(np.mean(pred * pred)), np.sqrt(np.mean(label * label))
    if not (np.isfinite(size) and size <= ratio * scale):
        raise FloatingPointError(f"drift training diverged: its predictions FΔt have rms {size:.3g}, over {ratio:g} "
                                 f"times the increments' ({scale:.3g}); lower the learning rate (lr)")


def _linear_fr_correction(drift, drift_r, rows: np.ndarray, seed: int) -> np.ndarray:
    """Coefficients C ((1 + in_dim) x d, normalised units) of the least-squares fit
    [1, rows]·C ≈ (F − F_r)/4 over network input rows, with the mean-weight
    networks (ensembles: the members' mean)."""
    diff = (drift.samples(rows, 0, seed).mean(axis=0) - drift_r.samples(rows, 0, seed).mean(axis=0)) / 4.0
    return linear_fit(rows, diff)


def _corrected_drift(drift, drift_r, fr_linear):
    """Φ = F + (F − F_r)/4 (methods.md §3.3) on normalised input rows, mean weights
    (ensembles: the members' mean), with the correction as its linear projection
    when fr_linear is given: the drift whose local friction the finite-γΔt factor
    of the diffusion labels needs. F alone carries the friction bias the
    correction removes; using it left the Carnot engine's D 5% off instead of 2.5%
    (bench/RESULTS.md)."""
    def field(rows: np.ndarray) -> np.ndarray:
        f = drift.samples(rows, 0, 0).mean(axis=0)
        if fr_linear is not None:
            return f + polynomial_features(rows, 1) @ fr_linear
        return f + (f - drift_r.samples(rows, 0, 0).mean(axis=0)) / 4.0
    return field


#: most coefficients per output of a least-squares base (drift base, diffusion base, the linear fits
#: of the corrections): a 1000-column fit on 10⁵ rows is 10¹¹ flops and 0.8 GB of design matrix
MAX_BASE_COEFFS = 1000


def _check_least_squares_sizes(in_dim: int, dim: int, n_train: int, n_rows: int, drift_base: str,
                               diffusion_base: bool, bbb: bool, harmonics: bool) -> None:
    """Refuses, before any training, least-squares fits the network inputs make too large
    (their design matrices and, for Bayes-by-Backprop, the coefficients' covariance grow as
    the inputs to the power of the degree) or too few rows determine."""
    also = " (or fewer time_harmonics: each adds two inputs)" if harmonics else ""
    # (what, polynomial degree, fix, whether Bayes-by-Backprop samples its coefficients' kron covariance)
    fits = [("the linear fits of the drift (its output scale, corrections)", 1, "reduce the data's dimension", False)]
    if drift_base != "none":  # 'auto' tries higher degrees only within 400 coefficients
        fits.append((f"drift_base={drift_base!r}", DRIFT_BASES[drift_base] or 1, "pass drift_base='none'", bbb))
    if diffusion_base:
        fits.append(("diffusion_base='quadratic'", 2, "pass diffusion_base='none'", False))
    for what, degree, fix, kron in fits:
        p = n_monomials(in_dim, degree)
        if p > MAX_BASE_COEFFS:
            raise ValueError(f"{what}: a degree-{degree} least-squares fit in the networks' {in_dim} inputs has {p} "
                             f"coefficients per output (at most {MAX_BASE_COEFFS}); {fix}{also}")
        if n_train < 2 * p:
            raise ValueError(f"too few points for {what}: {p} coefficients need at least {2 * p} training rows, got "
                             f"{n_train}; {fix}, or pass longer or more trajectories{also}")
        check_output_fits((n_rows, p), np.float64, f"{fix}{also}")
        if kron:
            check_output_fits((p * dim, p * dim), np.float64, f"{fix}{also}")


def _warn_coarse_integration(scheme: str, steps: int) -> None:
    """The 3/2 and F_r corrections assume positions recorded from continuous motion. With n
    explicit Euler steps per record (x advanced with the old v) the finite-difference velocity
    averages n step velocities, and ⟨Δv̂²⟩ is (2n² + 1)/(3n²) of the continuous increments'
    instead of 2/3: D comes out (2n² + 1)/(2n²) times too high (50% at n = 1, 2% at n = 5).
    Other schemes are biased too (BAOAB at n = 1: about 20% low on Van der Pol)."""
    if scheme == "underdamped_euler":
        bias = f"about {(2 * steps ** 2 + 1) / (2 * steps ** 2) - 1:.0%} high"
        fix = (": the finite differences are then the scheme's own velocities, so corrections=False is exact"
               if steps == 1 else "; simulate with more substeps per recorded step")
    else:
        bias, fix = "biased", "; simulate with more substeps per recorded step"
    warnings.warn(f"these trajectories were recorded every {steps} integration step(s) ({scheme}), but the "
                  "underdamped corrections (D x 3/2, the F_r drift correction) assume positions sampled from "
                  f"continuous motion: D would come out {bias}{fix}", UserWarning, stacklevel=user_stacklevel())


def _after_interrupt(h: dict, *settings: TrainSettings) -> tuple:
    """After Ctrl-C stopped a network (h['interrupted']; it keeps its best model), the
    networks still to train get one evaluation block each, so that the fit stays
    usable and the call returns promptly."""
    if not history_interrupted(h) or settings[0].n_iter == settings[0].eval_every:
        return settings
    warnings.warn("interrupted: the remaining networks train for one evaluation block each (a rough but usable "
                  "fit); rerun without interrupting for the full fit", stacklevel=3)
    return tuple(replace(s, n_iter=s.eval_every, patience=None) for s in settings)


def _coordinate_list(name: str, value) -> list:
    """A sequence of integer coordinate indices (duplicates dropped)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a list of coordinate indices, e.g. [0], got {value!r}")
    return sorted({integer(f"{name} entries", k) for k in value})


def _share_ok(share: float, val_fraction: float) -> bool:
    """Whether a split by whole tracks came near enough val_fraction of the rows."""
    return 0.5 * val_fraction <= share <= min(2.0 * val_fraction, 0.5 * (1.0 + val_fraction))


def _note_track_split(d, units: Optional[np.ndarray], by_source: bool, val_pieces: np.ndarray, share: float,
                      val_fraction: float) -> None:
    """Notes which share of the rows validates when tracks (units: the one each piece
    belongs to; None: each trajectory its own; by_source: the trajectories tracks were cut
    from) are held out whole, and warns when unequal tracks put it far from val_fraction
    (e.g. one long track beside short ones: validation on a few rows, or training on them)."""
    units = np.arange(d.n_traj) if units is None else units
    held, n_units = np.unique(units[val_pieces]).size, np.unique(units).size
    what = ("trajectories (with their tracks cut at gaps)" if by_source else
            "trajectories" if d.tracks is None else "tracks")
    why = "" if d.t is not None else (" (short tracks: pieces holding out their last rows would be longer and keep "
                                      "fewer rows)" if d.tracks is not None else
                                      " (too short for the last rows of each to validate)")
    d.notes.append(f"validation on {held} of {n_units} {what}, held out whole{why}: {100 * share:.3g}% of the rows "
                   f"(val_fraction {val_fraction:g})")
    if not _share_ok(share, val_fraction):
        fix = ", each with its own start time in t0" if d.t is not None else ""
        driven = "driven " if d.t is not None else ""
        warnings.warn(f"the {driven}{what} are split whole, and their lengths are too unequal to hold out "
                      f"val_fraction={val_fraction:g} of the rows: validation gets {100 * share:.3g}%. Cut long ones "
                      f"into several{fix}", UserWarning, stacklevel=user_stacklevel())


def infer_langevin(data: Any, dt: Optional[float] = None, regime: str = "overdamped", *, method: str = "bbb",
                   hidden: int = 128, layers: int = 4, n_bayes: int = 2, n_members: int = 5,
                   bootstrap: bool = True, homogeneous_diffusion: bool = False, diffusion_base: str = "quadratic",
                   diff_use_drift: bool = True, second_order_diffusion: bool = True,
                   corrections: bool = True, friction_correction: bool = True, drift_correction: str = "linear",
                   drift_base: str = "linear", refit: bool = False, separate_noiseless_drift: bool = True,
                   time_dependent: bool = False, period: Optional[float] = None,
                   time_harmonics: Optional[int] = None, t0: Optional[Union[float, np.ndarray]] = None,
                   measurement_noise: float = 0.0, noiseless: Sequence[int] = (), noise_check: bool = True,
                   localisation_noise: str = "check", glitches: str = "drop", gaps: str = "error",
                   preset: str = "fast",
                   drift_settings: Optional[TrainSettings] = None,
                   diffusion_settings: Optional[TrainSettings] = None, kl_gradient: Optional[str] = None,
                   n_posterior: int = 200, val_fraction: float = 0.2, validation: str = "split",
                   dtype: str = "float32", seed: int = 0,
                   n_threads: Optional[int] = None, progress: Optional[bool] = None,
                   model: Optional[Any] = None) -> LangevinFit:
    """Infer the drift and diffusion of a Langevin equation from trajectories.

    data: Trajectories (positions are used) or an array (n_traj, L, d) / (L, d) of
    positions recorded every `dt` (model time unit), or a list of tracks (L_k, d) of
    different lengths (single-particle tracking; a record with gaps split at them): they
    are cut into pieces of one length, consecutive pieces sharing the one (overdamped),
    two (underdamped) or three (localisation_noise='robust') points a row spans beyond its
    first, so every row is used once
    but each track's remainder after its last whole piece; the length is the longest
    that keeps 95% of the most rows any length keeps (fit.notes says what was kept).
    Driven tracks take t0 per track and are split by track; so are 5 or more autonomous
    tracks when that keeps over 25% more rows than the time split, whose pieces need 9
    points (2 rows held out; data.TRACK_SPLIT_GAIN). regime: 'overdamped'
    (dx = Φ(x) dt + √(2D(x)) dW) or 'underdamped' (dv = Φ(x, v) dt + √(2D) dW;
    velocities are reconstructed by finite differences, never observed). Φ is the Itô
    drift, E[dx | x]/dt (with state-dependent D it includes any noise-induced drift,
    e.g. ∇·D for an overdamped particle: Φ = D∇ ln P_eq + ∇·D in equilibrium).
    Underdamped rows pair the second difference Δv̂_i with the state (x_{i+1}, v̂_i),
    the position at its centre (methods.md §3.3 pairs it with x_i, which biases the
    friction by −Δt ∂Φ/∂x: +(5/4)ω²Δt for an oscillator after the correction;
    bench/RESULTS.md, "Centred positions").
    method: 'bbb' (Bayes-by-Backprop, the last n_bayes (2) of `layers` (4) layers
    Bayesian) or 'ensemble' (n_members (5) deterministic networks trained together,
    each on a bootstrap resample when bootstrap=True). hidden: width (128; the
    paper's 256 is slower and was not more accurate at the default data size,
    bench/RESULTS.md).
    homogeneous_diffusion: constant D (a learned vector, no input).
    diffusion_base: 'quadratic' (default): the diffusion network learns the ratio of
    D to a scalar quadratic least-squares trend b(inputs) of the labels and starts
    at b (langevin/diffusion_base.py). Van der Pol with state-dependent noise: mean
    D error over six datasets 0.133 → 0.076 (bbb), 0.107 → 0.065 (ensemble);
    constant-D systems pay the trend's noise (Van der Pol bbb 0.039 → 0.058; pass
    homogeneous_diffusion=True when D is known to be constant) (bench/RESULTS.md).
    'none': the network alone, as published. Bayes-by-Backprop draws the trend per
    posterior sample from its coefficients' sandwich covariance; one trend serves all
    ensemble members. Every least-squares base (drift, diffusion, the corrections'
    linear fits) is limited to 1000 coefficients per output and needs twice as many
    training rows: the quadratic diffusion base allows up to 43 network inputs
    (coordinates, velocities, 2 per time harmonic); beyond, diffusion_base='none'.
    diff_use_drift (default True): subtract the frozen drift's (ΦΔt)(ΦΔt)ᵀ from the
    diffusion labels (three times it with localisation_noise='robust'); without it D is
    biased by Φ²Δt/2 (3Φ²Δt/2 robust; 25% for the nonlinear
    system's strong drift, 3x the target error for Van der Pol). second_order_diffusion
    (overdamped, default True): also subtract ½Δt(JY + YJᵀ) from each diffusion label Y,
    J the frozen drift's Jacobian (central differences): the drift's gradient puts
    Δt²(JD + DJᵀ) into E[ΔxΔxᵀ] (a trap sampled from continuous motion reads D(1 − kΔt);
    simulate output by Euler–Maruyama with n steps per record carries 1 − 1/n of it, read
    from the Trajectories; langevin/ito_taylor.py). Six datasets each (bench/RESULTS.md,
    "Second-order diffusion labels"): mean D error nonlinear 0.045 → 0.038 (bbb), 0.053 →
    0.038 (ensemble), inhomogeneous 0.088 → 0.074, 0.080 → 0.062; underdamped fits have
    their own finite-γΔt factors.
    corrections (underdamped): D × 3/2 and Φ + (Φ − Φ_r)/4 (methods.md §3.3), for
    positions sampled from continuous motion; stochinfer.simulate output recorded every < 5 integration steps warns
    (explicit Euler at one step per record: corrections=False is exact). friction_correction (underdamped, with
    corrections): 3/2 is exact only for γΔt → 0 and leaves D about γΔt low, so each
    diffusion label is divided by the exact factor ρ(γΔt) at the local friction
    γ(z) = −∂Φ/∂v of the trained drift (Van der Pol's runs from −2 to 6); the
    non-friction force, shrunk by 1/(1 + γΔt/2), is scaled back with the mean
    friction; the friction itself, which the corrected drift reads 5γΔt/12 low
    (4% at γΔt = 0.1), is raised to the γ whose estimate it is, both the local one of
    ρ and the mean one of the drift (langevin/friction.py). False: 3/2 and F_r alone,
    the published code.
    drift_correction (underdamped, with corrections): how (Φ − Φ_r)/4 enters.
    'linear' (default): its least-squares projection on (1, x, v[, t]) over the
    training states. The correction is a first-order friction effect; the
    pointwise difference of two separately trained networks carries both networks'
    errors (1.6 times one network's variance), which cost Van der Pol up to 0.06
    of drift R² (bench/RESULTS.md). 'network': the published pointwise form.
    drift_base: 'linear' (default): the drift networks learn the residual from a
    least-squares linear fit of the drift in the inputs (each ensemble member on its
    own rows), starting at that fit; early stopping then shrinks towards the fit
    instead of towards a random function. Mean drift R² over six datasets rose by
    0.03 (bbb) and 0.01 (ensemble) (bench/RESULTS.md). 'quadratic', 'cubic': the
    same with all monomials of the inputs up to degree 2 or 3. Use 'cubic' when the
    force is close to a low-order polynomial (oscillators, Van der Pol-like
    friction): Van der Pol, seeds 0–3, R² 0.86–0.95 → 0.97–0.98; with
    state-dependent D 0.75–0.93 → 0.89–0.97 ("Polynomial drift base" in
    bench/RESULTS.md). Where it is not, the cubic base is costly: the nonlinear
    system's Gaussian bump, 0.88–0.97 → 0.64–0.78 (the residual of a cubic fit is
    orthogonal to the smooth functions the network starts with, and training
    stalls). 'auto': the lowest degree within one standard error of the best
    held-out least-squares fit of the labels; if above 1, a network on the linear
    base is trained too and the one with the lower validation NLL kept (twice the
    drift training time). Six datasets each: Van der Pol mean R² 0.913 → 0.966
    (bbb), 0.924 → 0.964 (ensemble), with state-dependent D 0.820 → 0.887 and
    0.863 → 0.918; nonlinear unchanged. But the validation rows are not always a
    fair judge: Hodgkin–Huxley's voltage network took the cubic base in the
    ensemble and its drift R² fell 0.863 → 0.467 (the cubic in four inputs
    extrapolates between the record's few spikes), so 'auto' is not the default.
    'none': the network alone, as published.
    refit (default False): after the validation rows choose the number of updates,
    train each network again from its initial weights on training + validation rows
    for that many updates (a quarter more data, twice the training time). Over six
    datasets mean drift R² rose by 0.001–0.011 (bench/RESULTS.md); the validation
    states are then no longer held out, so pass independent points to report().
    time_dependent: time is an input and the split is by trajectory (driven
    systems). t0 (time-dependent fits of arrays): the time of each trajectory's
    first point, a scalar or (n_traj,), in the data's time unit; without it every
    trajectory is taken to start at t = 0 (with a warning), so pieces cut from one
    long record need their own start times. Trajectories carry theirs (traj.t).
    period (time-dependent fits of periodically driven systems, in the
    data's time unit): the networks see time as cos(2πht/period), sin(2πht/period)
    for the harmonics h = 1 … time_harmonics (default 3) instead of t, so the fields
    are periodic by construction and the ends of the period are neighbours rather
    than the edges of the input range. Carnot engine, six datasets: RMS error of
    the work per cycle 29% -> 16%, diffusion error 0.031 -> 0.022, hot-bath heat
    bias -22% -> -15% (bench/RESULTS.md).
    noiseless: coordinates known to carry no noise (e.g. [0], the
    voltage of the Hodgkin–Huxley model): D is learned on the others and their rows
    of D are exactly zero (methods.md §3.8). noise_check (default True): overdamped,
    refuse coordinates whose two-step mean squared increment is over 3 times the
    one-step one (smooth, as a noiseless coordinate is; diffusive ≈ 2), since D would
    be singular; underdamped, refuse velocities without noise (and warn on positions
    that look diffusive), and warn on coordinates declared noiseless that look noisy. A
    strong drift dominating a noisy coordinate's increments trips it too: pass False for
    such data. separate_noiseless_drift (overdamped,
    default True): their drift, a noise-free regression, gets its own network with
    five times the updates (unless drift_settings fixes n_iter) and its own checkpoint, instead of stopping when the
    noisy components do (Hodgkin–Huxley voltage R² 0.75 → 0.8–0.86,
    bench/RESULTS.md). measurement_noise: std of Gaussian noise added to every
    position coordinate before training (robustness studies; an absolute std in
    position units: methods.md's m_noise·√T is measurement_noise = m_noise·√T).
    localisation_noise: 'check' (default): noise already in the positions is checked for
    (without measurement_noise): overdamped increments less the drift anticorrelated, or
    underdamped second differences less correlated than inertial motion allows (with
    corrections, γΔt ≤ 0.5, and not for simulate output recorded every < 5 integration
    steps) warn with the noise's size. 'robust' (overdamped): rows whose labels the noise
    does not bias: the drift from the increment x_{j+2} − x_{j+1} at the input x_j (the
    noise of x_j is not in it), the diffusion from Δ_{j+1}Δ_{j+1}ᵀ + Δ_{j+1}Δ_{j+2}ᵀ +
    Δ_{j+2}Δ_{j+1}ᵀ (the noise's variance cancels; Vestergaard, Blainey and Flyvbjerg
    2014), less 3(FΔt)(FΔt)ᵀ. A trap with 10 nm noise (D = 0.1 µm²/s, k = 10/s, Δt = 1 ms;
    tests/test_langevin_localisation.py): stiffness 19.9 and D 0.201 by default, 9.7 and
    0.100 robust. The price: an O(Δt) drift bias (−1.5kΔt in k for a trap; D's −3kΔt the
    second-order labels remove) and errors in the input x_j itself (σ² beside the spread).
    glitches: points that look like single glitched frames (a jump of over 20 robust SD of
    the increments and straight back, far above the increments beside it and over one SD of
    the coordinate's values; tracks searched whole; always named in a warning;
    _validate.glitched_points says what is not found) are 'drop'ped by default: the rows that use them leave training and
    validation (a note counts them); 'keep' trains on them. Two frames displaced 5 position SD
    in 10⁴ points of the nonlinear system, kept, took the drift R² from 0.956 to 0.582 (bbb;
    ensemble 0.946 to 0.733), 100 SD to −0.80 (the ensemble refused the data: no positive-definite
    mean diffusion); dropped, 0.942 / 0.953 (bench/RESULTS.md, "Glitched frames: dropped by default").
    gaps: 'error' (default: NaN states raise) or 'split': frames with a NaN component (or
    masked values of a masked array) are missing, as tracking software marks a lost
    particle, and the trajectories (or tracks) are cut there into tracks, as
    stochinfer.split_at_gaps does (runs of one length are tracks too; driven fits: each
    track's t0 is its trajectory's plus its first frame × dt; with at least 5 trajectories
    validation by track holds out whole trajectories, both sides of their gaps); a note
    counts the missing frames, and glitches are named by trajectory and frame of the record
    given. Interpolating across a gap instead fakes its increments: a straight line has no
    noise, so D comes out low (bench/RESULTS.md, "Missing frames").
    preset: 'fast' (default) or 'reference' (the published optimiser schedule: constant
    lr 1e-6 for the drift and 5e-6 for the diffusion, batch 128, 5000 and 10000 epochs;
    slow; the other choices stay this library's: width, KL
    gradient, drift and diffusion bases, corrections; pass those too to reproduce the
    published protocol, e.g. hidden=256, kl_gradient='detached', drift_base='none',
    diffusion_base='none', drift_correction='network', friction_correction=False);
    drift_settings / diffusion_settings override it; kl_gradient 'elbo' (default)
    or 'detached' (the published code). n_posterior: samples for bands (200).
    dtype of the networks: 'float32' (default) or 'float64'. val_fraction: the
    last fraction of each trajectory's rows (of the trajectories or tracks, held out
    whole, for driven fits, for short autonomous tracks (see data) and for 5 or more
    trajectories too short for that) held out to choose checkpoints and score report() (0.2). validation: how the
    drift networks choose checkpoints. 'split' (default): on those held-out rows.
    'out_of_bag' (bagged ensembles: method='ensemble', bootstrap=True): each drift
    member trains on a block bootstrap of all rows (runs of 50–99 consecutive points,
    or whole trajectories or tracks where validation holds them out; at least 20 blocks) and chooses its
    checkpoint on the blocks its resample left out, so no row is spent on validation
    alone. The left-out blocks lie between training states of the same path, so this
    scores interpolation rather than the time split's extrapolation (out_of_bag.py).
    Six datasets each of four systems: mean drift R² nonlinear 0.922 → 0.939,
    inhomogeneous 0.978 → 0.979, Van der Pol 0.923 → 0.925, with state-dependent D
    0.864 → 0.882; error–variance correlation misses 6 → 3 of the 24; mean drift band
    coverage −0.04 to +0.02 (bench/RESULTS.md, "Out-of-bag validation"). The
    diffusion network keeps the split (out of bag its bands covered less), though
    its labels use the drift, which saw its validation rows. Not the default:
    report()'s default points are then in-sample for the drift (it warns; pass
    independent points). seed: keys weights,
    minibatches, bootstrap resamples and posterior draws. n_threads: CPU threads
    (None: all; results do not depend on it). progress: progress bars (None: on a
    terminal, with tqdm). model: the generating model, for report() (taken from
    Trajectories).

    Returns a LangevinFit; training keeps the best validation NLL and stops
    cleanly (keeping the best model, with a warning) on Ctrl-C.
    """
    t_start = time.perf_counter()
    for name, flag in (("bootstrap", bootstrap), ("homogeneous_diffusion", homogeneous_diffusion),
                       ("diff_use_drift", diff_use_drift), ("second_order_diffusion", second_order_diffusion),
                       ("corrections", corrections),
                       ("friction_correction", friction_correction), ("refit", refit),
                       ("separate_noiseless_drift", separate_noiseless_drift), ("time_dependent", time_dependent),
                       ("noise_check", noise_check)):
        boolean(name, flag)
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real) or not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be a number in (0, 1), got {val_fraction!r}")
    if localisation_noise not in LOCALISATION_MODES:
        raise ValueError(f"localisation_noise must be one of {LOCALISATION_MODES}, got {localisation_noise!r}")
    if glitches not in GLITCH_FIX:
        raise ValueError(f"glitches must be one of {tuple(GLITCH_FIX)}, got {glitches!r}")
    if gaps not in GAP_MODES:
        raise ValueError(f"gaps must be one of {GAP_MODES}, got {gaps!r}")
    if localisation_noise == "robust" and regime == "underdamped":
        raise ValueError("localisation_noise='robust' is for overdamped fits: underdamped labels are second "
                         "differences, which no lag removes the noise from; record less often instead (x[:, ::n])")
    robust = localisation_noise == "robust"
    span = row_span(regime, localisation_noise)  # the points one row spans beyond its first
    d = as_langevin_data(data, dt, regime, model=model, time_dependent=time_dependent, t0=t0,
                         val_fraction=float(val_fraction), localisation=localisation_noise, glitches=glitches,
                         gaps=gaps)
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {tuple(PRESETS)}, got {preset!r}")
    ds, dd = (replace(s) for s in PRESETS[preset])
    for name, value in (("drift_settings", drift_settings), ("diffusion_settings", diffusion_settings)):
        if value is not None and not isinstance(value, TrainSettings):
            raise TypeError(f"{name} must be a stochinfer.langevin.TrainSettings, got {type(value).__name__}")
    ds = drift_settings if drift_settings is not None else ds
    dd = diffusion_settings if diffusion_settings is not None else dd
    if kl_gradient is not None:
        ds, dd = replace(ds, kl_gradient=kl_gradient), replace(dd, kl_gradient=kl_gradient)
    ds.validate()
    dd.validate()
    refuse_refit_with_resetting(refit, ds, dd)  # before any network trains
    bagged = method == "ensemble" and bool(bootstrap)
    if validation not in ("split", "out_of_bag"):
        raise ValueError(f"validation must be 'split' or 'out_of_bag', got {validation!r}")
    if validation == "out_of_bag" and not bagged:
        raise ValueError("validation='out_of_bag' needs a bagged ensemble (method='ensemble', bootstrap=True): "
                         "its members' resamples leave the out-of-bag rows; use validation='split'")
    refuse_refit_with_out_of_bag(refit, validation == "out_of_bag")
    n_posterior = positive_int("n_posterior", n_posterior, minimum=2)
    hidden, layers = positive_int("hidden", hidden), positive_int("layers", layers)
    n_bayes, n_members = positive_int("n_bayes", n_bayes, minimum=0), positive_int("n_members", n_members)
    if n_bayes > layers:
        raise ValueError(f"n_bayes (Bayesian layers, default 2) must be <= layers, got n_bayes={n_bayes} with "
                         f"layers={layers}")
    if method == "bbb" and n_bayes > 0 and max(ds.weight_decay, dd.weight_decay) > 0:
        # the decay would shrink the posterior scale parameters ρ too, towards softplus(0) = 0.69, seven
        # times the prior std: wider bands instead of a regularised fit
        raise ValueError("weight_decay > 0 in drift_settings/diffusion_settings with method='bbb' would also "
                         "shrink the Bayesian layers' posterior scales and widen the bands; their prior already "
                         "regularises: use weight_decay with method='ensemble', or weight_decay=0")
    if method == "bbb" and n_bayes == 0:
        warnings.warn("method='bbb' with n_bayes=0 has no Bayesian layer: a point estimate, with bands of zero "
                      "width; use n_bayes >= 1 or method='ensemble' for uncertainty", stacklevel=2)
    seed, n_threads = seed_value("seed", seed), thread_count(n_threads) or None
    progress = None if progress is None else boolean("progress", progress)
    if model is not None:  # it was accepted until report() (review, session 26)
        try:
            check_truth(model, d.regime, d.dim, "model")
        except ValueError as exc:  # e.g. underdamped data fitted as overdamped positions: it cannot score the fit
            warnings.warn(f"{exc}: report() and plot() will need another truth", UserWarning,
                          stacklevel=user_stacklevel())
    noiseless = _coordinate_list("noiseless", noiseless)
    if drift_base not in DRIFT_BASES:
        raise ValueError(f"drift_base must be one of {tuple(DRIFT_BASES)}, got {drift_base!r}")
    if drift_correction not in ("linear", "network"):
        raise ValueError(f"drift_correction must be 'linear' or 'network', got {drift_correction!r}")
    if period is not None:
        if not time_dependent:
            raise ValueError("period applies to driven fits: pass time_dependent=True with it (command line: "
                             "--time-dependent)")
        period = positive_float("period", period)
    if time_harmonics is not None and period is None:
        raise ValueError("time_harmonics needs a period: pass period= (the driving's period) with it (command "
                         "line: --period)")
    time_harmonics = positive_int("time_harmonics", 3 if time_harmonics is None else time_harmonics)
    if diffusion_base not in ("quadratic", "none"):
        raise ValueError(f"diffusion_base must be 'quadratic' or 'none', got {diffusion_base!r}")
    if method == "ensemble" and n_members < 2:
        raise ValueError(f"an ensemble needs n_members >= 2, got {n_members}")
    # network j's members are initialised from seeds net_seed[j] + e (e < members): spaced so that no two
    # networks share a member's initial weights (with seed + j, drift member 1 started as drift_shifted's
    # member 0)
    members = n_members if method == "ensemble" else 1
    net_seed = {"drift": seed, "drift_shifted": seed + members, "diffusion": seed + 2 * members,
                "drift_noiseless": seed + 3 * members}
    n_seeds = max(net_seed.values()) - seed + members + 1  # +1: the last network's validation draws
    if seed + n_seeds > 2**64:  # checked before training, not when the third network is built
        raise ValueError(f"seed must be at most 2**64 - {n_seeds} (the fit's networks take seeds seed to "
                         f"seed + {n_seeds - 1}), got {seed}")
    x = d.x
    measurement_noise = positive_float("measurement_noise", measurement_noise, allow_zero=True)
    if measurement_noise:
        noise = np.random.default_rng([seed, 11]).normal(scale=measurement_noise, size=x.shape)
        if d.tracks is not None:  # a point two pieces of a track share is one measurement: one noise
            follows = (d.tracks[1:] == d.tracks[:-1]) & (d.track_starts[1:] > d.track_starts[:-1])
            for p in np.flatnonzero(follows) + 1:  # in order: a chain of pieces passes its noise along
                noise[p, :span] = noise[p - 1, x.shape[1] - span:]
        x = x + noise
    M, L, dim = x.shape
    under = regime == "underdamped"
    n_pts = L - span  # rows per trajectory
    noisy = [i for i in range(dim) if i not in set(int(k) for k in noiseless)]
    if any(not 0 <= int(k) < dim for k in noiseless) or not noisy:
        raise ValueError(f"noiseless must list coordinates in [0, {dim}) and leave at least one noisy one, "
                         f"got {list(noiseless)}")
    # the data's scale and noise checks see each glitched frame (if dropped) as its neighbours' mean: one frame
    # at 3000 where the motion spans ±2 failed the scale check after it was found (review, session 32)
    x_checks = bridge_points(x, d.glitched) if glitches == "drop" else x
    var, ms = increment_moments(x_checks)
    _check_scales(x_checks, d.dt, var, ms)
    # no gap at the time split: the last training row's label reaches the first validation state. Its
    # noise is independent of the validation labels' (overdamped), or shared with the first one to three
    # (underdamped finite differences, robust rows' increments, measurement noise): 1-3 rows per
    # trajectory among thousands, left as is rather than discarding data
    units = d.split_units
    train, val = split_rows(M, n_pts, val_fraction, by_trajectory=d.split_by_trajectory, seed=seed, tracks=units)
    by_source = d.splits_by_source
    if by_source and not _share_ok(val.size / (M * n_pts), val_fraction):
        # whole source trajectories of unequal lengths miss val_fraction: hold out their tracks instead
        units, by_source = d.tracks, False
        train, val = split_rows(M, n_pts, val_fraction, by_trajectory=True, seed=seed, tracks=units)
    dropped = rows_touching(d.glitched, span, n_pts) if glitches == "drop" else np.zeros(0, dtype=np.int64)
    if dropped.size:
        train, val = np.setdiff1d(train, dropped), np.setdiff1d(val, dropped)
        if val.size == 0:
            raise ValueError("every validation row uses a glitched frame: pass more data, or glitches='keep'")
        d.notes.append(f"{dropped.size} rows using {_frame_count(d)} glitched frame(s) left out of training and "
                       "validation (glitches='drop')")
    elif len(d.glitched):
        d.notes.append(f"{_frame_count(d)} glitched frame(s) kept in the training and validation rows "
                       "(glitches='keep')")
    if d.split_by_trajectory and (d.tracks is not None or d.t is None):  # the share of the rows used
        _note_track_split(d, units, by_source, val // n_pts, val.size / (train.size + val.size), val_fraction)
    oob_blocks = None
    if validation == "out_of_bag":
        # blocks: whole tracks (or trajectories) where validation holds them out; tracks rather than their
        # source trajectories where those are too few to bootstrap
        blocks_of = units if units is not None and np.unique(units).size >= MIN_BLOCKS else d.tracks
        oob_blocks = row_blocks(M, n_pts, by_trajectory=d.split_by_trajectory, tracks=blocks_of)
        if dropped.size:
            oob_blocks = [b for b in (np.setdiff1d(b, dropped) for b in oob_blocks) if b.size]
        require_blocks(oob_blocks)  # before any network trains
    # rows each drift member trains on (out of bag: a resample of all of them), for the update counts
    n_drift_rows = M * n_pts if oob_blocks is not None else train.size
    min_rows = 10 * dim * (dim + 1)
    if train.size < max(min_rows, 50):  # first: on a handful of points every other check misleads
        left_out = f" and {dropped.size} rows using glitched frames left out" if dropped.size else ""
        raise ValueError(f"too few points for the chosen network: {train.size} training rows "
                         f"(need at least {max(min_rows, 50)}, with val_fraction={val_fraction} held out{left_out}); "
                         "pass longer or more trajectories")
    # a batch of millions of rows repeats them, for minutes per update and gigabytes of indices
    check_batch_size(ds.batch, n_drift_rows, "rows (drift_settings)")
    check_batch_size(dd.batch, train.size, "rows (diffusion_settings)")
    in_dim = dim * (2 if under else 1) + (0 if d.t is None else 1 if period is None else 2 * time_harmonics)
    _check_least_squares_sizes(in_dim, dim, train.size, M * n_pts, drift_base,
                               diffusion_base == "quadratic" and not homogeneous_diffusion, method == "bbb",
                               d.t is not None and period is not None)
    # stochinfer.simulate output recorded every < 5 integration steps: not samples of continuous motion
    coarse_record = d.integration is not None and d.integration[1] < 5
    if under and corrections and coarse_record:
        _warn_coarse_integration(*d.integration)
    if noise_check:  # before any training: a coordinate without noise makes D singular
        if under:
            _check_underdamped(x_checks, noisy, d.dt, noiseless)
        else:
            _check_noisy(x_checks, noisy, ms, noiseless)
    if preset == "reference":  # epochs of the training rows (a bootstrap resample has as many)
        if drift_settings is None:
            ds = _reference_schedule(ds, REFERENCE_EPOCHS[0], n_drift_rows)
        if diffusion_settings is None:
            dd = _reference_schedule(dd, REFERENCE_EPOCHS[1], train.size)

    # normalisation from training points only (methods.md §3.3)
    flat_x = x.reshape(M * L, dim)
    point_of_row = (np.arange(M * n_pts) // n_pts) * L + np.arange(M * n_pts) % n_pts
    mu_x, s_x = _standardise(flat_x, point_of_row[train])
    xt = (x - mu_x) / s_x  # (M, L, d)
    norm = {"mu_x": mu_x, "s_x": s_x, "noisy": noisy}
    if under:
        v = np.diff(xt, axis=1) / d.dt            # v̂_i = (x̃_{i+1} − x̃_i)/Δt, (M, L−1, d)
        # states (x̃_{i+1}, v̂_i), i < L − 2: the label Δv̂_i is a second difference centred on x̃_{i+1}.
        # methods.md §3.3's x̃_i puts the force at the wrong position by v̂Δt, a friction error of
        # −Δt ∂F/∂x: an oscillator's γ̂ = γ + (5/4)ω²Δt after the (F − F_r)/4 correction (ω = 10, γ = 2,
        # Δt = 0.01: 3.25 instead of 2.0); centred, 2.01 (bench/RESULTS.md, "Centred positions")
        z_x, z_v = xt[:, 1:-1], v[:, :-1]
        label = (v[:, 1:] - v[:, :-1]).reshape(-1, dim)  # Δv̂_i
        vr = z_v.reshape(-1, dim)
        mu_v, s_v = _standardise(vr, train)
        norm.update(mu_v=mu_v, s_v=s_v)
        positions = z_x.reshape(-1, dim)
        inputs = [positions, (vr - mu_v) / s_v]
        shifted = [positions, ((v[:, 1:].reshape(-1, dim)) - mu_v) / s_v]  # the same position, v̂_{i+1}
    elif robust:
        # localisation noise η: the increment after the input's point carries no η of the input, so the
        # drift label Δx̃_{j+1} on x̃_j is free of the −σ² coupling that inflates the stiffness; the
        # diffusion label Δ_{j+1}Δ_{j+1}ᵀ + Δ_{j+1}Δ_{j+2}ᵀ + Δ_{j+2}Δ_{j+1}ᵀ has the noise's +2σ² and −σ²
        # −σ² cancel (Vestergaard et al. 2014). A trap with 10 nm noise (tests/test_langevin_localisation.py):
        # k 19.9 and D 0.201 from Δx̃_j, 9.7 and 0.100 so (truth 10, 0.1)
        inputs = [xt[:, :-3].reshape(-1, dim)]
        label = (xt[:, 2:-1] - xt[:, 1:-2]).reshape(-1, dim)  # Δx̃_{j+1}
        label_next = (xt[:, 3:] - xt[:, 2:-1]).reshape(-1, dim)  # Δx̃_{j+2}
        shifted = None
    else:
        inputs = [xt[:, :-1].reshape(-1, dim)]
        label = np.diff(xt, axis=1).reshape(-1, dim)  # Δx̃_i
        shifted = None
    if d.t is not None:
        first = 1 if under else 0  # the time of each row's position input
        tt = np.asarray(d.t, dtype=np.float64)[:, first:first + n_pts].reshape(-1)
        norm["t_range"] = [float(tt.min()), float(tt.max())]  # all recorded rows: simulate's default t0 and range
        if period is None:
            mu_t, s_t = _standardise(tt[:, None], train)
            norm.update(mu_t=mu_t[0], s_t=s_t[0])
        else:
            norm.update(time_period=period, time_harmonics=time_harmonics)
        inputs.append(time_inputs(tt, norm))
        if shifted is not None:
            shifted.append(inputs[-1])  # the same position, hence time
    X = np.concatenate(inputs, axis=1)
    assert X.shape[1] == in_dim, (X.shape, in_dim)  # the size checks above counted these inputs
    fit_rows = train[:: max(1, train.size // 20_000)]  # training rows for the linear fits of the corrections

    # underdamped labels Δv̂ carry 1/time; the networks train on Δv̂ / v_unit, unitless as the overdamped
    # Δx̃, with prediction F̃Δt / v_unit: the fit term's balance with the prior (KL) and Adam's steps are
    # then the same in any unit of time (the field F̃ is unchanged). Measured in dt = 0.01 vs 1 time
    # units, Van der Pol drift R² was 0.925 vs 0.18 without it (bench/RESULTS.md)
    v_unit = float(np.sqrt(np.mean(np.square(norm["s_v"])))) if under else 1.0
    drift_label = label / v_unit
    common = dict(hidden=hidden, layers=layers, n_bayes=n_bayes, method=method, n_members=n_members,
                  bootstrap=bootstrap, dtype=dtype, n_threads=n_threads)
    nets, hist = {}, {}
    # drift: field F̃ = raw · scale + mean, prediction F̃ Δt
    mean_f, scale_f = _drift_output_scale(X[train], label[train] / d.dt)
    lin_base = drift_base != "none"
    drift, hist["drift"] = _train_drift(
        lambda deg: FieldNetwork("affine", in_dim, dim, mean_f, scale_f, d.dt / v_unit, seed=net_seed["drift"],
                                 linear_base=lin_base, base_degree=deg, **common),
        drift_base, X, drift_label, train, val, ds, net_seed["drift"], progress, "drift", refit, oob_blocks)
    nets["drift"] = drift
    ds, dd = _after_interrupt(hist["drift"], ds, dd)
    quiet = [i for i in range(dim) if i not in noisy]
    if quiet and not under and separate_noiseless_drift:
        dq = ds if ds.n_iter is not None else replace(ds, n_iter=5 * ds.resolved_n_iter(n_drift_rows))
        drift_q, hist["drift_noiseless"] = _train_drift(
            lambda deg: FieldNetwork("affine", in_dim, len(quiet), mean_f[quiet], scale_f[quiet], d.dt,
                                     seed=net_seed["drift_noiseless"], linear_base=lin_base, base_degree=deg,
                                     **common),
            drift_base, X, np.ascontiguousarray(label[:, quiet]), train, val, dq, net_seed["drift_noiseless"],
            progress, "drift (noiseless)", refit, oob_blocks, keep_unvalidated=True)
        nets["drift_noiseless"] = drift_q
        ds, dd = _after_interrupt(hist["drift_noiseless"], ds, dd)
    if under and corrections:
        Xs = np.concatenate(shifted, axis=1)
        drift_r = FieldNetwork("affine", in_dim, dim, mean_f, scale_f, d.dt / v_unit, seed=net_seed["drift_shifted"],
                               linear_base=lin_base, base_degree=drift.base_degree, **common)
        hist["drift_shifted"] = drift_r.fit(Xs, drift_label, train, val, ds, seed=net_seed["drift_shifted"],
                                            progress=progress, desc="drift (shifted)", refit=refit,
                                            oob_blocks=oob_blocks, keep_unvalidated=True)
        nets["drift_shifted"] = drift_r
        ds, dd = _after_interrupt(hist["drift_shifted"], ds, dd)
        if drift_correction == "linear":
            norm["fr_linear"] = _linear_fr_correction(drift, drift_r, X[fit_rows], seed)

    # diffusion: labels tril(ΔΔᵀ) (minus the frozen drift's part), field D̃ = L Lᵀ, prediction 2D̃Δt
    nd = len(noisy)
    y_d = tril_outer(label[:, noisy])
    if robust:  # the cross terms of consecutive increments cancel the noise's variance (above)
        y_d = y_d + tril_outer(label[:, noisy], label_next[:, noisy]) + tril_outer(label_next[:, noisy],
                                                                                    label[:, noisy])
        _warn_noise_only(label[train][:, noisy], label_next[train][:, noisy], noisy, d.notes)
    f = drift.samples(X, 0, 0).mean(axis=0)[:, noisy] * d.dt  # ensembles: the members' mean
    _check_drift_trained(f[train], label[train][:, noisy])  # not at dropped glitches (review, session 32)
    if not under and not measurement_noise and not robust:  # (noise the user adds on purpose is known)
        _warn_measurement_noise(label[:, noisy] - f, train, n_pts, noisy, d.dt, s_x, d.notes)
    if diff_use_drift:  # E[ΔΔᵀ] holds (FΔt)(FΔt)ᵀ once, the robust label three times
        y_d = y_d - (3.0 if robust else 1.0) * tril_outer(f)
    if second_order_diffusion and not under:  # the drift's gradient in E[ΔΔᵀ], Δt²(JD + DJᵀ) (ito_taylor.py)
        J = field_jacobian(lambda z: drift.samples(z, 0, 0).mean(axis=0), X, noisy, noisy)
        share = gradient_term_share(d.integration)  # simulate's Euler output carries 1 − 1/n of it
        y_d = remove_gradient_bias(y_d, J, d.dt, (share + 2) / 2 if robust else share / 2)
    pairs = tril_pairs(nd)
    local_rho = under and corrections and friction_correction
    if local_rho:  # finite-γΔt factor at each state's own friction, its estimate unbiased (langevin/friction.py)
        gamma_i = local_friction(_corrected_drift(drift, drift_r, norm.get("fr_linear")), X, dim, s_v)[:, noisy]
        gamma_i = unbiased_friction(gamma_i, d.dt)
        rho = finite_dt_bias(np.minimum(gamma_i * d.dt, 0.5))
        y_d = y_d / np.column_stack([np.sqrt(rho[:, i] * rho[:, j]) for i, j in pairs])
    # localisation noise, unless added on purpose or the record is a coarse integration (warned above)
    if under and corrections and not measurement_noise and not coarse_record:
        gamma = (np.mean(gamma_i[train], axis=0) if local_rho else unbiased_friction(mean_friction(
            _corrected_drift(drift, drift_r, norm.get("fr_linear")), X[fit_rows], dim, s_v)[noisy], d.dt))
        _warn_underdamped_measurement_noise(label[:, noisy] - f, train, n_pts, noisy, d.dt, gamma * d.dt, s_x,
                                            d.notes)
    diag = [k for k, (i, j) in enumerate(pairs) if i == j]
    # the labels' natural unitless size: the mean square of the increments in the drift's label units
    # (Δx̃, or Δv̂ / v_unit), whatever the unit of time
    kappa = float(np.mean(y_d[train][:, diag])) / v_unit**2
    use_base = diffusion_base == "quadratic" and not homogeneous_diffusion
    if use_base:  # the network learns D / b(inputs) (langevin/diffusion_base.py)
        rate = y_d[:, diag].mean(axis=1) / (2 * d.dt)
        coeffs, floor = fit_base(X, rate, train)
        trend = evaluate_base(X, coeffs, floor)
        # labels far beyond the trend (an honest one passes CAP_RATIO·b with probability < 10⁻⁶) are outliers:
        # capped there for the network too, whose squared-error loss a glitched frame would otherwise set
        cap = cap_factor(rate, trend)
        capped = int(np.count_nonzero(cap[np.union1d(train, val)] < 1))  # of the rows used (not glitches dropped)
        if capped:
            y_d = y_d * cap[:, None]
            d.notes.append(f"diffusion: {capped} labels beyond {CAP_RATIO:g} times the "
                           "fitted trend (outliers: a glitched frame or a jump?) were capped there")
        y_d = y_d / trend[:, None]
        norm.update(diffusion_base=coeffs, diffusion_base_floor=floor)
        if method == "bbb" and n_bayes > 0:  # its posterior samples draw the trend too (ensembles: the
            # members' spread; no Bayesian layer: a point estimate, as for the drift's base)
            norm["diffusion_base_chol"] = base_covariance_chol(X, rate, train, coeffs, floor)
    # unitless labels, as the drift's: the network's field is D̃ / u (u the mean diagonal rate of the
    # labels so far; ≈ 1 with the base), its labels κ·ΔΔᵀ / (2Δt·u) and its prediction κ·field. Before,
    # they carried the unit of time, and the fit term's balance with the prior (KL), Adam's ε and the
    # softplus of the Cholesky diagonal depended on the units the data came in (bbb's D moved by 10%
    # between dt = 0.01 and 1). The read-out multiplies by u (norm["diffusion_unit"])
    d_bar = tril_to_matrix(y_d[train].mean(axis=0), nd) / (2 * d.dt)
    d_unit = float(np.mean(np.diag(d_bar)))
    ok = np.isfinite(d_unit) and d_unit > 0 and np.isfinite(kappa) and kappa > 0
    d_unit, kappa = (d_unit, kappa) if ok else (1.0, 1.0)  # no noise at all: refused just below
    y_d = y_d * (kappa / (2 * d.dt * d_unit))
    d_bar = d_bar / d_unit
    norm["diffusion_unit"] = d_unit
    try:
        L0 = np.linalg.cholesky(d_bar)
        if np.min(np.diag(L0)) ** 2 < 1e-8 * np.max(np.diag(d_bar)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        ev = np.linalg.eigvalsh(d_bar)
        if glitches == "keep" and len(d.glitched):  # their labels (less a drift fitted to them) can do this
            raise ValueError(f"the data's mean diffusion matrix is not positive definite (eigenvalues {ev}) with "
                             f"the {_frame_count(d)} glitched frame(s) kept (glitches='keep'): pass glitches='drop' "
                             "(the default) or remove them") from None
        raise ValueError(f"the data's mean diffusion matrix is singular (eigenvalues {ev}): some directions "
                         "carry no noise. Pass noiseless=[...] (command line: --noiseless I ...) for coordinates known "
                         "to be noiseless; "
                         "otherwise this estimator needs noise in every component") from None
    mean_out, scale_out = [], []
    diag_scale = float(np.mean(np.diag(L0)))
    for i, j in pairs:
        if i == j:
            mean_out.append(float(np.log(np.expm1(L0[i, i]))))  # softplus⁻¹: raw 0 gives the mean D
            scale_out.append(0.5)
        else:
            mean_out.append(float(L0[i, j]))
            scale_out.append(0.5 * diag_scale)
    diff = FieldNetwork("cholesky", 0 if homogeneous_diffusion else in_dim, nd, np.array(mean_out),
                        np.array(scale_out), kappa, seed=net_seed["diffusion"], **common)
    if use_base:
        diff.start_at_mean()
    Xd = X[:, :0] if homogeneous_diffusion else X
    # the split even with validation='out_of_bag': out of bag, the diffusion members agreed more closely and
    # their bands covered less (against the same drift, nonlinear 0.86 -> 0.77, Van der Pol with
    # state-dependent D 0.82 -> 0.71 over six datasets; bench/RESULTS.md, "Out-of-bag validation")
    hist["diffusion"] = diff.fit(Xd, y_d, train, val, dd, seed=net_seed["diffusion"], progress=progress,
                                 desc="diffusion", refit=refit, keep_unvalidated=True)
    nets["diffusion"] = diff
    norm["diffusion_factor"] = np.full(nd, 1.5 if (under and corrections) else 1.0)

    # held-out states in physical units, for report()
    if under:
        xs = x[:, 1:-1].reshape(-1, dim)[val]  # the rows' states (x_{i+1}, v̂_i)
        vs = (np.diff(x, axis=1)[:, :-1] / d.dt).reshape(-1, dim)[val]
        val_states = np.concatenate([xs, vs], axis=1)
    else:
        val_states = x[:, :-span].reshape(-1, dim)[val]
    val_t = tt[val] if d.t is not None else None
    kl = (ds.kl_gradient if ds.kl_gradient == dd.kl_gradient
          else f"{ds.kl_gradient} (drift), {dd.kl_gradient} (diffusion)")
    options = dict(method=method, kl_gradient=kl, corrections=corrections, drift_base=drift_base,
                   drift_base_degree={k: n.base_degree for k, n in nets.items() if n.linear_base},
                   refit=bool(refit), separate_noiseless_drift="drift_noiseless" in nets,
                   drift_correction=drift_correction if (under and corrections) else None,
                   friction_correction=bool(under and corrections and friction_correction), preset=preset,
                   homogeneous_diffusion=homogeneous_diffusion, diff_use_drift=diff_use_drift,
                   second_order_diffusion=bool(second_order_diffusion and not under),
                   diffusion_base="quadratic" if use_base else "none",
                   noiseless=[i for i in range(dim) if i not in noisy], localisation_noise=localisation_noise,
                   n_posterior=n_posterior if method == "bbb" else 1,  # ensembles: the members are the samples
                   measurement_noise=measurement_noise, seed=seed, val_fraction=float(val_fraction),
                   validation=validation, glitches=glitches, gaps=gaps,
                   train_s=time.perf_counter() - t_start)
    fit = LangevinFit(d, nets, norm, options, hist, (val_states, val_t), n_threads)
    if options["friction_correction"]:
        # γ̂ of the drift as trained (measured before norm["friction"] switches on its own correction), 5γΔt/12
        # low (langevin/friction.py): the field assembly adds the friction it lacks, γ − γ̂
        trained = mean_friction(lambda r: fit._drift_from_inputs(r, 0, seed).mean(axis=0) / s_x, X[fit_rows], dim,
                                s_v)
        gamma = unbiased_friction(trained, d.dt)
        if np.max(gamma * d.dt) > 0.5:
            warnings.warn(f"friction × dt = {np.round(gamma * d.dt, 3).tolist()} > 0.5: the velocity relaxes "
                          "within a few recorded steps, so finite-difference velocities and the finite-γΔt "
                          "corrections are unreliable; record more often", stacklevel=2)
        fit.norm["friction"] = gamma  # the labels already carry the local finite-γΔt factor: D keeps 3/2
        fit.norm["friction_bias"] = gamma - trained
    return fit
