"""Out-of-bag validation for bagged ensembles: each member trains on a block
bootstrap of all rows and chooses its checkpoint on the rows its resample left
out, instead of every member training on a bootstrap of the first 80% of the time
and validating on the last 20% (infer_langevin(validation='out_of_bag'), for the
drift networks; measured in bench/RESULTS.md, "Out-of-bag validation")."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np

#: consecutive rows per bootstrap block of autonomous data (0.5 time units at dt = 0.01).
#: Underdamped labels of neighbouring rows share position noise (finite-difference
#: velocities span three points), so a member's out-of-bag rows must not interleave
#: row by row with its training rows; blocks keep them apart except at block edges
BLOCK_ROWS = 50
#: fewer blocks than this: out-of-bag sets are too small or too variable (with 5 blocks a
#: member's resample draws all of them 4% of the time)
MIN_BLOCKS = 20


def row_blocks(n_traj: int, n_points: int, by_trajectory: bool, block: int = BLOCK_ROWS) -> List[np.ndarray]:
    """Row indices (flattened (trajectory, point), n_points per trajectory) cut into
    bootstrap blocks: whole trajectories for time-dependent data (split by
    trajectory, methods.md §3.4), else runs of `block` consecutive points of one
    trajectory (each trajectory's last run may be shorter)."""
    idx = np.arange(n_traj * n_points, dtype=np.int64).reshape(n_traj, n_points)
    if by_trajectory:
        return list(idx)
    return [r[i:i + block] for r in idx for i in range(0, n_points, block)]


@dataclass
class OutOfBag:
    """Each member's training rows (n_members, n) and out-of-bag validation rows
    (n_members, m), both in time order within blocks."""

    train: np.ndarray
    val: np.ndarray


def draw_out_of_bag(blocks: List[np.ndarray], n_members: int, max_val_rows: int,
                    rng: np.random.Generator) -> OutOfBag:
    """Block bootstrap: member e draws blocks with replacement until it holds as many
    rows as all blocks together (the last block drawn is cut to fit); its
    out-of-bag rows are those of the blocks it never drew, a random subset of equal
    size m for every member (the smallest member's count, at most max_val_rows) so
    they score in one batched pass."""
    if len(blocks) < MIN_BLOCKS:
        raise ValueError(f"out-of-bag validation needs at least {MIN_BLOCKS} blocks, got {len(blocks)}")
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
    m = min(min(o.size for o in oob), int(max_val_rows))
    if m < 1:
        raise ValueError("a member's bootstrap drew every block and left no out-of-bag rows; use more data "
                         "or validation='split'")
    val = np.stack([np.sort(rng.choice(o, m, replace=False)) if o.size > m else o for o in oob])
    return OutOfBag(np.ascontiguousarray(np.stack(train), dtype=np.int64), np.ascontiguousarray(val, dtype=np.int64))
