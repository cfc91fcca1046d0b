"""Input handling for Langevin inference: validation, train/validation split,
normalisation and the regression targets of methods.md §3.3."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from .._pieces import (cut_into_pieces, finite_tracks, gap_runs, kept_rows, piece_length, ragged_segments,
                       smallest_length)
from .._validate import (finite_states, glitch_warning, glitched_points, listed_arrays, recording_dt, required_dt,
                         stacked_array, swapped_axes_hint, time_axis_warning, user_stacklevel)

REGIMES = ("overdamped", "underdamped")


def time_inputs(t: np.ndarray, norm: dict) -> np.ndarray:
    """The networks' time columns for times t (n,): (t − mu_t)/s_t, (n, 1); or, for a
    fit with norm['time_period'] = P, cos(2πht/P) and sin(2πht/P) for h = 1 … K
    (K = norm['time_harmonics'], default 1), (n, 2K). The C++ field assembly
    (InferredFieldsSpec) builds the same columns."""
    t = np.asarray(t, dtype=np.float64)
    period = float(norm.get("time_period", 0.0))
    if period > 0:
        phase = 2 * np.pi * t / period
        cols = []
        for h in range(1, int(norm.get("time_harmonics", 1)) + 1):
            cols += [np.cos(h * phase), np.sin(h * phase)]
        return np.column_stack(cols)
    return ((t - float(norm["mu_t"])) / float(norm["s_t"]))[:, None]


@dataclass
class LangevinData:
    """Validated trajectories and what is known about them.

    x: (n_traj, L, d) positions (float64); t: (n_traj, L) times or None for
    autonomous systems; dt: recording interval (model time unit); integration:
    (scheme, integration steps per record) for stochinfer.simulate output, else None;
    tracks, track_starts: for tracks of different lengths cut into pieces, the track of each
    piece and its first point there (n_traj,) each, else None (each trajectory its own);
    consecutive pieces of a track share `overlap` points; glitched: (trajectory, point) of
    points that look like single glitched frames (_validate.glitched_points), (k, 2);
    validate_by_track: autonomous data validated on whole tracks (short tracks, _track_pieces) or
    whole trajectories (too short for the time split, with at least 5 of them);
    track_source: for tracks cut at gaps, the trajectory (or track) of the data each came from."""

    x: np.ndarray
    dt: float
    regime: str
    model: Any = None
    t: Optional[np.ndarray] = None
    notes: list = field(default_factory=list)
    integration: Optional[tuple] = None
    tracks: Optional[np.ndarray] = None
    track_starts: Optional[np.ndarray] = None
    glitched: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    validate_by_track: bool = False
    track_source: Optional[np.ndarray] = None

    @property
    def split_by_trajectory(self) -> bool:
        """Whether validation holds out whole trajectories (driven fits) or tracks (short
        autonomous tracks, _track_pieces), rather than the last rows of each."""
        return self.t is not None or self.validate_by_track

    @property
    def split_units(self) -> Optional[np.ndarray]:
        """Per piece, what validation by track holds out whole: its track, or for tracks cut
        at gaps (gaps='split') from at least 5 trajectories, the trajectory they were cut
        from, so that no trajectory lends rows to both sides of a gap (review, session 33)."""
        if self.tracks is None:
            return None
        return self.track_source[self.tracks] if self.splits_by_source else self.tracks

    @property
    def splits_by_source(self) -> bool:
        """Whether split_units are the source trajectories of tracks cut at gaps (>= 5)."""
        return (self.tracks is not None and self.track_source is not None
                and np.unique(self.track_source[self.tracks]).size >= 5)

    @property
    def n_traj(self) -> int:
        return self.x.shape[0]

    @property
    def length(self) -> int:
        return self.x.shape[1]

    @property
    def dim(self) -> int:
        return self.x.shape[2]


#: how the fit treats localisation (measurement) noise already in the positions
LOCALISATION_MODES = ("check", "robust")


def row_span(regime: str, localisation: str = "check") -> int:
    """Points one regression row spans beyond its first: 1 for an overdamped increment, 2 for
    an underdamped second difference, 3 for overdamped rows robust to localisation noise
    (input x_j, increments x_{j+1} → x_{j+2} → x_{j+3}). A trajectory of L points gives
    L − row_span rows, and consecutive pieces of a track share row_span points (_track_pieces)."""
    if regime == "underdamped":
        return 2
    return 3 if localisation == "robust" else 1


def _start_times(t0, n: int, what: str) -> np.ndarray:
    """t0 as a finite scalar or (n,) array of start times."""
    starts = np.asarray(t0, dtype=np.float64)
    if starts.ndim > 1 or (starts.ndim == 1 and starts.shape[0] != n) or not np.isfinite(starts).all():
        raise ValueError(f"t0 must be a finite scalar or have shape ({n},) (one start time per {what}), got "
                         f"{starts.shape}")
    return starts


#: autonomous tracks are validated on whole tracks when that keeps this much more of their rows
#: than the last rows of each piece (whose pieces need 2 validation rows: 9 points at 20%). Not
#: for small gains: with a gap every ~50 frames (5% more rows) whole-track validation picked
#: worse drift checkpoints (nonlinear system, bench/RESULTS.md "Missing frames")
TRACK_SPLIT_GAIN = 1.25


def _track_pieces(tracks: list, regime: str, by_trajectory: bool, val_fraction: Optional[float],
                  localisation: str = "check"):
    """(pieces, track of each, first point of each, note, by_track): tracks (L_k, d) of
    different lengths cut into pieces of one length (stochinfer._pieces) that every row of
    the fit can use: the rows of a piece (L − row_span: L − 1 overdamped, L − 3 robust to
    localisation noise, L − 2 underdamped) must take the validation split. Driven fits
    (by_trajectory) hold out whole tracks; autonomous ones the last val_fraction of each
    piece's rows (at least 2 on each side), or whole tracks (by_track True) when there are
    at least 5 and that keeps over TRACK_SPLIT_GAIN times the rows: short tracks (5-15
    points: 55% → 95% of the rows) lose less."""
    bad = [k for k, a in enumerate(tracks) if a.dtype.kind != "f"]
    if bad:
        a = tracks[bad[0]]
        fix = (" (integer token paths are for the EP estimators)" if a.dtype.kind in "iu" else "")
        raise TypeError(f"data: tracks must hold float states; track {bad[0]} is {a.dtype}: convert each with "
                        f"np.asarray(track, dtype=float){fix}")
    bad = [k for k, a in enumerate(tracks) if a.ndim != 2]
    if bad:
        fix = ": for 1-D states pass [x[:, None] for x in tracks]" if tracks[bad[0]].ndim == 1 else ""
        raise ValueError(f"data: each track of a list must be (L_k, dim); track {bad[0]} has shape "
                         f"{tracks[bad[0]].shape}{fix}")
    finite_tracks("data", tracks, fix=GAP_FIX)
    overlap = row_span(regime, localisation)

    def rows_ok(n: int) -> bool:
        if by_trajectory or val_fraction is None:
            return True
        cut = int(round((1 - val_fraction) * n))
        return cut >= 2 and n - cut >= 2
    need = smallest_length(overlap, overlap + 2, rows_ok)
    why = f"the {regime} fit" + (" with localisation_noise='robust' (a row spans 4 points)"
                                 if localisation == "robust" else "")
    by_track = by_trajectory
    if not (by_trajectory or val_fraction is None):
        lengths = np.array([a.shape[0] for a in tracks])
        by_piece, by_whole = (piece_length(lengths, overlap, n, min_tracks=m) for n, m in ((need, 1),
                                                                                            (overlap + 2, 5)))
        by_track = (by_whole > 0 and np.count_nonzero(lengths >= by_whole) >= 5
                    and kept_rows(lengths, overlap, by_whole) > TRACK_SPLIT_GAIN * kept_rows(lengths, overlap, by_piece))
        if by_track:
            need = overlap + 2
        else:
            why += f" with its {100 * val_fraction:.3g}% validation split (the last rows of each piece)"
    # a split by track (split_rows) needs 5 tracks: the length must leave them if it can
    return (*cut_into_pieces("data", tracks, overlap, need, why, min_tracks=5 if by_track else 1), by_track)


#: infer_langevin(gaps=): NaN frames are an error, or the trajectories are cut there into tracks
GAP_MODES = ("error", "split")
#: what the error on NaN frames says to do (gaps='error')
GAP_FIX = ("missing frames? pass gaps='split' to cut the trajectories there into tracks (interpolating across a gap "
           "would fake its increments)")


def _missing_frames(data) -> bool:
    """Whether float data (an array, masked array or list of tracks) hold a NaN or masked value."""
    items = listed_arrays(data)
    if isinstance(items, np.ma.MaskedArray):
        return bool(np.ma.count_masked(items)) or (items.dtype.kind == "f" and bool(np.isnan(items.data).any()))
    for a in (items if isinstance(items, (list, tuple)) else [items]):
        if isinstance(a, np.ma.MaskedArray) and np.ma.count_masked(a):
            return True
        try:
            a = np.asarray(a)
        except ValueError:  # ragged nested lists: stacked_array names them
            return False
        if a.dtype.kind == "f" and np.isnan(a).any():
            return True
    return False


def _split_at_gaps(data, dt, time_dependent: bool, t0, notes: list):
    """(GapRuns, t0): data cut at its NaN (or masked) frames into runs of recorded frames, as
    split_at_gaps (min_length 2) does, and for driven fits each run's start time, t0 of its
    trajectory (or track) + its first frame × dt (gaps='split')."""
    found = gap_runs("data", data, 2)
    items = listed_arrays(data)
    masked = any(isinstance(a, np.ma.MaskedArray) for a in (items if isinstance(items, (list, tuple)) else [items]))
    n, unit = found.n_source, found.unit
    units = unit if n == 1 else ("tracks" if unit == "track" else "trajectories")
    plural = "s" if found.n_missing != 1 else ""
    notes.append(f"gaps='split': {found.n_missing} missing frame{plural} ({'NaN or masked' if masked else 'NaN'}) in "
                 f"{found.n_gaps} gap{'s' if found.n_gaps != 1 else ''}; the {n} {units} cut there into "
                 f"{len(found.runs)} track{'s' if len(found.runs) != 1 else ''}"
                 + (f"; {found.n_short} single frame{'s' if found.n_short != 1 else ''} between gaps left out"
                    if found.n_short else ""))
    if time_dependent:
        step = required_dt(dt)
        if t0 is None:
            warnings.warn(f"time-dependent data: every {unit} is taken to start at t = 0 (each track cut at a gap "
                          f"starts where it lies in its {unit}); pass t0= (a scalar or one start time per {unit}) if "
                          "they do not", UserWarning, stacklevel=user_stacklevel())
            t0 = 0.0
        t0 = np.broadcast_to(_start_times(t0, n, unit), (n,))[found.source] + found.first * step
    return found, t0


#: what the glitch warning says was done with glitched frames, per infer_langevin(glitches=)
GLITCH_FIX = {"drop": "the rows that use them are left out of training and validation (glitches='keep' keeps them)",
              "keep": "kept (glitches='keep'): the fits are not robust to them; remove such points, or pass "
                      "glitches='drop'"}


def _in_pieces(points: np.ndarray, tracks: np.ndarray, first: np.ndarray, length: int) -> np.ndarray:
    """(piece, point) of (track, point) `points` in every piece of `length` points that holds
    them (tracks, first: each piece's track and first point there); pieces share points."""
    out = [(p, q - first[p]) for k, q in points for p in np.flatnonzero((tracks == k) & (first <= q)
                                                                          & (q < first + length))]
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def rows_touching(points: np.ndarray, span: int, n_rows: int) -> np.ndarray:
    """Flattened row indices (trajectory-major, n_rows per trajectory) of the rows that use
    any of `points` ((k, 2): trajectory, point): row j spans points j … j + span."""
    if len(points) == 0:
        return np.zeros(0, dtype=np.int64)
    traj, point = points[:, :1], points[:, 1:]
    rows = point - np.arange(span + 1)  # (k, span + 1)
    ok = (rows >= 0) & (rows < n_rows)
    return np.unique((traj * n_rows + rows)[ok])


def as_langevin_data(data, dt: Optional[float], regime: str, model=None, time_dependent: bool = False,
                     t0=None, val_fraction: Optional[float] = None, localisation: str = "check",
                     glitches: str = "drop", gaps: str = "error") -> LangevinData:
    """Validates `data`: Trajectories (positions are used; velocities are never
    observed), a float array (n_traj, L, d) or (L, d) for one trajectory, or a list of
    tracks (L_k, d) of different lengths, cut into pieces of one length (_track_pieces;
    val_fraction: the fit's validation split, which the pieces must take).
    dt is required for arrays and must match a Trajectories' dt. t0: start time of
    each trajectory of an array (scalar or (n_traj,)) or of each track of a list (scalar or
    one per track), for time-dependent fits. localisation: 'robust' rows span more points
    (row_span), which pieces of tracks share. glitches: 'drop' or 'keep' (infer_langevin's),
    for the warning on glitched frames. gaps: 'error' (NaN frames raise) or 'split'
    (the trajectories or tracks are cut at them into tracks: _split_at_gaps)."""
    from ..results import Trajectories, given_or_stored_model

    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")
    notes = []
    t = integration = None
    if t0 is not None and not time_dependent:
        raise ValueError("t0 applies to time-dependent fits (time_dependent=True)")
    if isinstance(data, Trajectories):
        if t0 is not None:
            raise ValueError("t0: Trajectories carry their own times (traj.t); pass t0 with arrays only")
        dt = recording_dt(dt, data.dt)
        model = given_or_stored_model(model, data.model)
        if data.underdamped and regime == "overdamped":
            notes.append("underdamped trajectories fitted as overdamped positions")
        t = np.broadcast_to(data.t, data.x.shape[:2]) if time_dependent else None
        arr = data.x
        step = data.settings.get("dt_integration")
        if isinstance(step, (int, float)) and not isinstance(step, bool) and math.isfinite(step) and step > 0:
            integration = (str(data.settings.get("integrator")), max(1, int(round(data.dt / step))))
    else:
        arr = data
    runs = None
    if gaps == "split" and _missing_frames(arr):
        if t is not None:  # a Trajectories' times: each trajectory starts at its first
            t0, t = np.array(t[:, 0]), None
        runs, t0 = _split_at_gaps(arr, dt, time_dependent, t0, notes)
    tracks = first = None
    if runs is not None:  # tracks, even of one length: pieces of one length may be short
        pieces = list(runs.runs)
    else:
        pieces = ragged_segments("data", arr) if not isinstance(data, Trajectories) else None
    track_glitches = None
    if pieces is not None:
        # on whole tracks, before they are cut: a piece's ends are not searched (review, session 32)
        track_glitches = glitched_points(pieces)
        arr, tracks, first, note, by_track = _track_pieces(pieces, regime, time_dependent, val_fraction, localisation)
        notes.append(note)
        if time_dependent:  # each piece starts where it lies in its track
            dt = required_dt(dt)
            if t0 is None:
                warnings.warn("time-dependent tracks: every track is taken to start at t = 0; pass t0= (a scalar or "
                              "one start time per track) if they do not", UserWarning, stacklevel=user_stacklevel())
                t0 = 0.0
            starts = np.broadcast_to(_start_times(t0, len(pieces), "track"), (len(pieces),))
            t0 = starts[tracks] + first * dt
    arr = stacked_array("data", arr)
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"data must be a numpy array or Trajectories, got {type(arr).__name__}")
    if arr.dtype.kind not in "f":
        fix = ((": convert it with np.asarray(data, dtype=float)" if isinstance(data, (list, tuple))
                else ": convert it with data.astype(float)") if arr.dtype.kind in "iu" else "")
        raise TypeError(f"data must be a float array of states, got dtype {arr.dtype}{fix}")
    given_shape = arr.shape
    if arr.ndim == 2:
        arr = arr[None]
        notes.append("2-D data read as one trajectory (L, dim)")
    if arr.ndim != 3:
        fix = ": for one trajectory of a 1-D state pass data[:, None] (shape (L, 1))" if arr.ndim == 1 else ""
        raise ValueError(f"data must have shape (n_traj, L, dim), got {arr.shape}{fix}")
    if arr.shape[0] < 1 or arr.shape[2] < 1:
        raise ValueError(f"data is empty (shape {arr.shape}): need at least one trajectory with one component")
    need = row_span(regime, localisation) + 2
    if arr.shape[1] < need:
        mode = " with localisation_noise='robust' (a row spans 4 points)" if localisation == "robust" else ""
        raise ValueError(f"data: need at least {need} time points per trajectory for the {regime} regime{mode}, "
                         f"got {arr.shape[1]}" + swapped_axes_hint(given_shape, arr.shape[1]))
    finite_states(arr, nan_fix=GAP_FIX)
    dt = required_dt(dt)
    if pieces is None:  # pieces of tracks: the user's axes are (L_k, dim), checked by ragged_segments
        time_axis_warning(arr, given_shape)
        glitched = glitched_points(arr)
        glitch_warning(arr, glitched, fix=GLITCH_FIX[glitches])
    else:  # named in the tracks (or trajectories cut at gaps) the user gave, found in every piece that holds them
        named, series = track_glitches, pieces
        if runs is not None:  # (run, point) -> (trajectory or track of the data, frame there)
            named = np.column_stack([runs.source[track_glitches[:, 0]], runs.first[track_glitches[:, 0]]
                                     + track_glitches[:, 1]]).reshape(-1, 2)
            series = range(runs.n_source)  # only its length is read: whether to name the series
        glitch_warning(series, named, fix=GLITCH_FIX[glitches], unit=runs.unit if runs is not None else "track")
        glitched = _in_pieces(track_glitches, tracks, first, arr.shape[1])
    if time_dependent and t is None:
        if t0 is None:
            warnings.warn("time-dependent data given as an array: every trajectory is taken to start at t = 0; "
                          "pass t0= (a scalar or one start time per trajectory) if they do not",
                          UserWarning, stacklevel=user_stacklevel())
            t0 = 0.0
        starts = _start_times(t0, arr.shape[0], "trajectory")
        t = np.reshape(starts, (-1, 1)) + np.arange(arr.shape[1]) * dt
        t = np.broadcast_to(t, arr.shape[:2])
    by_whole = bool(pieces is not None and by_track and not time_dependent)
    if pieces is None and not time_dependent and val_fraction is not None and arr.shape[0] >= 5:
        # trajectories too short for the last rows of each to validate (e.g. a list of equal short tracks, as
        # split_at_gaps may return): whole trajectories validate, as tracks of different lengths would
        n_rows = arr.shape[1] - row_span(regime, localisation)
        cut = int(round((1 - val_fraction) * n_rows))
        by_whole = cut < 2 or n_rows - cut < 2
    return LangevinData(np.asarray(arr, dtype=np.float64), dt, regime, model, t, notes, integration, tracks, first,
                        glitched, validate_by_track=by_whole, track_source=runs.source if runs is not None else None)


