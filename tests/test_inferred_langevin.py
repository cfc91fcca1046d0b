"""The compiled inferred equation (cpp/include/stochinfer/inferred_langevin.hpp)
against a numpy float64 reference: field assembly from the raw network outputs,
and the simulation loop fed the same normals. Small, briefly trained fits cover
every branch: noiseless coordinates, ensembles with homogeneous diffusion, and
driven underdamped fits with the F_r correction (linear and network forms), the
finite-γΔt corrections and a time input."""
import time

import numpy as np
import pytest

import stochinfer as si
from stochinfer import _core
from stochinfer.langevin import TrainSettings
from stochinfer.langevin.data import tril_to_matrix
from stochinfer.langevin.diffusion_base import quadratic_features
from conftest import sigint_after

SHORT = dict(hidden=16, drift_settings=TrainSettings(n_iter=60), diffusion_settings=TrainSettings(n_iter=60))


@pytest.fixture(scope="module")
def fits():
    ou = si.models.LinearOU(np.array([[-1.0, 1.0], [0.0, -1.0]]), np.diag([1e-12, 1.0]))
    x = si.simulate(ou, 4, 600, 0.01, substeps=5, seed=5).x
    carnot = si.models.BrownianCarnot(tau=10.0)
    tr = si.simulate(carnot, n_traj=5, n_steps=600, dt=0.01, substeps=5, seed=0)
    out = {
        "noiseless_bbb": si.infer_langevin(x, dt=0.01, noiseless=[0], **SHORT),
        "ensemble_homogeneous": si.infer_langevin(x, dt=0.01, method="ensemble", n_members=3, noiseless=[0],
                                                  homogeneous_diffusion=True, **SHORT),
        "driven_underdamped": si.infer_langevin(tr, regime="underdamped", time_dependent=True, **SHORT),
        "driven_underdamped_network": si.infer_langevin(tr, regime="underdamped", time_dependent=True,
                                                        drift_correction="network", **SHORT),
        "driven_periodic": si.infer_langevin(tr, regime="underdamped", time_dependent=True, period=10.0,
                                             time_harmonics=2, method="ensemble", n_members=2, **SHORT),
    }
    assert "friction" in out["driven_underdamped"].norm  # every correction is exercised
    assert np.all(np.asarray(out["driven_underdamped"].norm["friction_bias"]) > 0)
    assert "diffusion_base" in out["noiseless_bbb"].norm and "diffusion_base" in out["driven_underdamped"].norm
    assert "diffusion_base" not in out["ensemble_homogeneous"].norm  # a constant D has no trend
    assert "diffusion_base_chol" in out["noiseless_bbb"].norm  # bbb draws the trend per sample
    assert "drift_noiseless" in out["noiseless_bbb"].nets and "drift_noiseless" in out["ensemble_homogeneous"].nets
    return out


