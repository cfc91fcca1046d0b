#!/usr/bin/env python3
"""Does stochastic resetting help training on corrupted labels? (methods.md §7.5,
"benefit under noise" and "no harm", adapted.)

The paper's protocol is image classification with symmetric label noise (CIFAR);
stochinfer has no classifier. This is the regression analogue on our own network
(the Langevin drift network's MLP, deterministic, one member): inputs x ~ N(0, I)
in 20 dimensions, clean target f(x) = tanh(2 w1·x) + 0.5 sin(3 w2·x) plus noise
0.05, and a fraction eta of the training and validation labels replaced by
uniform values on [−1.5, 1.5] (a corrupted label carries no information, as a
flipped class label). 1000 training and 500 validation points, the validation
labels corrupted alike; the score is R² against the clean f on 4000 test
points. A 4-layer 256-wide ELU network with Adam at a constant 1e-3, batch 32,
20 000 updates, evaluated every 200: it memorises the corrupted labels (the
validation loss climbs after a few hundred updates), the regime the paper
addresses. Each seed trains twice from the same initial weights and data, with
and without Resetting(prob, after), and keeps its best validated model (the fair
comparison of methods.md §4.5); the paired R² differences over seeds give the
mean gain and its standard error.

    PYTHONPATH=python python bench/resetting_noisy_labels.py [--etas 0,0.4,0.6]
        [--seeds 0-9] [--prob 0.002] [--after 1000] [--json out.json]
"""
from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import stochinfer as si  # noqa: E402
from stochinfer.langevin.field_net import FieldNetwork, TrainSettings  # noqa: E402
from _timing import load_average, machine, record_and_write  # noqa: E402

DIM, N_TRAIN, N_VAL, N_TEST = 20, 1000, 500, 4000
W = np.random.default_rng(123).normal(size=(2, DIM)) / math.sqrt(DIM)


def clean_target(x: np.ndarray) -> np.ndarray:
    return (np.tanh(2 * x @ W[0]) + 0.5 * np.sin(3 * x @ W[1]))[:, None]


def dataset(seed: int, eta: float):
    """(x, y): training, validation and test rows in that order; a fraction eta of
    the training and validation labels corrupted."""
    rng = np.random.default_rng([seed, 1])
    x = rng.normal(size=(N_TRAIN + N_VAL + N_TEST, DIM))
    y = clean_target(x) + 0.05 * rng.normal(size=(len(x), 1))
    corrupt = rng.random(N_TRAIN + N_VAL) < eta
    y[: N_TRAIN + N_VAL][corrupt] = rng.uniform(-1.5, 1.5, size=(int(corrupt.sum()), 1))
    return x.astype(np.float32), y.astype(np.float32)


def train(seed: int, eta: float, resetting, n_iter: int) -> dict:
    x, y = dataset(seed, eta)
    net = FieldNetwork("affine", DIM, 1, np.zeros(1), np.ones(1), 1.0, hidden=256, layers=4, n_bayes=0,
                       method="ensemble", n_members=1, bootstrap=False, seed=seed)
    settings = TrainSettings(lr=1e-3, batch=32, n_iter=n_iter, eval_every=200, patience=None,
                             lr_schedule="constant", n_samples=1, resetting=resetting)
    h = net.fit(x, y, np.arange(N_TRAIN), np.arange(N_TRAIN, N_TRAIN + N_VAL), settings, seed=seed, progress=False)
    test = slice(N_TRAIN + N_VAL, None)
    truth = clean_target(x[test].astype(np.float64))
    pred = net.samples(x[test], 1, 0)[0]
    return {"r2": 1.0 - float(np.mean((pred - truth) ** 2) / np.var(truth)), "best": h["best"]["iteration"],
            "resets": len(h.get("resets", [])), "train_s": h["train_s"],
            "val_loss_first_best": float(min(e["val_loss"] for e in h["history"][:5])),
            "val_loss_best": float(h["best"]["val_loss"])}


def seeds_arg(text: str) -> list:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--etas", default="0,0.4,0.6")
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--prob", type=float, default=0.002)
    ap.add_argument("--after", type=int, default=1000)
    ap.add_argument("--n-iter", type=int, default=20_000)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    load0 = load_average()
    rs = si.Resetting(prob=args.prob, after=args.after)
    out = {"machine": machine(), "command": " ".join(["bench/resetting_noisy_labels.py"] + (argv or sys.argv[1:])),
           "resetting": {"prob": rs.prob, "after": rs.after}, "rows": []}
    print("| eta | seed | R² plain | R² resetting | difference | resets | best update plain / resetting |")
    print("|---|---|---|---|---|---|---|")
    summary = []
    for eta in (float(e) for e in args.etas.split(",")):
        diffs = []
        for seed in seeds_arg(args.seeds):
            plain, reset = train(seed, eta, None, args.n_iter), train(seed, eta, rs, args.n_iter)
            diffs.append(reset["r2"] - plain["r2"])
            out["rows"].append({"eta": eta, "seed": seed, "plain": plain, "resetting": reset})
            print(f"| {eta:g} | {seed} | {plain['r2']:.4f} | {reset['r2']:.4f} | {diffs[-1]:+.4f} | {reset['resets']} "
                  f"| {plain['best']} / {reset['best']} |", flush=True)
        d = np.asarray(diffs)
        se = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else float("nan")
        summary.append({"eta": eta, "mean_gain": float(d.mean()), "stderr": se, "n_seeds": int(d.size),
                        "positive": int((d > 0).sum())})
    out["summary"] = summary
    print("\n| eta | mean R² gain ± SE (paired) | seeds with a gain |")
    print("|---|---|---|")
    for s in summary:
        print(f"| {s['eta']:g} | {s['mean_gain']:+.4f} ± {s['stderr']:.4f} | {s['positive']} of {s['n_seeds']} |")
    record_and_write(out, load0, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
