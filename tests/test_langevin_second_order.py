"""Second-order diffusion labels (langevin/ito_taylor.py): the drift's gradient puts
Δt²(JD + DJᵀ) into E[ΔxΔxᵀ | x]; the labels less ½Δt(JY + YJᵀ) are unbiased to O(Δt³).
Checked against the exact transition law of a linear (OU) process and in a fit."""
import numpy as np
import pytest
import scipy.linalg as sl

import stochinfer as si
from stochinfer.langevin import TrainSettings
from stochinfer.langevin.data import tril_to_matrix
from stochinfer.langevin.ito_taylor import field_jacobian, gradient_term_share, remove_gradient_bias

A = np.array([[-3.0, 2.0], [-1.0, -2.0]])  # non-symmetric (driven), stable
D = np.array([[1.0, 0.3], [0.3, 0.5]])


def test_field_jacobian_matches_the_analytic_one(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))  # the third column is an input (time) the Jacobian leaves out
    field = lambda z: np.stack([np.sin(z[:, 0]) * z[:, 1] + z[:, 2], z[:, 0] ** 2 - np.exp(z[:, 1])], axis=1)
    J = field_jacobian(field, X, columns=[0, 1], outputs=[0, 1])
    exact = np.stack([np.stack([np.cos(X[:, 0]) * X[:, 1], np.sin(X[:, 0])], axis=1),
                      np.stack([2 * X[:, 0], -np.exp(X[:, 1])], axis=1)], axis=1)
    np.testing.assert_allclose(J, exact, rtol=1e-4, atol=1e-4)  # central differences: h²f'''/6, h = 0.01
    assert field_jacobian(field, X, [1], [1]).shape == (50, 1, 1)
    import stochinfer.langevin.ito_taylor as it
    monkeypatch.setattr(it, "ROWS_PER_BLOCK", 7)  # blocks of rows give the same values
    np.testing.assert_array_equal(field_jacobian(field, X, [0, 1], [0, 1]), J)


def _label_bias(dt: float, second_order: bool) -> float:
    """max over x of |E[Y' | x] − 2DΔt| / (2|D|Δt) for dx = Ax dt + √(2D) dW sampled exactly,
    Y' = ΔxΔxᵀ − (AxΔt)(AxΔt)ᵀ [− ½Δt(AY' + Y'Aᵀ)], from the exact conditional moments."""
    E = sl.expm(A * dt)
    C = sl.solve_continuous_lyapunov(A, -2 * D)  # stationary covariance: AC + CAᵀ + 2D = 0
    cov = C - E @ C @ E.T
    worst = 0.0
    for x in np.random.default_rng(1).normal(size=(20, 2)):
        m, f = (E - np.eye(2)) @ x, A @ x * dt
        M = cov + np.outer(m, m) - np.outer(f, f)  # E[Y | x]
        y = np.array([[M[0, 0], M[1, 0], M[1, 1]]])
        if second_order:
            y = remove_gradient_bias(y, A[None], dt)
        worst = max(worst, np.abs(tril_to_matrix(y, 2)[0] - 2 * D * dt).max() / (2 * np.abs(D).max() * dt))
    return worst


def test_corrected_labels_are_unbiased_to_second_order():
    """Halving Δt halves the first-order labels' relative bias (O(Δt)) and quarters the
    corrected ones' (O(Δt²)); at |A|Δt ≈ 0.01 the correction removes about 90% of it
    (the asymptotic ratios need small |A|Δt: at Δt = 0.02 the first-order one is 2.6)."""
    first = [_label_bias(dt, False) for dt in (0.0025, 0.00125)]
    second = [_label_bias(dt, True) for dt in (0.0025, 0.00125)]
    assert 1.8 < first[0] / first[1] < 2.2, first
    assert 3.6 < second[0] / second[1] < 4.4, second
    assert second[0] < 0.15 * first[0], (first, second)


