"""Bad input to Langevin inference, its fits and their files: clear Python
exceptions naming the argument, raised before any large allocation. (Data checks:
test_langevin.py::test_bad_input_is_rejected_with_clear_errors.)"""
import math
import warnings

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
    # the networks take seeds seed .. seed + 4·members: refused before training, not at the third network
    (dict(seed=2**64 - 5, method="ensemble", n_members=5), ValueError, r"seed must be at most 2\*\*64 - 21"),
    (dict(seed=1.5), TypeError, "seed must be an integer"),
    (dict(hidden=16.5), TypeError, "hidden must be an integer"),
    (dict(n_members=2.5, method="ensemble"), TypeError, "n_members must be an integer"),
    (dict(n_posterior=2.5), TypeError, "n_posterior must be an integer"),
    (dict(layers=1), ValueError, "n_bayes .* must be <= layers"),
    # a string such as "False" read as True (time_dependent="False" fitted a driven model)
    (dict(time_dependent="False"), TypeError, "time_dependent must be True or False"),
    (dict(corrections="False"), TypeError, "corrections must be True or False"),
    (dict(homogeneous_diffusion=None), TypeError, "homogeneous_diffusion must be True or False"),
    (dict(refit=1), TypeError, "refit must be True or False"),
    (dict(drift_settings=TrainSettings(batch=True)), ValueError, "batch must be an integer >= 1, got True"),
    (dict(drift_settings=TrainSettings(patience=True)), ValueError, "patience must be an integer >= 1"),
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


def test_training_divergence_raises_before_a_checkpoint_and_keeps_the_best_after():
    """run_training stops at the first non-finite loss and names the learning rate: an error
    when nothing was validated yet, else a warning that keeps the best validated state."""
    with pytest.raises(FloatingPointError, match="by update 10"):
        run_training(lambda n: math.inf, lambda: {"val_loss": 1.0}, lambda: 0, lambda s: None,
                     n_iter=100, eval_every=10)
    losses = iter([1.0, 0.5, math.nan])
    state = {"w": 0}

    def step(n):
        state["w"] += n
        return 0.1
    with pytest.warns(RuntimeWarning, match=r"diverged: non-finite loss by update 30.*lower the learning rate.*"
                                            r"Keeping the best model validated before it \(iteration 20"):
        out = run_training(step, lambda: {"val_loss": next(losses)}, lambda: dict(state), state.update,
                           n_iter=100, eval_every=10, desc="drift network")
    assert out["diverged"] and out["best"]["iteration"] == 20 and out["iterations"] == 30
    assert state["w"] == 20  # the checkpoint's state, restored

    def step_raising(n):  # the compiled networks raise TrainingDiverged (a FloatingPointError) from a step
        state["w"] += n
        if state["w"] > 40:
            raise FloatingPointError("NEEP training diverged")
        return 0.1
    state["w"] = 0
    with pytest.warns(RuntimeWarning, match="NEEP training diverged. Keeping the best model"):
        out = run_training(step_raising, lambda: {"val_loss": 1.0 / state["w"]}, lambda: dict(state), state.update,
                           n_iter=100, eval_every=10)
    assert out["diverged"] and state["w"] == 40
    out = run_training(lambda n: 0.1, lambda: {"val_loss": 1.0}, lambda: 0, lambda s: None, n_iter=20, eval_every=10)
    assert out["diverged"] is False


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


