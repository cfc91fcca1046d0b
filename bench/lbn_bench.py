"""Langevin Bayesian network benchmark: stochinfer vs a PyTorch implementation of
the same networks and loss (bench/peers/lbn_torch_peer.py), side by side.

Parts (--part, default all):
  throughput  training updates/s of the drift network (4 layers, last 2
              Bayesian, K = 3 weight samples, Adam, ELBO KL), d = 2, float32, at
              widths 256 (the paper's) and 128 (our default), batches 128 and 256.
  pipeline    wall time of stochinfer.infer_langevin (drift + diffusion, default
              settings) on one system's default data (nonlinear, 1 x 10^4 points),
              against the 2-minute target.

Usage: python bench/lbn_bench.py [--part throughput|pipeline] [--threads 2] [--steps 300]
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

from _timing import machine  # noqa: E402


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
                r = tp.train(x, y, dt=dt, out_mean=np.zeros(2), out_std=np.ones(2), hidden=hidden, batch=batch,
                             n_steps=args.steps, lr=1e-3, seed=0, threads=args.threads)
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=["throughput", "pipeline"], default=None)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    print(f"machine: {machine()}, threads {args.threads}, stochinfer {si.__version__} (nn ISA {_core.nn_isa()})")
    res = {}
    if args.part in (None, "throughput"):
        res["throughput"] = throughput(args)
    if args.part in (None, "pipeline"):
        res["pipeline"] = pipeline(args)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
