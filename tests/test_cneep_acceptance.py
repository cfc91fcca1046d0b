"""CNEEP against methods.md §7.3 at sizes a 2-core CPU trains in minutes (slow).

The §7.3 bead-spring row (100 movies × 10⁴ frames, five seeds, R² ≥ 0.98, within 3%) is out
of reach here: the paper trained 50 000–100 000 updates of 4096 windows on a GPU, 80–160 times
the 10⁴ × 256 windows of a 10-minute CPU run (R² 0.927, −7.2%: bench/RESULTS.md, "CNEEP").
These tests run the data-efficiency row at 2000 frames and the elastic network with the
defaults; targets this build misses are strict xfails stating the measured value, so they fail
(and must be promoted) the day a change meets them."""
import numpy as np
import pytest

import stochinfer as si

pytestmark = pytest.mark.slow

_cache = {}


def bead_spring_2000():
    """100 movies × 2000 frames (seed 0), default CNEEP, training seed 1 (about 4 min)."""
    if "bead" not in _cache:
        mv = si.movies.bead_spring_movies(100, 2000, seed=0)
        _cache["bead"] = si.CNEEP(progress=False).fit(mv, seed=1)
    return _cache["bead"]


def elastic_network():
    """40 movies × 1000 frames of the elastic network, CNEEP with 2000 updates (about 10 min)."""
    if "elastic" not in _cache:
        mv = si.movies.elastic_network_movies(40, 1000, seed=0)
        res = si.CNEEP(n_iter=2000, progress=False).fit(mv, seed=1)
        pix = si.ep.upsample_map(res.dissipation_map, tuple(res.settings["frame_shape"])) / mv.dt
        _cache["elastic"] = (res, si.movies.score_node_map(pix, mv.model))
    return _cache["elastic"]


def test_bead_spring_error_bar_and_bound():
    res = bead_spring_2000()
    sdt = res.truth["snapshot_ep_rate"]
    # within the 3% the target allows plus 4 standard errors, on either side
    assert abs(res.rate - sdt) < 0.03 * sdt + 4 * res.stderr
    assert res.test_loss < 1.0 and res.bound < sdt * 1.01


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="measured R² 0.894 after 3000 updates of 256 windows (target 0.918)")
def test_bead_spring_data_efficiency_at_2000_frames():
    assert bead_spring_2000().r2 >= 0.918


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="measured 1.776 against σ_Δt 1.990 (−10.8%)")
def test_bead_spring_rate_within_3_percent():
    res = bead_spring_2000()
    assert abs(res.relative_error) <= 0.03


def test_elastic_map_puts_positive_mass_near_the_hot_nodes():
    _, score = elastic_network()
    assert score["positive_mass_near_hot"] >= 0.80  # truth 0.975-0.986; measured 0.888


def test_elastic_map_correlates_with_the_node_ep():
    _, score = elastic_network()
    assert score["correlation_with_node_ep"] > 0  # measured +0.911


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="measured total 6.55 against σ_Δt 15.98 (−59%) after 2000 updates")
def test_elastic_total_within_10_percent():
    res, _ = elastic_network()
    assert abs(res.relative_error) <= 0.10


def test_elastic_map_total_is_the_rate():
    res, score = elastic_network()  # the node sums of the test movies' map add up to the read-out rate
    # to the float32 network's rounding: ΔS = h_f − h_r is rounded to float32 (eps 1.2e-7 of |h|),
    # the map sums float32 activations in double (measured: 2.8e-7 relative)
    assert score["total"] == pytest.approx(res.rate, rel=1e-5)
