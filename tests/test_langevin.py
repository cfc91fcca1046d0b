"""Langevin inference (methods.md §3): the Python pipeline on small data, bad
input, reproducibility and interruption. Acceptance at the default data size is
in test_langevin_acceptance.py (slow)."""

import dataclasses
import importlib.util
import json
import os
import threading
import time
import warnings

import numpy as np
import pytest

import stochinfer as si
from stochinfer.langevin import TrainSettings, metrics
from stochinfer.langevin.data import tril_outer, tril_to_matrix
from conftest import sigint_after

A = np.array([[-1.0, 0.5], [-0.5, -1.0]])
D = np.array([[1.0, 0.3], [0.3, 0.5]])
FAST = dict(hidden=32, drift_settings=TrainSettings(n_iter=1200, batch=256),
            diffusion_settings=TrainSettings(n_iter=800, batch=256))


@pytest.fixture(scope="module")
def ou():
    m = si.models.LinearOU(A, D)
    return m, si.simulate(m, 10, 2000, 0.01, substeps=10, seed=3)


@pytest.fixture(scope="module")
def ou_fit(ou):
    m, tr = ou
    return si.infer_langevin(tr, **FAST)


def test_tril_helpers_round_trip():
    a = np.random.default_rng(0).normal(size=(5, 3))
    M = tril_to_matrix(tril_outer(a), 3)
    np.testing.assert_allclose(M, a[:, :, None] * a[:, None, :], rtol=1e-15)


def test_linear_ou_drift_and_diffusion_recovered(ou, ou_fit):
    m, _ = ou
    te = si.simulate(m, 1, 5000, 0.01, substeps=10, seed=99)
    rep = ou_fit.report(m, points=te.x[0, ::5])
    assert rep["drift"]["r2"] >= 0.9, rep["drift"]
    assert rep["diffusion"]["relative_error"] <= 0.1, rep["diffusion"]
    assert rep["provenance"]["kl_gradient"] == "elbo" and rep["provenance"]["method"] == "bbb"


def test_default_report_takes_the_correlation_p_value_from_blocks_of_the_validation_states(ou, ou_fit):
    """The validation states are a trajectory's last 20% of time, in order: 20 blocks."""
    m, _ = ou
    n_val = len(ou_fit._val_states[0])
    c = ou_fit.report(m)["drift"]["calibration"]
    assert c["block_length"] == n_val // 20 and c["stderr"] > 0
    assert f"{c['corr']:+.2f} ± {c['stderr']:.2f} (block p = " in ou_fit.format_report(ou_fit.report(m))

    class HalfScored:  # a truth that scores only the states with x > median, in time order still
        drift, diffusion = m.drift, m.diffusion

        @staticmethod
        def scoring_mask(pts):
            return pts[:, 0] > np.median(ou_fit._val_states[0][:, 0])
    rep = ou_fit.report(HalfScored())
    kept = rep["n_points"]
    c = rep["drift"]["calibration"]
    # 20 blocks of equal time over all the states: the left-out states keep their place
    assert kept < n_val and c["block_length"] == n_val // 20 and c["n_blocks"] == 20
    pts = ou_fit._val_states[0]
    keep = HalfScored.scoring_mask(pts)
    est = ou_fit.drift(pts[keep])
    direct = metrics.calibration(m.drift(pts[keep], 0.0), est.mean, est.std, block_length=n_val // 20,
                                 kept=keep)
    assert c["stderr"] == direct["stderr"] and c["p_value"] == direct["p_value"]

    def truth_keeping(rule):
        class Masked:
            drift, diffusion = m.drift, m.diffusion
            scoring_mask = staticmethod(rule)
        return Masked()
    # states scored over the first 30% of the time only: 20 blocks over that span (a block length
    # from all the states left 6 blocks and raised)
    early = ou_fit.report(truth_keeping(lambda p: np.arange(len(p)) < 0.3 * len(p)))["drift"]["calibration"]
    assert early["n_blocks"] == 20 and early["block_length"] == int(np.ceil(0.3 * n_val)) // 20
    # two clusters at the ends: the span's 20 blocks hold states in 2 only: Fisher's p
    ends = ou_fit.report(truth_keeping(lambda p: (np.arange(len(p)) < 100) | (np.arange(len(p)) >= len(p) - 100)))
    assert "block_length" not in ends["drift"]["calibration"] and ends["n_points"] == 200


def test_field_shapes_bands_and_positive_definite_diffusion(ou_fit):
    pts = np.random.default_rng(1).normal(size=(50, 2))
    f = ou_fit.drift(pts, n_samples=30, return_samples=True)
    assert f.mean.shape == (50, 2) and f.samples.shape == (30, 50, 2)
    assert np.all(f.lo <= f.mean) and np.all(f.mean <= f.hi) and np.all(f.std > 0)
    g = ou_fit.diffusion(pts, n_samples=30, return_samples=True)
    assert g.mean.shape == (50, 2, 2) and g.samples.shape == (30, 50, 2, 2)
    np.testing.assert_allclose(g.samples, np.swapaxes(g.samples, -1, -2))
    assert np.all(np.linalg.eigvalsh(g.samples) > 0)
    # same seed, same samples; another seed, other samples
    np.testing.assert_array_equal(ou_fit.drift(pts, n_samples=30).mean, f.mean)
    assert not np.array_equal(ou_fit.drift(pts, n_samples=30, seed=1).mean, f.mean)


def test_bands_widen_away_from_the_data(ou_fit):
    near = np.random.default_rng(2).normal(scale=0.3, size=(200, 2))
    far = near + 6.0
    w_near = ou_fit.drift(near, n_samples=100).std.mean()
    w_far = ou_fit.drift(far, n_samples=100).std.mean()
    assert w_far > 2 * w_near


def test_same_seed_same_fit(ou):
    _, tr = ou
    short = dict(hidden=16, drift_settings=TrainSettings(n_iter=100), diffusion_settings=TrainSettings(n_iter=50))
    a = si.infer_langevin(tr, seed=4, n_threads=3, **short)  # explicit: the default is vacuous on one core
    b = si.infer_langevin(tr, seed=4, n_threads=1, **short)
    pts = np.zeros((3, 2))
    np.testing.assert_array_equal(a.drift(pts).mean, b.drift(pts).mean)
    np.testing.assert_array_equal(a.diffusion(pts).mean, b.diffusion(pts).mean)


@pytest.mark.parametrize("method", ["ensemble", "bbb"])
def test_networks_of_one_fit_share_no_member_initialisation(method, monkeypatch):
    """(review, session 25) Member e of a network starts from seed + e. The networks of a fit
    took seeds seed, seed + 1, seed + 2: drift member 1 started from drift_shifted's member 0
    (and diffusion's, two members apart). Their seed ranges must not overlap; Bayes-by-Backprop's
    single-member networks keep seed, seed + 1, seed + 2."""
    from stochinfer.langevin import field_net
    made = []
    init = field_net.FieldNetwork.__init__

    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append((kwargs["seed"], self.config["n_members"]))
    monkeypatch.setattr(field_net.FieldNetwork, "__init__", spy)
    tr = si.simulate(si.models.VanDerPol(), n_traj=1, n_steps=1500, dt=0.01, substeps=10, seed=0)
    si.infer_langevin(tr, regime="underdamped", method=method, n_members=3, seed=5, hidden=8,
                      drift_settings=TrainSettings(n_iter=20), diffusion_settings=TrainSettings(n_iter=20))
    ranges = [set(range(seed, seed + n)) for seed, n in made]
    assert len(made) == 3  # drift, drift_shifted, diffusion
    assert all(not (a & b) for i, a in enumerate(ranges) for b in ranges[i + 1:]), made
    if method == "bbb":
        assert [seed for seed, _ in made] == [5, 6, 7]


def test_ensemble_and_homogeneous_diffusion(ou):
    m, tr = ou
    fit = si.infer_langevin(tr, method="ensemble", n_members=4, homogeneous_diffusion=True, **FAST)
    pts = np.random.default_rng(3).normal(size=(400, 2))
    d = fit.drift(pts, return_samples=True)
    assert d.samples.shape == (4, 400, 2)
    g = fit.diffusion(pts)
    np.testing.assert_allclose(g.mean, g.mean[:1].repeat(400, axis=0))  # constant D
    assert metrics.relative_error(m.diffusion(pts), g.mean) <= 0.1
    assert fit.report(m, points=pts)["provenance"]["method"] == "ensemble"
    h = fit.histories["drift"]  # the summary states the members' own checkpoints, not a shared one
    assert f"at updates {h['member_best_iterations']}" in fit.summary()
    assert f"{np.mean(h['member_best_val_loss']):.6g} (mean)" in fit.summary()


def test_metrics_against_hand_computed_values():
    f = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    g = f + 0.1
    assert metrics.r2(f, f) == 1.0
    assert metrics.r2(f, g) == pytest.approx(1 - 6 * 0.01 / np.sum((f - f.mean(0)) ** 2))
    assert metrics.relative_error(f, g) == pytest.approx(np.sqrt(0.06 / 4))
    # methods.md §3.5 on two samples f + 0.1 and f + 0.3: every error² 0.01 or 0.09, every sample
    # variance 0.01; mean f̂² = mean of (f + 0.1)² and (f + 0.3)² over the six entries
    two = np.stack([f + 0.1, f + 0.3])
    mean_sq = (np.sum((f + 0.1) ** 2) + np.sum((f + 0.3) ** 2)) / 12
    assert metrics.relative_mse(f, two) == pytest.approx(0.05 / mean_sq)
    assert metrics.total_uncertainty(two) == pytest.approx(0.01 / mean_sq)
    assert np.isnan(metrics.total_uncertainty(two[:1]))
    assert metrics.coverage(f, f - 0.05, f + 0.2) == 1.0
    assert metrics.coverage(f, f + 0.05, f + 0.2) == 0.0
    rng = np.random.default_rng(0)
    std = np.exp(rng.normal(size=(500, 1)))
    est = std * rng.normal(size=(500, 2))  # errors proportional to the std: positive correlation
    c = metrics.calibration(np.zeros((500, 2)), est, np.repeat(std, 2, axis=1))
    assert c["corr"] > 0.3 and c["p_value"] < 1e-6
    flat = metrics.calibration(np.zeros((500, 2)), est, np.ones((500, 2)))  # a constant band: undefined
    assert np.isnan(flat["corr"]) and np.isnan(flat["p_value"]) and flat["n"] == 500


