"""Which error–uncertainty correlation (bench/RESULTS.md, "Which correlation"): on synthetic
posterior samples whose spread says nothing about their error, the correlation as
`stochinfer.langevin.metrics.calibration` computes it (logs of the absolute squared error
of the posterior mean and of the posterior variance) against methods.md §3.5's literal
definition (error averaged over samples, both divided by the same per-point mean f̂²).

Usage: PYTHONPATH=python python bench/lbn_calibration_definition.py [--seed 0]
"""
from __future__ import annotations

import argparse

import numpy as np

from stochinfer.langevin import metrics


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    S, n = 200, 2000
    f = 2.0 * rng.normal(size=(n, 2))                    # the truth
    mu = f + 0.3 * rng.normal(size=(n, 2))               # a posterior centre off by noise of fixed size
    sd = 0.3 * np.exp(rng.normal(size=(n, 2)))           # a spread unrelated to that error
    s = mu[None] + sd[None] * rng.normal(size=(S, n, 2))  # posterior samples
    mean_sq = (s ** 2).mean(axis=0)
    literal = np.corrcoef(np.log((((f - s) ** 2).mean(axis=0) / mean_sq).ravel()),
                          np.log((s.var(axis=0) / mean_sq).ravel()))[0, 1]
    ours = metrics.calibration(f.reshape(-1, 1), s.mean(axis=0).reshape(-1, 1), s.std(axis=0).reshape(-1, 1))
    print(f"uninformative spread, {n} points x 2 components, {S} samples (seed {args.seed}):")
    print(f"  methods.md §3.5 literal (error over samples, per-point relative): {literal:+.3f}")
    print(f"  stochinfer metrics.calibration (absolute, per entry):             {ours['corr']:+.3f} "
          f"(p = {ours['p_value']:.2g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
