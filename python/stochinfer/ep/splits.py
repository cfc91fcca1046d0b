"""Three-way train / validation / test splits of trajectory data (methods.md §0,
§1.8): by trajectory when there are at least 3, else by contiguous time blocks.
A split is a set of segments (trajectory, begin, end) so the data are never copied."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validate import seed_value


@dataclass(frozen=True)
class Split:
    """Segments (k, 3) int64 rows (trajectory, first time index, end index) of each part.

    kind is 'trajectory' (whole trajectories per part) or 'time_block'
    (contiguous blocks of every trajectory: for one or two long trajectories).
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    kind: str

    @staticmethod
    def n_transitions(segments: np.ndarray) -> int:
        return int(np.sum(segments[:, 2] - segments[:, 1] - 1))

    def describe(self) -> dict:
        return {"kind": self.kind,
                "transitions": {p: self.n_transitions(getattr(self, p)) for p in ("train", "val", "test")},
                "segments": {p: len(getattr(self, p)) for p in ("train", "val", "test")}}


def split_fractions(split) -> tuple:
    """(train, validation, test) fractions as 3 positive floats summing to 1; a clear
    error naming `split` otherwise."""
    example = "e.g. split=(0.6, 0.2, 0.2)"
    try:
        f = tuple(float(v) for v in split)
    except (TypeError, ValueError):
        raise TypeError(f"split must be 3 fractions (train, validation, test) summing to 1, {example}; "
                        f"got {split!r}") from None
    if len(f) != 3 or not all(math.isfinite(v) and v > 0 for v in f) or not math.isclose(sum(f), 1.0, abs_tol=1e-6):
        raise ValueError(f"split must be 3 positive fractions (train, validation, test) summing to 1, {example}; "
                         f"got {split!r}")
    return f


def three_way_split(n_traj: int, length: int, fractions=(0.6, 0.2, 0.2), seed: int = 0,
                    min_transitions: int = 10) -> Split:
    """Split (n_traj, length) data three ways.

    n_traj >= 3: whole trajectories, shuffled with a counter-based generator keyed by
    `seed`, then cut by `fractions` (at least one trajectory per part).
    n_traj < 3: each trajectory is cut in time into contiguous blocks of relative
    lengths `fractions` (transitions never cross a block boundary).
    Raises ValueError when a part would get fewer than `min_transitions` transitions.
    """
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or np.any(f <= 0) or not np.isclose(f.sum(), 1.0):
        raise ValueError(f"split fractions must be 3 positive numbers summing to 1, got {fractions}")
    if length < 2:
        raise ValueError(f"data: need at least 2 time points per trajectory, got {length}")
    seed = seed_value("seed", seed)
    if n_traj >= 3:
        # the key as exact uint64 words: a plain list of a seed >= 2**63 became float64 (colliding keys)
        key = np.array([seed, 0x5B117], dtype=np.uint64)
        order = np.random.Generator(np.random.Philox(key=key)).permutation(n_traj)
        counts = np.maximum(1, np.floor(f * n_traj).astype(int))
        counts[0] = n_traj - counts[1] - counts[2]
        if counts[0] < 1:
            raise ValueError(f"data: {n_traj} trajectories are too few for a three-way split")
        bounds = np.concatenate([[0], np.cumsum(counts)])
        parts = [np.sort(order[bounds[i]:bounds[i + 1]]) for i in range(3)]
        segs = [np.stack([p, np.zeros_like(p), np.full_like(p, length)], axis=1).astype(np.int64) for p in parts]
        kind = "trajectory"
    else:
        cuts = np.concatenate([[0], np.round(np.cumsum(f) * length).astype(int)])
        cuts[-1] = length
        segs = [np.array([[m, cuts[i], cuts[i + 1]] for m in range(n_traj)], dtype=np.int64) for i in range(3)]
        kind = "time_block"
    split = Split(*segs, kind=kind)
    for name, s in zip(("train", "validation", "test"), segs):
        if np.any(s[:, 2] - s[:, 1] < 2) or Split.n_transitions(s) < min_transitions:
            raise ValueError(
                f"data: too little data for a train/validation/test split — the {name} part would get "
                f"{max(Split.n_transitions(s), 0)} transitions (need >= {min_transitions}); "
                f"give more or longer trajectories")
    return split