def test_calibration_reports_each_component_and_sums_absolute_errors():
    """(review, session 26) The pointwise sums let a large component hide the others
    (Hodgkin–Huxley: the voltage); each component's correlation is reported too. The headline
    is the correlation of the logs of the summed absolute squared error and variance, computed
    here by hand; §3.5's per-point relative normalisation is not used (it correlates the logs
    by itself)."""
    rng = np.random.default_rng(1)
    n = 2000
    s0, s1 = np.exp(rng.normal(size=n)), np.exp(rng.normal(size=n))
    truth = np.zeros((n, 2))
    mean = np.stack([s0 * rng.normal(size=n), 0.01 * rng.normal(size=n)], axis=1)  # component 1's error: noise
    std = np.stack([s0, 0.01 * s1], axis=1)
    c = metrics.calibration(truth, mean, std, block_length=100)
    err, var = np.sum(mean ** 2, axis=1), np.sum(std ** 2, axis=1)
    assert c["corr"] == pytest.approx(np.corrcoef(np.log(err), np.log(var))[0, 1], rel=1e-12)
    first, second = c["components"]
    for k, part in enumerate((first, second)):
        alone = metrics.calibration(truth[:, k], mean[:, k], std[:, k], block_length=100)
        assert part == {"corr": alone["corr"], "p_value": alone["p_value"]} and "components" not in alone
    assert first["corr"] > 0.3 and first["p_value"] < 1e-6  # tracks its error
    assert abs(second["corr"]) < 4 / np.sqrt(n) and second["p_value"] > 1e-3  # independent of it
    # (dividing both by one per-point scale, as §3.5 does, would make the uninformative component look
    # calibrated: 1/sqrt((π²/2 + 1)(4 + 1)) = 0.18 for a unit log-normal scale; bench/RESULTS.md)


def _ar1(n: int, phi: float, rng) -> np.ndarray:
    x = np.empty(n)
    x[0] = rng.normal() / np.sqrt(1 - phi ** 2)
    for i, e in enumerate(rng.normal(size=n - 1), start=1):
        x[i] = phi * x[i - 1] + e
    return x


def test_block_bootstrap_stderr_of_the_calibration_correlation_matches_bartlett():
    """Two independent AR(1) series (φ = 0.9) as log error and log variance of states
    along a trajectory: the sample correlation's standard error is Bartlett's
    sqrt((1 + φ²)/((1 − φ²) n)), 3.1x Fisher's 1/sqrt(n − 3). The bootstrap over
    200 blocks estimates it with ~5% relative error (1/sqrt(2 × 200)); 15% is 3 of those."""
    rng = np.random.default_rng(1)
    n, phi = 40_000, 0.9
    log_err, log_var = _ar1(n, phi, rng), _ar1(n, phi, rng)
    truth, mean, std = np.zeros((n, 1)), np.exp(log_err / 2)[:, None], np.exp(log_var / 2)[:, None]
    c = metrics.calibration(truth, mean, std, block_length=200)
    bartlett = np.sqrt((1 + phi ** 2) / ((1 - phi ** 2) * n))
    assert c["stderr"] == pytest.approx(bartlett, rel=0.15)
    assert c["corr"] == pytest.approx(np.corrcoef(log_err, log_var)[0, 1], abs=1e-12)
    # one-sided p of 'positive' from Student's t with (blocks − 1) dof, scipy-free reference: a t variate's tail
    t = rng.standard_t(c["n_blocks"] - 1, size=400_000)
    assert c["p_value"] == pytest.approx(np.mean(t > c["corr"] / c["stderr"]), abs=0.003)
    flipped = metrics.calibration(truth, mean, np.exp(-log_var / 2)[:, None], block_length=200)  # r -> -r
    assert flipped["corr"] == pytest.approx(-c["corr"]) and flipped["p_value"] == pytest.approx(1 - c["p_value"])
    independent = metrics.calibration(truth, mean, std, block_length=1)  # blocks of one point: Fisher's
    assert independent["stderr"] == pytest.approx(1 / np.sqrt(n - 3), rel=0.15)
    with pytest.raises(ValueError, match="block_length=10000 leaves 4 blocks"):
        metrics.calibration(truth, mean, std, block_length=10_000)


