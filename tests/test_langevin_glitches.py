"""Glitched frames in Langevin inference: points that jump far beyond the typical increment
and straight back (_validate.glitched_points) are named in a warning and, by default
(glitches='drop'), the rows that use them leave training and validation; with
glitches='keep' the diffusion labels' cap (diffusion_base.cap_factor) still holds D."""
import warnings

import numpy as np
import pytest

import stochinfer as si
from stochinfer._validate import glitched_points
from stochinfer.langevin.data import rows_touching

OU = si.models.LinearOU(np.array([[-1.0, 1.0], [-1.0, -1.0]]), np.array([[1.0, 0.2], [0.2, 0.5]]))
FIT = dict(dt=0.01, hidden=16, seed=0, progress=False)


@pytest.fixture(scope="module")
def data():
    x = si.simulate(OU, n_traj=4, n_steps=2000, dt=0.01, substeps=10, seed=0).x
    return x, x[1, ::10]  # (training data, test states)


def test_rows_touching_a_point_are_those_spanning_it():
    # row j spans points j … j + span; 5 rows per trajectory
    pts = np.array([[0, 0], [0, 3], [1, 5], [2, 2]])
    assert rows_touching(pts, 1, 5).tolist() == [0, 2, 3, 9, 11, 12]  # (1, 5): row 4 of trajectory 1 only
    # span 3: (0, 0) -> row 0; (0, 3) -> 0-3; (1, 5) -> rows 2-4 of trajectory 1; (2, 2) -> rows 0-2 of trajectory 2
    assert rows_touching(pts, 3, 5).tolist() == [0, 1, 2, 3, 7, 8, 9, 10, 11, 12]
    assert rows_touching(np.zeros((0, 2), dtype=np.int64), 1, 5).size == 0


def test_glitched_points_are_found_where_they_are(data):
    x, _ = data
    assert glitched_points(x).size == 0  # none in clean data
    y = x.copy()
    y[0, 100, 1] += 5.0
    y[2, 1500] -= 40.0
    assert glitched_points(y).tolist() == [[0, 100], [2, 1500]]
    # next to an end, against the one increment beside (review, session 33: tracks cut at gaps have many
    # ends); a first or last point has no jump back
    y[1, 1] += 40.0
    y[1, -2] -= 40.0
    y[2, 0] += 40.0
    y[2, -1] += 40.0
    assert glitched_points(y).tolist() == [[0, 100], [1, 1], [1, y.shape[1] - 2], [2, 1500]]


def test_a_glitched_frame_warns_and_does_not_set_the_diffusion(data):
    """One frame displaced 5σ (1 of 8004 points): the default fit read D up to 38 times the truth
    inside the data, with only a localisation-noise warning (review, session 31). Now the point is
    named and its rows are left out (a note counts them); kept (glitches='keep'), the outlying labels
    are capped at 25 times the trend (a note says so). Either way D stays within 10% (the clean
    fit's own error here: 4%)."""
    x, test = data
    glitched = x.copy()
    glitched[0, 100] += 5.0
    with pytest.warns(UserWarning, match=r"1 point looks like a glitched frame \(first: trajectory 0, point 100\): "
                                         r"a jump of more than 20 times the typical increment and straight back; "
                                         r"the rows that use them are left out") as rec:
        fit = si.infer_langevin(glitched, **FIT)
    assert len(rec) == 1  # the jump out and back is not read as localisation noise (it was: "D 1.3x high")
    assert "2 rows using 1 glitched frame(s) left out of training and validation (glitches='drop')" in fit.notes
    assert not any("capped" in note for note in fit.notes)  # nothing left to cap
    assert fit.report(truth=OU, points=test)["diffusion"]["relative_error"] < 0.10
    with pytest.warns(UserWarning, match=r"glitched frame .* kept \(glitches='keep'\)") as rec:
        kept = si.infer_langevin(glitched, glitches="keep", **FIT)
    assert len(rec) == 1
    assert any("labels beyond 25 times the fitted trend" in note and "were capped there" in note for note in kept.notes)
    assert kept.report(truth=OU, points=test)["diffusion"]["relative_error"] < 0.10
    assert kept.diffusion(test).mean[:, 0, 0].max() < 1.5  # truth 1 (was 38)
    with pytest.warns(UserWarning, match="glitched frame") as rec:
        si.infer_langevin(glitched, glitches="keep", localisation_noise="robust", **FIT)
    assert len(rec) == 1  # nor, with robust labels, as a coordinate of noise only (it was: "pass noiseless=[1]")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the clean data: no glitch named, nothing capped or dropped
        clean = si.infer_langevin(x, **FIT)
    assert not any("capped" in note or "glitched" in note for note in clean.notes)
    with pytest.raises(ValueError, match="glitches must be one of"):
        si.infer_langevin(x, **FIT, glitches="remove")


