"""Movie renderer (methods.md §5.9.1) against an independent numpy float64
reference: pixel-integrated Gaussian spots, peak normalisation, downsampling as
block means, crops, 8-bit quantisation, keyed pixel noise and its statistics."""
import importlib
import math

import numpy as np
import pytest

import stochinfer as si
from stochinfer.movies import SpotLayout, bead_spring_layout, render

_erf = np.vectorize(math.erf)


def _phi(z):
    return 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))


def reference_frame(layout: SpotLayout, x: np.ndarray) -> np.ndarray:
    """Full-resolution float64 intensity: each pixel integrates every spot over its square."""
    w = layout.spot_std
    peak = (_phi(0.5 / w) - _phi(-0.5 / w)) ** 2
    rows = np.arange(layout.height)[:, None]
    cols = np.arange(layout.width)[None, :]
    img = np.zeros((layout.height, layout.width))
    for s in range(layout.n_spots):
        rc = layout.base[s, 0] + layout.jacobian[s, 0] @ x
        cc = layout.base[s, 1] + layout.jacobian[s, 1] @ x
        gy = _phi((rows + 0.5 - rc) / w) - _phi((rows - 0.5 - rc) / w)
        gx = _phi((cols + 0.5 - cc) / w) - _phi((cols - 0.5 - cc) / w)
        img += gy * gx / peak
    return img


