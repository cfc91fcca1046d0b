"""A pytest plugin that ends the run when a test that is not marked slow hangs
(a deadlock in compiled code cannot be interrupted from Python): after
STOCHINFER_TEST_TIMEOUT seconds (default 900; the default run's longest test takes
about a minute) it dumps every thread's traceback and exits with status 124, so CI
fails instead of waiting out its limit. Slow tests run for up to an hour and are
left alone."""
import faulthandler
import os
import sys
import threading

import pytest


_stderr_fd = None  # the terminal's stderr, kept before pytest captures fd 2 during tests
_timer = None  # the running test's


def pytest_configure(config):
    global _stderr_fd
    _stderr_fd = os.dup(sys.__stderr__.fileno())


def _limit_s() -> float:
    return float(os.environ.get("STOCHINFER_TEST_TIMEOUT", "900"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    opt = item.config.option
    if item.get_closest_marker("slow") is not None or getattr(opt, "usepdb", False) or getattr(opt, "trace", False):
        yield  # slow tests run long; a debugger waits for a person
        return
    limit = _limit_s()

    def expire():
        os.write(_stderr_fd, f"\n{item.nodeid} still running after {limit:g} s (a deadlock?): ending the run\n"
                 .encode())
        faulthandler.dump_traceback(file=_stderr_fd, all_threads=True)
        os._exit(124)

    global _timer
    _timer = threading.Timer(limit, expire)
    _timer.daemon = True
    _timer.start()
    try:
        yield
    finally:
        _timer.cancel()


def pytest_enter_pdb(config, pdb):
    """A breakpoint() in a test: the person at the prompt is not a hang."""
    if _timer is not None:
        _timer.cancel()
