"""Missing frames in Langevin data: drift R² and diffusion error when the record is cut at its
gaps (infer_langevin(gaps='split')) against the same record linearly interpolated across them,
and the record without gaps (bench/RESULTS.md, "Missing frames").

Protocol: the nonlinear system (methods.md §5.4), one trajectory of 10⁴ points at dt = 0.01
(10 substeps, seed 0, from x = 0), scored on every 10th state of an independent trajectory
(seed 1); gaps of 1-6 frames (uniform) start every G frames on average (G uniform in
[G/2, 3G/2)), from a generator seeded 2; default fit, seed 0.

--compare-splits: how tracks cut at gaps are validated, on datasets simulated with the given
seeds (gaps from seed + 10, test trajectory seed 99): the last rows of each piece ('time') or
whole tracks ('track'; the fit's choice when that keeps over data.TRACK_SPLIT_GAIN times the
rows), each forced by setting that constant.

Usage: PYTHONPATH=python python bench/lbn_gaps.py [--every 50,12] [--methods bbb,ensemble]
       PYTHONPATH=python python bench/lbn_gaps.py --compare-splits [--datasets 1,2,3,4] [--net-seeds 0]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import stochinfer as si


def with_gaps(x: np.ndarray, every: int, seed: int = 2) -> np.ndarray:
    """x (L, d) with gaps of 1-6 frames (NaN) starting about every `every` frames."""
    rng = np.random.default_rng(seed)
    y = x.copy()
    i = int(rng.integers(every // 2, every + every // 2))
    while i < len(x) - 1:
        g = int(rng.integers(1, 7))
        y[i:i + g] = np.nan
        i += g + int(rng.integers(every // 2, every + every // 2))
    return y


def interpolated(y: np.ndarray) -> np.ndarray:
    """y with each coordinate's NaN frames linearly interpolated from the frames beside them."""
    out = y.copy()
    ok = ~np.isnan(y).any(axis=1)
    for j in range(y.shape[1]):
        out[~ok, j] = np.interp(np.flatnonzero(~ok), np.flatnonzero(ok), y[ok, j])
    return out


def compare_splits(m, every: list, methods: list, datasets: list, net_seeds: list) -> None:
    """Drift R² and D error of gaps='split' fits with each validation rule forced."""
    from stochinfer.langevin import data as langevin_data
    rule = {"time": float("inf"), "track": 1.0}
    test = si.simulate(m, 1, 10_000, 0.01, substeps=10, seed=99, burn_in=0, initial="zeros").x[0, ::10]
    print("| gaps every | dataset | method | network seed | drift R², time → track | D error, time → track | "
          "rows, time → track |")
    print("|---|---|---|---|---|---|---|")
    saved = langevin_data.TRACK_SPLIT_GAIN
    try:
        for g in every:
            for ds in datasets:
                x = si.simulate(m, 1, 10_000, 0.01, substeps=10, seed=ds, burn_in=0, initial="zeros").x[0]
                y = with_gaps(x, g, seed=ds + 10)
                for method in methods:
                    for net in net_seeds:
                        out = {}
                        for name, gain in rule.items():
                            langevin_data.TRACK_SPLIT_GAIN = gain
                            with warnings.catch_warnings():
                                warnings.simplefilter("ignore", UserWarning)
                                fit = si.infer_langevin(y, dt=0.01, method=method, seed=net, gaps="split",
                                                        progress=False)
                            r = fit.report(m, points=test)
                            rows = next(n.split(": ")[1].split(" of ")[0] for n in fit.notes if "rows kept" in n)
                            out[name] = (r["drift"]["r2"], r["diffusion"]["relative_error"], rows)
                        print(f"| {g} | {ds} | {method} | {net} | {out['time'][0]:.3f} → {out['track'][0]:.3f} | "
                              f"{out['time'][1]:.3f} → {out['track'][1]:.3f} | {out['time'][2]} → {out['track'][2]} |",
                              flush=True)
    finally:
        langevin_data.TRACK_SPLIT_GAIN = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--every", default="50,12")
    ap.add_argument("--methods", default="bbb,ensemble")
    ap.add_argument("--compare-splits", action="store_true")
    ap.add_argument("--datasets", default="1,2,3,4")
    ap.add_argument("--net-seeds", default="0")
    a = ap.parse_args()
    m = si.models.Nonlinear()
    if a.compare_splits:
        compare_splits(m, [int(v) for v in a.every.split(",")], a.methods.split(","),
                       [int(v) for v in a.datasets.split(",")], [int(v) for v in a.net_seeds.split(",")])
        return
    x = si.simulate(m, 1, 10_000, 0.01, substeps=10, seed=0, burn_in=0, initial="zeros").x[0]
    test = si.simulate(m, 1, 10_000, 0.01, substeps=10, seed=1, burn_in=0, initial="zeros").x[0, ::10]
    print("| gaps every | missing | record | method | drift R² | drift coverage | D relative error | rows used | fit s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for every in [int(v) for v in a.every.split(",")]:
        y = with_gaps(x, every)
        missing = f"{np.isnan(y).any(axis=1).mean():.1%}"
        for name, data, kw in (("whole", x, {}), ("cut at gaps", y, dict(gaps="split")),
                               ("interpolated", interpolated(y), {})):
            for method in a.methods.split(","):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    t = time.perf_counter()
                    fit = si.infer_langevin(data, dt=0.01, method=method, seed=0, progress=False, **kw)
                    took = time.perf_counter() - t
                r = fit.report(m, points=test)
                kept = next((n.split(": ")[1].split(" rows kept")[0] for n in fit.notes if "rows kept" in n), "all")
                print(f"| {every} | {missing} | {name} | {method} | {r['drift']['r2']:.3f} | "
                      f"{r['drift']['coverage']:.2f} | {r['diffusion']['relative_error']:.3f} | {kept} | {took:.0f} |",
                      flush=True)


if __name__ == "__main__":
    main()
