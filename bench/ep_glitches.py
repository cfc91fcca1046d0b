"""Glitched frames in EP data: TUR and NEEP on a bead-spring chain with three glitched frames,
kept (the estimators only warn) or cut out with stochinfer.split_at_gaps(x, glitches='cut')
(bench/RESULTS.md, "Glitched frames in EP data").

Protocol: BeadSpring(2) (T 1 and 10), 10 trajectories of 10⁴ points at dt = 0.01 (seed 0);
frames (0, 4000), (3, 9000) and (7, 2000) displaced by +A, −A and +A position SD; TUR, and
NEEP with n_iter=3000 (seed 0); EP rate ± standard error against σ = 2.025.

Usage: PYTHONPATH=python python bench/ep_glitches.py [--amplitudes 0,5,100]
"""
from __future__ import annotations

import argparse
import time
import warnings

import stochinfer as si


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--amplitudes", default="0,5,100")
    a = ap.parse_args()
    m = si.models.BeadSpring(2)
    x = si.simulate(m, 10, 10_000, 0.01, seed=0).x
    sd = x.std(axis=(0, 1))
    print(f"truth σ = {m.ep_rate():.4g}\n")
    print("| glitch (position SD) | data | method | EP rate ± SE | time s |")
    print("|---|---|---|---|---|")
    for amp in [float(v) for v in a.amplitudes.split(",")]:
        y = x.copy()
        y[0, 4000] += amp * sd
        y[3, 9000] -= amp * sd
        y[7, 2000] += amp * sd
        cases = [("kept", y), ("cut", si.split_at_gaps(y, glitches="cut"))] if amp else [("clean", y)]
        for name, data in cases:
            for method, kw in (("tur", {}), ("neep", dict(n_iter=3000))):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    t = time.perf_counter()
                    r = si.entropy_production(data, 0.01, method=method, model=m, seed=0, **kw)
                print(f"| {amp:g} | {name} | {method} | {r.rate:.3f} ± {r.stderr:.3f} | "
                      f"{time.perf_counter() - t:.0f} |", flush=True)


if __name__ == "__main__":
    main()
