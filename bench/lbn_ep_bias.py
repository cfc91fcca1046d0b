"""EP of the inferred equation against the exact rate, with and without the bias
correction of fit.thermodynamics (bench/RESULTS.md, "EP bias correction").

Protocol: a bead-spring chain of N beads (methods.md §5.1: k = γ = 1, T from 1 to 10),
5 trajectories of 3000 points at dt = 0.01 (10 substeps; T = 150 time units), seed 100 + s;
a default fit (method, seed s); fit.simulate(100, 2000, seed=1) (20 posterior samples;
ensembles: their 5 members) and fit.thermodynamics of it: the per-sample read-out and the
corrected one, each against the exact σ (models.BeadSpring.ep_rate) in units of its own
error bar. Prints one line per dataset and the counts within 1.96 bars.

Usage: PYTHONPATH=python python bench/lbn_ep_bias.py [--beads 2,4,8] [--methods bbb,ensemble]
       [--seeds 0,1,2,3] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import stochinfer as si

N_TRAJ, N_POINTS, DT = 5, 3000, 0.01


def one(n_beads: int, method: str, seed: int) -> dict:
    """The read-outs of one dataset and fit."""
    model = si.models.BeadSpring(n_beads=n_beads)
    traj = si.simulate(model, n_traj=N_TRAJ, n_steps=N_POINTS, dt=DT, substeps=10, seed=100 + seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # notes on the data (none expected) are not what is measured
        fit = si.infer_langevin(traj, method=method, seed=seed, progress=False)
    th = fit.thermodynamics(fit.simulate(100, 2000, seed=1))
    exact = model.ep_rate()
    return {"beads": n_beads, "method": method, "seed": seed, "exact": exact,
            "drift_r2": fit.report(model)["drift"]["r2"],
            "per_sample": th["ep_rate_per_sample"], "per_sample_error": th["error_per_sample"],
            "mean_path": th["ep_rate_mean_path"], "corrected": th["ep_rate"], "corrected_error": th["error"],
            "z_per_sample": (th["ep_rate_per_sample"] - exact) / th["error_per_sample"],
            "z_corrected": (th["ep_rate"] - exact) / th["error"], "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--beads", default="2,4,8")
    ap.add_argument("--methods", default="bbb,ensemble")
    ap.add_argument("--seeds", default="0,1,2,3")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    rows = []
    for n in [int(v) for v in a.beads.split(",")]:
        for method in a.methods.split(","):
            for seed in [int(v) for v in a.seeds.split(",")]:
                r = one(n, method, seed)
                rows.append(r)
                print(f"N={n} {method:8s} seed {seed}: exact {r['exact']:.3f}  per-sample {r['per_sample']:.3f} ± "
                      f"{r['per_sample_error']:.3f} (z {r['z_per_sample']:+.1f})  corrected {r['corrected']:.3f} ± "
                      f"{r['corrected_error']:.3f} (z {r['z_corrected']:+.1f})  drift R² {r['drift_r2']:.3f}  "
                      f"{r['seconds']:.0f} s", flush=True)
            sel = [r for r in rows if r["beads"] == n and r["method"] == method]
            within = lambda key: sum(abs(r[key]) < 1.96 for r in sel)
            print(f"N={n} {method}: within 1.96 bars, per-sample {within('z_per_sample')}/{len(sel)}, corrected "
                  f"{within('z_corrected')}/{len(sel)}", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