def test_block_bootstrap_blocks_are_spans_of_time_not_runs_of_kept_points():
    """Points kept from a longer time-ordered sequence (kept, a mask): each block is
    block_length consecutive states of the sequence, holding however many were kept.
    Reference: a plain loop over the same resampled block indices, concatenating each
    resample's points and taking numpy's correlation."""
    rng = np.random.default_rng(4)
    span, block, n_boot = 1000, 50, 200
    kept = (rng.random(span) < 0.7) & ((np.arange(span) // 50) % 5 != 2)  # gaps; 4 empty blocks
    kept[-30:] = False  # the last block is part-filled, not a tail to drop
    positions = np.flatnonzero(kept)
    n = positions.size
    log_err = np.sin(positions / 40.0) + 0.5 * rng.normal(size=n)
    log_var = 0.4 * log_err + rng.normal(size=n)
    truth, mean, std = np.zeros((n, 1)), np.exp(log_err / 2)[:, None], np.exp(log_var / 2)[:, None]
    c = metrics.calibration(truth, mean, std, block_length=block, n_boot=n_boot, seed=3, kept=kept)
    blocks = [np.flatnonzero(positions // block == k) for k in range(span // block)]
    blocks = [ix for ix in blocks if ix.size]
    assert c["n_blocks"] == len(blocks) == 16
    draws = np.random.default_rng(3).integers(0, len(blocks), size=(n_boot, len(blocks)))
    r = [np.corrcoef(*(np.concatenate([v[blocks[k]] for k in d]) for v in (log_err, log_var)))[0, 1]
         for d in draws]
    assert c["stderr"] == pytest.approx(np.std(r, ddof=1) * np.sqrt(16 / 15), rel=1e-9)
    assert c["corr"] == pytest.approx(np.corrcoef(log_err, log_var)[0, 1], abs=1e-12)
    # without positions the kept points are taken as consecutive: other blocks, another error
    assert metrics.calibration(truth, mean, std, block_length=block, n_boot=n_boot, seed=3)["n_blocks"] == n // block
    with pytest.raises(ValueError, match="kept must be a 1-D boolean mask"):
        metrics.calibration(truth, mean, std, block_length=block, kept=kept.astype(int))
    with pytest.raises(ValueError, match="kept must be a 1-D boolean mask"):
        metrics.calibration(truth, mean, std, block_length=block, kept=kept[:-60])


def test_bad_input_is_rejected_with_clear_errors(ou):
    m, tr = ou
    x = tr.x.copy()
    with pytest.raises(ValueError, match="regime"):
        si.infer_langevin(x, dt=0.01, regime="inertial")
    bad = x.copy()
    bad[0, 5, 1] = np.nan
    with pytest.raises(ValueError, match=r"data contains NaN \(first at index \(0, 5, 1\)\); missing frames\? pass "
                                         "gaps='split'"):
        si.infer_langevin(bad, dt=0.01)
    bad[0, 5, 1] = np.inf
    with pytest.raises(ValueError, match=r"data contains NaN or inf \(first at index \(0, 5, 1\)\); remove those"):
        si.infer_langevin(bad, dt=0.01)
    with pytest.raises(ValueError, match="dt is required"):
        si.infer_langevin(x)
    with pytest.raises(TypeError, match=r"got dtype int64: convert it with data.astype\(float\)"):
        si.infer_langevin(np.round(x).astype(np.int64), dt=0.01)
    with pytest.raises(ValueError, match=r"pass data\[:, None\] \(shape \(L, 1\)\)"):
        si.infer_langevin(x[0, :, 0], dt=0.01)
    with pytest.raises(ValueError, match="does not match"):
        si.infer_langevin(tr, dt=0.02)
    with pytest.raises(ValueError, match="dt must be > 0"):
        si.infer_langevin(x, dt=-1.0)
    with pytest.raises(ValueError, match="too few points"):
        si.infer_langevin(x[:1, :40], dt=0.01)
    with pytest.raises(ValueError, match="method"):
        si.infer_langevin(x, dt=0.01, method="dropout")
    with pytest.raises(ValueError, match="lr must be"):
        si.infer_langevin(x, dt=0.01, drift_settings=TrainSettings(lr=-1.0))
    noiseless = x.copy()
    noiseless[..., 1] = 0.5 * noiseless[..., 0]  # second component carries no independent noise
    with pytest.raises(ValueError, match="singular"):
        si.infer_langevin(noiseless, dt=0.01, **FAST)
    with pytest.raises(ValueError, match="5 trajectories"):
        si.infer_langevin(x[:3], dt=0.01, time_dependent=True, t0=0.0)
    with pytest.raises(TypeError, match="measurement_noise must be a real number"):
        si.infer_langevin(x, dt=0.01, measurement_noise="0.1")
    with pytest.raises(TypeError, match="beta must be a real number"):
        si.infer_langevin(x, dt=0.01, drift_settings=TrainSettings(beta="0.1"))
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd'"):
        si.infer_langevin(x, dt=0.01, drift_settings=TrainSettings(optimizer="SGD"))
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        si.infer_langevin(x, dt=0.01, drift_settings=TrainSettings(optimizer="sgd", momentum=1.0))
    with pytest.raises(ValueError, match="weight_decay"):
        si.infer_langevin(x, dt=0.01, drift_settings=TrainSettings(weight_decay=-0.1))


def test_sgd_with_momentum_trains_the_fields(ou):
    """optimizer='sgd' (the resetting paper's optimiser) trains the networks alone (no drift or
    diffusion base, which would fit the OU fields by themselves) to the targets on the OU data
    (drift R² 0.927, D error 0.082; Adam 1e-3: 0.960, 0.025; SGD at Adam's lr 1e-3: −0.57, 0.36).
    Adam's second moments stay zero: SGD ran."""
    m, tr = ou
    sgd = dict(batch=256, optimizer="sgd", lr=0.5, momentum=0.9)
    fit = si.infer_langevin(tr, hidden=32, drift_settings=TrainSettings(n_iter=1200, **sgd),
                            diffusion_settings=TrainSettings(n_iter=800, **sgd), drift_base="none",
                            diffusion_base="none")
    te = si.simulate(m, 1, 5000, 0.01, substeps=10, seed=99)
    rep = fit.report(m, points=te.x[0, ::5])
    assert rep["drift"]["r2"] >= 0.9, rep["drift"]
    assert rep["diffusion"]["relative_error"] <= 0.1, rep["diffusion"]
    for name in ("drift", "diffusion"):
        momentum, second_moment, _ = fit.nets[name].net.get_adam_state()
        assert momentum.any() and not second_moment.any()


def test_points_must_match_the_fit(ou_fit):
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        ou_fit.drift(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        ou_fit.diffusion(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="level"):
        ou_fit.drift(np.zeros((2, 2)), level=1.5)


def test_ctrl_c_keeps_the_best_model(ou):
    _, tr = ou
    # 20 000 updates (about a minute): long enough for the signal at 3 s, and a lost
    # signal fails the assertion below instead of hanging the run
    long = TrainSettings(n_iter=20_000, eval_every=20, patience=None)
    with sigint_after(3.0), pytest.warns(UserWarning, match="interrupted"):
        fit = si.infer_langevin(tr, hidden=64, drift_settings=long, diffusion_settings=long)
    h = fit.histories["drift"]
    assert h["interrupted"] and h["iterations"] < 20_000
    assert fit.interrupted and not si.LangevinFit.interrupted.fget(_finished(fit))
    assert np.all(np.isfinite(fit.drift(np.zeros((2, 2))).mean))
    # the networks after the interrupted one train for one evaluation block: the call returns promptly
    assert fit.histories["diffusion"]["iterations"] == 20
    assert np.all(np.isfinite(fit.diffusion(np.zeros((2, 2))).mean))


def test_ctrl_c_stops_inside_one_update_of_a_large_batch():
    """One update of 960 000 rows (1000× the training rows, the largest allowed) takes seconds;
    Ctrl-C waited for it. The signal now skips the update's remaining chunks and drops it."""
    m = si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.eye(2))
    x = si.simulate(m, 2, 600, 0.01, substeps=5, seed=2).x  # 960 training rows
    kw = dict(progress=False, diffusion_settings=TrainSettings(n_iter=2))
    start = time.perf_counter()
    si.infer_langevin(x, 0.01, drift_settings=TrainSettings(n_iter=1, batch=960_000), **kw)
    one = time.perf_counter() - start  # mostly the one update
    with sigint_after(0.3) as elapsed, pytest.raises(KeyboardInterrupt):  # before the first checkpoint
        si.infer_langevin(x, 0.01, drift_settings=TrainSettings(n_iter=100, batch=960_000), **kw)
    assert elapsed() < 0.3 + max(0.3 * one, 1.0), (elapsed(), one)  # a shared machine: slack, not a whole update


def _finished(fit):
    """A stand-in with the fit's histories marked as finished."""
    class Finished:
        histories = {k: dict(h, interrupted=False) for k, h in fit.histories.items()}
    return Finished()


def test_inferred_equation_reproduces_the_ep_rate(ou, ou_fit):
    """Medium EP along paths of the inferred OU equation vs the analytic σ, within
    3 of the reported error bars (posterior spread and path noise combined)."""
    m, _ = ou
    sim = ou_fit.simulate(40, 1500, n_samples=8, seed=2)
    assert sim.x.shape == (8, 40, 1501, 2) and sim.mode == "per_sample"
    th = ou_fit.thermodynamics(sim)
    assert th["error"] > 0 and th["per_sample"].shape == (8,)
    assert abs(th["ep_rate"] - m.ep_rate()) < 3 * th["error"], (th, m.ep_rate())
    # (review, session 26) the comparison with σ above passes any read-out scaled by 0.44–1.36; the
    # read-out itself against numpy float64: rate_j = Σ (D̂_j⁻¹F̂_j)(x̄)·Δx / (n_traj · total time) along
    # sample j's paths, at the Stratonovich mid-points, with sample j's weights (posterior_seed)
    rate = np.empty(8)
    for j in range(8):
        x = sim.x[j].astype(np.float64)
        mid, dx = (0.5 * (x[:, 1:] + x[:, :-1])).reshape(-1, 2), np.diff(x, axis=1).reshape(-1, 2)
        F = ou_fit.drift_samples(mid, n_samples=8, seed=sim.settings["posterior_seed"])[j]
        D = ou_fit.diffusion_samples(mid, n_samples=8, seed=sim.settings["posterior_seed"])[j]
        rate[j] = np.sum(np.linalg.solve(D, F[..., None])[..., 0] * dx) / (40 * 1500 * sim.dt)
    np.testing.assert_allclose(th["per_sample"], rate, rtol=1e-6)
    assert th["ep_rate_per_sample"] == pytest.approx(rate.mean(), rel=1e-6)
    # the error bar: the spread of the 8 samples' rates with the Monte Carlo error of their mean
    # (σ√(1 + 1/8); session 26), and the noise of the 40 paths' mean rate, in quadrature
    assert th["posterior_std"] == pytest.approx(rate.std(ddof=1), rel=1e-6)
    raw_error = np.hypot(rate.std(ddof=1) * np.sqrt(1 + 1 / 8), th["stderr_paths"])
    assert th["error_per_sample"] == pytest.approx(raw_error, rel=1e-6)
    # the bias correction: the posterior-mean equation simulated with the same noise and start states;
    # corrected = 2·(its EP) − (per-sample mean), its size added to the bar in quadrature
    mean_path = ou_fit.simulate(40, 1500, n_samples=8, seed=2, mode="ensemble_mean", x0=sim.x[0, :, 0])
    mean_rate = ou_fit.thermodynamics(mean_path, bias_correction=False)["ep_rate"]
    assert th["ep_rate_mean_path"] == pytest.approx(mean_rate, rel=1e-9)
    assert th["bias_estimate"] == pytest.approx(rate.mean() - mean_rate, rel=1e-6)
    assert th["ep_rate"] == pytest.approx(2 * mean_rate - rate.mean(), rel=1e-6)
    assert th["error"] == pytest.approx(np.hypot(raw_error, rate.mean() - mean_rate), rel=1e-6)
    # a burn-in cut off (review, session 32): the mean path is simulated from the original start states and
    # cut alike, not started at the cut from posterior sample 0's states
    cut = dataclasses.replace(sim, x=sim.x[:, :, 500:], t=sim.t[500:])
    mean_cut = dataclasses.replace(mean_path, x=mean_path.x[:, :, 500:], t=mean_path.t[500:])
    assert ou_fit.thermodynamics(cut)["ep_rate_mean_path"] == pytest.approx(
        ou_fit.thermodynamics(mean_cut, bias_correction=False)["ep_rate"], rel=1e-9)
    some = ou_fit.thermodynamics(dataclasses.replace(sim, x=sim.x[:, :10]))  # which 10 of the 40: not known
    assert "not corrected: sim holds 10 of the 40" in some["note"] and "bias_estimate" not in some
    uncorrected = ou_fit.thermodynamics(sim, bias_correction=False)
    assert uncorrected["ep_rate"] == th["ep_rate_per_sample"] and "bias_estimate" not in uncorrected
    # Ctrl-C in the correction's simulation (session 34; it lost the read-out already made): the
    # uncorrected read-out, with a warning, a note and interrupted=True
    import stochinfer.langevin.simulate_fit as simulate_fit

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt
    original, simulate_fit.simulate_fit = simulate_fit.simulate_fit, ctrl_c
    try:
        with pytest.warns(UserWarning, match="Ctrl-C stopped the correction's simulation"):
            stopped = ou_fit.thermodynamics(sim)
    finally:
        simulate_fit.simulate_fit = original
    assert stopped["interrupted"] and stopped["ep_rate"] == th["ep_rate_per_sample"]
    assert "not corrected: Ctrl-C" in stopped["note"] and "bias_estimate" not in stopped
    with pytest.raises(TypeError, match="bias_correction"):
        ou_fit.thermodynamics(sim, bias_correction="yes")
    with pytest.warns(UserWarning, match="every 3 steps: a coarse-grained estimate, biased low"):
        ou_fit.thermodynamics(ou_fit.simulate(10, 60, n_samples=2, seed=2, record_every=3))
    again = ou_fit.simulate(40, 100, n_samples=8, seed=2)
    np.testing.assert_array_equal(again.x[:, :, :101], sim.x[:, :, :101])
    mean_path = ou_fit.simulate(10, 50, n_samples=8, seed=2, mode="ensemble_mean", x0=np.zeros(2))
    assert mean_path.x.shape == (1, 10, 51, 2) and np.all(mean_path.spread[:, 1:] > 0)
    # the one mean path carries no posterior spread (the fields' spread along it was reported as one)
    th = ou_fit.thermodynamics(mean_path)
    assert np.isnan(th["posterior_std"]) and th["error"] == th["stderr_paths"] and "path noise only" in th["note"]
    assert "not corrected" in th["note"] and "bias_estimate" not in th  # nothing to estimate the bias from
    th = ou_fit.thermodynamics(ou_fit.simulate(10, 50, n_samples=1, seed=2))  # likewise one posterior sample
    assert np.isnan(th["posterior_std"]) and th["error"] == th["stderr_paths"] and "n_samples >= 2" in th["note"]
    with pytest.raises(ValueError, match="n_traj >= 2"):  # the path noise needs two paths
        ou_fit.thermodynamics(ou_fit.simulate(1, 50, n_samples=2, seed=2))
    with pytest.raises(ValueError, match="n_samples must be < 2"):
        ou_fit.simulate(2, 2, n_samples=2**31)
    with pytest.raises(ValueError, match="mode"):
        ou_fit.simulate(2, 2, mode="independent")
    with pytest.raises(ValueError, match="x0 must have shape"):
        ou_fit.simulate(2, 2, x0=np.zeros(3))


def test_bbb_without_bayesian_layers_is_a_usable_point_estimate(ou):
    _, tr = ou
    with pytest.warns(UserWarning, match="a point estimate, with bands of zero width"):
        fit = si.infer_langevin(tr, n_bayes=0, homogeneous_diffusion=True, **FAST)
    pts = np.random.default_rng(2).normal(size=(20, 2))
    d, g = fit.drift(pts), fit.diffusion(pts)  # drift and diffusion give one output each
    assert np.all(d.std == 0) and np.all(g.std == 0)
    assert np.isfinite(fit.simulate(2, 5).x).all()
    th = fit.thermodynamics(fit.simulate(2, 5))  # one output: no posterior to correct the EP's bias with
    assert th["posterior_std"] == 0 and "not corrected" in th["note"] and "bias_estimate" not in th
    with pytest.warns(UserWarning, match="a point estimate"):
        based = si.infer_langevin(tr, n_bayes=0, **FAST)  # the quadratic diffusion base is not sampled
    np.testing.assert_array_equal(based.diffusion(pts, seed=1).mean, based.diffusion(pts, seed=2).mean)


def test_report_refuses_a_truth_of_the_wrong_shape(ou, ou_fit):
    m, _ = ou
    pts = np.random.default_rng(4).normal(size=(50, 2))

    class Transposed:
        diffusion = staticmethod(m.diffusion)

        def drift(self, x, t=0.0):
            return m.drift(x).T  # (d, n): reshaping it would scramble the components

    with pytest.raises(ValueError, match=r"truth.drift returned shape \(2, 50\) for 50 points; expected \(50, 2\)"):
        ou_fit.report(Transposed(), points=pts)

    class Scalar:
        drift = staticmethod(m.drift)

        def diffusion(self, x, t=0.0):
            return 0.7
    with pytest.raises(ValueError, match=r"truth.diffusion returned shape \(\)"):
        ou_fit.report(Scalar(), points=pts)

    class Constant:  # constant fields (d,) and (d, d) are broadcast
        def drift(self, x, t=0.0):
            return np.ones(2)

        def diffusion(self, x, t=0.0):
            return D
    assert ou_fit.report(Constant(), points=pts)["diffusion"]["relative_error"] < 0.1


def test_noise_check_can_be_turned_off_for_drift_dominated_noisy_data():
    """A fast rotation (0.2 rad per step) over weak noise: increments look smooth, so the
    default refuses the data as noiseless and names the way out; without the check the
    fit recovers the drift."""
    m = si.models.LinearOU(np.array([[-1.0, 20.0], [-20.0, -1.0]]), 0.1 * np.eye(2))
    tr = si.simulate(m, 1, 3000, 0.01, substeps=10, seed=0)
    with pytest.raises(ValueError, match=r"look noiseless.*noise_check=False \(--no-noise-check\)"):
        si.infer_langevin(tr, **FAST)
    fit = si.infer_langevin(tr, noise_check=False, **FAST)
    pts = si.simulate(m, 1, 3000, 0.01, substeps=10, seed=1).x[0, ::3]
    assert fit.report(m, points=pts)["drift"]["r2"] > 0.95


def test_noiseless_coordinates_get_exactly_zero_diffusion():
    """dx1 = (−x1 + x2) dt without noise, dx2 = −x2 dt + √2 dW: D = diag(0, 1)."""
    m = si.models.LinearOU(np.array([[-1.0, 1.0], [0.0, -1.0]]), np.diag([1e-12, 1.0]))
    tr = si.simulate(m, 10, 2000, 0.01, substeps=10, seed=5)
    x = tr.x.copy()
    with pytest.raises(ValueError, match="noiseless="):
        si.infer_langevin(x, dt=0.01, **FAST)
    fit = si.infer_langevin(x, dt=0.01, noiseless=[0], **FAST)
    g = fit.diffusion(np.random.default_rng(0).normal(size=(100, 2)), return_samples=True)
    assert np.all(g.samples[..., 0, :] == 0) and np.all(g.samples[..., :, 0] == 0)
    assert abs(g.mean[:, 1, 1].mean() - 1.0) < 0.1
    sim = fit.simulate(5, 20, n_samples=4)
    assert np.all(np.isfinite(sim.x))
    th = fit.thermodynamics(sim)  # EP on the noisy subspace
    assert np.isfinite(th["ep_rate"]) and th["error"] > 0
    with pytest.raises(ValueError, match="noiseless must list"):
        si.infer_langevin(x, dt=0.01, noiseless=[2], **FAST)
    # the noiseless coordinate's drift comes from its own network (FAST fixes n_iter: the same updates)
    q = fit.nets["drift_noiseless"]
    pts = np.random.default_rng(1).normal(size=(30, 2))
    z = (pts - fit.norm["mu_x"]) / fit.norm["s_x"]
    np.testing.assert_allclose(fit._drift_from_inputs(z, 0, 0)[0, :, 0],
                               q.samples(z, 0, 0)[0, :, 0] * fit.norm["s_x"][0], rtol=1e-5, atol=1e-6)
    assert fit.provenance()["separate_noiseless_drift"]
    joint = si.infer_langevin(x, dt=0.01, noiseless=[0], separate_noiseless_drift=False, **FAST)
    assert "drift_noiseless" not in joint.nets and not joint.provenance()["separate_noiseless_drift"]

    class Wrong:  # a truth whose noisy D is 3 times the fit's: no band holds it
        drift = staticmethod(m.drift)

        def diffusion(self, x, t=0.0):
            return np.broadcast_to(np.diag([0.0, 3.0]), (len(x), 2, 2))
    # coverage over the distinct entries of the noisy block: the exact zeros do not count as covered
    assert fit.report(Wrong())["diffusion"]["coverage"] == 0.0


def test_report_scores_hodgkin_huxley_only_inside_its_scoring_mask():
    m = si.models.HodgkinHuxley()
    pts = np.array([[0.0, 0.3, 0.05, 0.6], [0.0, 0.3, 0.005, 0.6], [0.0, 1.0, 0.5, 0.5], [10.0, 0.5, 0.5, 0.98]])
    np.testing.assert_array_equal(m.scoring_mask(pts), [True, False, False, True])
    tr = si.simulate(m, 1, 3000, 0.01, substeps=10, seed=0)
    fit = si.infer_langevin(tr, noiseless=[0], **FAST)
    states = fit._val_states[0]
    rep = fit.report(m)
    keep = m.scoring_mask(states)
    assert rep["n_points"] == keep.sum() and rep["n_excluded"] == (~keep).sum()
    assert rep["n_excluded"] > 0  # spikes drive gates to their bounds within 30 ms
    assert "left out" in fit.format_report(rep)
    with pytest.raises(ValueError, match="scoring_mask"):
        fit.report(m, points=pts[1:3])


def test_default_training_length_scales_with_the_data():
    s = TrainSettings(batch=256)
    assert s.resolved_n_iter(8000) == 3000             # one trajectory of 10⁴ points: ~100 passes
    assert s.resolved_n_iter(800_000) == 3 * 3125      # 100 Carnot cycles: three passes
    assert s.resolved_n_iter(10**8) == 15_000
    assert TrainSettings(n_iter=7).resolved_n_iter(10**6) == 7


def test_driven_underdamped_path_runs_end_to_end():
    """Time as an input, split by trajectory, underdamped corrections, periodic
    simulation and the Carnot read-out (accuracy is in the slow checks)."""
    m = si.models.BrownianCarnot(tau=10.0)
    tr = si.simulate(m, n_traj=10, n_steps=1000, dt=0.01, substeps=10, seed=0)
    fit = si.infer_langevin(tr, regime="underdamped", time_dependent=True, **FAST)
    assert set(fit.nets) == {"drift", "drift_shifted", "diffusion"}
    z = np.array([[0.5, 0.0], [-0.5, 1.0]])
    with pytest.raises(ValueError, match="pass t"):
        fit.drift(z)
    assert fit.drift(z, t=2.0).mean.shape == (2, 1)
    if importlib.util.find_spec("matplotlib") is not None:  # a driven fit's figure says at which time it is drawn
        import matplotlib.pyplot as plt  # (an ImportError from the library itself is not swallowed)
        assert any("at t = 1.25" in ax.get_title() for ax in fit.plot(t=1.25).axes)
        plt.close("all")
    with pytest.raises(ValueError, match="t reaches 1e\\+40 in magnitude"):
        fit.drift(z, t=1e40)
    with pytest.raises(TypeError, match="t must hold real numbers"):
        fit.drift(z, t="1")
    with pytest.raises(TypeError, match="points must hold real numbers"):
        fit.drift(z + 0j, t=2.0)
    rep = fit.report(m)
    prov = rep["provenance"]
    assert prov["diffusion_factor_3_2"] and prov["drift_correction_F_r"] == "linear" and prov["friction_correction"]
    assert np.shape(fit.norm["fr_linear"]) == (1 + 3, 1)  # (1, x, v, t) -> the one acceleration
    with pytest.raises(ValueError, match="drift_correction"):
        si.infer_langevin(tr, regime="underdamped", time_dependent=True, drift_correction="pointwise", **FAST)
    # the drift's unshrink uses the inferred mean friction (truth γ = 10, γΔt = 0.1); the diffusion
    # labels carry the local finite-γΔt factor, so D keeps the plain 3/2
    assert prov["friction"][0] == pytest.approx(m.gamma, rel=0.3)
    assert prov["diffusion_factor"] == [1.5] and prov["diffusion_base"] == "quadratic"
    assert np.isfinite(rep["drift"]["r2"]) and rep["drift"]["r2"] > 0.5
    sim = fit.simulate(4, 1000, x0=tr.x[:4, 0], v0=tr.v[:4, 0], n_samples=3, period=10.0)
    th = fit.thermodynamics(sim, m)
    assert np.isfinite(th["work_per_cycle"]) and th["error"] > 0 and np.isfinite(th["heat_hot"])
    mean_path = fit.simulate(4, 1000, x0=tr.x[:4, 0], v0=tr.v[:4, 0], n_samples=3, mode="ensemble_mean")
    th = fit.thermodynamics(mean_path, m)  # one path: no posterior spread, said so rather than 0
    assert np.isnan(th["posterior_std"]) and th["error"] == th["stderr_cycles"] and "path noise only" in th["note"]
    with pytest.raises(ValueError, match="differs from the simulation's period"):  # another engine's protocol
        fit.thermodynamics(sim, si.models.BrownianCarnot(tau=5.0))


@pytest.mark.parametrize("method", ["bbb", "ensemble"])
def test_underdamped_fit_does_not_depend_on_the_unit_of_time(method):
    """The same positions with dt = 0.01 and with dt = 1 (time in units 100 times larger): the
    drift in the second unit is the first divided by 100². Before the labels Δv̂ were made
    unitless, Bayes-by-Backprop's prior (and Adam's ε) took over in the coarser unit (R² 0.18)."""
    m = si.models.VanDerPol()
    tr = si.simulate(m, 4, 1500, 0.01, substeps=10, seed=2)
    fine = si.infer_langevin(tr.x, dt=0.01, regime="underdamped", method=method, n_members=3, **FAST)
    coarse = si.infer_langevin(tr.x, dt=1.0, regime="underdamped", method=method, n_members=3, **FAST)
    z = np.stack([tr.x[0, :200, 0], np.diff(tr.x[0, :201, 0]) / 0.01], axis=1)
    a = fine.drift(z).mean
    b = coarse.drift(z * np.array([1.0, 0.01])).mean * 100.0**2
    np.testing.assert_allclose(b, a, rtol=2e-3, atol=2e-3 * np.abs(a).max())
    # the velocity diffusion (position² / time³): its labels were not unitless until session 15
    # (Bayes-by-Backprop's D then moved by 10% between the two units)
    a, b = fine.diffusion(z).mean, coarse.diffusion(z * np.array([1.0, 0.01])).mean * 100.0**3
    np.testing.assert_allclose(b, a, rtol=2e-3, atol=2e-3 * np.abs(a).max())


def test_overdamped_diffusion_does_not_depend_on_the_units():
    """Positions ×10 and time ×100 coarser: D (position² / time) is the same number, the drift
    (position / time) a tenth."""
    m = si.models.Nonlinear()
    tr = si.simulate(m, 4, 1500, 0.01, substeps=10, seed=2)
    fine = si.infer_langevin(tr.x, dt=0.01, regime="overdamped", **FAST)
    coarse = si.infer_langevin(tr.x * 10.0, dt=1.0, regime="overdamped", **FAST)
    z = tr.x[0, :200]
    a, b = fine.diffusion(z).mean, coarse.diffusion(z * 10.0).mean
    np.testing.assert_allclose(b, a, rtol=2e-3, atol=2e-3 * np.abs(a).max())
    a, b = fine.drift(z).mean, coarse.drift(z * 10.0).mean * 10.0
    np.testing.assert_allclose(b, a, rtol=2e-3, atol=2e-3 * np.abs(a).max())


def test_provenance_names_each_networks_kl_gradient_when_they_differ(ou):
    _, tr = ou
    short = dict(hidden=8, progress=False, drift_settings=TrainSettings(n_iter=40, kl_gradient="detached"),
                 diffusion_settings=TrainSettings(n_iter=40, kl_gradient="elbo"))
    fit = si.infer_langevin(tr, **short)
    assert fit.provenance()["kl_gradient"] == "detached (drift), elbo (diffusion)"


def test_kl_gradient_option_reaches_the_training_and_the_linear_fr_correction_is_a_quarter():
    from stochinfer.langevin.field_net import FieldNetwork
    from stochinfer.langevin.pipeline import _linear_fr_correction
    m = si.models.VanDerPol()
    tr = si.simulate(m, 4, 1500, 0.01, substeps=10, seed=6)
    elbo = si.infer_langevin(tr, regime="underdamped", **FAST)
    detached = si.infer_langevin(tr, regime="underdamped", kl_gradient="detached", **FAST)
    assert elbo.histories["drift"]["settings"]["kl_gradient"] == "elbo"
    assert detached.histories["drift"]["settings"]["kl_gradient"] == "detached"
    assert detached.provenance()["kl_gradient"] == "detached"
    z = np.array([[0.5, 0.2], [-1.0, 1.0]])
    assert not np.allclose(elbo.drift(z).mean, detached.drift(z).mean, rtol=1e-6, atol=0)
    # the default correction: [1, z]·C fitted by least squares to (F − F_r)/4 (methods.md §3.3)
    rows = np.random.default_rng(1).normal(size=(300, 2))
    nets = [FieldNetwork("affine", 2, 1, np.zeros(1), np.ones(1), 0.01, hidden=16, seed=s) for s in (1, 2)]
    F, Fr = (n.samples(rows, 0, 0).mean(axis=0) for n in nets)
    design = np.column_stack([np.ones(len(rows)), rows])
    expected = np.linalg.lstsq(design, (F - Fr) / 4.0, rcond=None)[0]
    np.testing.assert_allclose(_linear_fr_correction(nets[0], nets[1], rows, 0), expected, rtol=1e-8, atol=1e-12)


def test_psd_cholesky_factors_covariances_that_rounding_made_indefinite():
    from stochinfer.langevin.linear import psd_cholesky
    v = np.random.default_rng(5).normal(size=(6, 2))
    cov = v @ v.T - 1e-9 * np.eye(6)  # rank 2, with eigenvalues −1e-9 below the relative jitter
    L = psd_cholesky(cov)
    assert np.all(np.isfinite(L)) and np.allclose(np.tril(L), L)
    np.testing.assert_allclose(L @ L.T, v @ v.T, atol=1e-8)


def test_driven_arrays_take_their_start_times_from_t0():
    m = si.models.BrownianCarnot(tau=10.0)
    tr = si.simulate(m, n_traj=5, n_steps=400, dt=0.01, substeps=5, seed=3, t0=2.5)
    short = dict(hidden=16, drift_settings=TrainSettings(n_iter=40), diffusion_settings=TrainSettings(n_iter=40))
    ref = si.infer_langevin(tr, regime="underdamped", time_dependent=True, period=10.0, **short)
    same = si.infer_langevin(tr.x, dt=0.01, regime="underdamped", time_dependent=True, period=10.0, t0=2.5, **short)
    z = np.array([[0.5, 0.0], [-0.5, 1.0]])
    np.testing.assert_array_equal(same.drift(z, t=3.0).mean, ref.drift(z, t=3.0).mean)
    with pytest.warns(UserWarning, match="every trajectory is taken to start at t = 0"):
        si.infer_langevin(tr.x, dt=0.01, regime="underdamped", time_dependent=True, period=10.0, **short)
    with pytest.raises(ValueError, match=r"t0 must be a finite scalar or have shape \(5,\)"):
        si.infer_langevin(tr.x, dt=0.01, regime="underdamped", time_dependent=True, t0=[0.0, 1.0], **short)
    with pytest.raises(ValueError, match="t0 applies to time-dependent fits"):
        si.infer_langevin(tr.x, dt=0.01, regime="underdamped", t0=1.0, **short)
    with pytest.raises(ValueError, match="Trajectories carry their own times"):
        si.infer_langevin(tr, regime="underdamped", time_dependent=True, t0=1.0, **short)


def test_carnot_read_out_takes_whole_cycles_from_any_start():
    from types import SimpleNamespace

    from stochinfer.langevin.simulate_fit import carnot_cycle

    m = si.models.BrownianCarnot(tau=10.0)
    tr = si.simulate(m, n_traj=20, n_steps=2000, dt=0.01, substeps=5, seed=2)  # two cycles per path
    t = np.arange(2001) * 0.01

    def read(lo, hi, shift=0.0):
        return carnot_cycle(None, SimpleNamespace(x=tr.x[None, :, lo:hi + 1], v=tr.v[None, :, lo:hi + 1],
                                                  t=t[lo:hi + 1] + shift), m)
    first, second, both = read(0, 1000), read(1000, 2000), read(0, 2000)
    assert both["cycles_per_path"] == 2
    for key in ("work_per_cycle", "heat_hot"):  # per cycle: the mean of the two cycles
        assert both[key] == pytest.approx(0.5 * (first[key] + second[key]), rel=1e-9)
    assert second["work_per_cycle"] == pytest.approx(read(1000, 2000, shift=-10.0)["work_per_cycle"], rel=1e-12)
    quarter = read(250, 1250)  # one cycle from phase τ/4: its hot isotherm lies inside
    assert np.isfinite(quarter["heat_hot"]) and quarter["cycles_per_path"] == 1
    with pytest.raises(ValueError, match="whole number of cycles"):
        read(0, 500)
    cut = read(600, 1600)  # from phase 0.6 τ to 1.6 τ: the hot isotherm counts in two parts
    assert np.isfinite(cut["heat_hot"]) and np.isfinite(cut["efficiency"])


def test_default_initial_states_are_recorded_states_near_the_start_phase():
    m = si.models.BrownianCarnot(tau=10.0)
    tr = si.simulate(m, n_traj=5, n_steps=1000, dt=0.01, substeps=5, seed=0)
    short = dict(hidden=16, drift_settings=TrainSettings(n_iter=50), diffusion_settings=TrainSettings(n_iter=50))
    fit = si.infer_langevin(tr, regime="underdamped", time_dependent=True, period=10.0, **short)
    states, times = fit._val_states
    d = fit.dim
    for t0 in (0.0, 2.5):
        sim = fit.simulate(50, 1, t0=t0, n_samples=2)
        start = np.concatenate([sim.x[0, :, 0], sim.v[0, :, 0]], axis=1)
        rows = [np.flatnonzero((states == s).all(axis=1)) for s in start]
        assert all(r.size for r in rows)  # x and v of one recorded state
        phase = np.mod(np.asarray(times).reshape(-1)[[r[0] for r in rows]] - t0, 10.0)
        assert np.all(np.minimum(phase, 10.0 - phase) <= 0.5), phase  # near t0's phase
    assert d == 1


def test_carnot_read_out_recovers_the_moment_odes_on_the_true_engine():
    """carnot_cycle (work per cycle, hot-isotherm heat by the first law, efficiency) applied
    to the true engine's own paths (τ = 100) agrees with the moment ODEs within 4 standard
    errors, the errors from the spread of ten batches of 100 cycles; each batch's error bar
    is of the size of that spread (a factor 2 either way: ten batches estimate a standard
    deviation to about ±25%)."""
    from types import SimpleNamespace

    from stochinfer.langevin.simulate_fit import carnot_cycle

    m = si.models.BrownianCarnot(tau=100.0)
    tr = si.simulate(m, n_traj=1000, n_steps=10_000, dt=0.01, substeps=10, seed=1, record_every=5)
    t = np.arange(tr.x.shape[1]) * 0.05
    batches = [carnot_cycle(None, SimpleNamespace(x=tr.x[None, b:b + 100], v=tr.v[None, b:b + 100], t=t), m)
               for b in range(0, 1000, 100)]
    exact = m.cycle_thermodynamics()
    for key, err, truth in (("work_per_cycle", "error", exact["mean_work"]),
                            ("heat_hot", "heat_hot_error", exact["heat_hot"]),
                            ("efficiency", "efficiency_error", exact["efficiency"])):
        vals = np.array([b[key] for b in batches])
        se = vals.std(ddof=1) / np.sqrt(vals.size)
        assert abs(vals.mean() - truth) < 4 * se, (key, vals.mean(), truth, se)
        # each batch's own error bar (cycle noise only: one sample) matches the batches' spread
        bars = np.array([b[err] for b in batches])
        assert 0.5 < bars.mean() / vals.std(ddof=1) < 2.0, (key, bars.mean(), vals.std(ddof=1))


def test_measurement_noise_option(ou):
    _, tr = ou
    short = dict(hidden=16, drift_settings=TrainSettings(n_iter=60), diffusion_settings=TrainSettings(n_iter=60))
    clean = si.infer_langevin(tr, **short)
    noisy = si.infer_langevin(tr, measurement_noise=0.05, **short)
    pts = np.zeros((2, 2))
    assert noisy.options["measurement_noise"] == 0.05
    assert not np.array_equal(clean.drift(pts).mean, noisy.drift(pts).mean)
    with pytest.raises(ValueError, match="measurement_noise"):
        si.infer_langevin(tr, measurement_noise=-1.0, **short)


def test_save_and_load_reproduce_the_fit(ou, ou_fit, tmp_path):
    m, _ = ou
    path = ou_fit.save(tmp_path / "fit")
    assert path.endswith(".npz")
    with np.load(path) as f:  # no friction bias (overdamped): the format stochinfer read before session 29
        assert int(f["format_version"]) == 1
    back = si.LangevinFit.load(path, model=m)
    pts = np.random.default_rng(7).normal(size=(20, 2))
    for name in ("drift", "diffusion"):
        a, b = getattr(ou_fit, name)(pts, n_samples=16), getattr(back, name)(pts, n_samples=16)
        np.testing.assert_array_equal(a.mean, b.mean)
        np.testing.assert_array_equal(a.hi, b.hi)
    assert back.provenance() == ou_fit.provenance()
    assert back.report()["drift"]["r2"] == ou_fit.report(m)["drift"]["r2"]
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a stochinfer Langevin fit"):
        si.LangevinFit.load(str(other))
    # a damaged or hand-edited file: ValueError naming it (KeyError, TypeError, AttributeError before)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    cfg = json.loads(str(arrays["config"]))
    edits = {"val_states": lambda a, c: a.pop("val_states"), "regime": lambda a, c: c.update(regime="garbage"),
             "time_dependent": lambda a, c: c.update(time_dependent="garbage"),
             "dim": lambda a, c: c.update(dim=[2]), "options": lambda a, c: c.update(options=3),
             "list": lambda a, c: None,
             "norm": lambda a, c: c["norm"].update({k: [float("nan")] * len(v) for k, v in c["norm"].items()
                                                    if isinstance(v, list) and v and k != "noisy"})}
    for name, edit in edits.items():
        a, c = dict(arrays), json.loads(json.dumps(cfg))
        edit(a, c)
        a["config"] = np.array(json.dumps([1, 2] if name == "list" else c))
        np.savez(tmp_path / "edited.npz", **a)
        with pytest.raises(ValueError, match="damaged|not a stochinfer"):
            si.LangevinFit.load(str(tmp_path / "edited.npz"))


def test_cli_infer_on_a_saved_trajectories_file(tmp_path, capsys):
    from stochinfer.cli import main
    m = si.models.LinearOU(A, D)
    path = str(tmp_path / "traj.npz")
    si.simulate(m, 2, 3000, 0.01, substeps=10, seed=8).save(path)
    assert main(["infer", path, "--hidden", "16", "--json", str(tmp_path / "r.json"),
                 "--save", str(tmp_path / "fit.npz"), "--drift-base", "quadratic"]) == 0
    out = capsys.readouterr().out
    assert "Langevin fit (overdamped" in out and "vs truth" in out and "provenance" in out
    assert "drift base quadratic (degree 2)" in out
    assert (tmp_path / "r.json").exists() and si.LangevinFit.load(str(tmp_path / "fit.npz")).dim == 2
    fields = json.loads((tmp_path / "r.json").read_text())["fields_at_held_out_states"]  # the saved fit's own
    fit = si.LangevinFit.load(str(tmp_path / "fit.npz"))
    pts = np.array(fields["points"])
    assert pts.shape == (1000, 2) and fields["t"] is None
    np.testing.assert_allclose(fields["drift"]["mean"], fit.drift(pts).mean, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fields["diffusion"]["hi"], fit.diffusion(pts).hi, rtol=1e-6, atol=1e-9)
    if importlib.util.find_spec("matplotlib") is not None:  # the fields with their bands, next to the input
        png = tmp_path / "traj_fields.png"
        assert png.exists() and png.stat().st_size > 10_000 and "plot saved to" in out
        png.unlink()
        assert main(["infer", path, "--hidden", "16", "--no-plot"]) == 0
        assert not png.exists()
        capsys.readouterr()
    # overdamped data fitted as underdamped: the file's model is no truth for it; the fit is still saved
    with pytest.warns(UserWarning, match="look diffusive"):  # and says so
        assert main(["infer", path, "--hidden", "16", "--regime", "underdamped", "--no-plot",
                     "--save", str(tmp_path / "under.npz")]) == 0
    assert "not scored against the file's model" in capsys.readouterr().out
    assert si.LangevinFit.load(str(tmp_path / "under.npz")).regime == "underdamped"
    np.save(tmp_path / "plain.npy", np.zeros((1, 50, 2)))
    assert main(["infer", str(tmp_path / "plain.npy")]) == 2
    assert "--dt is required" in capsys.readouterr().err
    assert main(["infer", str(tmp_path / "plain.npy"), "--dt", "0.01"]) == 2
    assert "error:" in capsys.readouterr().err


def test_cli_infer_passes_the_fit_options_users_asked_for(tmp_path, capsys):
    """(user trial, session 27) --homogeneous-diffusion, --val-fraction and --measurement-noise
    reach infer_langevin (the CLI had no way to ask for them)."""
    from stochinfer.cli import main
    path = str(tmp_path / "traj.npz")
    si.simulate(si.models.LinearOU(A, D), 2, 1500, 0.01, substeps=5, seed=8).save(path)
    fit_path = str(tmp_path / "fit.npz")
    assert main(["infer", path, "--hidden", "8", "--no-plot", "--homogeneous-diffusion", "--val-fraction", "0.3",
                 "--measurement-noise", "0.001", "--save", fit_path]) == 0
    o = si.LangevinFit.load(fit_path).options
    assert o["homogeneous_diffusion"] is True and o["val_fraction"] == 0.3 and o["measurement_noise"] == 0.001
    capsys.readouterr()
    assert main(["infer", path, "--no-plot", "--val-fraction", "1.5"]) == 2
    assert "--val-fraction must be a number in (0, 1)" in capsys.readouterr().err


def test_cli_infer_a_periodically_driven_system(tmp_path, capsys):
    from stochinfer.cli import main
    path = str(tmp_path / "carnot.npz")
    si.simulate(si.models.BrownianCarnot(tau=10.0), 6, 1000, 0.01, substeps=5, seed=2).save(path)
    fit_path = str(tmp_path / "fit.npz")
    assert main(["infer", path, "--regime", "underdamped", "--hidden", "16", "--time-dependent", "--period", "10",
                 "--time-harmonics", "2", "--save", fit_path]) == 0
    assert "periodic, period 10, 2 harmonics" in capsys.readouterr().out
    back = si.LangevinFit.load(fit_path)
    assert back.norm["time_period"] == 10.0 and back.provenance()["time_input"] == "periodic, period 10, 2 harmonics"
    z = back._val_states[0][:5]
    np.testing.assert_allclose(back.drift(z, 2.5).mean, back.drift(z, 12.5).mean, rtol=1e-5, atol=1e-9)
    assert main(["infer", path, "--regime", "underdamped", "--hidden", "16", "--period", "10"]) == 2
    assert "--period needs --time-dependent" in capsys.readouterr().err


def test_cli_infer_with_noiseless_coordinates(tmp_path, capsys):
    from stochinfer.cli import main
    m = si.models.LinearOU(np.array([[-1.0, 1.0], [0.0, -1.0]]), np.diag([1e-12, 1.0]))
    path = str(tmp_path / "quiet.npz")
    si.simulate(m, 2, 1500, 0.01, substeps=10, seed=5).save(path)
    assert main(["infer", path, "--hidden", "8"]) == 2
    assert "--noiseless 0" in capsys.readouterr().err  # the error names the command-line fix
    assert main(["infer", path, "--hidden", "8", "--noiseless", "0", "--save", str(tmp_path / "fit.npz")]) == 0
    assert "separate_noiseless_drift" in si.LangevinFit.load(str(tmp_path / "fit.npz")).provenance()


@pytest.mark.parametrize("method", ["bbb", "ensemble"])
def test_linear_drift_base_starts_at_the_least_squares_fit(method):
    """FieldNetwork(linear_base=True).fit() fits [1, x]·A to the field on each
    member's rows (numpy lstsq here) and zeroes the output layer: with a vanishing
    learning rate the trained field is that fit."""
    from stochinfer.langevin.field_net import FieldNetwork

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 2))
    y = (x @ A.T + 0.3 * np.sin(x)) * 0.01 + 0.1 * rng.normal(size=(3000, 2))
    mean = np.array([0.2, -0.1])
    net = FieldNetwork("affine", 2, 2, mean, np.ones(2), 0.01, hidden=16, layers=3, method=method, n_members=3,
                       linear_base=True, dtype="float64", seed=1)
    rows = np.arange(2500)
    net.fit(x, y, rows, np.arange(2500, 3000), TrainSettings(n_iter=1, lr=1e-14, eval_every=1), seed=4)
    got = net.samples(x[:50], 0, 0)
    B = np.concatenate([np.ones((3000, 1)), x], axis=1)
    if method == "bbb":
        member_rows = [rows]
    else:  # the members' bootstrap rows, drawn as FieldNetwork.fit draws them
        member_rows = rows[np.random.default_rng([4, 7]).integers(0, rows.size, size=(3, rows.size))]
    for e, r in enumerate(member_rows):
        coef = np.linalg.lstsq(B[r], y[r] / 0.01, rcond=None)[0]
        np.testing.assert_allclose(got[e], B[:50] @ coef, rtol=1e-6, atol=1e-6)
    if method == "ensemble":
        assert not np.allclose(got[0], got[1])  # each member fits its own bootstrap rows


def test_drift_base_option(ou):
    _, tr = ou
    with pytest.raises(ValueError, match="drift_base"):
        si.infer_langevin(tr, drift_base="quartic", **FAST)
    quick = dict(hidden=16, drift_settings=TrainSettings(n_iter=100), diffusion_settings=TrainSettings(n_iter=100))
    fit = si.infer_langevin(tr, drift_base="none", **quick)
    assert fit.provenance()["drift_base"] == "none" and fit.nets["drift"].net.linear_base == []
    fit = si.infer_langevin(tr, drift_base="cubic", **quick)
    assert fit.provenance()["drift_base_degree"] == {"drift": 3} and fit.nets["drift"].net.linear_base_degree == 3
    assert len(fit.nets["drift"].net.linear_base) == 10 * 2  # 10 monomials of 2 inputs up to degree 3, 2 outputs


def test_a_saved_fit_keeps_its_polynomial_drift_base(ou, tmp_path):
    _, tr = ou
    fit = si.infer_langevin(tr, drift_base="cubic", hidden=16, method="bbb",
                            drift_settings=TrainSettings(n_iter=100), diffusion_settings=TrainSettings(n_iter=100))
    path = str(tmp_path / "fit.npz")
    fit.save(path)
    back = si.LangevinFit.load(path)
    pts = tr.x[0, :200]
    assert back.nets["drift"].net.linear_base_degree == 3
    np.testing.assert_array_equal(back.drift(pts).mean, fit.drift(pts).mean)
    np.testing.assert_array_equal(back.drift(pts).std, fit.drift(pts).std)  # the sampled cubic coefficients too


def test_select_degree_needs_the_held_out_rows_to_show_a_higher_degree_is_better():
    from stochinfer.langevin.linear import select_degree
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 2))
    train, val = np.arange(3000), np.arange(3000, 4000)
    linear = x @ A.T + rng.normal(size=(4000, 2))
    assert select_degree(x, linear, train, val)[0] == 1
    cubic = linear + 0.5 * x[:, :1] ** 2 * x[:, 1:]  # Van der Pol's x²v term
    assert select_degree(x, cubic, train, val)[0] == 3
    quadratic = linear + 0.5 * x[:, :1] * x[:, 1:]
    assert select_degree(x, quadratic, train, val)[0] == 2
    # too few rows per coefficient column: degree 3 (10 columns) needs 200 training rows
    assert max(select_degree(x, cubic, train[:150], val)[1]) == 2


