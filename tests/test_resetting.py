"""Stochastic resetting (stochinfer.Resetting, methods.md §4) in the estimators:
a reset restores parameters and Adam state exactly but draws fresh minibatches;
the same seed gives the same run; settings are checked; NEEP keeps the option in
its saved file. The loop's mechanics (rate, checkpoint, lr policy) are in
test_train.py."""
import time

import numpy as np
import pytest

import stochinfer as si
from stochinfer import _core
from stochinfer.ep import NEEP
from stochinfer.langevin import TrainSettings


def _net_and_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, 2)).astype(np.float32)
    y = (x @ np.array([[-1.0, 0.3], [0.2, -0.5]], dtype=np.float32) + rng.normal(size=(400, 2))).astype(np.float32)
    net = _core.LangevinNet32(2, 2, 16, 3, 2, "elu", 0.1, -5.0, "affine", 2, [0.0, 0.0], [1.0, 1.0], 1.0,
                              1e-6, 1, 7, 1)
    return net, x, y, np.arange(400, dtype=np.int64)[None]


def _train(net, x, y, rows, k):
    return net.train(x, y, rows, k, 32, 2, 1e-3, "elbo", 1e-3, 0.0, 5)


def test_a_reset_restores_parameters_and_adam_state_but_draws_fresh_minibatches():
    net, x, y, rows = _net_and_data()
    _train(net, x, y, rows, 30)
    ckpt = (net.get_params(), net.get_adam_state())
    assert net.batch_draws == 30 and ckpt[1][2] == 30
    _train(net, x, y, rows, 20)
    continued = net.get_params()
    net.set_params(ckpt[0])
    net.set_adam_state(*ckpt[1])
    m, v, step = net.get_adam_state()
    np.testing.assert_array_equal(net.get_params(), ckpt[0])
    np.testing.assert_array_equal(m, ckpt[1][0])
    np.testing.assert_array_equal(v, ckpt[1][1])
    assert step == 30 and net.batch_draws == 50  # the minibatch counter is not rewound
    _train(net, x, y, rows, 20)
    assert not np.allclose(net.get_params(), continued)  # not a replay of updates 31–50
    # the checkpoint is the whole training state: another network with the draw counter at 30
    # (its own 30 updates on other minibatches) given it continues exactly as the original did
    other, *_ = _net_and_data()
    other.train(x, y, rows, 30, 32, 2, 1e-3, "elbo", 1e-3, 0.0, 99)
    assert other.batch_draws == 30 and not np.allclose(other.get_params(), ckpt[0])
    other.set_params(ckpt[0])
    other.set_adam_state(*ckpt[1])
    _train(other, x, y, rows, 20)
    np.testing.assert_array_equal(other.get_params(), continued)
    with pytest.raises(ValueError, match="step"):
        net.set_adam_state(m, v, -1)
    before = net.get_adam_state()
    for bad in [(m[:-1], v, 3), (m + 1, v[:-1], 3)]:  # nothing is written unless all of it fits
        with pytest.raises(ValueError, match="must be a 1-D array"):
            net.set_adam_state(*bad)
        after = net.get_adam_state()
        np.testing.assert_array_equal(after[0], before[0])
        np.testing.assert_array_equal(after[1], before[1])
        assert after[2] == before[2]


def test_reset_optimizer_rewinds_the_minibatch_keys_for_a_refit():
    net, x, y, rows = _net_and_data()
    start = net.get_params()
    _train(net, x, y, rows, 25)
    first = net.get_params()
    net.set_params(start)
    net.reset_optimizer()
    assert net.batch_draws == 0
    _train(net, x, y, rows, 25)
    np.testing.assert_array_equal(net.get_params(), first)


@pytest.fixture(scope="module")
def ou():
    m = si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.diag([1.0, 0.5]))
    return si.simulate(m, 4, 2000, 0.01, substeps=5, seed=2)


def test_langevin_training_with_resetting_is_reproducible_and_recorded(ou):
    """Resets are drawn from the seed: the same run on 1 and 3 threads. (review, session 26) The
    default (all cores) against 1 compared 1 with 1 on a one-core runner."""
    rs = si.Resetting(prob=0.02, after=100)
    settings = TrainSettings(n_iter=800, eval_every=50, resetting=rs)
    kw = dict(hidden=16, drift_settings=settings, diffusion_settings=TrainSettings(n_iter=200), progress=False)
    a, b = si.infer_langevin(ou, n_threads=3, **kw), si.infer_langevin(ou, n_threads=1, **kw)
    h = a.histories["drift"]
    assert h["resetting_from"] is not None and len(h["resets"]) > 0 and h["iterations"] == 800
    assert h["settings"]["resetting"] == dict(prob=0.02, after=100, adaptive=True, lr_policy="global", layers=None)
    pts = np.zeros((3, 2))
    np.testing.assert_array_equal(a.drift_samples(pts), b.drift_samples(pts))  # whatever the thread count
    assert h["resets"] == b.histories["drift"]["resets"]
    assert "resets" not in a.histories["diffusion"]  # off unless asked
    assert f"{len(h['resets'])} resets to the checkpoint from update {h['resetting_from']}" in a.summary()


