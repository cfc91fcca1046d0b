"""stochinfer on one thread (``n_threads=1``), for per-core comparisons with the
single-threaded peers (numpy's RNG and ufuncs, diffrax/XLA on these loops)."""
from __future__ import annotations

import numpy as np

from . import _model
from .stochinfer_peer import _EXTRA, si, versions  # noqa: F401  (versions: the same library)

NAME = "stochinfer_1thread"
JIT_SHAPE_SPECIALIZED = False
MEMORY_FACTOR = 1.0


def setup(dtype: str) -> None:
    pass


def simulate(n_beads, n_traj, n_steps, dt, record_every, dtype, seed):
    model = si.models.BeadSpring(n_beads=n_beads, t_cold=_model.T_COLD, t_hot=_model.T_HOT)
    traj = si.simulate(model, n_traj=n_traj, n_steps=n_steps, dt=dt, substeps=1, record_every=record_every,
                       dtype=np.dtype(dtype).name, seed=seed, initial="zeros", n_threads=1, **_EXTRA)
    return np.asarray(traj.x)