def test_posterior_samples_count_the_weights_they_draw(two_fits, monkeypatch):
    """(review, session 26) The check counted only the (S, n, d) output: fit.drift(pt, n_samples=10**5)
    drew 6.5 GB of Bayesian-layer weights against a check of 1.6 MB. Measured on this build: the
    peak grows by the weights counted here, to 0.1%."""
    import stochinfer._validate as v
    fit = two_fits[0]
    assert fit.options["method"] == "bbb"
    drift = fit.nets["drift"]
    h, d = drift.config["hidden"], drift.config["d"]
    assert drift.sampled_params == (h * d + d) + (h * h + h) + len(drift.config["linear"])  # the last 2 layers
    monkeypatch.setattr(v, "available_memory_bytes", lambda: 100 * 2**20)  # 100 MiB
    S = 2 * 100 * 2**20 // fit._sample_bytes(("drift",))  # the weights need 200 MiB, the output 1 MiB
    with pytest.raises(si.OutputTooLargeError, match="of working memory .*fewer n_samples"):
        fit.drift(np.zeros((1, 2)), n_samples=S)
    with pytest.raises(si.OutputTooLargeError, match="of working memory .*posterior samples"):
        fit.simulate(1, 1, n_samples=S)
    fit.drift(np.zeros((1, 2)), n_samples=S // 4)  # 50 MiB: fits
    # underdamped, linear F_r correction (the default): the shifted drift network is never evaluated
    vdp = si.infer_langevin(si.simulate(si.models.VanDerPol(), 2, 600, 0.01, substeps=10, seed=0),
                            regime="underdamped", **SHORT)
    assert vdp.nets["drift_shifted"].sampled_params > 0 and not vdp._uses_shifted_drift()
    assert vdp._sample_bytes(("drift", "drift_shifted")) == vdp._sample_bytes(("drift",)) > 0


def test_flags_models_times_and_thread_counts_are_checked_where_given(data, two_fits, tmp_path):
    """(review, session 26) Strings read as True (progress="no", return_samples="no"); a model of
    the wrong kind was accepted until report(); an autonomous fit ignored t, even NaN; the
    n_threads attribute took 0, -1 or "2" and failed later inside C++."""
    with pytest.raises(TypeError, match="progress must be True or False"):
        si.infer_langevin(data, dt=0.01, progress="no")
    with pytest.raises(TypeError, match="model must have drift"):
        si.infer_langevin(data, dt=0.01, model="ou")
    with pytest.warns(UserWarning, match="model is an overdamped model with 3 position coordinates; this fit is "
                                         "overdamped with 2: report.. and plot.. will need another truth"):
        si.infer_langevin(data, dt=0.01, model=si.models.BeadSpring(3), **SHORT)
    fit = two_fits[0]
    pts = np.zeros((1, 2))
    for method in (fit.drift, fit.diffusion):
        with pytest.raises(TypeError, match="return_samples must be True or False"):
            method(pts, return_samples="no")
        with pytest.raises(ValueError, match="t applies to fits with time as an input"):
            method(pts, t=float("nan"))
    for value, error in ((0, ValueError), (-1, ValueError), (10**6, ValueError), ("2", TypeError), (2.5, TypeError)):
        with pytest.raises(error, match="n_threads"):
            fit.n_threads = value
    fit.n_threads = 1
    assert fit.n_threads == 1
    fit.n_threads = None
    path = tmp_path / "fit.npz"
    fit.save(str(path))
    with pytest.raises(ValueError, match="model is an overdamped model with 3"):
        si.LangevinFit.load(str(path), model=si.models.BeadSpring(3))


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
    # an engine's cycle read-out scores coordinate 0 under its protocol: not for an autonomous 2-D fit
    with pytest.raises(ValueError, match="needs a driven .*underdamped fit of 1 coordinate.*autonomous, overdamped"):
        fit.thermodynamics(fit.simulate(2, 20, n_samples=2), model=si.models.BrownianCarnot(tau=0.2))


def test_driven_fits_simulate_from_the_datas_first_time():
    """A driven record from t = 1000 (no period): the simulation starts there by default,
    and times outside the record, where the time input extrapolates, warn."""
    drift = lambda x, t: -(x - np.sin(np.asarray(t)))  # noqa: E731
    m = si.models.PythonModel(drift, dim=1, diffusion=[[0.5]])
    tr = si.simulate(m, 6, 300, 0.01, seed=0, t0=1000.0)
    fit = si.infer_langevin(tr, time_dependent=True, **SHORT)
    sim = fit.simulate(3, 50, n_samples=2)
    lo = float(np.min(fit._val_states[1]))
    assert 1000.0 <= lo < 1000.5 and sim.t[0] == lo
    with pytest.warns(UserWarning, match=r"simulating t in \[0, 0\.49\] reaches outside the data's times \[1000"):
        fit.simulate(3, 50, n_samples=2, t0=0.0)
    with pytest.warns(UserWarning, match="extrapolates"):
        fit.simulate(3, 500, n_samples=2, t0=1002.0)  # runs past the record's end
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit.simulate(3, 50, n_samples=2, t0=1001.0)


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


def test_network_sizes_that_cannot_fit_in_memory_are_refused(data):
    with pytest.raises(si.OutputTooLargeError, match="smaller hidden width"):
        si.infer_langevin(data, dt=0.01, **{**SHORT, "hidden": 10**6})
    with pytest.raises(ValueError, match=r"val_samples must be an integer in \[1, 2147483647\]"):
        si.infer_langevin(data, dt=0.01, **{**SHORT, "drift_settings": TrainSettings(n_iter=60, val_samples=10**12)})
    # Bayes-by-Backprop draws every weight sample at once (review, session 28)
    with pytest.raises(si.OutputTooLargeError, match="lower n_samples or val_samples"):
        si.infer_langevin(data, dt=0.01, **{**SHORT, "drift_settings": TrainSettings(n_iter=60, val_samples=10**8)})


def test_size_check_counts_each_threads_scratch(data, monkeypatch):
    """Each worker thread holds a chunk of 256 points through every layer, whatever the
    parameter count: 2·10⁵ layers of width 2 hold 0.4 GB per thread, and nothing counted
    it (review, session 30). The count comes from the core (tests/cpp/test_langevin_net.cpp
    checks its network part against what reserve allocates)."""
    from stochinfer import _core, _validate
    ws = _core.LangevinNet32.workspace_values(in_dim=2, out_dim=2, hidden=2, n_layers=300, n_bayes=2)
    assert ws >= 300 * 2 * 256
    assert ws == _core.LangevinNet64.workspace_values(in_dim=2, out_dim=2, hidden=2, n_layers=300, n_bayes=2)
    small = {**SHORT, "hidden": 2, "layers": 300, "n_threads": 4}
    monkeypatch.setattr(_validate, "available_memory_bytes", lambda: 4 * ws * 4)  # the scratch alone fills it
    with pytest.raises(si.OutputTooLargeError, match="smaller hidden width or fewer layers"):
        si.infer_langevin(data, dt=0.01, **small)
    monkeypatch.setattr(_validate, "available_memory_bytes", lambda: 6 * ws * 4)
    si.infer_langevin(data, dt=0.01, **{**small, "drift_settings": TrainSettings(n_iter=2),
                                        "diffusion_settings": TrainSettings(n_iter=2)})


def test_validation_rows_need_only_their_indices(data, monkeypatch):
    """The validation pass runs in chunks of 256 rows: a default ensemble needs its members' row
    lists, not K·val_samples·n_val·4·width activations (2.5 GB, refused on small machines)."""
    from stochinfer import _validate
    monkeypatch.setattr(_validate, "available_memory_bytes", lambda: 2_000_000)  # 2 MB
    # two threads: each thread's scratch (about 0.1 MB here) is counted too
    fit = si.infer_langevin(data, dt=0.01, method="ensemble", n_members=5, n_threads=2, **SHORT)
    assert fit.histories["drift"]["validation"]["val_rows"] > 0


def test_a_batch_that_cannot_fit_in_memory_is_refused(data, monkeypatch):
    """An allowed batch (at most 1000× the training rows) on a machine with little memory: its
    row indices, 8 bytes each (the core's activations are per chunk of 64 rows)."""
    from stochinfer import _validate
    monkeypatch.setattr(_validate, "available_memory_bytes", lambda: 960_000 * 8 - 1)
    with pytest.raises(si.OutputTooLargeError, match="lower batch"):
        si.infer_langevin(data, dt=0.01, **{**SHORT, "drift_settings": TrainSettings(n_iter=60, batch=960_000)})


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


def test_fields_that_overflow_far_from_the_data_are_refused(two_fits):
    """Within the accepted 1e30 the quadratic diffusion base overflows: inf and NaN came back silently."""
    far = np.array([[0.1, 0.2], [1e29, -1e29]])
    with pytest.raises(ValueError, match=r"fitted diffusion overflows at points\[1\]"):
        two_fits[0].diffusion(far)
    assert np.isfinite(two_fits[0].diffusion(far[:1]).mean).all()


def test_reports_on_too_few_points_warn(two_fits):
    m = si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.eye(2))
    with pytest.warns(UserWarning, match="report on 3 point"):
        rep = two_fits[0].report(truth=m, points=np.array([[0.1, 0.2], [0.3, -0.1], [0.0, 0.4]]))
    assert math.isnan(rep["drift"]["calibration"]["corr"])


