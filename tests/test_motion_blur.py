"""Motion blur (methods.md §5.9.1): a frame averages the spot intensities of the
hidden states through its interval, checked against the numpy float64 reference
of test_movies; its noise is keyed by the frame; simulated blurred movies keep
the unblurred paths and truth."""
import numpy as np
import pytest

import stochinfer as si
from stochinfer.movies import bead_spring_layout, render
from stochinfer.movies import dataset as movie_dataset

from test_movies import _block_mean, reference_frame


@pytest.fixture(scope="module")
def fine_states():
    rng = np.random.default_rng(11)
    return np.cumsum(rng.normal(0, 0.7, size=(2, 3 * 4, 2)), axis=1)  # two movies, three frames of four states


def test_blurred_frame_is_the_mean_of_its_states_images(fine_states):
    layout = bead_spring_layout(scale=1.3, spot_std=1.1)
    out = render(fine_states, layout, blur=4, downsample=2, crop=(2, 4, 16, 30), quantize=False)
    assert out.shape == (2, 3, 8, 15)
    for m in range(2):
        for k in range(3):
            mean = np.mean([reference_frame(layout, x) for x in fine_states[m, 4 * k:4 * k + 4]], axis=0)
            np.testing.assert_allclose(out[m, k], _block_mean(mean[2:18, 4:34], 2), rtol=0, atol=2e-7)
    # a blurred frame is not any one of its states' images (the spots moved)
    assert np.abs(out[0, 0] - render(fine_states[0, :1], layout, downsample=2, crop=(2, 4, 16, 30),
                                     quantize=False)[0]).max() > 0.05


def test_blur_one_is_a_snapshot(fine_states):
    layout = bead_spring_layout()
    np.testing.assert_array_equal(render(fine_states, layout, blur=1), render(fine_states, layout))


def test_noise_is_keyed_by_frame_and_frames_count_frames(fine_states):
    layout = bead_spring_layout()
    kw = dict(read_noise=0.3, photons=50.0, seed=5, quantize=False)
    blurred = render(fine_states, layout, blur=4, **kw)
    clean = render(fine_states, layout, blur=4, quantize=False)
    # read noise alone: the blurred frame's noise is the snapshot movie's noise of the same frame
    read = render(fine_states, layout, blur=4, read_noise=0.3, seed=5, quantize=False) - clean
    snap = fine_states[:, ::4]
    np.testing.assert_allclose(read, render(snap, layout, read_noise=0.3, seed=5, quantize=False)
                               - render(snap, layout, quantize=False), atol=1e-5)
    picked = render(fine_states, layout, blur=4, frames=[[1, 2], [0, 0]], **kw)
    np.testing.assert_array_equal(picked[0], blurred[1, 2])
    np.testing.assert_array_equal(picked[1], blurred[0, 0])
    q = [render(fine_states, layout, blur=4, read_noise=0.3, photons=50.0, seed=5, n_threads=n) for n in (1, 3)]
    np.testing.assert_array_equal(q[0], q[1])


@pytest.mark.parametrize("kwargs,match", [
    (dict(blur=0), "blur must be >= 1"),
    (dict(blur=5), "blur=5 states per frame must divide the 12 states"),
    (dict(blur=4, frames=[[0, 3]]), r"frames\[0\] = \(0, 3\) is not a \(movie, frame\) pair"),
])
def test_bad_blur_is_refused(fine_states, kwargs, match):
    with pytest.raises(ValueError, match=match):
        render(fine_states, bead_spring_layout(), **kwargs)