def test_fit_reads_a_trap_diffusion_without_the_k_dt_bias():
    """A trap at kΔt = 0.05 sampled exactly: the first-order labels read D(1 − kΔt) (−5%,
    exact expectation −4.96%), the second-order ones −0.2%; the homogeneous fit's D is within
    4 standard errors (of the mean of 10⁵ labels, √(2/n)) of the exact expectation, and the
    first-order fit is not."""
    k, diff, dt, n_traj, n = 5.0, 0.5, 0.01, 10, 12_500
    rng, e = np.random.default_rng(0), np.exp(-k * dt)
    x = np.empty((n_traj, n))
    x[:, 0] = rng.normal(size=n_traj) * np.sqrt(diff / k)
    for i in range(1, n):
        x[:, i] = x[:, i - 1] * e + np.sqrt(diff / k * (1 - e * e)) * rng.normal(size=n_traj)
    a = k * dt
    exact_first = ((1 - np.exp(-2 * a)) + (1 - np.exp(-a)) ** 2 - a * a) / (2 * a)  # E[Y]/(2DΔt), stationary x
    se = np.sqrt(2 / (0.8 * n_traj * (n - 1)))
    settings = dict(hidden=32, method="ensemble", homogeneous_diffusion=True, progress=False,
                    drift_settings=TrainSettings(n_iter=1500), diffusion_settings=TrainSettings(n_iter=1500))
    read = {}
    for second_order in (True, False):
        fit = si.infer_langevin(x[..., None], dt, second_order_diffusion=second_order, **settings)
        read[second_order] = float(fit.diffusion(np.zeros((1, 1))).mean[0, 0, 0]) / diff
        assert fit.provenance()["second_order_diffusion"] is second_order
    assert abs(read[True] - exact_first * (1 + a)) < 4 * se, (read, se, exact_first)
    assert abs(read[False] - exact_first) < 4 * se, (read, se)
    assert exact_first * (1 + a) - exact_first > 8 * se  # the two are told apart


def test_euler_maruyama_data_carry_their_share_of_the_term():
    """n Euler–Maruyama steps per record carry 1 − 1/n of Δt²(JD + DJᵀ) (one step: none, its
    increment is FΔt + noise exactly): the exact variance of n OU steps of h = Δt/n is
    2Dh Σ_i (1 − kh)^{2i} = 2DΔt − 2kDΔt²(1 − 1/n) + O(Δt³). Heun and recorded data: all."""
    k, diff, dt = 1.0, 0.5, 1e-3
    for n in (1, 2, 10):
        h = dt / n
        var = 2 * diff * h * np.sum((1 - k * h) ** (2 * np.arange(n)))
        assert (var - 2 * diff * dt) / (-2 * k * diff * dt**2) == pytest.approx(1 - 1 / n, abs=5e-3)
        assert gradient_term_share(("euler_maruyama", n)) == 1 - 1 / n
    assert gradient_term_share(("heun", 1)) == gradient_term_share(None) == 1.0
    # simulate's one-step Euler output: the labels are left as they are (a review found D 5% high)
    m = si.models.LinearOU([[-5.0]], [[0.5]])
    tr = si.simulate(m, 4, 3000, 0.01, seed=3)
    settings = dict(hidden=16, method="ensemble", homogeneous_diffusion=True, progress=False,
                    drift_settings=TrainSettings(n_iter=300), diffusion_settings=TrainSettings(n_iter=300))
    on, off = (si.infer_langevin(tr, second_order_diffusion=so, **settings) for so in (True, False))
    assert on.diffusion(np.zeros((1, 1))).mean[0, 0, 0] == off.diffusion(np.zeros((1, 1))).mean[0, 0, 0]


def test_rows_with_a_large_gradient_step_keep_their_labels():
    y = np.array([[1.0], [1.0]])
    J = np.array([[[-10.0]], [[-100.0]]])  # JΔt = 0.1 and 1 at Δt = 0.01
    out = remove_gradient_bias(y, J, 0.01)
    assert out[0, 0] == pytest.approx(1.1) and out[1, 0] == 1.0
