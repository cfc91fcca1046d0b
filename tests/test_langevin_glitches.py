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
