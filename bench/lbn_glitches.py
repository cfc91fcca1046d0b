"""One glitched frame in Langevin data: drift R² and diffusion error with the rows that use
it dropped (infer_langevin's default, glitches='drop') or kept (bench/RESULTS.md, "Glitched
frames").

Protocol: the nonlinear system (methods.md §5.4), one trajectory of 10⁴ points at dt = 0.01
(10 substeps, seed 0, from x = 0), scored on every 10th state of an independent trajectory
(seed 1); frames 4000 (+A SD) and 9000 (−A SD) displaced by A position standard deviations
(A = 0: the clean data); default fit, seed 0.

Usage: PYTHONPATH=python python bench/lbn_glitches.py [--amplitudes 0,5,100] [--methods bbb,ensemble]
"""
from __future__ import annotations

import argparse
import warnings

import stochinfer as si


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--amplitudes", default="0,5,100")
    ap.add_argument("--methods", default="bbb,ensemble")
    a = ap.parse_args()
    m = si.models.Nonlinear()
    x = si.simulate(m, 1, 10_000, 0.01, substeps=10, seed=0, burn_in=0, initial="zeros").x
    test = si.simulate(m, 1, 10_000, 0.01, substeps=10, seed=1, burn_in=0, initial="zeros").x[0, ::10]
    sd = x[0].std(axis=0)
    print("| glitch (position SD) | method | glitches= | drift R² | drift coverage | D relative error |")
    print("|---|---|---|---|---|---|")
    for amp in [float(v) for v in a.amplitudes.split(",")]:
        y = x.copy()
        y[0, 4000] += amp * sd
        y[0, 9000] -= amp * sd
        for method in a.methods.split(","):
            for how in (("drop",) if amp == 0 else ("drop", "keep")):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # the glitch warning is the point's name
                    try:
                        fit = si.infer_langevin(y, dt=0.01, method=method, seed=0, glitches=how, progress=False)
                    except ValueError as exc:  # kept glitches can leave no positive-definite mean diffusion
                        print(f"| {amp:g} | {method} | {how} | refused: {exc} | | |", flush=True)
                        continue
                r = fit.report(m, points=test)
                print(f"| {amp:g} | {method} | {how} | {r['drift']['r2']:.3f} | {r['drift']['coverage']:.2f} | "
                      f"{r['diffusion']['relative_error']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
