"""Finite-γΔt correction of the underdamped diffusion estimate
(python/stochinfer/langevin/friction.py) against an independent simulation."""
import numpy as np
import pytest

from stochinfer.langevin.friction import (_estimated_friction_step, finite_dt_bias, local_friction, mean_friction,
                                         unbiased_friction)


def _expm(a: np.ndarray) -> np.ndarray:
    """Matrix exponential by scaling and squaring of the Taylor series (small matrices)."""
    halvings = max(0, int(np.ceil(np.log2(max(np.abs(a).sum(axis=1).max(), 1e-300)))) + 1)
    a = a / 2.0**halvings
    out, term = np.eye(len(a)), np.eye(len(a))
    for j in range(1, 20):
        term = term @ a / j
        out = out + term
    for _ in range(halvings):
        out = out @ out
    return out


def _oscillator_positions(gamma, k, diff, dt, n_steps, n_traj, seed):
    """Positions every dt of dv = (−γv − kx)dt + √(2D)dW, sampled exactly from the
    stationary state: z' = E z + η with E = exp(A dt) and Cov η = C − E C Eᵀ, C =
    diag(D/(γk), D/γ) the stationary covariance. (An Euler integration with dt/10
    steps read the friction 2% high at γΔt = 0.2, a quarter of the effect under test:
    review, session 29.)"""
    rng = np.random.default_rng(seed)
    E = _expm(np.array([[0.0, 1.0], [-k, -gamma]]) * dt)
    C = np.diag([diff / (gamma * k), diff / gamma])
    L = np.linalg.cholesky(C - E @ C @ E.T)
    z = np.sqrt(np.diag(C))[:, None] * rng.normal(size=(2, n_traj))
    xs = np.empty((n_traj, n_steps))
    for i in range(n_steps):
        xs[:, i] = z[0]
        z = E @ z + L @ rng.normal(size=(2, n_traj))
    return xs


def _three_halves_estimate(gamma, k, diff, dt, n_steps, n_traj=200, seed=0):
    """Per-trajectory (3/2) mean(r²)/(2Δt) with r = v̂' − v̂ − Φ(x, v̂)Δt and the true
    Φ = −γv − kx, from exactly sampled positions of an underdamped oscillator."""
    xs = _oscillator_positions(gamma, k, diff, dt, n_steps, n_traj, seed)
    vh = np.diff(xs, axis=1) / dt
    r = vh[:, 1:] - vh[:, :-1] - (-gamma * vh[:, :-1] - k * xs[:, 1:-1]) * dt
    return 1.5 * np.mean(r**2, axis=1) / (2 * dt)


@pytest.mark.parametrize("gamma", [10.0, 30.0])
def test_bias_factor_matches_simulation(gamma):
    per = _three_halves_estimate(gamma, k=5.0, diff=1.0, dt=0.01, n_steps=1500)
    est, se = per.mean(), per.std(ddof=1) / np.sqrt(per.size)
    rho = float(finite_dt_bias(gamma * 0.01))
    assert abs(est - rho) < 4 * se + 2e-3, (est, se, rho)  # 2e-3: the O(kΔt²) force term, neglected by ρ
    assert abs(est - 1.0) > 10 * se  # the uncorrected 3/2 is measurably low here


def test_bias_factor_limits_and_continuity():
    assert finite_dt_bias(0.0) == 1.0 and finite_dt_bias(-0.3) == 1.0  # no friction, no correction
    a = np.array([1e-3 * (1 - 1e-9), 1e-3])  # the series/closed-form switch
    r = finite_dt_bias(a)
    assert abs(r[0] - r[1]) < 1e-9
    assert finite_dt_bias(0.01) == pytest.approx(0.9900845889896391, abs=1e-11)  # mpmath, 50 digits
    grid = finite_dt_bias(np.linspace(0, 0.5, 401))  # the range the pipeline corrects without a warning
    assert np.all(np.diff(grid) < 0) and grid[-1] > 0.5