def test_auto_drift_base_keeps_the_network_with_the_lower_validation_nll():
    """'auto' trains the linear-base network as well whenever the polynomial fit
    prefers a higher degree, and keeps the one the validation rows prefer."""
    from stochinfer.langevin.field_net import FieldNetwork
    from stochinfer.langevin.pipeline import _train_drift

    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 2))
    y = (x @ A.T + 2.0 * x[:, :1] ** 2 * x[:, 1:]) * 0.01 + 0.05 * rng.normal(size=(3000, 2))
    train, val = np.arange(2400), np.arange(2400, 3000)
    make = lambda deg: FieldNetwork("affine", 2, 2, np.zeros(2), np.ones(2), 0.01, hidden=16, layers=3,
                                    method="ensemble", n_members=2, linear_base=True, base_degree=deg,
                                    dtype="float64", seed=1)
    net, hist = _train_drift(make, "auto", x, y, train, val, TrainSettings(n_iter=300, eval_every=50), 4,
                             False, "drift", False)
    scores = hist["base_degree"]["network_val_nll"]
    assert set(scores) == {1, 3}
    assert net.base_degree == hist["base_degree"]["chosen"] == min(scores, key=scores.get)


def test_refit_retrains_from_the_initial_weights_on_all_rows(monkeypatch):
    """refit=True: after validation picks k updates, the network is trained again
    from its initial weights on training + validation rows for k updates, exactly
    as a fresh network trained on those rows would be; Ctrl-C during the refit
    keeps the validated model."""
    from stochinfer.langevin.field_net import FieldNetwork

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 2))
    y = (x @ A.T + 0.3 * np.sin(x)) * 0.01 + 0.1 * rng.normal(size=(3000, 2))
    train, val = np.arange(2400), np.arange(2400, 3000)
    args = ("affine", 2, 2, np.zeros(2), np.ones(2), 0.01)
    kw = dict(hidden=16, layers=3, method="ensemble", n_members=2, linear_base=True, dtype="float64", seed=1)
    settings = TrainSettings(n_iter=400, eval_every=50)
    net = FieldNetwork(*args, **kw)
    hist = net.fit(x, y, train, val, settings, seed=4, refit=True)
    counts = hist["member_best_iterations"]  # each member refitted for its own validated count
    assert hist["refit"] == {"rows": 3000, "updates": counts, "interrupted": False}
    refitted = net.net.get_params().reshape(2, -1)
    for e, k in enumerate(counts):
        fresh = FieldNetwork(*args, **kw)
        rows = fresh._member_rows(np.arange(3000), 4)
        fresh._fit_linear_base(x, y, rows)
        fresh._steps(x, y, rows, settings, 400, 3000, 4)[0](k)
        np.testing.assert_array_equal(refitted[e], fresh.net.get_params().reshape(2, -1)[e])
        np.testing.assert_array_equal(net.samples(x[:20], 0, 0)[e], fresh.samples(x[:20], 0, 0)[e])

    validated = FieldNetwork(*args, **kw)
    validated.fit(x, y, train, val, settings, seed=4)
    interrupted = FieldNetwork(*args, **kw)
    real_steps = FieldNetwork._steps
    calls = []

    def steps_then_interrupt(self, *a):
        calls.append(1)
        step, klw = real_steps(self, *a)
        if len(calls) == 1:
            return step, klw

        def stop(n):
            raise KeyboardInterrupt
        return stop, klw

    monkeypatch.setattr(FieldNetwork, "_steps", steps_then_interrupt)
    with pytest.warns(UserWarning, match="refit interrupted"):
        h = interrupted.fit(x, y, train, val, settings, seed=4, refit=True)
    assert h["refit"]["interrupted"]
    np.testing.assert_array_equal(interrupted.samples(x[:20], 0, 0), validated.samples(x[:20], 0, 0))


