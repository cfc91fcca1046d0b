"""Missing frames (NaN, as tracking software marks a lost particle): stochinfer.split_at_gaps
cuts trajectories there into tracks, infer_langevin(gaps='split') does it itself, and
without it NaN is an error that names the fix."""
import re
import warnings

import numpy as np
import pytest

import stochinfer as si
from stochinfer.langevin import TrainSettings
from stochinfer.langevin.data import as_langevin_data

SHORT = dict(hidden=16, progress=False, drift_settings=TrainSettings(n_iter=80),
             diffusion_settings=TrainSettings(n_iter=60))


def _runs_by_loop(trajectories, min_length):
    """(track, source, first) of each run of frames without NaN, by a plain loop."""
    out = []
    for k, a in enumerate(trajectories):
        start = None
        for i in range(len(a) + 1):
            ok = i < len(a) and not np.isnan(a[i]).any()
            if ok and start is None:
                start = i
            elif not ok and start is not None:
                if i - start >= min_length:
                    out.append((a[start:i], k, start))
                start = None
    return out


def _gappy(n_traj=3, length=200, dim=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_traj, length, dim)).cumsum(axis=1)
    x[0, :3] = np.nan                   # a gap at the start
    x[0, 50, -1] = np.nan               # one component of one frame
    x[0, 52:55] = np.nan                # a run of one frame between gaps (frame 51) and a longer gap
    x[1, -1] = np.nan                   # a gap at the end
    x[2, rng.choice(length, 20, replace=False)] = np.nan
    return x


@pytest.mark.parametrize("min_length", [1, 2, 5])
def test_split_at_gaps_matches_a_plain_loop(min_length):
    x = _gappy()
    tracks, source, first = si.split_at_gaps(x, min_length=min_length, return_starts=True)
    expected = _runs_by_loop(x, min_length)
    assert len(tracks) == len(expected)
    for track, k, i, (want, k_want, i_want) in zip(tracks, source, first, expected):
        assert (k, i) == (k_want, i_want)
        np.testing.assert_array_equal(track, want)
        assert np.shares_memory(track, x)  # views, not copies
    # a list of tracks of different lengths: the same runs per track
    as_list = [x[0], x[1, :150], x[2, 7:]]
    tracks, source, first = si.split_at_gaps(as_list, min_length=min_length, return_starts=True)
    expected = _runs_by_loop(as_list, min_length)
    assert [(k, i) for k, i in zip(source, first)] == [(k, i) for _, k, i in expected]
    # one trajectory (L, dim); no missing frame: the trajectories themselves
    assert [t.shape for t in si.split_at_gaps(x[1])] == [(199, 2)]
    clean = np.ones((2, 10, 1))
    assert [t.shape for t in si.split_at_gaps(clean)] == [(10, 1), (10, 1)]


