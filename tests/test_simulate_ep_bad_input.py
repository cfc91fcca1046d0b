"""Bad input to simulation, entropy-production estimators and result files: clear
Python exceptions naming the argument, raised before any large allocation."""
import warnings

import numpy as np
import pytest

import stochinfer as si
from stochinfer import _core
from stochinfer.ep import NEEP, RNEEP

OU = si.models.LinearOU(-np.eye(2), np.eye(2))


def test_the_compiled_simulator_reports_divergence_instead_of_returning_nan():
    with pytest.raises(FloatingPointError, match="diverged.*reduce dt or raise substeps"):
        si.simulate(si.models.Nonlinear(), 2, 400, 10.0, initial="zeros")
    with pytest.raises(ValueError, match="unstable"):  # a linear model's step is checked up front
        si.simulate(OU, 2, 400, 10.0, initial="zeros")
    with pytest.raises(ValueError, match="substeps must be <= 2147483647"):
        si.simulate(OU, 2, 10, 0.1, substeps=2**40)


def test_the_divergence_scan_finds_the_first_bad_record_and_ignores_a_sum_overflow():
    from stochinfer.simulate import first_non_finite
    out = np.zeros((3, 5, 2))
    assert first_non_finite(out) is None
    out[2, 3, 1] = np.nan
    out[1, 4, 0] = -np.inf
    assert first_non_finite(out) == (1, 4)
    huge = np.full((2, 3, 2), 1e308)  # finite, but its sum is inf
    with np.errstate(over="ignore"):
        assert not np.isfinite(huge.sum())
    assert first_non_finite(huge) is None
    mixed = np.full((1, 2, 1), np.inf)
    mixed[0, 1, 0] = -np.inf  # inf + (−inf) = nan: still caught
    assert first_non_finite(mixed) == (0, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_compiled_divergence_scan_matches_numpy_for_any_thread_count(dtype):
    """Bad values planted at random places of outputs large enough for many blocks of work:
    the compiled pass finds numpy's first (trajectory, record), on 1, 2 or 3 threads; a
    Fortran-ordered copy takes the numpy path with the same answer."""
    from stochinfer.simulate import first_non_finite
    rng = np.random.default_rng(5)
    for trial in range(12):
        shape = (int(rng.integers(1, 400)), int(rng.integers(1, 300)), int(rng.integers(1, 7)))
        out = rng.normal(size=shape).astype(dtype)
        for _ in range(int(rng.integers(0, 4))):
            out[tuple(int(rng.integers(0, s)) for s in shape)] = rng.choice([np.nan, np.inf, -np.inf])
        bad = np.argwhere(~np.isfinite(out))
        want = None if len(bad) == 0 else tuple(int(v) for v in bad[0][:2])
        for threads in (1, 2, 3):
            assert first_non_finite(out, threads) == want, (trial, shape, threads)
        fortran = np.asfortranarray(out)  # not C-contiguous (unless a dimension is 1): the numpy path
        assert first_non_finite(fortran) == want


def test_stationary_start_is_only_for_linear_models():
    for model in (si.models.BrownianCarnot(), si.models.Nonlinear()):
        with pytest.raises(ValueError, match="initial='stationary' .* not available for"):
            si.simulate(model, 2, 10, 0.01, initial="stationary")
    assert si.simulate(si.models.BrownianCarnot(), 2, 10, 0.01, initial="equilibrium").x.shape == (2, 11, 1)
    for model in (si.models.Nonlinear(), si.models.HodgkinHuxley(), si.models.BeadSpring()):
        with pytest.raises(ValueError, match="initial='equilibrium' is not defined for"):
            si.simulate(model, 2, 10, 0.01, initial="equilibrium")


def test_stream_indices_beyond_56_bits_and_python_models_on_cuda_are_refused():
    with pytest.raises(ValueError, match=r"traj_offset \+ n_traj must be <= 72057594037927936"):
        si.simulate(OU, 2, 5, 0.1, traj_offset=2**56)  # would reuse the streams of trajectories 0, 1
    assert si.simulate(OU, 2, 5, 0.1, traj_offset=2**56 - 2).x.shape == (2, 6, 2)
    pm = si.models.PythonModel(lambda x, t: -x, 2, diffusion=np.eye(2))
    with pytest.raises(ValueError, match="a PythonModel runs its numpy callables on the CPU"):
        si.simulate(pm, 2, 5, 0.1, backend="cuda")


def test_initial_states_beyond_the_output_precision_are_refused():
    with pytest.raises(ValueError, match="beyond the float32 range"):
        si.simulate(OU, 2, 5, 0.1, initial=np.array([1e39, 0.0]), dtype="float32")


def test_complex_and_boolean_arrays_are_refused_not_coerced():
    for bad in (np.array([1 + 1j, 0]), np.array([True, False])):
        with pytest.raises(TypeError, match="initial must hold real numbers"):
            si.simulate(OU, 2, 5, 0.1, initial=bad)
    with pytest.raises(TypeError, match="A must hold real numbers"):
        si.models.LinearOU(np.eye(2) * (-1 + 0j), np.eye(2))
    # numpy would parse the strings as numbers
    with pytest.raises(TypeError, match="initial must hold real numbers, got string values"):
        si.simulate(OU, 2, 5, 0.1, initial=["1", "0"])
    with pytest.raises(TypeError, match="A must hold real numbers, got bytes values"):
        si.models.LinearOU(np.array([[b"-1", b"0"], [b"0", b"-1"]]), np.eye(2))
    for bad in (np.array(["3", 0.0], dtype=object), np.array([True, 0.0], dtype=object)):
        with pytest.raises(TypeError, match="initial must hold real numbers, got a (str|bool) value"):
            si.simulate(OU, 2, 5, 0.1, initial=bad)
    tr = si.simulate(OU, 2, 5, 0.1, initial=np.array([3.0, 0], dtype=object), burn_in=0)
    np.testing.assert_array_equal(tr.x[:, 0], [[3.0, 0.0]] * 2)


def test_absurd_burn_in_is_refused_not_returned_as_uninitialised_memory():
    for burn_in in (2**63 - 1, 2**63, 2**56):
        with pytest.raises(ValueError, match="burn_in \\+ n_steps"):
            si.simulate(OU, 2, 10, 0.1, burn_in=burn_in)


def test_models_are_fixed_at_construction_and_round_trip_whole():
    from stochinfer.models import from_dict
    chain = si.models.BeadSpring(n_beads=2)
    with pytest.raises(AttributeError, match="BeadSpring.temperatures is fixed at construction"):
        chain.temperatures = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="read-only"):
        chain.temperatures[0] = 5.0  # in place: the precomputed A, D and σ would no longer match
    with pytest.raises(AttributeError, match="Nonlinear.temperature is fixed"):
        si.models.Nonlinear().temperature = 3.0
    A, D = -np.eye(2), np.eye(2)
    ou = si.models.LinearOU(A, D)
    A[0, 1] = 0.5  # the caller's arrays stay theirs: a parameter scan may edit them
    assert ou.A[0, 1] == 0.0 and not ou.A.flags.writeable
    import copy
    import pickle
    for twin in (copy.deepcopy(chain), pickle.loads(pickle.dumps(chain))):
        with pytest.raises(ValueError, match="read-only"):
            twin.temperatures[0] = 5.0

    class Tagged:  # a mixin before the model sets its attribute after super().__init__()
        def __init__(self, *args, tag="x", **kwargs):
            super().__init__(*args, **kwargs)
            self.tag = tag

    class TaggedOU(Tagged, si.models.LinearOU):
        pass
    tagged = TaggedOU(-np.eye(2), np.eye(2), tag="y")
    assert tagged.tag == "y" and tagged.to_dict()["model"] == "LinearOU"
    with pytest.raises(AttributeError, match="TaggedOU.tag is fixed"):
        tagged.tag = "z"
    rebuilt = [
        si.models.HodgkinHuxley(temperature=0.02, C=2.0, g_na=100.0, g_k=30.0, g_l=0.2, e_na=110.0, e_k=-10.0,
                                e_l=11.0, i_ext=5.0),
        si.models.BrownianCarnot(tau=50.0, k_max=30.0, t_cold=5.0, gamma=8.0, burn_in_cycles=7),
        si.models.Nonlinear(dim=3, k=1.5, alpha=7.0, temperature=3.0),
        si.models.Inhomogeneous(dim=3, k=1.0, temperature=0.5, t0=1.0),
        si.models.VanDerPolIHD(mu=1.5, temperature=0.7, dim=2, c_x=0.2, c_v=0.05),
        si.models.BeadSpring(n_beads=3, t_cold=2.0, t_hot=5.0, k=1.5, gamma=2.0),
        si.models.LinearOU(-np.eye(2), np.eye(2)),
    ]
    for model in rebuilt:  # every constructor argument survives save/load
        back = from_dict(model.to_dict())
        assert type(back) is type(model) and back.to_dict() == model.to_dict()
        public = {k: v for k, v in vars(model).items() if not k.startswith("_")}
        for name, value in public.items():
            np.testing.assert_array_equal(getattr(back, name), value, err_msg=f"{type(model).__name__}.{name}")


