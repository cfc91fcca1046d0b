"""Finite-γΔt corrections of the underdamped diffusion and drift estimates.

From positions alone the pipeline sees window averages v̂_i = (x_{i+1} − x_i)/Δt and
estimates D from r_i = v̂_{i+1} − v̂_i − Φ(x_{i+1}, v̂_i)Δt as D ≈ (3/2) E[r²]/(2Δt). The
factor 3/2 is exact only for γΔt → 0. For a velocity relaxing with friction γ
(an Ornstein–Uhlenbeck velocity; the position force enters at O(kΔt²)) the
expectation is exact in closed form:

    (3/2) E[r²]/(2Δt) = D · ρ(γΔt),
    ρ(a) = (3/4) [(2 − 2a)(I_s − I_c) + a² I_s] / a³,
    I_s = 2(a − 1 + e^{−a}),  I_c = (1 − e^{−a})²,

with I_s γ⁻² and I_c γ⁻² the double integrals of e^{−γ|s−u|} over one window and
over two adjacent windows. ρ(a) = 1 − a + O(a²): the 3/2 estimate is ~γΔt low
(10% for the Carnot engine's γΔt = 0.1).

The drift label has a finite-γΔt bias too. The second difference averages the
acceleration over two steps, so it carries −γ a Δt/2 of its own acceleration a.
The Φ + (Φ − Φ_r)/4 combination removes the friction's bias, but the rest of the
force (e.g. −kx) is left shrunk by 1/(1 + γΔt/2) to first order: 5–7% at γΔt = 0.1.
The field assembly (InferredLangevin, cpp/src/nn/inferred_langevin.cpp) undoes this
with the mean friction γ (unbiased, below) and adds the friction the trained drift
lacks, δ = γ − γ̂: Φ ← Φ + (γΔt/2)(Φ + (γ − δ)v) − δv.

Where the friction depends on the state (Van der Pol), the pipeline divides each
diffusion label by ρ(γ(z_i)Δt) with the local friction γ(z_i) (local_friction) of
the corrected drift F + (F − F_r)/4 before training, so D needs no factor beyond 3/2
afterwards. (F alone carries the friction bias the correction removes: with it the
Carnot engine's D was 5% off instead of 2.5%.)
ρ is taken as 1 where γ < 0 (anti-damping): the closed form is derived for a
relaxing velocity.

The friction read from the corrected drift is itself low at second order. For the
OU velocity the regressions of the label on v̂_i (F) and on v̂_{i+1} (F_r) have opposite
slopes ∓(C₀ − C₁)/(C₀Δt), C₀ = I_s/a², C₁ = I_c/a² the covariances of v̂ at lags 0 and 1
(over γ⁻²·Var v), so F + (F − F_r)/4 reads

    γ̂Δt = g(a) = (3/2)(I_s − I_c)/I_s = a − 5a²/12 + 23a³/180 + O(a⁴),

4.0% low at γΔt = 0.1 (exact least squares on exactly sampled damped oscillators: 9.58–9.59 for γ = 10;
the Carnot engine's work per cycle is 4% too large in magnitude with it, the moment ODEs
at γ 3.7% low and γT fixed). unbiased_friction inverts g; the pipeline uses it for both
the local friction of the diffusion labels' ρ and the mean friction of the field assembly.
The corrections are checked against simulation in tests/test_langevin_friction.py."""
from __future__ import annotations

import numpy as np

from .._validate import positive_float
from .linear import linear_fit


def _window_integrals(a: np.ndarray) -> tuple:
    """(small, b, I_s, I_c) at a = γΔt (module docstring), the closed forms evaluated at
    b = a, or at b = 1 where a < 1e-3 (small): there they cancel to ~1e-16/a² relative and
    the callers take their series instead."""
    small = a < 1e-3
    b = np.where(small, 1.0, a)
    e = np.expm1(-b)  # e^{−a} − 1
    return small, b, 2.0 * (b + e), e * e


def finite_dt_bias(a) -> np.ndarray:
    """ρ(γΔt): the 3/2 estimate of D divided by the true D, for friction γ ≥ 0
    (a = γΔt, dimensionless; negative values are treated as 0)."""
    a = np.maximum(np.asarray(a, dtype=np.float64), 0.0)
    small, b, i_s, i_c = _window_integrals(a)
    exact = 0.75 * ((2.0 - 2.0 * b) * (i_s - i_c) + b * b * i_s) / b**3
    return np.where(small, 1.0 - a + 0.85 * a * a, exact)