def reference_fields(fit, z, t, n_samples, seed, paired):
    """numpy float64 assembly from the networks' raw (normalised) outputs; z is
    (n, state_dim), or (S, n, state_dim) paired; t a scalar or None."""
    nm, d = fit.norm, fit.dim
    cols = [(z[..., :d] - nm["mu_x"]) / nm["s_x"]]
    if fit.regime == "underdamped":
        cols.append((z[..., d:] / nm["s_x"] - nm["mu_v"]) / nm["s_v"])
    if fit.time_dependent and "time_period" in nm:  # t: a scalar or one time per row of a block
        K = nm["time_harmonics"]
        w = 2 * np.pi * np.asarray(t)[..., None] / nm["time_period"] * np.repeat(np.arange(1, K + 1), 2)
        w[..., 1::2] -= np.pi / 2  # cos(hφ), sin(hφ) = cos(hφ − π/2), h = 1 … K
        cols.append(np.broadcast_to(np.cos(w), z.shape[:-1] + (2 * K,)))
    elif fit.time_dependent:
        cols.append(np.broadcast_to(((np.asarray(t) - nm["mu_t"]) / nm["s_t"])[..., None], z.shape[:-1] + (1,)))
    x = np.concatenate(cols, axis=-1)
    f = fit.nets["drift"].samples(x, n_samples, seed, paired)
    if "drift_noiseless" in fit.nets:  # its own network replaces the noiseless coordinates' drift
        quiet = [i for i in range(d) if i not in nm["noisy"]]
        f[..., quiet] = fit.nets["drift_noiseless"].samples(x, n_samples, seed + 3571, paired)
    if fit.options.get("drift_correction") == "linear":  # the projection of (F − F_r)/4 on (1, inputs)
        C = np.asarray(nm["fr_linear"])
        f = f + C[0] + x @ C[1:]
    elif "drift_shifted" in fit.nets:
        fr = fit.nets["drift_shifted"].samples(x, n_samples, seed + 7919, paired)
        f = f + (f - fr) / 4.0
    if "friction" in nm:  # f + (γΔt/2)(f + (γ − δ)v) − δv, v in normalised position units
        g, bias = np.asarray(nm["friction"]), np.asarray(nm.get("friction_bias", 0.0))
        v = x[..., d:2 * d] * nm["s_v"] + nm["mu_v"]
        f = f + 0.5 * g * fit.dt * (f + (g - bias) * v) - bias * v
    F = f * nm["s_x"]
    xin = x[..., :0] if fit.options["homogeneous_diffusion"] else x
    tri = fit.nets["diffusion"].samples(xin, n_samples, seed + 104729, paired)
    noisy = nm["noisy"]
    s = nm["s_x"][noisy] * np.sqrt(nm["diffusion_factor"] * nm.get("diffusion_unit", 1.0))  # unitless labels
    block = tril_to_matrix(tri, len(noisy)) * np.outer(s, s)
    if "diffusion_base" in nm:  # times b(inputs) = max(floor, quadratic), per sample c ± L ξ
        c = np.asarray(nm["diffusion_base"])
        q = quadratic_features(x.reshape(-1, x.shape[-1])).reshape(x.shape[:-1] + (c.size,))
        S = tri.shape[0]
        cs = np.repeat(c[None], S, axis=0)
        if "diffusion_base_chol" in nm and n_samples > 0:
            L = np.asarray(nm["diffusion_base_chol"])
            for k in range(S):
                xi = _core.normals(seed + 104729, "diffusion_base_sample", k & ~1, 1, 0, c.size)[0]
                cs[k] = c + (-1.0 if k & 1 else 1.0) * (L @ xi.astype(np.float64))
        b = np.einsum("snp,sp->sn", np.broadcast_to(q, (S,) + q.shape[-2:]), cs)
        block = block * np.maximum(b, nm["diffusion_base_floor"])[..., None, None]
    D = np.zeros(block.shape[:-2] + (d, d))
    D[..., np.ix_(noisy, noisy)[0], np.ix_(noisy, noisy)[1]] = block
    return F, D


def reference_simulation(fit, x0, v0, n_steps, dt, S, seed, per_sample, record_every, period=None, t0=0.0):
    """The explicit Euler loop in numpy with the normals of the stream (seed,
    'integrator_noise', trajectory), d per step."""
    d, n = fit.dim, x0.shape[0]
    under = fit.regime == "underdamped"
    U = S if per_sample else 1
    x = np.repeat(x0[None], U, axis=0)
    v = np.repeat(v0[None], U, axis=0) if under else None
    xs, vs, spread = [x], [v], [np.zeros((n, d))]
    noisy = fit.norm["noisy"]
    for k in range(1, n_steps + 1):
        t = t0 + (k - 1) * dt
        t = t % period if period else t
        z = np.concatenate([x, v], axis=-1) if under else x
        F, D = reference_fields(fit, z if per_sample else z[0], t, S, 0, per_sample)
        xi = _core.normals(seed, "integrator_noise", 0, n, k - 1, d).astype(np.float64)
        L = np.zeros_like(D)
        i, j = np.ix_(noisy, noisy)
        L[..., i, j] = np.linalg.cholesky(D[..., i, j])
        kick = np.einsum("snij,nj->sni", np.sqrt(2 * dt) * L, xi)
        if under:
            x = x + v * dt
        prop = (v if under else x) + F * dt + kick
        step_spread = prop.std(axis=0)
        if not per_sample:
            prop = prop.mean(axis=0, keepdims=True)
        if under:
            v = prop
        else:
            x = prop
        if k % record_every == 0:
            xs.append(x), vs.append(v), spread.append(step_spread)
    stack = lambda a: np.stack(a, axis=2)
    return stack(xs), (stack(vs) if under else None), np.stack(spread, axis=1)


