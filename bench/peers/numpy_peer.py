"""NumPy vectorised peer: batch state (n_traj, n_beads), tridiagonal update by
slicing, in-place arithmetic on preallocated buffers, noise from
``np.random.default_rng(seed).standard_normal(out=..., dtype=...)``."""
from __future__ import annotations

import numpy as np

from . import _model

NAME = "numpy"
# Shape-independent: a short pilot run is a sufficient warm-up.
JIT_SHAPE_SPECIALIZED = False
# Peak memory ~ output + O(n_traj * n_beads) work buffers.
MEMORY_FACTOR = 1.0


def versions() -> dict:
    return {"numpy": np.__version__}


def setup(dtype: str) -> None:  # nothing process-global to configure
    pass


def simulate(n_beads, n_traj, n_steps, dt, record_every, dtype, seed):
    dt_ = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    kdt = dt_.type(_model.K / _model.GAMMA * dt)
    centre = dt_.type(1.0 - 2.0 * _model.K / _model.GAMMA * dt)
    amp = (_model.diffusion_coeff(n_beads) * np.sqrt(dt)).astype(dt_)

    out = np.empty((n_traj, _model.n_frames(n_steps, record_every), n_beads), dtype=dt_)
    x = np.zeros((n_traj, n_beads), dtype=dt_)
    nb = np.empty_like(x)  # neighbour sum x_{i-1} + x_{i+1}
    noise = np.empty_like(x)
    out[:, 0] = x
    frame = 1
    for step in range(1, n_steps + 1):
        rng.standard_normal(out=noise, dtype=dt_)
        noise *= amp
        nb[:, 0] = 0
        nb[:, 1:] = x[:, :-1]
        np.add(nb[:, :-1], x[:, 1:], out=nb[:, :-1])
        nb *= kdt
        x *= centre          # x_i (1 - 2 k dt / gamma)
        x += nb              # + (k dt / gamma)(x_{i-1} + x_{i+1})
        x += noise           # + sqrt(2 T_i dt / gamma) xi
        if step % record_every == 0:
            out[:, frame] = x
            frame += 1
    return out
