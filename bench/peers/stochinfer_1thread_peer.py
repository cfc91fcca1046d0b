"""stochinfer on one thread (``n_threads=1``), for per-core comparisons with the
single-threaded peers (numpy's RNG and ufuncs, diffrax/XLA on these loops)."""
from __future__ import annotations

import functools

from .stochinfer_peer import simulate_with, versions  # noqa: F401  (versions: the same library)

NAME = "stochinfer_1thread"
JIT_SHAPE_SPECIALIZED = False
MEMORY_FACTOR = 1.0


def setup(dtype: str) -> None:
    pass


simulate = functools.partial(simulate_with, {"n_threads": 1})
