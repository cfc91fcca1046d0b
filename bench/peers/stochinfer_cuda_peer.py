"""stochinfer on its CUDA backend (``backend="cuda"``): the same call as the
``stochinfer`` peer; unavailable unless the build has CUDA and a GPU is visible."""
from __future__ import annotations

import functools

from .stochinfer_peer import si, simulate_with, versions  # noqa: F401  (same import fallback)

if not si.cuda_available():
    raise ImportError("stochinfer: no CUDA device visible (or built without CUDA)")

NAME = "stochinfer_cuda"
JIT_SHAPE_SPECIALIZED = False
MEMORY_FACTOR = 1.0


def setup(dtype: str) -> None:
    pass


simulate = functools.partial(simulate_with, {"backend": "cuda"})
