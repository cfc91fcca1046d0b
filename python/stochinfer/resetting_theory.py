"""First passage under stochastic resetting: the theory behind stochinfer.Resetting
(methods.md §4.1; Evans & Majumdar, PRL 106, 160601 (2011)).

A distance x to a target starts at x0 (length) and drifts towards it at V
(length/time; negative: away) with diffusion D (length²/time); at rate r (1/time)
it jumps back to x0. The mean time to reach the target is

    ⟨T_r⟩ = (exp[x0(√(V² + 4Dr) − V)/(2D)] − 1) / r.

Resetting shortens it (d⟨T_r⟩/dr < 0 at r = 0) exactly when the Péclet number
Vx0/(2D) < 1. In SGD on noisy labels the 'distance' is to a well-generalising
solution, and label noise lowers or reverses V: the regime where resetting to a
checkpoint helps. `first_passage_times` simulates the process in the compiled
core to check the formula (bench/RESULTS.md)."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from . import _core
from ._validate import check_output_fits, finite_float, positive_float, positive_int, seed_value, thread_count

#: z* solving z/2 = 1 − e^{−z}: the optimal rate without drift is z*² D / x0²
Z_STAR = 1.5936242600400401


def _check(x0, D, V) -> tuple:
    return positive_float("x0", x0), positive_float("D", D), finite_float("V", V)


def _exponent(x0: float, D: float, r: float, V: float) -> float:
    """x0(√(V² + 4Dr) − V)/(2D), without the cancellation of the difference for V > 0."""
    root = math.sqrt(V * V + 4.0 * D * r)
    return 2.0 * x0 * r / (root + V) if V > 0 else x0 * (root - V) / (2.0 * D)


def _log_mean_first_passage_time(x0: float, D: float, r: float, V: float) -> float:
    """log ⟨T_r⟩ for r > 0, finite where ⟨T_r⟩ itself overflows."""
    e = _exponent(x0, D, r, V)
    return e + math.log(-math.expm1(-e)) - math.log(r)


def mean_first_passage_time(x0: float, D: float, rate: float, V: float = 0.0) -> float:
    """⟨T_r⟩ (time units of 1/rate and of D), the formula above; rate = 0 gives
    x0/V for V > 0 and inf otherwise (free diffusion never returns on average);
    inf where it exceeds the float range."""
    x0, D, V = _check(x0, D, V)
    r = positive_float("rate", rate, allow_zero=True)
    if r == 0.0:
        return x0 / V if V > 0 else math.inf
    e = _exponent(x0, D, r, V)
    if e < 700:
        return math.expm1(e) / r
    log_t = _log_mean_first_passage_time(x0, D, r, V)
    return math.exp(log_t) if log_t < 709.0 else math.inf


def peclet_number(x0: float, D: float, V: float) -> float:
    """Vx0/(2D): resetting helps when it is below 1."""
    x0, D, V = _check(x0, D, V)
    return V * x0 / (2.0 * D)


def optimal_rate(x0: float, D: float, V: float = 0.0) -> float:
    """The resetting rate (1/time) that minimises ⟨T_r⟩: z*²D/x0² = 2.5396 D/x0²
    without drift, found numerically otherwise; 0 when the Péclet number is >= 1
    (resetting only delays the drift's arrival)."""
    x0, D, V = _check(x0, D, V)
    if V * x0 / (2.0 * D) >= 1.0:
        return 0.0
    def out_of_range() -> ValueError:  # built only when raised
        return ValueError(
            f"optimal_rate: x0={x0:g}, D={D:g}, V={V:g} put the rate scales D/x0², |V|/x0 or V²/D beyond the float "
            "range; express them in units nearer 1 (e.g. lengths in units of x0 and times in units of x0²/D: x0 = 1, "
            "D = 1, V·x0/D, then multiply the rate by D/x0²)")
    if V == 0.0:
        try:
            r = Z_STAR ** 2 * D / x0 ** 2
        except (OverflowError, ZeroDivisionError):
            raise out_of_range() from None
        if not 0.0 < r < math.inf:
            raise out_of_range()
        return r
    # ⟨T_r⟩ is unimodal in log r: golden-section search between rates far on either side
    f = lambda u: _log_mean_first_passage_time(x0, D, math.exp(u), V)  # noqa: E731, log: no overflow
    try:
        lo, hi = math.log(1e-8 * D / x0 ** 2), math.log(1e4 * (D / x0 ** 2 + abs(V) / x0 + V * V / D))
        ends_ok = math.isfinite(lo) and math.isfinite(hi) and math.isfinite(f(lo)) and math.isfinite(f(hi))
    except (OverflowError, ZeroDivisionError, ValueError):  # x0² underflowing, a log of 0 or of inf
        ends_ok = False
    if not ends_ok:
        raise out_of_range()
    g = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(200):
        if fa < fb:  # the minimum lies in [lo, b]
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = f(a)
        else:  # in [a, hi]
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = f(b)
    return math.exp(0.5 * (lo + hi))


def first_passage_times(x0: float, D: float, rate: float, V: float = 0.0, *, dt: float,
                        n_walkers: int = 10_000, max_time: Optional[float] = None, seed: int = 0,
                        monitoring_correction: bool = True, n_threads: Optional[int] = None) -> np.ndarray:
    """Simulated first-passage times (time units) of n_walkers independent walkers:
    Euler steps of dt, a reset to x0 after each step with probability
    1 − exp(−rate·dt), absorption at the first step at or below the target.

    monitoring_correction (default): the target is moved towards the walker by
    β√(2D dt), β = −ζ(½)/√(2π) ≈ 0.5826 (Broadie, Glasserman & Kou 1997). Checking
    the target only every dt otherwise makes passages late: at x0 = D = 1 by about +3%
    at dt = 2·10⁻⁴ and +5–7% at dt = 10⁻³ (bench/RESULTS.md). max_time (default 100 ⟨T_r⟩, or 100 x0²/D where
    that is infinite): walkers still out then are NaN. Threads give the same times;
    Ctrl-C stops the run."""
    x0, D, V = _check(x0, D, V)
    rate = positive_float("rate", rate, allow_zero=True)
    dt = positive_float("dt", dt)
    n_walkers = positive_int("n_walkers", n_walkers)
    if max_time is None:
        t_mean = mean_first_passage_time(x0, D, rate, V)
        max_time = 100.0 * (t_mean if math.isfinite(t_mean) else x0 * x0 / D)
    max_time = positive_float("max_time", max_time)
    steps = max_time / dt
    if not steps <= 2**62:  # before ceil: inf (a subnormal dt) would raise OverflowError there
        raise ValueError(f"max_time/dt = {steps:.3g} steps is too many; raise dt or lower max_time")
    max_steps = max(1, math.ceil(steps))
    check_output_fits((n_walkers,), np.float64, "simulate fewer walkers")
    return _core.first_passage_times(x0, D, V, rate, dt, n_walkers, max_steps, seed_value("seed", seed),
                                     bool(monitoring_correction), thread_count(n_threads))