def test_blurred_movies_keep_the_paths_and_truth():
    plain = si.movies.bead_spring_movies(3, 40, seed=7)
    blurred = si.movies.bead_spring_movies(3, 40, seed=7, motion_blur=True, quantize=False)
    np.testing.assert_array_equal(blurred.states, plain.states)
    assert blurred.dt == plain.dt and blurred.settings["render"]["blur"] == 10
    for key in ("substeps", "record_every", "dt_integration", "burn_in", "initial", "integrator"):
        assert blurred.settings[key] == plain.settings[key], key
    # the frames are the mean images of the 10 sub-steps of each interval, from the frame's state on
    m = si.models.BeadSpring(2)
    fine = si.simulate(m, 3, 40 * 10 - 1, 0.001, seed=7, burn_in=0)
    np.testing.assert_array_equal(fine.x[:, ::10], plain.states)
    layout = bead_spring_layout()
    for mv, k in ((0, 0), (2, 17), (1, 39)):
        mean = np.mean([reference_frame(layout, x) for x in fine.x[mv, 10 * k:10 * k + 10]], axis=0)
        np.testing.assert_allclose(blurred.frames[mv, k], mean, atol=2e-7)


def test_blurred_movies_in_chunks_are_one_movie_set(monkeypatch):
    whole = si.movies.elastic_network_movies(3, 6, seed=2, motion_blur=True, read_noise=0.1)
    monkeypatch.setattr(movie_dataset, "CHUNK_BYTES", 1)  # one movie per chunk
    chunked = si.movies.elastic_network_movies(3, 6, seed=2, motion_blur=True, read_noise=0.1)
    np.testing.assert_array_equal(chunked.frames, whole.frames)
    np.testing.assert_array_equal(chunked.states, whole.states)
    np.testing.assert_array_equal(whole.states, si.movies.elastic_network_movies(3, 6, seed=2).states)


def test_render_movies_of_sub_step_records():
    m = si.models.BeadSpring(2)
    fine = si.simulate(m, 2, 5 * 4 - 1, 0.0025, seed=1)
    mv = si.movies.render_movies(fine, bead_spring_layout(), blur=4)
    assert mv.frames.shape == (2, 5, 20, 40) and mv.dt == pytest.approx(0.01)
    np.testing.assert_array_equal(mv.states, fine.x[:, ::4])
    assert mv.settings["record_every"] == 4  # the truth's transitions span four integration steps


def test_motion_blur_options_are_checked():
    with pytest.raises(TypeError, match="motion_blur must be True or False"):
        si.movies.bead_spring_movies(1, 4, motion_blur=1)
    with pytest.raises(ValueError, match="pass motion_blur=True"):
        si.movies.bead_spring_movies(1, 4, blur=2)


def test_cneep_reads_blurred_movies_against_the_exposure_truth():
    mv = si.movies.bead_spring_movies(6, 40, seed=0, motion_blur=True)
    data = si.CNEEP()._as_data(mv, None, None, None)
    assert data.blur == 10 and data.substeps == 10  # ten integration steps per frame, each a record
    res = si.CNEEP(n_channel=4, n_iter=20, eval_every=10, batch=32, progress=False).fit(mv, seed=0)
    t, m = res.truth, si.models.BeadSpring(2)
    assert "snapshot_ep_rate" not in t and "optimal_loss" not in t and res.r2 is None
    assert t["exposure_mean_ep_rate"] == pytest.approx(m.exposure_ep_rates(0.01, 10)["exposure_mean_ep_rate"],
                                                       rel=1e-14)
    assert res.reference == t["exposure_mean_ep_rate"] and t["ep_rate"] == pytest.approx(m.ep_rate())
    assert any("motion-blurred frames (each the mean of 10 sub-step images)" in n for n in res.settings["notes"])
    assert "motion blur: exposure-mean positions show 2.973" in res.summary()
    part = si.movies.bead_spring_movies(6, 40, seed=0, motion_blur=True, beads=[1])  # the hot bead only
    res = si.CNEEP(n_channel=4, n_iter=20, eval_every=10, batch=32, progress=False, seq_len=3).fit(part, seed=0)
    # one drawn coordinate of a Gaussian process is reversible: its exposure means show nothing
    assert res.truth["exposure_mean_ep_rate"] == 0.0 and res.kind == "estimate"
    assert res.truth["exposure_span_ep_rate"] == pytest.approx(
        m.exposure_ep_rates(0.01, 10, seq_len=3)["exposure_span_ep_rate"], rel=1e-14)
    plain = si.CNEEP()._as_data(si.movies.bead_spring_movies(2, 8, seed=0), None, None, None)
    assert plain.blur == 1 and not any("motion-blurred" in n for n in plain.notes)


