"""PyTorch peer for simulating an inferred Langevin equation (methods.md §3.6).

What a user of the published PyTorch scripts does: S posterior weight samples
of the drift and diffusion networks (4 layers, ELU, last n_bayes Bayesian,
sampled once and kept), and an Euler-Maruyama loop in torch that evaluates all
S samples on their own copy of the n trajectories per step (batched matrix
products over samples), a softplus-diagonal Cholesky head, and
x ← x + F dt + √(2dt) L ξ with ξ shared by the samples (the head's L used
directly, one factorisation fewer than stochinfer, which factorises the
assembled D). Used for timing only:
same shapes and flops as stochinfer's per-sample simulation, random weights
(the drift gets a −x term so random networks cannot blow up).
"""
from __future__ import annotations

import math
import time

import torch
from torch.nn import functional as F


def _layers(d_in, d_out, hidden, n_layers, n_bayes, S, gen):
    """Per layer (W, b): (out, in) and (out,) for plain layers, (S, out, in) and
    (S, 1, out) for the Bayesian ones (mu + softplus(rho) eps, drawn once)."""
    sizes = [d_in] + [hidden] * (n_layers - 1) + [d_out]
    out = []
    for i in range(n_layers):
        a = math.sqrt(6.0 / sizes[i]) if sizes[i] else 0.0
        w = (torch.rand(sizes[i + 1], sizes[i], generator=gen) * 2 - 1) * a
        b = torch.zeros(sizes[i + 1])
        if i >= n_layers - n_bayes:
            s = F.softplus(torch.tensor(-5.0))
            w = w + s * torch.randn(S, *w.shape, generator=gen)
            b = (b + s * torch.randn(S, *b.shape, generator=gen))[:, None, :]
        out.append((w, b))
    return out


def _forward(layers, x):
    """x: (S, n, in) -> (S, n, out)."""
    S, n, _ = x.shape
    h = x
    for i, (w, b) in enumerate(layers):
        if w.dim() == 2:
            h = (h.reshape(S * n, -1) @ w.T + b).reshape(S, n, -1)
        else:
            h = torch.baddbmm(b, h, w.transpose(1, 2))
        if i < len(layers) - 1:
            h = F.elu(h)
    return h


@torch.no_grad()
def simulate(d: int, n_traj: int, n_steps: int, S: int, dt: float = 0.01, hidden: int = 128, n_layers: int = 4,
             n_bayes: int = 2, threads: int | None = None, seed: int = 0):
    """Per-sample simulation; returns (x (S, n_traj, d) at the end, seconds)."""
    if threads is not None:
        torch.set_num_threads(int(threads))
    gen = torch.Generator().manual_seed(seed)
    drift = _layers(d, d, hidden, n_layers, n_bayes, S, gen)
    m = d * (d + 1) // 2
    diffusion = _layers(d, m, hidden, n_layers, n_bayes, S, gen)
    rows, cols = torch.tril_indices(d, d)
    diag = rows == cols
    x = torch.randn(n_traj, d, generator=gen).expand(S, n_traj, d).clone()
    t0 = time.perf_counter()
    for _ in range(n_steps):
        f = _forward(drift, x) - x
        u = _forward(diffusion, x)
        u = torch.where(diag, F.softplus(u) + 1e-6, u)
        L = torch.zeros(S, n_traj, d, d)
        L[..., rows, cols] = u
        xi = torch.randn(n_traj, d, 1, generator=gen)  # L is a square root of D = L Lᵀ: no factorisation
        x = x + f * dt + math.sqrt(2 * dt) * (L @ xi).squeeze(-1)
    return x, time.perf_counter() - t0
