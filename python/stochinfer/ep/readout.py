"""Read-outs of per-transition stochastic EP (methods.md §1.3): rates, standard
errors over trajectories or by block bootstrap, and R² against the truth."""
from __future__ import annotations

import numpy as np


def per_segment(delta_s: np.ndarray, segments: np.ndarray, window: int = 2) -> list:
    """Splits the ordered ΔS of all items of `segments` into one array per segment.
    Items are transitions (window = 2) or windows of `window` points with stride
    window − 1 (RNEEP read-out)."""
    lengths = (segments[:, 2] - segments[:, 1] - window) // (window - 1) + 1
    return np.split(delta_s, np.cumsum(lengths)[:-1])


def mean_rate(delta_s: np.ndarray, dt: float) -> float:
    """⟨ΔS⟩ per step divided by dt (k_B per unit time)."""
    return float(np.mean(delta_s, dtype=np.float64) / dt)


def regression_rate(parts: list, dt: float) -> float:
    """Slope of the trajectory-averaged cumulative EP against time (k_B per unit
    time): the paper's read-out. Trajectories are truncated to the shortest one."""
    n = min(len(p) for p in parts)
    if n < 2:
        return float("nan")
    cum = np.mean([np.cumsum(p[:n], dtype=np.float64) for p in parts], axis=0)
    t = np.arange(1, n + 1, dtype=np.float64) * dt
    return float(np.polyfit(t, cum, 1)[0])


def rate_stderr(parts: list, dt: float) -> float:
    """Standard error of the pooled mean rate from the spread over segments
    (ratio estimator, valid for unequal lengths; segments must be independent)."""
    k = len(parts)
    if k < 2:
        return float("nan")
    sums = np.array([np.sum(p, dtype=np.float64) for p in parts])
    ns = np.array([len(p) for p in parts], dtype=np.float64)
    m = sums.sum() / ns.sum()
    return float(np.sqrt(k / (k - 1) * np.sum((sums - m * ns) ** 2)) / ns.sum() / dt)


BOOTSTRAP_BLOCKS = 100


def bootstrap_blocks(n_items: int, n_blocks: int = BOOTSTRAP_BLOCKS) -> int:
    """Blocks block_bootstrap_stderr uses for a series of n_items (its standard
    error has this many minus one degrees of freedom)."""
    return min(n_blocks, n_items // 2)


def block_bootstrap_stderr(series: np.ndarray, dt: float, n_blocks: int = BOOTSTRAP_BLOCKS, n_resamples: int = 2000,
                           seed: int = 0) -> float:
    """Standard error of mean(series)/dt for one long correlated series: the series
    is cut into n_blocks contiguous blocks (much longer than the relaxation time)
    resampled with replacement."""
    n_blocks = bootstrap_blocks(len(series), n_blocks)
    if n_blocks < 2:
        return float("nan")
    size = len(series) // n_blocks
    means = np.asarray(series[: size * n_blocks], dtype=np.float64).reshape(n_blocks, size).mean(1)
    rng = np.random.Generator(np.random.Philox(key=[seed, 0xB007]))
    counts = rng.multinomial(n_blocks, np.full(n_blocks, 1.0 / n_blocks), size=n_resamples)
    boot = counts @ means / n_blocks
    return float(boot.std(ddof=1) / dt)


def r_squared(estimate: np.ndarray, truth: np.ndarray) -> float:
    """R² of the linear regression of estimate on truth (pooled over transitions)."""
    c = np.corrcoef(np.asarray(estimate, dtype=np.float64), np.asarray(truth, dtype=np.float64))[0, 1]
    return float(c * c)


def neep_loss(delta_s: np.ndarray) -> float:
    """mean(e^{-ΔS} - ΔS) in float64."""
    d = np.asarray(delta_s, dtype=np.float64)
    return float(np.mean(np.exp(-d) - d))