def test_points_of_a_one_dimensional_fit_may_be_a_flat_array():
    m = si.models.LinearOU(np.array([[-1.0]]), np.array([[0.5]]))
    fit = si.infer_langevin(si.simulate(m, 2, 600, 0.01, seed=1).x, dt=0.01, **SHORT)
    pts = np.linspace(-1, 1, 5)
    a, b = fit.drift(pts), fit.drift(pts[:, None])
    assert a.mean.shape == (5, 1)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(fit.diffusion(pts).mean, fit.diffusion(pts[:, None]).mean)


def test_points_of_the_wrong_shape_are_named_as_given(two_fits):
    with pytest.raises(ValueError, match=r"points must have shape \(n, 2\) holding x, or one state \(2,\); got \(5,\)"):
        two_fits[0].drift(np.zeros(5))
    with pytest.raises(ValueError, match=r"got \(2, 3, 2\)"):
        two_fits[0].drift(np.zeros((2, 3, 2)))


def test_bands_need_two_samples_and_a_numeric_level(two_fits, data):
    fit = two_fits[0]
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        fit.drift(data[0, :5], n_samples=1)
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        fit.diffusion(data[0, :5], n_samples=1)
    assert fit.drift_samples(data[0, :5], n_samples=1).shape == (1, 5, 2)  # one posterior draw is fine
    with pytest.raises(TypeError, match="level must be a number"):
        fit.drift(data[0, :5], level="0.9")


