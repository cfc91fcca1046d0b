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
#: reweighting passes at most: weights 1/b make the fit relative, as the Gaussian
#: likelihood of the increments is (the labels' std is proportional to D); they stop
#: when b changes by less than REWEIGHT_TOL (relative) at every row
MAX_REWEIGHT = 50
REWEIGHT_TOL = 1e-6
#: labels beyond ± this multiple of the trend (first pass: of the mean label) are capped
#: there while fitting it (robust labels, with their 2Δ₁Δ₂ terms, go negative). A label
#: is a mean of χ²-distributed squares with mean b, so an honest one passes 25b with
#: probability < 10⁻⁶; one glitched frame 5σ away gave
#: labels 1200 times the mean at a point of high leverage, and the plain reweighting
#: then alternated between a sane trend and one pinned at the floor on 68% of the rows
#: (D 40 times too high inside the data; review, session 31)
CAP_RATIO = 25.0


def quadratic_features(u: np.ndarray) -> np.ndarray:
    """[1, u_j, u_j u_k (j ≤ k, row-major)] per row of u (n, m): (n, 1 + m + m(m+1)/2),
    the coefficient order of stochinfer::quadratic_diffusion_base."""
    return polynomial_features(u, 2)


def evaluate_base(u: np.ndarray, coeffs: np.ndarray, floor: float) -> np.ndarray:
    """b(u) per row of u (n, m) (the compiled formula)."""
    return _core.quadratic_diffusion_base(np.ascontiguousarray(u, dtype=np.float64),
                                          [float(c) for c in np.ravel(coeffs)], float(floor))


def cap_factor(y: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row, the factor that brings a label y beyond ±CAP_RATIO·b back to that bound
    (1 elsewhere): the one outlier rule of the trend's fit, its covariance and the
    network's labels."""
    with np.errstate(divide="ignore"):
        return np.minimum(1.0, CAP_RATIO * b / np.abs(y))


def fit_base(u: np.ndarray, rate: np.ndarray, rows: np.ndarray):
    """Coefficients and floor of b fitted to `rate` (n,), the mean diagonal diffusion
    label per row (normalised units), over `rows` of u (n, m). Iteratively reweighted
    least squares with weights 1/b, on labels capped by cap_factor, to convergence."""
    q = quadratic_features(u[rows])
    y = np.asarray(rate, dtype=np.float64)[rows]
    level = float(np.mean(y))
    if not level > 0:  # robust labels with a glitch's huge negative 2Δ₁Δ₂ term
        level = float(np.mean(np.abs(y)))
    floor = FLOOR_FRACTION * max(level, 1e-300)
    b = np.full(rows.size, max(level, floor))
    for _ in range(MAX_REWEIGHT):
        coeffs = np.linalg.lstsq(q / b[:, None], y * cap_factor(y, b) / b, rcond=None)[0]
        b, previous = np.maximum(q @ coeffs, floor), b
        if np.max(np.abs(b - previous) / previous) < REWEIGHT_TOL:
            break
    return coeffs, floor


def base_covariance_chol(u: np.ndarray, rate: np.ndarray, rows: np.ndarray, coeffs: np.ndarray,
                         floor: float) -> np.ndarray:
    """Lower Cholesky factor (p x p) of the sandwich covariance of `coeffs` =
    fit_base(u, rate, rows): B⁻¹ M B⁻¹ with B = QᵀVQ, M = QᵀV²diag(e²)Q, e the
    residuals and V = 1/b² the weights of that least-squares fit (its rows are scaled
    by 1/b, so their squared residuals are weighted by 1/b²); it holds whatever the
    labels' variance. Bayes-by-Backprop draws the base from it per posterior sample."""
    q = quadratic_features(u[rows])
    b = np.maximum(q @ coeffs, floor)
    y = np.asarray(rate, dtype=np.float64)[rows]
    y = y * cap_factor(y, b)  # as the fit saw them
    v = 1.0 / b**2
    bread = np.linalg.pinv(q.T @ (q * v[:, None]))
    meat = q.T @ (q * (v**2 * (y - q @ coeffs) ** 2)[:, None])
    return psd_cholesky(bread @ meat @ bread)