def _exposure_reference(A, D, dt, blur, seq_len, observed=None):
    """numpy float64: the EM sub-step chain (one step of dt/blur per record), its stationary
    covariance by the vectorised discrete Lyapunov equation, lag covariances by matrix
    powers, the window of exposure means, and the Gaussian KL of forward vs reversed."""
    d, h = A.shape[0], dt / blur
    M = np.eye(d) + h * A
    C = np.linalg.solve(np.eye(d * d) - np.kron(M, M), (2 * D * h).ravel()).reshape(d, d)
    R = lambda m: np.linalg.matrix_power(M, m) @ C if m >= 0 else (np.linalg.matrix_power(M, -m) @ C).T
    obs = np.arange(d) if observed is None else np.asarray(observed)
    G = lambda l: (sum(R(l * blur + i - j) for i in range(blur) for j in range(blur)) / blur**2)[np.ix_(obs, obs)]
    Sf = np.block([[G(p - q) for q in range(seq_len)] for p in range(seq_len)])
    Sr = np.block([[G(q - p) for q in range(seq_len)] for p in range(seq_len)])
    kl = 0.5 * (np.trace(np.linalg.solve(Sr, Sf)) - seq_len * obs.size)
    Cp = np.block([[C, R(1).T], [R(1), C]])
    Cr = np.block([[C, R(1)], [R(1).T, C]])
    step_kl = 0.5 * (np.trace(np.linalg.solve(Cr, Cp)) - 2 * d)
    return kl / ((seq_len - 1) * dt), step_kl * (seq_len * blur - 1) / ((seq_len - 1) * dt)


@pytest.mark.parametrize("blur,seq_len", [(2, 2), (5, 3), (10, 2)])
def test_exposure_ep_rates_match_a_numpy_reference(blur, seq_len):
    for m in (si.models.BeadSpring(2), si.models.BeadSpring(3, t_hot=4.0)):
        r = m.exposure_ep_rates(0.01, blur, seq_len)
        mean, span = _exposure_reference(m.A, m.D, 0.01, blur, seq_len)
        assert r["exposure_mean_ep_rate"] == pytest.approx(mean, rel=1e-9)
        assert r["exposure_span_ep_rate"] == pytest.approx(span, rel=1e-9)
        # data processing: σ_Δt (snapshots) < exposure means <= the spanned path
        assert m.snapshot_ep_rate(0.01, substeps=blur) < r["exposure_mean_ep_rate"] <= r["exposure_span_ep_rate"]


def test_exposure_ep_rates_of_drawn_coordinates_and_of_equilibrium():
    m = si.models.BeadSpring(3, t_hot=10.0)
    r = m.exposure_ep_rates(0.01, 10, observed=[0, 1])  # beads 0 and 1 drawn, bead 2 hidden
    mean, span = _exposure_reference(m.A, m.D, 0.01, 10, 2, observed=[0, 1])
    assert r["exposure_mean_ep_rate"] == pytest.approx(mean, rel=1e-9)
    assert r["exposure_span_ep_rate"] == pytest.approx(span, rel=1e-9)
    assert r["exposure_mean_ep_rate"] > m.ep_rate()  # even partial blurred frames can show more than σ
    assert r["exposure_mean_ep_rate"] < m.exposure_ep_rates(0.01, 10)["exposure_mean_ep_rate"]
    for eq in (si.models.LinearOU(-np.eye(2), np.eye(2)), si.models.BeadSpring(2, t_hot=1.0)):
        assert eq.exposure_ep_rates(0.01, 10) == {"exposure_mean_ep_rate": 0.0, "exposure_span_ep_rate": 0.0}
    with pytest.raises(ValueError, match="observed must list coordinates"):
        m.exposure_ep_rates(0.01, 10, observed=[3])


