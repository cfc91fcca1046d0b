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
    monkeypatch.setattr(movie_dataset, "BLUR_CHUNK_BYTES", 1)  # one movie per chunk
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


def test_cneep_notes_blurred_frames():
    mv = si.movies.bead_spring_movies(2, 8, seed=0, motion_blur=True)
    data = si.CNEEP()._as_data(mv, None, None, None)
    assert any("motion-blurred frames (each the mean of 10 sub-step images)" in n for n in data.notes)
    assert data.substeps == 10  # the truth between frame states: ten integration steps
    plain = si.CNEEP()._as_data(si.movies.bead_spring_movies(2, 8, seed=0), None, None, None)
    assert not any("motion-blurred" in n for n in plain.notes)
