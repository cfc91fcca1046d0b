"""Quadratic diffusion base (python/stochinfer/langevin/diffusion_base.py): the
compiled formula against the numpy feature matrix, the reweighted least-squares
fit against exact and chi-square-noisy labels, and the pipeline option."""
import numpy as np
import pytest

import stochinfer as si
from stochinfer.langevin import TrainSettings
from stochinfer.langevin.diffusion_base import (base_covariance_chol, cap_factor, evaluate_base, fit_base,
                                                quadratic_features)
from stochinfer.langevin.field_net import FieldNetwork

SHORT = dict(hidden=16, drift_settings=TrainSettings(n_iter=60), diffusion_settings=TrainSettings(n_iter=60))


def test_compiled_base_matches_the_feature_matrix():
    rng = np.random.default_rng(0)
    u, c = rng.normal(size=(40, 3)), rng.normal(size=1 + 3 + 6)
    q = quadratic_features(u)
    assert q.shape == (40, 10)
    np.testing.assert_allclose(q[:, 4:], np.column_stack([u[:, 0] ** 2, u[:, 0] * u[:, 1], u[:, 0] * u[:, 2],
                                                          u[:, 1] ** 2, u[:, 1] * u[:, 2], u[:, 2] ** 2]))
    floor = 0.05
    np.testing.assert_allclose(evaluate_base(u, c, floor), np.maximum(q @ c, floor), rtol=1e-14, atol=0)
    assert (q @ c < floor).any()  # the floor was exercised
    with pytest.raises(ValueError, match="coeffs"):
        evaluate_base(u, c[:-1], floor)
    with pytest.raises(ValueError, match="floor"):
        evaluate_base(u, c, 0.0)


def test_fit_recovers_an_exact_quadratic():
    rng = np.random.default_rng(1)
    u = rng.normal(size=(500, 2))
    c = np.array([1.0, 0.2, 0.0, 0.3, -0.1, 0.1])
    coeffs, floor = fit_base(u, quadratic_features(u) @ c, np.arange(500))
    np.testing.assert_allclose(coeffs, c, atol=1e-10)
    assert not (cap_factor(quadratic_features(u) @ c, evaluate_base(u, coeffs, floor)) < 1).any()
    assert floor == pytest.approx(0.1 * np.mean(quadratic_features(u) @ c))


def test_fit_of_chi_square_labels_is_unbiased_within_its_standard_error():
    """Labels D(u)·χ²₁ (the squared increments of a diffusion); each coefficient
    within 4 sandwich standard errors of the truth."""
    rng = np.random.default_rng(2)
    n = 40_000
    u = rng.normal(size=(n, 2))
    c = np.array([1.0, 0.0, 0.0, 0.3, 0.0, 0.1])
    q = quadratic_features(u)
    D = q @ c
    y = D * rng.normal(size=n) ** 2
    coeffs, floor = fit_base(u, y, np.arange(n))
    L = base_covariance_chol(u, y, np.arange(n), coeffs, floor)  # what Bayes-by-Backprop samples from
    assert np.allclose(L, np.tril(L))
    se = np.sqrt(np.diag(L @ L.T))
    assert np.all(np.abs(coeffs - c) < 4 * se), (coeffs, se)
    assert np.all(se < 0.05)  # the test has power


@pytest.mark.parametrize("b0,b2", [(0.2, 1.0), (1.0, 0.3)])
def test_sandwich_covariance_matches_the_spread_over_datasets(b0, b2):
    """The base's reported standard errors against the spread of the fitted
    coefficients over 400 independent label draws (relative SE of that spread 3.5%;
    the sandwich from one draw scatters a few % more): within 15%. Weights 1/b
    instead of the fit's 1/b² made them 1.2–1.7 times too wide."""
    rng = np.random.default_rng(0)
    n, reps = 4000, 400
    u = rng.uniform(-3, 3, size=(n, 1))
    b = b0 + b2 * u[:, 0] ** 2
    rows = np.arange(n)
    spread = np.std([fit_base(u, b * rng.chisquare(1, size=n), rows)[0] for _ in range(reps)], axis=0, ddof=1)
    ratios = []
    for _ in range(5):  # the sandwich of a few single data sets
        y = b * rng.chisquare(1, size=n)
        coeffs, floor = fit_base(u, y, rows)
        L = base_covariance_chol(u, y, rows, coeffs, floor)
        ratios.append(np.sqrt(np.diag(L @ L.T)) / spread)
    np.testing.assert_allclose(np.mean(ratios, axis=0), 1.0, atol=0.15)


