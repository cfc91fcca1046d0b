"""Student-t quantiles (exact, no scipy) against tabulated values and, when
installed, scipy; Welch–Satterthwaite degrees of freedom."""
import math

import pytest

from stochinfer._stats import student_t_cdf, student_t_quantile, welch_dof

# (q, dof, quantile): standard tables (e.g. Abramowitz & Stegun 26.7), 6 digits
TABLE = [(0.975, 1, 12.7062), (0.975, 2, 4.30265), (0.975, 4, 2.77645), (0.975, 30, 2.04227),
         (0.995, 9, 3.24984), (0.9, 3, 1.63774), (0.75, 1, 1.0)]


@pytest.mark.parametrize("q,dof,expected", TABLE)
def test_tabulated_quantiles(q, dof, expected):
    assert student_t_quantile(q, dof) == pytest.approx(expected, rel=2e-5)
    assert student_t_quantile(1 - q, dof) == pytest.approx(-expected, rel=2e-5)


def test_against_scipy_for_non_integer_dof():
    stats = pytest.importorskip("scipy.stats")
    for dof in (0.8, 1.7, 2.5, 9.3, 57.0, 1e4):
        for q in (0.6, 0.8413447460685429, 0.975, 0.999):
            assert student_t_quantile(q, dof) == pytest.approx(stats.t.ppf(q, dof), rel=1e-9)
            assert student_t_cdf(stats.t.ppf(q, dof), dof) == pytest.approx(q, rel=1e-10)


def test_cdf_near_zero_for_large_dof():
    stats = pytest.importorskip("scipy.stats")
    for dof in (1e3, 1e5, 5e6):
        for q in (0.5000001, 0.50001, 0.51):
            assert student_t_quantile(q, dof) == pytest.approx(stats.t.ppf(q, dof), rel=1e-6)


def test_limits_and_bad_input():
    assert student_t_quantile(0.975, math.inf) == pytest.approx(1.959964, rel=1e-6)
    assert student_t_quantile(0.5, 3) == pytest.approx(0.0, abs=1e-12)
    for q, dof in ((0.0, 3), (1.0, 3), (0.9, 0), (0.9, -1)):
        with pytest.raises(ValueError):
            student_t_quantile(q, dof)


def test_welch_dof():
    assert welch_dof([1.0], [7]) == pytest.approx(7)
    assert welch_dof([1.0, 1.0], [9, 9]) == pytest.approx(18)  # equal parts add their dof
    assert welch_dof([1.0, 1e-12], [9, 2]) == pytest.approx(9, rel=1e-6)  # a negligible part adds nothing
    assert welch_dof([0.0, 0.0], [3, 3]) == math.inf


def test_far_tails_keep_their_relative_accuracy():
    """The lower tail was 1 − P(|T| ≤ |t|) for t² < dof: at dof 1e3, t = −8 it was 0.44% off and
    at t = −12 exactly 0."""
    for t in (-3.0, -30.0, -1e4):  # dof 2, closed form: tail = 1 / (r (r + |t|)), r = sqrt(2 + t²)
        r = math.sqrt(2.0 + t * t)
        assert student_t_cdf(t, 2.0) == pytest.approx(1.0 / (r * (r - t)), rel=1e-12, abs=0)
    stats = pytest.importorskip("scipy.stats")
    for dof in (19.0, 1e3, 1e5):
        for t in (-1.5, -8.0, -12.0, -30.0):
            assert student_t_cdf(t, dof) == pytest.approx(stats.t.cdf(t, dof), rel=1e-9, abs=0)


def test_cdf_with_infinite_or_bad_dof():
    from statistics import NormalDist
    assert student_t_cdf(2.0, math.inf) == pytest.approx(NormalDist().cdf(2.0), rel=1e-15)
    # far lower tail of the normal: 0.5·erfc(10/√2) = 7.619853024160526e-24 (mpmath)
    assert student_t_cdf(-10.0, math.inf) == pytest.approx(7.619853024160526e-24, rel=1e-12, abs=0)
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="dof must be > 0"):
            student_t_cdf(1.0, bad)
