"""What the data allow: an exact Gaussian-process regression of the drift labels, as
an independent float64 reference for the drift R² targets (bench/RESULTS.md,
"What the data allow"). Not part of the library; numpy/scipy only.

Same data as bench/lbn_datasets.py (one training record of 10^4 points at dt = 0.01,
seed s; scored on every second state of the record with seed s + 1). Labels are the
Itô increments Δx/Δt; each drift component gets its own GP with a squared-exponential
kernel, one length scale per input (ARD), signal and noise variances and a constant
mean. The hyperparameters maximise the marginal likelihood (ML-II, Nelder–Mead) on a
random subset of 3000 of its rows, then the GP conditions on all of them. Nothing is
chosen by looking at the truth. Overdamped systems only.

--rows all: every transition of the record (the GP needs no validation rows);
--rows train: only the rows infer_langevin trains on (the first 80% of the record's
time; the last 20% validate), the same data as the networks.

Usage: PYTHONPATH=python python bench/lbn_gp_reference.py [--systems nonlinear] [--seeds 0,1,2,3,4,10]
       [--rows all|train]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import scipy.linalg as sl
import scipy.optimize as so
from scipy.spatial.distance import cdist

from lbn_datasets import BLOCK_LENGTH, data
from stochinfer.langevin import metrics
from stochinfer.langevin.data import split_rows


def kernel(a: np.ndarray, b: np.ndarray, length: np.ndarray, signal_var: float) -> np.ndarray:
    # cdist, not broadcasting: an (n, n, d) temporary is 1.6 GB at n = 10^4, d = 2
    return signal_var * np.exp(-0.5 * cdist(a / length, b / length, "sqeuclidean"))


def neg_log_marginal(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """−log p(y | θ) up to a constant; θ = log(length scales…, signal var, noise var)."""
    d = x.shape[1]
    k = kernel(x, x, np.exp(theta[:d]), np.exp(theta[d]))
    k[np.diag_indices_from(k)] += np.exp(theta[d + 1])
    try:
        chol = np.linalg.cholesky(k)
    except np.linalg.LinAlgError:
        return 1e30
    r = y - y.mean()
    return float(0.5 * r @ sl.cho_solve((chol, True), r) + np.log(np.diag(chol)).sum())


def gp_drift(x: np.ndarray, y: np.ndarray, pts: np.ndarray, n_sub: int = 3000, seed: int = 0):
    """Posterior mean and std of each drift component at pts; and the fitted hyperparameters."""
    n, d = x.shape
    sub = np.random.default_rng(seed).choice(n, min(n_sub, n), replace=False)
    mean, std, hyper = np.zeros((len(pts), y.shape[1])), np.zeros((len(pts), y.shape[1])), []
    for j in range(y.shape[1]):
        theta0 = np.log(np.r_[np.full(d, 0.7), y[:, j].var() * 0.05, y[:, j].var()])
        res = so.minimize(neg_log_marginal, theta0, args=(x[sub], y[sub, j]), method="Nelder-Mead",
                          options=dict(maxiter=300, xatol=1e-3, fatol=1e-3))
        length, sf2, sn2 = np.exp(res.x[:d]), np.exp(res.x[d]), np.exp(res.x[d + 1])
        k = kernel(x, x, length, sf2)
        k[np.diag_indices_from(k)] += sn2
        chol = np.linalg.cholesky(k)
        kx = kernel(pts, x, length, sf2)
        mean[:, j] = kx @ sl.cho_solve((chol, True), y[:, j] - y[:, j].mean()) + y[:, j].mean()
        v = sl.solve_triangular(chol, kx.T, lower=True)
        std[:, j] = np.sqrt(np.maximum(sf2 - (v * v).sum(0), 0.0))
        hyper.append(dict(length=length.round(3).tolist(), signal_std=float(np.sqrt(sf2)),
                          noise_std=float(np.sqrt(sn2))))
    return mean, std, hyper


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", default="nonlinear")
    ap.add_argument("--seeds", default="0,1,2,3,4,10")
    ap.add_argument("--rows", choices=("all", "train"), default="all")
    args = ap.parse_args(argv)
    print("| system | seed | GP drift R² | 95% coverage | corr (block p; Fisher p) | length scales per component "
          "| time s |")
    print("|---|---|---|---|---|---|---|")
    for system in args.systems.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            m, regime, tr, pts = data(system, seed)
            if regime != "overdamped":
                raise SystemExit(f"{system}: the GP reference handles overdamped systems only")
            t0 = time.time()
            x = tr.x[0].astype(np.float64)
            rows = np.arange(len(x) - 1)
            if args.rows == "train":  # infer_langevin's default split (val_fraction 0.2)
                rows = split_rows(1, len(x) - 1, 0.2, by_trajectory=False)[0]
            mean, std, hyper = gp_drift(x[rows], (x[rows + 1] - x[rows]) / tr.dt, pts)
            truth = m.drift(pts)
            cal = metrics.calibration(truth, mean, std, block_length=BLOCK_LENGTH)
            cov = metrics.coverage(truth, mean - 1.96 * std, mean + 1.96 * std)
            print(f"| {system} | {seed} | {metrics.r2(truth, mean):.4f} | {cov:.3f} | {cal['corr']:+.2f} "
                  f"({cal['p_value']:.1g}; {cal.get('p_fisher', np.nan):.1g}) | {[h['length'] for h in hyper]} "
                  f"| {time.time() - t0:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
