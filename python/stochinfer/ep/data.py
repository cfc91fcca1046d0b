"""Input handling for EP estimators: turns Trajectories, arrays or token paths
into one validated array (no copy when already contiguous) plus what is known
about the generating model."""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from .._pieces import KEEP_FRACTION, SPLIT_AT_GAPS_FIX, cut_into_pieces, finite_tracks, ragged_segments
from .._validate import (finite_states, glitch_warning, positive_float, recording_dt, required_dt, stacked_array,
                         swapped_axes_hint, time_axis_warning)


@dataclass
class EPData:
    """data: (n_traj, L, d) float32/float64, or (n_traj, L) int32 tokens."""

    data: np.ndarray
    dt: float
    tokens: bool
    model: Any = None
    substeps: Optional[int] = None
    integrator: Optional[str] = None
    notes: list = field(default_factory=list)
    hidden: Optional[np.ndarray] = None  # movies: the hidden states (n_traj, L, dim) the frames show
    partial: bool = False  # movies: the frames do not show every coordinate
    blur: int = 1  # movies: hidden states averaged into each frame (motion blur)
    layout: Optional[dict] = None  # movies: what the frames draw (Movies.settings['layout'])

    @property
    def n_traj(self) -> int:
        return self.data.shape[0]

    @property
    def length(self) -> int:
        return self.data.shape[1]

    @property
    def dim(self) -> int:
        return 1 if self.tokens else self.data.shape[2]


def _check_model(model, arr: np.ndarray, tokens: bool) -> None:
    """A model given for the truth must be a stochinfer model of the data's kind and
    dimension: a mismatched one would report the truth of another system."""
    if model is None:
        return
    from ..models import FlashingRatchet, Model, PythonModel

    if not isinstance(model, (Model, PythonModel, FlashingRatchet)):
        raise TypeError(f"model must be a stochinfer model (the data's generator), got {type(model).__name__}")
    if tokens != isinstance(model, FlashingRatchet):
        raise ValueError(f"model {type(model).__name__} does not generate "
                         f"{'token paths' if tokens else 'real-valued states'} like the data")
    if not tokens and model.dim != arr.shape[2]:
        raise ValueError(f"model {type(model).__name__} has {model.dim} state components but the data has "
                         f"{arr.shape[2]}")


def recorded_substeps(settings: dict, substeps: Optional[int]) -> Optional[int]:
    """The integration steps per recorded interval of a simulation's settings
    (record_every intervals of `substeps` each), else `substeps` as given, else None.
    A given value that contradicts the settings is an error: the truth would be that of
    another simulation (substeps=2 with record_every=5 read as 2 steps per record gave
    σ_Δt 0.683 instead of 0.589; review, session 30)."""
    if settings.get("substeps") is None:
        return substeps
    recorded = int(settings["substeps"]) * int(settings.get("record_every", 1))
    if substeps is not None and (isinstance(substeps, bool) or substeps != recorded):
        raise ValueError(f"substeps={substeps!r} contradicts the Trajectories, simulated with substeps="
                         f"{settings['substeps']} and record_every={settings.get('record_every', 1)}: {recorded} "
                         "integration steps per recorded interval, which is what substeps counts here; omit "
                         "substeps (Trajectories carry it)")
    return recorded


def checked_substeps(substeps) -> Optional[int]:
    """None, or an integer in [1, 2**31) (ValueError otherwise): the compiled truth takes
    the integration steps per recorded interval as a 32-bit int, as stochinfer.simulate does."""
    if substeps is not None and (not isinstance(substeps, numbers.Integral) or substeps < 1):
        raise ValueError(f"substeps must be an integer >= 1, got {substeps}")
    if substeps is not None and substeps > 2**31 - 1:
        raise ValueError(f"substeps must be <= {2**31 - 1} (integration steps per recorded interval, as "
                         f"stochinfer.simulate takes them; for a simulation, substeps × record_every), got {substeps}")
    return None if substeps is None else int(substeps)


def _check_token_labels(arr: np.ndarray) -> None:
    """Token labels must be non-negative and fit int32 (the networks' embedding index)."""
    if arr.size and arr.min() < 0:
        raise ValueError("token data must be non-negative integers (state labels 0, 1, ...)")
    if arr.size and arr.max() >= 2**31:
        raise ValueError(f"token data: labels must be below 2**31 (int32), got a largest label of {int(arr.max())}; "
                         "relabel the states 0, 1, ... (np.unique(data, return_inverse=True))")


