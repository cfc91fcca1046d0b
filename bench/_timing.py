"""Shared timing and memory helpers for the benchmarks.

``measure`` runs ``warmup`` untimed calls, then ``repeats`` timed calls, and
reports every time plus the median and the minimum.  Each call's result is
passed to ``on_result`` (for shape / sanity checks) and then dropped before the
next call, so peak RSS reflects one output array at a time.
"""
from __future__ import annotations

import gc
import json
import os
import platform
import resource
import statistics
import time
from typing import Any, Callable, Optional


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (Linux reports ru_maxrss in KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def current_rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return -1


def timed_call(fn: Callable[[], Any], on_result: Optional[Callable[[Any], None]] = None) -> float:
    """Time one call of ``fn``; the result is inspected by ``on_result`` then freed."""
    gc.collect()
    t0 = time.perf_counter()
    res = fn()
    dt = time.perf_counter() - t0
    if on_result is not None:
        on_result(res)
    del res
    gc.collect()
    return dt


def measure(fn: Callable[[], Any], repeats: int = 3, warmup: int = 1,
            on_result: Optional[Callable[[Any], None]] = None) -> dict:
    """Warm up ``warmup`` times, then time ``repeats`` calls; median and min of the times."""
    warm_times = [timed_call(fn, on_result) for _ in range(warmup)]
    times = [timed_call(fn, on_result) for _ in range(max(1, repeats))]
    return {
        "warmup_s": warm_times,
        "times_s": times,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "k": len(times),
    }


def machine() -> str:
    """CPU model, core count and OS, for recording benchmark figures."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}"


def load_average() -> float:
    """The 1-minute load average now (Linux; nan where unknown)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def busy_warning(load_start: float, load_end: float, threads: int) -> Optional[str]:
    """A warning when other work shared the machine: load above 0.5 before the
    benchmark started, or above its own threads + 0.75 at the end. PyTorch slows
    far more than stochinfer under load (ratios 3-10x too high on a busy 2-core VM),
    so ratios from a busy machine are not recorded."""
    if load_start > 0.5 or load_end > threads + 0.75:
        return (f"WARNING: the machine was busy (1-min load {load_start:.2f} at start, {load_end:.2f} at end, "
                f"{threads} benchmark threads on {os.cpu_count()} CPUs): timings and ratios are unreliable; "
                "rerun on an idle machine")
    return None


def load_record(load_start: float, threads: int) -> dict:
    """Load averages for a benchmark's JSON, printing the busy warning if any."""
    end = load_average()
    warn = busy_warning(load_start, end, threads)
    if warn:
        print(warn, flush=True)
    return {"loadavg_1min_start": load_start, "loadavg_1min_end": end, "nproc": os.cpu_count(), "busy": bool(warn)}


def record_and_write(out: dict, load_start: float, path: Optional[str]) -> None:
    """Adds the load record (all cores counted as the benchmark's threads) to `out`
    and writes it as JSON to `path` when given."""
    out["load"] = load_record(load_start, os.cpu_count() or 1)
    if path:
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