def test_masked_values_are_missing_frames():
    x = _gappy()
    masked = np.ma.masked_invalid(x)
    masked.data[np.isnan(x)] = 123.0  # what lies under the mask is never read
    for a, b in zip(si.split_at_gaps(masked), si.split_at_gaps(x)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("data,kwargs,error,match", [
    (np.array([[0.0], [np.inf], [1.0]]), {}, ValueError, r"trajectory 0 holds inf at point 1; inf is not a missing "),
    (np.zeros((2, 5, 1), dtype=int), {}, TypeError, "trajectory 0 is int64; missing frames are NaN"),
    (np.zeros(5), {}, ValueError, r"for one trajectory of a 1-D state pass data\[:, None\]"),
    ([np.zeros((4, 1)), np.zeros(3)], {}, ValueError, r"track 1 has shape \(3,\): for 1-D states"),
    (np.full((1, 4, 1), np.nan), {}, ValueError, "no run of 2 consecutive frames without NaN"),
    (np.zeros((4, 1)), dict(min_length=0), ValueError, "min_length must be a positive integer"),
    ([], {}, ValueError, "data is an empty list"),
    ("x.npy", {}, TypeError, "got str"),
])
def test_split_at_gaps_rejects_bad_input(data, kwargs, error, match):
    with pytest.raises(error, match=match):
        si.split_at_gaps(data, **kwargs)


def test_nan_errors_name_the_fix_for_each_estimator():
    x = _gappy()
    with pytest.raises(ValueError, match=r"data contains NaN \(first at index \(0, 0, 0\)\); missing frames\? pass "
                                         r"gaps='split'"):
        si.infer_langevin(x, dt=0.01, **SHORT)
    with pytest.raises(ValueError, match=r"track 0 contains NaN \(first at point 0\); missing frames\? pass "
                                         r"gaps='split'"):
        si.infer_langevin([x[0], x[1, :100]], dt=0.01, **SHORT)
    for data in (x, [x[0], x[1, :100]]):
        with pytest.raises(ValueError, match=r"missing frames\? stochinfer.split_at_gaps\(data\) cuts"):
            si.entropy_production(data, 0.01, method="tur")
    y = np.zeros((1, 10, 1))
    y[0, 4] = np.inf
    with pytest.raises(ValueError, match=r"data contains NaN or inf \(first at index \(0, 4, 0\)\); remove those"):
        si.infer_langevin(y, dt=0.01, gaps="split", **SHORT)
    with pytest.raises(ValueError, match="gaps must be one of"):
        si.infer_langevin(y, dt=0.01, gaps="interpolate", **SHORT)


def test_gaps_split_fits_as_the_tracks_between_the_gaps():
    """infer_langevin(gaps='split') is the fit of split_at_gaps' tracks, run for run (the same
    pieces, the same rows, the same networks), and a note counts what was missing."""
    m = si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), 0.5 * np.eye(2))
    x = si.simulate(m, 2, 3000, 0.01, seed=3).x
    x[0, 700:703] = np.nan
    x[0, 1500, 1] = np.nan
    x[1, 2000:2010] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = si.infer_langevin(x, dt=0.01, gaps="split", **SHORT)
    ref = si.infer_langevin([np.array(t) for t in si.split_at_gaps(x, min_length=2)], dt=0.01, **SHORT)
    pts = np.random.default_rng(0).normal(size=(50, 2))
    np.testing.assert_array_equal(fit.drift(pts).mean, ref.drift(pts).mean)
    np.testing.assert_array_equal(fit.diffusion(pts).mean, ref.diffusion(pts).mean)
    assert "gaps='split': 14 missing frames (NaN) in 3 gaps; the 2 trajectories cut there into 5 tracks" in fit.notes
    assert fit.options["gaps"] == "split" and ref.options["gaps"] == "error"
    assert fit.provenance()["gaps"] == "split" and ref.provenance()["gaps"] == "error"