@pytest.mark.parametrize("method,options", [("bbb", {}), ("ensemble", dict(validation="out_of_bag"))])
def test_a_glitched_frame_does_not_set_the_drift(data, method, options):
    """A frame displaced 100 position SD: trained on (glitches='keep') the drift R² falls far
    below the clean fit's; with its rows dropped it stays within 0.03 of it (the rows left out
    change the minibatches). Out of bag, the bootstrap blocks lose those rows too."""
    x, test = data
    glitched = x.copy()
    glitched[0, 1000] += 100 * x[0].std(axis=0)
    r2 = {}
    for name, y, how in (("clean", x, "drop"), ("dropped", glitched, "drop"), ("kept", glitched, "keep")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            fit = si.infer_langevin(y, method=method, glitches=how, **FIT, **options)
        r2[name] = fit.report(truth=OU, points=test)["drift"]["r2"]
    assert abs(r2["dropped"] - r2["clean"]) < 0.03, r2
    assert r2["kept"] < r2["clean"] - 0.2, r2


def test_a_frame_far_out_is_dropped_without_tripping_the_data_checks(data):
    """(review, session 32) A frame at 3000 where the motion spans ±2 (a tracker's placeholder) was
    found and dropped, then failed the drift's convergence check on the dropped rows (at 10¹² the
    scale check) and read as 'consecutive points are nearly uncorrelated'."""
    x, test = data
    for value in (3000.0, 1e12):
        y = x.copy()
        y[0, 500] = value
        with pytest.warns(UserWarning, match="glitched frame") as rec:
            fit = si.infer_langevin(y, **FIT)
        assert len(rec) == 1, [str(r.message) for r in rec]
        assert fit.report(truth=OU, points=test)["drift"]["r2"] > 0.85


def test_tracks_are_searched_whole_before_they_are_cut(data):
    """(review, session 32) Tracks cut into pieces of 300 points (sharing one) were searched piece by
    piece: frames within two of a cut were missed, and found ones were named by piece. A frame at a
    cut (track 0, point 299: the last of piece 0 and the first of piece 1) is named in the track's
    terms and leaves the rows of both pieces."""
    x, _ = data
    tracks = [x[0].copy(), x[1, :1500].copy(), x[2, :1200].copy(), x[3, :900].copy()]
    tracks[0][299] += 5.0
    with pytest.warns(UserWarning, match=r"1 point looks like a glitched frame \(first: track 0, point 299\)"):
        fit = si.infer_langevin(tracks, **FIT)
    assert "2 rows using 1 glitched frame(s) left out of training and validation (glitches='drop')" in fit.notes
    assert glitched_points(tracks).tolist() == [[0, 299]]


def test_spike_peaks_of_a_coarse_record_are_not_glitches():
    """(review, session 32) Hodgkin–Huxley recorded every 0.1 ms: the voltage's sharp spike peaks
    (47 → 57 → 47 mV, 20 times its typical increment) were flagged at seeds 0, 3 and 4; a glitch
    must also jump more than one standard deviation of the coordinate's values."""
    for seed in (0, 3, 4):
        v = si.simulate(si.models.HodgkinHuxley(), 2, 10_000, 0.1, substeps=10, seed=seed).x
        assert glitched_points(v).size == 0, seed


def test_kept_glitches_are_recorded(data):
    x, _ = data
    y = x.copy()
    y[0, 100] += 5.0
    with pytest.warns(UserWarning, match="glitched frame"):
        kept = si.infer_langevin(y, glitches="keep", **FIT)
    assert "1 glitched frame(s) kept in the training and validation rows (glitches='keep')" in kept.notes
    assert kept.provenance()["glitches"] == "keep" and si.infer_langevin(x, **FIT).provenance()["glitches"] == "drop"


def test_glitches_in_every_validation_row_are_refused(data):
    """Robust rows span 4 points: a glitch every third point of the held-out fifth leaves no
    validation row; that is an error naming the way out, not a training without validation."""
    x, _ = data
    y = x[:1].copy()
    y[0, 1599:1999:3] += 5.0  # rows 1598-1997 validate (L = 2001, n_pts = 1998)
    with pytest.warns(UserWarning, match="glitched frames"):
        with pytest.raises(ValueError, match="every validation row uses a glitched frame: pass more data, or "
                                             "glitches='keep'"):
            si.infer_langevin(y, localisation_noise="robust", **FIT)