def test_refit_option_in_the_pipeline(ou):
    m, tr = ou
    fit = si.infer_langevin(tr, refit=True, hidden=16, drift_settings=TrainSettings(n_iter=200, eval_every=50),
                            diffusion_settings=TrainSettings(n_iter=200, eval_every=50))
    n_rows = tr.x.shape[0] * (tr.x.shape[1] - 1)  # every overdamped row: training + validation
    for name in ("drift", "diffusion"):
        assert fit.histories[name]["refit"]["rows"] == n_rows
        assert fit.histories[name]["refit"]["updates"] == fit.histories[name]["best"]["iteration"]
    assert fit.provenance()["refit"] is True
    with pytest.warns(UserWarning, match="in-sample"):
        fit.report(m)


def test_ctrl_c_in_a_refit_shortens_the_networks_still_to_train(ou, monkeypatch):
    """An interrupted refit counts as an interruption: the diffusion network then trains for one
    evaluation block (it trained all its 1000 updates, and refitted, before)."""
    from stochinfer.langevin.field_net import FieldNetwork

    _, tr = ou
    real_steps, calls = FieldNetwork._steps, []

    def steps(self, *a):
        step, klw = real_steps(self, *a)
        calls.append(self.head)
        if self.head == "affine" and len(calls) == 2:  # the drift's refit

            def stop(n):
                raise KeyboardInterrupt
            return stop, klw
        return step, klw

    monkeypatch.setattr(FieldNetwork, "_steps", steps)
    s = TrainSettings(n_iter=1000, eval_every=100, patience=None)
    with pytest.warns(UserWarning, match="interrupted"):
        fit = si.infer_langevin(tr, hidden=16, refit=True, drift_settings=s, diffusion_settings=s)
    assert fit.histories["drift"]["refit"]["interrupted"]
    assert fit.histories["diffusion"]["iterations"] == 100
    assert fit.histories["diffusion"]["refit"]["updates"] <= 100


