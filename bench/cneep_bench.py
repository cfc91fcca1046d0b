"""CNEEP and movie benchmarks: stochinfer vs PyTorch and numpy, side by side.

Parts (--part, default all):
  check       the PyTorch peer with stochinfer's weights gives the same ΔS (float64): the
              two implement the same network.
  throughput  CNEEP training updates/s (window sampling, forward of both orders, backward,
              Adam) on 20 × 40 bead-spring movies, 2 blocks of 32 channels (the paper's
              network), batch 256 and 1024, float32, same thread count; PyTorch peer in
              bench/peers/cneep_torch_peer.py.
  render      rendering bead-spring frames (pixel-integrated spots, uint8): stochinfer's
              compiled renderer (on --threads and on one thread) vs a vectorised numpy float64
              implementation in chunks of 2000 frames (best of 3 each) of the same
              formula (scipy.special.ndtr), frames/s.

Usage: python bench/cneep_bench.py [--part check|throughput|render] [--threads 2] [--json out.json]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))

import stochinfer as si  # noqa: E402
import cneep_torch_peer as tp  # noqa: E402
from _timing import load_average, machine, measure, record_and_write  # noqa: E402


def movies(n_movies=20, n_frames=2000):
    return si.movies.bead_spring_movies(n_movies, n_frames, seed=0).frames


def check(args) -> dict:
    if not tp.available():
        return {"skipped": "torch not installed"}
    import torch
    torch.set_default_dtype(torch.float64)
    net64 = si._core.CneepModel64(2, 20, 40, 2, 8, 3)
    x = np.random.default_rng(0).normal(size=(64, 2, 20, 40))
    tnet, _ = tp.build(2, 20, 40, 2, 8)
    tp.load_flat_params(tnet, net64.get_params())
    with torch.no_grad():
        ds_t = tp.delta_s(tnet, torch.from_numpy(x)).numpy()
    ds_ours = net64.forward_rows(x) - net64.forward_rows(x[:, ::-1].copy())
    err = float(np.abs(ds_t - ds_ours).max())
    torch.set_default_dtype(torch.float32)
    print(f"check: max |ΔS_torch − ΔS_stochinfer| = {err:.2e} over 64 windows (float64)", flush=True)
    return {"max_abs_diff": err}


def our_steps_per_second(frames, batch, n_steps, threads) -> float:
    net = si._core.CneepModel32(2, 20, 40, 2, 32, 0, n_threads=threads)
    net.set_pixel_transform(float(frames.mean()), 1.0 / float(frames.std()))
    segs = np.array([[m, 0, frames.shape[1]] for m in range(frames.shape[0])], dtype=np.int64)
    net.train(frames, segs, 3, batch, 1e-3, 0.9, 0.999, 1e-8, 0.0, True, 0)  # warm-up
    t = time.perf_counter()
    net.train(frames, segs, n_steps, batch, 1e-3, 0.9, 0.999, 1e-8, 0.0, True, 1)
    return n_steps / (time.perf_counter() - t)


def throughput(args) -> dict:
    frames = movies()
    out = {}
    for batch in (256, 1024):
        n = max(5, (60 if batch == 256 else 15) // (3 if args.quick else 1))
        row = {"stochinfer": max(our_steps_per_second(frames, batch, n, args.threads) for _ in range(2))}
        if tp.available():
            tp.set_threads(args.threads)
            row["torch"] = max(tp.training_steps_per_second(frames, batch=batch, n_steps=n) for _ in range(2))
            row["ratio"] = row["stochinfer"] / row["torch"]
        out[f"batch={batch}"] = row
        print(f"throughput batch {batch}: " + ", ".join(f"{k} {v:.3g}" for k, v in row.items()), flush=True)
    return out


def numpy_render(x: np.ndarray, spot_std: float = 1.0, chunk: int = 2000) -> np.ndarray:
    """The same frames in numpy float64: separable pixel-integrated Gaussians, uint8. In
    chunks of `chunk` frames, as a careful user would write it: whole-movie float64
    temporaries (640 MB each at 10^5 frames) make numpy's time mostly first touches of
    fresh memory (about 2x slower here)."""
    from scipy.special import ndtr
    rows = np.arange(20.0)
    cols = np.arange(40.0)
    peak = (ndtr(0.5 / spot_std) - ndtr(-0.5 / spot_std)) ** 2
    gy = ndtr((rows + 0.5 - 9.5) / spot_std) - ndtr((rows - 0.5 - 9.5) / spot_std)  # rows do not move
    out = np.empty((x.shape[0], 20, 40), dtype=np.uint8)
    for lo in range(0, x.shape[0], chunk):
        xc = x[lo:lo + chunk]
        img = np.zeros((xc.shape[0], 20, 40))
        for i in range(2):
            c = 20 * i + 9.5 + xc[:, i:i + 1]
            gx = ndtr((cols + 0.5 - c) / spot_std) - ndtr((cols - 0.5 - c) / spot_std)  # (n, 40)
            img += gy[None, :, None] * gx[:, None, :]
        out[lo:lo + chunk] = np.clip(np.floor(255 * img / peak + 0.5), 0, 255)
    return out


def _best_of(fn, repeats: int = 3) -> float:
    """Fastest of `repeats` timed calls (seconds): both sides get the same treatment."""
    return measure(fn, repeats=repeats, warmup=0)["min_s"]


def render(args) -> dict:
    n = 20000 if args.quick else 100000
    x = si.simulate(si.models.BeadSpring(2), 1, n - 1, 0.01, substeps=10, seed=0).x
    layout = si.movies.bead_spring_layout()
    threads = args.threads
    ours = si.movies.render(x, layout, n_threads=threads)
    ref = numpy_render(x[0])
    assert np.abs(ours[0].astype(int) - ref).max() <= 1, "the two renderers disagree"
    t_ours = _best_of(lambda: si.movies.render(x, layout, n_threads=threads))
    t_one = _best_of(lambda: si.movies.render(x, layout, n_threads=1))
    t_np = _best_of(lambda: numpy_render(x[0]))
    row = {"frames": n, "stochinfer_frames_per_s": n / t_ours, "stochinfer_1thread_frames_per_s": n / t_one,
           "numpy_frames_per_s": n / t_np, "ratio": t_np / t_ours, "ratio_per_core": t_np / t_one,
           "max_uint8_difference": int(np.abs(ours[0].astype(int) - ref).max())}
    print("render (best of 3 each; numpy on one core, in chunks of 2000 frames): "
          + ", ".join(f"{k} {v:.3g}" for k, v in row.items()), flush=True)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="all", choices=["all", "check", "throughput", "render"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    load0 = load_average()
    out = {"machine": machine(), "command": " ".join(sys.argv), "threads": args.threads}
    for part, fn in (("check", check), ("throughput", throughput), ("render", render)):
        if args.part in ("all", part):
            out[part] = fn(args)
    record_and_write(out, load0, args.json)


if __name__ == "__main__":
    main()
