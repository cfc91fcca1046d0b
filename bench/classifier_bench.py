"""Classifier benchmark: stochinfer.Classifier's compiled training against the same
MLP in PyTorch (the resetting paper's framework), side by side.

Parts (--part, default all):
  check       the PyTorch peer with stochinfer's weights gives the same logits and the
              same cross-entropy gradient (float64): the two implement the same network.
  throughput  SGD-with-momentum training updates/s (uniform minibatch draws, forward,
              softmax cross-entropy, backward, update), float32, same thread count:
              digits-sized data (1797 × 64, 10 classes, 2 × 256 hidden, batch 128) and
              MNIST-sized synthetic data (20000 × 784, 10 classes, 2 × 512, batch 256).

Usage: python bench/classifier_bench.py [--part check|throughput] [--threads 2] [--quick] [--json out.json]
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
import classifier_torch_peer as tp  # noqa: E402
from _timing import load_average, machine, record_and_write  # noqa: E402


def data(n, d, k=10, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d))
    y = rng.integers(0, k, size=n)
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y.astype(np.int32)


def check(args) -> dict:
    if not tp.available():
        return {"skipped": "torch not installed"}
    import torch
    x, y = data(64, 12, 5)
    x, y = x.astype(np.float64), y
    net = si._core.ClassifierModel64(12, 5, 16, 2, "relu", "cross_entropy", 0.7, 0.1, 1.0, seed=3, n_threads=1)
    tnet = tp.build(12, 5, 16, 2).double()
    tp.load_flat_params(tnet, net.get_params())
    rows = np.arange(64, dtype=np.int64)
    z = net.logits(x, rows)
    loss_t = torch.nn.functional.cross_entropy(tnet(torch.from_numpy(x)), torch.from_numpy(y.astype(np.int64)))
    loss_t.backward()
    g_t = np.concatenate([np.concatenate([m.weight.grad.numpy().T.ravel(), m.bias.grad.numpy()])
                          for m in tnet if isinstance(m, torch.nn.Linear)])
    loss, g = net.loss_and_grad(x, y, rows)
    with torch.no_grad():
        z_t = tnet(torch.from_numpy(x)).numpy()
    out = {"max_abs_logit_diff": float(np.abs(z - z_t).max()), "loss_diff": abs(loss - loss_t.item()),
           "max_abs_grad_diff": float(np.abs(g - g_t).max())}
    print("check: " + ", ".join(f"{k} {v:.2e}" for k, v in out.items()), flush=True)
    return out


def our_steps_per_second(x, y, hidden, layers, batch, n_steps, threads) -> float:
    net = si._core.ClassifierModel32(x.shape[1], int(y.max()) + 1, hidden, layers, "relu", "cross_entropy", 0.7,
                                     0.1, 1.0, seed=0, n_threads=threads)
    net.set_input_transform(list(x.mean(0).astype(float)), list(1.0 / x.std(0).astype(float)))
    rows = np.arange(x.shape[0], dtype=np.int64)
    net.train_sgd(x, y, rows, 3, batch, 0.05, 0.9, 0.0, 5e-4, False, 0)  # warm-up
    t = time.perf_counter()
    net.train_sgd(x, y, rows, n_steps, batch, 0.05, 0.9, 0.0, 5e-4, False, 1)
    return n_steps / (time.perf_counter() - t)


def throughput(args) -> dict:
    out = {}
    cases = [("digits-sized", 1797, 64, 256, 128, 2000), ("mnist-sized", 20000, 784, 512, 256, 200)]
    for name, n, d, hidden, batch, steps in cases:
        steps = steps // (4 if args.quick else 1)
        x, y = data(n, d)
        row = {"stochinfer": max(our_steps_per_second(x, y, hidden, 2, batch, steps, args.threads)
                                 for _ in range(2))}
        if tp.available():
            tp.set_threads(args.threads)
            row["torch"] = max(tp.training_steps_per_second(x, y, hidden, 2, batch, steps) for _ in range(2))
            row["ratio"] = row["stochinfer"] / row["torch"]
        out[name] = row
        print(f"throughput {name} (n {n}, d {d}, 2 x {hidden}, batch {batch}): "
              + ", ".join(f"{k} {v:.4g}" for k, v in row.items()), flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="all", choices=["all", "check", "throughput"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    load0 = load_average()
    out = {"machine": machine(), "command": " ".join(sys.argv), "threads": args.threads}
    for part, fn in (("check", check), ("throughput", throughput)):
        if args.part in ("all", part):
            out[part] = fn(args)
    record_and_write(out, load0, args.json)


if __name__ == "__main__":
    main()
