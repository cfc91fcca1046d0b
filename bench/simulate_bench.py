#!/usr/bin/env python3
"""Bead-spring chain Euler-Maruyama benchmark: stochinfer vs. peers.

Model (methods §5.1): N beads, dx_i = (k/g)(x_{i-1} - 2x_i + x_{i+1}) dt
+ sqrt(2 T_i/g) dW_i, walls x_0 = x_{N+1} = 0, k = g = 1, T_c = 1, T_h = 10,
dt = 0.01, start at x = 0.  Throughput = bead-steps/s = B*N*L / wall seconds.

    python bench/simulate_bench.py            # = --quick (4 headline cases; ~5-10 min on 2 idle cores)
    python bench/simulate_bench.py --full     # whole grid (long: tens of minutes)
    python bench/simulate_bench.py --smoke    # tiny cases, checks the harness in ~1 min
    python bench/simulate_bench.py --quick --peers numpy,numba --json out.json

Every (case, peer) runs in its own subprocess (isolates peak RSS, JAX's
x64 flag, thread pools).  In the subprocess: import + setup, a pilot of
max(1, L/10) steps at the full B (run twice: first call warms up / compiles),
extrapolate the pilot to the full L; if that estimate exceeds the per-case
budget the full run is NOT done and the row is marked "~" (extrapolated).
Otherwise: shape-specialised JITs are compiled for the full shape first
(diffrax: ahead-of-time ``prepare()``; a peer without it gets a full-size
warm-up run), then k timed full runs (k <= --repeats, fewer if they would not
fit the budget, more for sub-second runs); the median is reported.  The short
pilot is the warm-up for the other peers (numba compiles there).  Cases whose
output (times the peer's memory factor) would not fit in --mem-limit-gb are
skipped.  Peers that cannot be imported are reported as unavailable.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from peers import PEERS  # noqa: E402  (no heavy imports here)

WORKER_TAG = "@@BENCH_RESULT@@"
DT = 0.01
SEED = 0


# --------------------------------------------------------------------------- cases

def make_case(n_beads, n_traj, n_steps, record, dtype):
    """record: an int R (store every R-th step) or "final" (R = L: initial + final frame)."""
    r = n_steps if record == "final" else int(record)
    rec_label = "final" if record == "final" else f"every {r}"
    return {
        "label": f"N={n_beads} B={n_traj:.0e} L={n_steps:.0e} {dtype} {rec_label}".replace("e+0", "e"),
        "n_beads": n_beads, "n_traj": n_traj, "n_steps": n_steps, "record_every": r,
        "record": rec_label, "dtype": dtype, "dt": DT, "seed": SEED,
    }


def quick_cases():
    return [make_case(5, 10**5, 10**3, rec, dt)
            for dt in ("float32", "float64") for rec in (1, "final")]


def gpu_cases():
    """GPU headline (issue target: >= 1e11 bead-steps/s for N = 5, float32, final state only)."""
    return [make_case(5, b, 10**3, rec, "float32") for b in (10**6, 10**7) for rec in ("final", 100)]


def smoke_cases():
    """Tiny cases that exercise every code path in seconds (harness self-test, not a benchmark)."""
    return [make_case(3, 200, 100, 1, "float32"), make_case(3, 200, 100, "final", "float64")]


def full_cases():
    return [make_case(n, b, 10**3, rec, dt)
            for n in (2, 5, 32) for b in (10**3, 10**5)
            for rec in (1, 100, "final") for dt in ("float32", "float64")]


def output_bytes(case):
    itemsize = 4 if case["dtype"] == "float32" else 8
    frames = case["n_steps"] // case["record_every"] + 1
    return case["n_traj"] * frames * case["n_beads"] * itemsize


def bead_steps(case):
    return case["n_traj"] * case["n_beads"] * case["n_steps"]


# --------------------------------------------------------------------------- machine

def machine_info():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {
        "cpu_model": cpu,
        "nproc": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "mem_total_bytes": mem,
        "loadavg_1min_at_start": os.getloadavg()[0],
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def git_rev():
    try:
        return subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except Exception:
        return None


# --------------------------------------------------------------------------- worker

def run_worker(spec):
    """Runs in the subprocess: one (case, peer).  Returns a JSON-able dict."""
    import numpy as np
    import _timing
    from peers import PeerUnavailable, load_peer

    case, peer_name = spec["case"], spec["peer"]
    res = {"peer": peer_name, "case": case["label"], "loadavg_start": os.getloadavg()[0]}
    t_import = time.perf_counter()
    try:
        peer = load_peer(peer_name)
    except PeerUnavailable as exc:
        res.update(status="unavailable", note=str(exc))
        return res
    peer.setup(case["dtype"])
    res["import_s"] = time.perf_counter() - t_import
    res["versions"] = peer.versions()
    res["baseline_rss_bytes"] = _timing.current_rss_bytes()

    N, B, L, R = case["n_beads"], case["n_traj"], case["n_steps"], case["record_every"]
    dtype, dt, seed = case["dtype"], case["dt"], case["seed"]
    expected = (B, L // R + 1, N)
    checks = {}

    def check(x):
        if tuple(x.shape) != expected:
            raise AssertionError(f"{peer_name}: shape {tuple(x.shape)} != expected {expected}")
        if np.dtype(x.dtype) != np.dtype(dtype):
            raise AssertionError(f"{peer_name}: dtype {x.dtype} != {dtype}")
        last = np.asarray(x[:, -1, :], dtype=np.float64)
        checks["finite_last_frame"] = bool(np.isfinite(last).all())
        checks["mean_x2_last_frame"] = [float(v) for v in (last ** 2).mean(axis=0)]

    # Pilot: full B, L/10 steps (first call = warm-up / compile, second timed).
    Lp = max(1, min(L, math.ceil(L * spec["pilot_frac"])))
    Rp = R if R <= Lp else Lp
    pilot = lambda: peer.simulate(N, B, Lp, dt, Rp, dtype, seed)  # noqa: E731
    t_first = _timing.timed_call(pilot)
    t_pilot = _timing.timed_call(pilot)
    est = t_pilot * L / Lp
    res.update(pilot_steps=Lp, pilot_first_call_s=t_first, pilot_s=t_pilot, estimate_full_s=est)

    budget = spec["budget_s"]
    # Shape-specialised JITs need a full-shape warm-up; an ahead-of-time
    # prepare() (compile only, untimed) replaces that full-size run.
    prepare = getattr(peer, "prepare", None)
    warm = 1 if (peer.JIT_SHAPE_SPECIALIZED and prepare is None) else 0
    if est * (1 + warm) > budget:
        res.update(status="extrapolated", wall_s=est,
                   note=f"pilot ({Lp} steps) x L/{Lp} = {est:.1f}s; full run would exceed the "
                        f"{budget:.0f}s budget, not run")
    else:
        k = spec["repeats"]
        if est > 0:
            fit = int(budget // est) - warm
            k = max(1, min(k, fit))
            if est * k < 0.5:  # very short runs: more repeats for a stable median
                k = min(50, max(k, math.ceil(0.5 / max(est, 1e-6))))
        if peer.JIT_SHAPE_SPECIALIZED and prepare is not None:
            t0 = time.perf_counter()
            prepare(N, B, L, dt, R, dtype, seed)
            res["prepare_s"] = time.perf_counter() - t0
        full = lambda: peer.simulate(N, B, L, dt, R, dtype, seed)  # noqa: E731
        m = _timing.measure(full, repeats=k, warmup=warm, on_result=check)
        res.update(status="ok", wall_s=m["median_s"], min_s=m["min_s"], times_s=m["times_s"],
                   warmup_s=m["warmup_s"], k=m["k"], checks=checks)
    res["loadavg_end"] = os.getloadavg()[0]
    res["peak_rss_bytes"] = _timing.peak_rss_bytes()
    if res["status"] == "ok":
        res["memory_basis"] = "full"
        res["output_bytes"] = int(np.prod(expected)) * np.dtype(dtype).itemsize
    else:  # only the pilot ran: memory numbers describe the pilot
        res["memory_basis"] = "pilot"
        res["output_bytes"] = B * (Lp // Rp + 1) * N * np.dtype(dtype).itemsize
    res["overhead_bytes"] = res["peak_rss_bytes"] - res["output_bytes"]
    return res


def worker_main(spec_json):
    spec = json.loads(spec_json)
    try:
        res = run_worker(spec)
    except Exception as exc:  # report, don't crash the whole benchmark
        import traceback
        res = {"peer": spec["peer"], "case": spec["case"]["label"], "status": "error",
               "note": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    sys.stdout.write("\n" + WORKER_TAG + json.dumps(res) + "\n")
    sys.stdout.flush()


def launch(case, peer, args):
    spec = {"case": case, "peer": peer, "budget_s": args.budget, "repeats": args.repeats,
            "pilot_frac": args.pilot_frac}
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    # generous wall limit: pilot + warm-up + k runs are all bounded by the budget
    timeout = 4 * args.budget + 300
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE)
    except subprocess.TimeoutExpired:
        return {"peer": peer, "case": case["label"], "status": "error",
                "note": f"worker timed out after {timeout:.0f}s"}
    out = p.stdout
    for line in reversed(out.splitlines()):
        if line.startswith(WORKER_TAG):
            res = json.loads(line[len(WORKER_TAG):])
            res["process_s"] = time.perf_counter() - t0
            return res
    tail = (p.stderr or out)[-2000:]
    return {"peer": peer, "case": case["label"], "status": "error",
            "note": f"worker exited {p.returncode} without a result (killed for memory?)", "stderr_tail": tail}


# --------------------------------------------------------------------------- report

def fmt_num(v):
    if v is None:
        return "–"
    return f"{v:.3g}" if v < 1e4 else f"{v:.3e}".replace("e+0", "e").replace("e+", "e")


def mib(b):
    return "–" if b is None else f"{b / 2**20:.0f}"


def markdown(report):
    lines = []
    m = report["machine"]
    lines.append("# stochinfer bead-spring EM benchmark")
    lines.append("")
    lines.append(f"- command: `{report['command']}`")
    lines.append(f"- date: {report['date']}  git: {report.get('git_rev') or '–'}")
    lines.append(f"- machine: {m['cpu_model']}, nproc={m['nproc']}, "
                 f"RAM={(m['mem_total_bytes'] or 0) / 2**30:.1f} GiB, Python {m['python']}, {m['platform']}")
    lines.append(f"- model: bead-spring chain, k=γ=1, T_c=1, T_h=10, dt={DT}, x(0)=0, plain EM; "
                 f"throughput = B·N·L / wall s; wall = median of k full runs after warm-up")
    if report["settings"].get("warmed_memory_bytes"):
        lines.append(f"- guest memory warmed before timing: {report['settings']['warmed_memory_bytes'] / 2**30:.1f} GiB "
                     "(first touch of unbacked VM memory is not charged to whichever peer runs first)")
    lines.append(f"- budget per (case, peer): {report['settings']['budget_s']:.0f} s, "
                 f"repeats ≤ {report['settings']['repeats']}, pilot = {report['settings']['pilot_frac']:g}·L steps")
    loads = [r[k] for r in report["results"] for k in ("loadavg_start", "loadavg_end") if k in r]
    if loads:
        lines.append(f"- 1-min load average during the runs: {min(loads):.2f}–{max(loads):.2f} "
                     f"(at start {m['loadavg_1min_at_start']:.2f})")
        # the benchmark itself keeps up to nproc threads busy; more than that = other load
        if m["loadavg_1min_at_start"] > 0.5 or max(loads) > (m["nproc"] or 1) + 0.75:
            lines.append(f"- **WARNING: the machine was busy (load up to {max(loads):.1f} on {m['nproc']} "
                         f"CPUs); timings are inflated and noisy — rerun on an idle machine.**")
    vers = {}
    for r in report["results"]:
        vers.update(r.get("versions") or {})
    vers.pop("stochinfer_file", None)
    if vers:
        lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in sorted(vers.items())))
    lines.append("")
    lines.append(f"| case | peer | wall s | bead-steps/s | {report['settings'].get('ref', 'stochinfer')}/peer | k | peak RSS MiB | "
                 "peak − output MiB | RSS after import MiB |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    notes = []
    by_case = {}
    for r in report["results"]:
        by_case.setdefault(r["case"], []).append(r)
    for case in report["cases"]:
        rows = by_case.get(case["label"], [])
        ref = report["settings"].get("ref", "stochinfer")
        si = next((r for r in rows if r["peer"] == ref and r.get("throughput")), None)
        for r in rows:
            st = r["status"]
            if st in ("ok", "extrapolated"):
                mark = "~" if st == "extrapolated" else ""
                wall = f"{mark}{r['wall_s']:.3g}"
                thr = f"{mark}{fmt_num(r['throughput'])}"
                ratio = "–"
                if r["peer"] == ref:
                    ratio = "(ref)"
                elif si is not None and r["throughput"]:
                    approx = "~" if (st == "extrapolated" or si["status"] == "extrapolated") else ""
                    ratio = f"{approx}{si['throughput'] / r['throughput']:.2f}"
                k = str(r.get("k", "–")) if st == "ok" else "–"
                pm = " (pilot)" if r.get("memory_basis") == "pilot" else ""
                lines.append(f"| {case['label']} | {r['peer']} | {wall} | {thr} | {ratio} | {k} | "
                             f"{mib(r.get('peak_rss_bytes'))}{pm} | {mib(r.get('overhead_bytes'))}{pm} | "
                             f"{mib(r.get('baseline_rss_bytes'))} |")
                if st == "extrapolated":
                    notes.append(f"{case['label']} / {r['peer']}: extrapolated — {r.get('note', '')}")
            else:
                lines.append(f"| {case['label']} | {r['peer']} | {st} | – | – | – | – | – | – |")
                notes.append(f"{case['label']} / {r['peer']}: {st} — {r.get('note', '')}")
    lines.append("")
    lines.append("`~` = extrapolated from the pilot (L/10 steps at full B), not measured; its memory "
                 "columns are the pilot's, marked (pilot). stochinfer/peer = throughput ratio, > 1 means "
                 "stochinfer is faster. 'final' = record_every = L (initial + final frame). "
                 "peak − output = peak RSS of the case's process minus the output array (so it includes "
                 "the interpreter and imported libraries: see the last column).")
    if notes:
        lines.append("")
        lines.append("Notes:")
        seen = set()
        for n in notes:
            if n not in seen:
                seen.add(n)
                lines.append(f"- {n}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main

def warm_guest_memory(nbytes: float) -> int:
    """Touch `nbytes` of fresh memory once, in a throw-away process, before any timing.

    On virtual machines the first write to guest memory the hypervisor has not yet
    backed costs several seconds per GiB (measured here: 6.8 s for the first 2 GiB,
    0.4 s for the same size afterwards). Without this, whichever peer runs first
    in a case pays that once-per-boot cost inside its timed region.
    """
    n = int(nbytes)
    code = f"import numpy as np; a = np.empty({n}, np.uint8); a[::4096] = 1; a[-1] = 1"
    subprocess.run([sys.executable, "-c", code], check=False)
    return n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="headline cases only (default)")
    g.add_argument("--full", action="store_true", help="full grid N∈{2,5,32}, B∈{1e3,1e5}, "
                   "every 1/100/final, float32/64")
    g.add_argument("--smoke", action="store_true", help="tiny cases: self-test of the harness (about a minute)")
    g.add_argument("--gpu", action="store_true", help="GPU cases (large B); use with "
                   "--peers stochinfer_cuda,diffrax --ref stochinfer_cuda")
    ap.add_argument("--ref", default="stochinfer", help="peer the ratios are taken against")
    ap.add_argument("--peers", default=",".join(PEERS),
                    help=f"comma-separated subset of {','.join(PEERS)} (default: all)")
    ap.add_argument("--cases", default=None, help="only cases whose label contains this substring "
                    "(e.g. 'float32', 'N=2 ')")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds per (case, peer) for warm-up + timed runs; above it the full run "
                         "is extrapolated from the pilot (default 15 quick, 60 full; "
                         "use e.g. --budget 150 to measure every headline run)")
    ap.add_argument("--repeats", type=int, default=3, help="max timed full runs per (case, peer); median reported")
    ap.add_argument("--pilot-frac", type=float, default=0.1, help="pilot length as a fraction of L")
    ap.add_argument("--mem-limit-gb", type=float, default=None,
                    help="skip a (case, peer) whose output x memory factor exceeds this "
                         "(default 70%% of MemTotal)")
    ap.add_argument("--json", default=None, help="write the full results as JSON here")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker is not None:
        worker_main(args.worker)
        return 0

    cases = (full_cases() if args.full else smoke_cases() if args.smoke
             else gpu_cases() if args.gpu else quick_cases())
    if args.gpu:  # the workers inherit it: diffrax then runs on the GPU (peers/diffrax_peer.py)
        os.environ["STOCHINFER_BENCH_GPU"] = "1"
    if args.cases:
        cases = [c for c in cases if args.cases in c["label"]]
    if args.budget is None:
        args.budget = 60.0 if args.full else 15.0
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    for p in peers:
        if p not in PEERS:
            ap.error(f"unknown peer {p!r}; known: {', '.join(PEERS)}")
    minfo = machine_info()
    mem_limit = (args.mem_limit_gb * 2**30 if args.mem_limit_gb
                 else 0.7 * (minfo["mem_total_bytes"] or 8 * 2**30))

    report = {
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "git_rev": git_rev(),
        "machine": minfo,
        "settings": {"budget_s": args.budget, "repeats": args.repeats, "pilot_frac": args.pilot_frac,
                     "ref": args.ref,
                     "mem_limit_bytes": mem_limit, "dt": DT, "seed": SEED},
        "cases": cases,
        "results": [],
    }
    print(f"# running {len(cases)} case(s) x {len(peers)} peer(s); command: {report['command']}",
          file=sys.stderr)
    warm = warm_guest_memory(min(mem_limit, max(output_bytes(c) * PEERS[p][1] for c in cases for p in peers) * 1.1))
    report["settings"]["warmed_memory_bytes"] = warm
    unavailable = {}
    for case in cases:
        for peer in peers:
            need = output_bytes(case) * PEERS[peer][1]
            if peer in unavailable:
                res = {"peer": peer, "case": case["label"], "status": "unavailable", "note": unavailable[peer]}
            elif need > mem_limit:
                res = {"peer": peer, "case": case["label"], "status": "skipped",
                       "note": f"needs ~{need / 2**30:.1f} GiB (output {output_bytes(case) / 2**30:.1f} GiB "
                               f"x {PEERS[peer][1]:g}) > limit {mem_limit / 2**30:.1f} GiB"}
            else:
                res = launch(case, peer, args)
                if res["status"] == "unavailable":
                    unavailable[peer] = res.get("note", "")
            if res.get("wall_s"):
                res["throughput"] = bead_steps(case) / res["wall_s"]
            report["results"].append(res)
            msg = res["status"]
            if res.get("wall_s"):
                msg += f"  {res['wall_s']:.3f}s  {res['throughput']:.3e} bead-steps/s"
            elif res.get("note"):
                msg += f"  ({res['note'][:120]})"
            print(f"  {case['label']:<36} {peer:<11} {msg}", file=sys.stderr, flush=True)

    print(markdown(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"\nJSON written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
