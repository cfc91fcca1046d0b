"""Brownian Carnot engine (methods.md §5.8, τ = 100): the acceptance test's protocol
(tests/test_langevin_acceptance.py, _carnot) with chosen infer_langevin options, for
comparing builds and options: 100 recorded cycles (seed 0), an ensemble fit with
time as an input, its inferred equation simulated for 1200 cycles per member from
the data's cycle-start states (noise seed 5); prints drift R², diffusion relative
error, work per cycle with its error bar, heat from the hot bath and efficiency
against the moment-ODE values. About 2.5 min on 2 cores.

Usage: PYTHONPATH=python python bench/lbn_carnot.py [--option drift_base=none ...]
"""
from __future__ import annotations

import argparse
import ast
import time

import numpy as np

import stochinfer as si


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                    help="infer_langevin keyword (value a Python literal or a string)")
    args = ap.parse_args(argv)
    options = {}
    for item in args.option:
        name, _, value = item.partition("=")
        try:
            options[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[name] = value
    m = si.models.BrownianCarnot(tau=100.0)
    tr = si.simulate(m, n_traj=100, n_steps=10_000, dt=0.01, substeps=10, seed=0)
    t0 = time.perf_counter()
    fit = si.infer_langevin(tr, regime="underdamped", time_dependent=True, method="ensemble", progress=False,
                            **options)
    took = time.perf_counter() - t0
    rep = fit.report(m)
    start = np.arange(1200) % tr.x.shape[0]
    v0 = (tr.x[start, 1] - tr.x[start, 0]) / 0.01  # finite-difference velocity: positions only
    sim = fit.simulate(1200, 10_000, x0=tr.x[start, 0], v0=v0, seed=5, period=100.0, record_every=5)
    th = fit.thermodynamics(sim, m)
    exact = m.cycle_thermodynamics()
    print(f"options {options}: drift R² {rep['drift']['r2']:.4f}, D error {rep['diffusion']['relative_error']:.3f}, "
          f"fit {took:.0f} s")
    print(f"  W per cycle {th['work_per_cycle']:.3f} ± {th['error']:.3f} (exact {exact['mean_work']:.4f}, "
          f"{100 * (th['work_per_cycle'] / exact['mean_work'] - 1):+.1f}%), Q_h {th['heat_hot']:.3f} "
          f"({exact['heat_hot']:.4f}), efficiency {th['efficiency']:.3f} ({exact['efficiency']:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
