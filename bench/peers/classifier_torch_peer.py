"""PyTorch classifier peer: the MLP of stochinfer.Classifier (Linear + ReLU layers,
softmax cross-entropy) trained as the resetting paper's reference code trains
(torch.optim.SGD with momentum and weight decay), for side-by-side speed.

Minibatches: `batch` rows drawn uniformly with replacement by a seeded generator
from a float32 feature tensor (torch.from_numpy, no copy), standardised on the
fly as stochinfer does. `load_flat_params` copies stochinfer's flat buffer (per
layer W out×in column-major, then b) into the modules so the two can be checked
against each other.
"""
from __future__ import annotations

import time

import numpy as np

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover
    torch = None


def available() -> bool:
    return torch is not None


def set_threads(n: int) -> None:
    torch.set_num_threads(n)


def build(n_in: int, n_classes: int, hidden: int, layers: int):
    mods, width = [], n_in
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    mods.append(nn.Linear(width, n_classes))
    return nn.Sequential(*mods)


def load_flat_params(net, flat: np.ndarray) -> None:
    off = 0
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                o, i = m.weight.shape
                m.weight.copy_(torch.from_numpy(flat[off:off + o * i].reshape(i, o).T.copy()))
                off += o * i
                m.bias.copy_(torch.from_numpy(flat[off:off + o].copy()))
                off += o
    assert off == flat.size


def training_steps_per_second(x: np.ndarray, y: np.ndarray, hidden: int, layers: int, batch: int, n_steps: int,
                              lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 5e-4) -> float:
    torch.manual_seed(0)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y.astype(np.int64))
    mean, std = xt.mean(0), xt.std(0).clamp_min(1e-12)
    net = build(x.shape[1], int(y.max()) + 1, hidden, layers)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(1)

    def step():
        idx = torch.randint(0, x.shape[0], (batch,), generator=gen)
        loss = loss_fn(net((xt[idx] - mean) / std), yt[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    t = time.perf_counter()
    for _ in range(n_steps):
        step()
    return n_steps / (time.perf_counter() - t)
