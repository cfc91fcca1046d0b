"""The O(Δt) bias the drift's gradient puts into overdamped diffusion labels, and its removal.

For dx = F dt + √(2D) dW observed every Δt, the generator L = F·∇ + D:∇∇ gives
(Itô–Taylor to second order, at constant D)

    E[Δx Δxᵀ | x] = 2DΔt + Δt² (F Fᵀ + J D + D Jᵀ) + O(Δt³),    J = ∂F/∂x.

diff_use_drift removes the F Fᵀ part; J D + D Jᵀ stays: a trap of stiffness k reads D
(1 − kΔt), and an unstable region reads it too high (the nonlinear system's bump has
∂F/∂x ≈ +8 at the origin: +8% at Δt = 0.01). Since the label Y itself estimates 2DΔt,
Y − ½Δt (J Y + Y Jᵀ) has expectation 2DΔt + O(Δt³) without a plug-in D. The labels
robust to localisation noise (increments one and two steps after the input) carry
3Δt² (J D + D Jᵀ), hence the factor 3/2 there. A state-dependent D adds Δt² L D (its
gradient along F and its curvature), not removed here."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .data import tril_pairs, tril_to_matrix

#: central-difference step in normalised units (the inputs have unit spread); the float32
#: networks' rounding (≈ 1e-7 relative) then costs ≈ 1e-5 relative in J
JACOBIAN_STEP = 1e-2


def field_jacobian(field: Callable[[np.ndarray], np.ndarray], X: np.ndarray, columns: Sequence[int],
                   outputs: Sequence[int], step: float = JACOBIAN_STEP) -> np.ndarray:
    """∂field[outputs]/∂X[:, columns] by central differences, (n, len(outputs), len(columns)).

    field maps (n, in_dim) inputs to (n, m) values."""
    outputs = list(outputs)
    J = np.empty((X.shape[0], len(outputs), len(columns)))
    for c, k in enumerate(columns):
        up, down = X.copy(), X.copy()
        up[:, k] += step
        down[:, k] -= step
        J[:, :, c] = (field(up)[:, outputs] - field(down)[:, outputs]) / (2 * step)
    return J


def remove_gradient_bias(y_tril: np.ndarray, J: np.ndarray, dt: float, factor: float = 0.5) -> np.ndarray:
    """Diffusion labels (n, d(d+1)/2) less factor·Δt (J Y + Y Jᵀ), Y their symmetric
    matrices and J (n, d, d) the drift's Jacobian in the labels' units (per time):
    factor ½ for one increment's outer product, 3/2 for the localisation-robust label."""
    d = J.shape[1]
    Y = tril_to_matrix(y_tril, d)
    JY = J @ Y
    Y = Y - factor * dt * (JY + np.swapaxes(JY, 1, 2))  # (J Y)ᵀ = Y Jᵀ, Y symmetric
    return np.stack([Y[:, i, j] for i, j in tril_pairs(d)], axis=1)
