"""One fitted model shared by several Python threads. The compiled calls release
the GIL, and a model's thread pool, workspaces and cached posterior samples are
shared by its calls, so concurrent calls on one model used to race (a fitted
Langevin equation queried from eight threads crashed the interpreter). Each
model now runs one call at a time (cpp/include/stochinfer/detail/call_lock.hpp):
every result below must equal the same call made alone."""
import concurrent.futures as cf

import numpy as np
import pytest

import stochinfer as si
from stochinfer.langevin import TrainSettings

N_THREADS = 8
ROUNDS = 3


def _concurrently(calls):
    """Runs every call ROUNDS times from N_THREADS threads; returns the results per round."""
    with cf.ThreadPoolExecutor(N_THREADS) as ex:
        return [list(ex.map(lambda f: f(), calls)) for _ in range(ROUNDS)]


def _assert_same(rounds, reference):
    for results in rounds:
        for got, want in zip(results, reference):
            np.testing.assert_array_equal(got, want)


@pytest.fixture(scope="module")
def langevin_fit():
    m = si.models.Nonlinear()
    tr = si.simulate(m, 1, 3000, 0.01, substeps=10, seed=0, burn_in=0, initial="zeros")
    return si.infer_langevin(tr, method="ensemble", n_members=3, hidden=16,
                             drift_settings=TrainSettings(n_iter=300, batch=128),
                             diffusion_settings=TrainSettings(n_iter=200, batch=128), progress=False)


def test_langevin_fit_queried_from_many_threads(langevin_fit):
    fit = langevin_fit
    pts = [np.random.default_rng(i).normal(size=(2000, 2)) for i in range(2 * N_THREADS)]
    calls = [(lambda p=p: fit.drift(p).mean) if i % 2 else (lambda p=p: fit.diffusion(p).mean)
             for i, p in enumerate(pts)]
    calls.append(lambda: fit.simulate(n_traj=20, n_steps=200, seed=5).x)
    reference = [f() for f in calls]
    _assert_same(_concurrently(calls), reference)


def test_langevin_parameters_read_while_fields_are_evaluated(langevin_fit):
    """get_params (GIL held) and predictions (GIL released) on one network."""
    net = langevin_fit.nets["drift"].net
    params = net.get_params()
    pts = np.random.default_rng(0).normal(size=(5000, 2))
    want = langevin_fit.drift(pts).mean
    calls = [net.get_params if i % 2 else (lambda: langevin_fit.drift(pts).mean) for i in range(2 * N_THREADS)]
    for results in _concurrently(calls):
        for i, got in enumerate(results):
            np.testing.assert_array_equal(got, params if i % 2 else want)


def test_neep_delta_s_from_many_threads():
    tr = si.simulate(si.models.BeadSpring(2, 0.1), 20, 500, 0.01, seed=1)
    est = si.NEEP(hidden=16, layers=2, batch=256, n_iter=200, eval_every=100, progress=False)
    est.fit(tr, seed=0)
    data = [tr.x[i:i + 2] for i in range(0, 2 * N_THREADS, 2)]
    calls = [lambda d=d: est.delta_s(d) for d in data]
    reference = [f() for f in calls]
    _assert_same(_concurrently(calls), reference)


def test_classifier_predictions_from_many_threads():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    c = si.Classifier(hidden=16, n_iter=60, batch=256, eval_every=30).fit(x, y, seed=0)
    blocks = [rng.normal(size=(4000, 4)) for _ in range(2 * N_THREADS)]
    calls = [lambda b=b: c.predict_proba(b) for b in blocks]
    reference = [f() for f in calls]
    _assert_same(_concurrently(calls), reference)
