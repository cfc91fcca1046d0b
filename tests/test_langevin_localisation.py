"""localisation_noise='robust' (overdamped): labels that measurement noise in the positions
does not bias, against a numpy least-squares reference of the same labels and the truth."""
import warnings

import numpy as np
import pytest

import stochinfer as si
from stochinfer.langevin import TrainSettings
from stochinfer.langevin.data import as_langevin_data

K, DIFF, DT, SIGMA = 10.0, 0.1, 1e-3, 0.01  # a trap: µm²/s, 1/s, s, µm (10 nm)


def _trap(n_traj=20, n_steps=20_000, seed=0):
    """Exact OU steps from the stationary state, (n_traj, n_steps, 1)."""
    rng = np.random.default_rng(seed)
    e = np.exp(-K * DT)
    x = np.empty((n_traj, n_steps))
    x[:, 0] = rng.normal(size=n_traj) * np.sqrt(DIFF / K)
    for i in range(1, n_steps):
        x[:, i] = x[:, i - 1] * e + np.sqrt(DIFF / K * (1 - e * e)) * rng.normal(size=n_traj)
    return x[..., None]


def _robust_least_squares(y, second_order=True):
    """(k, D) from the robust labels by least squares on y (n, L): drift x_{j+2} − x_{j+1}
    on x_j, D = mean(Δ₁² + 2Δ₁Δ₂ − 3(FΔt)²)(1 + 3kΔt)/(2Δt): the second-order labels remove
    3Δt²(JD + DJᵀ) = −6kDΔt², J = −k (second_order=False: not)."""
    d = np.diff(y, axis=1)
    xj, lab = y[:, :-3].ravel(), d[:, 1:-1].ravel()
    slope, icept = np.polyfit(xj, lab, 1)
    f = (slope * y[:, :-3] + icept)
    k = -slope / DT
    diff = np.mean(d[:, 1:-1] ** 2 + 2 * d[:, 1:-1] * d[:, 2:] - 3 * f**2) / (2 * DT)
    return k, diff * (1 + 3 * k * DT) if second_order else diff


def test_robust_labels_remove_the_noise_bias():
    """With 10 nm of noise the default labels read k ≈ 19 and D ≈ 0.2; the robust ones read
    the truth up to their O(kΔt) bias in k (−1.5k Δt: 1.5% here); D's, −3kΔt, the second-order
    labels remove (without them the test sees it). The fit (its linear drift base and networks)
    is checked against the same estimator by least squares, within 4 standard errors over the
    20 trajectories, and that against the truth."""
    x = _trap()
    noisy = x + SIGMA * np.random.default_rng(1).normal(size=x.shape)
    per = np.array([_robust_least_squares(noisy[j:j + 1, :, 0]) for j in range(20)])
    se = per.std(axis=0, ddof=1) / np.sqrt(20)
    k_ref, d_ref = _robust_least_squares(noisy[..., 0])
    assert abs(k_ref - K * (1 - 1.5 * K * DT)) < 4 * se[0] + 0.01 * K, (k_ref, se)  # + errors in x_j: σ²/Var x
    assert abs(d_ref - DIFF) < 4 * se[1], (d_ref, se)
    d_first = _robust_least_squares(noisy[..., 0], second_order=False)[1]
    assert abs(d_first - DIFF * (1 - 3 * K * DT)) < 4 * se[1] < 3 * K * DT * DIFF, (d_first, se)
    settings = dict(hidden=32, method="ensemble", progress=False, drift_settings=TrainSettings(n_iter=1500),
                    diffusion_settings=TrainSettings(n_iter=500))
    pts = np.linspace(-0.15, 0.15, 31)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no noise warning: the labels account for it
        fit = si.infer_langevin(noisy, DT, localisation_noise="robust", **settings)
    k_fit = -np.polyfit(pts[:, 0], fit.drift(pts).mean[:, 0], 1)[0]
    d_fit = float(fit.diffusion(pts).mean[:, 0, 0].mean())
    assert abs(k_fit - k_ref) < 4 * se[0] / np.sqrt(0.8), (k_fit, k_ref, se)  # the fit trains on 80%
    assert abs(d_fit - d_ref) < 4 * se[1] / np.sqrt(0.8), (d_fit, d_ref, se)
    assert fit.provenance()["localisation_noise"] == "robust"
    with pytest.warns(UserWarning, match="localisation_noise='robust'"):
        plain = si.infer_langevin(noisy, DT, **settings)
    assert -np.polyfit(pts[:, 0], plain.drift(pts).mean[:, 0], 1)[0] > 1.5 * K  # what the robust labels remove
    assert float(plain.diffusion(pts).mean[:, 0, 0].mean()) > 1.5 * DIFF