def test_langevin_resetting_settings_are_checked(ou, monkeypatch):
    """infer_langevin refuses a resetting option it cannot use before any network trains (the drift
    network trains first: a bad diffusion option must not cost its training). (review, session 26)
    The check of Resetting(prob=2.0) raised in Resetting's own constructor, inside the raises block,
    never reaching infer_langevin (the constructor's checks are test_train.py's); now a valid
    Resetting that only Classifier can use, built outside the block."""
    from stochinfer.langevin import field_net

    def no_training(*args, **kwargs):
        raise AssertionError("a network trained before the settings were checked")

    with monkeypatch.context() as m:
        m.setattr(field_net, "run_training", no_training)
        with pytest.raises(TypeError, match="Resetting"):
            si.infer_langevin(ou, drift_settings=TrainSettings(resetting=0.01))
        layer_wise = si.Resetting(prob=0.02, after=100, layers=(0,))  # valid, but for Classifier only
        for which in ("drift_settings", "diffusion_settings"):
            with pytest.raises(ValueError, match="Classifier only"):
                si.infer_langevin(ou, **{which: TrainSettings(n_iter=100, resetting=layer_wise)}, progress=False)
    with pytest.raises(ValueError, match="refit"):
        si.infer_langevin(ou, refit=True, diffusion_settings=TrainSettings(resetting=si.Resetting()))
    fit = si.infer_langevin(ou, hidden=8, drift_settings=TrainSettings(n_iter=100),
                            diffusion_settings=TrainSettings(n_iter=100), progress=False)
    net = fit.nets["drift"]
    x, rows = np.zeros((10, 2)), np.arange(10)
    with pytest.raises(ValueError, match="refit"):  # the network itself refuses too
        net.fit(x, x, rows, rows, TrainSettings(resetting=si.Resetting()), refit=True)


def test_neep_with_resetting_records_resets_and_saves_the_option(tmp_path):
    m = si.models.BeadSpring(n_beads=2)
    tr = si.simulate(m, n_traj=20, n_steps=1000, dt=0.01, substeps=10, seed=4, dtype="float32")
    rs = si.Resetting(prob=0.02, after=100, lr_policy="rewound")
    est = NEEP(hidden=16, layers=2, batch=256, n_iter=1000, eval_every=50, progress=False, resetting=rs)
    res = est.fit(tr, seed=1)
    assert res.settings["resetting"] == dict(prob=0.02, after=100, adaptive=True, lr_policy="rewound", layers=None)
    assert len(res.settings["resets"][0]) > 0 and np.isfinite(res.rate)
    est.save(tmp_path / "n.npz")
    assert NEEP.load(tmp_path / "n.npz").resetting == rs
    assert NEEP(progress=False).settings()["resetting"] is None
    with pytest.raises(TypeError, match="Resetting"):
        NEEP(resetting="often")
    with pytest.raises(ValueError, match="not the settings of a stochinfer.Resetting"):
        NEEP(resetting={"prob": 0.01, "period": 3})
    # numpy numbers are stored as Python numbers: the settings stay JSON (save() writes them)
    np_rs = si.Resetting(prob=np.float32(0.02), after=np.int64(100))
    assert type(np_rs.prob) is float and type(np_rs.after) is int
    est = NEEP(hidden=8, layers=2, batch=256, n_iter=100, eval_every=50, progress=False, resetting=np_rs)
    with pytest.warns(UserWarning, match="resetting can never start"):  # after = n_iter: a save/load check only
        est.fit(tr, seed=1)
    est.save(tmp_path / "m.npz")
    assert NEEP.load(tmp_path / "m.npz").resetting == np_rs


def test_resetting_settings_are_plain_python_values():
    """numpy scalars (np.bool_ adaptive) would not survive json.dumps in a saved estimator."""
    import json
    r = si.Resetting(prob=np.float32(0.01), after=np.int64(20), adaptive=np.bool_(False))
    assert type(r.prob) is float and type(r.after) is int and type(r.adaptive) is bool
    json.dumps(r.__dict__)


@pytest.mark.parametrize("make", [lambda **k: si.NEEP(**k), lambda **k: si.CNEEP(**k), lambda **k: si.RNEEP(**k),
                                  lambda **k: si.Classifier(**k)])
def test_patience_with_resetting_is_refused_not_ignored(make):
    """CNEEP(patience=10, resetting=...) ran all its updates with patience=10 in its settings."""
    with pytest.raises(ValueError, match="patience .* does not apply with resetting"):
        make(patience=10, resetting=si.Resetting(prob=0.01, after=100))
    make(patience=None, resetting=si.Resetting(prob=0.01, after=100))
    make(patience=10)


def test_compare_resetting_refuses_patience_before_training():
    x = np.random.default_rng(0).normal(size=(200, 3))
    y = (x[:, 0] > 0).astype(int)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="patience .* does not apply with resetting"):
        si.classify.compare_resetting(x, y, x, y, si.Resetting(prob=0.01, after=10), seeds=range(2),
                                      n_iter=200_000, patience=10**6)
    assert time.perf_counter() - start < 5  # before the plain run of the first seed trains
