"""CUDA backend against the CPU backend: same streams, same initial states, same
records. Skipped without a CUDA device (tests/conftest.py) unless
STOCHINFER_REQUIRE_CUDA=1, in which case they fail. The backend's host-side argument
checks, which need no device, run on every machine: test_simulate_ep_bad_input.py.

The normals are bit-identical on every backend (explicit FMAs in rng.hpp); the
physics differs only by rounding (FMA contraction, libm vs CUDA exp), so
trajectories agree to ~1e-12 (float64) / ~1e-5 (float32) over short runs."""
import time

import numpy as np
import pytest

import stochinfer as si
from stochinfer import models
from conftest import sigint_after

pytestmark = pytest.mark.cuda

N_TRAJ = 257  # not a multiple of the CUDA block size
COMMON = dict(n_steps=100, dt=0.01, substeps=3, record_every=2, burn_in=5, seed=12345)


def _tol(dtype):
    # float32: 1e-4 absolute on O(1) states, relative on large ones (Hodgkin-Huxley, mV)
    return dict(rtol=1e-10, atol=1e-10) if dtype == "float64" else dict(rtol=1e-4, atol=1e-4)


def _both(model, n_traj=N_TRAJ, **kw):
    cpu = si.simulate(model, n_traj, backend="cpu", **kw)
    gpu = si.simulate(model, n_traj, backend="cuda", **kw)
    assert gpu.data.shape == cpu.data.shape
    assert gpu.data.dtype == cpu.data.dtype
    return cpu.data, gpu.data


CASES = [
    ("bead_spring", lambda: models.BeadSpring(n_beads=5), None),
    ("linear_ou", lambda: models.LinearOU(A=[[-1.0, 0.5, 0.0], [-0.5, -1.0, 0.2], [0.0, -0.2, -2.0]],
                                          D=[[1.0, 0.2, 0.0], [0.2, 0.5, 0.1], [0.0, 0.1, 0.8]]), None),
    ("nonlinear", lambda: models.Nonlinear(), None),
    ("inhomogeneous_heun", lambda: models.Inhomogeneous(), "heun"),
    ("inhomogeneous_em", lambda: models.Inhomogeneous(), "euler_maruyama"),
    ("hodgkin_huxley", lambda: models.HodgkinHuxley(), None),  # initial = model_default
    ("van_der_pol_baoab", lambda: models.VanDerPol(), "baoab"),
    ("van_der_pol_euler", lambda: models.VanDerPol(), "underdamped_euler"),
    ("van_der_pol_ihd", lambda: models.VanDerPolIHD(dim=2), "baoab"),
    ("brownian_carnot", lambda: models.BrownianCarnot(), None),  # initial = equilibrium (gaussian)
]


def test_cuda_available():
    assert si.cuda_available(), "no CUDA device visible to stochinfer (STOCHINFER_REQUIRE_CUDA=1)"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,make,integrator", CASES, ids=[c[0] for c in CASES])
def test_cuda_matches_cpu(name, make, integrator, dtype):
    cpu, gpu = _both(make(), integrator=integrator, dtype=dtype, **COMMON)
    assert np.all(np.isfinite(gpu))
    np.testing.assert_allclose(gpu, cpu, **_tol(dtype))


def test_cuda_initial_state_recorded_without_burn_in():
    kw = dict(COMMON, burn_in=0)
    cpu, gpu = _both(models.BeadSpring(n_beads=5), dtype="float64", **kw)
    # host-computed with the CPU's code, but the AVX2 CPU build may fuse the Cholesky product's
    # multiply-adds and the .cu host side does not: equal to rounding, not bit for bit
    np.testing.assert_allclose(gpu[:, 0], cpu[:, 0], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cuda_final_state_only(dtype):
    kw = dict(COMMON, n_steps=200, record_every=200, burn_in=0)
    cpu, gpu = _both(models.BeadSpring(n_beads=5), dtype=dtype, **kw)
    assert gpu.shape == (N_TRAJ, 2, 5)
    np.testing.assert_allclose(gpu, cpu, **_tol(dtype))


def test_cuda_explicit_initial_states():
    model = models.Nonlinear()
    shared = np.array([0.3, -0.7])
    cpu, gpu = _both(model, initial=shared, dtype="float64", **COMMON)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-10, atol=1e-10)
    rows = np.random.default_rng(0).normal(size=(N_TRAJ, 2))
    cpu, gpu = _both(model, initial=rows, dtype="float64", **COMMON)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("make", [lambda: models.BeadSpring(n_beads=20), lambda: models.VanDerPol(dim=11)],
                         ids=["bead_spring_20", "van_der_pol_11"])