def test_mean_friction_reads_the_velocity_slope():
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(500, 5))  # 2 positions, 2 standardised velocities, time
    s_v = np.array([2.0, 0.5])
    drift = lambda r: np.stack([-3.0 * r[:, 2] + r[:, 0] ** 2, -0.25 * r[:, 3] + np.sin(r[:, 4])], axis=1)
    np.testing.assert_allclose(mean_friction(drift, rows, 2, s_v), [1.5, 0.5], rtol=0.05)


@pytest.mark.parametrize("k", [4.4, 35.0])
def test_unshrink_drift_restores_the_stiffness(k):
    """The pipeline's drift estimator made exact: least squares of the second-difference
    label on (x_{i+1}, v̂_i), Φ + (Φ − Φ_r)/4 with the shifted regression. Its stiffness is
    ~6% low at γΔt = 0.1; the assembly's unshrink f + (γΔt/2)(f + (γ − δ)v) − δv, γ the
    unbiased friction and δ = γ − γ̂ (the compiled formula is checked against this one in
    test_inferred_langevin.py), brings it within 2% plus 4 standard errors of this data
    set (20 groups of paths), and the friction to γ."""
    gamma, dt = 10.0, 0.01
    xs = _oscillator_positions(gamma, k, diff=gamma * 10.0, dt=dt, n_steps=3000, n_traj=1000, seed=3)
    v = np.diff(xs, axis=1) / dt
    label = np.diff(v, axis=1) / dt

    def estimate(paths):
        def fit(x, vv):
            design = np.stack([x[paths].ravel(), vv[paths].ravel(), np.ones(label[paths].size)], axis=1)
            return np.linalg.lstsq(design, label[paths].ravel(), rcond=None)[0]
        c, cr = fit(xs[:, 1:-1], v[:, :-1]), fit(xs[:, 1:-1], v[:, 1:])  # the centred position, as the pipeline
        comb = c + (c - cr) / 4  # coefficients of x and v
        g_hat = -comb[1]
        g = float(unbiased_friction(g_hat, dt))
        # unshrink is linear in (f, v): apply it to the fitted linear drift at unit x (v = 0)
        unshrink = lambda f, v: f + 0.5 * g * dt * (f + (g - (g - g_hat)) * v) - (g - g_hat) * v
        return -comb[0], -unshrink(comb[0], 0.0), g, unshrink(comb[1], 1.0)
    raw_k, k_fixed, g, slope_v_fixed = estimate(slice(None))
    groups = np.array([estimate(slice(j, None, 20))[1] for j in range(20)])
    se = groups.std(ddof=1) / np.sqrt(groups.size) / k
    assert raw_k / k - 1 < -0.04  # the shrinkage this corrects
    assert abs(k_fixed / k - 1) < 0.02 + 4 * se, (raw_k, k_fixed, se)
    assert slope_v_fixed == pytest.approx(-g)  # the friction: the unbiased one
    friction_groups = np.array([estimate(slice(j, None, 20))[2] for j in range(20)])
    assert abs(g - gamma) < 4 * friction_groups.std(ddof=1) / np.sqrt(20), (g, friction_groups)


