#!/usr/bin/env python3
"""Where the CUDA backend's time goes: wall time of si.simulate(backend="cuda") for the
bead-spring chain (N = 5, float32, final state only, x(0) = 0) over a grid of trajectory
counts B and step counts L.  The wall time of one step per trajectory is the cost of a call
beside the integration (host initial states, transfers, output, checks); the difference
between 3000 and 1000 steps gives the kernel's own throughput.

    python bench/cuda_scaling.py                 # needs a CUDA build and a GPU
"""
from __future__ import annotations

import argparse
import os
import sys

from _timing import measure  # this folder is on sys.path when the script runs

try:
    import stochinfer as si
except ImportError:  # not installed: the repository's python/ (with a built _core)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import stochinfer as si


def wall(model, b, steps, dtype, repeats):
    """Median wall seconds of `repeats` calls."""
    return measure(lambda: si.simulate(model, b, steps, 0.01, record_every=steps, dtype=dtype, seed=0,
                                       initial="zeros", burn_in=0, backend="cuda"),
                   repeats=repeats, warmup=0)["median_s"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--beads", type=int, default=5)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    if not si.cuda_available():
        print("no CUDA device visible to stochinfer", file=sys.stderr)
        return 1
    model = si.models.BeadSpring(n_beads=args.beads)
    wall(model, 10**6, 100, args.dtype, 1)  # warm-up: context, module load
    grid = [(b, steps) for b in (10**5, 10**6, 10**7) for steps in (1, 10, 1000, 3000)]
    rows = []
    print(f"| B | L | wall s | bead-steps/s |\n|---:|---:|---:|---:|")
    for b, steps in grid:
        w = wall(model, b, steps, args.dtype, args.repeats)
        rows.append((b, steps, w))
        print(f"| {b:.0e} | {steps} | {w:.4g} | {b * steps * args.beads / w:.3e} |", flush=True)
    times = {(b, steps): w for b, steps, w in rows}
    print("\n| B | wall at L = 1, ns per trajectory | kernel bead-steps/s from L = 1000 → 3000 |\n|---:|---:|---:|")
    for b in sorted({b for b, _ in times}):
        kernel = b * 2000 * args.beads / (times[b, 3000] - times[b, 1000])
        print(f"| {b:.0e} | {times[b, 1] / b * 1e9:.1f} | {kernel:.3e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