def test_an_outlier_at_high_leverage_is_capped_and_the_fit_converges():
    """One glitched frame: a label 1000 times the mean at a state 5σ out. The plain reweighting
    alternated between a sane trend and one pinned at the floor on most rows (review, session
    31); capped at 25 times the trend, the fit is the one without the outlier to its standard
    error, and the outlier is counted."""
    rng = np.random.default_rng(3)
    n = 6000
    u = rng.normal(size=(n, 2))
    c = np.array([1.0, 0.0, 0.0, 0.2, 0.0, 0.1])
    y = (quadratic_features(u) @ c) * rng.chisquare(1, size=n)
    clean, floor = fit_base(u, y, np.arange(n))
    assert not (cap_factor(y, evaluate_base(u, clean, floor)) < 1).any()
    u_out, y_out = np.vstack([u, [[5.0, 0.0]]]), np.append(y, 1000 * np.mean(y))
    coeffs, floor = fit_base(u_out, y_out, np.arange(n + 1))
    assert np.count_nonzero(cap_factor(y_out, evaluate_base(u_out, coeffs, floor)) < 1) == 1
    se = np.sqrt(np.diag((L := base_covariance_chol(u, y, np.arange(n), clean, floor)) @ L.T))
    assert np.all(np.abs(coeffs - clean) < 2 * se), (coeffs, clean, se)
    b = evaluate_base(u, coeffs, floor)
    assert 0.5 < b.min() and b.max() < 1.5 * (quadratic_features(u) @ c).max()


def test_network_starts_at_its_mean():
    net = FieldNetwork("cholesky", 2, 1, np.array([0.3]), np.array([0.5]), 0.02, hidden=8, seed=0)
    x = np.random.default_rng(0).normal(size=(5, 2))
    assert np.ptp(net.samples(x, 0, 0)) > 0  # random output layer
    net.start_at_mean()
    out = net.samples(x, 0, 0)
    np.testing.assert_allclose(out, np.broadcast_to(out[:, :1], out.shape))  # constant: the de-normalisation mean
    np.testing.assert_array_equal(net._initial, net.net.get_params())  # a refit starts there too


def test_pipeline_option():
    m = si.models.Inhomogeneous()
    tr = si.simulate(m, 1, 1500, 0.01, substeps=5, seed=0, burn_in=0, initial="zeros")
    fit = si.infer_langevin(tr, **SHORT)
    assert fit.provenance()["diffusion_base"] == "quadratic"
    assert np.shape(fit.norm["diffusion_base"]) == (1 + 2 + 3,) and fit.norm["diffusion_base_floor"] > 0
    assert np.shape(fit.norm["diffusion_base_chol"]) == (6, 6)  # bbb samples the trend
    assert "diffusion_base_chol" not in si.infer_langevin(tr, method="ensemble", n_members=2, **SHORT).norm
    plain = si.infer_langevin(tr, diffusion_base="none", **SHORT)
    assert "diffusion_base" not in plain.norm and plain.provenance()["diffusion_base"] == "none"
    assert si.infer_langevin(tr, homogeneous_diffusion=True, **SHORT).provenance()["diffusion_base"] == "none"
    with pytest.raises(ValueError, match="diffusion_base must be"):
        si.infer_langevin(tr, diffusion_base="cubic", **SHORT)
