"""Tracks of different lengths (single-particle tracking, records cut at gaps) as pieces
of one common length, the rectangular (n_traj, L, dim) array the estimators take.

Consecutive pieces of a track share `overlap` points, the points one row of the
estimator spans beyond its first (1 for overdamped increments, 2 for underdamped second
differences, 3 for overdamped rows robust to localisation noise), so that every row of
the track is used exactly once: only each track's remainder after its last whole piece
is left out."""
from __future__ import annotations

from typing import Callable, List, NamedTuple, Optional

import numpy as np

from ._validate import glitched_points, listed_arrays, refuse_masked, wide_2d_warning

#: the common length is the largest one that keeps at least this fraction of the most
#: rows any length keeps: longer pieces keep more of each track's time order (the
#: validation rows at the end of each piece are further from its training rows)
KEEP_FRACTION = 0.95


#: what to do about NaN frames, for estimators without a gaps= option of their own
SPLIT_AT_GAPS_FIX = ("missing frames? stochinfer.split_at_gaps(data) cuts the trajectories there into a list of "
                     "tracks, which the estimators take (interpolating across a gap would fake its increments)")


def finite_tracks(name: str, tracks: List[np.ndarray], fix: str = SPLIT_AT_GAPS_FIX) -> None:
    """Rejects NaN/inf in float tracks, naming the track and point (an index into the
    pieces would point nowhere the user knows); fix: what to do about NaN."""
    for k, a in enumerate(tracks):
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            point = int(np.argwhere(~np.isfinite(a))[0][0])
            what = "NaN" if np.isnan(a[point]).any() else "inf"
            raise ValueError(f"{name}: track {k} contains {what} (first at point {point}); "
                             + (fix if what == "NaN" else "inf is not a missing frame: remove those points"))


def _trajectories(name: str, data) -> tuple:
    """(trajectories, unit): the float trajectories (L_k, dim) of an array (n_traj, L, dim) or
    (L, dim), nested lists that stack to one, a masked array (masked values as NaN), a list
    of tracks or a Trajectories' positions, and what one is called ('trajectory', 'track'),
    for split_at_gaps."""
    from .results import Trajectories
    if isinstance(data, Trajectories):
        data = data.x
    data = listed_arrays(data)
    if isinstance(data, (list, tuple)) and data and not any(isinstance(a, np.ndarray) for a in data):
        try:  # nested lists of numbers: an array when they stack (as the estimators read them)
            stacked = np.asarray(data, dtype=float)
        except (ValueError, TypeError):
            stacked = None
        if stacked is not None and stacked.ndim in (2, 3):
            data = stacked
    if isinstance(data, np.ma.MaskedArray):
        if data.dtype.kind != "f":
            raise TypeError(f"{name}: expected float states, got a masked array of dtype {data.dtype}")
        data = data.filled(np.nan)
    if isinstance(data, (list, tuple)):
        if len(data) == 0:
            raise ValueError(f"{name} is an empty {type(data).__name__}: pass at least one trajectory")
        items = [a.filled(np.nan) if isinstance(a, np.ma.MaskedArray) and a.dtype.kind == "f" else np.asarray(a)
                 for a in data]
        where = "track"
    elif isinstance(data, np.ndarray):
        if data.ndim not in (2, 3):
            fix = ": for one trajectory of a 1-D state pass data[:, None]" if data.ndim == 1 else ""
            raise ValueError(f"{name} must have shape (n_traj, L, dim) or (L, dim), got {data.shape}{fix}")
        if data.size == 0:
            raise ValueError(f"{name} is empty (shape {data.shape}): pass at least one trajectory with one point")
        wide_2d_warning(data.shape)
        items = list(data) if data.ndim == 3 else [data]
        where = "trajectory"
    else:
        raise TypeError(f"{name} must be a float array (n_traj, L, dim) or (L, dim) or a list of tracks (L_k, dim), "
                        f"got {type(data).__name__}")
    for k, a in enumerate(items):
        if a.dtype.kind != "f":
            raise TypeError(f"{name}: {where} {k} is {a.dtype}; missing frames are NaN, which only float states hold "
                            "(integer token paths have no gaps to split)")
        if a.ndim != 2:
            raise ValueError(f"{name}: each {where} must be (L, dim), {where} {k} has shape {a.shape}"
                             + (": for 1-D states pass [x[:, None] for x in tracks]" if a.ndim == 1 else ""))
        if a.shape[1] != items[0].shape[1]:
            raise ValueError(f"{name}: the tracks must share the dimension of a state; track 0 has {items[0].shape[1]}, "
                             f"track {k} {a.shape[1]}")
        if np.isinf(a).any():
            point = int(np.argwhere(np.isinf(a))[0][0])
            raise ValueError(f"{name}: {where} {k} holds inf at point {point}; inf is not a missing frame (NaN): remove "
                             "those points, or set them to NaN to split there")
    return items, where


