#!/usr/bin/env python3
"""Correctness check of the benchmark peers (and stochinfer, if importable).

Bead-spring chain, N=2, B=1e4 trajectories, L=2000 EM steps of dt=0.01 from
x=0, frames every 10 steps; the first 1000 steps (10 time units, >> the
slowest covariance relaxation time 1/2) are discarded as burn-in.  For every
peer the stationary second moments <x_i^2> (and <x_1 x_2>) are estimated over
trajectories and the remaining frames, and compared with the EM discrete
Lyapunov covariance  C = B C B^T + 2 D dt,  B = I + A dt  (not the
continuous-time C: EM at dt=0.01 inflates <x_2^2> by ~0.8%).  Standard errors
come from the spread of per-trajectory time averages (trajectories are
independent).

Pass criterion: every peer within --tol (default 3%) of the theory for each
<x_i^2>, and all peers within --tol of each other.  Each peer runs in its own
subprocess (JAX x64 is process-global).  Exit status 1 on failure.

    python bench/check_peers.py [--dtype float64|float32] [--peers numpy,numba,...]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from peers import PEERS  # noqa: E402

TAG = "@@CHECK_RESULT@@"


def worker(spec):
    import numpy as np
    from peers import PeerUnavailable, load_peer

    try:
        peer = load_peer(spec["peer"])
    except PeerUnavailable as exc:
        return {"peer": spec["peer"], "status": "unavailable", "note": str(exc)}
    peer.setup(spec["dtype"])
    n, b, l, r, burn = spec["n_beads"], spec["n_traj"], spec["n_steps"], spec["record_every"], spec["burn_in"]
    x = peer.simulate(n, b, l, spec["dt"], r, spec["dtype"], spec["seed"])
    if x.shape != (b, l // r + 1, n):
        return {"peer": spec["peer"], "status": "error", "note": f"bad shape {x.shape}"}
    xs = np.asarray(x[:, burn // r + 1:, :], dtype=np.float64)  # frames strictly after burn-in
    per_traj = (xs ** 2).mean(axis=1)                               # (B, N)
    cross = (xs[:, :, :-1] * xs[:, :, 1:]).mean(axis=1)             # (B, N-1) neighbour products
    return {
        "peer": spec["peer"], "status": "ok", "frames_used": int(xs.shape[1]),
        "mean_x2": per_traj.mean(axis=0).tolist(),
        "se_x2": (per_traj.std(axis=0, ddof=1) / np.sqrt(b)).tolist(),
        "mean_xx": cross.mean(axis=0).tolist(),
        "se_xx": (cross.std(axis=0, ddof=1) / np.sqrt(b)).tolist(),
        "mean_x": xs.mean(axis=(0, 1)).tolist(),
        "finite": bool(np.isfinite(xs).all()),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    ap.add_argument("--n-traj", type=int, default=10**4)
    ap.add_argument("--n-steps", type=int, default=2000)
    ap.add_argument("--burn-in", type=int, default=1000)
    ap.add_argument("--record-every", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tol", type=float, default=0.03, help="relative tolerance (default 3%%)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker is not None:
        spec = json.loads(args.worker)
        try:
            res = worker(spec)
        except Exception as exc:
            res = {"peer": spec["peer"], "status": "error", "note": f"{type(exc).__name__}: {exc}"}
        print("\n" + TAG + json.dumps(res))
        return 0

    import numpy as np
    from peers import _model

    n = 2
    c = _model.em_stationary_covariance(n, 0.01)
    c_cont = _model.continuous_stationary_covariance(n)
    theory = np.diag(c)
    print(f"N={n}, B={args.n_traj}, L={args.n_steps}, dt=0.01, {args.dtype}, burn-in {args.burn_in} steps, "
          f"frames every {args.record_every}")
    print(f"theory (EM discrete Lyapunov): <x_i^2> = {np.round(theory, 4).tolist()}, <x1 x2> = {c[0, 1]:.4f}"
          f"   (continuous-time: {np.round(np.diag(c_cont), 4).tolist()}, {c_cont[0, 1]:.4f})")

    results = []
    for p in [s.strip() for s in args.peers.split(",") if s.strip()]:
        spec = {"peer": p, "dtype": args.dtype, "n_beads": n, "n_traj": args.n_traj, "n_steps": args.n_steps,
                "record_every": args.record_every, "burn_in": args.burn_in, "dt": 0.01, "seed": args.seed}
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
                              capture_output=True, text=True, cwd=HERE)
        line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith(TAG)), None)
        res = json.loads(line[len(TAG):]) if line else {
            "peer": p, "status": "error", "note": f"exit {proc.returncode}: {proc.stderr[-500:]}"}
        results.append(res)

    ok_all = True
    print()
    print("| peer | <x1^2> | <x2^2> | rel. dev. vs theory | z (dev/SE) | <x1 x2> | status |")
    print("|---|---:|---:|---:|---:|---:|---|")
    good = []
    for r in results:
        if r["status"] != "ok":
            print(f"| {r['peer']} | – | – | – | – | – | {r['status']}: {r.get('note', '')} |")
            if r["status"] == "error":
                ok_all = False
            continue
        m = np.array(r["mean_x2"])
        se = np.array(r["se_x2"])
        rel = m / theory - 1
        z = (m - theory) / se
        passed = bool(r["finite"]) and bool(np.all(np.abs(rel) < args.tol))
        ok_all &= passed
        good.append(r)
        print(f"| {r['peer']} | {m[0]:.4f} ± {se[0]:.4f} | {m[1]:.4f} ± {se[1]:.4f} | "
              f"{', '.join(f'{v:+.2%}' for v in rel)} | {', '.join(f'{v:+.1f}' for v in z)} | "
              f"{r['mean_xx'][0]:.4f} ± {r['se_xx'][0]:.4f} | {'PASS' if passed else 'FAIL'} |")
    if len(good) >= 2:
        ms = np.array([r["mean_x2"] for r in good])
        spread = (ms.max(axis=0) - ms.min(axis=0)) / ms.mean(axis=0)
        agree = bool(np.all(spread < args.tol))
        ok_all &= agree
        print(f"\npeer-to-peer spread of <x_i^2>: {', '.join(f'{v:.2%}' for v in spread)} "
              f"(tol {args.tol:.0%}) -> {'PASS' if agree else 'FAIL'}")
    if not good:  # every peer unavailable: nothing was checked, which is not a pass
        print("\nNOTHING CHECKED: no peer ran (install the ones listed as unavailable)")
        return 1
    print(f"\n{'ALL PASS' if ok_all else 'FAILED'} ({len(good)} of {len(results)} peers checked)")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
