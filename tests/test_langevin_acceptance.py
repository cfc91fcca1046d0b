"""Acceptance checks of Langevin inference at the default data size (methods.md
§3.4, §7.4): one trajectory of 10⁴ points at Δt = 0.01 (10 integration substeps),
an independent test trajectory (seed + 1), default settings except where a case
names its options (SYSTEMS). Slow (about 14 min on a shared 2-core machine): run
with ``pytest -m slow tests/test_langevin_acceptance.py``.

Every fit is seeded, so each number below is reproducible bit for bit. Targets
this build does not reach are strict xfails that state the measured value; they
fail (and must be promoted) the day the target is met. An exact Gaussian process
with marginal-likelihood hyperparameters, trained on the same rows as the networks,
reaches nonlinear drift R² 0.931-0.947 over six datasets, 0.9311 at seed 0 (0.940-0.964
given the validation rows too; bench/lbn_gp_reference.py, bench/RESULTS.md, "What the
data allow"): R² >= 0.95 asks for more than that reference extracts from the same data.
The nonlinear_oob20 case gives the ensemble those validation rows back (twenty members
validated out of bag: 0.947 in mean over the six datasets, bench/RESULTS.md)."""
import numpy as np
import pytest

import stochinfer as si

pytestmark = pytest.mark.slow

SYSTEMS = {  # name: (model, regime, simulation options, fit options[, recorded points])
    "nonlinear": (lambda: si.models.Nonlinear(), "overdamped", dict(burn_in=0, initial="zeros"), {}),
    "inhomogeneous": (lambda: si.models.Inhomogeneous(), "overdamped", dict(burn_in=0, initial="zeros"), {}),
    "hodgkin_huxley": (lambda: si.models.HodgkinHuxley(), "overdamped", {}, dict(noiseless=[0])),
    # 300 ms instead of 100: 36 spikes in the record instead of 12. At 100 ms the drift R² target is
    # out of reach of the data, not of the estimator (bench/RESULTS.md, "Hodgkin–Huxley: how much data")
    "hodgkin_huxley_300ms": (lambda: si.models.HodgkinHuxley(), "overdamped", {}, dict(noiseless=[0]), 3 * 10**4),
    "vanderpol": (lambda: si.models.VanDerPol(), "underdamped", {}, {}),
    "vanderpol_ihd": (lambda: si.models.VanDerPolIHD(), "underdamped", {}, {}),
    # the cubic drift base, for forces close to a low-order polynomial (bench/RESULTS.md,
    # "Polynomial drift base"; the default linear base reaches 0.75-0.93 over six datasets)
    "vanderpol_ihd_cubic": (lambda: si.models.VanDerPolIHD(), "underdamped", {}, dict(drift_base="cubic")),
    # the ensemble's accuracy configuration: twenty members validated out of bag (bench/RESULTS.md,
    # "Out-of-bag validation"; five members with the split reach 0.947 here, 0.922 over six datasets)
    "nonlinear_oob20": (lambda: si.models.Nonlinear(), "overdamped", dict(burn_in=0, initial="zeros"),
                        dict(n_members=20, validation="out_of_bag")),
}
ENSEMBLE_ONLY = {"nonlinear_oob20"}  # out-of-bag validation exists for bagged ensembles only
assert ENSEMBLE_ONLY <= SYSTEMS.keys()


def _methods(system: str) -> tuple:
    return ("ensemble",) if system in ENSEMBLE_ONLY else ("bbb", "ensemble")


OVERDAMPED = [s for s in SYSTEMS if SYSTEMS[s][1] == "overdamped"]
R2_TARGET = {"nonlinear": 0.95, "nonlinear_oob20": 0.95,
             "inhomogeneous": 0.95, "hodgkin_huxley": 0.95, "hodgkin_huxley_300ms": 0.95,
             "vanderpol": 0.90, "vanderpol_ihd": 0.90, "vanderpol_ihd_cubic": 0.90}
# measured with this build, seed 0 (bench/RESULTS.md); (system, method) -> drift R²
# (with the default linear drift base; without it nonlinear bbb was 0.932, ensemble 0.920 and
# inhomogeneous bbb 0.872 (now 0.9502). Van der Pol: ensemble 0.928, bbb 0.925)
R2_SHORT = {("nonlinear", "ensemble"): "0.947 (0.941 before per-member checkpoints)",
            # a data limit: a network fitted to the exact drift at the same training states gets
            # 0.89-0.94; hodgkin_huxley_300ms passes (bench/RESULTS.md, "how much data")
            ("hodgkin_huxley", "bbb"): 0.796,
            ("hodgkin_huxley", "ensemble"): "0.854 (0.863 before the networks' initial seeds were spaced, session 25)"}
