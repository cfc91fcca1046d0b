"""Input fuzzing of the EP estimators' validation: any array either yields a clean
estimate or a ValueError/TypeError that names the problem — never a crash or a
silent NaN."""
import re

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
# what as_ep_data must accept: (L, d) or (n_traj, L, d) with L >= 2, d >= 1, every value finite
valid_float_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64]),
    shape=st.one_of(st.tuples(st.integers(2, 6), st.integers(1, 4)),
                    st.tuples(st.integers(1, 4), st.integers(2, 6), st.integers(1, 4))),
    elements=st.floats(allow_nan=False, allow_infinity=False, width=32))
# the same shapes with any values (NaN, inf): refused exactly when a value is not finite
shaped_float_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64]),
    shape=st.tuples(st.integers(1, 4), st.integers(2, 6), st.integers(1, 4)),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=32))
valid_dt = st.one_of(st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False),
                     st.integers(1, 3))
any_dt = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3))


def _valid_states(x) -> bool:
    """The acceptance rule, stated independently of the library."""
    if x.ndim == 2:
        x = x[None]
    return x.ndim == 3 and x.shape[0] >= 1 and x.shape[1] >= 2 and x.shape[2] >= 1 and bool(np.isfinite(x).all())


def _valid_dt(dt) -> bool:
    return not isinstance(dt, bool) and np.isfinite(dt) and dt > 0


def _names(exc, arg) -> bool:
    return re.search(rf"\b{arg}\b", str(exc)) is not None


@pytest.mark.filterwarnings("ignore:2-D data of shape")  # random small arrays: the layout hint is expected
@pytest.mark.filterwarnings("ignore:consecutive points are nearly uncorrelated")
@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(x=st.one_of(float_arrays, valid_float_arrays, shaped_float_arrays), dt=st.one_of(any_dt, valid_dt))
def test_any_float_array_is_accepted_or_rejected_clearly(x, dt):
    """Accepted exactly when the states and dt are valid (an independent rule); a refusal names the
    offending argument (`data` or `dt`; either where both are bad); what is accepted is the input,
    finite. (review, session 26) Most examples were 4-D arrays or dt <= 0, refused before the
    acceptance asserts, and any non-empty message passed."""
    ok_x, ok_dt = _valid_states(x), _valid_dt(dt)
    try:
        d = as_ep_data(x, dt)
    except (ValueError, TypeError) as exc:
        assert not (ok_x and ok_dt), exc
        if not ok_x and ok_dt:
            assert _names(exc, "data"), exc
        elif ok_x and not ok_dt:
            assert _names(exc, "dt"), exc
        else:
            assert _names(exc, "data") or _names(exc, "dt"), exc
        return
    assert ok_x and ok_dt, (x.shape, dt)
    assert d.data.ndim == 3 and d.n_traj >= 1 and d.dim >= 1 and d.length >= 2
    assert np.isfinite(d.data).all() and d.dt > 0 and d.dt == float(dt)
    np.testing.assert_array_equal(d.data, x.reshape(d.data.shape))
    assert d.data.dtype == x.dtype and not d.tokens


any_tokens = hnp.arrays(dtype=st.sampled_from([np.int8, np.int32, np.int64]),
                        shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=40),
                        elements=st.integers(-2, 5))
# token paths long enough for a train/validation/test split: the fit must run to a finite rate
trainable_tokens = hnp.arrays(dtype=st.sampled_from([np.int8, np.int32, np.int64]),
                              shape=st.one_of(st.tuples(st.integers(60, 120)),
                                              st.tuples(st.integers(3, 6), st.integers(20, 40))),
                              elements=st.integers(0, 5))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(tok=st.one_of(any_tokens, trainable_tokens))
def test_any_token_array_trains_or_is_rejected_clearly(tok):
    """A refusal names `data`; paths of labels >= 0 with enough transitions train to a finite rate.
    (review, session 26) Any non-empty message passed, and 1 example of 60 reached the fit."""
    trainable = tok.min(initial=0) >= 0 and (tok.shape[-1] >= 60 if tok.ndim == 1 else
                                             tok.ndim == 2 and tok.shape[0] >= 3 and tok.shape[1] >= 20)
    try:
        res = si.NEEP(**TINY).fit(tok)
    except (ValueError, TypeError) as exc:
        assert _names(exc, "data"), exc
        assert not trainable, exc
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
