"""Where the hidden coordinates appear in a frame: one Gaussian spot per drawn
particle, its centre an affine function of the state."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate

#: pixels per bead half of the bead-spring movies (methods.md §5.9.1)
BEAD_HALF = 20
#: widest spot (std, pixels) the renderer draws faithfully: its pixel masses are differences of
#: erfc values near 1, which keep about 3e-16 · spot_std relative precision (measured: 2e-15 at
#: 1e8, 4e-7 at 1e9, 6e-3 at 1e13, NaN frames from 1e16)
MAX_SPOT_STD = 1e8


@dataclass(frozen=True, eq=False)
class SpotLayout:
    """Frame size and spot geometry of a movie.

    Spot s is centred at (row, col) = base[s] + jacobian[s] @ x pixels for the
    state x; pixel (r, c) covers [r − ½, r + ½] × [c − ½, c + ½], so a frame of
    height H spans rows −½ … H − ½.

    height, width: frame size in pixels.
    base: (n_spots, 2) spot centres (row, col) at x = 0, pixels.
    jacobian: (n_spots, 2, dim) pixels per unit of each state coordinate.
    spot_std: std of the isotropic Gaussian spot, pixels.
    """

    height: int
    width: int
    base: np.ndarray
    jacobian: np.ndarray
    spot_std: float = 1.0

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "height", _validate.positive_int("height", self.height))
        set_(self, "width", _validate.positive_int("width", self.width))
        base = _validate.finite_array("base", self.base, shape=(None, 2)).copy()
        jac = _validate.finite_array("jacobian", self.jacobian, shape=(base.shape[0], 2, None)).copy()
        if jac.shape[2] < 1:
            raise ValueError("jacobian must have at least one state coordinate: shape (n_spots, 2, dim >= 1)")
        base.setflags(write=False)
        jac.setflags(write=False)
        set_(self, "base", base)
        set_(self, "jacobian", jac)
        spot_std = _validate.positive_float("spot_std", self.spot_std)
        if spot_std > MAX_SPOT_STD:
            raise ValueError(f"spot_std must be <= {MAX_SPOT_STD:g} pixels, got {spot_std:g}: the renderer's spot "
                             "integrals lose their precision beyond it (NaN frames from about 1e16), and a spot that "
                             "wide is a uniform haze over any frame; pass a spot width in pixels")
        set_(self, "spot_std", spot_std)

    @property
    def n_spots(self) -> int:
        """Number of spots drawn."""
        return self.base.shape[0]

    @property
    def dim(self) -> int:
        """Number of state coordinates the layout reads."""
        return self.jacobian.shape[2]

    def centres(self, x) -> np.ndarray:
        """Spot centres (..., n_spots, 2) in pixels for states x (..., dim)."""
        x = _validate.finite_array("x", x)
        if x.shape[-1:] != (self.dim,):
            raise ValueError(f"x must end with the layout's state dimension {self.dim}, got shape {x.shape}")
        return self.base + np.einsum("sad,...d->...sa", self.jacobian, x)


def bead_spring_layout(n_beads: int = 2, scale: float = 1.0, beads=None, spot_std: float = 1.0) -> SpotLayout:
    """The bead-spring movie of methods.md §5.9.1.

    Bead i (0-based) owns the 20 × 20 square in columns [20 i, 20 i + 20) and moves
    horizontally: its spot sits at row 9.5, column 20 i + 9.5 + scale · x_i.
    Frame 20 × 20 n_beads pixels.

    n_beads: beads in the chain (the state dimension).
    scale: pixels per unit length (1: a hot bead at T = 10, std 2.43, stays
        inside its square with probability ≈ 1 − 6e-5).
    beads: indices of the beads drawn (default all): partial observation; the
        frame keeps its size.
    spot_std: spot width, pixels.
    """
    n = _validate.positive_int("n_beads", n_beads)
    scale = _validate.finite_float("scale", scale)
    drawn = list(range(n)) if beads is None else [_validate.integer("beads", b) for b in beads]
    if not drawn or any(b < 0 or b >= n for b in drawn) or len(set(drawn)) != len(drawn):
        raise ValueError(f"beads must be distinct indices in [0, {n}), got {beads!r}")
    base = np.array([[BEAD_HALF / 2 - 0.5, BEAD_HALF * b + BEAD_HALF / 2 - 0.5] for b in drawn])
    jac = np.zeros((len(drawn), 2, n))
    for s, b in enumerate(drawn):
        jac[s, 1, b] = scale
    return SpotLayout(BEAD_HALF, BEAD_HALF * n, base, jac, spot_std)