def _block_mean(img: np.ndarray, f: int) -> np.ndarray:
    h, w = img.shape
    return img.reshape(h // f, f, w // f, f).mean(axis=(1, 3))


@pytest.fixture(scope="module")
def states():
    rng = np.random.default_rng(3)
    return rng.normal(0, [1.2, 2.4], size=(3, 7, 2))  # three movies of seven frames, bead-spring scale


def test_matches_numpy_reference(states):
    layout = bead_spring_layout(scale=1.7, spot_std=1.3)
    out = render(states, layout, quantize=False)
    assert out.shape == (3, 7, 20, 40) and out.dtype == np.float32
    for m in range(3):
        for t in range(7):
            np.testing.assert_allclose(out[m, t], reference_frame(layout, states[m, t]), rtol=0, atol=2e-7)


def test_general_layout_two_dimensional_motion():
    # spots moving in both directions and driven by several coordinates, tails leaving the frame
    layout = SpotLayout(12, 9, [[3.0, 2.0], [8.0, 7.5]], [[[1.0, 0.5, 0], [0, -1.0, 2]], [[0.3, 0, 1], [1, 1, 1]]],
                        spot_std=0.8)
    x = np.array([[0.4, -1.3, 2.2], [-3.0, 0.1, 0.7]])
    out = render(x, layout, quantize=False)
    for t in range(2):
        np.testing.assert_allclose(out[t], reference_frame(layout, x[t]), rtol=0, atol=2e-7)


def test_pixel_centred_spot_peaks_at_one_and_mass_is_one_over_peak():
    layout = SpotLayout(21, 21, [[10.0, 10.0]], [[[0.0], [0.0]]], spot_std=1.0)
    img = render(np.zeros((1, 1)), layout, quantize=False)[0]
    assert img.max() == pytest.approx(1.0, abs=1e-7) and img[10, 10] == img.max()
    peak = (_phi(0.5) - _phi(-0.5)) ** 2
    assert img.sum() * peak == pytest.approx(1.0, abs=1e-6)  # 10 px ≥ 10 std from the spot: no mass lost
    assert render(np.zeros((1, 1)), layout)[0][10, 10] == 255


@pytest.mark.parametrize("f", [2, 4, 5])
def test_downsampling_is_the_block_mean(states, f):
    layout = bead_spring_layout()
    fine = render(states, layout, quantize=False).astype(np.float64)
    coarse = render(states, layout, downsample=f, quantize=False)
    assert coarse.shape == (3, 7, 20 // f, 40 // f)
    for m in range(3):
        for t in range(7):
            np.testing.assert_allclose(coarse[m, t], _block_mean(fine[m, t], f), rtol=0, atol=2e-7)


def test_quantisation_rounds_half_up_and_clips(states):
    layout = bead_spring_layout(spot_std=0.4)  # narrow spots: intensities above 1 where two pixels share a spot
    x = states.copy()
    x[0, 0] = [3.0, -0.5]
    flt = render(x, layout, quantize=False).astype(np.float64)
    u8 = render(x, layout)
    assert u8.dtype == np.uint8
    np.testing.assert_array_equal(u8, np.clip(np.floor(255 * flt + 0.5), 0, 255).astype(np.uint8))


def test_crop_and_frame_selection_see_the_same_pixels_and_noise(states):
    layout = bead_spring_layout()
    kw = dict(read_noise=0.2, photons=40.0, seed=5)
    full = render(states, layout, downsample=2, **kw)
    cropped = render(states, layout, downsample=2, crop=(4, 20, 12, 20), **kw)
    np.testing.assert_array_equal(cropped, full[:, :, 2:8, 10:20])
    pairs = np.array([[2, 6], [0, 3], [2, 6]])
    picked = render(states, layout, downsample=2, frames=pairs, **kw)
    np.testing.assert_array_equal(picked, full[pairs[:, 0], pairs[:, 1]])
    assert not np.array_equal(full, render(states, layout, downsample=2, **{**kw, "seed": 6}))


def test_same_frames_on_any_thread_count(states):
    layout = bead_spring_layout()
    big = np.repeat(states, 40, axis=1)  # 280 frames per movie: several work chunks
    a = render(big, layout, read_noise=0.1, photons=20.0, n_threads=1)
    b = render(big, layout, read_noise=0.1, photons=20.0, n_threads=3)
    np.testing.assert_array_equal(a, b)


def test_read_noise_statistics():
    layout = bead_spring_layout()
    x = np.zeros((1, 500, 2))
    clean = render(x, layout, quantize=False).astype(np.float64)
    noisy = render(x, layout, quantize=False, read_noise=0.3, seed=2).astype(np.float64)
    res = (noisy - clean).ravel()  # 400 000 normals of std 0.3
    n = res.size
    assert abs(res.mean()) < 4 * 0.3 / math.sqrt(n)
    assert abs(res.var() - 0.09) < 4 * 0.09 * math.sqrt(2 / n)
    # neighbouring pixels and consecutive frames independent
    r = res.reshape(500, 20, 40)
    for a, b in ((r[:, :, 1:], r[:, :, :-1]), (r[1:], r[:-1])):
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 4 / math.sqrt(a.size)


@pytest.mark.parametrize("photons", [30.0, 2000.0])  # exact inversion, then the normal approximation
def test_shot_noise_is_poisson_at_the_spot_peak(photons):
    layout = SpotLayout(21, 21, [[10.0, 10.0]], [[[0.0], [0.0]]])
    n = 20000
    img = render(np.zeros((1, n, 1)), layout, quantize=False, photons=photons, seed=9).astype(np.float64)
    counts = img[0, :, 10, 10] * photons
    np.testing.assert_allclose(counts, np.round(counts), atol=photons * 1e-6)  # whole photon counts
    lam = photons  # the peak pixel has intensity 1
    assert abs(counts.mean() - lam) < 4 * math.sqrt(lam / n)
    # variance of the sample variance of a Poisson: (λ + 2λ²)/n, close to 2λ²/n
    assert abs(counts.var(ddof=1) - lam) < 4 * math.sqrt((lam + 2 * lam**2) / n)
    dim = img[0, :, 10, 13] * photons  # 3 px off centre: a small mean where inversion is exact
    lam_dim = float(render(np.zeros((1, 1)), layout, quantize=False)[0, 10, 13]) * photons
    assert abs(dim.mean() - lam_dim) < 4 * math.sqrt(lam_dim / n)


def test_trajectories_and_two_dimensional_states():
    traj = si.simulate(si.models.BeadSpring(2), 2, 5, 0.01, seed=0)
    layout = bead_spring_layout()
    np.testing.assert_array_equal(render(traj, layout), render(traj.x, layout))
    np.testing.assert_array_equal(render(traj.x[1], layout), render(traj.x, layout)[1])


def test_partial_observation_layouts():
    full = bead_spring_layout()
    cold = bead_spring_layout(beads=[0])
    x = np.array([[0.3, 1.0]])
    img_full = render(x, full, quantize=False)
    img_cold = render(x, cold, quantize=False)
    assert img_cold.shape == img_full.shape
    np.testing.assert_allclose(img_cold[0], reference_frame(cold, x[0]), atol=2e-7)
    # the cold half only, as a field of view
    half = render(x, full, crop=(0, 0, 20, 20), quantize=False)
    assert half.shape == (1, 20, 20)
    np.testing.assert_array_equal(half, img_full[:, :, :20])


@pytest.mark.parametrize("kwargs,match", [
    (dict(downsample=3), "downsample=3 must divide"),
    (dict(downsample=0), "downsample must be >= 1"),
    (dict(crop=(0, 30, 20, 20)), "must lie inside"),
    (dict(crop=(1, 0, 4, 4), downsample=2), "multiples of downsample"),
    (dict(crop=(0, 0, 4)), r"crop must be \(row, col, height, width\)"),
    (dict(photons=-1.0), "photons must be > 0"),
    (dict(read_noise=float("nan")), "read_noise must be finite"),
    (dict(frames=[[0, 9]]), r"frames\[0\]"),
    (dict(frames=[0, 1]), "frames must have shape"),
    (dict(seed=-1), "seed must be >= 0"),
])
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        render(np.zeros((1, 3, 2)), bead_spring_layout(), **kwargs)


def test_bad_states_and_layouts_are_refused():
    layout = bead_spring_layout()
    with pytest.raises(ValueError, match="NaN or inf"):
        render(np.array([[np.nan, 0.0]]), layout)
    with pytest.raises(ValueError, match=r"states must be \(n_movies, n_frames, 2\)"):
        render(np.zeros((2, 3, 5)), layout)
    with pytest.raises(TypeError, match="layout must be a SpotLayout"):
        render(np.zeros((2, 2)), "bead_spring")
    with pytest.raises(ValueError, match="spot_std must be > 0"):
        bead_spring_layout(spot_std=0)
    with pytest.raises(ValueError, match="beads must be distinct"):
        bead_spring_layout(beads=[0, 0])
    with pytest.raises(ValueError, match="jacobian must have shape"):
        SpotLayout(5, 5, [[1, 1]], np.zeros((2, 2, 1)))
    with pytest.raises(ValueError, match="base must have shape"):
        SpotLayout(5, 5, [1, 1], np.zeros((1, 2, 1)))


def test_output_too_large_is_refused_before_allocating(monkeypatch):
    monkeypatch.setattr(si._validate, "available_memory_bytes", lambda: 10_000)
    with pytest.raises(si.OutputTooLargeError, match="render fewer frames"):
        render(np.zeros((1, 100, 2)), bead_spring_layout())


def test_rendering_working_memory_counts_against_the_memory_check(monkeypatch):
    """One 4000 × 4000 frame: a 16 MB uint8 output, but each thread also holds a 128 MB double image
    (a 16000² frame ended in std::bad_alloc under a memory limit)."""
    layout = SpotLayout(4000, 4000, [[2000.0, 2000.0]], [[[1.0], [0.0]]])
    monkeypatch.setattr(si._validate, "available_memory_bytes", lambda: 100 * 2**20)
    with pytest.raises(si.OutputTooLargeError, match="GiB of working memory"):
        render(np.zeros((1, 1, 1)), layout, n_threads=1)


def test_shot_noise_of_pixels_sharing_a_key_block_is_independent():
    # a 1 × 4 frame: column 0 below the exact-inversion limit, columns 1-3 above it; four pixel keys
    # share one Philox block, so one stream for both regimes would correlate neighbours (r ≈ −0.7)
    layout = SpotLayout(1, 4, [[0.0, 2.0]], [[[0.0], [0.0]]])
    n, photons = 20000, 2000.0
    lam = render(np.zeros((1, 1, 1)), layout, quantize=False)[0, 0, 0].astype(np.float64) * photons
    assert lam[0] < si._core.POISSON_EXACT_BELOW <= lam[1]
    img = render(np.zeros((1, n, 1)), layout, quantize=False, photons=photons, seed=9)[0, :, 0].astype(np.float64)
    for a, b in ((0, 1), (0, 3), (1, 2)):
        assert abs(np.corrcoef(img[:, a], img[:, b])[0, 1]) < 4 / math.sqrt(n)


def test_shot_noise_has_no_saturated_outliers():
    # key 69916462 of (seed 0, movie 0) draws the largest 31-bit word, which a float32 uniform rounds to
    # exactly 1: inversion then returned λ + 40√λ + 40 photons (290 at λ = 30)
    width = 4096
    t, col = divmod(69916462, width)
    layout = SpotLayout(1, width, [[0.0, width / 2]], [[[0.0], [0.0]]], spot_std=1e5)  # flat, intensity ≈ 1
    img = render(np.zeros((1, t + 1, 1)), layout, frames=[[0, t]], photons=30.0, quantize=False, seed=0)[0, 0]
    lam = float(render(np.zeros((1, 1)), layout, quantize=False)[0, 0, col]) * 30.0
    assert img[col] * 30.0 < lam + 10 * math.sqrt(lam)


def test_movie_offset_and_seeds_key_the_noise(states):
    layout = bead_spring_layout()
    full = render(states, layout, read_noise=0.2, seed=4)
    np.testing.assert_array_equal(render(states[1:], layout, read_noise=0.2, seed=4, movie_offset=1), full[1:])
    a = si.movies.bead_spring_movies(2, 5, seed=1, read_noise=0.2)
    b = si.movies.bead_spring_movies(2, 5, seed=2, read_noise=0.2)
    clean_a = render(a.states, layout)
    clean_b = render(b.states, layout)
    assert not np.array_equal(a.frames.astype(int) - clean_a, b.frames.astype(int) - clean_b)


def test_movies_are_checked():
    mv = si.movies.bead_spring_movies(2, 6, seed=0)
    with pytest.raises(ValueError, match="one hidden state per frame"):
        si.movies.Movies(mv.frames, 0.01, mv.states[:, :5])
    with pytest.raises(ValueError, match="dt must be > 0"):
        si.movies.Movies(mv.frames, -1.0)
    with pytest.raises(ValueError, match="frames must be an array"):
        si.movies.Movies(mv.frames[0], 0.01)
    traj = si.simulate(si.models.BeadSpring(2), 1, 4, 0.01)
    with pytest.raises(ValueError, match="renders every frame"):
        si.movies.render_movies(traj, bead_spring_layout(), frames=[[0, 1]])
    with pytest.raises(TypeError, match="frames must be integer"):
        render(np.zeros((1, 3, 2)), bead_spring_layout(), frames=[[0.7, 1.9]])


def test_spot_widths_and_read_noise_that_overflow_the_renderer_are_refused():
    """(review) spot_std=1e300 gave NaN frames (the spot integrals are differences of erfc near 1:
    about 3e-16·spot_std relative error), read_noise=1e300 inf float32 frames."""
    x = np.zeros((1, 2, 2))
    wide = SpotLayout(8, 8, np.array([[3.2, 4.7]]), np.zeros((1, 2, 2)), spot_std=1e8)  # the widest allowed
    f = render(x, wide, quantize=False)
    np.testing.assert_allclose(f, 1.0, rtol=1e-6)  # a uniform haze at the peak value, still exact
    for std in (1.0000001e8, 1e16, 1e300):
        with pytest.raises(ValueError, match=r"spot_std must be <= 1e\+08 pixels, got .*NaN frames"):
            bead_spring_layout(spot_std=std)
    layout = bead_spring_layout()
    top = importlib.import_module("stochinfer.movies.render").MAX_FLOAT_READ_NOISE  # (the name is the function)
    assert np.isfinite(render(x, layout, read_noise=top, quantize=False)).all()
    for noise in (top * 1.001, 1e300):
        with pytest.raises(ValueError, match=r"read_noise=.* overflows the float32 frames of quantize=False.*"
                                             r"pass read_noise <= 4\.25e\+37 .* or quantize=True"):
            render(x, layout, read_noise=noise, quantize=False)
    assert render(x, layout, read_noise=1e300).dtype == np.uint8  # clipped to 0 or 255: no overflow