def _states(fit, n, rng):
    return fit._val_states[0][rng.integers(0, fit._val_states[0].shape[0], n)]


@pytest.mark.parametrize("name", ["noiseless_bbb", "ensemble_homogeneous", "driven_underdamped",
                                  "driven_underdamped_network", "driven_periodic"])
def test_fields_match_the_numpy_reference(fits, name):
    fit = fits[name]
    rng = np.random.default_rng(1)
    z = _states(fit, 37, rng)
    t = 3.7 if fit.time_dependent else None
    S = fit.nets["drift"].n_members if fit.options["method"] == "ensemble" else 6
    F_ref, D_ref = reference_fields(fit, z, t, S, 4, False)
    np.testing.assert_allclose(fit.drift_samples(z, t, S, seed=4), F_ref, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(fit.diffusion_samples(z, t, S, seed=4), D_ref, rtol=1e-6, atol=0)
    zp = np.stack([_states(fit, 37, rng) for _ in range(S)])  # paired: sample s at its own states
    F_ref, D_ref = reference_fields(fit, zp, t, S, 4, True)
    F, D = fit._equation().fields(np.ascontiguousarray(zp), None if t is None else np.full(37, t), S, 4, True)
    np.testing.assert_allclose(F, F_ref, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(D, D_ref, rtol=1e-6, atol=0)
    if fit.time_dependent:  # one time per row, shared by the blocks
        t_rows = np.linspace(0.0, 9.0, 37)
        F, D = fit._equation().fields(np.ascontiguousarray(zp), t_rows, S, 4, True)
        F_ref, D_ref = reference_fields(fit, zp, t_rows, S, 4, True)
        np.testing.assert_allclose(F, F_ref, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(D, D_ref, rtol=1e-6, atol=0)


@pytest.mark.parametrize("name,mode", [("noiseless_bbb", "per_sample"), ("noiseless_bbb", "ensemble_mean"),
                                       ("ensemble_homogeneous", "per_sample"),
                                       ("driven_underdamped", "per_sample"),
                                       ("driven_underdamped", "ensemble_mean"),
                                       ("driven_underdamped_network", "per_sample"),
                                       ("driven_periodic", "per_sample")])
def test_simulation_matches_the_numpy_loop_fed_the_same_normals(fits, name, mode):
    fit = fits[name]
    rng = np.random.default_rng(2)
    z0 = _states(fit, 70, rng)  # 70 trajectories: two simulation tasks
    d = fit.dim
    x0, v0 = z0[:, :d], (z0[:, d:] if fit.regime == "underdamped" else None)
    S = fit.nets["drift"].n_members if fit.options["method"] == "ensemble" else 4
    period = 2.0 if fit.time_dependent else None
    if fit.norm.get("time_period"):  # the fit's own period is the default
        period, t0 = None, 9.93
    else:
        t0 = 1.93 if fit.time_dependent else 0.0  # the time input wraps at step 8
    sim = fit.simulate(70, 12, x0=x0, v0=v0, n_samples=S, mode=mode, seed=9, record_every=3, period=period, t0=t0,
                       substeps=1)
    xs, vs, spread = reference_simulation(fit, x0, v0, 12, fit.dt, S, 9, mode == "per_sample", 3,
                                          period or fit.norm.get("time_period"), t0)
    assert sim.x.shape == xs.shape == ((S if mode == "per_sample" else 1), 70, 5, d)
    np.testing.assert_allclose(sim.x, xs, rtol=1e-9, atol=1e-12)
    if vs is not None:
        np.testing.assert_allclose(sim.v, vs, rtol=1e-9, atol=1e-12)
    if mode == "ensemble_mean":
        np.testing.assert_allclose(sim.spread, spread, rtol=1e-7, atol=1e-12)
        assert np.all(sim.spread[:, 1:][..., fit.norm["noisy"]] > 0)


@pytest.mark.parametrize("per_sample", [True, False])
def test_simulation_does_not_depend_on_the_thread_count(fits, per_sample):
    fit = fits["driven_underdamped"]
    rng = np.random.default_rng(3)
    z0 = _states(fit, 150, rng)
    runs = []
    for k in (1, 3):
        fit.n_threads = k
        runs.append(fit._equation().simulate(z0[:, :1], z0[:, 1:], 30, 0.01, 0.5, 10.0, 3, per_sample, 7, 0, 1))
    fit.n_threads = None
    for a, b in zip(runs[0][:3], runs[1][:3]):  # x, v, spread (None per sample)
        if a is not None:
            np.testing.assert_array_equal(a, b)


def test_a_diffusion_that_stops_being_positive_definite_is_a_divergence():
    """Far outside the data a posterior D sample can lose positive definiteness before any
    state is NaN: the same FloatingPointError as a divergence (it was a ValueError)."""
    x = si.simulate(si.models.Nonlinear(), 4, 600, 0.01, substeps=5, seed=5).x
    fit = si.infer_langevin(x, dt=0.01, **SHORT)
    with pytest.raises(FloatingPointError, match=r"diverged at step \d+ of dt.*not positive definite"):
        fit.simulate(3, 50, dt=1.0, x0=np.array([50.0, 50.0]), n_samples=2)


def test_divergence_and_bad_simulation_input_are_clear_errors(fits):
    fit = fits["noiseless_bbb"]
    with pytest.raises(FloatingPointError, match="diverged at step"):
        fit.simulate(3, 50, dt=1e6, x0=np.array([1e3, 1e3]), n_samples=2)
    for kwargs, match in [(dict(dt=-0.1), "dt"), (dict(dt=float("nan")), "dt"), (dict(t0=float("inf")), "t0"),
                          (dict(record_every=0), "record_every"), (dict(n_samples=0), "n_samples"),
                          (dict(x0=np.array([np.nan, 0.0])), "x0"), (dict(period=0.0), "period"),
                          # (review, session 26) ~10¹² steps started, or a raw pybind11 TypeError
                          (dict(substeps=2**40), r"substeps must be < 2\*\*31"),
                          (dict(record_every=2**54, substeps=4), r"record_every \(\d+\) times substeps \(4\)")]:
        with pytest.raises((ValueError, TypeError), match=match):
            fit.simulate(3, 5, **kwargs)
    with pytest.raises(ValueError, match=r"n_steps \(\d+\) times substeps \(4\) must be below 2\*\*56"):
        fit.simulate(1, 2**62, record_every=2**62, substeps=4)
    with pytest.raises(si.OutputTooLargeError, match="record_every"):
        fit.simulate(10**6, 10**7, n_samples=2)


def test_networks_without_bayesian_layers_give_one_sample():
    """bbb with n_bayes=0 is deterministic: one sample, whatever n_samples asks."""
    m = si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.eye(2))
    x = si.simulate(m, 4, 600, 0.01, substeps=5, seed=2).x
    with pytest.warns(UserWarning, match="n_bayes=0"):
        fit = si.infer_langevin(x, dt=0.01, n_bayes=0, **SHORT)
    sim = fit.simulate(5, 10, n_samples=4)
    assert sim.n_samples == 1 and sim.x.shape == (1, 5, 11, 2)
    assert np.isfinite(fit.thermodynamics(sim)["ep_rate"])
    with pytest.raises(ValueError, match="n_samples must be >= 0"):
        fit._equation().fields(np.zeros((2, 2)), None, -1, 0)


def test_ctrl_c_stops_a_long_simulation(fits):
    """Ctrl-C at 1 s stops a run sized to take about 30 s on this machine (timed on a short
    run first), so a lost signal fails the test instead of hanging the suite."""
    fit = fits["noiseless_bbb"]
    t0 = time.perf_counter()
    fit.simulate(500, 200, n_samples=4, record_every=200)
    per_step = (time.perf_counter() - t0) / 200
    n_steps = max(2000, int(30.0 / per_step))
    with sigint_after(1.0) as elapsed, pytest.raises(KeyboardInterrupt):
        fit.simulate(500, n_steps, n_samples=4, record_every=n_steps)
    assert elapsed() < 10


def test_noiseless_drift_network_is_checked(fits):
    fit = fits["noiseless_bbb"]
    eq = fit._equation()
    z = np.random.default_rng(2).normal(size=(7, 2))
    before = eq.fields(z, None, 0, 0, False, True, False)[0]
    with pytest.raises(ValueError, match="one output per noiseless coordinate"):
        eq.set_noiseless_drift(fit.nets["drift"].net)  # two outputs, one noiseless coordinate
    np.testing.assert_array_equal(eq.fields(z, None, 0, 0, False, True, False)[0], before)  # unchanged
    eq.set_noiseless_drift(None)  # the main network's outputs again
    main = fit.nets["drift"].samples((z - fit.norm["mu_x"]) / fit.norm["s_x"], 0, 0)[0] * fit.norm["s_x"]
    np.testing.assert_allclose(eq.fields(z, None, 0, 0, False, True, False)[0][0], main, rtol=1e-5, atol=1e-6)
    driven = fits["driven_underdamped"]._equation()
    with pytest.raises(ValueError, match="needs noiseless coordinates"):
        driven.set_noiseless_drift(fit.nets["drift_noiseless"].net)


def test_a_periodic_time_input_makes_the_fields_periodic(fits):
    """period=P: time enters as cos, sin of 2πht/P (h = 1, 2 here), so t and t + P give the
    same fields and the inferred equation simulates with that period by default."""
    fit = fits["driven_periodic"]
    assert fit.nets["drift"].config["in_dim"] == 6 and fit.norm["time_period"] == 10.0  # (x, v, 2 × (cos, sin))
    z = _states(fit, 20, np.random.default_rng(4))
    t = np.linspace(0.0, 9.9, 20)
    np.testing.assert_allclose(fit.drift_samples(z, t + 10.0), fit.drift_samples(z, t), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(fit.diffusion_samples(z, t - 30.0), fit.diffusion_samples(z, t), rtol=1e-5)
    assert fit.simulate(3, 5, x0=z[:3, :1], v0=z[:3, 1:]).settings["period"] == 10.0
    tr = si.simulate(si.models.BrownianCarnot(tau=10.0), n_traj=5, n_steps=600, dt=0.01, seed=0)
    for kwargs, match in [(dict(period=10.0), "time_dependent=True"),
                          (dict(time_dependent=True, period=-1.0), "period"),
                          (dict(time_dependent=True, period=float("nan")), "period"),
                          (dict(time_dependent=True, time_harmonics=2), "needs a period"),
                          (dict(time_dependent=True, time_harmonics=1), "needs a period"),
                          (dict(time_dependent=True, period=10.0, time_harmonics=0), "time_harmonics")]:
        with pytest.raises(ValueError, match=match):
            si.infer_langevin(tr, regime="underdamped", **kwargs, **SHORT)


def test_substeps_integrate_each_step_in_finer_steps(fits):
    """substeps=k is the same simulation as k-times-finer steps recorded k times less often,
    reported on the coarse step's clock; a bad value is a clear error."""
    fit = fits["driven_underdamped"]
    z0 = _states(fit, 8, np.random.default_rng(5))
    kw = dict(x0=z0[:, :1], v0=z0[:, 1:], n_samples=2, seed=3, t0=0.5, period=10.0)
    coarse = fit.simulate(8, 6, dt=0.01, record_every=2, substeps=4, **kw)
    fine = fit.simulate(8, 24, dt=0.0025, record_every=8, substeps=1, **kw)
    np.testing.assert_array_equal(coarse.x, fine.x)
    np.testing.assert_array_equal(coarse.v, fine.v)
    np.testing.assert_allclose(coarse.t, fine.t)
    assert coarse.dt == 0.01 and coarse.settings["substeps"] == 4
    with pytest.raises(ValueError, match="substeps"):
        fit.simulate(8, 6, substeps=0, **kw)
    # default: the fewest substeps k with γΔt/k <= 0.02, γ the fit's largest friction; overdamped 1
    gamma = max(abs(g) for g in fit.norm["friction"])
    for dt in (0.01, 0.001):
        k = fit.simulate(8, 6, dt=dt, **kw).settings["substeps"]
        assert gamma * dt / k <= 0.02 * (1 + 1e-9) and (k == 1 or gamma * dt / (k - 1) > 0.02)
    assert fit.simulate(8, 6, dt=0.01, **kw).settings["substeps"] > 1
    quiet = fits["noiseless_bbb"]
    assert quiet.simulate(3, 4, n_samples=2).settings["substeps"] == 1
