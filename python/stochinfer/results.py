"""Result containers."""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from ._io import UNREADABLE, atomic_savez, json_text, open_npz
from ._validate import finite_float, positive_float, recording_dt

FORMAT_VERSION = 1
#: the arrays Trajectories.save writes (other readers of such files recognise them by these)
TRAJECTORY_KEYS = ("x", "dt", "t0", "settings", "format_version")


def given_or_stored_model(model, stored):
    """`model` if given, else `stored` (the model the data came from); warns when both exist
    and differ: the estimators' truth would silently be another system's (review, session 31)."""
    if model is None:
        return stored
    if stored is not None and model is not stored:
        if not (hasattr(model, "to_dict") and hasattr(stored, "to_dict") and model.to_dict() == stored.to_dict()):
            from ._validate import user_stacklevel
            warnings.warn(f"model={type(model).__name__}(...) replaces the model the data came from "
                          f"({type(stored).__name__}): results are scored against the one given",
                          UserWarning, stacklevel=user_stacklevel())
    return model


@dataclass
class Trajectories:
    """Simulated (or loaded) trajectories.

    data: (n_traj, n_records, state_dim) array; for underdamped models the state is
    (positions, velocities). dt: time between records (model time unit).
    t0: time of the first record (model time unit); t = t0 + dt · record index.
    model: the generating model (e.g. a built-in stochinfer.models model, whose ground
    truth then comes with the data), or None.
    settings: every option that changed the numbers (integrator, substeps, seed, ...).
    """

    data: np.ndarray
    dt: float
    t0: float = 0.0
    model: Optional[Any] = None
    settings: dict = field(default_factory=dict)

    def __post_init__(self):
        # checked at construction: an unchecked dt or t0 surfaced as a LAPACK message deep in a fit,
        # or as a file that load() refuses (review, session 26)
        if not isinstance(self.data, np.ndarray):
            raise TypeError(f"data must be a numpy array (n_traj, n_records, state_dim), got {type(self.data).__name__}"
                            "; wrap it with np.asarray")
        if self.data.ndim != 3 or self.data.dtype.kind not in "fiu":
            raise ValueError(f"data must be a numeric array (n_traj, n_records, state_dim), got {self.data.dtype} of "
                             f"shape {self.data.shape}")
        self.dt = positive_float("dt", self.dt)
        self.t0 = finite_float("t0", self.t0)
        if not isinstance(self.settings, dict):
            raise TypeError(f"settings must be a dict, got {type(self.settings).__name__}")
        under = self.settings.get("underdamped", False)
        if not isinstance(under, (bool, np.bool_)) or (under and self.data.shape[-1] % 2):
            raise ValueError(f"settings['underdamped'] must be a bool, and True needs data with positions and "
                             f"velocities (an even last axis); got {under!r} with shape {self.data.shape}")

    @property
    def underdamped(self) -> bool:
        """Whether the states hold positions and velocities (settings['underdamped'])."""
        return bool(self.settings.get("underdamped", False))

    @property
    def x(self) -> np.ndarray:
        """Positions, (n_traj, n_records, dof) (a view, no copy)."""
        if self.underdamped:
            return self.data[..., : self.data.shape[-1] // 2]
        return self.data

    @property
    def v(self) -> np.ndarray:
        """Velocities of underdamped models, (n_traj, n_records, dof)."""
        if not self.underdamped:
            raise AttributeError("v: only underdamped models have velocities")
        return self.data[..., self.data.shape[-1] // 2:]

    @property
    def t(self) -> np.ndarray:
        """Record times, (n_records,)."""
        return self.t0 + self.dt * np.arange(self.data.shape[1])

    @property
    def n_traj(self) -> int:
        """Number of trajectories."""
        return self.data.shape[0]

    def __repr__(self) -> str:
        return (f"Trajectories(n_traj={self.data.shape[0]}, n_records={self.data.shape[1]}, "
                f"dim={self.data.shape[2]}, dt={self.dt}, dtype={self.data.dtype.name}, "
                f"model={self.model!r})")

    def save(self, path: str) -> None:
        """Write an .npz (keys: TRAJECTORY_KEYS, settings as JSON) atomically."""
        meta = dict(self.settings)
        if self.model is not None and hasattr(self.model, "to_dict"):
            meta["model"] = self.model.to_dict()
        # strict JSON with numpy values as numbers (default=str stored them as strings, NaN as bare NaN)
        atomic_savez(path, dict(x=self.data, dt=float(self.dt), t0=float(self.t0), settings=json_text(meta),
                                format_version=FORMAT_VERSION))

    @classmethod
    def load(cls, path: str, scalar_paths: bool = False, dt: Optional[float] = None) -> "Trajectories":
        """Read an .npz written by save(), or any .npz holding an array 'x' and 'dt': x of
        shape (n_traj, L, dim), or 2-D: a float (L, dim) is one trajectory (as arrays passed to
        the estimators), integer token paths (n_traj, L) are n_traj paths;
        scalar_paths=True reads a 2-D float x as scalar paths (n_traj, L) instead. dt (time
        units) is the recording interval of a file that stores none (one that does must
        agree with it)."""
        with open_npz(path, "trajectories") as f:
            if "x" not in f:
                raise ValueError(f"{path}: no array 'x' (n_traj, n_steps, dim) in the file")
            try:
                version = int(f["format_version"]) if "format_version" in f else FORMAT_VERSION
                data = f["x"]
                scalars = {key: f[key] for key in ("dt", "t0") if key in f}
                settings = json.loads(str(f["settings"])) if "settings" in f else {}
            except (TypeError,) + UNREADABLE as exc:
                raise ValueError(f"{path}: a damaged trajectories file ({type(exc).__name__}: {exc})") from None
        for key, value in scalars.items():
            if value.shape != () or value.dtype.kind not in "fiu":
                many = (" (one start time per trajectory: pass the arrays to the estimators with t0=; the command "
                        "line reads such a file as it is)" if key == "t0" and value.ndim == 1 else "")
                raise ValueError(f"{path}: {key!r} must be one number, got {value.dtype} of shape {value.shape}{many}")
        stored_dt = float(scalars["dt"]) if "dt" in scalars else None
        t0 = float(scalars["t0"]) if "t0" in scalars else 0.0
        if version > FORMAT_VERSION:
            raise ValueError(f"{path}: format version {version} is newer than this stochinfer ({FORMAT_VERSION}); "
                             "upgrade stochinfer")
        if not isinstance(settings, dict):
            raise ValueError(f"{path}: a damaged trajectories file (its settings are a JSON "
                             f"{type(settings).__name__}, not an object)")
        if data.dtype.kind not in "fiu" or data.ndim not in (2, 3):
            raise ValueError(f"{path}: 'x' must be a numeric array (n_traj, n_steps, dim), (n_steps, dim) or "
                             f"integer (n_traj, n_steps), got {data.dtype} of shape {data.shape}")
        if stored_dt is not None and not (math.isfinite(stored_dt) and stored_dt > 0):
            raise ValueError(f"{path}: the stored recording interval dt={stored_dt} is not a positive number; "
                             "rewrite the file with the right dt")
        if stored_dt is None:
            if dt is None:
                raise ValueError(f"{path}: no recording interval 'dt' in the file; pass dt= (time between "
                                 "consecutive records)")
            stored_dt = positive_float("dt", dt)
        elif dt is not None:
            recording_dt(dt, stored_dt)
        dt = stored_dt
        if not isinstance(settings.get("underdamped", False), bool) or (
                settings.get("underdamped") and (data.ndim != 3 or data.shape[-1] % 2)):
            raise ValueError(f"{path}: a damaged trajectories file (underdamped={settings.get('underdamped')!r} "
                             f"with x of shape {data.shape}: positions and velocities need an even last axis)")
        if not math.isfinite(t0):
            raise ValueError(f"{path}: a damaged trajectories file (t0={t0})")
        for key in ("substeps", "record_every"):  # the truth's integration steps per record come from these
            value = settings.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{path}: a damaged trajectories file (settings {key}={value!r}, not an integer "
                                 ">= 1)")
        if scalar_paths and not (data.ndim == 2 and data.dtype.kind == "f"):
            raise ValueError(f"{path}: scalar_paths reads a 2-D float 'x' (n_traj, L); this one is {data.dtype} "
                             f"of shape {data.shape}")
        if scalar_paths:
            data = data[:, :, None]
        elif data.ndim == 2 and data.dtype.kind == "f":  # as for arrays: one trajectory (L, dim)
            from ._validate import wide_2d_warning
            wide_2d_warning(data.shape)  # the estimators check the time axis itself when the data are used
            data = data[None]
        elif data.ndim == 2:  # integer token paths (n_traj, L)
            data = data[:, :, None]
        model = None
        if isinstance(settings.get("model"), dict):
            from .models import from_dict
            try:  # built-in models come back with their ground truth
                model = from_dict(settings["model"])
            except ValueError as exc:
                warnings.warn(f"{path}: the stored model is not rebuilt, so no ground truth comes with the data: {exc}",
                              stacklevel=2)
        return cls(data=data, dt=dt, t0=t0, model=model, settings=settings)
