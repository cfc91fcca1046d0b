import os

import numpy as np
import pytest


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


def within_se(estimate, truth, se, n_se=4.0):
    """|estimate - truth| <= n_se standard errors (fixed seeds: a deterministic check)."""
    estimate, truth, se = map(np.asarray, (estimate, truth, se))
    return np.all(np.abs(estimate - truth) <= n_se * se)