def _estimated_friction_step(a: np.ndarray) -> np.ndarray:
    """g(a) = γ̂Δt, the corrected drift's friction × Δt for a true a = γΔt ≥ 0 (module docstring)."""
    small, _, i_s, i_c = _window_integrals(a)
    return np.where(small, a - 5.0 * a * a / 12.0 + 23.0 * a**3 / 180.0, 1.5 * (i_s - i_c) / i_s)


def inertial_residual_correlation(a) -> np.ndarray:
    """ρ₀(a): the lag-1 correlation of the residuals r_i = v̂_{i+1} − φ v̂_i of the window
    averages v̂ of an Ornstein–Uhlenbeck velocity, a = γΔt ≥ 0 (values below 1e-3 are taken
    at 1e-3, where ρ₀ is 1/4 within 4e-4). With C_k the covariances of v̂ at lag k (C₀ ∝ I_s,
    C₁ ∝ I_c, C₂ = e^{−a} C₁) and φ = C₁/C₀ the regression slope the drift fit reproduces,
    ρ₀ = φ(φC₁ − C₂)/(C₀(1 − φ²)) = φ I_c (φ − e^{−a}) / (I_s (1 − φ²)): 0.221 at a = 0.1.
    Measurement noise in the positions lowers it (the pipeline's check)."""
    a = np.maximum(np.asarray(a, dtype=np.float64), 1e-3)
    _, _, i_s, i_c = _window_integrals(a)
    phi = i_c / i_s
    return phi * i_c * (phi - np.exp(-a)) / (i_s * (1.0 - phi * phi))


def unbiased_friction(gamma_hat, dt: float) -> np.ndarray:
    """The friction γ (1/time) whose corrected-drift estimate is gamma_hat: the
    solution of g(γΔt) = γ̂Δt (module docstring). Beyond γΔt = 1 (γ̂Δt = g(1) = 0.685,
    where the fit already warns that velocities from positions are unreliable) the
    shift stays at its value there, γ − γ̂ = (1 − g(1))/Δt: g flattens towards 3/2 and
    its inverse would blow up. Values ≤ 0 (anti-damping) are returned unchanged: g is
    derived for a relaxing velocity."""
    gamma_hat = np.asarray(gamma_hat, dtype=np.float64)
    read = gamma_hat * positive_float("dt", dt)
    top = float(_estimated_friction_step(np.array(1.0)))
    target = np.clip(read, 0.0, top)
    # g(a)/a falls from 1 to g(1) on [0, 1], so a lies in [g, g/g(1)]: a relative bracket
    lo, hi = target.copy(), np.minimum(1.0, target / top)
    for _ in range(60):  # bisection to 2⁻⁶⁰ of the bracket, below float64 resolution
        mid = 0.5 * (lo + hi)
        below = _estimated_friction_step(mid) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    step = 0.5 * (lo + hi) + np.maximum(read - top, 0.0)
    return np.where(gamma_hat > 0, step / dt, gamma_hat)


def mean_friction(drift_of_rows, rows: np.ndarray, dim: int, s_v: np.ndarray) -> np.ndarray:
    """Diagonal of the mean friction −∂Φ_i/∂v_i (1/time) of a drift given on
    normalised network input rows (columns: d positions, d standardised velocities,
    optionally time): the slopes of a least-squares linear fit of the drift over
    the rows. drift_of_rows(rows) -> (n, d) drift in normalised position units per
    time²; s_v: the velocity standardisation (normalised position units per time)."""
    coef = linear_fit(rows, drift_of_rows(rows))  # (1 + in_dim, d)
    dfdv = coef[1 + dim + np.arange(dim), np.arange(dim)]
    return -dfdv / s_v


def local_friction(drift_of_rows, rows: np.ndarray, dim: int, s_v: np.ndarray, step: float = 0.25) -> np.ndarray:
    """Pointwise friction γ_i(z) = −∂Φ_i/∂v_i (1/time), (n, d), by central
    differences of step `step` in the standardised velocity inputs; arguments as
    for mean_friction. Van der Pol's γ = −μ(1 − x²) runs from −2 to +6 over the
    limit cycle, so ρ(γΔt) varies by 6% between the states: the mean friction
    leaves that as a spurious x² shape in D."""
    gamma = np.empty((rows.shape[0], dim))
    for k in range(dim):
        up, down = rows.copy(), rows.copy()
        up[:, dim + k] += step
        down[:, dim + k] -= step
        gamma[:, k] = -(drift_of_rows(up)[:, k] - drift_of_rows(down)[:, k]) / (2 * step) / s_v[k]
    return gamma