# (system, method) -> measured diffusion relative error, where above 10%
# (Van der Pol with state-dependent noise was 0.111 / 0.110 before the quadratic diffusion base and
# the local finite-γΔt factor; bench/RESULTS.md)
D_LONG = {}
# (system, method) -> measured correlation of log error with log posterior variance, where not
# positive and significant
# (inhomogeneous ensemble: −0.11, and widening 1.88, while its members shared one checkpoint at update
# 100; with per-member checkpoints +0.16 and 2.63, bench/RESULTS.md)
CORR_NEGATIVE = {("nonlinear", "bbb"): "+0.013 (block p = 0.38, Fisher p = 0.18; over 20 posterior sample seeds "
                                      "mean +0.015, SD 0.042: a nearly flat mean-field variance)"}
# system -> measured ratio of the ensemble's mean drift std 3 std outside the data to inside, where <= 2
WIDEN_SHORT = {}

# consecutive held-out points per block of the error–variance correlation's bootstrap: 20 blocks of
# 5 time units (5 ms for Hodgkin–Huxley). The states along a trajectory are autocorrelated, so
# Fisher's p for independent points overstates significance; the block standard error is 2-3 times
# Fisher's on these data (bench/RESULTS.md, "How significant is the correlation")
BLOCK_LENGTH = 250

_cache = {}


def fitted(system: str, method: str):
    key = (system, method)
    if key not in _cache:
        make, regime, kw, fit_kw, *length = SYSTEMS[system]
        m = make()
        tr = si.simulate(m, 1, length[0] if length else 10**4, 0.01, substeps=10, seed=0, **kw)
        te = si.simulate(m, 1, 10**4, 0.01, substeps=10, seed=1, **kw)
        pts = te.x[0] if regime == "overdamped" else np.concatenate([te.x[0], te.v[0]], axis=1)
        fit = si.infer_langevin(tr, regime=regime, method=method, progress=False, **fit_kw)
        _cache[key] = (m, fit, pts[::2], fit.report(m, points=pts[::2], block_length=BLOCK_LENGTH))
    return _cache[key]


def _known_gap(system, method, measured: dict, what: str):
    """(system, method), as a strict xfail stating the measured value when it misses the target."""
    if (system, method) in measured:
        return pytest.param(system, method, marks=pytest.mark.xfail(
            strict=True, raises=AssertionError, reason=f"measured {what} {measured[(system, method)]}"))
    return (system, method)


@pytest.mark.parametrize("system,method", [_known_gap(s, m, R2_SHORT, "drift R²") for s in SYSTEMS
                                          for m in _methods(s)])
def test_drift_r2(system, method):
    _, _, _, rep = fitted(system, method)
    assert rep["drift"]["r2"] >= R2_TARGET[system], rep["drift"]


@pytest.mark.parametrize("system,method", [_known_gap(s, m, D_LONG, "diffusion relative error") for s in SYSTEMS
                                           for m in _methods(s)])
def test_diffusion_relative_error(system, method):
    _, _, _, rep = fitted(system, method)
    assert rep["diffusion"]["relative_error"] <= 0.10, rep["diffusion"]


@pytest.mark.parametrize("system", OVERDAMPED)
def test_ensemble_band_coverage(system):
    """95% bands of the deep ensemble cover the true drift on 85–99% of held-out states."""
    _, _, _, rep = fitted(system, "ensemble")
    assert 0.85 <= rep["drift"]["coverage"] <= 0.99, rep["drift"]


@pytest.mark.parametrize("system,method", [_known_gap(s, m, CORR_NEGATIVE, "correlation") for s in SYSTEMS
                                                  for m in _methods(s)])
def test_error_variance_correlation_is_positive_and_significant(system, method):
    """corr(log error, log posterior variance) > 0 at one-sided p < 0.01, the standard error from a
    block bootstrap along the held-out trajectory (BLOCK_LENGTH)."""
    _, _, _, rep = fitted(system, method)
    c = rep["drift"]["calibration"]
    assert c["corr"] > 0 and c["p_value"] < 0.01, c


@pytest.mark.parametrize("system", [pytest.param(s, marks=pytest.mark.xfail(
    strict=True, raises=AssertionError, reason=f"measured ratio {WIDEN_SHORT[s]}")) if s in WIDEN_SHORT else s for s in SYSTEMS])
def test_bands_widen_outside_the_sampled_region(system):
    _, fit, pts, _ = fitted(system, "ensemble")
    far = pts + 3 * pts.std(axis=0)
    assert fit.drift(far).std.mean() > 2 * fit.drift(pts).std.mean()


