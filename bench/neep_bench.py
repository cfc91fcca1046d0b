"""NEEP benchmark: stochinfer vs a PyTorch implementation of the same estimator
(bench/peers/neep_torch_peer.py), side by side in one run.

Parts (--part, default all):
  throughput   training updates/s (sample + forward + backward + Adam), batch 4096,
               3 hidden layers, d = 5, widths 256 and 64, float32, same thread count;
               and the GFLOP/s of a large float32 product (numpy), the machine's ceiling.
  convergence  bead-spring N = 5 (M = 1000 x 10^4, dt = 0.01, 10 substeps): wall time
               (training + evaluation) until the reported rate (test rate of the best
               validation checkpoint) is within 2% of σ_Δt. PyTorch with the paper's
               published defaults, stochinfer with its defaults and with the same defaults.
  memory       peak resident memory of a stochinfer fit on M = 1000 x 10^4 x 5 float32
               data (child process) vs the input array.

Usage: python bench/neep_bench.py [--part throughput|convergence|memory] [--threads 2]
       [--quick] [--torch-budget 900]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))

import stochinfer as si  # noqa: E402
import neep_torch_peer as tp  # noqa: E402
from _timing import load_average, load_record, machine  # noqa: E402


def our_steps_per_second(hidden: int, batch: int = 4096, n_steps: int = 30, threads: int = 2) -> float:
    x = np.random.default_rng(0).normal(size=(100, 1000, 5)).astype(np.float32)
    segs = np.array([[m, 0, 1000] for m in range(100)], dtype=np.int64)
    net = si._core.NeepModel32(state_dim=5, n_tokens=0, embed_dim=0, n_states=2, hidden=hidden, n_layers=3,
                               activation="relu", seed=0, n_threads=threads)
    net.train(x, segs, 3, batch, 1e-4, 0.9, 0.999, 1e-8, 5e-5, False, 0)  # warm-up
    t = time.perf_counter()
    net.train(x, segs, n_steps, batch, 1e-4, 0.9, 0.999, 1e-8, 5e-5, False, 1)
    return n_steps / (time.perf_counter() - t)


def large_sgemm_gflops(n: int = 2048, reps: int = 10) -> float:
    """GFLOP/s of a large float32 product through numpy's BLAS (its threads as set by
    the environment): the machine's practical float32 ceiling, for reading the ratios."""
    a = np.random.default_rng(1).random((n, n), dtype=np.float32)
    b = np.random.default_rng(2).random((n, n), dtype=np.float32)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2.0 * n ** 3 * reps / (time.perf_counter() - t) / 1e9


def throughput(args) -> dict:
    out = {"large_sgemm_gflops": large_sgemm_gflops()}
    print(f"reference: numpy float32 2048^3 product {out['large_sgemm_gflops']:.0f} GFLOP/s", flush=True)
    for hidden in (256, 64):
        n = 30 if hidden == 256 else 200
        if args.quick:
            n //= 3
        ours = max(our_steps_per_second(hidden, n_steps=n, threads=args.threads) for _ in range(2))
        row = {"stochinfer": ours}
        if tp.available():
            tp.set_threads(args.threads)
            for pp in tp.PAIR_PASSES:
                row[f"torch_{pp}"] = max(tp.training_steps_per_second(5, hidden=hidden, n_layers=3, batch=4096,
                                                                       n_steps=n, warmup=3, pair_pass=pp)
                                         for _ in range(2))
            best_torch = max(v for k, v in row.items() if k.startswith("torch"))
            row["ratio_vs_best_torch"] = ours / best_torch
        out[f"H={hidden}"] = row
        print(f"throughput H={hidden}: " + ", ".join(f"{k} {v:.3g}" for k, v in row.items()), flush=True)
    return out


def time_to_target(history: list, target: float, rel: float = 0.02):
    """Wall time at the first evaluation whose best-validation test rate is within rel of target."""
    best = None
    for h in history:
        if best is None or h["val_loss"] < best["val_loss"]:
            best = h
        if abs(best["test_rate"] / target - 1) <= rel:
            return h["train_s"] + h["eval_s"], h["iteration"]
    return None, None


