"""Benchmark peers for the bead-spring chain.

Each peer module exposes
    NAME, JIT_SHAPE_SPECIALIZED (bool), MEMORY_FACTOR (float),
    versions() -> dict, setup(dtype) -> None  (process-global config; call first),
    simulate(n_beads, n_traj, n_steps, dt, record_every, dtype, seed) -> ndarray
        of shape (n_traj, n_steps // record_every + 1, n_beads)
(see ``_model`` for the model and the recording convention).  Peers are
imported lazily, one per process, so a missing library only skips that peer.
"""
from __future__ import annotations

import importlib

# name -> (module, peak-memory factor relative to the output array).  The
# factors are duplicated here so the parent process can skip cases that would
# not fit in memory without importing torch / jax.
PEERS = {
    "stochinfer": ("peers.stochinfer_peer", 1.0),
    "stochinfer_1thread": ("peers.stochinfer_1thread_peer", 1.0),
    "stochinfer_cuda": ("peers.stochinfer_cuda_peer", 1.0),
    "numpy": ("peers.numpy_peer", 1.0),
    "numba": ("peers.numba_peer", 1.0),
    "torchsde": ("peers.torchsde_peer", 3.0),
    "diffrax": ("peers.diffrax_peer", 2.0),
}


class PeerUnavailable(RuntimeError):
    pass


def load_peer(name: str):
    """Import a peer module; raise PeerUnavailable with the reason if it cannot be imported."""
    if name not in PEERS:
        raise KeyError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")
    try:
        return importlib.import_module(PEERS[name][0])
    except Exception as exc:  # ImportError, or a library failing at import
        raise PeerUnavailable(f"{name}: import failed: {type(exc).__name__}: {exc}") from exc