def test_ground_truth_helpers_check_their_input():
    carnot = si.models.BrownianCarnot(tau=10.0)
    tr = si.simulate(carnot, 3, 100, 0.01, burn_in=0)
    np.testing.assert_array_equal(carnot.work(tr.x, tr.t), carnot.work(tr.x[..., 0], tr.t))  # (n, L, 1) accepted
    with pytest.raises(ValueError, match="work needs positions x"):
        carnot.work(tr.x[..., 0], tr.t[:-1])
    rat = si.models.FlashingRatchet(potential=2.0)
    with pytest.raises(TypeError, match="integer array"):
        rat.transition_entropy(np.array([[0.5, 1.7]]))
    with pytest.raises(ValueError, match="states 0..5"):
        rat.transition_entropy(np.array([[0, 2**32 + 1]], dtype=np.int64))
    with pytest.raises(ValueError, match="numerically singular"):
        si.models.Nonlinear(dim=7, temperature=np.nextafter(4 * np.cos(np.pi / 8) ** 2, 10))
    with pytest.raises(ValueError, match="dim must be <= 2\\*\\*28"):
        si.models.VanDerPol(dim=2**30)


def test_python_models_check_memory_first_and_the_noise_shape():
    pm = si.models.PythonModel(lambda x, t: -x, 2, diffusion=np.eye(2))
    with pytest.raises(si.OutputTooLargeError, match="lower n_traj"):
        si.simulate(pm, 10**12, 10, 0.1)
    bad = si.models.PythonModel(lambda x, t: -x, 2, noise=lambda x, t, xi: xi[:, :1])
    with pytest.raises(ValueError, match=r"noise returned shape \(3, 1\), expected \(3, 2\)"):
        si.simulate(bad, 3, 5, 0.1)


