"""Small exact distribution helpers (no scipy dependency): Student-t quantiles
for intervals whose standard error is itself estimated from few groups, and the
Welch–Satterthwaite degrees of freedom of a sum of such variance estimates."""
from __future__ import annotations

import math
from statistics import NormalDist


def _incomplete_beta(a: float, b: float, x: float, y: float | None = None) -> float:
    """Regularized incomplete beta I_x(a, b) by its continued fraction (Lentz),
    relative error ~1e-14 (Numerical Recipes §6.4). y: 1 − x when the caller has
    it more accurately than 1.0 − x (x close to 1)."""
    y = 1.0 - x if y is None else y
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):  # the fraction converges fast only below the mean
        return 1.0 - _incomplete_beta(b, a, y, x)
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 500):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return math.exp(log_front) * f / a


def student_t_cdf(t: float, dof: float) -> float:
    """P(T ≤ t) for Student's t with dof > 0 degrees of freedom (dof may be
    non-integer; inf: the normal distribution). The smaller tail is computed
    directly, so far tails keep their relative accuracy."""
    if not dof > 0:  # also NaN
        raise ValueError(f"dof must be > 0, got {dof}")
    if math.isinf(dof) or dof > 1e7:  # the normal; erfc keeps the lower tail's relative accuracy
        return 0.5 * math.erfc(-t / math.sqrt(2.0))
    t2 = t * t
    x, y = dof / (dof + t2), t2 / (dof + t2)  # both direct: x may round to 1 while y is tiny
    if t2 < 1.0:  # |t| < 1: P(|T| ≤ |t|) < 0.7, so its complement loses no digits
        tail = 0.5 * (1.0 - _incomplete_beta(0.5, 0.5 * dof, y, x))
    else:
        tail = 0.5 * _incomplete_beta(0.5 * dof, 0.5, x, y)
    return 1.0 - tail if t >= 0 else tail


def student_t_quantile(q: float, dof: float) -> float:
    """The q quantile of Student's t with dof > 0 degrees of freedom (inf: normal)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    if not dof > 0:
        raise ValueError(f"dof must be > 0, got {dof}")
    z = NormalDist().inv_cdf(q)
    if math.isinf(dof) or dof > 1e7:
        return z
    if q < 0.5:
        return -student_t_quantile(1.0 - q, dof)
    lo, hi = 0.0, max(1.0, 2.0 * z)
    while student_t_cdf(hi, dof) < q:
        hi *= 2.0
    for _ in range(200):  # bisection: monotone, to machine precision
        mid = 0.5 * (lo + hi)
        if student_t_cdf(mid, dof) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    return 0.5 * (lo + hi)


def welch_dof(variances, dofs) -> float:
    """Welch–Satterthwaite degrees of freedom of a sum of independent variance
    estimates v_i with ν_i degrees of freedom each: (Σv)² / Σ(v²/ν)."""
    num = sum(variances) ** 2
    den = sum(v * v / n for v, n in zip(variances, dofs) if v > 0)
    return num / den if den > 0 else math.inf
