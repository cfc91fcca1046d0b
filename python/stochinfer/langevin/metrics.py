"""Accuracy and calibration of inferred fields against a known truth
(methods.md §3.5). Fields are arrays (n_points, ...) flattened entrywise."""
from __future__ import annotations

import math

import numpy as np


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


def relative_error(truth: np.ndarray, estimate: np.ndarray) -> float:
    """Entrywise relative RMS error sqrt(Σ(f̂ - f)² / Σf²)."""
    f, g = _flat(truth), _flat(estimate)
    return float(np.sqrt(np.sum((g - f) ** 2) / np.sum(f ** 2)))


def coverage(truth: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Fraction of entries (over points and components) inside [lo, hi]."""
    f, a, b = _flat(truth), _flat(lo), _flat(hi)
    return float(np.mean((f >= a) & (f <= b)))


def calibration(truth: np.ndarray, mean: np.ndarray, std: np.ndarray) -> dict:
    """Pearson correlation of log pointwise squared error and log pointwise posterior
    variance (summed over components; the relative normalisations of §3.5 only
    shift the logs), with a one-sided p-value for 'positive' (Fisher z)."""
    err = np.sum((_flat(truth) - _flat(mean)) ** 2, axis=1)
    var = np.sum(_flat(std) ** 2, axis=1)
    ok = (err > 0) & (var > 0)
    n = int(ok.sum())
    log_err, log_var = np.log(err[ok]), np.log(var[ok])
    if n < 4 or np.ptp(log_var) == 0 or np.ptp(log_err) == 0:  # e.g. a constant (homogeneous) diffusion band
        return {"corr": float("nan"), "p_value": float("nan"), "n": n}
    r = float(np.corrcoef(log_err, log_var)[0, 1])
    z = math.atanh(min(max(r, -0.999999), 0.999999)) * math.sqrt(n - 3)
    return {"corr": r, "p_value": 0.5 * math.erfc(z / math.sqrt(2)), "n": n}