def test_flashing_ratchet_sample_checks_seed_threads_and_memory():
    rat = si.models.FlashingRatchet()
    with pytest.raises(ValueError, match="seed must be >= 0"):
        rat.sample(2, 5, seed=-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        rat.sample(2, 5, seed=1.7)
    with pytest.raises(ValueError, match="n_threads must be <= 1024"):
        rat.sample(2, 5, n_threads=10**6)
    with pytest.raises(si.OutputTooLargeError, match="fewer paths"):
        rat.sample(10**12, 10**6)


def test_entropy_production_checks_seed_and_method_type():
    x = si.simulate(OU, 2, 200, 0.1, seed=1).x
    with pytest.raises(ValueError, match="seed must be >= 0"):
        si.entropy_production(x, 0.1, method="tur", seed=-1)
    with pytest.raises(TypeError, match="method must be one of"):
        si.entropy_production(x, 0.1, method=3)


def test_estimator_sizes_that_cannot_fit_are_refused_before_allocation():
    x = si.simulate(OU, 4, 300, 0.1, seed=1).x
    with pytest.raises(si.OutputTooLargeError, match="lower hidden"):
        NEEP(hidden=10**9, layers=2, n_iter=2).fit(x, 0.1)
    tokens = np.tile([0, 2**30, 1, 0] * 20, (6, 1))  # one large label: an embedding table of 2**30 rows
    with pytest.raises(si.OutputTooLargeError, match="largest token label"):
        NEEP(embed_dim=64, n_iter=2).fit(tokens)
    with pytest.raises(si.OutputTooLargeError, match="largest token label"):
        RNEEP(hidden=8, embed_dim=4, window=4, n_iter=2).fit(tokens)
    with pytest.raises(ValueError, match="batch must be <= 2147483647"):
        NEEP(batch=2**31)


def test_rneep_names_the_window_when_paths_are_too_short():
    tokens = si.models.FlashingRatchet().sample(6, 60, seed=0)
    with pytest.raises(ValueError, match="too short for window=100"):
        RNEEP(window=100, n_iter=2).fit(tokens)


def test_trajectory_files_that_are_damaged_or_foreign_give_clear_errors(tmp_path):
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a stochinfer trajectories file") as err:
        si.Trajectories.load(text)
    assert "allow_pickle" not in str(err.value)
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ValueError, match="a single array"):
        si.Trajectories.load(tmp_path / "a.npy")
    np.savez(tmp_path / "s.npz", x=np.array(["a", "b"]))
    with pytest.raises(ValueError, match="'x' must be a numeric array"):
        si.Trajectories.load(tmp_path / "s.npz")


def test_summary_of_an_equilibrium_estimate_gives_the_absolute_error():
    """σ = 0 for an equilibrium model: a relative error would divide by zero."""
    tr = si.simulate(OU, 2, 50, 0.1, seed=0)
    text = si.entropy_production(tr, method="tur").summary()
    assert "(absolute)" in text


def test_a_truth_model_of_another_system_is_refused():
    x = si.simulate(OU, 2, 200, 0.1, seed=1).x
    with pytest.raises(ValueError, match="has 5 state components but the data has 2"):
        si.entropy_production(x, 0.1, method="tur", model=si.models.BeadSpring(n_beads=5))
    with pytest.raises(TypeError, match="model must be a stochinfer model"):
        si.entropy_production(x, 0.1, method="tur", model="foo")
    with pytest.raises(ValueError, match="does not generate real-valued states"):
        si.entropy_production(x, 0.1, method="tur", model=si.models.FlashingRatchet())


def test_models_whose_dense_truth_cannot_fit_are_refused_before_allocation():
    """Dense d×d ground-truth matrices: 10⁵ beads is 80 GB per matrix."""
    with pytest.raises(si.OutputTooLargeError, match="use a smaller n_beads"):
        si.models.BeadSpring(n_beads=10**5)
    with pytest.raises(si.OutputTooLargeError, match="use a smaller n_beads"):
        si.models.BeadSpring.high_dimensional(10**6)
    with pytest.raises(si.OutputTooLargeError, match="use a smaller dim"):
        si.models.Nonlinear(dim=10**6)
    with pytest.raises(si.OutputTooLargeError, match="use a smaller dim"):
        si.models.Inhomogeneous(dim=10**6)
    with pytest.raises(ValueError, match="A must be a non-empty square matrix"):
        si.models.LinearOU(np.zeros((0, 0)), np.zeros((0, 0)))


