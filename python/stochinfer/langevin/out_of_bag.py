"""Out-of-bag validation for bagged ensembles: each member trains on a block
bootstrap of all rows and chooses its checkpoint on the rows its resample left
out, instead of every member training on a bootstrap of the first 80% of the time
and validating on the last 20% (infer_langevin(validation='out_of_bag'), for the
drift networks; measured in bench/RESULTS.md, "Out-of-bag validation").

What the out-of-bag NLL measures: label noise on the left-out blocks is independent
of the member's training rows except next to block edges (underdamped labels share
position noise with neighbours within two rows; with measurement noise, overdamped
labels with the next row), a few percent of the rows. But the left-out states lie
between training states of the same path (blocks of 0.5 time units at dt = 0.01),
so it scores interpolation, and may stop later than the time split would."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import numpy as np

#: consecutive rows per bootstrap block of autonomous data (0.5 time units at dt = 0.01);
#: a trajectory's remainder joins its other blocks (each then holds 50-99 rows)
BLOCK_ROWS = 50
#: fewer blocks than this: out-of-bag sets are too small or too variable (with 5 blocks a
#: member's resample draws all of them 4% of the time)
MIN_BLOCKS = 20
#: fewest out-of-bag rows a member may validate on
MIN_VAL_ROWS = 20


def row_blocks(n_traj: int, n_points: int, by_trajectory: bool, block: int = BLOCK_ROWS,
               tracks: Optional[np.ndarray] = None) -> List[np.ndarray]:
    """Row indices (flattened (trajectory, point), n_points per trajectory) cut into
    bootstrap blocks: whole trajectories for time-dependent data (split by
    trajectory, methods.md §3.4; whole tracks when the trajectories are pieces of
    tracks, `tracks` the track of each), else each trajectory into
    max(1, n_points // block) runs of consecutive points of near-equal length (block to
    2·block − 1 points; a trajectory shorter than `block` is one block)."""
    idx = np.arange(n_traj * n_points, dtype=np.int64).reshape(n_traj, n_points)
    if by_trajectory:
        if tracks is not None:
            return [idx[tracks == k].ravel() for k in np.unique(tracks)]
        return list(idx)
    return [b for r in idx for b in np.array_split(r, max(1, n_points // block))]


def require_blocks(blocks: List[np.ndarray]) -> None:
    """Refuses data cut into fewer than MIN_BLOCKS bootstrap blocks."""
    if len(blocks) < MIN_BLOCKS:
        raise ValueError(f"validation='out_of_bag' needs at least {MIN_BLOCKS} bootstrap blocks (runs of "
                         f"{BLOCK_ROWS}-{2 * BLOCK_ROWS - 1} points, or trajectories (tracks) for driven fits); these data "
                         f"have {len(blocks)}: pass more data or validation='split'")


@dataclass
class OutOfBag:
    """Each member's training rows (n_members, n) and out-of-bag validation rows
    (one array per member, in time order; lengths differ)."""

    train: np.ndarray
    val: List[np.ndarray]


def draw_out_of_bag(blocks: List[np.ndarray], n_members: int, max_val_rows: int,
                    rng: np.random.Generator) -> OutOfBag:
    """Block bootstrap: member e draws blocks with replacement until it holds as many
    rows as all blocks together (the last block drawn is cut to fit); its
    out-of-bag rows are those of the blocks it never drew (a random subset of
    max_val_rows where there are more)."""
    require_blocks(blocks)
    sizes = np.array([b.size for b in blocks])
    n_rows = int(sizes.sum())
    # enough draws that even the smallest blocks reach n_rows, in one call for reproducibility
    n_draw = int(np.ceil(n_rows / sizes.min()))
    train, oob = [], []
    for _ in range(n_members):
        picks = rng.integers(0, len(blocks), size=n_draw)
        used = int(np.searchsorted(np.cumsum(sizes[picks]), n_rows)) + 1  # blocks until n_rows are held
        picks = picks[:used]
        train.append(np.concatenate([blocks[i] for i in picks])[:n_rows])
        left = np.setdiff1d(np.arange(len(blocks)), picks)
        oob.append(np.concatenate([blocks[i] for i in left]) if left.size else np.zeros(0, dtype=np.int64))
    if min(o.size for o in oob) < MIN_VAL_ROWS:
        raise ValueError(f"a member's bootstrap left {min(o.size for o in oob)} out-of-bag rows (need at least "
                         f"{MIN_VAL_ROWS}); use more data or validation='split'")
    val = [np.ascontiguousarray(np.sort(rng.choice(o, max_val_rows, replace=False)) if o.size > max_val_rows
                                else o, dtype=np.int64) for o in oob]
    return OutOfBag(np.ascontiguousarray(np.stack(train), dtype=np.int64), val)