def test_review_findings_on_gaps(recwarn):
    """(review, session 33) Runs of one length are still tracks (every 4th frame lost: runs of 3
    points, validated on whole tracks, not 'too few points per trajectory'); a glitch is named
    in the user's record, not in the cut tracks; masked tracks in a list are refused unless
    split; nested lists and Trajectories are split as the arrays they hold."""
    m = si.models.LinearOU(-np.eye(2), 0.5 * np.eye(2))
    x = si.simulate(m, 3, 2000, 0.01, seed=3).x
    q = x[:2, :600].copy()
    q[:, ::4] = np.nan
    d = as_langevin_data(q, 0.01, "overdamped", val_fraction=0.2, gaps="split")
    assert d.x.shape == (300, 3, 2) and d.split_by_trajectory
    si.infer_langevin(q, dt=0.01, gaps="split", **SHORT)
    y = x.copy()
    y[0, 100:103] = y[0, 500] = y[1, 0:4] = np.nan
    y[1, 1000, 0] += 5.0
    with pytest.warns(UserWarning, match=r"looks like a glitched frame \(first: trajectory 1, point 1000\)"):
        d = as_langevin_data(y, 0.01, "overdamped", val_fraction=0.2, gaps="split")
    assert [d.track_source[d.tracks[p]] for p, _ in d.glitched] == [1] * len(d.glitched)
    masked = np.ma.masked_array(x[0].copy(), mask=False)
    masked.mask[100:110] = True
    masked.data[100:110] = 5.0
    for call in (lambda: si.infer_langevin([masked, x[1, :700]], dt=0.01, **SHORT),
                 lambda: si.entropy_production([masked, x[1, :700]], 0.01, method="tur")):
        with pytest.raises(TypeError, match=r"track 0 is a numpy masked array \(20 masked values\)"):
            call()
    fit = si.infer_langevin([masked, x[1, :700]], dt=0.01, gaps="split", **SHORT)
    assert fit.notes[0] == "gaps='split': 10 missing frames (NaN or masked) in 1 gap; the 2 tracks cut there into 3 tracks"
    z = x[0].copy()
    z[10] = np.nan
    assert [t.shape for t in si.split_at_gaps(z.tolist())] == [(10, 2), (1990, 2)]
    traj = si.simulate(m, 2, 300, 0.01, seed=3)
    traj.x[0, 50] = np.nan
    assert [t.shape for t in si.split_at_gaps(traj)] == [(50, 2), (250, 2), (301, 2)]
    with pytest.warns(UserWarning, match=r"read as one trajectory of 5 points in 40 dimensions"):
        si.split_at_gaps(np.ones((5, 40)))


def test_driven_runs_start_where_they_lie_in_their_trajectory():
    """Time-dependent fits: each track's times are its frames' times in the trajectory it was
    cut from (t0 of that trajectory + frame × dt), for arrays, lists of tracks and Trajectories."""
    x = _gappy(n_traj=3, length=300, dim=1, seed=1)
    t0 = np.array([10.0, 20.0, 30.0])
    found = []
    for data, kw, starts in ((x, dict(t0=t0), t0), (list(x), dict(t0=t0), t0),
                             (si.Trajectories(data=x, dt=0.5, t0=10.0), {}, np.full(3, 10.0))):
        d = as_langevin_data(data, 0.5, "overdamped", time_dependent=True, gaps="split", **kw)
        for piece, times in zip(d.x, d.t):
            k, i = np.argwhere(x[..., 0] == piece[0, 0])[0]  # random-walk values are distinct
            np.testing.assert_array_equal(piece, x[k, i:i + piece.shape[0]])
            np.testing.assert_allclose(times, starts[k] + 0.5 * (i + np.arange(piece.shape[0])))
        found.append(d.x.shape)
    assert found[0] == found[1] == found[2]
    # validation holds out whole trajectories when there are 5: no trajectory on both sides of a gap
    six = si.simulate(si.models.LinearOU(-np.eye(1), np.eye(1)), 6, 1000, 0.01, seed=3).x
    six[:, 500] = np.nan
    d = as_langevin_data(six, 0.01, "overdamped", time_dependent=True, t0=0.0, gaps="split")
    assert np.array_equal(d.split_units, d.track_source[d.tracks]) and np.unique(d.split_units).size == 6
    fit = si.infer_langevin(six, dt=0.01, gaps="split", time_dependent=True, t0=0.0, **SHORT)
    assert any(n.startswith("validation on 1 of 6 trajectories (with their tracks cut at gaps), held out whole")
               for n in fit.notes), fit.notes
    with pytest.warns(UserWarning, match="every trajectory is taken to start at t = 0 \\(each track cut at a gap"):
        as_langevin_data(x, 0.5, "overdamped", time_dependent=True, gaps="split")


