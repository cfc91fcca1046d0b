"""Classic entropy-production baselines (methods.md §1.6): plug-in (histogram KLD),
binned plug-in, block KLD (Roldán–Parrondo 2012) and the short-time TUR lower bound.

All are numpy-only, vectorised, and accumulate in float64 (k_B = 1). Each returns a
:class:`BaselineEstimate` with units 'per_step' (k_B per step / jump) or 'per_time'
(k_B per unit time of `dt`).

Standard errors (all functions): a delete-one-group jackknife,
se² = (G − 1)/G · Σ_g (θ_(−g) − θ̄)², over contiguous groups of the data. With
n_traj ≥ 20 the groups are 20 contiguous sets of whole trajectories; with fewer
trajectories each trajectory is cut into ⌈20/n_traj⌉ contiguous time blocks
(G = n_traj·⌈20/n_traj⌉ ≥ 20 groups). Time blocks assume they are much longer than
the correlation time of the data. With fewer than 2 groups, stderr is None.

Bias: the histogram estimators (plug-in, binned plug-in, block KLD) are biased upwards
by about (pairs seen)/(2N) for N counts: even equilibrium data give a positive value.
details['bias_corrected'] is the jackknife's bias-corrected value G·θ − (G − 1)·θ̄_(−g),
which removes that 1/N term (a reversible 30-state chain, truth 0, 10⁵ transitions:
0.0079 ± 0.0008 → −0.0002, tests/test_ep_baselines.py); it does not restore pairs seen
one way only, so an undersampled histogram stays biased.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np

from .._validate import check_output_fits, finite_array, positive_float, positive_int, real_array, user_stacklevel

__all__ = ["BaselineEstimate", "plugin_discrete", "plugin_binned", "block_kld", "tur_bound"]

_N_GROUPS = 20  # jackknife groups (see module docstring)


@dataclass(frozen=True)
class BaselineEstimate:
    """Result of a baseline EP estimator.

    value: the estimate (k_B per step or per unit time, see `units`); stderr: jackknife
    standard error or None; kind: 'estimate' or 'bound' (a lower bound on the EP rate);
    method: 'plugin', 'plugin_binned', 'block_kld' or 'tur'; details: counts and settings.
    """

    value: float
    stderr: Optional[float]
    units: str
    kind: str
    method: str
    details: dict = field(default_factory=dict)

    def __str__(self) -> str:
        label = {"plugin": "Plug-in estimate", "plugin_binned": "Binned plug-in estimate",
                 "block_kld": f"Block-KLD estimate (n={self.details.get('n')})",
                 "tur": "TUR lower bound"}.get(self.method, f"{self.method} {self.kind}")
        err = "" if self.stderr is None else f" ± {self.stderr:.2g}"
        unit = "k_B/step" if self.units == "per_step" else "k_B/time"
        fixed = self.details.get("bias_corrected")
        fixed = "" if fixed is None else f" (jackknife bias-corrected {fixed:.4g})"
        return f"{label} {self.value:.4g}{err} {unit}{fixed}"


# ---------------------------------------------------------------------------- helpers

def _tokens(tokens) -> np.ndarray:
    arr = np.asarray(tokens)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"tokens must be an integer array, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"tokens must have shape (n_traj, L) or (L,), got {np.shape(tokens)}")
    if arr.shape[0] < 1 or arr.shape[1] < 2:
        raise ValueError(f"tokens: need at least one trajectory of L >= 2 tokens, got shape {arr.shape}")
    if arr.min() < 0:
        raise ValueError("tokens must be non-negative state ids")
    if arr.dtype.kind == "u" and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"tokens: state ids must be below 2**63, got {arr.max()}; relabel the states "
                         "(np.unique(tokens, return_inverse=True))")
    return arr.astype(np.int64)


def _positions(x) -> np.ndarray:
    x = finite_array("x", x)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (n_traj, L, d) (use x[None] for one trajectory), got {x.shape}")
    if x.shape[0] < 1 or x.shape[1] < 2 or x.shape[2] < 1:
        raise ValueError(f"x: need n_traj >= 1, L >= 2 time points and d >= 1, got shape {x.shape}")
    return x


def _rectangles(n_traj: int, n_t: int) -> list:
    """Jackknife groups as (i0, i1, t0, t1): trajectories i0:i1, step/window starts t0:t1.
    n_t is the number of transitions per trajectory; listed in row-major (traj, time) order."""
    if n_traj >= _N_GROUPS:
        cuts = np.linspace(0, n_traj, _N_GROUPS + 1).round().astype(int)
        return [(cuts[g], cuts[g + 1], 0, n_t) for g in range(_N_GROUPS)]
    b = min(-(-_N_GROUPS // n_traj), n_t)
    cuts = np.linspace(0, n_t, b + 1).round().astype(int)
    return [(i, i + 1, cuts[k], cuts[k + 1]) for i in range(n_traj) for k in range(b)]


def _flat_bounds(rects: list, n_traj: int, m: int) -> np.ndarray:
    """Start/stop indices of each group in a row-major flattened (n_traj, m) observation
    array (observation (i, t) = start t in trajectory i; groups are contiguous there)."""
    label = np.empty((n_traj, m), dtype=np.int32)  # m <= n_t: every start lies in one group
    for g, (i0, i1, t0, t1) in enumerate(rects):
        label[i0:i1, t0:t1] = g
    return np.searchsorted(label.ravel(), np.arange(len(rects) + 1))


def _jackknife_groups(loo: np.ndarray) -> Optional[int]:
    """The number of groups G of delete-one-group jackknife values, or None when they
    cannot give a jackknife (fewer than 2, or not all finite)."""
    g = len(loo)
    return g if g >= 2 and np.all(np.isfinite(loo)) else None


def _jackknife(loo: np.ndarray) -> Optional[float]:
    """Delete-one-group jackknife standard error from the leave-one-out values."""
    g = _jackknife_groups(loo)
    return None if g is None else float(math.sqrt((g - 1) / g * np.sum((loo - loo.mean()) ** 2)))


def _jackknife_corrected(value: float, loo: np.ndarray) -> Optional[float]:
    """The delete-one-group jackknife's bias-corrected value G·θ − (G − 1)·mean(θ_(−g))
    (module docstring), or None with fewer than 2 groups."""
    g = _jackknife_groups(loo)
    return None if g is None else float(g * value - (g - 1) * loo.mean())


class _PairKLD:
    """KLD Σ_c N_c ln(N_c/N_{c^R}) / N over observation codes c whose reverse c^R is also
    seen (or all codes, with a pseudo-count). Sparse codes are made dense with np.unique,
    so memory is O(observations), never O(cells²)."""

    def __init__(self, fwd: np.ndarray, rev: np.ndarray, bounds: np.ndarray,
                 pseudo_count: float = 0.0, n_cells: float = 0.0):
        n = fwd.size
        both = np.concatenate([fwd, rev])
        top = int(both.max()) + 1
        if top <= max(4 * n, 2**20):  # small code space: use the codes directly (O(N), no sort)
            inv, self.m = both, top
        else:
            uniq, inv = np.unique(both, return_inverse=True)
            inv, self.m = inv.ravel(), uniq.size
        self.f, r = inv[:n], inv[n:]
        self.rev = np.arange(self.m, dtype=np.int64)  # codes never seen: harmless self-map
        self.rev[self.f], self.rev[r] = r, self.f  # every union code has its reverse in the union
        self.counts = np.bincount(self.f, minlength=self.m).astype(np.float64)
        self.bounds, self.pc, self.n_cells = bounds, pseudo_count, n_cells

    def _value(self, counts: np.ndarray) -> float:
        a = counts + self.pc
        b = a[self.rev]
        ok = (a > 0) & (b > 0)
        total = counts.sum() + self.pc * self.n_cells
        return float(np.sum(a[ok] * np.log(a[ok] / b[ok])) / total) if total > 0 else 0.0

    def value(self) -> float:
        return self._value(self.counts)

    def loo(self) -> np.ndarray:
        """Leave-one-group-out values, one per group."""
        return np.array([self._value(self.counts - np.bincount(self.f[s:e], minlength=self.m))
                         for s, e in zip(self.bounds[:-1], self.bounds[1:])])

    def seen_both(self) -> int:
        return int(np.sum((self.counts > 0) & (self.counts[self.rev] > 0)))


def _word_codes(tok: np.ndarray, n: int):
    """Integer codes of every n-symbol sliding window and of its reversal (same code space)."""
    k = int(tok.max()) + 1
    n_traj, length = tok.shape
    m = length - n + 1
    both = np.concatenate([tok, tok[:, ::-1]])  # windows of the reversed path = reversed windows
    c = both[:, :m].copy()
    for j in range(1, n):
        if c.max() >= (2**62) // k:  # re-rank before the codes could overflow int64
            c = np.unique(c.ravel(), return_inverse=True)[1].reshape(c.shape).astype(np.int64)
        c = c * k + both[:, j:j + m]
    # the reversal of forward window t is window m-1-t of the reversed path
    return c[:n_traj].ravel(), c[n_traj:, ::-1].ravel()


#: below this many transitions per visited cell, plug-in estimates warn
_MIN_COUNTS_PER_CELL = 10


def _warn_undersampled(estimator: str, n_counts: int, n_cells: int, cells: str,
                       counted: str = "transitions", n_pairs: int = 0) -> None:
    """Plug-in histograms need many counts per cell and per pair of cells (n_pairs:
    distinct pairs a → b, a ≠ b, observed). With few, the counts' noise in pairs seen
    both ways adds a positive bias (about 1/N: 85 ± 12 on 10⁴ equilibrium transitions,
    user trial, session 27), and pairs seen one way only are skipped (towards 0)."""
    if n_counts < _MIN_COUNTS_PER_CELL * max(n_cells, n_pairs):
        per = f"{n_cells} visited {cells}" + (f" and {n_pairs} distinct pairs" if n_pairs > n_cells else "")
        warnings.warn(f"{estimator}: {n_counts} {counted} over {per} (< {_MIN_COUNTS_PER_CELL} per "
                      f"{cells[:-1] if n_pairs <= n_cells else 'pair'}): the histogram is undersampled and the "
                      "estimate and its stderr are unreliable (biased, usually upwards: even equilibrium data give "
                      "a positive value; the stderr does not include the bias, and details['bias_corrected'] removes "
                      "only part of it here); use more data"
                      + {"cells": " or fewer bins", "words": " or shorter words (smaller n)"}.get(cells, ""),
                      RuntimeWarning, stacklevel=user_stacklevel())


def _distinct_pairs(a: np.ndarray, b: np.ndarray, k: int) -> int:
    """Distinct observed transitions a → b between different cells (dense ids < k)."""
    moved = a != b
    return int(np.unique(a[moved] * k + b[moved]).size)


# ------------------------------------------------------------------------- estimators

def plugin_discrete(tokens: np.ndarray, pseudo_count: float = 0.0) -> BaselineEstimate:
    """Plug-in (histogram KLD) EP per step of a Markov token chain, k_B per step.

    tokens: int array (n_traj, L) or (L,), non-negative state ids. Transition counts
    N_ij over all consecutive pairs of every trajectory (self-transitions are counted
    in the total and contribute 0); the estimate is Σ_ij N_ij ln(N_ij/N_ji) / Σ_ij N_ij.
    With pseudo_count = 0 (default), pairs never seen in the reverse direction
    (N_ji = 0) are skipped. pseudo_count = c > 0 adds c to each of the K² cells
    (K = max token + 1; the reference code uses c = 1), so no pair is skipped and the
    denominator becomes Σ N_ij + c K². Consistent only for data that are Markov in
    the tokens (full information); stderr: jackknife (module docstring).
    """
    tok = _tokens(tokens)
    pc = positive_float("pseudo_count", pseudo_count, allow_zero=True)
    k = int(tok.max()) + 1
    # pair codes a·K + b on dense labels: with the raw ids, K² overflows int64 beyond ids ~3·10⁹
    labels, dense = np.unique(tok, return_inverse=True)
    dense = dense.reshape(tok.shape).astype(np.int64)
    a, b = dense[:, :-1].ravel(), dense[:, 1:].ravel()
    n_traj, n_t = tok.shape[0], tok.shape[1] - 1
    rects = _rectangles(n_traj, n_t)
    kd = labels.size
    kld = _PairKLD(a * kd + b, b * kd + a, _flat_bounds(rects, n_traj, n_t), pc, float(k) ** 2)
    value, loo = kld.value(), kld.loo()
    _warn_undersampled("plugin", int(a.size), int(kd), "states", n_pairs=_distinct_pairs(a, b, kd))
    return BaselineEstimate(
        value, _jackknife(loo), "per_step", "estimate", "plugin",
        {"n_transitions": int(a.size), "n_states": k, "pseudo_count": pc,
         "pairs_seen_both_ways": kld.seen_both(), "n_groups": len(rects),
         "bias_corrected": _jackknife_corrected(value, loo)})


def plugin_binned(x: np.ndarray, dt: float, n_bins: int = 20, max_cells: int = 10**6) -> BaselineEstimate:
    """Binned plug-in EP rate of overdamped (even-parity) trajectories, k_B per unit time.

    x: float array (n_traj, L, d); dt: time between samples (> 0). Each coordinate is
    cut into n_bins equal bins between its observed min and max (n_bins**d cells);
    transitions between cells a → b are counted (staying in a cell counts as a
    transition contributing 0), and σ ≈ Σ_ab N_ab ln(N_ab/N_ba) / (N_transitions · dt)
    over cell pairs seen in both directions. Coarse-graining and finite samples bias the
    result (either way); it is a crude baseline, not a consistent estimator of σ.
    Refuses (ValueError) when n_bins**d > max_cells: use NEEP in high dimension.
    Memory is O(transitions). stderr: jackknife (module docstring) with the bin edges
    held fixed, so it omits the scatter from the data-dependent min/max and the bias.
    """
    x = _positions(x)
    dt = positive_float("dt", dt)
    n_bins = positive_int("n_bins", n_bins, minimum=2)
    max_cells = positive_int("max_cells", max_cells)
    n_traj, length, d = x.shape
    cells = n_bins ** d  # Python int: no overflow
    if cells > max_cells:
        raise ValueError(
            f"plugin_binned: n_bins**d = {n_bins}**{d} ≈ 10^{d * math.log10(n_bins):.1f} cells exceeds "
            f"max_cells={max_cells} "
            f"(d = {d} from x.shape[2]); histogram plug-in is infeasible in this dimension: use a NEEP "
            f"estimator (or lower n_bins / raise max_cells)")
    lo, hi = x.min(axis=(0, 1)), x.max(axis=(0, 1))
    span = np.where(hi > lo, hi - lo, 1.0)
    idx = np.clip(((x - lo) / span * n_bins).astype(np.int64), 0, n_bins - 1)
    cell = idx @ (n_bins ** np.arange(d, dtype=np.int64))  # (n_traj, L), < max_cells
    # dense cell ids keep pair codes < (distinct cells)² whatever n_bins**d is
    _, dense = np.unique(cell.ravel(), return_inverse=True)
    dense = dense.reshape(cell.shape).astype(np.int64)
    k = int(dense.max()) + 1
    a, b = dense[:, :-1].ravel(), dense[:, 1:].ravel()
    rects = _rectangles(n_traj, length - 1)
    kld = _PairKLD(a * k + b, b * k + a, _flat_bounds(rects, n_traj, length - 1))
    value, loo = kld.value() / dt, kld.loo() / dt
    _warn_undersampled("plugin_binned", int(a.size), k, "cells", n_pairs=_distinct_pairs(a, b, k))
    return BaselineEstimate(
        value, _jackknife(loo), "per_time", "estimate", "plugin_binned",
        {"n_transitions": int(a.size), "n_bins": n_bins, "dim": d, "n_cells": cells,
         "cells_visited": k, "pairs_seen_both_ways": kld.seen_both(), "dt": dt, "n_groups": len(rects),
         "bias_corrected": _jackknife_corrected(value, loo)})


def block_kld(tokens: np.ndarray, n: int) -> BaselineEstimate:
    """Block KLD (Roldán–Parrondo 2012) EP estimate for (partially observed) token paths, k_B per step.

    D_n = Σ_w p(w) ln[p(w)/p(w^R)] over words w of n symbols (sliding windows within
    each trajectory; words whose reversal is never seen are skipped). value is the
    increment D_n − D_{n−1} (D_1 = 0), the per-step estimate; details hold D_n,
    D_{n−1}, their jackknife stderrs, and n. For a Markov chain D_n = (n − 1)·σ_step
    exactly; for hidden/coarse-grained data D_n − D_{n−1} converges (n → ∞, enough data)
    to the KLD rate of the observed process, itself a lower bound on the full EP per
    step. Finite-sample bias grows fast with n (≈ K^n words; positive, and not in
    stderr): compare several n. stderr: jackknife of the increment (module docstring).
    """
    tok = _tokens(tokens)
    n = positive_int("n", n, minimum=2)
    n_traj, length = tok.shape
    if n > length:
        raise ValueError(f"n must be <= L = {length} (the trajectory length), got {n}")
    rects = _rectangles(n_traj, length - 1)

    def d(word_len: int):
        if word_len == 1:
            return 0.0, np.zeros(len(rects)), 0
        fwd, rev = _word_codes(tok, word_len)
        if word_len == n:  # the longer words set the sampling: few counts per word give 0 ± 0 or negative values
            _warn_undersampled("block_kld", int(fwd.size), int(np.unique(fwd).size), "words", counted="words")
        kld = _PairKLD(fwd, rev, _flat_bounds(rects, n_traj, length - word_len + 1))
        return kld.value(), kld.loo(), kld.seen_both()

    dn, loo_n, seen = d(n)
    dm, loo_m, _ = d(n - 1)
    value = dn - dm
    return BaselineEstimate(
        value, _jackknife(loo_n - loo_m), "per_step", "estimate", "block_kld",
        {"n": n, "D_n": dn, "D_n_stderr": _jackknife(loo_n), "D_n_minus_1": dm,
         "D_n_minus_1_stderr": _jackknife(loo_m), "n_words": int(n_traj * (length - n + 1)),
         "words_seen_both_ways": seen, "n_groups": len(rects),
         "bias_corrected": _jackknife_corrected(value, loo_n - loo_m)})


def _linear_basis(xbar: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Currents x̄_i Δx_j (all i, j) and Δx_j per transition: (N, d² + d)."""
    n, d = dx.shape
    return np.concatenate([(xbar[:, :, None] * dx[:, None, :]).reshape(n, d * d), dx], axis=1)


