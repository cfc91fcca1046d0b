"""stochinfer peer: the library under test, through its public API

    model = si.models.BeadSpring(n_beads=N, t_cold=1.0, t_hot=10.0)
    traj = si.simulate(model, n_traj=B, n_steps=L, dt=dt, substeps=1,
                       record_every=R, dtype=..., seed=..., initial="zeros")
    traj.x  # (B, L//R + 1, N)

If ``import stochinfer`` fails (not built / not installed), the repository's
``python/`` directory is tried as well; if that fails too the peer is skipped.
``burn_in=0`` is passed when ``simulate`` accepts it (no hidden extra steps;
the bead-spring default is 0 anyway).  ``n_threads`` is left at its default
(all cores).
"""
from __future__ import annotations

import inspect
import os
import sys

try:
    import stochinfer as si
except ImportError:
    _repo_python = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "python"))
    if os.path.isdir(_repo_python) and _repo_python not in sys.path:
        sys.path.insert(0, _repo_python)
    sys.modules.pop("stochinfer", None)
    import stochinfer as si  # noqa: F811  (ImportError here -> peer skipped)

# Fail at import time (-> skipped with a message) if the API is not there yet.
if not hasattr(si, "simulate") or not hasattr(getattr(si, "models", None), "BeadSpring"):
    raise ImportError("stochinfer has no simulate() / models.BeadSpring yet")

import numpy as np

from . import _model

NAME = "stochinfer"
JIT_SHAPE_SPECIALIZED = False
MEMORY_FACTOR = 1.0


def versions() -> dict:
    return {"stochinfer": getattr(si, "__version__", "?"),
            "stochinfer_file": getattr(si, "__file__", "?")}


def setup(dtype: str) -> None:
    pass


try:  # no hidden extra work: the peers simulate exactly n_steps steps from x = 0
    _EXTRA = {"burn_in": 0} if "burn_in" in inspect.signature(si.simulate).parameters else {}
except (TypeError, ValueError):
    _EXTRA = {}


def simulate_with(options: dict, n_beads, n_traj, n_steps, dt, record_every, dtype, seed):
    """The benchmark call with extra simulate() options (backend, n_threads): the other
    stochinfer peers are this one with options."""
    model = si.models.BeadSpring(n_beads=n_beads, t_cold=_model.T_COLD, t_hot=_model.T_HOT)
    traj = si.simulate(model, n_traj=n_traj, n_steps=n_steps, dt=dt, substeps=1,
                       record_every=record_every, dtype=np.dtype(dtype).name, seed=seed,
                       initial="zeros", **_EXTRA, **options)
    return np.asarray(traj.x)


def simulate(n_beads, n_traj, n_steps, dt, record_every, dtype, seed):
    return simulate_with({}, n_beads, n_traj, n_steps, dt, record_every, dtype, seed)