def _carnot():
    """Brownian Carnot engine, τ = 100, 100 recorded cycles (methods.md §5.8), ensemble
    fit with a periodic time input (period=100: the protocol's period is known; three
    harmonics, the default); its inferred equation simulated for 1200 cycles per member
    (6 substeps per step, the default at the fit's γ̂Δt = 0.1005, 5 before session 28's unbiased
    friction: about 2.5 minutes in C++) from the
    data's 100 cycle-start states. The path noise of the mean work is then 0.13 (3.6%);
    at 60 cycles it was 0.47 (13%), too coarse to test a 10% claim."""
    if "carnot" not in _cache:
        m = si.models.BrownianCarnot(tau=100.0)
        tr = si.simulate(m, n_traj=100, n_steps=10_000, dt=0.01, substeps=10, seed=0)
        fit = si.infer_langevin(tr, regime="underdamped", time_dependent=True, period=100.0, method="ensemble",
                                progress=False)
        start = np.arange(1200) % tr.x.shape[0]
        x0 = tr.x[start, 0]
        v0 = (tr.x[start, 1] - tr.x[start, 0]) / 0.01  # finite-difference velocity: positions only
        sim = fit.simulate(1200, 10_000, x0=x0, v0=v0, seed=5, record_every=5)  # the fit's period
        _cache["carnot"] = (m, fit, fit.thermodynamics(sim, m))
    return _cache["carnot"]


def _carnot_report():
    """The Carnot fit scored as the other systems are (methods.md §3.3–3.4): at the true (x, v)
    of 20 independent cycles (seed 1), every 50th state, with a block bootstrap of whole cycles.
    (Until session 26 it was scored at its validation states with finite-difference velocities.)"""
    if "carnot_report" not in _cache:
        m, fit, _ = _carnot()
        te = si.simulate(m, n_traj=20, n_steps=10_000, dt=0.01, substeps=10, seed=1)
        idx = np.arange(0, 10_000, 50)
        pts = np.concatenate([te.x[:, idx], te.v[:, idx]], axis=2).reshape(-1, 2)
        t = np.tile(te.t[idx], te.x.shape[0])
        _cache["carnot_report"] = fit.report(m, points=pts, t=t, block_length=idx.size)
    return _cache["carnot_report"]


def test_carnot_drift_r2_and_error_variance_correlation():
    """methods.md §7.4: Carnot drift R² >= 0.9 (measured 0.9985 at the independent cycles' true
    states since session 28's unbiased friction, 0.9972 since session 27's centred positions, 0.9981
    before; 0.9979 at the validation states with finite-difference velocities, scored until session 26;
    0.9974 before session 25's spaced seeds) and a positive, significant error–variance correlation
    (measured +0.260, block p 4e-13, 20 blocks of one cycle each; +0.182 in session 27, +0.198 before).
    Ensemble band coverage 0.984 (0.936 in session 27, 0.972 before)."""
    rep = _carnot_report()
    assert rep["drift"]["r2"] >= 0.9, rep["drift"]
    c = rep["drift"]["calibration"]
    assert c["corr"] > 0 and c["p_value"] < 0.01, c


def test_carnot_diffusion_relative_error():
    """γΔt = 0.1: the 3/2 factor alone left D 10.7% low; the finite-γΔt factor gives 1.2% at the
    independent cycles' true states (1.3% before session 28's unbiased friction, 1.2% before session 27's
    centred positions; 1.3% at the validation states; 1.8% before session 25's spaced seeds; 2.9% with
    time as a plain input; 1.8–2.7% over six datasets, bench/RESULTS.md). The friction: 10.05
    (9.65 before session 28)."""
    m, _, _ = _carnot()
    rep = _carnot_report()
    assert rep["diffusion"]["relative_error"] <= 0.10, rep["diffusion"]
    assert rep["provenance"]["friction"][0] == pytest.approx(m.gamma, rel=0.05)