def test_report_says_which_states_it_scores(two_fits, data):
    fit, m = two_fits[0], si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.eye(2))
    # (review, session 26) they were called held-out; they are held out of training but chose the checkpoint
    assert "validation states" in fit.format_report(fit.report(m))
    given = fit.report(m, points=data[0, :50])
    assert given["points"] == "given" and "on 50 given states" in fit.format_report(given)
    vdp = si.models.VanDerPol()
    under = si.infer_langevin(si.simulate(vdp, 2, 600, 0.01, substeps=10, seed=0), regime="underdamped", **SHORT)
    assert under.report(vdp)["points"] == "validation, finite-difference velocities"


def test_split_and_initial_state_errors_name_the_fix(two_fits):
    x = si.simulate(si.models.LinearOU(-np.eye(1), np.eye(1)), 400, 4, 0.01, seed=0).x  # 4 rows per trajectory
    with pytest.raises(ValueError, match="pass val_fraction=0.5,"):
        si.infer_langevin(x[:4], dt=0.01, **SHORT)
    # five or more such trajectories validate whole (session 33)
    fit = si.infer_langevin(x, dt=0.01, **SHORT)
    assert any(n.startswith("validation on 80 of 400 trajectories, held out whole (too short") for n in fit.notes)
    t_x = si.simulate(si.models.LinearOU(-np.eye(1), np.eye(1)), 6, 50, 0.01, seed=0)
    with pytest.raises(ValueError, match="leaves none to train on: lower val_fraction below 0.917"):
        si.infer_langevin(t_x, time_dependent=True, val_fraction=0.95, **SHORT)
    fit = two_fits[0]
    with pytest.raises(TypeError, match="x0 must hold real numbers"):
        fit.simulate(2, 5, x0=np.array([1.0 + 1j, 0.0]))
    with pytest.raises(TypeError, match="x0 must hold real numbers"):
        fit.simulate(2, 5, x0=["a", "b"])


def test_a_python_model_with_constant_diffusion_is_a_truth(data):
    m = si.models.PythonModel(lambda x, t: x @ np.array([[-1.0, 0.5], [-0.5, -1.0]]).T, dim=2, diffusion=np.eye(2))
    np.testing.assert_array_equal(m.diffusion(np.zeros((3, 2))), np.broadcast_to(np.eye(2), (3, 2, 2)))
    fit = si.infer_langevin(si.simulate(m, 2, 300, 0.01, seed=0), **SHORT)
    assert fit.model is m and np.isfinite(fit.report()["diffusion"]["relative_error"])
    noisy = si.models.PythonModel(lambda x, t: -x, dim=2, noise=lambda x, t, xi: xi)
    assert not hasattr(noisy, "diffusion")
    with pytest.raises(TypeError, match="truth must have drift"):
        fit.report(noisy)


def test_provenance_keeps_the_seed_and_split(two_fits, tmp_path):
    fit, other = two_fits
    assert (fit.provenance()["seed"], other.provenance()["seed"]) == (0, 1)
    assert fit.provenance()["val_fraction"] == 0.2
    back = si.langevin.LangevinFit.load(fit.save(str(tmp_path / "f.npz")))
    assert back.provenance() == fit.provenance()


def _inertial_pair_with_one_noiseless_velocity(seed: int = 0) -> np.ndarray:
    """Two coupled damped oscillators (γ = 1, dt = 0.01, 10 Euler substeps); only coordinate 0's
    velocity gets noise, coordinate 1 follows it smoothly through the coupling."""
    rng = np.random.default_rng(seed)
    n, L, h = 2, 2000, 0.001
    x, cx, cv = np.zeros((n, L, 2)), np.zeros((n, 2)), np.zeros((n, 2))
    for i in range(L):
        x[:, i] = cx
        for _ in range(10):
            a = -cx - cv + 0.5 * cx[:, ::-1]
            cx = cx + cv * h
            cv = cv + a * h + np.c_[np.sqrt(2 * h) * rng.normal(size=n), np.zeros(n)]
    return x


