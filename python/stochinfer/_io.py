"""File helpers shared by the result containers."""
from __future__ import annotations

import os
import tempfile

import numpy as np


def atomic_savez(path, arrays: dict) -> str:
    """Write `arrays` to an .npz (".npz" appended if missing) through a temporary
    file in the same folder and an atomic rename: readers never see a partial file,
    and an interrupted write leaves the old one. Returns the path written."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
