"""Bad input to Langevin inference, its fits and their files: clear Python
exceptions naming the argument, raised before any large allocation. (Data checks:
test_langevin.py::test_bad_input_is_rejected_with_clear_errors.)"""
import math

import numpy as np
import pytest

import stochinfer as si
from stochinfer.langevin import TrainSettings
from stochinfer.train import run_training

SHORT = dict(hidden=16, drift_settings=TrainSettings(n_iter=60), diffusion_settings=TrainSettings(n_iter=60),
             progress=False)


@pytest.fixture(scope="module")
def data():
    m = si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.eye(2))
    return si.simulate(m, 2, 600, 0.01, substeps=5, seed=2).x


@pytest.fixture(scope="module")
def two_fits(data):
    return si.infer_langevin(data, dt=0.01, **SHORT), si.infer_langevin(data, dt=0.01, seed=1, **SHORT)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(n_threads=10**6), ValueError, "n_threads must be <= 1024"),
    (dict(n_threads=-1), ValueError, "n_threads must be >= 1"),
    (dict(seed=-1), ValueError, "seed must be >= 0"),
    (dict(seed=2**70), ValueError, "seed must be < 2"),
    (dict(seed=1.5), TypeError, "seed must be an integer"),
    (dict(hidden=16.5), TypeError, "hidden must be an integer"),
    (dict(n_members=2.5, method="ensemble"), TypeError, "n_members must be an integer"),
    (dict(n_posterior=2.5), TypeError, "n_posterior must be an integer"),
    (dict(layers=1), ValueError, "n_bayes .* must be <= layers"),
    (dict(noiseless=0), TypeError, "noiseless must be a list"),
    (dict(noiseless="1"), TypeError, "noiseless must be a list"),
    (dict(noiseless=[0.7]), TypeError, "noiseless entries must be an integer"),
    (dict(val_fraction="0.2"), ValueError, "val_fraction must be a number"),
    # it would shrink the Bayesian layers' ρ too (posterior std towards 0.69, 7x the prior)
    (dict(diffusion_settings=TrainSettings(n_iter=60, weight_decay=0.1)), ValueError, "weight_decay .* method='bbb'"),
])
def test_infer_langevin_rejects_bad_options_before_training(data, kwargs, error, match):
    opts = {**SHORT, **kwargs}
    with pytest.raises(error, match=match):
        si.infer_langevin(data, dt=0.01, **opts)


def test_bbb_without_bayesian_layers_warns(data):
    with pytest.warns(UserWarning, match="n_bayes=0 has no Bayesian layer"):
        si.infer_langevin(data, dt=0.01, n_bayes=0, **SHORT)


def test_simulate_rejects_more_threads_than_any_machine_has():
    with pytest.raises(ValueError, match="n_threads must be <= 1024"):
        si.simulate(si.models.LinearOU(-np.eye(1), np.eye(1)), 1, 10, 0.01, n_threads=5000)


def test_training_divergence_raises_instead_of_keeping_nan():
    """run_training stops at the first non-finite loss and names the learning rate."""
    losses = iter([1.0, 0.5, math.nan])
    state = {"w": 0}
    with pytest.raises(FloatingPointError, match=r"diverged: non-finite loss by update 30.*lower the learning"):
        run_training(lambda n: 0.1, lambda: {"val_loss": next(losses)}, lambda: dict(state), state.update,
                     n_iter=100, eval_every=10, desc="drift network")
    with pytest.raises(FloatingPointError, match="by update 10"):
        run_training(lambda n: math.inf, lambda: {"val_loss": 1.0}, lambda: 0, lambda s: None,
                     n_iter=100, eval_every=10)


def test_field_calls_check_seed_samples_points_and_memory(two_fits):
    fit = two_fits[0]
    pts = np.zeros((3, 2))
    with pytest.raises(ValueError, match="seed must be >= 0"):
        fit.drift(pts, seed=-1)
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        fit.diffusion(pts, n_samples=2.5)
    with pytest.raises(si.OutputTooLargeError, match="n_samples"):
        fit.drift(pts, n_samples=10**12)
    with pytest.raises(ValueError, match="points is empty"):
        fit.drift(np.zeros((0, 2)))
    with pytest.warns(UserWarning, match="report on 1 point"):  # a single state, as drift() takes it
        one = fit.report(si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.eye(2)),
                         points=np.array([0.1, -0.2]), n_samples=4)
    assert one["n_points"] == 1


def test_simulate_checks_memory_before_allocating_initial_states(two_fits):
    fit = two_fits[0]
    with pytest.raises(si.OutputTooLargeError, match="fewer trajectories"):
        fit.simulate(n_traj=10**12, n_steps=1)  # x0 alone would need 16 TB
    with pytest.raises(ValueError, match="seed must be >= 0"):
        fit.simulate(2, 2, seed=-1)
    with pytest.raises(ValueError, match="posterior_seed must be >= 0"):
        fit.simulate(2, 2, posterior_seed=-1)