def convergence(args) -> dict:
    M, L = (300, 10_000) if args.quick else (1000, 10_000)
    model = si.models.BeadSpring(n_beads=5)
    tr = si.simulate(model, n_traj=M, n_steps=L, dt=0.01, substeps=10, seed=0, dtype="float32")
    target = model.snapshot_ep_rate(0.01, substeps=10)
    split = si.ep.three_way_split(M, L + 1, seed=0)
    out = {"data": f"bead-spring N=5, {M} x {L}, dt 0.01, 10 substeps, float32", "target_sigma_dt": target}
    configs = {
        "stochinfer defaults": dict(),
        "stochinfer, paper defaults": dict(hidden=256, layers=3, activation="relu", lr=1e-4,
                                           lr_schedule="constant", weight_decay=5e-5,
                                           decoupled_weight_decay=False, standardize=False,
                                           n_iter=args.paper_iters, eval_every=500,
                                           # like the PyTorch peer: every validation transition per check
                                           # (the default caps them at 10⁶)
                                           val_max_transitions=10**9),
    }
    for name, cfg in configs.items():
        cfg = dict(cfg, record_test=True, progress=False, n_threads=args.threads)
        t = time.perf_counter()
        res = si.NEEP(**cfg).fit(tr, seed=0)
        wall = time.perf_counter() - t
        tt, it = time_to_target(res.history, target)
        out[name] = {"time_to_2pct_s": tt, "iteration": it, "final_rate": res.rate, "stderr": res.stderr,
                     "rel_error": res.relative_error, "r2": res.r2, "fit_wall_s": wall,
                     "settings": {k: res.settings[k] for k in ("hidden", "layers", "lr", "lr_schedule", "n_iter",
                                                               "batch", "eval_every")}}
        print(f"convergence {name}: time to 2% {tt} s (iteration {it}); final {res.rate:.4f} ± {res.stderr:.4f} "
              f"({100 * res.relative_error:+.2f}%), R² {res.r2:.4f}, {res.settings['iterations'][0]} iterations "
              f"in {wall:.0f} s", flush=True)
    if tp.available():
        tp.set_threads(args.threads)
        xs = [np.ascontiguousarray(tr.x[p[:, 0]]) for p in (split.train, split.val, split.test)]
        t = time.perf_counter()
        r = tp.train(*xs, 0.01, hidden=256, n_layers=3, lr=1e-4, weight_decay=5e-5, batch=4096,
                     n_iter=args.paper_iters, eval_every=500, seed=0, time_budget_s=args.torch_budget,
                     target_rate=target, target_rel=0.02, stop_at_target=False)
        wall = time.perf_counter() - t
        best = r["best"]
        out["torch, paper defaults"] = {"time_to_2pct_s": r["time_to_target_s"], "final_rate": best["test_rate"],
                                        "rel_error": best["test_rate"] / target - 1, "fit_wall_s": wall,
                                        "iterations": r["n_iter_done"], "steps_per_s": r["steps_per_s"]}
        print(f"convergence torch paper defaults: time to 2% {r['time_to_target_s']} s; best {best['test_rate']:.4f} "
              f"({100 * (best['test_rate'] / target - 1):+.2f}%), {r['n_iter_done']} iterations in {wall:.0f} s",
              flush=True)
    return out


def memory(args) -> dict:
    # ru_maxrss survives exec on Linux (a child would report its parent's peak): reset the
    # high-water mark through /proc/self/clear_refs and read VmHWM instead.
    code = r"""
import numpy as np, stochinfer as si
def hwm():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM"))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
m = si.models.BeadSpring(n_beads=5)
tr = si.simulate(m, n_traj=1000, n_steps=10_000, dt=0.01, substeps=10, seed=0, dtype="float32")
base = hwm()
res = si.NEEP(n_iter=%d, eval_every=250, progress=False).fit(tr, seed=0)
peak = hwm()
print(tr.x.nbytes, base, peak, res.estimator.net.n_params * 4)
""" % (250 if args.quick else 1000)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    nbytes, base, peak, model = map(int, out)
    limit = 1.5 * nbytes + model + 256 * 2**20
    r = {"input_MiB": nbytes / 2**20, "peak_rss_MiB": peak / 2**20, "rss_before_fit_MiB": base / 2**20,
         "limit_MiB (1.5 x input + model + 256 MiB)": limit / 2**20, "within_limit": peak <= limit}
    print("memory: " + ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()))
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["all", "throughput", "convergence", "memory"], default="all")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--paper-iters", type=int, default=None,
                    help="updates of both paper-settings runs (default 50000; 1000 with --quick)")
    ap.add_argument("--torch-budget", type=float, default=None,
                    help="seconds for the PyTorch convergence run (default 900; 120 with --quick); compare the "
                         "iterations each side completed")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.paper_iters is None:
        args.paper_iters = 1000 if args.quick else 50_000
    if args.torch_budget is None:
        args.torch_budget = 120.0 if args.quick else 900.0
    load0 = load_average()
    print(f"machine: {machine()}; stochinfer {si.__version__} (network ISA {si._core.nn_isa()}); "
          f"torch {tp.versions() if tp.available() else 'not installed'}; 1-min load {load0:.2f}", flush=True)
    results = {"machine": machine(), "command": " ".join(sys.argv)}
    for part in ("throughput", "convergence", "memory"):
        if args.part in ("all", part):
            results[part] = globals()[part](args)
    results["load"] = load_record(load0, args.threads)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