def tril_pairs(d: int):
    """(i, j) of the lower triangle, row by row: (0,0), (1,0), (1,1), (2,0), ..."""
    return [(i, j) for i in range(d) for j in range(i + 1)]


def tril_outer(a: np.ndarray, b: Optional[np.ndarray] = None) -> np.ndarray:
    """Lower-triangular entries of a bᵀ per row: (n, d), (n, d) -> (n, d(d+1)/2)."""
    b = a if b is None else b
    return np.stack([a[:, i] * b[:, j] for i, j in tril_pairs(a.shape[1])], axis=1)


def tril_to_matrix(v: np.ndarray, d: int) -> np.ndarray:
    """(..., d(d+1)/2) lower-triangular entries -> (..., d, d) symmetric matrices."""
    out = np.zeros(v.shape[:-1] + (d, d), dtype=v.dtype)
    for k, (i, j) in enumerate(tril_pairs(d)):
        out[..., i, j] = v[..., k]
        out[..., j, i] = v[..., k]
    return out


def split_rows(n_traj: int, n_points: int, val_fraction: float, by_trajectory: bool, seed: int = 0,
               tracks: Optional[np.ndarray] = None):
    """Train and validation point indices (flattened (traj, time) over n_points per
    trajectory). by_trajectory False: the last val_fraction of *time* of every
    trajectory validates (one trajectory suffices); True (time-dependent data, short
    autonomous tracks or trajectories: LangevinData.split_by_trajectory): a
    val_fraction of *trajectories* (methods.md §3.4), or whole tracks when the
    trajectories are pieces of tracks (tracks: the unit each belongs to,
    LangevinData.split_units), so that no track lends rows to both sides: in a random order,
    each track that keeps the held-out rows within val_fraction of all rows, then the one
    remaining track that brings them closest to it, if any does (at least one track on each
    side; filling first keeps one long track drawn early from overshooting)."""
    idx = np.arange(n_traj * n_points).reshape(n_traj, n_points)
    if by_trajectory:
        unit = np.arange(n_traj) if tracks is None else np.unique(tracks, return_inverse=True)[1].ravel()
        n_units, what = int(unit.max()) + 1, ("trajectories" if tracks is None else "tracks")
        n_val = int(round(val_fraction * n_units))
        if n_units < 5:
            raise ValueError(f"time-dependent data are split by trajectory: need at least 5 {what} "
                             f"(got {n_units}); a long record can be cut into pieces, each with its start "
                             "time in t0")
        if tracks is not None:  # tracks hold different numbers of pieces: count rows, not tracks
            order = np.random.default_rng(seed).permutation(n_units)
            share = np.bincount(unit, minlength=n_units) / n_traj
            chosen, total = [], 0.0
            for k in order:  # in random order, tracks join while the share stays within val_fraction
                if total + share[k] <= val_fraction and len(chosen) < n_units - 1:
                    chosen.append(k)
                    total += share[k]
            rest = order[~np.isin(order, chosen)]
            if len(rest) > 1:  # then the one remaining track that brings the share closest, if any does
                best = min(rest, key=lambda k: abs(total + share[k] - val_fraction))
                if abs(total + share[best] - val_fraction) < abs(total - val_fraction) or not chosen:
                    chosen.append(best)
            held = np.isin(unit, chosen)
            return np.sort(idx[~held].ravel()), np.sort(idx[held].ravel())
        if n_val < 1:
            raise ValueError(f"val_fraction={val_fraction} of {n_units} {what} leaves none to validate: "
                             f"raise val_fraction above {0.5 / n_units:.3g}")
        if n_val >= n_units:
            raise ValueError(f"val_fraction={val_fraction} of {n_units} {what} leaves none to train on: "
                             f"lower val_fraction below {(n_units - 0.5) / n_units:.3g}")
        held = np.isin(unit, np.random.default_rng(seed).permutation(n_units)[:n_val])
        return np.sort(idx[~held].ravel()), np.sort(idx[held].ravel())
    cut = int(round((1 - val_fraction) * n_points))
    if cut < 2 or n_points - cut < 2:
        lo, hi = 2 / n_points, 1 - 2 / n_points
        fix = ("pass longer trajectories" if n_points < 4 else
               f"pass val_fraction={lo:.3g}, or longer trajectories" if f"{lo:.3g}" == f"{hi:.3g}" else
               f"pass val_fraction between {lo:.3g} and {hi:.3g}, or longer trajectories")
        raise ValueError(f"too few points per trajectory ({n_points}) for a {val_fraction:.0%} validation split (the "
                         f"last {val_fraction:.0%} of each trajectory validates; each part needs at least 2 points): "
                         f"{fix}")
    return idx[:, :cut].ravel(), idx[:, cut:].ravel()
