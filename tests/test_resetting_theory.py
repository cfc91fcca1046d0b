"""First passage under stochastic resetting (stochinfer.resetting_theory, methods.md
§4.1, §7.5 'Theory helper'): the closed form against its known limits and optimum,
and the compiled walkers against the closed form within their standard error."""
import math
import re

import numpy as np
import pytest

from stochinfer import _core
from stochinfer import resetting_theory as rt
from conftest import sigint_after


def test_optimum_without_drift_matches_the_published_constants():
    z = rt.Z_STAR
    assert z / 2 == pytest.approx(1 - math.exp(-z), rel=1e-15)
    for x0, D in [(1.0, 1.0), (2.0, 0.5)]:
        r = rt.optimal_rate(x0, D)
        assert r == pytest.approx(2.5396 * D / x0**2, rel=1e-4)
        assert rt.mean_first_passage_time(x0, D, r) == pytest.approx(1.5441 * x0**2 / D, rel=1e-4)
    # z* by direct minimisation of the formula (independent of Z_STAR)
    grid = np.linspace(2.3, 2.8, 50_001)
    T = [rt.mean_first_passage_time(1.0, 1.0, r) for r in grid]
    assert grid[int(np.argmin(T))] == pytest.approx(rt.optimal_rate(1.0, 1.0), abs=2e-5)


def test_the_closed_form_keeps_its_digits_at_extreme_drifts():
    """Small rates with a drift towards the target (no cancellation in √(V² + 4Dr) − V),
    and optima where ⟨T_r⟩ itself overflows: a drift away at |V| ≫ D/x0 gives r* ≈ |V|/x0
    (r·x0 = √(V² + 4Dr) at the optimum's leading order)."""
    assert rt.mean_first_passage_time(1.0, 1.0, 1e-12, V=10.0) == pytest.approx(0.1, rel=1e-9)
    assert rt.mean_first_passage_time(1.0, 1.0, 1e-3, V=1e8) == pytest.approx(1e-8, rel=1e-6)
    for V in (-400.0, -800.0, -5000.0):
        r = rt.optimal_rate(1.0, 1.0, V)
        assert r == pytest.approx(-V, rel=0.01)
        logs = [rt._log_mean_first_passage_time(1.0, 1.0, r * f, V) for f in (0.99, 1.0, 1.01)]
        assert logs[1] < logs[0] and logs[1] < logs[2]
    assert rt.mean_first_passage_time(1.0, 1.0, 1.0, V=-2000.0) == math.inf


def test_limits_and_the_peclet_criterion():
    assert rt.mean_first_passage_time(1.0, 1.0, 0.0, V=0.5) == 2.0  # ballistic x0/V without resetting
    assert rt.mean_first_passage_time(1.0, 1.0, 1e-9, V=0.5) == pytest.approx(2.0, rel=1e-6)
    assert rt.mean_first_passage_time(1.0, 1.0, 0.0) == math.inf
    assert rt.mean_first_passage_time(1.0, 1.0, 0.0, V=-1.0) == math.inf
    for V, helps in [(1.8, True), (2.2, False)]:  # Pe = V x0 / 2D = 0.9, 1.1
        assert (rt.peclet_number(1.0, 1.0, V) < 1) == helps
        slope = (rt.mean_first_passage_time(1.0, 1.0, 1e-4, V) - rt.mean_first_passage_time(1.0, 1.0, 0.0, V)) / 1e-4
        assert (slope < 0) == helps
        assert (rt.optimal_rate(1.0, 1.0, V) > 0) == helps


@pytest.mark.parametrize("V", [0.5, -0.5, 1.8])
def test_optimal_rate_with_drift_is_the_grid_minimum(V):
    r = rt.optimal_rate(1.0, 1.0, V)
    grid = r * np.exp(np.linspace(-0.05, 0.05, 2001))
    T = [rt.mean_first_passage_time(1.0, 1.0, g, V) for g in grid]
    assert abs(np.log(grid[int(np.argmin(T))] / r)) < 1e-4
    assert rt.mean_first_passage_time(1.0, 1.0, r, V) < min(rt.mean_first_passage_time(1.0, 1.0, 0.0, V),
                                                          rt.mean_first_passage_time(1.0, 1.0, 2 * r, V))


R_STAR = 2.5396382821881653


@pytest.mark.parametrize("rate,V", [(0.5 * R_STAR, 0.0), (R_STAR, 0.0), (2 * R_STAR, 0.0), (1.9765, 0.5),
                                    (3.0704, -0.5)])
