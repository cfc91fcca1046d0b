"""Least-squares polynomial fits m(rows)·C ≈ values and the sampling covariance of
their coefficients: the drift networks' polynomial base and output scale, the
linear F_r correction, the mean friction and the diffusion base all use them.
m(rows) are the monomials of the rows' columns up to a degree (1: [1, rows]), in
the order of cpp/include/stochinfer/nn/polynomial.hpp."""
from __future__ import annotations

import math

import numpy as np

MAX_DEGREE = 3


def n_monomials(n_cols: int, degree: int) -> int:
    """Number of monomials of degree <= `degree` in n_cols inputs: C(n_cols + degree, degree)."""
    return math.comb(n_cols + degree, degree)


def polynomial_features(rows: np.ndarray, degree: int = 1) -> np.ndarray:
    """Monomials of each row's columns up to `degree` (0–3), graded: 1; u_j; u_j u_k
    (j ≤ k); u_j u_k u_l (j ≤ k ≤ l), each block row-major. (n, n_monomials)."""
    if not 0 <= degree <= MAX_DEGREE:
        raise ValueError(f"polynomial degree must be in [0, {MAX_DEGREE}], got {degree}")
    u = np.asarray(rows, dtype=np.float64)
    m = u.shape[1]
    cols = [np.ones(u.shape[0])]
    if degree >= 1:
        cols += [u[:, j] for j in range(m)]
    if degree >= 2:
        cols += [u[:, j] * u[:, k] for j in range(m) for k in range(j, m)]
    if degree >= 3:
        cols += [u[:, j] * u[:, k] * u[:, l] for j in range(m) for k in range(j, m) for l in range(k, m)]
    return np.column_stack(cols)


def linear_fit(rows: np.ndarray, values: np.ndarray, degree: int = 1) -> np.ndarray:
    """Least-squares coefficients C (n_monomials x m) of values (n, m) ≈ m(rows)·C
    (degree 1: [1, rows]·C)."""
    return np.linalg.lstsq(polynomial_features(rows, degree), values, rcond=None)[0]


def linear_fit_chol(rows: np.ndarray, values: np.ndarray, coef: np.ndarray, degree: int = 1) -> np.ndarray:
    """Lower Cholesky factor of the sampling covariance of the coefficients `coef`
    = linear_fit(rows, values, degree) (entries in row-major order): kron((BᵀB)⁻¹, Σ),
    B = m(rows) ((BᵀB)⁺ for collinear columns), Σ the residuals' covariance over
    n − n_monomials degrees of freedom. Exact for independent Gaussian label
    noise, as the increments of a diffusion are."""
    design = polynomial_features(rows, degree)
    residuals = values - design @ coef
    n, p = design.shape
    sigma = residuals.T @ residuals / max(n - p, 1)
    return psd_cholesky(np.kron(np.linalg.pinv(design.T @ design), np.atleast_2d(sigma)))  # pinv: collinear inputs


def psd_cholesky(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a covariance matrix, symmetrised and with a 1e-12
    relative jitter so that singular (collinear) directions factor too. Rounding can
    leave eigenvalues below −jitter (many coefficients, few rows): those are clipped
    to zero first."""
    cov = 0.5 * (cov + cov.T)
    eye = np.eye(cov.shape[0])
    try:
        return np.linalg.cholesky(cov + 1e-12 * np.trace(cov) / cov.shape[0] * eye)
    except np.linalg.LinAlgError:
        lam, vec = np.linalg.eigh(cov)
        lam = np.clip(lam, 0.0, None)
        clipped = (vec * lam) @ vec.T
        return np.linalg.cholesky(0.5 * (clipped + clipped.T) + 1e-12 * max(lam.max(), 1e-300) * eye)


def select_degree(rows: np.ndarray, values: np.ndarray, train: np.ndarray, val: np.ndarray,
                  max_degree: int = MAX_DEGREE, max_coeffs: int = 400) -> tuple:
    """Degree (1 to max_degree) of a least-squares polynomial fit of values (n, m)
    on rows (n, k), chosen on held-out rows: fitted on `train`, scored on `val` by
    the squared residual per row summed over components, each divided by its
    label variance. The lowest degree within one standard error (paired over the
    validation rows) of the best wins: noisy labels must show a higher degree is
    better, not merely allow it. Degrees with more than max_coeffs coefficients
    (n_monomials x m) or more than a twentieth of the training rows per
    coefficient column are skipped. Returns (degree, {degree: mean score})."""
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    scale = 1.0 / np.maximum(values[train].var(axis=0), 1e-300)
    losses = {}
    for degree in range(1, max_degree + 1):
        p = n_monomials(rows.shape[1], degree)
        if degree > 1 and (p * values.shape[1] > max_coeffs or 20 * p > train.size):
            break
        coef = linear_fit(rows[train], values[train], degree)
        r = values[val] - polynomial_features(rows[val], degree) @ coef
        losses[degree] = (r * r) @ scale
    scores = {k: float(v.mean()) for k, v in losses.items()}
    best = losses[min(scores, key=scores.get)]
    within = lambda diff: diff.mean() <= diff.std() / math.sqrt(diff.size)  # the best itself always is
    return next(k for k in sorted(losses) if within(losses[k] - best)), scores