def test_local_factor_matches_simulation_where_friction_depends_on_position():
    """dv = (−γ(x)v − kx)dt + √(2D)dW with γ(x) = 2 + 200x² (γΔt from 0.02 to 0.3):
    the 3/2 estimate, binned by γ(x_i)Δt, follows ρ at each state's own friction
    (what the pipeline divides each diffusion label by), not ρ at the mean friction."""
    rng = np.random.default_rng(3)
    n_traj, n_steps, sub, dt, k = 200, 1500, 40, 0.01, 5.0
    h = dt / sub
    gam = lambda x: 2.0 + 200.0 * x * x
    x, v = rng.normal(size=n_traj) * 0.2, rng.normal(size=n_traj) * 0.5
    xs = np.empty((n_traj, n_steps))
    for i in range(-2000, n_steps * sub):  # 2000 substeps of burn-in
        if i >= 0 and i % sub == 0:
            xs[:, i // sub] = x
        v = v + (-gam(x) * v - k * x) * h + np.sqrt(2 * h) * rng.normal(size=n_traj)
        x = x + v * h
    vh = np.diff(xs, axis=1) / dt
    xi = xs[:, 1:-1]  # the state the pipeline pairs with the label (its centre)
    r = vh[:, 1:] - vh[:, :-1] - (-gam(xi) * vh[:, :-1] - k * xi) * dt
    est, a = 1.5 * r**2 / (2 * dt), gam(xi) * dt
    rho_mean = float(finite_dt_bias(a.mean()))
    for lo, hi in ((0.0, 0.05), (0.05, 0.1), (0.1, 0.2)):
        inside = (a >= lo) & (a < hi)
        per = np.array([e[m].mean() for e, m in zip(est, inside) if m.sum() > 5])  # per trajectory
        mean, se = per.mean(), per.std(ddof=1) / np.sqrt(per.size)
        local = float(finite_dt_bias(a[inside]).mean())
        assert abs(mean - local) < 4 * se + 2e-3, (lo, mean, se, local)
        if lo != 0.05:  # the outer bins: the mean friction's factor is measurably off
            assert abs(mean - rho_mean) > 5 * se, (lo, mean, se, rho_mean)


def test_local_friction_is_the_velocity_slope_at_each_state():
    """Drift −γ(x)v − x with γ(x) = 2 + x² (linear in v: central differences exact)."""
    rng = np.random.default_rng(0)
    d, s_v, mu_v = 2, np.array([3.0, 0.5]), np.array([0.1, -0.2])
    rows = rng.normal(size=(50, 2 * d))

    def drift(r):
        v = r[:, d:] * s_v + mu_v
        return -(2.0 + r[:, :d] ** 2) * v - r[:, :d]

    np.testing.assert_allclose(local_friction(drift, rows, d, s_v), 2.0 + rows[:, :d] ** 2, rtol=1e-10)


class _SlopeNet:
    """Stub drift network: field = slope · (standardised velocity input), one member."""

    def __init__(self, slope):
        self.slope = slope

    def samples(self, rows, n_samples, seed):
        return (self.slope * rows[:, 1:2])[None]


@pytest.mark.parametrize("linear_correction", [True, False])
def test_diffusion_labels_take_the_friction_of_the_corrected_drift(linear_correction):
    """The D labels' finite-γΔt factor needs the friction of Φ = F + (F − F_r)/4, not
    of F alone, which carries the bias the correction removes (with F alone the
    Carnot engine's D was 5% off instead of 2.5%, bench/RESULTS.md)."""
    from stochinfer.langevin.linear import linear_fit
    from stochinfer.langevin.pipeline import _corrected_drift

    rows = np.random.default_rng(0).normal(size=(500, 2))  # (x, v) standardised
    F, Fr = _SlopeNet(-6.0), _SlopeNet(-2.0)
    C = linear_fit(rows, (F.samples(rows, 0, 0)[0] - Fr.samples(rows, 0, 0)[0]) / 4) if linear_correction else None
    gamma = local_friction(_corrected_drift(F, Fr, C), rows, 1, np.ones(1))
    np.testing.assert_allclose(gamma, 6.0 + (6.0 - 2.0) / 4, rtol=1e-9)
    assert not np.allclose(local_friction(lambda r: F.samples(r, 0, 0)[0], rows, 1, np.ones(1)), gamma)


def test_pipeline_diffusion_at_finite_friction_step():
    """infer_langevin on an underdamped oscillator at γΔt = 0.1 (positions only): the
    diffusion comes out within 4 standard errors of the truth with the finite-γΔt
    factor, and about γΔt low without it (the 3/2 factor alone). The standard error is
    that of the per-trajectory labels' mean, from the data."""
    import stochinfer as si
    from stochinfer.langevin import TrainSettings

    gamma, k, diff, dt = 10.0, 4.0, 10.0, 0.01
    xs = _oscillator_positions(gamma, k, diff, dt, 2000, 40, seed=3)
    vh = np.diff(xs, axis=1) / dt  # the per-trajectory 3/2 labels with the true drift give the spread
    r = vh[:, 1:] - vh[:, :-1] - (-gamma * vh[:, :-1] - k * xs[:, 1:-1]) * dt
    per_traj = 1.5 * np.mean(r**2, axis=1) / (2 * dt)
    # relative standard error of the mean label; the fit trains on 80% of each trajectory
    se = per_traj.std(ddof=1) / np.sqrt(0.8 * per_traj.size) / per_traj.mean()  # about 0.6%
    short = dict(hidden=16, homogeneous_diffusion=True, drift_settings=TrainSettings(n_iter=600),
                 diffusion_settings=TrainSettings(n_iter=300), progress=False)
    got = {}
    for corrected in (True, False):
        fit = si.infer_langevin(xs[..., None], dt=dt, regime="underdamped", friction_correction=corrected, **short)
        got[corrected] = float(fit.diffusion(np.zeros((1, 2))).mean[0, 0, 0]) / diff - 1
    assert abs(got[True]) < 4 * se, (got, se)  # measured −1.5% (se 0.6%)
    assert got[False] < -(gamma * dt) / 2, (got, se)  # measured −10.5%: about γΔt low


def _corrected_least_squares_friction(xs, dt, paths=slice(None), x_of_label=None):
    """−∂Φ/∂v of F + (F − F_r)/4 by exact least squares on (x, v̂, 1), the pipeline's estimator
    without networks: F on v̂_i, F_r on v̂_{i+1}, both with x_{i+1} (F: x_of_label when given,
    e.g. x_i, methods.md §3.3's pairing)."""
    v = np.diff(xs, axis=1) / dt
    label = np.diff(v, axis=1) / dt

    def fit(x, vv):
        design = np.stack([x[paths].ravel(), vv[paths].ravel(), np.ones(label[paths].size)], axis=1)
        return np.linalg.lstsq(design, label[paths].ravel(), rcond=None)[0]
    c = fit(xs[:, 1:-1] if x_of_label is None else x_of_label, v[:, :-1])
    cr = fit(xs[:, 1:-1], v[:, 1:])
    return -(c + (c - cr) / 4)[1]


def _pipeline_friction(xs, dt, k):
    """A short infer_langevin fit of oscillator positions xs (n_traj, L) with T = 1, and the
    friction −∂Φ/∂v of its drift by least squares at 400 stationary states."""
    import stochinfer as si
    from stochinfer.langevin import TrainSettings

    fit = si.infer_langevin(xs[..., None], dt=dt, regime="underdamped", hidden=16, progress=False,
                            drift_settings=TrainSettings(n_iter=300), diffusion_settings=TrainSettings(n_iter=200))
    rng = np.random.default_rng(0)
    states = np.column_stack([rng.normal(size=400) * np.sqrt(1 / k), rng.normal(size=400)])  # T = D/γ = 1
    slopes = np.linalg.lstsq(np.column_stack([states, np.ones(400)]), fit.drift(states).mean, rcond=None)[0]
    return fit, -slopes[1, 0]


def test_pipeline_friction_of_a_stiff_oscillator():
    """ω = 10, γ = 2 at Δt = 0.01 (ω²Δt = 1, 63 records per period; user trial, session 27).
    The label Δv̂_i is a second difference centred on x_{i+1}: paired with x_i (methods.md
    §3.3) the force −ω²x read as friction +ω²Δt, and after the (F − F_r)/4 correction
    γ̂ = γ + (5/4)ω²Δt = 3.25, with bands covering the true drift at half the states. The
    pipeline pairs it with x_{i+1}. Tolerance: 4 standard errors of the same estimator as
    exact least squares on these data (20 groups of paths; the fit trains on 80%)."""
    gamma, k, dt = 2.0, 100.0, 0.01
    xs = _oscillator_positions(gamma, k, diff=gamma, dt=dt, n_steps=1500, n_traj=20, seed=5)
    groups = np.array([_corrected_least_squares_friction(xs, dt, slice(j, j + 1)) for j in range(20)])
    se = groups.std(ddof=1) / np.sqrt(groups.size) / np.sqrt(0.8)
    spec = _corrected_least_squares_friction(xs, dt, x_of_label=xs[:, :-2])
    assert spec - gamma > 4 * se  # the tolerance tells the two pairings apart
    _, friction = _pipeline_friction(xs, dt, k)
    assert abs(friction - gamma) < 4 * se, (friction, se)


def test_unbiased_friction_inverts_the_estimate():
    a = np.array([1e-5, 1e-3 * (1 - 1e-9), 1e-3, 0.02, 0.1, 0.2, 0.5, 0.9])
    g = _estimated_friction_step(a)
    assert abs(g[1] - g[2]) < 1e-11  # the series/closed-form switch
    np.testing.assert_allclose(g[:4], a[:4] - 5 * a[:4] ** 2 / 12 + 23 * a[:4] ** 3 / 180, rtol=1e-6)
    assert g[4] == pytest.approx(0.09595807018159717, rel=1e-12)  # sympy, 30 digits
    assert np.all(np.diff(g) > 0) and g[-1] < 1.5
    np.testing.assert_allclose(unbiased_friction(g / 0.01, 0.01), a / 0.01, rtol=1e-8)  # the series: O(a⁴)
    np.testing.assert_array_equal(unbiased_friction(np.array([-2.0, 0.0]), 0.01), [-2.0, 0.0])  # anti-damping
    tiny = np.array([1e-300, 1e-15, 1e-9])  # relative accuracy, not 2⁻⁶⁰ absolute (review, session 29)
    np.testing.assert_allclose(unbiased_friction(_estimated_friction_step(tiny), 1.0), tiny, rtol=1e-9)
    with pytest.raises(ValueError, match="dt must be > 0"):
        unbiased_friction(1.0, 0.0)
    top = float(_estimated_friction_step(np.array(1.0)))  # beyond γΔt = 1 the shift stays (1 − g(1))/Δt
    np.testing.assert_allclose(unbiased_friction(np.array([top, 1.0, 4.0]) / 0.01, 0.01) * 0.01,
                               [1.0, 1.0 + 1.0 - top, 4.0 + 1.0 - top], rtol=1e-12)


def test_friction_estimate_is_low_at_second_order():
    """The corrected drift's friction from positions is g(γΔt)/Δt = γ(1 − 5γΔt/12 + …),
    7.7% low at γΔt = 0.2, for an exact least-squares fit of exactly sampled damped
    oscillators; tolerance 4 standard errors over 20 groups of paths."""
    gamma, k, dt = 20.0, 4.0, 0.01
    xs = _oscillator_positions(gamma, k, diff=gamma, dt=dt, n_steps=2500, n_traj=40, seed=7)
    groups = np.array([_corrected_least_squares_friction(xs, dt, slice(2 * j, 2 * j + 2)) for j in range(20)])
    se = groups.std(ddof=1) / np.sqrt(groups.size)
    est = _corrected_least_squares_friction(xs, dt)
    expected = float(_estimated_friction_step(np.array(gamma * dt))) / dt
    assert abs(est - expected) < 4 * se, (est, expected, se)
    assert gamma - est > 4 * se, (est, se)  # measurably low
    assert abs(float(unbiased_friction(est, dt)) - gamma) < 4 * se / (expected / gamma)


def test_pipeline_friction_at_finite_friction_step(tmp_path):
    """infer_langevin's drift on the same oscillators: its friction is within 4 standard
    errors of the truth (the field assembly adds the γ − γ̂ the trained drift lacks); the
    trained drift's own friction, γ − friction_bias, is as low as the least-squares one."""
    gamma, k, dt = 20.0, 4.0, 0.01
    xs = _oscillator_positions(gamma, k, diff=gamma, dt=dt, n_steps=2500, n_traj=40, seed=7)
    groups = np.array([_corrected_least_squares_friction(xs, dt, slice(2 * j, 2 * j + 2)) for j in range(20)])
    se = groups.std(ddof=1) / np.sqrt(groups.size) / np.sqrt(0.8)  # the fit trains on 80% of each path
    fit, friction = _pipeline_friction(xs, dt, k)
    assert abs(friction - gamma) < 4 * se, (friction, se)
    trained = fit.norm["friction"][0] - fit.norm["friction_bias"][0]
    assert gamma - trained > 4 * se, (trained, se)  # what the drift alone would have given
    import stochinfer as si
    path = fit.save(tmp_path / "fit.npz")
    with np.load(path) as f:  # stochinfer before the friction bias must refuse it, not drop it
        assert int(f["format_version"]) == 2
    states = np.random.default_rng(1).normal(size=(50, 2))
    np.testing.assert_array_equal(si.LangevinFit.load(path).drift(states).mean, fit.drift(states).mean)


def test_inertial_residual_correlation_matches_simulation():
    """ρ₀(γΔt), the lag-1 correlation of the second differences less their regression on
    (x, v̂), against exactly sampled oscillators (4 standard errors, 1/√n)."""
    from stochinfer.langevin.friction import inertial_residual_correlation
    for gamma, k in ((10.0, 4.0), (30.0, 4.0), (0.5, 4.0)):
        xs = _oscillator_positions(gamma, k, gamma, 0.01, 3000, 40, seed=11)
        v = np.diff(xs, axis=1) / 0.01
        label = np.diff(v, axis=1)
        design = np.stack([xs[:, 1:-1].ravel(), v[:, :-1].ravel(), np.ones(label.size)], axis=1)
        r = (label.ravel() - design @ np.linalg.lstsq(design, label.ravel(), rcond=None)[0]).reshape(label.shape)
        a, b = r[:, :-1].ravel(), r[:, 1:].ravel()
        rho = np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))
        assert abs(rho - float(inertial_residual_correlation(gamma * 0.01))) < 4 / np.sqrt(a.size), (gamma, rho)
    assert float(inertial_residual_correlation(0.0)) == pytest.approx(0.25, abs=4e-4)