def _quadratic_form(mu: np.ndarray, cov: np.ndarray, warn: bool) -> float:
    """μᵀ Σ⁻¹ μ; zero-variance and near-collinear currents are dropped (pseudo-inverse),
    which keeps a valid lower bound (the TUR holds for any subset of currents)."""
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    # relative to each current's own size, so coordinates in very different units all count
    keep = sd > 1e-12 * np.sqrt(sd ** 2 + mu ** 2)
    if not keep.any():  # no fluctuating current at all (e.g. constant x): no bound
        if warn:
            warnings.warn("tur_bound: all currents have zero variance; returning 0", RuntimeWarning,
                          stacklevel=user_stacklevel())
        return 0.0
    if warn and not keep.all():
        warnings.warn(f"tur_bound: {int((~keep).sum())} current(s) have (numerically) zero variance and are "
                      "dropped",
                      RuntimeWarning, stacklevel=user_stacklevel())
    m = mu[keep] / sd[keep]
    corr = cov[np.ix_(keep, keep)] / np.outer(sd[keep], sd[keep])  # scale-free: μᵀΣ⁻¹μ is invariant
    lam, u = np.linalg.eigh(corr)
    ok = lam > 1e-10 * lam.max()
    if warn and not ok.all():
        warnings.warn(f"tur_bound: current covariance is singular ({int((~ok).sum())} direction(s) "
                      f"dropped; pseudo-inverse used)", RuntimeWarning, stacklevel=user_stacklevel())
    proj = u[:, ok].T @ m
    return float(np.sum(proj ** 2 / lam[ok]))


