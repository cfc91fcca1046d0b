"""Hodgkin–Huxley (methods.md §5.6, T = 0.01, Δt = 0.01 ms): is the drift R² target a
limit of the estimator or of the data? Three checks, on the acceptance test's data
(training record seed 0, held-out record seed 1, every second held-out state with all
gates in (0.01, 0.99)):

  size      infer_langevin (defaults, noiseless=[0]) on records of 10^4, 3·10^4 and
            10^5 points; drift R², band coverage, correlation, D error, spikes in the
            record, fit time.
  oracle    (needs torch) a plain MLP (4 → h → h → 1, ELU, Adam) fitted to the voltage's
            *exact* drift at the training states, i.e. with noise-free labels: what
            the training states alone allow for V, which dominates R².
  clipping  the effective diffusion of the gates, E[(Δg − F_gΔt)²]/(2Δt) / T, by gate
            value: clipping the gates to [0, 1] removes part of the increments near 0
            and 1, so the data's D there is below the formula's T.
  labels    the voltage's labels against its exact drift F_V on the training record
            (gates in (0.01, 0.99)): R² of the one-step label, of its conditional mean
            (400 replica continuations from every 25th state: the O(Δt) bias alone), of
            the second-order label (−3V_i + 4V_{i+1} − V_{i+2})/(2Δt)'s conditional mean,
            and of the one-step label minus the control variate ½Σ_g ∂_gF_V (Δg − F_gΔt)
            (exact ∂_gF_V and F_g).

Usage: PYTHONPATH=python python bench/lbn_hh_data.py [--checks size,oracle,clipping,labels]
       [--sizes 10000,30000,100000] [--oracle-seeds 0,1,2] [--oracle-widths 64:20000,128:40000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import stochinfer as si
from stochinfer.langevin import metrics

DT = 0.01


def records(n_points: int):
    m = si.models.HodgkinHuxley()
    tr = si.simulate(m, 1, n_points, DT, substeps=10, seed=0)
    te = si.simulate(m, 1, 10**4, DT, substeps=10, seed=1)
    return m, tr, te.x[0][::2]


def spikes(v: np.ndarray) -> int:
    return int(np.sum((v[1:] > 50) & (v[:-1] <= 50)))


def check_size(sizes):
    print("| points | spikes | method | drift R² | coverage | corr | D error | time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        m, tr, pts = records(n)
        for method in ("bbb", "ensemble"):
            t0 = time.perf_counter()
            fit = si.infer_langevin(tr, regime="overdamped", method=method, noiseless=[0], progress=False)
            took = time.perf_counter() - t0
            rep = fit.report(m, points=pts)
            d = rep["drift"]
            print(f"| {n} | {spikes(tr.x[0, :, 0])} | {method} | {d['r2']:.4f} | {d['coverage']:.3f} | "
                  f"{d['calibration']['corr']:+.2f} | {rep['diffusion']['relative_error']:.3f} | {took:.0f} |",
                  flush=True)


def check_oracle(seeds, widths):
    import torch
    torch.set_num_threads(1)
    m, tr, pts = records(10**4)
    x = tr.x[0][:-1]
    test = pts[m.scoring_mask(pts)]
    mu, sd = x.mean(0), x.std(0)
    y = m.drift(x)[:, :1]
    s = y.std(0)
    print("| width | updates | seed | held-out R² of V (exact labels) | training R² | share of the squared error "
          "in the worst 1% of held-out states |")
    print("|---|---|---|---|---|---|")
    for hidden, iters in widths:
        for seed in seeds:
            torch.manual_seed(seed)
            xn, yn = torch.tensor((x - mu) / sd), torch.tensor(y / s)
            net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ELU(), torch.nn.Linear(hidden, hidden),
                                      torch.nn.ELU(), torch.nn.Linear(hidden, 1)).double()
            opt = torch.optim.Adam(net.parameters(), 1e-3)
            for _ in range(iters):
                idx = torch.randint(0, len(xn), (256,))
                loss = ((net(xn[idx]) - yn[idx]) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()

            def predict(p):
                with torch.no_grad():
                    return net(torch.tensor((p - mu) / sd)).numpy() * s

            err = np.sort((m.drift(test)[:, 0] - predict(test)[:, 0]) ** 2)[::-1]
            print(f"| {hidden} | {iters} | {seed} | {metrics.r2(m.drift(test)[:, :1], predict(test)):.4f} | "
                  f"{metrics.r2(y, predict(x)):.4f} | {err[:err.size // 100].sum() / err.sum():.2f} |", flush=True)


def check_clipping():
    m, tr, _ = records(10**5)
    x0, x1 = tr.x[0][:-1], tr.x[0][1:]
    r = x1 - x0 - m.drift(x0) * DT
    keep = m.scoring_mask(x0)
    print("| gate | range | states | E[(Δg − F_gΔt)²]/(2Δt) / T |")
    print("|---|---|---|---|")
    for g, name in ((1, "n"), (2, "m"), (3, "h")):
        for lo, hi in ((0.01, 0.05), (0.05, 0.1), (0.1, 0.9), (0.9, 0.99), (0.01, 0.99)):
            sel = keep & (x0[:, g] > lo) & (x0[:, g] < hi)
            if sel.sum() > 100:
                ratio = np.mean(r[sel, g] ** 2) / (2 * DT) / m.temperature
                print(f"| {name} | ({lo}, {hi}) | {int(sel.sum())} | {ratio:.3f} |")


def check_labels(replicas=400, every=25):
    m, tr, _ = records(10**4)
    x = tr.x[0]
    x0, x1 = x[:-2], x[1:-1]
    keep = m.scoring_mask(x0)
    F = m.drift(x0)
    one_step = (x1[:, 0] - x0[:, 0]) / DT
    eps = 1e-6
    grad = np.stack([(m.drift(x0 + eps * np.eye(4)[g])[:, 0] - m.drift(x0 - eps * np.eye(4)[g])[:, 0]) / (2 * eps)
                     for g in (1, 2, 3)], axis=1)
    control = one_step - 0.5 * np.sum(grad * ((x1[:, 1:] - x0[:, 1:]) - F[:, 1:] * DT), axis=1)
    idx = np.nonzero(keep)[0][::every]
    mean1, mean2 = [], []
    for j, i in enumerate(idx):
        v = si.simulate(m, replicas, 2, DT, substeps=10, seed=100 + j, burn_in=0,
                        initial=np.tile(x0[i], (replicas, 1))).x[:, :, 0]
        mean1.append(np.mean((v[:, 1] - v[:, 0]) / DT))
        mean2.append(np.mean((-3 * v[:, 0] + 4 * v[:, 1] - v[:, 2]) / (2 * DT)))
    print("| voltage label | R² against F_V |")
    print("|---|---|")
    print(f"| one-step label (V_(i+1) − V_i)/Δt, {int(keep.sum())} states | {metrics.r2(F[keep, 0], one_step[keep]):.4f} |")
    print(f"| its conditional mean ({idx.size} states, {replicas} replicas) | {metrics.r2(F[idx, 0], np.array(mean1)):.4f} |")
    print(f"| second-order label's conditional mean (same) | {metrics.r2(F[idx, 0], np.array(mean2)):.4f} |")
    print(f"| one-step label minus the control variate | {metrics.r2(F[keep, 0], control[keep]):.4f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checks", default="size,oracle,clipping,labels")
    ap.add_argument("--sizes", default="10000,30000,100000")
    ap.add_argument("--oracle-seeds", default="0,1,2")
    ap.add_argument("--oracle-widths", default="64:20000,128:40000", help="width:updates pairs")
    a = ap.parse_args()
    checks = a.checks.split(",")
    if "size" in checks:
        check_size([int(v) for v in a.sizes.split(",")])
    if "oracle" in checks:
        try:
            check_oracle([int(v) for v in a.oracle_seeds.split(",")],
                         [tuple(int(u) for u in w.split(":")) for w in a.oracle_widths.split(",")])
        except ImportError:
            print("oracle: torch is not installed, skipped")
    if "clipping" in checks:
        check_clipping()
    if "labels" in checks:
        check_labels()


if __name__ == "__main__":
    main()