def test_split_gaps_keep_the_diffusion_where_interpolation_lowers_it():
    """An OU process with gaps of 1-6 frames every 10-40 frames (about an eighth missing): cut
    at the gaps, the fitted D matches the whole record's within three standard errors of a
    variance from the split fit's training rows (√(2/n)); linearly interpolated, the
    increments across a gap of g frames carry 1/(g + 1) of its variance and D comes out low
    (the rows in interpolated stretches, about a sixth, lose 1 − E[1/(g + 1)²] of theirs)."""
    m = si.models.LinearOU(-np.eye(1), 0.5 * np.eye(1))
    x = si.simulate(m, 1, 20_000, 0.01, seed=5).x[0]
    rng = np.random.default_rng(6)
    gappy = x.copy()
    i = 5
    while i < len(x) - 10:
        g = int(rng.integers(1, 7))
        gappy[i:i + g] = np.nan
        i += g + int(rng.integers(10, 41))
    ok = ~np.isnan(gappy[:, 0])
    filled = gappy.copy()
    filled[~ok, 0] = np.interp(np.flatnonzero(~ok), np.flatnonzero(ok), gappy[ok, 0])
    kw = dict(SHORT, homogeneous_diffusion=True, diffusion_settings=TrainSettings(n_iter=400))
    fits = {}
    for name, a, extra in (("whole", x, {}), ("split", gappy, dict(gaps="split")), ("filled", filled, {})):
        fits[name] = float(si.infer_langevin(a, dt=0.01, **kw, **extra).diffusion(np.zeros((1, 1))).mean[0, 0, 0])
    d = as_langevin_data(gappy, 0.01, "overdamped", gaps="split")
    n_train = int(round(0.8 * d.n_traj * (d.length - 1)))
    se = np.sqrt(2 / n_train)
    assert abs(fits["split"] / fits["whole"] - 1) < 3 * se, (fits, se)
    assert fits["filled"] / fits["whole"] < 1 - 3 * se, (fits, se)


def _ou(n, rng):
    x = np.empty(n)
    x[0] = rng.normal()
    for i in range(1, n):
        x[i] = 0.99 * x[i - 1] + np.sqrt(0.02) * rng.normal()
    return x[:, None]


def _dense_gaps(a, rng):
    a = a.copy()
    i = int(rng.integers(5, 15))
    while i < len(a):
        g = int(rng.integers(1, 6))
        a[i:i + g] = np.nan
        i += g + int(rng.integers(5, 15))
    return a


def test_second_review_findings_on_gaps(monkeypatch):
    """(review, session 33) Glitches next to a gap are found (they set D to 0.29 of the truth);
    equal short tracks, as split_at_gaps may return, validate on whole tracks instead of failing;
    whole source trajectories that miss val_fraction give way to their tracks; out-of-bag blocks
    follow the validation's units."""
    rng = np.random.default_rng(1)
    x = np.stack([_dense_gaps(_ou(500, rng), rng) for _ in range(6)])
    runs, source, first = si.split_at_gaps(x, return_starts=True)
    y = x.copy()
    for r in range(0, 30, 3):
        y[source[r], first[r] + len(runs[r]) - 2] += 30.0  # the frame before a gap's last
    with pytest.warns(UserWarning, match=r"10 points look like glitched frames \(first: trajectory 0"):
        fit = si.infer_langevin(y, 0.01, gaps="split", **SHORT)
    # two rows each, but for rows in a track's remainder after its last piece, not used anyway
    assert any(n.endswith("rows using 10 glitched frame(s) left out of training and validation (glitches='drop')")
               for n in fit.notes), fit.notes
    se = np.sqrt(2 / (0.8 * sum(len(r) - 1 for r in runs)))  # relative SE of D from the training increments
    assert abs(float(fit.diffusion(np.zeros((1, 1))).mean[0, 0, 0]) - 1.0) < 5 * se  # was 0.29 (truth 1)
    equal = _ou(3000, np.random.default_rng(15))
    equal[5::6] = np.nan
    fit = si.infer_langevin(si.split_at_gaps(equal), 0.01, **SHORT)
    assert any(n.startswith("validation on 100 of 500 trajectories, held out whole (too short") for n in fit.notes)
    recs = [_dense_gaps(_ou(10_000, rng), rng)] + [_dense_gaps(_ou(100, rng), rng) for _ in range(4)]
    fit = si.infer_langevin(recs, 0.01, gaps="split", **SHORT)
    note = next(n for n in fit.notes if n.startswith("validation on"))
    share = float(re.search(r"([0-9.]+)% of the rows", note).group(1))
    assert " tracks, held out whole" in note and 15 < share < 25, note  # whole trajectories: 3.8%
    from stochinfer.langevin import pipeline
    seen = {}

    def recorded(n_traj, n_points, by_trajectory, tracks=None, **kw):
        seen.update(by_trajectory=by_trajectory, tracks=tracks)
        return pipeline_row_blocks(n_traj, n_points, by_trajectory, tracks=tracks, **kw)
    pipeline_row_blocks = pipeline.row_blocks
    monkeypatch.setattr(pipeline, "row_blocks", recorded)
    short = [_ou(int(n), rng) for n in rng.integers(5, 16, size=300)]
    si.infer_langevin(short, 0.01, method="ensemble", n_members=2, validation="out_of_bag", **SHORT)
    assert seen["by_trajectory"] and seen["tracks"] is not None and np.unique(seen["tracks"]).size == 300