def test_underdamped_data_without_noise_in_a_velocity_are_refused_before_training():
    """The error used to come after the drift networks had trained, as an unnamed singular matrix."""
    x = _inertial_pair_with_one_noiseless_velocity()
    with pytest.raises(ValueError, match=r"coordinates \[1\] look noiseless .*Pass noiseless=\[1\]"):
        si.infer_langevin(x, dt=0.01, regime="underdamped", drift_settings=TrainSettings(n_iter=10**6))


def test_overdamped_data_fitted_as_underdamped_warn():
    """Diffusive positions' finite differences are noise, not velocities: with corrections off the
    fit returned D ~ 4e4 without a word."""
    tr = si.simulate(si.models.Nonlinear(), 1, 1000, 0.01, substeps=10, seed=0, burn_in=0, initial="zeros")
    with pytest.warns(UserWarning, match=r"positions of coordinates \[0, 1\] look diffusive"):
        si.infer_langevin(tr, regime="underdamped", corrections=False, **SHORT)


def test_an_autonomous_fit_scored_against_a_driven_truth_warns(two_fits, data):
    """report() evaluated a driven truth at t = 0 without a word."""
    m = si.models.BrownianCarnot()
    tr = si.simulate(m, 2, 1000, 0.01, substeps=10, seed=0)
    fit = si.infer_langevin(tr, regime="underdamped", **SHORT)
    with pytest.warns(UserWarning, match="truth's drift depends on time but this fit is autonomous"):
        fit.report(m)
    ou = si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.eye(2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        two_fits[0].report(ou, points=data[0, :200])
    assert not any("depends on time" in str(w.message) for w in caught)


def test_underdamped_simulation_takes_both_start_positions_and_velocities_or_neither():
    """x0 alone paired the given positions with velocities of unrelated recorded states."""
    tr = si.simulate(si.models.VanDerPol(), 2, 600, 0.01, substeps=10, seed=0)
    fit = si.infer_langevin(tr, regime="underdamped", **SHORT)
    for given, missing in ((dict(x0=np.zeros(1)), "x0"), (dict(v0=np.zeros(1)), "v0")):
        with pytest.raises(ValueError, match=f"give both x0 and v0 .*got only {missing}"):
            fit.simulate(3, 10, n_samples=2, **given)
    sim = fit.simulate(3, 10, n_samples=2, x0=np.zeros(1), v0=np.ones(1))
    assert np.all(sim.x[:, :, 0] == 0.0) and np.all(sim.v[:, :, 0] == 1.0)


def test_underdamped_corrections_warn_on_records_of_every_integration_step():
    """With one explicit Euler step per record v̂ is the scheme's own velocity and the 3/2 factor
    made D 50% high without a word (truth 1: about 1.5 with corrections, 1.0 without)."""
    tr = si.simulate(si.models.VanDerPol(), 4, 3000, 0.01, substeps=1, seed=0, integrator="underdamped_euler")
    settings = dict(SHORT, diffusion_settings=TrainSettings(n_iter=400))
    with pytest.warns(UserWarning, match=r"every 1 integration step\(s\) \(underdamped_euler\).*about 50% high"
                                         r".*corrections=False is exact"):
        fit = si.infer_langevin(tr, regime="underdamped", **settings)
    # the scheme's exact values are 1.5 (with the 3/2 factor) and 1.0; the tolerance is four of the
    # fit's own posterior standard deviations at that state (about 0.04-0.06 here), small enough to
    # tell the two apart
    high = fit.diffusion(np.zeros((1, 2)))
    assert abs(high.mean.ravel()[-1] - 1.5) < 4 * high.std.ravel()[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        exact = si.infer_langevin(tr, regime="underdamped", corrections=False, **settings)
        si.infer_langevin(si.simulate(si.models.VanDerPol(), 2, 600, 0.01, substeps=5, seed=0), regime="underdamped",
                          **SHORT)
    right = exact.diffusion(np.zeros((1, 2)))
    assert abs(right.mean.ravel()[-1] - 1.0) < 4 * right.std.ravel()[-1]
    assert 0.5 > 4 * (high.std.ravel()[-1] + right.std.ravel()[-1])  # the two checks exclude each other
    coarse = si.simulate(si.models.VanDerPol(), 2, 600, 0.01, substeps=1, record_every=2, seed=0)
    with pytest.warns(UserWarning, match=r"every 2 integration step\(s\) \(baoab\).*biased; simulate with more"):
        si.infer_langevin(coarse, regime="underdamped", **SHORT)


def test_least_squares_bases_too_large_for_the_inputs_are_refused_before_training(data, monkeypatch):
    """(review, session 26) Many time harmonics (two inputs each) made the quadratic diffusion base
    a fit of 10⁴–10⁸ coefficients: minutes, 10+ GB, a MemoryError, and at 10⁴ harmonics a segfault
    in LAPACK. Refused up front, naming the option and the fix."""
    from stochinfer.langevin import field_net

    def no_training(*args, **kwargs):
        raise AssertionError("a network trained before the sizes were checked")
    monkeypatch.setattr(field_net, "run_training", no_training)
    m = si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.eye(2))
    x = si.simulate(m, 6, 200, 0.01, substeps=5, seed=2).x  # split by trajectory: 5 x 200 training rows
    kw = dict(time_dependent=True, t0=0.0, period=1.0, **SHORT)
    with pytest.raises(ValueError, match=r"diffusion_base='quadratic': .* 202 inputs has 20706 coefficients .*"
                                         r"diffusion_base='none' \(or fewer time_harmonics"):
        si.infer_langevin(x, 0.01, time_harmonics=100, **kw)
    with pytest.raises(ValueError, match=r"linear fits of the drift .* 20002 inputs has 20003 coefficients"):
        si.infer_langevin(x, 0.01, time_harmonics=10_000, diffusion_base="none", **kw)
    with pytest.raises(ValueError, match=r"too few points for diffusion_base='quadratic': 946 coefficients need "
                                         r"at least 1892 training rows, got 1000"):
        si.infer_langevin(x, 0.01, time_harmonics=20, **kw)
    with pytest.raises(ValueError, match=r"too few points for drift_base='cubic': 680 coefficients need at least "
                                         r"1360 training rows, got 1000; pass drift_base='none', or pass longer"):
        si.infer_langevin(x, 0.01, time_harmonics=6, drift_base="cubic", diffusion_base="none", **kw)


def test_weakly_noisy_underdamped_data_are_not_called_noiseless():
    """Van der Pol at T = 0.01: its velocity increments are mostly drift (ratio ≈ 3.8), but noisy;
    a 3.5 threshold refused it. A truly smooth 1-D velocity is refused without the impossible
    advice noiseless=[0]."""
    from stochinfer.langevin.pipeline import _check_underdamped
    tr = si.simulate(si.models.VanDerPol(temperature=0.01), 4, 2000, 0.01, substeps=10, seed=0)
    _check_underdamped(tr.x, [0], 0.01)
    t = np.arange(2000) * 0.01
    smooth = np.sin(t)[None, :, None]
    with pytest.raises(ValueError, match="No coordinate shows noise") as err:
        _check_underdamped(smooth, [0], 0.01)
    assert "noiseless=[0]" not in str(err.value)


def test_files_saved_with_patience_and_resetting_still_load(tmp_path):
    """Such files were written before both were refused together (patience was ignored)."""
    import json
    from stochinfer.ep import NEEP
    tr = si.simulate(si.models.BeadSpring(2, 0.1), 4, 200, 0.01, seed=1)
    est = NEEP(hidden=8, layers=2, n_iter=20, eval_every=10, progress=False, resetting=si.Resetting(0.1, after=5))
    est.fit(tr, seed=0)
    path = str(tmp_path / "n.npz")
    est.save(path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    cfg = json.loads(str(arrays["config"]))
    cfg["patience"] = 10
    arrays["config"] = np.array(json.dumps(cfg))
    np.savez(path, **arrays)
    back = NEEP.load(path)
    assert back.patience is None and back.resetting is not None


def test_batches_far_larger_than_the_training_rows_are_refused_before_training(data, monkeypatch):
    """A batch of millions of rows on a thousand training rows only repeats them: minutes per update
    (two updates of 1.7·10⁶ took 1.7 s) and gigabytes of indices at 10⁹. Refused up front, naming
    the network's settings, as the EP estimators refuse theirs."""
    from stochinfer.langevin import field_net

    def no_training(*args, **kwargs):
        raise AssertionError("a network trained before the batch was checked")
    monkeypatch.setattr(field_net, "run_training", no_training)
    n_train = 960  # 2 trajectories of 600 records: 1198 rows, about a fifth held out
    for which in ("drift_settings", "diffusion_settings"):
        kw = dict(SHORT, **{which: TrainSettings(n_iter=2, batch=1000 * n_train + 1)})
        with pytest.raises(ValueError, match=rf"batch={1000 * n_train + 1} is over 1000× the {n_train} training rows "
                                             rf"\({which}\).* pass a batch of at most"):
            si.infer_langevin(data, 0.01, **kw)


def test_user_trial_inputs(data, two_fits, tmp_path):
    """(user trial, session 27) dt read back from an .npz is a 0-d array; a masked array
    hid NaN from the NaN check (reported as a units problem); data with time along the
    last axis were refused without saying so."""
    np.savez(tmp_path / "d.npz", x=data, dt=0.01)
    with np.load(tmp_path / "d.npz") as f:
        a = si.infer_langevin(f["x"], dt=f["dt"], **SHORT)
    np.testing.assert_array_equal(a.drift(np.zeros((2, 2))).mean, two_fits[0].drift(np.zeros((2, 2))).mean)
    with pytest.raises(TypeError, match="dt must be a real number"):
        si.infer_langevin(data, dt=np.array([0.01]), **SHORT)
    gap = data.copy()
    gap[0, 10] = np.nan
    with pytest.raises(TypeError, match=r"data is a numpy masked array \(2 masked values\).*cut the trajectories"):
        si.infer_langevin(np.ma.masked_invalid(gap), dt=0.01, **SHORT)
    with pytest.raises(ValueError, match=r"got 2; the axes look swapped .*\(x\.T for one trajectory"):
        si.infer_langevin(data[0].T, dt=0.01, **SHORT)
    with pytest.raises(ValueError, match=r"got 2; the axes look swapped .* x\.transpose\(0, 2, 1\)"):
        si.infer_langevin(data.transpose(0, 2, 1), dt=0.01, **SHORT)
    with pytest.raises(ValueError, match=r"need at least 3 time points per trajectory for the overdamped regime, "
                                         r"got 2$"):  # no hint where nothing looks swapped
        si.infer_langevin(data[:, :2], dt=0.01, **SHORT)


def test_ensemble_diffusion_bands_stop_at_zero_far_from_the_data(data):
    """An ensemble's t band of D_ii reached below 0 where its members disagree (user trial,
    session 27: [−0.31, 1.57] at states far outside the data); every member's D_ii > 0."""
    fit = si.infer_langevin(data, dt=0.01, method="ensemble", n_members=3, **SHORT)
    far = np.full((1, 2), 50.0)
    s = fit.diffusion_samples(far)
    est = fit.diffusion(far)
    diag = np.arange(2)
    assert np.all(s[:, 0, diag, diag] > 0)
    raw_lo = est.mean - (est.hi - est.mean)  # the symmetric t band before the cut
    assert np.any(raw_lo[0, diag, diag] < 0), raw_lo  # this fit's members disagree that much here
    np.testing.assert_array_equal(est.lo[0, diag, diag], np.maximum(raw_lo[0, diag, diag], 0.0))
    np.testing.assert_array_equal(est.lo[0, 0, 1], raw_lo[0, 0, 1])  # off-diagonal entries keep their sign
    m = si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.eye(2))
    text = fit.format_report(fit.report(m))
    assert "provenance: method ensemble, drift base" in text and "kl_gradient" not in text  # no KL term


def test_measurement_noise_in_the_positions_is_named():
    """(user trial, session 27) 10 nm of localisation noise on a trap (D = 0.1 µm²/s, k = 10/s,
    Δt = 1 ms) doubled D and the stiffness without a word. The drift residuals' lag-1
    correlation, −σ²/(2DΔt + 2σ²) = −0.25 here and O(Δt²) without noise, names it with σ. The
    estimate σ̂² = −mean(r_i r_{i+1}) has standard error about (2DΔt + 2σ²)/√n (n pairs)."""
    k, diff, dt, sigma = 10.0, 0.1, 1e-3, 0.01
    rng = np.random.default_rng(0)
    x = np.zeros((3, 5000, 1))
    for i in range(1, 5000):  # exact OU steps
        x[:, i] = x[:, i - 1] * np.exp(-k * dt) + np.sqrt(diff / k * (1 - np.exp(-2 * k * dt))) * rng.normal(size=(3, 1))
    kw = dict(hidden=16, drift_settings=TrainSettings(n_iter=300), diffusion_settings=TrainSettings(n_iter=100),
              progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        si.infer_langevin(x, dt, **kw)
    noisy = x + rng.normal(scale=sigma, size=x.shape)
    with pytest.warns(UserWarning, match=r"anticorrelated, the mark of measurement \(localisation\) noise in the "
                                         r"positions: coordinate 0: lag-1 correlation -0\.2\d, noise std about ") as rec:
        fit = si.infer_langevin(noisy, dt, **kw)
    assert any(n.startswith("measurement noise suspected") for n in fit.notes)  # kept with the fit
    said = next(str(w.message) for w in rec if "anticorrelated" in str(w.message))
    got = float(said.split("noise std about ")[1].split(" ")[0])
    n = 0.8 * 3 * 5000  # training pairs, about
    se_var = (2 * diff * dt + 2 * sigma**2) / np.sqrt(n)
    assert abs(got**2 - sigma**2) < 4 * se_var, (got, se_var)
    with warnings.catch_warnings():  # noise added on purpose (measurement_noise=) is known
        warnings.simplefilter("error", UserWarning)
        si.infer_langevin(x, dt, measurement_noise=sigma, **kw)


def test_a_python_models_drift_written_for_a_scalar_time_scores_a_driven_fit():
    """report() of a driven fit evaluates the truth with one time per state; a drift written for
    a scalar t (as the simulator calls it) returned (n, n) there and report() failed (review,
    session 31). It now runs once per distinct time."""
    drift = lambda x, t: x - 2.0 * x - np.sin(t)  # noqa: E731 (scalar t: x − a·sin(t) broadcasts wrongly for arrays)
    m = si.models.PythonModel(drift, dim=1, diffusion=[[0.5]])
    x = np.array([[0.1], [0.2], [0.3]])
    t = np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(m.drift(x, t), [[-0.1], [-0.2 - np.sin(1.0)], [-0.3]])
    with pytest.raises(ValueError, match=r"one time per state \(3,\)"):
        m.drift(x, np.zeros(2))
    tr = si.simulate(m, 6, 300, 0.01, seed=0)
    fit = si.infer_langevin(tr, time_dependent=True, **SHORT)
    assert np.isfinite(fit.report(m)["drift"]["r2"])


def test_a_model_other_than_the_datas_own_warns():
    """model= replaced the model Trajectories carry without a word, and report() then scored
    against another system (R² −0.81 instead of 0.95; review, session 31)."""
    import warnings
    m = si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.eye(2))
    tr = si.simulate(m, 2, 400, 0.01, seed=0)
    with pytest.warns(UserWarning, match=r"model=Nonlinear\(\.\.\.\) replaces the model the data came from "
                                         r"\(LinearOU\)"):
        si.infer_langevin(tr, model=si.models.Nonlinear(), **SHORT)
    with pytest.warns(UserWarning, match="replaces the model the data came from"):
        si.entropy_production(tr, model=si.models.Nonlinear(), method="tur")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        si.entropy_production(tr, model=si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.eye(2)),
                              method="tur")  # the same system, rebuilt
        si.entropy_production(tr, model=tr.model, method="tur")


