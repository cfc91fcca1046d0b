"""NumPy vectorised peer: bead-major state (n_beads, n_traj), so every slice of the
tridiagonal update is a contiguous row over the trajectories; frames are written
contiguously into a (n_frames, n_beads, n_traj) buffer returned as a transposed
view (n_traj, n_frames, n_beads); in-place arithmetic on preallocated buffers, noise
from ``np.random.default_rng(seed).standard_normal(out=..., dtype=...)``. (The first
version kept the state trajectory-major, (n_traj, n_beads): short strided slices,
1.3-1.5x slower; a reviewer's point, session 14.)"""
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
    amp = (_model.diffusion_coeff(n_beads) * np.sqrt(dt)).astype(dt_)[:, None]  # per bead, (n_beads, 1)

    out = np.empty((_model.n_frames(n_steps, record_every), n_beads, n_traj), dtype=dt_)
    x = np.zeros((n_beads, n_traj), dtype=dt_)
    nb = np.empty_like(x)  # neighbour sum x_{i-1} + x_{i+1}
    noise = np.empty_like(x)
    out[0] = x
    frame = 1
    for step in range(1, n_steps + 1):
        rng.standard_normal(out=noise, dtype=dt_)
        noise *= amp
        nb[0] = 0
        nb[1:] = x[:-1]
        np.add(nb[:-1], x[1:], out=nb[:-1])
        nb *= kdt
        x *= centre          # x_i (1 - 2 k dt / gamma)
        x += nb              # + (k dt / gamma)(x_{i-1} + x_{i+1})
        x += noise           # + sqrt(2 T_i dt / gamma) xi
        if step % record_every == 0:
            out[frame] = x
            frame += 1
    return out.transpose(2, 0, 1)  # (n_traj, n_frames, n_beads), a view