def test_thermodynamics_takes_only_this_fits_paths(two_fits):
    fit, other = two_fits
    with pytest.raises(ValueError, match="another fit"):
        fit.thermodynamics(other.simulate(2, 5, n_samples=2))
    with pytest.raises(TypeError, match="result of this fit's simulate"):
        fit.thermodynamics(si.simulate(si.models.LinearOU(-np.eye(2), np.eye(2)), 1, 5, 0.01))
    with pytest.raises(ValueError, match="at least two"):
        fit.thermodynamics(fit.simulate(2, 5, n_samples=2, record_every=10))
    assert np.isfinite(fit.thermodynamics(fit.simulate(2, 5, n_samples=2))["ep_rate"])


def test_damaged_or_foreign_files_give_clear_errors(two_fits, tmp_path):
    fit = two_fits[0]
    written = fit.save(tmp_path / "fit")  # ".npz" appended; load finds it without
    assert si.LangevinFit.load(tmp_path / "fit").options == fit.options
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a stochinfer Langevin fit file") as err:
        si.LangevinFit.load(text)
    assert "allow_pickle" not in str(err.value)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(open(written, "rb").read()[:2000])
    with pytest.raises(ValueError, match="Langevin fit file"):
        si.LangevinFit.load(cut)
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(ValueError, match="a single array"):
        si.LangevinFit.load(tmp_path / "array.npy")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fit.save(tmp_path / "missing" / "fit.npz")


@pytest.mark.parametrize("kwargs,match", [
    (dict(hidden=10**6), "smaller hidden width"),
    (dict(drift_settings=TrainSettings(n_iter=60, batch=10**12)), "lower batch"),
    (dict(drift_settings=TrainSettings(n_iter=60, val_samples=10**12)), "lower val_samples"),
])
def test_network_sizes_that_cannot_fit_in_memory_are_refused(data, kwargs, match):
    with pytest.raises(si.OutputTooLargeError, match=match):
        si.infer_langevin(data, dt=0.01, **{**SHORT, **kwargs})


def test_report_refuses_a_truth_of_another_kind(two_fits):
    fit = two_fits[0]
    pts = np.zeros((3, 2))
    with pytest.raises(ValueError, match="an overdamped model with 4 position coordinates"):
        fit.report(si.models.HodgkinHuxley(), points=pts)
    with pytest.raises(ValueError, match="an underdamped model"):
        fit.report(si.models.VanDerPol(), points=pts)
    with pytest.raises(TypeError, match="drift"):
        fit.report(object(), points=pts)


@pytest.mark.parametrize("factor,dt,match", [(1e160, 0.01, "position spread"), (1e-170, 0.01, "position spread"),
                                             (1.0, 1e-100, "increment / dt"), (1.0, 1e50, "increment / dt")])
def test_units_that_would_overflow_the_networks_are_refused(data, factor, dt, match):
    with pytest.raises(ValueError, match=match):
        si.infer_langevin(data * factor, dt=dt, **SHORT)


def test_a_drift_that_did_not_converge_is_named_not_blamed_on_the_data():
    """lr = 10: the drift's FΔt grows to 20 times the increments without going NaN;
    before this check the error said the data's diffusion matrix was singular."""
    m = si.models.Nonlinear()
    tr = si.simulate(m, 1, 2000, 0.01, substeps=10, seed=0, burn_in=0, initial="zeros")
    with pytest.raises(FloatingPointError, match="drift training diverged.*lower the learning rate"):
        si.infer_langevin(tr, hidden=16, drift_settings=TrainSettings(n_iter=300, lr=10.0), progress=False)


def test_options_that_do_not_apply_are_refused(data, two_fits):
    from stochinfer.langevin.data import split_rows

    fit = two_fits[0]
    with pytest.raises(ValueError, match="period applies to fits with time as an input"):
        fit.simulate(2, 2, period=1.0)
    with pytest.raises(ValueError, match="v0 applies to underdamped fits"):
        fit.simulate(2, 2, v0=np.zeros(2))
    with pytest.raises(TypeError, match="drift_settings must be a stochinfer.langevin.TrainSettings"):
        si.infer_langevin(data, dt=0.01, drift_settings=dict(n_iter=10))
    with pytest.raises(ValueError, match="max_val_rows must be an integer >= 1"):
        TrainSettings(max_val_rows=0).validate()
    with pytest.raises(ValueError, match="leaves none to validate: raise val_fraction above 0.0833"):
        split_rows(6, 100, 0.01, by_trajectory=True)


def test_points_beyond_float32_range_are_refused(two_fits):
    with pytest.raises(ValueError, match="points reach 1e\\+40 in magnitude"):
        two_fits[0].drift(np.array([[1e40, 0.0]]))


def test_reports_on_too_few_points_warn(two_fits):
    m = si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.eye(2))
    with pytest.warns(UserWarning, match="report on 3 point"):
        rep = two_fits[0].report(truth=m, points=np.array([[0.1, 0.2], [0.3, -0.1], [0.0, 0.4]]))
    assert math.isnan(rep["drift"]["calibration"]["corr"])