def _track_pieces(tracks: list, min_length: int, keep: float, window: int = 0):
    """Tracks of different lengths, float (L_k, d) or integer tokens (L_k,), cut into pieces
    of one length (stochinfer._pieces; consecutive pieces share a point, so every
    transition is used once but each track's remainder)."""
    kinds = {a.dtype.kind in "iu" for a in tracks}
    for k, a in enumerate(tracks):
        want = 1 if a.dtype.kind in "iu" else 2
        if len(kinds) > 1 or a.dtype.kind not in "iuf" or a.ndim != want:
            raise ValueError(f"data: tracks of different lengths must all be float states (L_k, dim) or all integer "
                             f"tokens (L_k,); track {k} is {a.dtype} of shape {a.shape}"
                             + (": for 1-D states pass [x[:, None] for x in tracks]"
                                if a.dtype.kind == "f" and a.ndim == 1 else ""))
    finite_tracks("data", tracks)
    if True in kinds:  # checked, then int32: int64 beside uint64 tracks would stack as floats
        for a in tracks:
            _check_token_labels(a)
        tracks = [a.astype(np.int32) for a in tracks]
    return cut_into_pieces("data", tracks, 1, min_length, "the estimator", keep=keep, window=window)


def as_ep_data(data, dt: Optional[float], model=None, substeps: Optional[int] = None,
               min_length: int = 2, keep: float = KEEP_FRACTION, window: int = 0) -> EPData:
    """Validates `data`: a Trajectories object, a float array (n_traj, L, d) or (L, d)
    for one trajectory, integer token paths (n_traj, L) or (L,), or a list of tracks of
    different lengths ((L_k, d) floats or (L_k,) tokens), cut into pieces of one length
    of at least min_length points (the longest keeping `keep` of the most transitions;
    estimators of pairs alone take keep=1, every transition they can; window: an estimator
    of windows of that many points (RNEEP) keeps the most windows, not transitions).

    dt (model time unit) is required for arrays and must match a Trajectories' dt.
    Token paths default to dt = 1 (EP per step)."""
    from ..results import Trajectories, given_or_stored_model

    notes = []
    integrator = None
    if isinstance(data, Trajectories):
        if data.underdamped:
            raise ValueError("data: underdamped trajectories hold (x, v); velocities are odd under time reversal "
                             "and NEEP assumes even states. Pass traj.x explicitly to estimate the EP visible "
                             "in positions only")
        dt = recording_dt(dt, data.dt)
        model = given_or_stored_model(model, data.model)
        substeps = recorded_substeps(data.settings, substeps)
        integrator = data.settings.get("integrator")
        start = data.settings.get("initial")
        if data.settings.get("burn_in") == 0 and start in ("zeros", "array") and hasattr(model, "snapshot_ep_rate"):
            notes.append(f"the trajectories start from initial={start!r} without burn-in: their first transitions "
                         "are not stationary, while the truth (σ, σ_Δt) is the stationary value")
        arr = data.x
        if arr.dtype.kind in "iu" and arr.shape[-1] == 1:  # token paths, stored (n_traj, L, 1) by Trajectories
            arr = arr[..., 0]
    else:
        arr = data
    if type(arr).__name__ == "Movies" or (isinstance(arr, np.ndarray) and arr.ndim == 4):
        raise TypeError("data: movies (frames (n_movies, n_frames, height, width)) are read by CNEEP: pass "
                        "method='cneep' (or use stochinfer.CNEEP)")
    tracks = ragged_segments("data", arr) if not isinstance(data, Trajectories) else None
    if tracks is not None:
        arr, _, _, note = _track_pieces(tracks, min_length, keep, window)
        notes.append(note)
    arr = stacked_array("data", arr)
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"data must be a numpy array or Trajectories, got {type(arr).__name__}")
    if arr.dtype.kind in "iu":
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            hint = (" (integer positions, e.g. a lattice walk (n_traj, L, d)? pass them as floats: "
                    "x.astype(float); integer frames of one movie? pass method='cneep')" if arr.ndim == 3 else "")
            raise ValueError(f"token data must have shape (n_traj, L) or (L,), got {arr.shape}{hint}")
        _check_token_labels(arr)
        arr = np.ascontiguousarray(arr, dtype=np.int32)
        tokens = True
        dt = 1.0 if dt is None else dt
    elif arr.dtype.kind == "f":
        given_shape = arr.shape
        if arr.ndim == 2:
            arr = arr[None]
            notes.append("2-D float data read as one trajectory (L, dim)")
        if arr.ndim != 3:
            fix = ": for one trajectory of a 1-D state pass data[None, :, None] (shape (1, L, 1))" if arr.ndim == 1 else ""
            raise ValueError(f"data must have shape (n_traj, L, dim), got {arr.shape}{fix}")
        if arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
        arr = np.ascontiguousarray(arr)  # no copy when already C-contiguous
        finite_states(arr, nan_fix=SPLIT_AT_GAPS_FIX)
        tokens = False
        dt = required_dt(dt)
    else:
        raise TypeError(f"data must be float (states) or integer (tokens), got dtype {arr.dtype}")
    if arr.shape[0] < 1 or (not tokens and arr.shape[2] < 1):
        raise ValueError(f"data is empty (shape {arr.shape}): need at least one trajectory with one component")
    if arr.shape[1] < 2:
        raise ValueError(f"data: need at least 2 time steps per trajectory, got {arr.shape[1]}"
                         + ("" if tokens else swapped_axes_hint(given_shape, arr.shape[1])))
    dt = positive_float("dt", dt)
    substeps = checked_substeps(substeps)
    _check_model(model, arr, tokens)
    if not tokens and tracks is None:  # pieces of tracks: the user's axes are (L_k, dim)
        time_axis_warning(arr, given_shape)
    if not tokens:
        glitch_warning(arr)
    return EPData(arr, dt, tokens, model, substeps, integrator, notes)