def test_split_at_gaps_cuts_glitched_frames_for_the_ep_estimators():
    """glitches='cut': frames glitched_points flags (searched in each run between gaps) are
    missing too, the data unchanged; the EP warning names this fix. Three frames 100 position
    SD away in 10⁵ points take TUR's rate to noise (its bar over 5 times the clean one); cut,
    the clean data's value."""
    m = si.models.BeadSpring(2)
    x = si.simulate(m, 4, 3000, 0.01, seed=0).x
    sd = x.std(axis=(0, 1))
    y = x.copy()
    y[0, 400] += 100 * sd
    y[2, 1500, 1] -= 50 * sd[1]
    y[1, 10] = np.nan
    before = y.copy()
    tracks, source, first = si.split_at_gaps(y, glitches="cut", return_starts=True)
    np.testing.assert_array_equal(y, before)  # the data are not changed
    assert [(len(t), k, i) for t, k, i in zip(tracks, source, first)] == [
        (400, 0, 0), (2600, 0, 401), (10, 1, 0), (2990, 1, 11), (1500, 2, 0), (1500, 2, 1501), (3001, 3, 0)]
    for t, k, i in zip(tracks, source, first):
        np.testing.assert_array_equal(t, y[k, i:i + len(t)])
    assert [len(t) for t in si.split_at_gaps(y)] == [3001, 10, 2990, 3001, 3001]  # 'keep': NaN only
    with pytest.raises(ValueError, match="glitches must be 'keep' or 'cut'"):
        si.split_at_gaps(y, glitches="drop")
    x = si.simulate(m, 10, 10_000, 0.01, seed=0).x  # bench/ep_glitches.py's data
    glitched = x.copy()
    glitched[0, 4000] += 100 * sd
    glitched[3, 9000] -= 100 * sd
    glitched[7, 2000] += 100 * sd
    with pytest.warns(UserWarning, match=r"split_at_gaps\(data, glitches='cut'\) cuts the trajectories there"):
        kept = si.entropy_production(glitched, 0.01, method="tur")
    clean = si.entropy_production(x, 0.01, method="tur")
    cut = si.entropy_production(si.split_at_gaps(glitched, glitches="cut"), 0.01, method="tur")
    assert kept.stderr > 5 * clean.stderr
    assert abs(cut.rate - clean.rate) < 0.5 * clean.stderr  # all but 6 of 10⁵ transitions are shared