def test_cneep_on_partial_or_equilibrium_blurred_movies():
    kw = dict(n_channel=4, n_iter=20, eval_every=10, batch=32, progress=False)
    m = si.models.BeadSpring(3, t_hot=10.0)
    layout = si.movies.bead_spring_layout(3, beads=[0, 1])
    fine = si.simulate(m, 6, 40 * 10 - 1, 0.001, seed=0)
    res = si.CNEEP(**kw).fit(si.movies.render_movies(fine, layout, blur=10), seed=0)
    # not a lower bound on σ (blurred frames can show more); the reference is the drawn beads' exposure means
    assert res.kind == "estimate"
    assert res.reference == pytest.approx(m.exposure_ep_rates(0.01, 10, observed=[0, 1])["exposure_mean_ep_rate"])
    cropped = si.movies.bead_spring_movies(6, 40, seed=0, motion_blur=True, crop=(0, 0, 20, 20))
    assert "exposure_mean_ep_rate" not in si.CNEEP(**kw).fit(cropped, seed=0).truth  # a crop: no exact lower truth
    eq = si.movies.bead_spring_movies(6, 40, seed=0, t_hot=1.0, motion_blur=True)
    out = si.CNEEP(**kw).fit(eq, seed=0)
    assert out.truth["exposure_mean_ep_rate"] == 0.0 and "(absolute)" in out.summary()


@pytest.mark.parametrize("method", ["euler_maruyama", "heun", "exact"])
def test_exposure_ep_rates_without_blur_are_the_snapshot_rate(method):
    m, substeps = si.models.BeadSpring(2), 1 if method == "exact" else 10
    sigma_dt = m.snapshot_ep_rate(0.01, substeps=substeps, method=method)
    for seq_len in (2, 3):  # a Markov chain: each extra frame adds one pair's KL
        r = m.exposure_ep_rates(0.01, 1, seq_len, substeps=substeps, method=method)
        assert r["exposure_mean_ep_rate"] == pytest.approx(sigma_dt, rel=1e-9)
        assert r["exposure_span_ep_rate"] == pytest.approx(sigma_dt, rel=1e-12)


def test_exposure_mean_irreversibility_matches_simulation():
    # the antisymmetric part of Cov(X̄_{k+1}, X̄_k) carries the blurred pairs' irreversibility: simulated
    # exposure means of the movies' own sub-step paths against the lag covariances behind the rates
    m, b, n_traj, n_frames = si.models.BeadSpring(2), 10, 200, 2000
    fine = si.simulate(m, n_traj, n_frames * b - 1, 0.001, seed=4)
    xbar = fine.x.reshape(n_traj, n_frames, b, 2).mean(axis=2)
    anti = (xbar[:, 1:, 0] * xbar[:, :-1, 1] - xbar[:, 1:, 1] * xbar[:, :-1, 0]).mean(axis=1)  # per path
    h, M = 0.001, np.eye(2) + 0.001 * m.A
    C = np.linalg.solve(np.eye(4) - np.kron(M, M), (2 * m.D * h).ravel()).reshape(2, 2)
    G1 = sum(np.linalg.matrix_power(M, b + i - j) @ C for i in range(b) for j in range(b)) / b**2
    expected = G1[0, 1] - G1[1, 0]
    se = anti.std(ddof=1) / np.sqrt(n_traj)
    assert abs(anti.mean() - expected) < 4 * se
    assert abs(expected) > 10 * se  # the test can tell irreversible from reversible


def test_exposure_ep_rates_refuse_bad_input():
    m = si.models.BeadSpring(2)
    with pytest.raises(ValueError, match="blur must be >= 1"):
        m.exposure_ep_rates(0.01, 0)
    with pytest.raises(ValueError, match="seq_len must be >= 2"):
        m.exposure_ep_rates(0.01, 2, seq_len=1)
    for kwargs, name in ((dict(blur=2.5), "blur"), (dict(blur=2, seq_len=3.9), "seq_len"),
                         (dict(blur=2, substeps=2.7), "substeps")):  # were truncated silently
        with pytest.raises(TypeError, match=f"{name} must be an integer"):
            m.exposure_ep_rates(0.01, **kwargs)
    with pytest.raises(TypeError, match="substeps must be an integer"):
        m.snapshot_ep_rate(0.01, 2.7)
    with pytest.raises(ValueError, match="dt must be > 0"):
        m.exposure_ep_rates(-0.01, 2)
