"""Input fuzzing of the EP estimators' validation: any array either yields a clean
estimate or a ValueError/TypeError that names the problem — never a crash or a
silent NaN."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import stochinfer as si
from stochinfer.ep.data import as_ep_data

TINY = dict(hidden=4, layers=1, batch=16, n_iter=2, eval_every=1, progress=False)

float_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64]),
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=32))


@pytest.mark.filterwarnings("ignore:2-D data of shape")  # random small arrays: the layout hint is expected
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(x=float_arrays, dt=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3)))
def test_any_float_array_is_accepted_or_rejected_clearly(x, dt):
    try:
        d = as_ep_data(x, dt)
    except (ValueError, TypeError) as exc:
        assert str(exc)  # a message naming the problem
        return
    assert d.data.ndim == 3 and d.n_traj >= 1 and d.dim >= 1 and d.length >= 2
    assert np.isfinite(d.data).all() and d.dt > 0


@settings(max_examples=60, deadline=None, derandomize=True)
@given(tok=hnp.arrays(dtype=st.sampled_from([np.int8, np.int32, np.int64]),
                      shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=40),
                      elements=st.integers(-2, 5)))
def test_any_token_array_trains_or_is_rejected_clearly(tok):
    try:
        res = si.NEEP(**TINY).fit(tok)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        return
    assert np.isfinite(res.rate) and res.units == "k_B/step"


def test_complex_and_object_arrays_are_rejected():
    with pytest.raises(TypeError, match="dtype"):
        as_ep_data(np.zeros((2, 5, 1), dtype=complex), 0.1)
    with pytest.raises(TypeError):
        as_ep_data("not an array", 0.1)


def test_movies_given_to_a_trajectory_estimator_name_cneep():
    mv = si.movies.bead_spring_movies(3, 20, seed=0)
    for data in (mv, mv.frames.astype(np.float32)):
        with pytest.raises(TypeError, match="pass method='cneep'"):
            si.entropy_production(data, 0.01)
    with pytest.raises(ValueError, match=r"integer frames of one movie\? pass method='cneep'"):
        si.entropy_production(mv.frames[0], 0.01)
