"""CNEEP accuracy against the analytic truth (methods.md §7.3), per system, record
length and seed: EP rate vs σ_Δt, per-window R² vs the exact ΔS, and for the
elastic network the node scores of the dissipation map.

  python bench/cneep_accuracy.py --system bead_spring --frames 2000 --seeds 1 --n-iter 10000
  python bench/cneep_accuracy.py --system elastic --movies 40 --frames 1000 --n-iter 4000
  (--json out.json records every row with the machine and command)

Movies are simulated with seed 0 (Euler–Maruyama, 10 substeps per frame); `--seeds`
are the training seeds (split, initialisation, minibatches), as in the paper's five
seeds on one data set. `--options` go to CNEEP(...) as JSON, e.g. `--options '{"lr": 3e-4}'`;
`--render` to the movie generator (the robustness knobs of §7.3), e.g.
`--render '{"read_noise": 0.2}'`, `'{"downsample": 2}'`, `'{"crop": [0, 0, 20, 20]}'`, `'{"photons": 50}'`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import stochinfer as si  # noqa: E402
from _timing import load_average, machine, record_and_write  # noqa: E402


def run(system: str, n_movies: int, n_frames: int, seed: int, n_iter: int, options: dict,
        render: dict) -> dict:
    render = {k: tuple(v) if isinstance(v, list) else v for k, v in render.items()}
    if system == "bead_spring":
        mv = si.movies.bead_spring_movies(n_movies, n_frames, seed=0, **render)
    else:
        mv = si.movies.elastic_network_movies(n_movies, n_frames, seed=0, **render)
    t = time.perf_counter()
    res = si.CNEEP(n_iter=n_iter, progress=False, **options).fit(mv, seed=seed)
    row = {"system": system, "movies": n_movies, "frames": n_frames, "seed": seed, "n_iter": n_iter,
           "options": options, "render": {k: list(v) if isinstance(v, tuple) else v for k, v in render.items()},
           "kind": res.kind, "rate": res.rate, "stderr": res.stderr,
           "snapshot_ep_rate": res.truth["snapshot_ep_rate"], "relative_error": res.relative_error,
           "r2": res.r2, "test_loss": res.test_loss, "optimal_loss": res.truth.get("optimal_loss"),
           "best_iteration": res.settings["best_iteration"][0], "fit_s": time.perf_counter() - t}
    if system == "elastic":
        frame = tuple(res.settings["frame_shape"])
        score = si.movies.score_node_map(si.ep.upsample_map(res.dissipation_map, frame) / mv.dt, mv.model,
                                         downsample=render.get("downsample", 1), crop=render.get("crop"))
        row.update(map_total=score["total"], positive_mass_near_hot=score["positive_mass_near_hot"],
                   correlation_with_node_ep=score["correlation_with_node_ep"])
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--system", default="bead_spring", choices=["bead_spring", "elastic"])
    ap.add_argument("--movies", type=int, default=100)
    ap.add_argument("--frames", type=int, nargs="+", default=[2000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--n-iter", type=int, default=3000)
    ap.add_argument("--options", default="{}")
    ap.add_argument("--render", default="{}")
    ap.add_argument("--json")
    args = ap.parse_args()
    load0 = load_average()
    rows = []
    for frames in args.frames:
        for seed in args.seeds:
            row = run(args.system, args.movies, frames, seed, args.n_iter, json.loads(args.options),
                      json.loads(args.render))
            rows.append(row)
            extra = (f" | map total {row['map_total']:.3f}, positive mass near hot {row['positive_mass_near_hot']:.3f}, "
                     f"corr with σ_j {row['correlation_with_node_ep']:+.3f}" if "map_total" in row else "")
            print(f"{row['system']} {row['render'] or ''} M={row['movies']} L={row['frames']} seed {seed} "
                  f"({row['kind']}): rate {row['rate']:.4f} ± "
                  f"{row['stderr']:.3f} (σ_Δt {row['snapshot_ep_rate']:.4f}, {100 * row['relative_error']:+.1f}%), "
                  f"R² {row['r2']:.4f}, test loss {row['test_loss']:.6f} (optimum {row['optimal_loss']:.6f}), "
                  f"best update {row['best_iteration']}, {row['fit_s']:.0f} s{extra}", flush=True)
    if len(rows) > 1:
        rates = np.array([r["rate"] for r in rows])
        print(f"mean rate {rates.mean():.4f}, seed spread (SD) {rates.std(ddof=1):.4f}; "
              f"mean R² {np.mean([r['r2'] for r in rows]):.4f}")
    record_and_write({"machine": machine(), "command": " ".join(sys.argv), "rows": rows}, load0, args.json)


if __name__ == "__main__":
    main()