class GapRuns(NamedTuple):
    """What gap_runs found: the runs of recorded frames kept, the trajectory (or track) of
    `data` each comes from and its first frame there ((n,) int arrays), how many series
    `data` held and what one is called ('trajectory', 'track'), the missing frames, the
    gaps (runs of missing frames) and the runs left out as too short."""
    runs: List[np.ndarray]
    source: np.ndarray
    first: np.ndarray
    n_source: int
    unit: str
    n_missing: int
    n_gaps: int
    n_short: int


def gap_runs(name: str, data, min_length: int = 2) -> GapRuns:
    """The runs of consecutive recorded frames (no NaN component) of each trajectory or
    track of `data` with at least min_length frames (split_at_gaps)."""
    runs, source, first = [], [], []
    n_missing = n_gaps = n_short = 0
    items, unit = _trajectories(name, data)
    for k, a in enumerate(items):
        ok = ~np.isnan(a).any(axis=1)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
        starts, ends = edges[::2], edges[1::2]
        n_missing += int(ok.size - ok.sum())
        n_gaps += int(np.count_nonzero(np.diff(np.concatenate([[1], ok.astype(np.int8)])) == -1))
        for s, e in zip(starts, ends):
            if e - s < min_length:
                n_short += 1
                continue
            runs.append(a[s:e])
            source.append(k)
            first.append(int(s))
    if not runs:
        raise ValueError(f"{name}: no run of {min_length} consecutive frames without NaN ({n_missing} missing frames)")
    return GapRuns(runs, np.array(source, dtype=np.int64), np.array(first, dtype=np.int64), len(items), unit,
                   n_missing, n_gaps, n_short)


def split_at_gaps(data, min_length: int = 2, return_starts: bool = False, glitches: str = "keep"):
    """Trajectories with missing frames cut at them into tracks of consecutive recorded frames.

    Tracking software marks frames where a particle was lost with NaN; an estimator of
    increments cannot step across such a gap, and interpolating across it fakes the
    increments (a straight line has no noise: the diffusion and the EP come out low).
    The runs between gaps are tracks (L_k, dim) of different lengths, which
    infer_langevin, the EP estimators of trajectories and their baselines take (they cut
    tracks into pieces of one length). infer_langevin(gaps='split') does this itself.

    data: a float array (n_traj, L, dim) or (L, dim) of states recorded at a fixed
    interval (a 2-D array is one trajectory: scalar paths (n_traj, L) need x[..., None]), a
    list of such tracks, a numpy masked array (masked values missing) or Trajectories
    (their positions; pass dt, model and substeps on to the estimator). A frame is missing
    when any component is NaN. inf is not a gap and raises.
    min_length: runs of fewer frames are left out (default 2: one frame has no increment).
    return_starts: also return, per track, the index of the trajectory (or track) of
    `data` it comes from and its first frame there, (n,) int arrays: a driven fit's start
    times are t0[source] + first * dt.
    glitches: 'keep' (default) or 'cut': frames that look like single glitched frames
    (_validate.glitched_points, the estimators' warning; searched in each run between
    gaps) are missing too. The EP estimators only warn on them: three frames displaced
    100 position SD in 10⁵ points of a bead-spring chain took NEEP from 1.96 ± 0.13 to
    0.87 ± 0.06 (truth 2.02); cut, 1.84 ± 0.17 (bench/ep_glitches.py).

    Returns the list of tracks (views into `data` where it is an array), or (tracks,
    source, first). Raises ValueError when no run reaches min_length."""
    if isinstance(min_length, bool) or not isinstance(min_length, (int, np.integer)) or min_length < 1:
        raise ValueError(f"min_length must be a positive integer (frames), got {min_length!r}")
    if glitches not in ("keep", "cut"):
        raise ValueError(f"glitches must be 'keep' or 'cut', got {glitches!r}")
    found = gap_runs("data", data, int(min_length))
    runs, source, first = found.runs, found.source, found.first
    if glitches == "cut":
        runs, source, first, _ = cut_glitched(found, int(min_length))
    return (runs, source, first) if return_starts else runs


