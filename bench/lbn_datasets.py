"""Langevin inference accuracy across independent datasets: the six-dataset tables
of bench/RESULTS.md ("Linear drift base", "Refit", "bootstrap band around a
full-data ensemble", "Diffusion base").

Protocol (methods.md §3.4, as tests/test_langevin_acceptance.py): one training
trajectory of 10^4 points at dt = 0.01 (10 substeps, seed s), scored on every
second state of an independent trajectory (seed s + 1); default settings except
the variant:
  default    infer_langevin(traj, regime, method)
  none       drift_base="none" (the network alone, as published)
  linear, cubic, auto   drift_base= that (polynomial degree of the drift networks' base)
  refit      refit=True
  out_of_bag ensemble only: validation="out_of_bag" (each drift member validates on the
             blocks its bootstrap left out, and trains on a resample of all rows)
  no_dbase   diffusion_base="none" (the diffusion network alone, as published)
  first_order_d  second_order_diffusion=False (the diffusion labels keep Δt²(JD + DJᵀ))
  resetting  the drift network trained with stochinfer.Resetting(prob=0.002, after=1000)
  recentred  ensemble only: the bagged members shifted by (full-data ensemble mean
             − bagged mean) at each state; the full-data ensemble is
             bootstrap=False. Scored from the fields, not through report().

--points N trains on a record of N points instead of 10^4 (the held-out record stays
10^4 points): how much data a target needs.

Usage: PYTHONPATH=python python bench/lbn_datasets.py [--systems nonlinear,inhomogeneous]
       [--methods bbb,ensemble] [--seeds 0,1,2,3,4,10]
       [--variants default,none,refit,out_of_bag,no_dbase,linear,cubic,auto,first_order_d,resetting,
       recentred]
       [--points 10000] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

import stochinfer as si
from stochinfer.langevin import TrainSettings, metrics

#: consecutive held-out points per block of the correlation's bootstrap: 20 blocks of 5 time units
BLOCK_LENGTH = 250

SYSTEMS = {
    "nonlinear": (si.models.Nonlinear, "overdamped", dict(burn_in=0, initial="zeros")),
    "inhomogeneous": (si.models.Inhomogeneous, "overdamped", dict(burn_in=0, initial="zeros")),
    "vanderpol": (si.models.VanDerPol, "underdamped", {}),
    "vanderpol_ihd": (si.models.VanDerPolIHD, "underdamped", {}),
}
VARIANTS = {"default": {}, "none": dict(drift_base="none"), "refit": dict(refit=True),
            "out_of_bag": dict(validation="out_of_bag"),
            "no_dbase": dict(diffusion_base="none"), "linear": dict(drift_base="linear"),
            "cubic": dict(drift_base="cubic"), "auto": dict(drift_base="auto"),
            # the diffusion labels without the drift gradient's O(dt) term (bench/RESULTS.md,
            # "Second-order diffusion labels")
            "first_order_d": dict(second_order_diffusion=False),
            # stochastic resetting of the drift network's training (bench/RESULTS.md, "Stochastic resetting")
            "resetting": dict(drift_settings=TrainSettings(resetting=si.Resetting(prob=0.002, after=1000)))}


def data(system: str, seed: int, points: int = 10**4):
    make, regime, kw = SYSTEMS[system]
    m = make()
    tr = si.simulate(m, 1, points, 0.01, substeps=10, seed=seed, **kw)
    te = si.simulate(m, 1, 10**4, 0.01, substeps=10, seed=seed + 1, **kw)
    pts = te.x[0] if regime == "overdamped" else np.concatenate([te.x[0], te.v[0]], axis=1)
    return m, regime, tr, pts[::2]


def scored(fit, m, pts) -> dict:
    """Drift R², band coverage and error–variance correlation (p from a block
    bootstrap along the held-out trajectory, and Fisher's p for independent
    points); the widening ratio of the acceptance test (mean drift std at the
    states shifted by 3 std over that at the states); diffusion relative error
    and band coverage."""
    with np.errstate(all="ignore"):
        rep = fit.report(m, points=pts, block_length=BLOCK_LENGTH)
    dr, c = rep["drift"], rep["drift"]["calibration"]
    widen = fit.drift(pts + 3 * pts.std(axis=0)).std.mean() / fit.drift(pts).std.mean()
    return dict(r2=dr["r2"], coverage=dr["coverage"], corr=c["corr"], p=c["p_value"],
                p_fisher=c.get("p_fisher", np.nan), widen=float(widen),
                d_error=rep["diffusion"]["relative_error"], d_coverage=rep["diffusion"]["coverage"],
                provenance=rep["provenance"])


def recentred(m, regime, tr, pts) -> dict:
    """Bagged members shifted onto the full-data ensemble's mean, with LangevinFit's t band."""
    bag = si.infer_langevin(tr, regime=regime, method="ensemble", progress=False)
    full = si.infer_langevin(tr, regime=regime, method="ensemble", bootstrap=False, progress=False)
    s_bag, s_full = bag.drift_samples(pts), full.drift_samples(pts)
    mean, sd, lo, hi = bag._band(s_bag - s_bag.mean(axis=0) + s_full.mean(axis=0), 0.95, ensemble=True)
    truth = m.drift(pts)
    cal = metrics.calibration(truth, mean, sd, block_length=BLOCK_LENGTH)
    return dict(r2=metrics.r2(truth, mean), coverage=metrics.coverage(truth, lo, hi), corr=cal["corr"],
                p=cal["p_value"], p_fisher=cal.get("p_fisher", np.nan), widen=float("nan"), d_error=float("nan"),
                d_coverage=float("nan"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", default="nonlinear,inhomogeneous")
    ap.add_argument("--methods", default="bbb,ensemble")
    ap.add_argument("--seeds", default="0,1,2,3,4,10")
    ap.add_argument("--variants", default="default,none")
    ap.add_argument("--points", type=int, default=10**4)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    rows = []
    print("| system | method | variant | seed | drift R² | coverage | corr (block p; Fisher p) | widening | D error "
          "| D coverage |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for system in args.systems.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            m, regime, tr, pts = data(system, seed, args.points)
            for method in args.methods.split(","):
                for variant in args.variants.split(","):
                    if variant in ("recentred", "out_of_bag") and method != "ensemble":
                        continue
                    if variant == "recentred":
                        r = recentred(m, regime, tr, pts)
                    else:
                        fit = si.infer_langevin(tr, regime=regime, method=method, progress=False,
                                                **VARIANTS[variant])
                        r = scored(fit, m, pts)
                    r.update(system=system, method=method, variant=variant, seed=seed)
                    rows.append(r)
                    print(f"| {system} | {method} | {variant} | {seed} | {r['r2']:.4f} | {r['coverage']:.3f} | "
                          f"{r['corr']:+.2f} ({r['p']:.1g}; {r['p_fisher']:.1g}) | {r['widen']:.2f} | "
                          f"{r['d_error']:.3f} | {r['d_coverage']:.2f} |", flush=True)
    print("\nmeans over seeds\n| system | method | variant | drift R² | coverage | D error |\n|---|---|---|---|---|---|")
    keys = dict.fromkeys((r["system"], r["method"], r["variant"]) for r in rows)
    for key in keys:
        sel = [r for r in rows if (r["system"], r["method"], r["variant"]) == key]
        print(f"| {' | '.join(key)} | {np.mean([r['r2'] for r in sel]):.4f} | "
              f"{np.mean([r['coverage'] for r in sel]):.3f} | {np.mean([r['d_error'] for r in sel]):.3f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else float(o))
    return 0


if __name__ == "__main__":
    sys.exit(main())
