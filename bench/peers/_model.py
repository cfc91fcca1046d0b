"""Shared definition of the benchmark model: the bead-spring chain (methods §5.1).

    dx_i = (k/gamma) (x_{i-1} - 2 x_i + x_{i+1}) dt + sqrt(2 T_i / gamma) dW_i,
    x_0 = x_{N+1} = 0 (walls),  T_i = T_c + (T_h - T_c) (i-1)/(N-1),

integrated with plain Euler-Maruyama from x = 0.  Every peer uses these constants.

Recording convention (shared by every peer): frames are taken at steps
0, R, 2R, ..., so the output has shape (n_traj, n_steps // R + 1, n_beads);
frame 0 is the initial state.  "Final state only" is R = n_steps, i.e. two
frames (initial + final), matching ``stochinfer.simulate(record_every=L)``.
"""
from __future__ import annotations

import numpy as np

K = 1.0
GAMMA = 1.0
T_COLD = 1.0
T_HOT = 10.0
DT = 0.01


def temperatures(n_beads: int, t_cold: float = T_COLD, t_hot: float = T_HOT) -> np.ndarray:
    """T_i = T_c + (T_h - T_c)(i-1)/(N-1), i = 1..N (float64)."""
    if n_beads < 1:
        raise ValueError("n_beads must be >= 1")
    if n_beads == 1:
        return np.array([t_cold], dtype=np.float64)
    return t_cold + (t_hot - t_cold) * np.arange(n_beads, dtype=np.float64) / (n_beads - 1)


def diffusion_coeff(n_beads: int) -> np.ndarray:
    """sqrt(2 T_i / gamma): noise amplitude per unit sqrt(time) (float64)."""
    return np.sqrt(2.0 * temperatures(n_beads) / GAMMA)


def n_frames(n_steps: int, record_every: int) -> int:
    if record_every < 1:
        raise ValueError("record_every must be >= 1")
    return n_steps // record_every + 1


def drift_matrix(n_beads: int) -> np.ndarray:
    """A = (k/gamma) tridiag(1, -2, 1) with fixed walls."""
    a = -2.0 * np.eye(n_beads) + np.eye(n_beads, k=1) + np.eye(n_beads, k=-1)
    return (K / GAMMA) * a


def em_stationary_covariance(n_beads: int, dt: float = DT) -> np.ndarray:
    """Stationary covariance of the EM chain: C = B C B^T + 2 D dt, B = I + A dt."""
    from scipy.linalg import solve_discrete_lyapunov

    b = np.eye(n_beads) + drift_matrix(n_beads) * dt
    q = 2.0 * np.diag(temperatures(n_beads)) / GAMMA * dt
    return solve_discrete_lyapunov(b, q)


def continuous_stationary_covariance(n_beads: int) -> np.ndarray:
    """Stationary covariance of the SDE: A C + C A^T + 2 D = 0."""
    from scipy.linalg import solve_continuous_lyapunov

    a = drift_matrix(n_beads)
    d = np.diag(temperatures(n_beads)) / GAMMA
    return solve_continuous_lyapunov(a, -2.0 * d)