def test_carnot_work_error_bar_covers_the_exact_value():
    """The 1σ error bar (posterior spread with the Monte Carlo error of the members' mean, and
    cycle noise) covers the moment-ODE value −3.5557. Measured: −3.623 ± 0.519 (Q_h 7.79 ± 0.99
    vs 9.17, efficiency 0.469 ± 0.108 vs 0.388) since session 28's unbiased friction (the heat's
    error is the stiffness near its peak, 10–14% low; the friction's bias had offset it: bench/RESULTS.md,
    "Unbiased friction"); −3.982 ± 0.541 (Q_h 9.09 ± 1.05,
    efficiency 0.441 ± 0.091) since session 27's centred positions; −3.918 ± 0.553
    (Q_h 9.39 ± 1.06, efficiency 0.421 ± 0.092) since session 26's bar (± 0.507 without the Monte
    Carlo term); the networks' initial seeds were spaced in session 25; −3.725 ± 0.432
    before (Q_h 9.43 ± 1.15, efficiency 0.401 ± 0.089); −3.813 ± 0.408 before the diffusion
    labels were made unitless, session 15; −3.793 ± 0.374 before the underdamped labels were,
    session 14; with
    one substep −3.718 ± 0.380, Q_h 8.49 ± 0.98). Over six datasets it covers on five (three
    without the Monte Carlo term; bench/RESULTS.md, "Spaced initial seeds")."""
    m, _, th = _carnot()
    exact = m.cycle_thermodynamics()["mean_work"]
    assert abs(th["work_per_cycle"] - exact) <= th["error"], th


def test_carnot_work_within_10_percent():
    """Measured −3.623 (+1.9%) since session 28's unbiased friction (the friction read from positions
    is 5γΔt/12 low, 4% at γΔt = 0.1, and raised the inferred temperature D/γ: bench/RESULTS.md,
    "Unbiased friction"); this was a strict xfail before. Across datasets it remains a data limit
    (below). −3.982 (+12.0%) since session 27's centred positions, −3.918 (+10.2%) since
    session 25's spaced initial seeds (the drift_shifted and
    diffusion members no longer start as the drift's); −3.725 (+4.8%) before, −3.813 before
    session 15, −3.793 before session 14. Over six datasets this protocol is within 10% on three
    since session 28 (+1.9, −13.3, +5.5, −34.7, +7.3, −20.8%; RMS 18%, the data's own draws +6.7,
    −1.7, +4.0, −38.3, −8.6, −19.0%; bench/RESULTS.md "Unbiased friction"), and before session 27 on three
    (+10.2, −5.8, +0.6, −29.1, +7.5, −21.2%; RMS 16%, bench/RESULTS.md "Spaced initial seeds"),
    four before the seeds were spaced (errors +4.8, −8.2, +2.7, −26.0, +4.8, −20.6%;
    RMS 14%) and with time as a plain input and one substep on one (+11.4, −4.6, +45.5,
    −48.0, −18.2, −11.8%; RMS 29%). The data's own mean work over its 100 cycles has a 12%
    standard error, and the work is a small difference of compression and expansion
    terms (±11 each), so a 1.5% error in ⟨x²⟩ moves it 10% (bench/RESULTS.md). An
    oracle-structured reference (true velocities, true diffusion, the drift's affine form;
    bench/lbn_carnot_reference.py) follows the data's own work (correlation 0.99): RMS error 13%
    over 20 datasets, within 10% on 13; at seed 0 +6.5% (the data's own +6.7%). The 10% target
    at 100 cycles is met by no estimator on every dataset (session 26, "What 100 cycles allow")."""
    m, _, th = _carnot()
    exact = m.cycle_thermodynamics()["mean_work"]
    assert abs(th["work_per_cycle"] - exact) <= 0.1 * abs(exact), th


@pytest.mark.parametrize("method", ["bbb", "ensemble"])
def test_ep_of_the_inferred_equation_is_corrected_for_estimation_noise(method):
    """An 8-bead chain (σ = 0.384; 5 trajectories of 3000 points, T = 150, seed 100), a
    default fit (seed 0): the per-sample EP of the inferred equation is raised 3-5 times by the
    drift's estimation noise (a positive quadratic form of it), and its bar excludes the truth;
    the corrected rate (2·mean path − per-sample mean) is within 1.96 of its bars and closer.
    Measured before this test was written (a one-off script, the same protocol): bbb per-sample
    1.636 ± 0.326, corrected 0.554 ± 0.631; ensemble 2.107 ± 0.440, corrected 0.978 ± 0.715
    (bench/lbn_ep_bias.py over four datasets per method and N = 2, 4, 8: bench/RESULTS.md,
    "EP bias correction")."""
    m = si.models.BeadSpring(n_beads=8)
    traj = si.simulate(m, n_traj=5, n_steps=3000, dt=0.01, substeps=10, seed=100)
    fit = si.infer_langevin(traj, method=method, seed=0, progress=False)
    th = fit.thermodynamics(fit.simulate(100, 2000, seed=1))
    exact = m.ep_rate()
    assert abs(th["ep_rate"] - exact) < 1.96 * th["error"], th
    assert abs(th["ep_rate"] - exact) < abs(th["ep_rate_per_sample"] - exact), th
    assert th["ep_rate_per_sample"] - exact > 1.96 * th["error_per_sample"], th  # the bias the correction removes