def test_stored_model_descriptions_that_name_no_model_are_refused(tmp_path):
    from stochinfer.models import from_dict
    assert from_dict(si.models.BeadSpring(n_beads=3).to_dict()).n_beads == 3
    assert from_dict({"model": "PythonModel", "dim": 2}) is None

    class MyChain(si.models.BeadSpring):  # a user subclass is stored as the built-in it runs as
        pass
    assert MyChain(n_beads=4).to_dict()["model"] == "BeadSpring"
    assert type(from_dict(MyChain(n_beads=4).to_dict())) is si.models.BeadSpring
    with pytest.raises(ValueError, match="names 'Foo', not a built-in model"):
        from_dict({"model": "Foo"})
    with pytest.raises(ValueError, match="description of BeadSpring does not fit its arguments"):
        from_dict({"model": "BeadSpring"})
    with pytest.raises(ValueError, match=r"names no model \(its 'model' entry is \['Foo'\]\)"):
        from_dict({"model": ["Foo"]})
    # a file written by another version still loads, without its ground truth
    import json
    np.savez(tmp_path / "t.npz", x=np.zeros((2, 3, 1)), dt=0.1, settings=json.dumps({"model": {"model": "Foo"}}))
    with pytest.warns(UserWarning, match="no ground truth comes with the data"):
        tr = si.Trajectories.load(tmp_path / "t.npz")
    assert tr.model is None and tr.data.shape == (2, 3, 1)


def test_ragged_trajectory_lists_are_cut_into_pieces_or_name_their_minimum():
    """Nested lists of different lengths are tracks (tests/test_tracks.py): cut into pieces of
    one length, or refused naming the length the estimator needs."""
    x = np.cumsum(np.random.default_rng(0).normal(size=(60, 1)), axis=0)
    ragged = [x[:25].tolist(), x[25:].tolist()]
    res = si.entropy_production(ragged, 0.1, method="tur")
    assert any("2 tracks of 25-35 points cut into" in n for n in res.settings["notes"])
    with pytest.raises(ValueError, match="the longest of the 2 tracks has 5 points; the overdamped fit .* needs at "
                                         "least 9 points per track"):
        si.infer_langevin([np.zeros((5, 1)).tolist(), np.zeros((4, 1)).tolist()], dt=0.1)