def _check_current_moments(n_currents: int, n_groups: int, hint: str) -> None:
    """The K × K second moments of every jackknife group, and the working copies of the
    pooled and leave-one-out moments and their inverse, must fit."""
    check_output_fits((n_groups + 6, n_currents, n_currents), np.float64, hint)


def _check_enough_transitions(n_transitions: int, n_currents: int) -> None:
    """The K × K covariance of N ≤ K samples has rank ≤ N − 1 < K: no value at all."""
    if n_transitions <= n_currents:
        raise ValueError(f"x: {n_transitions} transitions for {n_currents} currents; the TUR needs many more "
                         "transitions than currents (its small-sample bias is ≈ 2K/(N·dt)): record longer or more "
                         "trajectories, or use a basis with fewer currents")


def tur_bound(x: np.ndarray, dt: float, basis: Union[str, Callable] = "linear") -> BaselineEstimate:
    """Short-time TUR lower bound on the EP rate, k_B per unit time (kind 'bound').

    x: float array (n_traj, L, d) of overdamped (even-parity) positions; dt > 0: time
    between samples (the data's time unit). Per transition, currents J_k(x̄, Δx) with
    x̄ = (x_t + x_{t+1})/2, Δx = x_{t+1} − x_t;
    basis 'linear' (default): x̄_i Δx_j for all i, j and Δx_j (d² + d currents; x̄ measured
    from the data's mean, details['origin'], which leaves the bound unchanged and keeps Σ
    well conditioned for coordinates far from 0), or a callable basis(xbar (N, d),
    dx (N, d)) -> (N, K). With μ = E[J] and Σ = Cov(J) pooled
    over all transitions, σ_TUR = (2/dt) μᵀ Σ⁻¹ μ ≤ σ (Manikandan–Gupta–Krishnamurthy
    2020; Van Vu–Vo–Hasegawa 2020), tight as dt → 0 for linear systems. Singular Σ is
    handled by a pseudo-inverse with a RuntimeWarning. With no true current the value
    is positive from noise alone, ≈ 2K/(N_eff·dt) for K currents. stderr: jackknife
    (module docstring); memory is O(transitions per group).
    """
    x = _positions(x)
    dt = positive_float("dt", dt)
    builtin = isinstance(basis, str)  # not by name: a user's function may be called `linear` too
    if builtin:
        if basis != "linear":
            raise ValueError(f"basis must be 'linear' or a callable basis(xbar, dx), got {basis!r}")
        fn, name = _linear_basis, "linear"
    elif callable(basis):
        fn, name = basis, getattr(basis, "__name__", "callable")
    else:
        raise TypeError(f"basis must be 'linear' or a callable, got {type(basis).__name__}")
    n_traj, length, d = x.shape
    rects = _rectangles(n_traj, length - 1)
    origin = np.zeros(d)
    if builtin:  # before any moment is built: the count first (it needs no memory at all)
        _check_enough_transitions(n_traj * (length - 1), d * d + d)
        _check_current_moments(d * d + d, len(rects), "the linear basis has d² + d currents for d = "
                               f"{d}; use NEEP in high dimension, or a callable basis with fewer currents")
        # x̄ about the data's mean: the currents change by multiples of the Δx_j currents, which leaves
        # the bound unchanged, but coordinates far from 0 no longer make Σ numerically singular
        origin = np.mean(x, axis=(0, 1), dtype=np.float64)
    ns, s1s, s2s, shift = np.zeros(len(rects)), None, None, None
    for g, (i0, i1, t0, t1) in enumerate(rects):  # per-group moment sums (loop over ≤ 38 groups, not transitions)
        seg = x[i0:i1, t0:t1 + 1]
        a, b = seg[:, :-1].reshape(-1, d), seg[:, 1:].reshape(-1, d)
        j = fn(0.5 * (a + b) - origin, b - a)
        # complex currents would lose their imaginary part, booleans or strings be read as numbers
        j = j if builtin else real_array(f"the currents of basis {name!r}", j)
        j = np.asarray(j, dtype=np.float64)
        if j.ndim != 2 or j.shape[0] != a.shape[0]:
            raise ValueError(f"basis must return an (N, K) array for N = {a.shape[0]} transitions, got {j.shape}")
        if shift is not None and j.shape[1] != shift.size:  # numpy would broadcast one column over K
            raise ValueError(f"basis {name!r} returned {j.shape[1]} currents for some transitions and {shift.size} "
                             "for others: it must return the same K currents (columns) for every call")
        if not np.all(np.isfinite(j)):
            raise ValueError("basis returned NaN or inf")
        if shift is None:
            if not builtin:  # its K is known now, from the first group's currents
                _check_enough_transitions(n_traj * (length - 1), j.shape[1])
                _check_current_moments(j.shape[1], len(rects), "use a basis with fewer currents")
            shift = j.mean(axis=0)  # moments about a common shift: avoids cancellation in Σ
            s1s, s2s = np.zeros((len(rects), j.shape[1])), np.zeros((len(rects), j.shape[1], j.shape[1]))
        j = j - shift
        ns[g], s1s[g], s2s[g] = j.shape[0], j.sum(axis=0), j.T @ j
    n_all, s1_all, s2_all = ns.sum(), s1s.sum(0), s2s.sum(0)
    k = s1_all.size

    def value(n, s1, s2, warn):
        if n < 2:
            return math.nan
        mu_s = s1 / n  # mean of the shifted currents
        cov = (s2 / n - np.outer(mu_s, mu_s)) * (n / (n - 1))
        return 2.0 / dt * _quadratic_form(mu_s + shift, cov, warn)

    full = value(n_all, s1_all, s2_all, True)
    floor = 2.0 * k / (n_all * dt)  # the value of K pure-noise currents: what a "bound" this size may be
    if floor > 0.1 * full:
        warnings.warn(f"tur_bound: the value {full:.3g} is not far above its small-sample bias ≈ 2K/(N·dt) = "
                      f"{floor:.3g} ({k} currents, {int(n_all)} transitions): it may be noise alone (equilibrium "
                      "data give about the bias) or exceed the EP rate; more transitions lower the bias",
                      RuntimeWarning, stacklevel=user_stacklevel())
    loo = np.array([value(n_all - ns[g], s1_all - s1s[g], s2_all - s2s[g], False) for g in range(len(ns))])
    return BaselineEstimate(
        full, _jackknife(loo), "per_time", "bound", "tur",
        {"basis": name, "n_currents": int(s1_all.size), "n_transitions": int(n_all), "dt": dt,
         "mean_current": (s1_all / n_all + shift).tolist(), "origin": origin.tolist(), "n_groups": len(rects)})
