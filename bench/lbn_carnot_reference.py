"""How well can 100 recorded cycles of the Brownian Carnot engine (methods.md §5.8, τ = 100)
determine its mean work per cycle? A structured reference with oracle information, for
judging the 10% target of methods.md §7.4 (the analogue of lbn_gp_reference.py for the
nonlinear system).

The reference knows what no user's estimator knows: the drift is affine in (x, v),
dv = (a(t) − k(t)x − γ(t)v)dt + √(2D(t))dW; the **true velocities** (not finite differences of
positions); and the **true diffusion D(t) = γT(t)**. It estimates only the drift's
time-dependent coefficients, by weighted least squares of the one-step increments of (x, v) on
(1, x, v) ⊗ B(t), B a periodic cubic B-spline basis in time with M uniform knots, per
coordinate. The affine one-step map is converted to a generator by the matrix logarithm, which
removes the O(Δt) discretisation bias of the regression exactly for a linear system. The
work per cycle of the estimated equation then comes from its closed moment ODEs (RK4, the
periodic steady state), with the work ∫½⟨x²⟩k̇ dt taken on the true protocol, as
`fit.thermodynamics` does.

Variants per dataset: every M of a list (the best M picked by looking at the truth is an
oracle choice) and M chosen by 5-fold cross-validation over cycles; "k only" keeps the fitted
stiffness k̂(t) and uses the true a = 0 and γ, isolating the stiffness's error. Errors are
relative to the moment-ODE value −3.5557; the data's own mean work (the direct estimate
from the 100 recorded cycles) is printed alongside.

Usage: PYTHONPATH=python python bench/lbn_carnot_reference.py [--seeds 0-19] [--cycles 100]
    [--knots 8,12,16,24,32,48] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import stochinfer as si

DT = 0.01


def periodic_bspline(t: np.ndarray, tau: float, n_knots: int) -> np.ndarray:
    """Periodic cardinal cubic B-splines on [0, τ) with n_knots uniform knots: (len(t), n_knots)."""
    h = tau / n_knots
    u = t[:, None] / h - np.arange(n_knots)[None, :]
    u = (u + n_knots / 2) % n_knots - n_knots / 2  # wrap to the nearest copy
    a = np.abs(u)
    return np.where(a < 2, (2 - a) ** 3 / 6, 0.0) - np.where(a < 1, 4 * (1 - a) ** 3 / 6, 0.0)


def moment_stats(x: np.ndarray, v: np.ndarray, weight: np.ndarray):
    """Per time index i (transitions i → i+1, all cycles): S_i = Σ φφᵀ, R_i = Σ φ yᵀ with
    φ = (1, x, v) and y = increments of (x, v) / Δt, times the weight of time i."""
    phi = np.stack([np.ones_like(x[:, :-1]), x[:, :-1], v[:, :-1]], -1)  # (cycles, L-1, 3)
    y = np.stack([np.diff(x, axis=1), np.diff(v, axis=1)], -1) / DT  # (cycles, L-1, 2)
    S = np.einsum("cia,cib->iab", phi, phi) * weight[:, None, None]
    R = np.einsum("cia,cib->iab", phi, y) * weight[:, None, None]
    return S, R


def fit_coefficients(S: np.ndarray, R: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Weighted least squares of y on φ ⊗ B(t): coefficients (n_knots, 3, 2)."""
    n = B.shape[1]
    G = np.einsum("im,in,iab->manb", B, B, S).reshape(3 * n, 3 * n)
    H = np.einsum("im,iab->mab", B, R).reshape(3 * n, 2)
    beta = np.linalg.solve(G + 1e-12 * np.trace(G) / G.shape[0] * np.eye(G.shape[0]), H)
    return beta.reshape(n, 3, 2)


