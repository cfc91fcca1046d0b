"""Accuracy and calibration of inferred fields against a known truth
(methods.md §3.5). Fields are arrays (n_points, ...) flattened entrywise."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .._stats import student_t_cdf
from .._validate import positive_int


def _flat(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(a.shape[0], -1)


def r2(truth: np.ndarray, estimate: np.ndarray) -> float:
    """1 - Σ‖f - f̂‖² / Σ‖f - mean f‖² (mean over points, per entry); nan for a constant truth."""
    f, g = _flat(truth), _flat(estimate)
    spread = np.sum((f - f.mean(axis=0)) ** 2)
    if spread <= 1e-24 * max(1.0, np.sum(f ** 2)):  # a constant field: R² is undefined
        return float("nan")
    return float(1.0 - np.sum((f - g) ** 2) / spread)


def nmse(truth: np.ndarray, samples: np.ndarray) -> float:
    """mean((f - f̂_s)²) / mean(f² + f̂_s²) over points and posterior samples (S, n, ...)."""
    f = _flat(truth)[None]
    s = np.asarray(samples, dtype=np.float64).reshape(samples.shape[0], samples.shape[1], -1)
    return float(np.mean((f - s) ** 2) / np.mean(f ** 2 + s ** 2))


def relative_mse(truth: np.ndarray, samples: np.ndarray) -> float:
    """mean((f - f̂_s)²) / mean(f̂_s²) over points and posterior samples (S, n, ...) (methods.md §3.5)."""
    f = _flat(truth)[None]
    s = np.asarray(samples, dtype=np.float64).reshape(samples.shape[0], samples.shape[1], -1)
    return float(np.mean((f - s) ** 2) / np.mean(s ** 2))


def total_uncertainty(samples: np.ndarray) -> float:
    """mean over points of the variance over samples (ddof 0), / mean(f̂_s²) (methods.md §3.5;
    nan for one sample)."""
    s = np.asarray(samples, dtype=np.float64).reshape(samples.shape[0], samples.shape[1], -1)
    if s.shape[0] < 2:
        return float("nan")
    return float(np.mean(s.var(axis=0)) / np.mean(s ** 2))


def relative_error(truth: np.ndarray, estimate: np.ndarray) -> float:
    """Entrywise relative RMS error sqrt(Σ(f̂ - f)² / Σf²)."""
    f, g = _flat(truth), _flat(estimate)
    return float(np.sqrt(np.sum((g - f) ** 2) / np.sum(f ** 2)))


def coverage(truth: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Fraction of entries (over points and components) inside [lo, hi]."""
    f, a, b = _flat(truth), _flat(lo), _flat(hi)
    return float(np.mean((f >= a) & (f <= b)))


def calibration(truth: np.ndarray, mean: np.ndarray, std: np.ndarray, block_length: Optional[int] = None,
                n_boot: int = 1000, seed: int = 0, kept: Optional[np.ndarray] = None) -> dict:
    """Pearson correlation of log pointwise squared error ‖f − f̄̂‖² and log pointwise
    posterior variance Σ std² (each summed over components, absolute units), with a
    one-sided p-value for 'positive'.

    This departs from methods.md §3.5 (and the reference code), which divide both by the
    same per-point mean f̂²: a shared per-point term in both logs correlates them even
    when the variance says nothing about the error (on synthetic data with error
    independent of the spread, +0.87 that way against +0.03 this way:
    bench/lbn_calibration_definition.py). Summed over components, the largest component dominates (Hodgkin–Huxley:
    the voltage); `components` gives each component's own correlation and p-value
    (entries of a matrix field, for D) when there is more than one.

    Without block_length the p-value is Fisher's z for independent points. States
    along a trajectory are not independent: for points in time order, block_length
    (consecutive points per block) gives the correlation's standard error from a
    bootstrap of whole non-overlapping blocks (`stderr`; `n_boot` resamples, fixed
    `seed`; at least 10 blocks) and p from r/stderr against Student's t with
    (blocks − 1) degrees of freedom, the standard error scaled by √(b/(b − 1)) for
    the bootstrap's low bias. Fisher's p stays in `p_fisher`. On the acceptance data
    the block standard error is 1.7–3.1 times Fisher's (bench/RESULTS.md).

    For points that are a subset of a time-ordered sequence (e.g. the states a scoring
    mask kept), kept is the boolean mask over the whole sequence that selected them:
    blocks are then block_length consecutive states of the sequence, so a block never
    joins states either side of a gap, and holds fewer points where some were left
    out. The points this function leaves out itself (zero error or variance) keep
    their place the same way."""
    sq_err, sq_std = (_flat(truth) - _flat(mean)) ** 2, _flat(std) ** 2
    out = _log_correlation(np.sum(sq_err, axis=1), np.sum(sq_std, axis=1), block_length, n_boot, seed, kept)
    if sq_err.shape[1] > 1:
        out["components"] = [{k: part[k] for k in ("corr", "p_value")} for part in
                             (_log_correlation(sq_err[:, c], sq_std[:, c], block_length, n_boot, seed, kept)
                              for c in range(sq_err.shape[1]))]
    return out


