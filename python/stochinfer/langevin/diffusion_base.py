"""Quadratic base of the diffusion network: a scalar trend b(u) of the network
inputs u, fitted by least squares to the diffusion labels before training; the
network then learns the ratio D(u)/b(u) and starts at it exactly (output layer
zeroed), so early stopping shrinks towards the trend instead of towards a
constant.

Why: the labels tril(ΔΔᵀ) are chi-square noisy (relative std √2 per point), and
a network stopped early on them barely leaves its initial constant. For Van der
Pol with D = T(1 + 0.3x² + 0.1v²) the plain network stayed 10–15% off the truth
over five datasets while a quadratic least-squares fit of the same labels was
within 3–8% (bench/RESULTS.md). Dividing by b also evens out the label noise,
whose std grows with D.

b(u) = max(floor, c₀ + Σ_j c_j u_j + Σ_{j≤k} c_jk u_j u_k): the compiled field
assembly evaluates it (stochinfer::quadratic_diffusion_base), so training
labels, fields and simulations use the one formula."""
from __future__ import annotations

import numpy as np

from .. import _core
from .linear import polynomial_features, psd_cholesky

#: the floor as a fraction of the mean label: keeps b > 0 where the fitted
#: quadratic dips (far outside the data), so D stays positive definite
FLOOR_FRACTION = 0.1
#: reweighting passes: weights 1/b make the fit relative, as the Gaussian
#: likelihood of the increments is (the labels' std is proportional to D)
N_REWEIGHT = 5


def quadratic_features(u: np.ndarray) -> np.ndarray:
    """[1, u_j, u_j u_k (j ≤ k, row-major)] per row of u (n, m): (n, 1 + m + m(m+1)/2),
    the coefficient order of stochinfer::quadratic_diffusion_base."""
    return polynomial_features(u, 2)


def evaluate_base(u: np.ndarray, coeffs: np.ndarray, floor: float) -> np.ndarray:
    """b(u) per row of u (n, m) (the compiled formula)."""
    return _core.quadratic_diffusion_base(np.ascontiguousarray(u, dtype=np.float64),
                                          [float(c) for c in np.ravel(coeffs)], float(floor))


def fit_base(u: np.ndarray, rate: np.ndarray, rows: np.ndarray):
    """Coefficients and floor of b fitted to `rate` (n,), the mean diagonal
    diffusion label per row (normalised units), over `rows` of u (n, m).
    Iteratively reweighted least squares with weights 1/b."""
    q = quadratic_features(u[rows])
    y = np.asarray(rate, dtype=np.float64)[rows]
    floor = FLOOR_FRACTION * max(float(np.mean(y)), 1e-300)
    w = np.ones(rows.size)
    for _ in range(N_REWEIGHT):
        coeffs = np.linalg.lstsq(q * w[:, None], y * w, rcond=None)[0]
        w = 1.0 / np.maximum(q @ coeffs, floor)
    return coeffs, floor


def base_covariance_chol(u: np.ndarray, rate: np.ndarray, rows: np.ndarray, coeffs: np.ndarray,
                         floor: float) -> np.ndarray:
    """Lower Cholesky factor (p x p) of the sandwich covariance of `coeffs` =
    fit_base(u, rate, rows): B⁻¹ M B⁻¹ with B = QᵀVQ, M = QᵀV²diag(e²)Q, e the
    residuals and V = 1/b² the weights of that least-squares fit (its rows are scaled
    by 1/b, so their squared residuals are weighted by 1/b²); it holds whatever the
    labels' variance. Bayes-by-Backprop draws the base from it per posterior sample."""
    q = quadratic_features(u[rows])
    y = np.asarray(rate, dtype=np.float64)[rows]
    v = 1.0 / np.maximum(q @ coeffs, floor) ** 2
    bread = np.linalg.pinv(q.T @ (q * v[:, None]))
    meat = q.T @ (q * (v**2 * (y - q @ coeffs) ** 2)[:, None])
    return psd_cholesky(bread @ meat @ bread)