def test_ctrl_c_before_a_later_networks_first_evaluation_keeps_the_trained_ones(ou, monkeypatch):
    """Ctrl-C inside the diffusion network's first block raised and lost the trained drift
    (review, session 31): a later network now keeps its state as it is, scored once."""
    from stochinfer.langevin.field_net import FieldNetwork

    _, tr = ou
    real_steps = FieldNetwork._steps

    def steps(self, *a):
        step, klw = real_steps(self, *a)
        if self.head == "cholesky":

            def stop(n):
                step(n // 2)  # part of the block, then the signal
                raise KeyboardInterrupt
            return stop, klw
        return step, klw

    monkeypatch.setattr(FieldNetwork, "_steps", steps)
    s = TrainSettings(n_iter=300, eval_every=100, patience=None)
    with pytest.warns(UserWarning, match="interrupted") as rec:
        fit = si.infer_langevin(tr, hidden=16, drift_settings=s, diffusion_settings=s, progress=False)
    assert any("interrupted in updates 1–100: keeping the model as it is (a rough fit after 0 updates" in
               str(w.message) and w.filename == __file__ for w in rec)
    h = fit.histories["diffusion"]
    assert h["interrupted"] and h["best"]["iteration"] == 0 and np.isfinite(h["best"]["val_loss"])
    assert fit.histories["drift"]["iterations"] == 300 and not fit.histories["drift"]["interrupted"]
    assert fit.interrupted and np.all(np.isfinite(fit.diffusion(np.zeros((2, 2))).mean))
    # the first network has nothing trained before it: Ctrl-C there still raises
    monkeypatch.setattr(FieldNetwork, "_steps", lambda self, *a: (_raise_interrupt, real_steps(self, *a)[1]))
    with pytest.raises(KeyboardInterrupt):
        si.infer_langevin(tr, hidden=16, drift_settings=s, diffusion_settings=s, progress=False)


def _raise_interrupt(n):
    raise KeyboardInterrupt


def test_reference_preset_counts_epochs_of_the_training_rows(ou, monkeypatch):
    """The published schedule is 5000 / 10000 epochs of batch 128 with a checkpoint per epoch,
    whatever the data size (fewer epochs here, to run fast)."""
    from stochinfer.langevin import pipeline

    _, tr = ou
    monkeypatch.setattr(pipeline, "REFERENCE_EPOCHS", (2, 3))
    fit = si.infer_langevin(tr.x[:2, :1001], dt=0.01, preset="reference", hidden=8)
    per_epoch = -(-1600 // 128)  # 2 x 1000 rows, the last 20% of each held out
    for name, epochs in (("drift", 2), ("diffusion", 3)):
        st = fit.histories[name]["settings"]
        assert (st["n_iter"], st["eval_every"], st["batch"]) == (epochs * per_epoch, per_epoch, 128)
    assert fit.histories["drift"]["settings"]["lr"] == 1e-6


def test_ensemble_members_keep_their_own_best_checkpoint(ou):
    """Each member ends at its own lowest validation NLL, recorded with its update."""
    from stochinfer.langevin.field_net import FieldNetwork, _MemberCheckpoints

    _, tr = ou
    x = tr.x[:, :-1].reshape(-1, 2)
    y = np.diff(tr.x, axis=1).reshape(-1, 2)
    rows = np.arange(x.shape[0])
    train, val = rows[rows % 5 != 0], rows[rows % 5 == 0]
    net = FieldNetwork("affine", 2, 2, np.zeros(2), np.ones(2), 0.01, hidden=16, method="ensemble", n_members=3,
                       linear_base=True, seed=1)
    s = TrainSettings(n_iter=600, eval_every=50, patience=None, lr=3e-3)
    hist = net.fit(x, y, train, val, s, seed=1)
    assert len(hist["member_best_iterations"]) == 3
    assert all(50 <= it <= 600 and it % 50 == 0 for it in hist["member_best_iterations"])
    per_member = net.net.nll(x.astype(np.float32), y.astype(np.float32), val, s.val_samples, 2)
    np.testing.assert_allclose(per_member, hist["member_best_val_loss"], rtol=1e-6)
    assert np.mean(per_member) <= hist["best"]["val_loss"] + 1e-12  # never worse than the shared checkpoint

    ck = _MemberCheckpoints(2, 10, 25)  # the bookkeeping alone: member 0 best at update 10, member 1 at 25
    params = iter([np.array([1.0, 2.0, 3.0, 4.0]), np.array([5.0, 6.0, 7.0, 8.0]), np.array([9.0, 10.0, 11.0, 12.0])])
    for losses in ([1.0, 3.0], [2.0, 2.5], [1.5, 0.5]):
        ck.update(np.array(losses), lambda: next(params))
    np.testing.assert_array_equal(ck.params.reshape(-1), [1.0, 2.0, 11.0, 12.0])
    assert ck.iterations.tolist() == [10, 25] and ck.best.tolist() == [1.0, 0.5]


def test_plot_draws_every_component_on_its_own_axis_and_the_noisy_diffusions():
    """Hodgkin–Huxley (voltage noiseless): D11 is marked noiseless, D22..D44 are drawn (they were
    not: the panel showed the zero D11 alone); the truth must match the fit's regime."""
    pytest.importorskip("matplotlib")
    m = si.models.HodgkinHuxley()
    tr = si.simulate(m, 1, 4000, 0.01, substeps=10, seed=1)
    fit = si.infer_langevin(tr, noiseless=[0], **FAST)
    fig = fit.plot()
    by_label = {ax.get_ylabel(): ax for ax in fig.axes}
    assert {"F1", "F2", "F3", "F4", "D22", "D33", "D44"} <= set(by_label) and "D11" not in by_label
    assert any("noiseless" in t.get_text() for ax in fig.axes for t in ax.texts)
    x1 = by_label["D33"].lines[0].get_xdata()
    grid = np.repeat(fit._val_states[0].mean(axis=0)[None], x1.size, axis=0)
    grid[:, 0] = x1
    np.testing.assert_allclose(by_label["D33"].lines[0].get_ydata(), fit.diffusion(grid).mean[:, 2, 2], rtol=1e-6)
    np.testing.assert_allclose(by_label["D33"].lines[1].get_ydata(), m.diffusion(grid)[:, 2, 2], rtol=1e-12)
    with pytest.raises(ValueError, match="underdamped model"):
        fit.plot(truth=si.models.VanDerPol())
    with pytest.raises(ValueError, match="driven fits"):
        fit.plot(t=1.0)
    import matplotlib.pyplot as plt
    plt.close("all")



@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2,
                    reason="counts this process's threads in /proc; needs 2 or more cores")
def test_n_threads_applies_to_simulations_after_training(ou, tmp_path):
    """infer_langevin(n_threads=1) used to simulate and query on every core (the compiled
    equation was built with all of them); a loaded fit takes n_threads too."""
    _, tr = ou
    fit = si.infer_langevin(tr, n_threads=1, hidden=8, progress=False,
                            drift_settings=TrainSettings(n_iter=40), diffusion_settings=TrainSettings(n_iter=40))
    loaded = si.langevin.LangevinFit.load(fit.save(str(tmp_path / "f.npz")), n_threads=1)
    for f in (fit, loaded):
        assert f.n_threads == 1
        base = len(os.listdir("/proc/self/task"))
        peak, done = [base], threading.Event()

        def watch():
            while not done.is_set():
                peak.append(len(os.listdir("/proc/self/task")))
                time.sleep(0.002)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            f.simulate(n_traj=400, n_steps=3000, seed=1)
        finally:
            done.set()
            watcher.join()
        # the watcher and the interruptible call's worker; a pool would add cores - 1 more
        assert max(peak) <= base + 2, (base, max(peak))


def test_driven_fit_knows_every_recorded_time_not_only_the_held_out_ones(ou, tmp_path):
    """40 pieces recorded from t = 0, 1, ..., 39, a fifth of them held out: t0 = 0 warned 'outside
    the data' (the range was the held-out pieces'). The default t0 stays the earliest held-out time,
    where the start states were recorded; start states recorded far from t0 warn."""
    _, tr = ou
    x = tr.x[:2, :2000].reshape(40, 100, 2)
    fit = si.infer_langevin(x, dt=0.01, time_dependent=True, t0=np.arange(40.0), hidden=8, progress=False,
                            drift_settings=TrainSettings(n_iter=40), diffusion_settings=TrainSettings(n_iter=40))
    assert np.min(fit._val_states[1]) > 0  # the piece starting at 0 trains (seeded split)
    loaded = si.langevin.LangevinFit.load(fit.save(str(tmp_path / "driven.npz")))
    for f in (fit, loaded):
        assert f.simulate(3, 10, seed=1).t[0] == np.min(fit._val_states[1])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            f.simulate(3, 100, seed=1, t0=0.0)
        with pytest.warns(UserWarning, match="outside the data's"):
            f.simulate(3, 100, seed=1, t0=45.0)


def test_driven_fields_outside_the_recorded_times_warn(ou):
    """(user trial, session 27) Without a period the time input extrapolates beyond the record:
    D came out 4x low at 4x the record's end, its band excluding the truth, without a word."""
    _, tr = ou
    x = tr.x[:2, :2000].reshape(40, 100, 2)  # pieces from t = 0 ... 39, each 0.99 long
    fit = si.infer_langevin(x, dt=0.01, time_dependent=True, t0=np.arange(40.0), hidden=8, progress=False,
                            drift_settings=TrainSettings(n_iter=40), diffusion_settings=TrainSettings(n_iter=40))
    z = np.zeros((2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit.drift(z, t=np.array([0.0, 39.99]))  # within the record, its last interval included
        fit.report(si.models.LinearOU(-np.eye(2), np.eye(2)))  # the held-out states' own times
    for call in (fit.drift, fit.diffusion):
        with pytest.warns(UserWarning, match=r"t in \[-1, 20\] reaches outside the data's times \[0, 39\.98\]"):
            call(z, t=np.array([-1.0, 20.0]))
        with pytest.warns(UserWarning, match="extrapolates"):
            call(z, t=41.0)
    # the default t0 (the earliest held-out time) with a span past the record (review, session 32: silent)
    with pytest.warns(UserWarning, match=r"simulating t in \[.*\] reaches outside the data's times \[0, 39\.98\]"):
        fit.simulate(2, 5000, seed=1)


def test_driven_start_states_recorded_far_from_t0_warn(ou):
    """Five pieces from t = 0, 2, 4, 6, 8, the last one held out: paths started at t0 = 0 from
    states recorded near t = 8 without a word."""
    _, tr = ou
    x = tr.x[:1, :1000].reshape(5, 200, 2)
    fit = si.infer_langevin(x, dt=0.01, time_dependent=True, t0=np.arange(5) * 2.0, val_fraction=0.2, hidden=8,
                            progress=False, drift_settings=TrainSettings(n_iter=40),
                            diffusion_settings=TrainSettings(n_iter=40))
    held_out = np.min(fit._val_states[1])
    assert held_out > 3  # the seeded split holds out a late piece
    with pytest.warns(UserWarning, match="start states are held-out states recorded up to"):
        fit.simulate(3, 10, seed=1, t0=0.0)
    fit.simulate(3, 10, seed=1, t0=0.0, x0=np.zeros(2))  # given states: nothing to warn about


def test_points_far_outside_the_data_warn(ou_fit):
    """(review, session 31) The quadratic diffusion trend read D ≈ 10¹⁷ at x = 10⁶ without a word;
    states 3 SD out (where the acceptance tests check that bands widen) pass silently."""
    s = ou_fit.norm["s_x"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ou_fit.drift(np.asarray(ou_fit.norm["mu_x"]) + 3 * s)
    with pytest.warns(UserWarning, match=r"1 of 2 points lie more than 20 standard deviations of the data's positions "
                                         r"from their mean \(up to [0-9.e+]+\): the fields extrapolate there"):
        ou_fit.diffusion(np.array([[0.0, 0.0], [1e6, 0.0]]))
    with pytest.warns(UserWarning, match="5 of 5 start states lie more than 20 standard deviations"):
        ou_fit.simulate(5, 3, x0=np.array([1e3, 0.0]), n_samples=2)  # paths from there: silent (review, session 32)


def test_velocities_far_outside_the_data_warn():
    """(review, session 32) Underdamped fits checked positions only: D 5e15 at v = 1e6, silently."""
    tr = si.simulate(si.models.VanDerPol(), 2, 2000, 0.01, substeps=10, seed=0)
    fit = si.infer_langevin(tr, regime="underdamped", **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit.diffusion(np.array([[0.0, 1.0]]))
    with pytest.warns(UserWarning, match=r"1 of 1 points lie more than 20 standard deviations of the data's states "
                                         r"\(positions and velocities\)"):
        fit.diffusion(np.array([[0.0, 1e4]]))