def test_simulated_first_passage_matches_the_formula(rate, V):
    """40 000 walkers, dt = 10⁻³: with the discrete-monitoring correction the mean
    agrees within 4 standard errors (and the 3% of methods.md §7.5); without it,
    passages are late by several standard errors."""
    T = rt.mean_first_passage_time(1.0, 1.0, rate, V)
    t = rt.first_passage_times(1.0, 1.0, rate, V, dt=1e-3, n_walkers=40_000, seed=7)
    assert not np.isnan(t).any()
    se = t.std(ddof=1) / math.sqrt(t.size)
    assert abs(t.mean() - T) < 4 * se and abs(t.mean() / T - 1) < 0.03
    late = rt.first_passage_times(1.0, 1.0, rate, V, dt=1e-3, n_walkers=40_000, seed=7, monitoring_correction=False)
    assert late.mean() - T > 4 * se


def test_walkers_do_not_depend_on_threads_and_censor_with_nan():
    a = rt.first_passage_times(1.0, 1.0, 1.0, dt=1e-3, n_walkers=999, seed=3, n_threads=1)
    b = rt.first_passage_times(1.0, 1.0, 1.0, dt=1e-3, n_walkers=999, seed=3, n_threads=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, rt.first_passage_times(1.0, 1.0, 1.0, dt=1e-3, n_walkers=999, seed=4))
    short = rt.first_passage_times(1.0, 1.0, 1.0, dt=1e-3, n_walkers=999, seed=3, max_time=0.5)
    censored = np.isnan(short)
    assert censored.any() and np.all(a[censored] > 0.5)
    np.testing.assert_array_equal(short[~censored], a[~censored])  # the same walkers, cut at 0.5
    # the times are multiples of dt
    np.testing.assert_allclose(a / 1e-3, np.round(a / 1e-3), atol=1e-6)


def test_bad_input_names_the_argument():
    for kwargs, match in [(dict(dt=0.0), "dt"), (dict(dt=-1e-3), "dt"), (dict(dt=1e-3, n_walkers=0), "n_walkers"),
                          (dict(dt=1e-3, max_time=0.0), "max_time")]:
        with pytest.raises(ValueError, match=match):
            rt.first_passage_times(1.0, 1.0, 1.0, **kwargs)
    with pytest.raises(ValueError, match="x0"):
        rt.first_passage_times(0.0, 1.0, 1.0, dt=1e-3)
    with pytest.raises(ValueError, match="V"):
        rt.mean_first_passage_time(1.0, 1.0, 1.0, V=float("nan"))
    with pytest.raises(ValueError, match="rate"):
        rt.mean_first_passage_time(1.0, 1.0, -1.0)
    for dt, max_time in ((1e-300, 1.0), (5e-324, 1.0), (1e-3, 1e308)):  # inf steps: not an OverflowError
        with pytest.raises(ValueError, match="too many"):
            rt.first_passage_times(1.0, 1.0, 1.0, dt=dt, max_time=max_time)
    with pytest.raises(ValueError, match="dt"):  # the binding checks too
        _core.first_passage_times(1.0, 1.0, 0.0, 1.0, 0.0, 10, 10, 0)


def test_ctrl_c_stops_many_short_walkers():
    """Walkers that end before the in-walk check (every 65 536 steps) must still see Ctrl-C:
    work sized to about 30 s here (timed on a short run), so a missed signal fails the test."""
    import time

    kw = dict(dt=1e-3, max_time=0.5, seed=1)  # at most 500 steps a walker
    t0 = time.perf_counter()
    rt.first_passage_times(1.0, 1.0, 0.0, V=-5.0, n_walkers=20_000, **kw)  # V < 0: most walkers censored
    per_walker = (time.perf_counter() - t0) / 20_000
    n = int(min(1e7, max(1e5, 30.0 / per_walker)))  # at most 80 MB of output
    with sigint_after(0.5) as elapsed, pytest.raises(KeyboardInterrupt):
        rt.first_passage_times(1.0, 1.0, 0.0, V=-5.0, n_walkers=n, **kw)
    assert elapsed() < 5.0


def test_optimal_rate_outside_the_float_range_is_refused_naming_the_arguments():
    """(review) V=-1e200 gave nan, x0=1e-200 a ZeroDivisionError (x0² underflows)."""
    for x0, D, V in [(1.0, 1.0, -1e200), (1e-200, 1.0, 0.5), (1e-200, 1.0, 0.0), (1e200, 1.0, 0.0),
                     (1.0, 1e305, -1.0), (1e-160, 1.0, -1.0)]:
        with pytest.raises(ValueError, match=re.escape(f"optimal_rate: x0={x0:g}, D={D:g}, V={V:g} put the rate "
                                                       "scales D/x0², |V|/x0 or V²/D beyond the float range")):
            rt.optimal_rate(x0, D, V)
    # large but representable scales still work, and a drift towards the target needs no resetting
    assert rt.optimal_rate(1e-100, 1.0, 0.0) == pytest.approx(rt.Z_STAR ** 2 * 1e200)
    assert rt.optimal_rate(1.0, 1e-300, -1.0) > 0
    assert rt.optimal_rate(1.0, 1.0, 1e200) == 0.0