def generator(beta: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The affine generator at the times of B's rows: (len, 3, 3) in the order (1, x, v),
    from the one-step map I + Δt·C by the matrix logarithm (series; the spectral radius of
    Δt·C is below 0.1 here)."""
    C = np.einsum("im,mab->iba", B, beta)  # rows: d(x)/dt, d(v)/dt on (1, x, v)
    E = np.zeros((B.shape[0], 3, 3))
    E[:, 1:, :] = DT * C
    log, term = np.zeros_like(E), np.broadcast_to(np.eye(3), E.shape).copy()
    for n in range(1, 30):
        term = term @ E
        log += (-1) ** (n + 1) * term / n
    return log / DT


def moment_work(m, a0: np.ndarray, k: np.ndarray, g: np.ndarray, D: np.ndarray, n_cycles: int = 3,
                h: float = 0.01) -> np.ndarray:
    """Work per cycle ∫½⟨x²⟩k̇_true dt of dv = (a0 − kx − γv)dt + √(2D)dW for many
    coefficient sets at once: a0, k, g, D of shape (sets, 2n + 1) tabulated on the
    half-step grid t = j·h/2 over one period; RK4 on the first and second moments from
    equilibrium at (k(0), T₀), the last of n_cycles cycles."""
    n = int(round(m.tau / h))
    k_true = m.stiffness(np.arange(n + 1) * h)
    s = np.zeros((a0.shape[0], 5))
    s[:, 2], s[:, 4] = m.t_cold / k_true[0], m.t_cold

    def f(j2, s):  # j2 indexes the half-step grid
        a, kk, gg, dd = a0[:, j2], k[:, j2], g[:, j2], D[:, j2]
        mx, mv, xx, xv, vv = s.T
        return np.stack([mv, a - kk * mx - gg * mv, 2 * xv, vv - kk * xx - gg * xv + a * mx,
                         2 * a * mv - 2 * kk * xv - 2 * gg * vv + 2 * dd], 1)

    for _ in range(n_cycles):
        w = np.zeros(a0.shape[0])
        for j in range(n):
            k1 = f(2 * j, s)
            k2 = f(2 * j + 1, s + h / 2 * k1)
            k3 = f(2 * j + 1, s + h / 2 * k2)
            k4 = f(2 * j + 2, s + h * k3)
            s_new = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            w += 0.25 * (s[:, 2] + s_new[:, 2]) * (k_true[j + 1] - k_true[j])
            s = s_new
    return w


def cv_knots(S: np.ndarray, R: np.ndarray, fold_stats, B_by_knots: dict) -> int:
    """The knot count with the lowest 5-fold (over cycles) weighted squared error of the
    velocity increments."""
    scores = {}
    for n, B in B_by_knots.items():
        err = 0.0
        for S_f, R_f, yy_f in fold_stats:  # held-out fold's statistics
            beta = fit_coefficients(S - S_f, R - R_f, B)
            c = np.einsum("im,ma->ia", B, beta[:, :, 1])  # v-row coefficients on (1, x, v) per time
            # Σ (y − φc)² = Σ y² − 2 cᵀ Σφy + cᵀ (Σφφᵀ) c, per time index
            err += np.sum(yy_f - 2 * np.einsum("ia,ia->i", c, R_f[:, :, 1])
                          + np.einsum("ia,iab,ib->i", c, S_f, c))
        scores[n] = err
    return min(scores, key=scores.get)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-19", help="data seeds: a range a-b or a comma list (default 0-19)")
    ap.add_argument("--cycles", type=int, default=100, help="recorded cycles per dataset (default 100)")
    ap.add_argument("--knots", default="8,12,16,24,32,48", help="spline knot counts M to try")
    ap.add_argument("--json", help="write the per-dataset numbers here")
    args = ap.parse_args(argv)
    if "-" in args.seeds:
        lo, hi = (int(s) for s in args.seeds.split("-"))
        seeds = list(range(lo, hi + 1))
    else:
        seeds = [int(s) for s in args.seeds.split(",")]
    knots = [int(s) for s in args.knots.split(",")]

    m = si.models.BrownianCarnot(tau=100.0)
    exact = m.cycle_thermodynamics()["mean_work"]
    L = int(round(m.tau / DT))
    t_data = np.arange(L) * DT  # times of the transitions' starts
    weight = 1.0 / m.temperature(t_data)  # the velocity increments' variance is ∝ γT(t)
    t_half = np.arange(2 * L + 1) * DT / 2  # the RK4 grid, h = Δt
    B_data = {n: periodic_bspline(t_data, m.tau, n) for n in knots}
    B_half = {n: periodic_bspline(t_half, m.tau, n) for n in knots}
    D_true = m.gamma * m.temperature(t_half)
    k_true, g_true = m.stiffness(t_half), np.full_like(t_half, m.gamma)

    check = moment_work(m, np.zeros((1, t_half.size)), k_true[None], g_true[None], D_true[None])[0]
    print(f"moment-ODE work with the true coefficients: {check:.4f} (exact {exact:.4f})")

    rows = []
    for seed in seeds:
        t0 = time.perf_counter()
        tr = si.simulate(m, n_traj=args.cycles, n_steps=L, dt=DT, substeps=10, seed=seed)
        x, v = tr.x[:, :, 0].astype(np.float64), tr.v[:, :, 0].astype(np.float64)
        w_data = m.work(x, np.arange(L + 1) * DT)
        S, R = moment_stats(x, v, weight)
        folds = np.array_split(np.random.default_rng(seed).permutation(args.cycles), 5)
        fold_stats = []
        for f in folds:
            S_f, R_f = moment_stats(x[f], v[f], weight)
            yy = np.sum((np.diff(v[f], axis=1) / DT) ** 2, axis=0) * weight
            fold_stats.append((S_f, R_f, yy))
        chosen = cv_knots(S, R, fold_stats, B_data)
        a_all, k_all, g_all = [], [], []
        for n in knots:
            A = generator(fit_coefficients(S, R, B_data[n]), B_half[n])
            a_all.append(A[:, 2, 0])
            k_all.append(-A[:, 2, 1])
            g_all.append(-A[:, 2, 2])
        a_all, k_all, g_all = np.array(a_all), np.array(k_all), np.array(g_all)
        n_k = len(knots)
        W = moment_work(m, np.concatenate([a_all, np.zeros_like(a_all)]),
                        np.concatenate([k_all, k_all]),
                        np.concatenate([g_all, np.broadcast_to(g_true, g_all.shape)]),
                        np.broadcast_to(D_true, (2 * n_k, D_true.size)))
        row = {"seed": seed, "data_work": float(w_data.mean()), "data_work_se": float(w_data.std(ddof=1) / np.sqrt(w_data.size)),
               "cv_knots": chosen, "work": {str(n): float(W[i]) for i, n in enumerate(knots)},
               "work_k_only": {str(n): float(W[n_k + i]) for i, n in enumerate(knots)},
               "stiffness_rms_rel_error": {str(n): float(np.sqrt(np.mean((k_all[i] / k_true - 1) ** 2)))
                                           for i, n in enumerate(knots)}}
        rows.append(row)
        err = {n: 100 * (W[i] / exact - 1) for i, n in enumerate(knots)}
        print(f"seed {seed}: data's own work {row['data_work']:.3f} ± {row['data_work_se']:.3f} "
              f"({100 * (row['data_work'] / exact - 1):+.1f}%); W error by M: "
              + ", ".join(f"{n}: {e:+.1f}%" for n, e in err.items())
              + f"; CV picks M = {chosen} ({err[chosen]:+.1f}%); "
              f"k only: " + ", ".join(f"{n}: {100 * (W[n_k + i] / exact - 1):+.1f}%" for i, n in enumerate(knots))
              + f" [{time.perf_counter() - t0:.0f} s]", flush=True)

    def summary(values):
        e = 100 * (np.asarray(values) / exact - 1)
        return f"RMS {np.sqrt(np.mean(e ** 2)):.1f}%, mean {e.mean():+.1f}%, within 10% on {np.sum(np.abs(e) <= 10)} of {e.size}"

    print(f"\n{len(rows)} datasets of {args.cycles} cycles; exact {exact:.4f}")
    print(f"  the data's own mean work: {summary([r['data_work'] for r in rows])}")
    for n in knots:
        krms = np.mean([r["stiffness_rms_rel_error"][str(n)] for r in rows])
        print(f"  M = {n:2d}: {summary([r['work'][str(n)] for r in rows])}; k only: "
              f"{summary([r['work_k_only'][str(n)] for r in rows])}; k̂ RMS relative error {100 * krms:.1f}%")
    print(f"  M by cross-validation: {summary([r['work'][str(r['cv_knots'])] for r in rows])} "
          f"(chosen: {[r['cv_knots'] for r in rows]})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"exact": exact, "cycles": args.cycles, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