def test_coordinates_declared_noiseless_that_look_noisy_warn():
    """(review, session 34) --noiseless 0 on a noisy coordinate set its D to zero without a word
    (the report then scored D 82% off with bands "covering" it). Correct declarations stay quiet:
    the Hodgkin–Huxley voltage (overdamped) and a velocity without noise (underdamped)."""
    tr = si.simulate(si.models.Nonlinear(), 1, 2000, 0.01, substeps=10, seed=0)
    with pytest.warns(UserWarning, match=r"coordinates \[0\] were declared noiseless but look noisy"):
        si.infer_langevin(tr, noiseless=[0], **SHORT)
    x = _inertial_pair_with_one_noiseless_velocity()
    with pytest.warns(UserWarning, match=r"coordinates \[0\] were declared noiseless but look noisy \(their "
                      r"velocities'"), pytest.raises(ValueError, match=r"coordinates \[1\] look noiseless"):
        si.infer_langevin(x, dt=0.01, regime="underdamped", noiseless=[0], **SHORT)
    hh = si.simulate(si.models.HodgkinHuxley(), 2, 2000, 0.01, substeps=10, seed=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*declared noiseless")
        si.infer_langevin(hh, noiseless=[0], **SHORT)
        si.infer_langevin(x, dt=0.01, regime="underdamped", noiseless=[1], **SHORT)
