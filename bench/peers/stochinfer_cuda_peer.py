"""stochinfer on its CUDA backend (``backend="cuda"``): the same call as the
``stochinfer`` peer; unavailable unless the build has CUDA and a GPU is visible."""
from __future__ import annotations

import numpy as np

from . import _model
from .stochinfer_peer import _EXTRA, si, versions  # noqa: F401  (same import fallback)

if not si.cuda_available():
    raise ImportError("stochinfer: no CUDA device visible (or built without CUDA)")

NAME = "stochinfer_cuda"
JIT_SHAPE_SPECIALIZED = False
MEMORY_FACTOR = 1.0


def setup(dtype: str) -> None:
    pass


def simulate(n_beads, n_traj, n_steps, dt, record_every, dtype, seed):
    model = si.models.BeadSpring(n_beads=n_beads, t_cold=_model.T_COLD, t_hot=_model.T_HOT)
    traj = si.simulate(model, n_traj=n_traj, n_steps=n_steps, dt=dt, substeps=1,
                       record_every=record_every, dtype=np.dtype(dtype).name, seed=seed,
                       initial="zeros", backend="cuda", **_EXTRA)
    return np.asarray(traj.x)
