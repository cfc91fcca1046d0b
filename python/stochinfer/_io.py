"""File helpers shared by the result containers."""
from __future__ import annotations

import json
import math
import os
import secrets
import stat
import tokenize
import zipfile

import numpy as np

# what numpy raises reading a damaged .npy/.npz: a mangled array header fails in Python's
# tokenizer (TokenError) before numpy's own check, a bad zip member in zipfile
UNREADABLE = (ValueError, OSError, EOFError, zipfile.BadZipFile, tokenize.TokenError, SyntaxError)


def _create_temporary(folder: str, name: str, perms: int) -> tuple:
    """A new file next to the target, created with `perms` (the OS applies the umask at
    creation, so no thread-unsafe umask read is needed)."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, perms), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file in {folder}")


def atomic_write(path: str, write, mode: str = "wb") -> str:
    """Calls write(fh) on a temporary file next to path, then renames it over path
    atomically: readers never see a partial file, and an interrupted write leaves the
    old one. A symlink is written through (the link stays); a device, pipe or other
    special file (/dev/stdout) is written directly; an existing file keeps its
    permissions, a new one gets those a plain open() would. A folder that takes no new
    files but holds a writable target gets a direct write. Returns path. An operating
    system error names path (not the hidden temporary file, or nothing, as the OS does)."""
    path = os.fspath(path)
    try:
        return _atomic_write(path, write, mode)
    except OSError as exc:
        named = exc.filename is None or os.path.basename(os.fspath(exc.filename)).startswith(
            (os.path.basename(path), "." + os.path.basename(os.path.realpath(path))))
        if exc.errno is None or not named:  # ours, already naming the path; or about another file
            raise
        raise type(exc)(exc.errno, f"cannot save {path}: {exc.strerror}") from None


def _atomic_write(path: str, write, mode: str) -> str:
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot save {path}: it is a folder")
    if os.path.exists(path) and not os.path.isfile(path):  # not a regular file: no rename over it
        with open(path, mode) as fh:
            write(fh)
        return path
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save {path}: the folder {folder} does not exist")
    existing = os.path.exists(target)
    perms = stat.S_IMODE(os.stat(target).st_mode) if existing else 0o666
    try:
        fd, tmp = _create_temporary(folder, os.path.basename(target), perms)
    except PermissionError:
        if not (existing and os.access(target, os.W_OK)):
            raise
        with open(target, mode) as fh:  # the folder takes no new files, the file is writable
            write(fh)
        return path
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if existing:
            os.chmod(tmp, perms)  # exactly the old mode (creation applied the umask to it)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def npz_path(path) -> str:
    """The file atomic_savez writes for `path`: ".npz" appended if missing."""
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"


def atomic_savez(path, arrays: dict) -> str:
    """Write `arrays` to npz_path(path) with atomic_write. Returns the path written."""
    return atomic_write(npz_path(path), lambda fh: np.savez(fh, **arrays))


def save_figure(fig, path, dpi: int = 120) -> str:
    """Save a matplotlib figure with atomic_write (an interrupted save leaves the old
    file). The format follows the extension; a path without one gets matplotlib's
    default format and its extension appended, as fig.savefig(path) would. Returns
    the path written."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1][1:].lower()
    if not fmt:
        import matplotlib
        fmt = str(matplotlib.rcParams["savefig.format"])
        path = f"{path}.{fmt}"
    if not figure_format_supported(fmt):  # before the temporary file is created
        raise ValueError(f"matplotlib cannot write .{fmt} figures ({path}); name a .png, .pdf or .svg file")
    return atomic_write(path, lambda fh: fig.savefig(fh, format=fmt, dpi=dpi))


def figure_format_supported(fmt: str) -> bool:
    """Whether matplotlib (with any backend) writes figures in this format (an extension
    without its dot, e.g. 'png')."""
    from matplotlib.backend_bases import FigureCanvasBase
    return fmt.lower() in FigureCanvasBase.get_supported_filetypes()


def json_safe(value):
    """value with numpy scalars and arrays as Python numbers and lists, and NaN/inf as
    None: strict JSON has no NaN."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(content) -> str:
    """Strict JSON of content (json_safe; anything else as its str)."""
    return json.dumps(json_safe(content), indent=1, default=str, allow_nan=False)


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
    except UNREADABLE as exc:
        raise ValueError(f"{path}: not a stochinfer {what} file (not a readable .npz: "
                         f"{type(exc).__name__})") from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not a stochinfer {what} file (a single array, not an .npz)")
    return f


# the kinds of file save() writes and what reads each (load_versioned names them in its errors)
_LOADERS = {"neep": "NEEP.load", "rneep": "RNEEP.load", "cneep": "CNEEP.load", "classifier": "Classifier.load",
            "langevin_fit": "LangevinFit.load"}


def stored_kind(f) -> str:
    """The kind a saved .npz (open NpzFile) names, '' if it names none: what save() wrote
    (a key of _LOADERS for stochinfer's own files); '' too if that entry is unreadable."""
    try:
        return str(f["kind"]) if "kind" in f and f["kind"].dtype.kind == "U" and f["kind"].size == 1 else ""
    except UNREADABLE:
        return ""


def load_versioned(path, kind: str, max_version: int, what: str):
    """Reads an .npz written with keys format_version, kind and config (JSON):
    returns (config dict, every array). Raises ValueError for another kind of
    file, a newer format than this stochinfer reads, or a damaged file."""
    with open_npz(path, what) as f:
        if "format_version" not in f or "kind" not in f or str(f["kind"]) != kind:
            found = stored_kind(f)
            found = "" if found == kind else found  # the right kind without a format_version: damaged, not foreign
            loader = _LOADERS.get(found, "")
            raise ValueError(f"{path}: not a stochinfer {what} file"
                             + (f" (it holds a {found!r} file{f'; read it with {loader}' if loader else ''})"
                                if found else ""))
        try:
            version = int(f["format_version"])
            if version > max_version:
                raise ValueError(f"{path}: format version {version} is newer than this stochinfer "
                                 f"({max_version}); upgrade stochinfer")
            config, arrays = json.loads(str(f["config"])), {k: f[k] for k in f.files}
        except (KeyError, TypeError, json.JSONDecodeError) + UNREADABLE as exc:
            raise ValueError(f"{path}: a damaged stochinfer {what} file ({type(exc).__name__}: {exc})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: a damaged stochinfer {what} file (its config is a JSON {type(config).__name__}, "
                         "not an object)")
    return config, arrays
