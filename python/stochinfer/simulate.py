"""Batched Langevin simulation (compiled core; CPU threads or CUDA)."""
from __future__ import annotations

import math
import os
from typing import Optional, Union

import numpy as np

from . import _core
from ._validate import (check_output_fits, finite_array, finite_float, positive_float,
                        positive_int, seed_value, thread_count)
from .models import FlashingRatchet, Model, PythonModel
from .results import Trajectories

__all__ = ["simulate"]

_OVERDAMPED = ("euler_maruyama", "heun")
_UNDERDAMPED = ("baoab", "underdamped_euler")


def default_burn_in(model: Union[Model, PythonModel], dt: float, substeps: int) -> int:
    """The model's burn-in before t0, in intervals of dt integrated with `substeps` steps each."""
    if hasattr(model, "default_burn_in"):
        return model.default_burn_in(dt)
    return math.ceil(getattr(model, "default_burn_in_substeps", 0) / substeps)  # PythonModel: none


#: linear models up to this dimension have their step checked for stability whatever the start
#: (a Lyapunov solve, milliseconds); above it only the stationary start checks (divergence to
#: inf or NaN still raises FloatingPointError)
_STABILITY_CHECK_DIM = 256


def simulate(model: Union[Model, PythonModel], n_traj: int, n_steps: int, dt: float, *,
             substeps: int = 1, seed: int = 0, record_every: int = 1, burn_in: Optional[int] = None,
             initial: Union[str, np.ndarray, None] = None, dtype: str = "float64",
             integrator: Optional[str] = None, t0: float = 0.0, n_threads: Optional[int] = None,
             backend: str = "cpu", traj_offset: int = 0) -> Trajectories:
    """Simulate `n_traj` independent trajectories of `model`.

    Parameters
    ----------
    model : a built-in model from ``stochinfer.models`` or a ``PythonModel``.
    n_traj : number of trajectories.
    n_steps : recording intervals of length ``dt`` (model time unit); the output has
        ``n_steps // record_every + 1`` points per trajectory, the first at ``t0``.
    dt : time step (> 0, model time unit); integration uses ``dt / substeps``, and the recorded
        points are ``dt * record_every`` apart (the returned ``Trajectories.dt``).
    substeps : integration steps per ``dt`` (methods.md: EP estimators see σ_Δt of this scheme).
    seed : the normal for (trajectory i, integration step g, component k) depends only on
        (seed, traj_offset + i, g, k): same seed, same result for any thread count; the CPU and CUDA
        backends draw the same normals and agree to floating-point rounding.
    record_every : keep every ``record_every``-th point (memory scales with 1/record_every);
        ``record_every=n_steps`` keeps only the initial and final states.
    burn_in : intervals of ``dt`` simulated and discarded before ``t0``; default the model's.
    t0 : time of the first recorded point (model time unit; burn-in runs before it).
        Driven models are evaluated at the absolute time t (the Carnot protocol at phase
        t mod tau), so t0 = 40 starts a tau = 100 cycle 40% of the way in, not at its start.
    initial : "stationary" (exact stationary law of the integrator in use, linear models),
        "equilibrium" (models that define one), "model_default", "zeros", an array of shape
        (dim,) shared by all trajectories, or (n_traj, dim), one row each. Default: the model's.
    dtype : "float64" or "float32" (output and arithmetic; normals are computed in float32;
        a PythonModel computes in float64 and stores in dtype).
    integrator : "euler_maruyama" (default, Itô) or "heun" for overdamped models; "baoab"
        (default) or "underdamped_euler" (reference LBN scheme) for underdamped ones.
    n_threads : CPU threads (default: all cores).
    backend : "cpu" or "cuda".
    traj_offset : global index of the first trajectory, to shard one ensemble over calls
        (traj_offset + n_traj <= 2**56).

    Returns
    -------
    Trajectories with ``.x`` (n_traj, n_records, dof), ``.v`` (underdamped), ``.t``,
    ``.settings`` (every option that changes numbers).

    Raises ValueError/TypeError naming the argument for bad input, OutputTooLargeError
    (a ValueError and MemoryError) before allocating an output larger than available
    memory. Ctrl-C raises KeyboardInterrupt promptly and returns nothing.
    """
    if isinstance(model, FlashingRatchet):
        raise TypeError("model: FlashingRatchet is a Markov jump chain; use model.sample(n_traj, n_steps, seed)")
    n_traj = positive_int("n_traj", n_traj)
    n_steps = positive_int("n_steps", n_steps)
    dt = positive_float("dt", dt)
    substeps = positive_int("substeps", substeps)
    record_every = positive_int("record_every", record_every)
    if record_every > n_steps:
        raise ValueError(f"record_every ({record_every}) must be <= n_steps ({n_steps})")
    seed = seed_value("seed", seed)
    traj_offset = positive_int("traj_offset", traj_offset, minimum=0)
    # the Philox counter keeps 56 bits of the trajectory index: beyond, streams would repeat
    for name, value, cap in (("substeps", substeps, 2**31 - 1), ("traj_offset + n_traj", traj_offset + n_traj, 2**56),
                             ("n_steps × substeps", n_steps * substeps, 2**62)):
        if value > cap:
            raise ValueError(f"{name} must be <= {cap}, got {value}")
    t0 = finite_float("t0", t0)
    if dtype not in ("float32", "float64", np.float32, np.float64):
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    dtype = np.dtype(dtype)
    threads = thread_count(n_threads)
    if backend not in ("cpu", "cuda"):
        raise ValueError(f"backend must be 'cpu' or 'cuda', got {backend!r}")

    if isinstance(model, PythonModel):
        if backend != "cpu":
            raise ValueError(f"backend={backend!r}: a PythonModel runs its numpy callables on the CPU; use "
                             "backend='cpu' (or a built-in model for CUDA)")
        from ._python_model import simulate_python_model
        return simulate_python_model(model, n_traj, n_steps, dt, substeps, seed, record_every,
                                     0 if burn_in is None else positive_int("burn_in", burn_in, minimum=0),
                                     initial, dtype, integrator, t0, traj_offset)
    if not isinstance(model, Model):
        raise TypeError(f"model must be a stochinfer model, got {type(model).__name__}")
    if model.overridden_methods():
        raise TypeError(f"model: {type(model).__name__} redefines {', '.join(model.overridden_methods())}, but the "
                        f"compiled core simulates the built-in {model._builtin_class().__name__}'s equations; for "
                        "equations of your own use PythonModel(drift, dim, diffusion=...)")

    allowed = _UNDERDAMPED if model.underdamped else _OVERDAMPED
    integrator = model.default_integrator if integrator is None else integrator
    if integrator not in allowed:
        kind = "underdamped" if model.underdamped else "overdamped"
        raise ValueError(f"integrator must be one of {allowed} for the {kind} model {type(model).__name__}, got {integrator!r}")

    burn_in = positive_int("burn_in", default_burn_in(model, dt, substeps) if burn_in is None else burn_in, minimum=0)
    if (burn_in + n_steps) * substeps >= 2**56:  # the counter-based RNG's step counter has 56 bits
        raise ValueError(f"burn_in + n_steps ({burn_in} + {n_steps}) times substeps ({substeps}) must be below 2**56 "
                         "integration steps")

    dim = model.dim
    if dtype == np.float32:  # the core computes in the output's precision: parameters must fit it
        params = np.abs(np.asarray(model._params(), dtype=np.float64))
        if params.size and params.max() > np.finfo(np.float32).max:
            raise ValueError(f"a parameter of {type(model).__name__} reaches {params.max():.3g}, beyond the float32 "
                             "range: use dtype='float64'")
    init_kind, init_data = _initial(model, initial, n_traj, dim, dt, substeps, integrator)
    if (init_kind != "gaussian" and integrator in ("euler_maruyama", "heun")
            and hasattr(model, "integrator_covariance") and dim <= _STABILITY_CHECK_DIM):
        # the stationary start refuses an unstable step; other starts grew to 1e54 in 100 steps and were
        # returned as finite (review, session 30): the same check, for any start
        model.integrator_covariance(dt, substeps, integrator)
    if init_kind in ("broadcast", "per_trajectory") and np.abs(init_data).max() > np.finfo(dtype).max:
        raise ValueError(f"initial reaches {np.abs(init_data).max():.3g}, beyond the {dtype.name} range; "
                         "use dtype='float64' or smaller initial states")

    n_rec = n_steps // record_every + 1
    shape = (n_traj, n_rec, dim)
    # CUDA also holds, on the host, two staging buffers of 32 MiB (kept for the next call) and one
    # state per trajectory (cuda/simulate_cuda.cu)
    one_record = n_traj * dim * dtype.itemsize
    if backend == "cuda":
        extra = 2 * 2**25 + one_record
    else:  # each CPU thread holds a block of SIMD lanes (64 bytes per value) of 8·dim working values
        lanes = 16 if dtype == np.float32 else 8  # cpp/include/stochinfer/simulate_cpu.hpp, cpu_lanes
        busy = min(threads or os.cpu_count() or 1, -(-n_traj // lanes))
        extra = busy * 8 * dim * 64
    check_output_fits(shape, dtype, "lower n_traj or n_steps, raise record_every, or use dtype='float32'", extra)
    out = np.empty(shape, dtype=dtype)
    status = _core.simulate(model.cpp_name, model._size(), model._params(), out, n_steps, substeps,
                            record_every, burn_in, dt, t0, seed, traj_offset, integrator, init_kind,
                            init_data, threads, backend)
    if status != "completed":  # cancelled without a pending signal: never return partial output
        raise KeyboardInterrupt("simulation cancelled")
    first_bad = first_non_finite(out, threads)
    if first_bad is not None:
        i, k = first_bad
        raise FloatingPointError(f"trajectories diverged (trajectory {i} is not finite from record {k}); "
                                 "reduce dt or raise substeps")
    settings = dict(integrator=integrator, substeps=substeps, seed=seed, record_every=record_every,
                    burn_in=burn_in,  # the start as asked for (the core's kind, e.g. 'gaussian', says less)
                    initial=initial if isinstance(initial, str) else model.default_initial if initial is None
                    else "array",
                    dtype=dtype.name, backend=backend, traj_offset=traj_offset, dt_integration=dt / substeps,
                    underdamped=model.underdamped)
    return Trajectories(data=out, dt=dt * record_every, t0=t0, model=model, settings=settings)


def first_non_finite(out: np.ndarray, n_threads: int = 0) -> Optional[tuple]:
    """(trajectory, record) of the first NaN/inf in `out` (n_traj, n_records, dim), or None.

    One compiled pass on `n_threads` threads (0: all cores) for C-contiguous float32/float64
    output: a single-threaded numpy pass cost as much as the simulation on many cores."""
    if out.flags.c_contiguous and out.dtype in (np.float32, np.float64) and out.ndim == 3:
        try:
            row = _core.first_non_finite_row(out, int(n_threads))
            return None if row < 0 else divmod(int(row), out.shape[1])
        except TypeError:  # a float dtype numpy calls equal but not the native one: numpy below
            pass
    bad = ~np.isfinite(out)
    return tuple(int(v) for v in np.argwhere(bad)[0][:2]) if bad.any() else None


def _initial(model, initial, n_traj, dim, dt, substeps, integrator):
    if initial is None:
        initial = model.default_initial
    if isinstance(initial, str):
        if initial == "zeros":
            return "zeros", None
        if initial in ("stationary", "equilibrium", "model_default"):
            if initial == "stationary" and not hasattr(model, "sampled_covariance"):
                # only linear models have a closed-form stationary law (a driven engine has none)
                raise ValueError(f"initial='stationary' (the exact stationary law of linear models) is not "
                                 f"available for {type(model).__name__}; use 'zeros', an array, or the default "
                                 f"({model.default_initial!r}) with a burn_in")
            if initial == "equilibrium" and model.default_initial != "equilibrium":
                raise ValueError(f"initial='equilibrium' is not defined for {type(model).__name__} (only for models "
                                 "that start in equilibrium, e.g. BrownianCarnot); use 'stationary' (linear "
                                 f"models), 'zeros', an array, or the default ({model.default_initial!r})")
            return model.initial_distribution(dt, substeps, integrator)
        raise ValueError(f"initial must be 'stationary', 'equilibrium', 'model_default', 'zeros' or an array, got {initial!r}")
    arr = finite_array("initial", initial)
    if arr.shape == (dim,):
        return "broadcast", arr
    if arr.shape == (n_traj, dim):
        return "per_trajectory", arr
    raise ValueError(f"initial must have shape ({dim},) or ({n_traj}, {dim}), got {arr.shape}")
