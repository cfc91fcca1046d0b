"""Tracks of different lengths (single-particle tracking, records cut at gaps) as pieces
of one common length, the rectangular (n_traj, L, dim) array the estimators take.

Consecutive pieces of a track share `overlap` points, the points one row of the
estimator spans beyond its first (1 for overdamped increments, 2 for underdamped second
differences), so that every row of the track is used exactly once: only each track's
remainder after its last whole piece is left out."""
from __future__ import annotations

from typing import Callable, List, Optional

import numpy as np

#: the common length is the largest one that keeps at least this fraction of the most
#: rows any length keeps: longer pieces keep more of each track's time order (the
#: validation rows at the end of each piece are further from its training rows)
KEEP_FRACTION = 0.95


def ragged_segments(name: str, value) -> Optional[List[np.ndarray]]:
    """The tracks of a list or tuple of arrays whose first (time) axes differ, else None
    (a rectangular list stacks as before). Tracks must share the shape of a state."""
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


def piece_length(lengths: np.ndarray, overlap: int, min_length: int) -> int:
    """The common piece length L ≥ min_length: the largest L whose pieces keep at least
    KEEP_FRACTION of the most rows any L ≥ min_length keeps; 0 when no track reaches
    min_length. A track of l points gives ⌊(l − overlap)/(L − overlap)⌋ pieces of
    L − overlap rows each."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.max() < min_length:
        return 0
    # the rows kept change only where (l − overlap)/(L − overlap) is an integer: the candidates
    span = lengths[lengths >= min_length] - overlap
    m = np.arange(1, 65)
    cand = np.unique(np.concatenate([(span[:, None] // m[None, :]).ravel() + overlap, [min_length]]))
    cand = cand[cand >= min_length]
    if cand.size > 4000:  # very many distinct lengths: a log-spaced subset
        cand = np.unique(np.concatenate([cand[np.unique(np.geomspace(1, cand.size, 4000).astype(int) - 1)],
                                         [min_length]]))
    distinct, counts = np.unique(lengths, return_counts=True)
    rows = np.array([np.sum(counts * (np.maximum(distinct - overlap, 0) // (c - overlap))) * (c - overlap)
                     for c in cand])
    return int(cand[rows >= KEEP_FRACTION * rows.max()].max())


def cut_into_pieces(name: str, tracks: List[np.ndarray], overlap: int, min_length: int,
                    why: str) -> tuple:
    """(pieces (n, L, ...), track index per piece (n,), first point of each piece in its
    track (n,), a note saying what was kept). why: what needs min_length points, for the
    error when no track is that long."""
    lengths = np.array([a.shape[0] for a in tracks])
    length = piece_length(lengths, overlap, min_length)
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
    rows = np.maximum(lengths - overlap, 0)
    short = int(np.sum(lengths < length))
    note = (f"{len(tracks)} tracks of {lengths.min()}-{lengths.max()} points cut into {len(pieces)} pieces of "
            f"{length} points (consecutive pieces share {overlap}): {len(pieces) * step} of {int(rows.sum())} rows "
            f"kept" + (f"; {short} tracks shorter than {length} points left out" if short else ""))
    return np.stack(pieces), np.array(track), np.array(first), note


def smallest_length(overlap: int, at_least: int, rows_ok: Callable[[int], bool]) -> int:
    """The smallest piece length ≥ at_least whose L − overlap rows rows_ok accepts."""
    length = at_least
    while not rows_ok(length - overlap) and length < 1_000_000:
        length += 1
    return length