def test_underdamped_localisation_noise_is_reported():
    """Position noise of 0.1% of the spread at γΔt = 0.1 makes D 10% high (session 29): the
    fit says so, with the noise's size; the same positions without noise draw no warning."""
    import warnings

    import stochinfer as si
    from stochinfer.langevin import TrainSettings

    gamma, k, dt = 10.0, 4.0, 0.01
    xs = _oscillator_positions(gamma, k, gamma, dt, 2500, 24, seed=3)  # spread √(T/k) = 0.5
    sigma = 1e-3 * 0.5
    short = dict(hidden=32, drift_settings=TrainSettings(n_iter=800), diffusion_settings=TrainSettings(n_iter=200),
                 progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        si.infer_langevin(xs[..., None], dt=dt, regime="underdamped", **short)
    noisy = xs + sigma * np.random.default_rng(1).normal(size=xs.shape)
    with pytest.warns(UserWarning, match="localisation") as rec:
        fit = si.infer_langevin(noisy[..., None], dt=dt, regime="underdamped", **short)
    assert any(n.startswith("measurement noise suspected") for n in fit.notes)  # kept with the fit
    text = next(str(w.message) for w in rec if "localisation" in str(w.message))
    import re
    estimate = float(re.search(r"noise std about ([0-9.e-]+)", text).group(1))
    assert 0.7 * sigma < estimate < 1.4 * sigma, text
    with warnings.catch_warnings():  # noise added on purpose is known: no warning
        warnings.simplefilter("error")
        si.infer_langevin(xs[..., None], dt=dt, regime="underdamped", measurement_noise=sigma, **short)


def test_localisation_check_review_findings():
    """(review, session 29) No false alarm at γΔt > 0.5 (ρ₀ was taken at γΔt = 1 there) nor on
    a record of single Euler steps (not continuous motion: warned otherwise); the check runs
    with friction_correction=False too."""
    import warnings

    import stochinfer as si
    from stochinfer.langevin import TrainSettings

    short = dict(hidden=32, drift_settings=TrainSettings(n_iter=600), diffusion_settings=TrainSettings(n_iter=150),
                 progress=False)

    def localisation(data, **kw):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            si.infer_langevin(data, regime="underdamped", **short, **kw)
        return [str(w.message) for w in rec if "localisation" in str(w.message)]
    xs = _oscillator_positions(20.0, 4.0, 20.0, 0.1, 1500, 40, seed=2)  # γΔt = 2
    assert not localisation(xs[..., None], dt=0.1)
    coarse = si.simulate(si.models.VanDerPol(), 24, 2500, 0.01, substeps=1, integrator="underdamped_euler", seed=0)
    assert not localisation(coarse)
    xs = _oscillator_positions(10.0, 4.0, 10.0, 0.01, 2500, 24, seed=3)
    noisy = xs + 1e-3 * 0.5 * np.random.default_rng(1).normal(size=xs.shape)
    assert localisation(noisy[..., None], dt=0.01, friction_correction=False)