def test_plugin_estimates_from_undersampled_histograms_warn():
    x = si.simulate(si.models.Nonlinear(), 1, 20, 0.01, seed=0).x
    with pytest.warns(RuntimeWarning, match="plugin_binned: 20 transitions over .* visited cells"):
        si.entropy_production(x, 0.01, method="plugin")
    tokens = si.models.FlashingRatchet().sample(1, 30, seed=0)
    with pytest.warns(RuntimeWarning, match="plugin: 30 transitions over .* visited states"):
        si.entropy_production(tokens, method="plugin")
    many = si.models.FlashingRatchet().sample(1, 10**4, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        si.entropy_production(many, method="plugin")


@pytest.mark.parametrize("call", [
    lambda x: si.entropy_production(x, 0.01, method="tur"),
    lambda x: si.infer_langevin(x, dt=0.01, drift_settings=si.langevin.TrainSettings(n_iter=5),
                                diffusion_settings=si.langevin.TrainSettings(n_iter=5), progress=False),
])
def test_data_passed_as_time_by_trajectory_warn_at_the_users_line(call):
    """(L, n_traj, d) instead of (n_traj, L, d): consecutive 'points' are independent draws."""
    x = si.simulate(si.models.Nonlinear(), 60, 200, 0.01, seed=0).x
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right layout: no warning
        si.entropy_production(x, 0.01, method="tur")
    with pytest.warns(UserWarning, match=r"nearly uncorrelated .* shape \(201, 60, 2\): if the array is "
                                         r"\(L, n_traj, dim\), transpose") as rec:
        call(np.ascontiguousarray(x.transpose(1, 0, 2)))
    assert rec[0].filename == __file__
    # scalar paths (n_traj, L) given as 2-D are read as one trajectory (L, dim): the hint says so
    from stochinfer.ep.data import as_ep_data
    with pytest.warns(UserWarning, match=r"shape \(60, 201\) are read as one trajectory of 60 points in 201 "
                                         r"dimensions; for 60 scalar paths of 201 points pass x\[\.\.\., None\]"):
        as_ep_data(np.ascontiguousarray(x[:, :, 0]), 0.01)


def test_time_along_the_last_axis_warns_and_transition_pairs_do_not():
    """(n_traj, dim, L) instead of (n_traj, L, dim): with dim 2-3 the data still read as many short
    trajectories (or NEEP's transition pairs (n, 2, d)) in L dimensions, so the shape alone cannot tell;
    consecutive 'coordinates' of such data are correlated like a path, consecutive 'points' are not."""
    from stochinfer.ep.data import as_ep_data
    x = si.simulate(si.models.BeadSpring(n_beads=3), 50, 300, 0.01, seed=0).x  # (50, 301, 3)
    for swapped in (x.transpose(0, 2, 1), x[:, :, :2].transpose(0, 2, 1)):
        with pytest.warns(UserWarning, match=r"shape \(50, [23], 301\) look like time along the last axis: "
                                             r"consecutive coordinates .* correlation 0\.9\d\), consecutive "
                                             r"time points are not .* pass x\.transpose\(0, 2, 1\)") as rec:
            as_ep_data(np.ascontiguousarray(swapped), 0.01)
        assert rec[0].filename == __file__
    with pytest.warns(UserWarning, match="look like time along the last axis"):
        # 50 'trajectories' of 3 points validate whole (session 33), and are far too few rows for 301 inputs
        with pytest.raises(ValueError, match="too few points for the chosen network: 80 training rows"):
            si.infer_langevin(np.ascontiguousarray(x.transpose(0, 2, 1)), dt=0.01, progress=False)
    # transition pairs of a 40-bead chain (n, 2, 40): neighbouring beads correlate, but less than a step in time
    chain = si.simulate(si.models.BeadSpring(n_beads=40), 20, 200, 0.01, seed=0).x
    pairs = np.stack([chain[:, :-1].reshape(-1, 40), chain[:, 1:].reshape(-1, 40)], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_ep_data(pairs, 0.01)
        as_ep_data(x, 0.01)


def test_checks_on_empty_or_dt_less_data_come_before_the_layout_warning():
    with pytest.raises(ValueError, match="data is empty"):
        si.entropy_production(np.zeros((5, 10, 0)), 0.1, method="tur")
    x = np.random.default_rng(0).normal(size=(201, 60, 2))  # would warn, but dt is missing first
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="dt is required"):
            si.infer_langevin(x)


def test_tur_currents_whose_covariance_cannot_fit_are_refused():
    """The linear basis has d² + d currents: d = 201 needs a 40602² covariance per jackknife group
    (with more transitions than currents: fewer are refused first, needing no memory)."""
    x = np.random.default_rng(0).normal(size=(1, 40_700, 201)).cumsum(axis=1)
    with pytest.raises(si.OutputTooLargeError, match="d² \\+ d currents"):
        si.entropy_production(x, 0.01, method="tur")


def _raw(backend, integrator, size=5):
    params = [1.0] + [1.0] * size
    out = np.empty((4, 11, size), dtype=np.float64)
    return _core.simulate("bead_spring", size, params, out, 10, 1, 1, 0, 0.01, 0.0, 0, 0, integrator,
                          "zeros", None, 0, backend)


def _skip_unless_the_cuda_backend_is_built():
    """The CUDA backend's host code checks its arguments before it looks for a device, so these
    checks run on any machine with a CUDA build; a build without the toolkit has only a stub."""
    try:
        _raw("cuda", "euler_maruyama")  # valid: runs where there is a device
    except RuntimeError as exc:
        if "built without CUDA" in str(exc):
            pytest.skip("stochinfer was built without the CUDA backend")
        assert "no usable CUDA device" in str(exc)


def test_cuda_rejects_what_the_cpu_rejects():
    """(review, session 26) Moved from test_cuda.py, whose module-wide cuda mark skipped it on
    machines without a GPU although it needs none."""
    _skip_unless_the_cuda_backend_is_built()
    with pytest.raises(ValueError) as cpu_err:
        _raw("cpu", "baoab")
    with pytest.raises(ValueError) as gpu_err:
        _raw("cuda", "baoab")
    assert str(gpu_err.value) == str(cpu_err.value)


def test_cuda_size_limit():
    """(review, session 26) Moved from test_cuda.py: the size check comes before the device's."""
    _skip_unless_the_cuda_backend_is_built()
    with pytest.raises(ValueError, match="CUDA backend supports sizes up to 256"):
        si.simulate(si.models.BeadSpring(n_beads=300), 2, 10, 0.01, initial="zeros", backend="cuda")


def test_cuda_host_staging_counts_against_the_memory_check(monkeypatch):
    """backend='cuda' also holds host staging buffers (up to 256 MiB each, or one record of every
    trajectory) and two per-trajectory states: counted before anything is allocated, on any machine."""
    import stochinfer._validate as v
    m = si.models.BeadSpring(n_beads=2)
    n_traj, n_rec, dim = 1000, 11, 2  # output 176 kB in float64; staging 2 x 176 kB; states 2 x 16 kB
    out_bytes = n_traj * n_rec * dim * 8
    monkeypatch.setattr(v, "available_memory_bytes", lambda: out_bytes + 10_000)
    with pytest.raises(si.OutputTooLargeError, match="working memory"):
        si.simulate(m, n_traj, 10, 0.01, backend="cuda")
    if not si.cuda_available():  # the CPU path needs the output and 1 kB per thread here
        assert si.simulate(m, n_traj, 10, 0.01, n_threads=1).x.shape == (n_traj, n_rec, dim)


def test_cpu_working_memory_counts_against_the_memory_check(monkeypatch):
    """(review, session 24) each CPU thread holds 8·dim working values of 64 bytes (SIMD lanes):
    VanDerPol(dim=2**25) passed the check on its 1 GiB output and needed 30 GiB more."""
    import stochinfer._validate as v
    m = si.models.VanDerPol(dim=2**12)
    out_bytes = 9 * 2 * 2**13 * 8  # nine trajectories, 2 records of (x, v)
    per_thread = 8 * 2**13 * 64
    monkeypatch.setattr(v, "available_memory_bytes", lambda: out_bytes + 2 * per_thread - 1)
    with pytest.raises(si.OutputTooLargeError, match="working memory"):
        si.simulate(m, 9, 1, 0.01, burn_in=0, n_threads=2)  # two blocks of 8 lanes: two threads busy
    assert si.simulate(m, 9, 1, 0.01, burn_in=0, n_threads=1).x.shape == (9, 2, 2**12)
    assert si.simulate(m, 8, 1, 0.01, burn_in=0, n_threads=2).x.shape == (8, 2, 2**12)  # one block, one thread


def test_states_of_the_wrong_width_and_huge_integers_are_named():
    """(review, session 24) ground-truth fields broadcast states of another width into
    garbage (positions only for an underdamped model gave shape (1, 0)); integers beyond
    the float range raised a bare OverflowError; a float32 run of a parameter beyond its
    range was reported as a divergence."""
    with pytest.raises(ValueError, match=r"\(x, v\) of 2 coordinates for VanDerPol, got \(1, 1\)"):
        si.models.VanDerPol().drift(np.array([[0.5]]))
    with pytest.raises(ValueError, match="2 coordinates for BeadSpring"):
        si.models.BeadSpring(2).diffusion(np.ones((3, 1)))
    for model in (si.models.Nonlinear(), si.models.Inhomogeneous(), si.models.HodgkinHuxley(),
                  si.models.VanDerPolIHD(), si.models.BrownianCarnot(), si.models.LinearOU([[-1.0]], [[1.0]])):
        good = np.zeros((3, model.dim))
        assert model.drift(good).shape[0] == 3 and model.diffusion(good).shape[0] == 3
        for field in (model.drift, model.diffusion):
            with pytest.raises(ValueError, match="states must have shape"):
                field(np.zeros((3, model.dim + 1)))
    m = si.models.BeadSpring(2)
    for call, name in ((lambda: si.simulate(m, 2, 2, 10**400), "dt"), (lambda: si.simulate(m, 2, 2, 0.01, t0=10**400), "t0"),
                       (lambda: si.simulate(m, 2, 2, 0.01, initial=[10**400, 0]), "initial"),
                       (lambda: si.models.BeadSpring(2, k=10**400), "k"),
                       (lambda: si.models.BeadSpring(2, k=10**5000), "k"),  # too many digits to print
                       (lambda: si.models.LinearOU([[-(10**400)]], [[1]]), "A")):
        with pytest.raises(ValueError, match=f"^{name} .*beyond the float"):
            call()
    with pytest.raises(ValueError, match="reaches 1e\\+40, beyond the float32 range: use dtype='float64'"):
        si.simulate(si.models.BeadSpring(2, k=1e40), 2, 2, 1e-45, dtype="float32")


def test_stationary_start_refuses_a_marginal_step_and_accepts_a_slow_stable_one():
    """|1 + hλ| < 1 tested as 2 Re λ + h|λ|² < 0: a step on the boundary (λ = −1 ± 2i, h = 0.4:
    |1 + hλ| = 1, no stationary law) was solved into garbage, and a stable chain whose 1 + hλ
    rounds to 1 (λ = −1e−7, h = 1e−10) was refused with 'reduce dt'."""
    with pytest.raises(ValueError, match="unstable"):
        si.simulate(si.models.LinearOU([[-1.0, 2.0], [-2.0, -1.0]], np.eye(2)), 4, 2, 0.4)
    slow = si.models.LinearOU([[-1e-7]], [[1.0]])
    x0 = si.simulate(slow, 4000, 1, 1e-10, seed=0).x[:, 0, 0]
    c = 1e7  # D / |a|, the chain's stationary variance up to O(h)
    assert x0.var() == pytest.approx(c, rel=4 * np.sqrt(2 / x0.size))


def test_core_simulate_checks_the_length_of_its_initial_data():
    out = np.empty((4, 2, 2))
    args = ("linear_ou", 2, [-1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0], out, 1, 1, 1, 0, 0.1, 0.0, 0, 0,
            "euler_maruyama")
    with pytest.raises(ValueError, match="init_data: expected 8 values for this initial kind, got 1"):
        _core.simulate(*args, "per_trajectory", np.array([1.0]), 1, "cpu")
    with pytest.raises(ValueError, match="init_data: expected 6 values"):
        _core.simulate(*args, "gaussian", np.zeros(2), 1, "cpu")
    with pytest.raises(ValueError, match="init_data contains NaN"):
        _core.simulate(*args, "broadcast", np.array([np.nan, 0.0]), 1, "cpu")
    assert _core.simulate(*args, "broadcast", np.array([1.0, 2.0]), 1, "cpu") == "completed"
    np.testing.assert_array_equal(out[:, 0], [[1.0, 2.0]] * 4)
    rows = np.arange(8.0).reshape(4, 2)  # one row per trajectory, as simulate(initial=...) passes it
    assert _core.simulate(*args, "per_trajectory", rows, 1, "cpu") == "completed"
    np.testing.assert_array_equal(out[:, 0], rows)
    tr = si.simulate(si.models.BeadSpring(2), 3, 5, 0.01, initial=rows[:3], burn_in=0)
    np.testing.assert_array_equal(tr.x[:, 0], rows[:3])


def test_model_parameters_that_overflow_are_refused_naming_them():
    with pytest.raises(ValueError, match="potential / temperature must be <= 300"):
        si.models.FlashingRatchet(potential=1500)
    assert np.isfinite(si.models.FlashingRatchet(potential=300).ep_per_step())
    with pytest.raises(ValueError, match="k / gamma = inf"):
        si.models.BeadSpring(2, gamma=1e-320)
    with pytest.raises(ValueError, match="default burn-in of 3 cycles"):
        si.simulate(si.models.BrownianCarnot(), 1, 1, 5e-324)
    with pytest.raises(TypeError, match="observed must be an integer"):
        si.models.BeadSpring(3).exposure_ep_rates(0.1, 2, observed=[0.9])


def test_python_model_refuses_complex_and_non_callable_noise():
    with pytest.raises(TypeError, match="drift callable's result must hold real numbers, got complex"):
        si.simulate(si.models.PythonModel(lambda x, t: -x + 1j, 1, diffusion=1.0), 2, 3, 0.01)
    complex_noise = si.models.PythonModel(lambda x, t: -x, 1, noise=lambda x, t, xi: xi + 0j)
    with pytest.raises(TypeError, match="noise callable's result must hold real numbers"):
        si.simulate(complex_noise, 2, 3, 0.01)
    with pytest.raises(TypeError, match="noise must be callable"):
        si.models.PythonModel(lambda x, t: -x, 1, noise=3)
    for bad in (True, 1 + 1j):
        with pytest.raises(TypeError, match="diffusion must hold real numbers"):
            si.models.PythonModel(lambda x, t: -x, 1, diffusion=bad)


def test_a_subclass_redefining_a_field_is_not_simulated_as_its_base_and_python_models_are_frozen():
    """(review, session 24) a subclass of a built-in model with its own drift ran as the plain
    base silently; a PythonModel's attributes could be changed after construction."""
    class Damped(si.models.BeadSpring):
        def drift(self, x, t=0.0):
            return 0.5 * super().drift(x, t)

    with pytest.raises(TypeError, match="Damped redefines drift, but the compiled core simulates the built-in "
                                        "BeadSpring's equations; .* use PythonModel"):
        si.simulate(Damped(2), 2, 2, 0.01)

    class Stiff(si.models.BrownianCarnot):  # a helper of drift(): the same silent mismatch
        def stiffness(self, t):
            return 2 * super().stiffness(t)

    with pytest.raises(TypeError, match="Stiff redefines stiffness, but"):
        si.simulate(Stiff(burn_in_cycles=0), 2, 5, 0.01, burn_in=0)

    class Named(si.models.BeadSpring):  # nothing redefined (a constructor of its own): simulated as BeadSpring
        def __init__(self):
            super().__init__(2)

        def label(self):  # a method the base does not have
            return "named"

    np.testing.assert_array_equal(si.simulate(Named(), 2, 5, 0.01, seed=1).x,
                                  si.simulate(si.models.BeadSpring(2), 2, 5, 0.01, seed=1).x)
    pm = si.models.PythonModel(lambda x, t: -x, 1, diffusion=[[1.0]])
    with pytest.raises(AttributeError, match="PythonModel.d is fixed at construction"):
        pm.d = 5
    assert pm.dim == 1 and si.simulate(pm, 2, 3, 0.01).x.shape == (2, 4, 1)


def test_token_labels_out_of_range_name_the_data_and_the_fix():
    """Negative labels and labels beyond int32 are refused naming `data` (the int32 message named
    neither the argument nor the fix; review, session 26)."""
    from stochinfer.ep.data import as_ep_data
    with pytest.raises(ValueError, match=r"token data must be non-negative"):
        as_ep_data(np.array([0, -1, 2]), None)
    with pytest.raises(ValueError, match=r"token data: labels must be below 2\*\*31.*2147483648.*relabel"):
        as_ep_data(np.array([0, 2**31]), None)


def test_split_seeds_beyond_2_63_give_distinct_splits_and_small_seeds_keep_theirs():
    """(review) The split's key went through float64 for seeds >= 2**63: 2**64 − 1 split like seed 0,
    and 2**63, 2**63 + 1, 2**63 + 1000 all alike (with a RuntimeWarning from the cast)."""
    from stochinfer.ep import three_way_split
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tests = {s: tuple(three_way_split(30, 100, seed=s).test[:, 0]) for s in
                 (0, 1, 2**63 - 1, 2**63, 2**63 + 1, 2**63 + 1000, 2**64 - 1)}
    assert len(set(tests.values())) == len(tests)
    assert tests[2**63] == (1, 8, 15, 18, 20, 24) and tests[2**64 - 1] == (6, 10, 13, 22, 23, 27)
    # seeds below 2**63 split exactly as before the fix
    for seed, test, val in [(0, [0, 5], [4, 8]), (7, [3, 8], [0, 9]), (2**53 + 1, [1, 2], [3, 8]),
                            (2**63 - 1, [2, 7], [0, 4])]:
        s = three_way_split(10, 50, seed=seed)
        assert s.test[:, 0].tolist() == test and s.val[:, 0].tolist() == val
    with pytest.raises(ValueError, match="seed must be < 2\\*\\*64"):
        three_way_split(30, 100, seed=2**64)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        three_way_split(30, 100, seed=-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        three_way_split(30, 100, seed=1.5)


def test_substeps_beyond_32_bits_are_refused_naming_them():
    """(review) substeps=2**40 reached the compiled truth as a raw pybind11 TypeError."""
    m = si.models.BeadSpring(2)
    x = si.simulate(m, 6, 50, 0.01, seed=1).x
    for est in (NEEP(hidden=4, layers=1, n_iter=1, eval_every=1, progress=False),
                si.CNEEP(n_channel=2, n_iter=1, eval_every=1, progress=False)):
        data = x if type(est) is NEEP else si.movies.render(x, si.movies.bead_spring_layout())
        with pytest.raises(ValueError, match=r"substeps must be <= 2147483647 \(integration steps per recorded "
                                             r"interval.*got 1099511627776"):
            est.fit(data, 0.01, model=m, substeps=2**40)


def test_ep_refuses_masked_and_transposed_data():
    """(user trial, session 27) A masked array's hidden values were read as data; a (dim, L)
    array was refused as too short without naming the swapped axes."""
    x = np.cumsum(np.random.default_rng(0).normal(size=(2, 500, 2)), axis=1)
    with pytest.raises(TypeError, match=r"masked array \(0 masked values\).*data\.filled\(\)"):
        si.entropy_production(np.ma.masked_array(x), 0.01)
    with pytest.raises(ValueError, match=r"got 1; the axes look swapped"):
        si.entropy_production(x[0].T[:1], 0.01)


def test_plugin_counts_pairs_when_it_calls_a_histogram_undersampled():
    """(user trial, session 27) 10⁴ equilibrium transitions over ~260 cells passed the per-cell
    count without a warning and read about 90 ± 8 k_B/time where the truth is 0: the counts per
    distinct pair (over 2000 pairs) are what the bias follows."""
    m = si.models.LinearOU(-50.0 * np.eye(2), 0.1 * np.eye(2))  # detailed balance: σ = 0
    x = si.simulate(m, 20, 499, 1e-3, substeps=5, seed=0).x
    with pytest.warns(RuntimeWarning, match=r"plugin_binned: 9980 transitions over \d+ visited cells and \d+ "
                                            r"distinct pairs \(< 10 per pair\).*usually upwards"):
        est = si.entropy_production(x, 1e-3, method="plugin")
    assert est.rate > 4 * est.stderr  # the bias the warning is about


def test_review_findings_session30():
    m = si.models.BeadSpring(2)
    # a linear model's unstable step is refused whatever the start (from zeros it grew to 1e54 in
    # 100 steps and came back finite)
    for start in (dict(initial="zeros"), dict(initial=np.zeros(2), burn_in=10)):
        with pytest.raises(ValueError, match="dt = 1.5 with substeps = 1.*unstable.*reduce dt"):
            si.simulate(m, 5, 100, 1.5, **start)
    assert np.isfinite(si.simulate(m, 2, 10, 0.1, initial="zeros").x).all()
    # substeps that contradict a Trajectories object: an error, not another simulation's truth
    tr = si.simulate(m, 20, 200, 0.1, substeps=2, record_every=5)
    with pytest.raises(ValueError, match="substeps=2 contradicts the Trajectories.*10 integration steps"):
        si.entropy_production(tr, method="tur", substeps=2)
    res = si.entropy_production(tr, method="tur", substeps=10)
    assert res.truth["snapshot_ep_rate"] == pytest.approx(m.snapshot_ep_rate(0.5, substeps=10))
    assert not any("integrator" in n for n in res.settings["notes"])
    # arrays do not carry their integrator: the truth says which one it assumed
    res = si.entropy_production(tr.x, 0.5, model=m, substeps=10, method="tur")
    assert any("integrator not recorded with the data: σ_Δt computed for 'euler_maruyama'" in n
               for n in res.settings["notes"])
    # a ratchet switch rate beyond the ground truth's reach is refused at construction
    with pytest.raises(ValueError, match=r"switch_rate must be within \[1e-12, 1e12\]"):
        si.models.FlashingRatchet(switch_rate=1e-20)
    assert si.models.FlashingRatchet(switch_rate=1e12).ep_per_step() >= 0
    # the ground truth's dt is checked by name
    with pytest.raises(TypeError, match="dt must be a real number"):
        m.snapshot_ep_rate("0.1")
    with pytest.raises(ValueError, match="dt must be > 0"):
        m.sampled_covariance(-0.1)
