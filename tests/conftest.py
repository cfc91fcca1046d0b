import contextlib
import os
import signal
import threading
import time

import numpy as np
import pytest

pytest_plugins = ["_watchdog"]  # a hung test ends the run (tests/_watchdog.py)


@pytest.fixture(autouse=True, scope="session")
def sigint_raises_keyboard_interrupt():
    """The Ctrl-C tests send SIGINT to this process and expect KeyboardInterrupt. A
    shell that starts pytest in the background (`pytest &` in a script) makes it
    ignore SIGINT, and Python then installs no handler; restore the interactive one."""
    before = signal.getsignal(signal.SIGINT)
    if before == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if before == signal.SIG_IGN:
        signal.signal(signal.SIGINT, before)


def pytest_collection_modifyitems(config, items):
    require = os.environ.get("STOCHINFER_REQUIRE_CUDA") == "1"
    try:
        import stochinfer
        have_cuda = stochinfer.cuda_available()
    except Exception:  # pragma: no cover - import errors surface in the tests themselves
        have_cuda = False
    if have_cuda or require:
        return
    skip = pytest.mark.skip(reason="no CUDA device (set STOCHINFER_REQUIRE_CUDA=1 to fail instead)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@contextlib.contextmanager
def sigint_after(delay):
    """Sends Ctrl-C (SIGINT) to this process `delay` seconds into the block; yields a function
    that returns the seconds since the block began. The Ctrl-C tests size their work to run far
    longer than the delay, so a lost signal fails them (a time check, or the training's
    "interrupted" flag after the full run) instead of hanging."""
    timer = threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    try:
        yield lambda: time.perf_counter() - start
    finally:
        timer.cancel()


def within_se(estimate, truth, se, n_se=4.0):
    """|estimate - truth| <= n_se standard errors (fixed seeds: a deterministic check)."""
    estimate, truth, se = map(np.asarray, (estimate, truth, se))
    return np.all(np.abs(estimate - truth) <= n_se * se)


@pytest.fixture
def fitted_positions(monkeypatch):
    """A dict that infer_langevin calls fill with the positions they fit ("x": (n, L, d)),
    after the fit's own measurement noise (read where every fit checks their scales)."""
    import stochinfer.langevin.pipeline as pl
    captured = {}
    original = pl._check_scales

    def spy(x, *args):
        captured["x"] = x.copy()
        return original(x, *args)
    monkeypatch.setattr(pl, "_check_scales", spy)
    return captured