def model_truth(d: EPData) -> dict:
    """Analytic truth of the generating model, when it has one: σ, σ_Δt of the
    integrator that produced the data, and the optimal NEEP loss."""
    m = d.model
    if m is None:
        return {}
    t = {}
    if d.tokens and hasattr(m, "ep_per_step"):
        if _partially_observed(d):
            # coarse-grained EP has no closed form; the full-information value bounds it
            t["full_information_ep_rate"] = m.ep_per_step() / d.dt
            return t
        t["snapshot_ep_rate"] = m.ep_per_step() / d.dt
        t["optimal_loss"] = 1.0 - m.ep_per_step()
        return t
    if not d.tokens and hasattr(m, "snapshot_ep_rate"):
        t["ep_rate"] = m.ep_rate()
        method = d.integrator or getattr(m, "default_integrator", "euler_maruyama")
        if d.integrator is None:  # arrays do not say which scheme made them
            d.notes.append(f"integrator not recorded with the data: σ_Δt computed for {method!r}, the model's "
                           "default; pass the Trajectories from stochinfer.simulate (they carry it) for data made "
                           "by another")
        if method not in ("euler_maruyama", "heun", "exact"):
            d.notes.append(f"no snapshot EP rate for data made by {method!r}: σ_Δt and the optimal loss left out")
            return t
        substeps = d.substeps or 1
        if d.substeps is None:
            d.notes.append("substeps unknown: σ_Δt computed for Euler–Maruyama without substeps")
        t["snapshot_ep_rate"] = m.snapshot_ep_rate(d.dt, substeps=substeps, method=method)
        t["optimal_loss"] = 1.0 - t["snapshot_ep_rate"] * d.dt
        t["truth_for"] = f"{method}, {substeps} substeps, dt={d.dt}"
    return t


def truth_delta_s(d: EPData, segments: np.ndarray) -> Optional[np.ndarray]:
    """Analytic ΔS of every transition of `segments`, in order, or None."""
    m = d.model
    if m is None or not hasattr(m, "transition_entropy"):
        return None
    if d.tokens and _partially_observed(d):
        return None
    out = []
    for traj, b, e in segments:
        piece = d.data[traj, b:e][None]
        try:
            out.append(np.asarray(m.transition_entropy(piece))[0])
        except ValueError:
            return None
    return np.concatenate(out) if out else None


def _partially_observed(d: EPData) -> bool:
    """Token data using fewer labels than the model's states: a coarse-grained view."""
    n = getattr(d.model, "n_states", None)
    return n is not None and int(d.data.max()) + 1 < n
