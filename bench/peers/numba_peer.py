"""Numba peer: ``@njit(parallel=True, fastmath=False)``, ``prange`` over chunks
of trajectories, per-bead scalar loop, legacy ``np.random.standard_normal``.

Numba's np.random state is per thread; each chunk re-seeds the running
thread's state from (seed, chunk) before use, so the result does not depend on
the number of threads or on scheduling.  Compiled per dtype only, so the
harness's short pilot run doubles as the warm-up (compile excluded)."""
from __future__ import annotations

import numpy as np
import numba
from numba import njit, prange

from . import _model

NAME = "numba"
JIT_SHAPE_SPECIALIZED = False
MEMORY_FACTOR = 1.0
N_CHUNKS = 256


def versions() -> dict:
    return {"numba": numba.__version__, "numpy": np.__version__,
            "numba_threads": numba.get_num_threads()}


def setup(dtype: str) -> None:
    pass


@njit(parallel=True, fastmath=False)
def _kernel(out, amp, kdt, centre, zero, n_steps, record_every, seed, n_chunks):
    n_traj = out.shape[0]
    n_beads = out.shape[2]
    chunk = (n_traj + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        np.random.seed(seed * 1000003 + c)
        lo = c * chunk
        hi = min(lo + chunk, n_traj)
        x = np.empty(n_beads, dtype=out.dtype)
        z = np.empty(n_beads, dtype=out.dtype)
        for b in range(lo, hi):
            for i in range(n_beads):
                x[i] = zero
                out[b, 0, i] = zero
            frame = 1
            for step in range(1, n_steps + 1):
                for i in range(n_beads):
                    z[i] = np.random.standard_normal()  # cast to the working dtype on store
                prev = zero  # old x_{i-1}; wall at i = 0
                for i in range(n_beads):
                    old = x[i]
                    right = x[i + 1] if i < n_beads - 1 else zero
                    x[i] = centre * old + kdt * (prev + right) + amp[i] * z[i]
                    prev = old
                if step % record_every == 0:
                    for i in range(n_beads):
                        out[b, frame, i] = x[i]
                    frame += 1


def simulate(n_beads, n_traj, n_steps, dt, record_every, dtype, seed):
    dt_ = np.dtype(dtype)
    out = np.empty((n_traj, _model.n_frames(n_steps, record_every), n_beads), dtype=dt_)
    amp = (_model.diffusion_coeff(n_beads) * np.sqrt(dt)).astype(dt_)
    kdt = dt_.type(_model.K / _model.GAMMA * dt)
    centre = dt_.type(1.0 - 2.0 * _model.K / _model.GAMMA * dt)
    _kernel(out, amp, kdt, centre, dt_.type(0), n_steps, record_every, seed,
            min(N_CHUNKS, max(1, n_traj)))
    return out