def test_robust_rows_and_bad_requests():
    tracks = [np.cumsum(np.random.default_rng(k).normal(size=(n, 1)), axis=0) for k, n in enumerate((90, 140, 60))]
    d = as_langevin_data(tracks, DT, "overdamped", localisation="robust")
    assert "consecutive pieces share 3" in d.notes[0]  # a robust row spans x_j … x_{j+3}
    with pytest.raises(ValueError, match="need at least 5 time points"):
        as_langevin_data(np.zeros((2, 4, 1)), DT, "overdamped", localisation="robust")
    with pytest.raises(ValueError, match="is for overdamped fits"):
        si.infer_langevin(np.zeros((2, 50, 1)), DT, regime="underdamped", localisation_noise="robust")
    with pytest.raises(ValueError, match=r"localisation_noise must be one of \('check', 'robust'\)"):
        si.infer_langevin(np.zeros((2, 50, 1)), DT, localisation_noise="fix")


def test_command_line_flag(tmp_path, capsys):
    import json

    from stochinfer.cli import main
    np.save(tmp_path / "trap.npy", _trap(n_traj=3, n_steps=2000))
    out = tmp_path / "fit.json"
    assert main(["infer", str(tmp_path / "trap.npy"), "--dt", str(DT), "--localisation-noise", "robust", "--no-plot",
                 "--hidden", "16", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["provenance"]["localisation_noise"] == "robust"
    assert main(["infer", str(tmp_path / "trap.npy"), "--dt", str(DT), "--regime", "underdamped",
                 "--localisation-noise", "robust"]) == 2
    assert "is for overdamped fits" in capsys.readouterr().err


def test_robust_rows_on_tracks_keep_shared_noise_and_times(fitted_positions):
    """(review, session 29) Pieces of a track share three points in robust mode: the noise
    added on purpose is one draw per shared point, and driven pieces keep their tracks' times."""
    x = np.cumsum(np.random.default_rng(2).normal(size=(3000, 1)), axis=0) * 0.1
    tracks = [x[:1700], x[1700:]]
    short = dict(hidden=16, progress=False, drift_settings=TrainSettings(n_iter=100),
                 diffusion_settings=TrainSettings(n_iter=50), localisation_noise="robust")
    si.infer_langevin(tracks, dt=0.01, measurement_noise=0.05, **short)
    d = as_langevin_data(tracks, 0.01, "overdamped", val_fraction=0.2, localisation="robust")
    noisy, step = fitted_positions["x"], d.length - 3
    shared = 0
    for p in range(1, d.n_traj):
        if d.tracks[p] == d.tracks[p - 1]:
            np.testing.assert_array_equal(noisy[p, :3], noisy[p - 1, step:])  # the same three noisy points
            shared += 1
    assert shared > 0
    starts = np.array([0.0, 5.0, 10.0, 20.0, 30.0, 45.0])
    six = [x[k * 500:k * 500 + 300 + 30 * k] for k in range(6)]
    fit = si.infer_langevin(six, dt=0.01, time_dependent=True, t0=starts, **short)
    assert fit.norm["t_range"][0] == 0.0 and fit.norm["t_range"][1] <= 45.0 + (300 + 150 - 4) * 0.01 + 1e-9


def test_a_coordinate_of_noise_alone_is_named():
    """(review, session 29) A coordinate without dynamics noise (y' = x) under localisation
    noise read D ≈ 0 in robust mode without a word; its increments are then almost all noise."""
    x = _trap(n_traj=4, n_steps=5000)[..., 0]
    y = np.cumsum(x, axis=1) * DT  # deterministic: dy = x dt
    data = np.stack([x, y], axis=-1) + SIGMA * np.random.default_rng(3).normal(size=x.shape + (2,))
    short = dict(hidden=16, progress=False, drift_settings=TrainSettings(n_iter=100),
                 diffusion_settings=TrainSettings(n_iter=50), localisation_noise="robust", noise_check=False)
    # here the robust D of y comes out slightly negative, and the singular-D check stops the fit too
    with pytest.warns(UserWarning, match=r"increments of coordinate 1 \(.*\) are almost all localisation noise.*"
                                         r"pass noiseless=\[1\]") as rec, pytest.raises(ValueError, match="singular"):
        si.infer_langevin(data, DT, **short)
    assert not any("coordinate 0" in str(w.message) for w in rec if "almost all" in str(w.message))
    from stochinfer.langevin.pipeline import _warn_noise_only
    rng = np.random.default_rng(0)
    eta = rng.normal(size=(10_001, 2)) * [0.1, 1.0]
    steps = np.diff(eta, axis=0) + rng.normal(size=(10_000, 2)) * [1.0, 0.01]  # coordinate 1: noise ≫ motion
    notes = []
    with pytest.warns(UserWarning, match=r"increments of coordinate 7 \("):
        _warn_noise_only(steps[:-1], steps[1:], [3, 7], notes)
    assert len(notes) == 1 and "coordinate 7" in notes[0] and "coordinate 3" not in notes[0]
