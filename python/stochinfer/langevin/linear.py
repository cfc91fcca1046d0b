"""Least-squares linear fits [1, rows]·C ≈ values and the sampling covariance of
their coefficients: the drift networks' linear base and output scale, the linear
F_r correction and the mean friction all use them."""
from __future__ import annotations

import numpy as np


def _design(rows: np.ndarray) -> np.ndarray:
    return np.concatenate([np.ones((rows.shape[0], 1)), rows], axis=1)


def linear_fit(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Least-squares coefficients C ((1 + n_cols) x m) of values (n, m) ≈ [1, rows]·C."""
    return np.linalg.lstsq(_design(rows), values, rcond=None)[0]


def linear_fit_chol(rows: np.ndarray, values: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of the sampling covariance of the coefficients `coef`
    = linear_fit(rows, values) (entries in row-major order): kron((BᵀB)⁻¹, Σ),
    B = [1, rows] ((BᵀB)⁺ for collinear inputs), Σ the residuals' covariance over
    n − (1 + n_cols) degrees of freedom. Exact for independent Gaussian label
    noise, as the increments of a diffusion are."""
    design = _design(rows)
    residuals = values - design @ coef
    n, p = design.shape
    sigma = residuals.T @ residuals / max(n - p, 1)
    return psd_cholesky(np.kron(np.linalg.pinv(design.T @ design), np.atleast_2d(sigma)))  # pinv: collinear inputs


def psd_cholesky(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a covariance matrix, symmetrised and with a 1e-12
    relative jitter so that singular (collinear) directions factor too."""
    cov = 0.5 * (cov + cov.T)
    return np.linalg.cholesky(cov + 1e-12 * np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0]))