def _log_correlation(err: np.ndarray, var: np.ndarray, block_length: Optional[int], n_boot: int, seed: int,
                     kept: Optional[np.ndarray]) -> dict:
    """calibration() for pointwise squared errors and variances (n,)."""
    if kept is None:
        positions, span = np.arange(err.size), err.size
    else:
        kept = np.asarray(kept)
        if kept.dtype != bool or kept.ndim != 1 or int(kept.sum()) != err.size:
            raise ValueError(f"kept must be a 1-D boolean mask over the time-ordered states with one True per "
                             f"point ({err.size}), got dtype {kept.dtype}, shape {kept.shape}")
        positions, span = np.flatnonzero(kept), kept.size
    ok = (err > 0) & (var > 0)
    n = int(ok.sum())
    log_err, log_var = np.log(err[ok]), np.log(var[ok])
    if n < 4 or np.ptp(log_var) == 0 or np.ptp(log_err) == 0:  # e.g. a constant (homogeneous) diffusion band
        return {"corr": float("nan"), "p_value": float("nan"), "n": n}
    r = float(np.corrcoef(log_err, log_var)[0, 1])
    z = math.atanh(min(max(r, -0.999999), 0.999999)) * math.sqrt(n - 3)
    p_fisher = 0.5 * math.erfc(z / math.sqrt(2))
    if block_length is None:
        return {"corr": r, "p_value": p_fisher, "n": n}
    block_length = positive_int("block_length", block_length)
    se, n_blocks = _block_bootstrap_se(log_err, log_var, positions[ok], block_length,
                                       positive_int("n_boot", n_boot, minimum=2), seed,
                                       span=span)
    se *= math.sqrt(n_blocks / (n_blocks - 1))
    # nan when a resample had no spread (variation confined to a few blocks): no honest p then
    p = student_t_cdf(-r / se, n_blocks - 1) if math.isfinite(se) and se > 0 else float("nan")
    return {"corr": r, "p_value": p, "n": n, "stderr": se, "block_length": block_length, "n_blocks": n_blocks,
            "p_fisher": p_fisher}


def _block_bootstrap_se(a: np.ndarray, b: np.ndarray, positions: np.ndarray, block: int, n_boot: int, seed: int,
                        span: int) -> tuple:
    """(standard error of corr(a, b), number of blocks) by resampling whole
    non-overlapping blocks of `block` consecutive positions out of `span` (the tail
    shorter than a block is dropped; a block may hold fewer points than positions, or
    none, and then is not a block); nan if any resample's correlation is undefined."""
    n_full = span // block
    keep = positions < n_full * block
    a, b, which = a[keep], b[keep], positions[keep] // block
    ids, which = np.unique(which, return_inverse=True)
    n_blocks = ids.size
    if n_blocks < 10:
        raise ValueError(f"block_length={block} leaves {n_blocks} blocks of {span} points; "
                         "need at least 10: use shorter blocks or more points")
    a, b = a - a.mean(), b - b.mean()  # centred: the moment sums stay exact
    # per-block point counts and sums of the moments; a resample's correlation needs only their totals
    m = np.stack([np.bincount(which, weights=w, minlength=n_blocks)
                  for w in (np.ones_like(a), a, b, a * a, b * b, a * b)], axis=1)
    rng = np.random.default_rng(seed)
    chunk = max(1, 400_000 // n_blocks)  # resamples per pass: bounded memory (~19 MB) for any number of points
    totals = np.concatenate([m[rng.integers(0, n_blocks, size=(min(chunk, n_boot - i), n_blocks))].sum(axis=1)
                             for i in range(0, n_boot, chunk)])
    n, sa, sb, saa, sbb, sab = totals.T
    cov, va, vb = sab - sa * sb / n, saa - sa * sa / n, sbb - sb * sb / n
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(va * vb)
    if not np.all(np.isfinite(r)):
        return float("nan"), n_blocks
    return float(np.std(r, ddof=1)), n_blocks
