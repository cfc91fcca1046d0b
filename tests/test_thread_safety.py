"""One fitted model shared by several Python threads. The compiled calls release
the GIL, and a model's thread pool, workspaces and cached posterior samples are
shared by its calls, so concurrent calls on one model used to race (a fitted
Langevin equation queried from eight threads crashed the interpreter). Each
model now runs one call at a time (cpp/include/stochinfer/detail/call_lock.hpp):
every result below must equal the same call made alone."""
import concurrent.futures as cf
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import stochinfer as si
from stochinfer.langevin import TrainSettings
from conftest import sigint_after

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


def _small_net(hidden: int):
    from stochinfer import _core
    return _core.LangevinNet64(in_dim=2, out_dim=2, hidden=hidden, n_layers=2, n_bayes=0, activation="tanh",
                               prior_std=1.0, rho_init=-5.0, head="affine", d=2, mean=[0.0, 0.0], scale=[1.0, 1.0],
                               pred_scale=1.0, diag_eps=1e-6, n_members=1, seed=0, n_threads=1)


def test_ctrl_c_while_another_thread_holds_the_model():
    """A call that waits for a model busy in another thread still stops on Ctrl-C (the wait polls
    the cancel flag and the signal), for calls run on a worker (predict) and under the GIL (get_params)."""
    net = _small_net(32)
    x = np.random.default_rng(0).normal(size=(4000, 2))
    rows = np.arange(4000, dtype=np.int64)
    start = time.perf_counter()
    net.train(x, -x, rows, 100, 256, 1, 0.0, "elbo", 1e-3, 0.0, 0)
    n_steps = int(100 * 4.0 / max(time.perf_counter() - start, 1e-3))  # about 4 s of training
    for call in (lambda: net.predict(x, 0, 0), net.get_params):
        busy = threading.Thread(target=net.train, args=(x, -x, rows, n_steps, 256, 1, 0.0, "elbo", 1e-3, 0.0, 0))
        busy.start()
        time.sleep(0.2)
        with sigint_after(0.3) as elapsed, pytest.raises(KeyboardInterrupt):
            call()
        assert elapsed() < 2.0, f"Ctrl-C took {elapsed():.1f} s while another thread trained the model"
        busy.join()


def test_finalizer_that_calls_the_model_does_not_deadlock(tmp_path):
    """No Python code runs while a model's mutex is held: a finalizer that calls the model, run by
    the garbage collector inside get_params, used to wait forever for its own thread's lock."""
    script = tmp_path / "finalizer.py"
    script.write_text(textwrap.dedent("""
        import gc, numpy as np
        from test_thread_safety import _small_net
        net = _small_net(8)
        x = np.zeros((4, 2))
        net.get_params()  # pybind11's numpy import first: re-entering it from a finalizer hangs pybind11 itself
        class Probe:
            def __init__(self): self.me = self  # a cycle: freed by the collector, at any allocation
            def __del__(self): net.predict(x, 0, 0)
        gc.set_threshold(1)
        for _ in range(50):
            Probe()
            net.get_params()
            net.set_params(np.zeros(net.n_params))
        print("done")
    """))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), *sys.path]))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "done", out.stderr


def test_a_hung_test_ends_the_run_instead_of_hanging_it(tmp_path):
    """The watchdog (tests/_watchdog.py) that turns a deadlock regression into a failed run."""
    (tmp_path / "test_hang.py").write_text("import time\n\ndef test_hang():\n    time.sleep(120)\n")
    env = dict(os.environ, STOCHINFER_TEST_TIMEOUT="2",
               PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), *sys.path]))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "_watchdog", "-p", "no:cacheprovider",
                          "-o", "addopts=", str(tmp_path / "test_hang.py")],
                         capture_output=True, text=True, timeout=100, env=env, cwd=tmp_path)
    assert out.returncode == 124, out.stdout + out.stderr
    assert "test_hang still running after 2 s" in out.stderr and time.perf_counter() - start < 60
