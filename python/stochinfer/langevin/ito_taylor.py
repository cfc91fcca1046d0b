"""The O(Δt) bias the drift's gradient puts into overdamped diffusion labels, and its removal.

For dx = F dt + √(2D) dW observed every Δt, the generator L = F·∇ + D:∇∇ gives
(Itô–Taylor to second order, at constant D)

    E[Δx Δxᵀ | x] = 2DΔt + Δt² (F Fᵀ + J D + D Jᵀ) + O(Δt³),    J = ∂F/∂x.

diff_use_drift removes the F Fᵀ part; J D + D Jᵀ stays: a trap of stiffness k sampled from
continuous motion reads D(1 − kΔt), and an unstable region reads it too high (the
nonlinear system's bump has ∂F/∂x ≈ +8 at the origin: about +9% at Δt = 0.01 with its
non-diagonal D). Since the label Y itself estimates 2DΔt, Y − ½Δt (J Y + Y Jᵀ) has
expectation 2DΔt + O(Δt³) without a plug-in D. The labels robust to localisation noise
(increments one and two steps after the input) carry 3Δt² (J D + D Jᵀ), hence the factor
3/2 there. A state-dependent D adds Δt² L D (its gradient along F and its curvature), not
removed here.

Simulated data carry the term only as far as their scheme does: one Euler–Maruyama step
has E[ΔxΔxᵀ | x] = FFᵀΔt² + 2DΔt exactly, and n steps per record carry (1 − 1/n) of
J D + D Jᵀ (the later steps' drift sees the earlier steps' noise); Heun carries all of it
(gradient_term_share)."""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from .data import tril_pairs, tril_to_matrix

#: central-difference step in normalised units (the inputs have unit spread); the float32
#: networks' rounding (≈ 1e-7 relative) then costs ≈ 1e-5 relative in J
JACOBIAN_STEP = 1e-2
#: rows evaluated at a time by field_jacobian
ROWS_PER_BLOCK = 2**16


def field_jacobian(field: Callable[[np.ndarray], np.ndarray], X: np.ndarray, columns: Sequence[int],
                   outputs: Sequence[int], step: float = JACOBIAN_STEP) -> np.ndarray:
    """∂field[outputs]/∂X[:, columns] by central differences, (n, len(outputs), len(columns)).

    field maps (n, in_dim) inputs to (n, m) values. Rows go in blocks of ROWS_PER_BLOCK, so
    the shifted copies stay small beside X."""
    outputs = list(outputs)
    J = np.empty((X.shape[0], len(outputs), len(columns)))
    for lo in range(0, X.shape[0], ROWS_PER_BLOCK):
        block = X[lo:lo + ROWS_PER_BLOCK]
        for c, k in enumerate(columns):
            up, down = block.copy(), block.copy()
            up[:, k] += step
            down[:, k] -= step
            J[lo:lo + block.shape[0], :, c] = (field(up)[:, outputs] - field(down)[:, outputs]) / (2 * step)
    return J


#: rows whose drift gradient times Δt (Frobenius norm) exceeds this keep their labels: the
#: expansion in JΔt does not hold there, and the corrected label could turn indefinite
MAX_GRADIENT_STEP = 0.5


def gradient_term_share(integration: Optional[tuple]) -> float:
    """The share of the continuous process's Δt²(JD + DJᵀ) that one increment's outer
    product carries: stochinfer.simulate output (integration = (scheme, integration steps
    per record)) by Euler–Maruyama 1 − 1/n, by Heun 1; other data (None) are taken as
    sampled from continuous motion: 1."""
    if integration is None:
        return 1.0
    scheme, n = integration
    return 1.0 - 1.0 / max(1, int(n)) if scheme == "euler_maruyama" else 1.0


def remove_gradient_bias(y_tril: np.ndarray, J: np.ndarray, dt: float, factor: float = 0.5) -> np.ndarray:
    """Diffusion labels (n, d(d+1)/2) less factor·Δt (J Y + Y Jᵀ), Y their symmetric
    matrices and J (n, d, d) the drift's Jacobian in the labels' units (per time):
    factor ½ for one increment's outer product of continuous motion, 3/2 for the
    localisation-robust label (times gradient_term_share for the first of its three
    parts: (share + 2)/2). Rows with ‖J‖Δt > MAX_GRADIENT_STEP are left as they are."""
    d = J.shape[1]
    Y = tril_to_matrix(y_tril, d)
    JY = J @ Y
    small = np.sqrt(np.sum(np.square(J), axis=(1, 2))) * dt <= MAX_GRADIENT_STEP
    Y = Y - (factor * dt * small)[:, None, None] * (JY + np.swapaxes(JY, 1, 2))  # (J Y)ᵀ = Y Jᵀ, Y symmetric
    return np.stack([Y[:, i, j] for i, j in tril_pairs(d)], axis=1)