def test_cuda_larger_sizes(make):
    model = make()  # sizes above 8 run the kernels with a run-time size
    cpu, gpu = _both(model, n_traj=64, dtype="float64", **COMMON)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-10, atol=1e-10)


def test_cuda_trajectory_split_invariance():
    model = models.BeadSpring(n_beads=5)
    kw = dict(COMMON, dtype="float64")
    full = si.simulate(model, 100, backend="cuda", **kw).data
    head = si.simulate(model, 37, backend="cuda", traj_offset=0, **kw).data
    tail = si.simulate(model, 63, backend="cuda", traj_offset=37, **kw).data
    np.testing.assert_array_equal(np.concatenate([head, tail]), full)
    cpu_tail = si.simulate(model, 63, backend="cpu", traj_offset=37, **kw).data
    np.testing.assert_allclose(tail, cpu_tail, rtol=1e-10, atol=1e-10)


def test_cuda_many_chunks():
    # long enough that the host streams records back over several kernel launches
    model = models.LinearOU(A=[[-1.0, 1.0], [-1.0, -1.0]], D=[[1.0, 0.0], [0.0, 1.0]])
    kw = dict(n_steps=20000, dt=0.01, substeps=2, record_every=7, burn_in=13, seed=3, dtype="float64")
    cpu, gpu = _both(model, n_traj=2048, **kw)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-9, atol=1e-9)


def test_cuda_large_batch_matches_cpu_at_its_end():
    """Two million trajectories (15,625 blocks): the last ones, far from index 0, match the CPU's
    same streams (traj_offset), so the grid's indexing and the record layout hold at scale."""
    model = models.BeadSpring(n_beads=5)
    kw = dict(n_steps=50, dt=0.01, record_every=10, burn_in=3, seed=7, dtype="float32")
    n = 2_000_000
    gpu = si.simulate(model, n, backend="cuda", **kw).data
    cpu_tail = si.simulate(model, N_TRAJ, backend="cpu", traj_offset=n - N_TRAJ, **kw).data
    np.testing.assert_allclose(gpu[-N_TRAJ:], cpu_tail, **_tol("float32"))
    cpu_head = si.simulate(model, N_TRAJ, backend="cpu", **kw).data
    np.testing.assert_allclose(gpu[:N_TRAJ], cpu_head, **_tol("float32"))


def test_cuda_ctrl_c_interrupts_promptly():
    """Ctrl-C at 0.5 s stops a run sized to take about 30 s (timed on a short run first): the
    host polls the cancel flag between kernel launches of ~100 ms."""
    model = models.BeadSpring(n_beads=5)
    kw = dict(dt=0.01, backend="cuda", dtype="float32")
    si.simulate(model, 10**6, 20, record_every=20, **kw)  # warm-up: module load, first launch
    start = time.perf_counter()
    si.simulate(model, 10**6, 400, record_every=400, **kw)
    per_step = (time.perf_counter() - start) / 400
    n_steps = max(4000, int(30.0 / per_step))
    with sigint_after(0.5) as elapsed, pytest.raises(KeyboardInterrupt):
        si.simulate(model, 10**6, n_steps, record_every=n_steps, **kw)
    assert elapsed() < 5.0


def test_cuda_deterministic():
    model = models.HodgkinHuxley()
    a = si.simulate(model, 500, backend="cuda", dtype="float32", **COMMON).data
    b = si.simulate(model, 500, backend="cuda", dtype="float32", **COMMON).data
    np.testing.assert_array_equal(a, b)