def cut_glitched(found: GapRuns, min_length: int = 2) -> tuple:
    """(runs, source, first, n_glitched): found's runs cut again at the frames glitched_points
    flags in them (split_at_gaps(glitches='cut')), source and first still into the data."""
    runs, source, first = found.runs, found.source, found.first
    hits = glitched_points(runs)
    if len(hits):  # those frames missing too: the runs that hold them cut again (copies; the data are not changed)
        marked = list(runs)
        for k in np.unique(hits[:, 0]):
            marked[k] = runs[k].astype(np.result_type(runs[k].dtype, np.float32), copy=True)
            marked[k][hits[hits[:, 0] == k, 1]] = np.nan
        again = gap_runs("data", marked, min_length)
        runs, source, first = again.runs, source[again.source], first[again.source] + again.first
    return runs, source, first, len(hits)


def ragged_segments(name: str, value) -> Optional[List[np.ndarray]]:
    """The tracks of a list or tuple of arrays whose first (time) axes differ, else None
    (a rectangular list stacks as before). Tracks must share the shape of a state. A 1-D
    object array of arrays (np.load(..., allow_pickle=True) of a list) is a list. (Equal
    1-D float arrays stack as an array (L, dim), as a list of states would; scalar tracks
    of one length read so draw the wide-array warning.)"""
    refuse_masked(name, value)
    value = listed_arrays(value)
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        return None
    if not all(isinstance(v, np.ndarray) or (isinstance(v, (list, tuple)) and len(v) > 0) for v in value):
        return None
    try:
        arrays = [np.asarray(v) for v in value]
    except ValueError:  # a track that is itself ragged: stacked_array names it
        return None
    if any(a.dtype == object or a.ndim < 1 for a in arrays) or len({a.shape[0] for a in arrays}) == 1:
        return None
    shapes = {a.shape[1:] for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"{name}: tracks of different lengths are cut into pieces of one length, but they must share "
                         f"the shape of a state; got {sorted(shapes)} after the time axis (each track is (L_k, dim))")
    return arrays


#: piece lengths up to this are all tried; above it, the lengths where a track's piece count changes
_EXHAUSTIVE_LENGTHS = 4096


