"""diffrax peer (JAX on CPU): ``diffrax.diffeqsolve`` with ``Euler()``,
``MultiTerm(ODETerm(drift), ControlTerm(diag diffusion, UnsafeBrownianPath))``,
``StepTo`` on the exact grid t_j = j*dt (so exactly n_steps steps are taken,
no float accumulation), ``SaveAt(ts=every R-th grid time)``, ``jax.vmap`` over
trajectories (one PRNG key each) and ``jax.jit`` around the whole batch.

float64 needs ``jax_enable_x64``, a process-global flag: the harness runs
each case in its own process and calls ``setup(dtype)`` before anything else.
The compiled function is shape-specialised: ``prepare()`` compiles it ahead
of time for the full shape (``jit(...).lower(...).compile()``), so compile
time is excluded from the timings without an extra full-size run."""
from __future__ import annotations

import functools
import os

# CPU unless the harness runs the GPU cases (--gpu sets STOCHINFER_BENCH_GPU): a GPU comparison
# must put diffrax on the same GPU (a CUDA jaxlib), not on the CPU
if not os.environ.get("STOCHINFER_BENCH_GPU"):
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np
import jax
import jax.numpy as jnp
import jax.random as jr
import diffrax
import lineax as lx

from . import _model

NAME = "diffrax"
JIT_SHAPE_SPECIALIZED = True
# XLA output buffer (+ transient copy on transfer): budget ~2x output.
MEMORY_FACTOR = 2.0


def versions() -> dict:
    return {"jax": jax.__version__, "jaxlib": jax.lib.__version__ if hasattr(jax.lib, "__version__") else "?",
            "devices": [str(d) for d in jax.devices()],
            "diffrax": diffrax.__version__, "x64": bool(jax.config.jax_enable_x64)}


def setup(dtype: str) -> None:
    if np.dtype(dtype) == np.float64:
        jax.config.update("jax_enable_x64", True)


@functools.lru_cache(maxsize=None)
def _build(n_beads, n_traj, n_steps, dt, record_every, dtype_name):
    jdt = jnp.dtype(dtype_name)
    if jdt == jnp.float64 and not jax.config.jax_enable_x64:
        raise RuntimeError("float64 needs jax_enable_x64 (call setup('float64') first)")
    kg = _model.K / _model.GAMMA
    sigma = jnp.asarray(_model.diffusion_coeff(n_beads), dtype=jdt)  # sqrt(2 T_i / gamma)
    grid = jnp.arange(n_steps + 1, dtype=jdt) * jnp.asarray(dt, jdt)
    save_ts = grid[::record_every]

    def drift(t, y, args):
        yp = jnp.pad(y, 1)  # walls x_0 = x_{N+1} = 0
        return kg * (yp[:-2] - 2 * y + yp[2:])

    def diffusion(t, y, args):
        return lx.DiagonalLinearOperator(sigma)

    def solve_one(key):
        bm = diffrax.UnsafeBrownianPath(shape=(n_beads,), key=key, levy_area=diffrax.BrownianIncrement)
        terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(diffusion, bm))
        sol = diffrax.diffeqsolve(
            terms, diffrax.Euler(), t0=grid[0], t1=grid[-1], dt0=None,
            y0=jnp.zeros(n_beads, dtype=jdt),
            saveat=diffrax.SaveAt(ts=save_ts),
            stepsize_controller=diffrax.StepTo(ts=grid),
            max_steps=n_steps,
            adjoint=diffrax.ForwardMode(),  # forward-only; required with UnsafeBrownianPath
        )
        return sol.ys

    def run(key):
        return jax.vmap(solve_one)(jr.split(key, n_traj))

    # Ahead-of-time compile for this shape; later calls reuse the executable.
    return jax.jit(run).lower(jr.PRNGKey(0)).compile()


def prepare(n_beads, n_traj, n_steps, dt, record_every, dtype, seed):
    """Compile (untimed) for this exact shape, so that simulate() runs without compiling."""
    _build(n_beads, n_traj, n_steps, float(dt), record_every, np.dtype(dtype).name)


def simulate(n_beads, n_traj, n_steps, dt, record_every, dtype, seed):
    run = _build(n_beads, n_traj, n_steps, float(dt), record_every, np.dtype(dtype).name)
    ys = run(jr.PRNGKey(seed))
    ys.block_until_ready()
    return np.asarray(ys)
