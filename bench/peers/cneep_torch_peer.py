"""PyTorch CNEEP peer: the same convolutional EP estimator as stochinfer.CNEEP
(methods.md §2), written as the paper's reference code would (PyTorch modules,
Adam), for side-by-side training speed.

* network h: Conv2d(seq_len, C, 5, stride 2, padding 2) + ReLU + MaxPool2d(2), then
  for b = 2 .. n_layer: Conv2d(c, c, 3, padding 1) + ReLU + Conv2d(c, 2c, 3,
  padding 1) + ReLU (+ MaxPool2d(2) except after the last), flatten, Linear(·, 1);
* ΔS = h(x) − h(flip(x)), flip reversing the frame (channel) axis; both orders in
  one 2B batch; loss mean(e^{−ΔS} − ΔS); torch.optim.Adam;
* batches: `batch` (movie, start) pairs drawn uniformly with a seeded generator,
  frames gathered from one uint8 tensor (torch.from_numpy, no copy) and z-scored
  with one mean and std, as stochinfer does.
`load_flat_params` copies stochinfer's flat buffer into the modules (layout:
cpp/include/stochinfer/nn/conv2d.hpp) so the two can be checked against each other.
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


def build(seq_len: int, height: int, width: int, n_layer: int = 2, n_channel: int = 32):
    layers = [nn.Conv2d(seq_len, n_channel, 5, stride=2, padding=2), nn.ReLU(), nn.MaxPool2d(2)]
    c = n_channel
    for b in range(2, n_layer + 1):
        layers += [nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU()]
        c *= 2
        if b < n_layer:
            layers.append(nn.MaxPool2d(2))
    body = nn.Sequential(*layers)
    with torch.no_grad():
        shape = body(torch.zeros(1, seq_len, height, width)).shape
    net = nn.Sequential(body, nn.Flatten(), nn.Linear(int(np.prod(shape[1:])), 1))
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net, tuple(shape[1:])


def load_flat_params(net, flat: np.ndarray) -> None:
    """stochinfer's flat parameters into the torch modules (W column-major c_out × (ci + C_in(kx + k ky));
    the read-out over (y, x, c) channel-fastest, torch flattens (c, y, x))."""
    off = 0
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    lin = [m for m in net.modules() if isinstance(m, nn.Linear)][0]
    with torch.no_grad():
        for m in convs:
            co, ci, k, _ = m.weight.shape
            w = flat[off: off + co * k * k * ci].reshape(k * k * ci, co).T.reshape(co, k, k, ci).transpose(0, 3, 1, 2)
            m.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            off += co * k * k * ci
            m.bias.copy_(torch.from_numpy(flat[off: off + co].copy()))
            off += co
        n_in = lin.weight.shape[1]
        c = convs[-1].weight.shape[0]
        hw = n_in // c
        head = flat[off: off + n_in].reshape(hw, c).T.reshape(1, n_in)  # (y, x, c) -> (c, y, x)
        lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(head)))
        lin.bias.copy_(torch.from_numpy(flat[off + n_in: off + n_in + 1].copy()))


def delta_s(net, windows):
    """ΔS of a (B, seq_len, H, W) float batch: one 2B forward pass."""
    both = torch.cat([windows, torch.flip(windows, dims=[1])])
    h = net(both).squeeze(1)
    b = windows.shape[0]
    return h[:b] - h[b:]


def training_steps_per_second(frames: np.ndarray, seq_len: int = 2, n_layer: int = 2, n_channel: int = 32,
                              batch: int = 256, n_steps: int = 20, warmup: int = 3, lr: float = 1e-3,
                              seed: int = 0) -> float:
    """Adam updates/s on random windows of frames (n_movies, n_frames, H, W) uint8."""
    torch.manual_seed(seed)
    m, L, H, W = frames.shape
    net, _ = build(seq_len, H, W, n_layer, n_channel)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=0.0)
    data = torch.from_numpy(frames)
    mean, std = float(frames[:, :100].mean()), float(frames[:, :100].std())
    gen = torch.Generator().manual_seed(seed)
    offsets = torch.arange(seq_len)

    def step():
        mv = torch.randint(0, m, (batch,), generator=gen)
        st = torch.randint(0, L - seq_len + 1, (batch,), generator=gen)
        win = (data[mv[:, None], st[:, None] + offsets].float() - mean) / std
        ds = delta_s(net, win)
        loss = torch.mean(torch.exp(-ds) - ds)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    t = time.perf_counter()
    for _ in range(n_steps):
        step()
    return n_steps / (time.perf_counter() - t)