def piece_length(lengths: np.ndarray, overlap: int, min_length: int, keep: float = KEEP_FRACTION,
                 min_tracks: int = 1, unused: int = 0) -> int:
    """The common piece length L ≥ min_length: the largest L whose pieces keep at least
    `keep` of the most rows any L ≥ min_length keeps, among the lengths that leave at least
    min_tracks tracks with a piece (when any does); 0 when no track reaches min_length. A
    track of l points gives ⌊(l − overlap)/(L − overlap)⌋ pieces of L − overlap rows each,
    of which an estimator reading windows longer than a row uses L − overlap − unused
    (RNEEP: windows of w tokens, unused = w − 2).
    Every L up to 4096 is tried; above, the lengths where some track's piece count changes,
    up to 64 pieces per track (the optimum can be missed only for tracks over 262 144 points)."""
    distinct, counts = np.unique(np.asarray(lengths, dtype=np.int64), return_counts=True)
    if distinct.max() < min_length:
        return 0
    span = distinct[distinct >= min_length] - overlap
    m = np.arange(1, 65)
    # rows kept change where (l − overlap)/(L − overlap) ∈ ℕ
    breaks = (span[:, None] // m[None, :]).ravel() + overlap
    cand = np.unique(np.concatenate([np.arange(min_length, min(_EXHAUSTIVE_LENGTHS, int(distinct.max())) + 1),
                                     breaks[breaks > _EXHAUSTIVE_LENGTHS]]))
    cand = cand[cand >= min_length]
    rows = np.array([kept_rows(distinct, overlap, c, unused, counts) for c in cand])
    tracks_kept = np.array([np.sum(counts[distinct >= c]) for c in cand])
    enough = tracks_kept >= min_tracks
    if enough.any():
        cand, rows = cand[enough], rows[enough]
    return int(cand[rows >= keep * rows.max()].max())


def kept_rows(lengths: np.ndarray, overlap: int, length: int, unused: int = 0,
              counts: Optional[np.ndarray] = None) -> int:
    """Rows (of each, `unused` not read: piece_length) that pieces of `length` points keep of
    tracks of these lengths, `counts` tracks of each length when given."""
    if length <= overlap:
        return 0
    pieces = np.maximum(np.asarray(lengths, dtype=np.int64) - overlap, 0) // (length - overlap)
    return int(np.sum(pieces if counts is None else counts * pieces) * (length - overlap - unused))


def cut_into_pieces(name: str, tracks: List[np.ndarray], overlap: int, min_length: int, why: str,
                    keep: float = KEEP_FRACTION, min_tracks: int = 1, window: int = 0) -> tuple:
    """(pieces (n, L, ...), track index per piece (n,), first point of each piece in its
    track (n,), a note saying what was kept). why: what needs min_length points, for the
    error when no track is that long; keep, min_tracks: as for piece_length (pair-based
    estimators keep every row they can: keep=1); window: an estimator reading windows of
    this many points (RNEEP) counts and reports windows, not rows."""
    lengths = np.array([a.shape[0] for a in tracks])
    unused = max(window - 1 - overlap, 0)
    length = piece_length(lengths, overlap, min_length, keep, min_tracks, unused)
    if length == 0:
        raise ValueError(f"{name}: the longest of the {len(tracks)} tracks has {lengths.max()} points; {why} needs "
                         f"at least {min_length} points per track")
    step = length - overlap
    pieces, track, first = [], [], []
    for k, a in enumerate(tracks):
        for j in range(max(a.shape[0] - overlap, 0) // step):
            pieces.append(a[j * step:j * step + length])
            track.append(k)
            first.append(j * step)
    rows = np.maximum(lengths - overlap - unused, 0)
    what = f"windows of {window} points" if unused else "rows"
    short = int(np.sum(lengths < length))
    span = f"{lengths.min()}" if lengths.min() == lengths.max() else f"{lengths.min()}-{lengths.max()}"
    note = (f"{len(tracks)} tracks of {span} points cut into {len(pieces)} "
            f"piece{'s' if len(pieces) != 1 else ''} of {length} points (consecutive pieces share {overlap}): "
            f"{len(pieces) * (step - unused)} of {int(rows.sum())} {what} kept"
            + (f"; {short} track{'s' if short != 1 else ''} shorter than {length} points left out" if short else ""))
    return np.stack(pieces), np.array(track), np.array(first), note


def smallest_length(overlap: int, at_least: int, rows_ok: Callable[[int], bool]) -> int:
    """The smallest piece length ≥ at_least whose L − overlap rows rows_ok accepts."""
    length = at_least
    while not rows_ok(length - overlap) and length < 1_000_000:
        length += 1
    return length
