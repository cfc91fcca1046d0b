"""File helpers shared by the result containers."""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np


def atomic_savez(path, arrays: dict) -> str:
    """Write `arrays` to an .npz (".npz" appended if missing) through a temporary
    file in the same folder and an atomic rename: readers never see a partial file,
    and an interrupted write leaves the old one. Returns the path written."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save {path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def open_npz(path, what: str):
    """np.load of an .npz (allow_pickle=False) with clear errors: ValueError for a
    file that is not a readable .npz (numpy's own message suggests allow_pickle,
    unsafe advice for a file of unknown origin), FileNotFoundError as usual. A path
    without its ".npz" is found as atomic_savez wrote it."""
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        path += ".npz"
    try:
        f = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a stochinfer {what} file (not a readable .npz: "
                         f"{type(exc).__name__})") from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not a stochinfer {what} file (a single array, not an .npz)")
    return f


def load_versioned(path, kind: str, max_version: int, what: str):
    """Reads an .npz written with keys format_version, kind and config (JSON):
    returns (config dict, every array). Raises ValueError for another kind of
    file, a newer format than this stochinfer reads, or a damaged file."""
    with open_npz(path, what) as f:
        if "format_version" not in f or "kind" not in f or str(f["kind"]) != kind:
            raise ValueError(f"{path}: not a stochinfer {what} file")
        try:
            version = int(f["format_version"])
            if version > max_version:
                raise ValueError(f"{path}: format version {version} is newer than this stochinfer "
                                 f"({max_version}); upgrade stochinfer")
            return json.loads(str(f["config"])), {k: f[k] for k in f.files}
        except (KeyError, TypeError, json.JSONDecodeError, zipfile.BadZipFile, EOFError) as exc:
            raise ValueError(f"{path}: a damaged stochinfer {what} file ({type(exc).__name__}: {exc})") from None
