"""Langevin Bayesian network benchmark: stochinfer vs a PyTorch implementation of
the same networks and loss (bench/peers/lbn_torch_peer.py), side by side.

Parts (--part, default all):
  throughput  training updates/s of the drift network (4 layers, last 2
              Bayesian, K = 3 weight samples, Adam, ELBO KL), d = 2, float32, at
              widths 256 (the paper's) and 128 (our default), batches 128 and 256.
  pipeline    wall time of stochinfer.infer_langevin (drift + diffusion, default
              settings) on one system's default data (nonlinear, 1 x 10^4 points),
              against the 2-minute target.
  simulate    simulating the inferred equation (per-sample mode, S = 20 posterior
              samples, default width 128): stochinfer's C++ loop against the numpy
              loop on the same networks (tests/test_inferred_langevin.py's float64
              reference, which the C++ loop reproduces) and a PyTorch loop with the
              same network shapes (bench/peers/lbn_torch_sim_peer.py).

Usage: python bench/lbn_bench.py [--part throughput|pipeline|simulate] [--threads 2] [--steps 300]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))

import stochinfer as si  # noqa: E402
from stochinfer import _core  # noqa: E402
from stochinfer._io import json_safe  # noqa: E402 (strict JSON: NaN as null)

from _timing import load_average, load_record, machine  # noqa: E402


def synthetic(n: int, d: int, dt: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (dt * (-x + np.sin(2 * x)) + np.sqrt(2 * dt) * rng.normal(size=(n, d))).astype(np.float32)
    return x, y


def ours_steps_per_s(x, y, hidden, batch, steps, threads, dt):
    net = _core.LangevinNet32(in_dim=x.shape[1], out_dim=y.shape[1], hidden=hidden, n_layers=4, n_bayes=2,
                              activation="elu", prior_std=0.1, rho_init=-5.0, head="affine", d=y.shape[1],
                              mean=[0.0] * y.shape[1], scale=[1.0] * y.shape[1], pred_scale=dt, diag_eps=1e-6,
                              n_members=1, seed=0, n_threads=threads)
    rows = np.arange(x.shape[0])
    kl = 0.01 / np.ceil(x.shape[0] / batch)
    net.train(x, y, rows, 20, batch, 3, kl, "elbo", 1e-3, 0.0, 0)  # warm-up
    t = time.perf_counter()
    net.train(x, y, rows, steps, batch, 3, kl, "elbo", 1e-3, 0.0, 0)
    return steps / (time.perf_counter() - t)


def throughput(args) -> list:
    try:
        import torch
        import lbn_torch_peer as tp
        torch.set_num_threads(args.threads)
    except ImportError:
        tp = None
        print("torch not installed: PyTorch column skipped (pip install torch)")
    dt, n = 0.01, 8000
    x, y = synthetic(n, 2, dt)
    rows = []
    print(f"| width | batch | stochinfer updates/s | PyTorch updates/s | ratio |")
    print(f"|---|---|---|---|---|")
    for hidden in (256, 128):
        for batch in (128, 256):
            ours = ours_steps_per_s(x, y, hidden, batch, args.steps, args.threads, dt)
            theirs = None
            if tp is not None:
                kw = dict(dt=dt, out_mean=np.zeros(2), out_std=np.ones(2), hidden=hidden, batch=batch, lr=1e-3,
                          seed=0, threads=args.threads)
                tp.train(x, y, n_steps=20, **kw)  # warm-up, as for stochinfer
                r = tp.train(x, y, n_steps=args.steps, **kw)
                theirs = r["steps_per_s"]
            ratio = ours / theirs if theirs else float("nan")
            print(f"| {hidden} | {batch} | {ours:.1f} | {theirs if theirs else float('nan'):.1f} | {ratio:.2f}x |",
                  flush=True)
            rows.append(dict(hidden=hidden, batch=batch, ours=ours, torch=theirs, ratio=ratio))
    return rows


def pipeline(args) -> list:
    m = si.models.Nonlinear()
    tr = si.simulate(m, 1, 10**4, 0.01, substeps=10, seed=0, burn_in=0, initial="zeros")
    out = []
    for method in ("bbb", "ensemble"):
        t = time.perf_counter()
        fit = si.infer_langevin(tr, method=method, n_threads=args.threads, progress=False)
        el = time.perf_counter() - t
        print(f"infer_langevin nonlinear, method {method}: {el:.1f} s (target < 120 s)")
        out.append(dict(method=method, seconds=el))
    return out


def simulate(args) -> list:
    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    from test_inferred_langevin import reference_simulation  # the numpy float64 loop
    try:
        import torch
        import lbn_torch_sim_peer as tsp
    except ImportError:
        tsp = None
        print("torch not installed: PyTorch column skipped (pip install torch)")
    m = si.models.Nonlinear()
    tr = si.simulate(m, 1, 10**4, 0.01, substeps=10, seed=0, burn_in=0, initial="zeros")
    quick = si.TrainSettings(n_iter=500)  # timing only: weights need not be converged
    fit = si.infer_langevin(tr, drift_settings=quick, diffusion_settings=quick, n_threads=args.threads,
                            progress=False)
    S, out = 20, []
    print("| trajectories x steps (S = 20) | stochinfer s | numpy loop s | PyTorch s | vs numpy | vs PyTorch |")
    print("|---|---|---|---|---|---|")
    for n_traj, n_steps in ((100, 1000), (1000, 200)):
        x0 = fit._val_states[0][:n_traj]
        t = time.perf_counter()
        fit.simulate(n_traj, n_steps, x0=x0, n_samples=S, seed=1)
        ours = time.perf_counter() - t
        t = time.perf_counter()
        reference_simulation(fit, x0, None, n_steps, fit.dt, S, 1, True, 1)
        ref = time.perf_counter() - t
        theirs = tsp.simulate(2, n_traj, n_steps, S, threads=args.threads)[1] if tsp else float("nan")
        print(f"| {n_traj} x {n_steps} | {ours:.2f} | {ref:.2f} | {theirs:.2f} | {ref / ours:.1f}x | "
              f"{theirs / ours:.1f}x |", flush=True)
        out.append(dict(n_traj=n_traj, n_steps=n_steps, S=S, ours_s=ours, numpy_s=ref, torch_s=theirs))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=["throughput", "pipeline", "simulate"], default=None)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    load0 = load_average()
    print(f"machine: {machine()}, threads {args.threads}, stochinfer {si.__version__} (nn ISA {_core.nn_isa()}); "
          f"1-min load {load0:.2f}")
    res = {"machine": machine(), "command": " ".join(sys.argv), "threads": args.threads,
           "isa": _core.nn_isa(), "stochinfer": si.__version__}
    if args.part in (None, "throughput"):
        res["throughput"] = throughput(args)
    if args.part in (None, "pipeline"):
        res["pipeline"] = pipeline(args)
    if args.part in (None, "simulate"):
        res["simulate"] = simulate(args)
    res["load"] = load_record(load0, args.threads)
    if args.json:  # strict JSON: a missing peer's NaN becomes null
        with open(args.json, "w") as fh:
            json.dump(json_safe(res), fh, indent=1, allow_nan=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
