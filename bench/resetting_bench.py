#!/usr/bin/env python3
"""Stochastic resetting (methods.md §4, §7.5): what it costs and the theory helper.

1. Cost: the same training (median of --repeats runs) with and without stochinfer.Resetting(prob=1e-3,
   after=0) (resetting from the first evaluation on, so every block can be cut), as training
   time (train_s) and as the whole call's wall time (resets at block ends, checkpoint copies),
   for Langevin drift (nonlinear system, 10⁴ points, Bayes-by-Backprop) and NEEP
   (bead-spring N = 2). Target: < 5% added training time at p = 10⁻³.
2. First passage under resetting, V = 0, x0 = D = 1, at 0.5, 1 and 2 times the
   optimal rate: the compiled walkers against the closed form ⟨T_r⟩ (with and
   without the discrete-monitoring correction), and their speed against the same
   algorithm (float32 normals, a geometric wait drawn per reset) in numpy
   (vectorised over walkers) and numba (a compiled loop per walker; numba draws
   float64 normals and rounds them), each run in this process.

    PYTHONPATH=python python bench/resetting_bench.py [--quick] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import stochinfer as si  # noqa: E402
from stochinfer import resetting_theory as rt  # noqa: E402
from stochinfer.langevin import TrainSettings  # noqa: E402
from _timing import load_average, machine, record_and_write  # noqa: E402

BETA = 0.5825971579390106  # −ζ(½)/√(2π)


def numpy_walkers(x0, D, rate, V, dt, n, seed, max_steps):
    """The compiled algorithm in numpy: all live walkers advance one step at a time, with
    float32 normals and a geometric wait to each walker's next reset (one uniform per
    reset, as first_passage.cpp draws them), not a Bernoulli trial per step."""
    rng = np.random.default_rng(seed)
    x = np.full(n, float(x0))
    times = np.full(n, np.nan)
    alive = np.arange(n)
    sigma = math.sqrt(2 * D * dt)
    barrier, log1m_p = BETA * sigma, -rate * dt

    def waits(m):
        u = 1 - rng.random(m, dtype=np.float32)  # in (0, 1], as uniform_at: ln 0 would never reset again
        return np.maximum(1, np.ceil(np.log(u) / log1m_p)).astype(np.int64)

    reset_at = waits(n)
    for k in range(1, max_steps + 1):
        # float32 normals times a float scalar stay float32 in numpy: a cheaper step than ours (double)
        x += -V * dt + sigma * rng.standard_normal(x.size, dtype=np.float32)
        hit = x <= barrier
        if hit.any():
            times[alive[hit]] = k * dt
            keep = ~hit
            x, alive, reset_at = x[keep], alive[keep], reset_at[keep]
            if alive.size == 0:
                break
        due = reset_at == k
        if due.any():
            x[due] = x0
            reset_at[due] += waits(int(due.sum()))
    return times


def numba_walkers():
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(parallel=True, cache=False)
    def run(x0, D, rate, V, dt, n, seed, max_steps):
        times = np.full(n, np.nan)
        sigma = math.sqrt(2 * D * dt)
        barrier, log1m_p = BETA * sigma, -rate * dt
        for i in numba.prange(n):
            np.random.seed(seed + i)  # numba's per-thread generator, reseeded per walker
            x = x0
            reset_at = max(1, math.ceil(math.log(1.0 - np.random.random()) / log1m_p))  # geometric wait, u in (0, 1]
            for k in range(1, max_steps + 1):
                x += -V * dt + sigma * np.float32(np.random.standard_normal())
                if x <= barrier:
                    times[i] = k * dt
                    break
                if k == reset_at:
                    x = x0
                    reset_at = k + max(1, math.ceil(math.log(1.0 - np.random.random()) / log1m_p))
        return times

    return run


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def training_cost(quick: bool, repeats: int) -> list:
    """Median training seconds of `repeats` runs per variant, the variants alternating
    (run-to-run noise on a 2-core VM is about 5%, the size of the target)."""
    m = si.models.Nonlinear()
    tr = si.simulate(m, 1, 10**4, 0.01, substeps=10, seed=0, burn_in=0, initial="zeros")
    bead = si.simulate(si.models.BeadSpring(n_beads=2), n_traj=100, n_steps=4000, dt=0.01, substeps=10, seed=11,
                       dtype="float32")

    # train_s times the training blocks only; a reset at a block's end and the checkpoint copies fall
    # outside it, so the whole call's wall time is recorded as well (both variants do the same rest)
    def lbn(rs):
        s = TrainSettings(n_iter=1000 if quick else 3000, patience=None, resetting=rs)
        t = time.perf_counter()
        h = si.infer_langevin(tr, drift_settings=s, diffusion_settings=TrainSettings(n_iter=100),
                              progress=False).histories["drift"]
        return h["iterations"], h["train_s"], len(h.get("resets", [])), time.perf_counter() - t

    def neep(rs):
        t = time.perf_counter()
        res = si.NEEP(n_iter=1000 if quick else 4000, eval_every=100, progress=False, resetting=rs).fit(bead, seed=0)
        return (res.settings["iterations"][0], res.settings["train_s"], len((res.settings["resets"] or [[]])[0]),
                time.perf_counter() - t)

    rows = []
    for estimator, run in (("LBN drift (bbb, nonlinear)", lbn), ("NEEP (bead-spring N=2)", neep)):
        runs = {"plain": [], "resetting p=1e-3": []}
        for _ in range(repeats):
            for name, rs in (("plain", None), ("resetting p=1e-3", si.Resetting(prob=1e-3, after=0))):
                runs[name].append(run(rs))
        for name, r in runs.items():
            rows.append(dict(estimator=estimator, variant=name, updates=r[0][0],
                             train_s=float(np.median([x[1] for x in r])), train_s_all=[x[1] for x in r],
                             wall_s=float(np.median([x[3] for x in r])), wall_s_all=[x[3] for x in r],
                             resets=r[0][2]))
    return rows


def first_passage(quick: bool) -> list:
    rows = []
    n = 20_000 if quick else 100_000
    dt = 1e-3
    r_star = rt.optimal_rate(1.0, 1.0)
    jit = numba_walkers()
    for factor in (0.5, 1.0, 2.0):
        rate = factor * r_star
        T = rt.mean_first_passage_time(1.0, 1.0, rate)
        max_steps = math.ceil(100 * T / dt)
        s_ours, t = best_of(lambda: rt.first_passage_times(1.0, 1.0, rate, dt=dt, n_walkers=n, seed=1), 3)
        late = rt.first_passage_times(1.0, 1.0, rate, dt=dt, n_walkers=n, seed=1, monitoring_correction=False)
        s_np, t_np = best_of(lambda: numpy_walkers(1.0, 1.0, rate, 0.0, dt, n, 1, max_steps), 3)
        row = dict(rate_over_optimal=factor, rate=rate, mean_T_theory=T, walkers=n, dt=dt,
                   mean_T=float(t.mean()), stderr=float(t.std(ddof=1) / math.sqrt(n)),
                   mean_T_uncorrected=float(late.mean()), mean_T_numpy=float(np.nanmean(t_np)),
                   stochinfer_s=s_ours, numpy_s=s_np, numpy_ratio=s_np / s_ours)
        if jit is not None:
            jit(1.0, 1.0, rate, 0.0, dt, 10, 1, max_steps)  # compile
            s_nb, t_nb = best_of(lambda: jit(1.0, 1.0, rate, 0.0, dt, n, 1, max_steps), 3)
            row.update(numba_s=s_nb, numba_ratio=s_nb / s_ours, mean_T_numba=float(np.nanmean(t_nb)))
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter training and fewer walkers")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--repeats", type=int, default=3, help="training runs per variant (median)")
    args = ap.parse_args(argv)
    load0 = load_average()
    out = {"machine": machine(), "command": " ".join(["bench/resetting_bench.py"] + (argv or sys.argv[1:]))}
    out["training_cost"] = cost = training_cost(args.quick, 1 if args.quick else args.repeats)
    for r in cost:
        print(f"{r['estimator']:30s} {r['variant']:18s} {r['updates']:6d} updates {r['train_s']:7.2f} s "
              f"(whole call {r['wall_s']:7.2f} s) {r['resets']:3d} resets")
    for a, b in zip(cost[::2], cost[1::2]):
        print(f"{a['estimator']}: resetting adds {100 * (b['train_s'] / a['train_s'] - 1):+.1f}% training time, "
              f"{100 * (b['wall_s'] / a['wall_s'] - 1):+.1f}% of the whole call")
    out["first_passage"] = first_passage(args.quick)
    for r in out["first_passage"]:
        dev = 100 * (r["mean_T"] / r["mean_T_theory"] - 1)
        print(f"r = {r['rate_over_optimal']:.1f} r*: <T> {r['mean_T']:.4f} ± {r['stderr']:.4f} vs {r['mean_T_theory']:.4f}"
              f" ({dev:+.2f}%; uncorrected {100 * (r['mean_T_uncorrected'] / r['mean_T_theory'] - 1):+.2f}%); "
              f"numpy {r['numpy_ratio']:.1f}x slower" + (f", numba {r['numba_ratio']:.1f}x slower" if "numba_ratio" in r
                                                        else ", numba not installed"))
    record_and_write(out, load0, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
