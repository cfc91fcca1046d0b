"""Simulation of user-defined Python models: one vectorised call per step, the
same random numbers as the compiled simulators."""
from __future__ import annotations

import math

import numpy as np

from . import _core
from ._validate import check_output_fits, finite_array, real_array
from .results import Trajectories
from .simulate import first_non_finite


def _returned(name: str, value) -> np.ndarray:
    """A callable's result as float64; complex (numpy would drop the imaginary part with
    only a warning), boolean and string results are refused, naming the callable."""
    try:
        return real_array(f"the {name} callable's result", value)
    except TypeError as exc:
        raise TypeError(f"{exc}; {name} must return real arrays") from None


def simulate_python_model(model, n_traj, n_steps, dt, substeps, seed, record_every, burn_in,
                          initial, dtype, integrator, t0, traj_offset) -> Trajectories:
    integrator = "euler_maruyama" if integrator is None else integrator
    if integrator != "euler_maruyama":
        raise ValueError("integrator: PythonModel supports 'euler_maruyama' only")
    d = model.dim
    n_rec = n_steps // record_every + 1
    # before anything of size n_traj (the states, two per trajectory in float64) is allocated
    check_output_fits((n_traj, n_rec + 2, d), np.float64, "lower n_traj or n_steps, or raise record_every")
    if initial is None or (isinstance(initial, str) and initial == "zeros"):
        x = np.zeros((n_traj, d))
    elif isinstance(initial, str):
        raise ValueError("initial: PythonModel takes 'zeros' or an array of shape (dim,) or (n_traj, dim)")
    else:
        arr = finite_array("initial", initial)
        if arr.shape not in ((d,), (n_traj, d)):
            raise ValueError(f"initial must have shape ({d},) or ({n_traj}, {d}), got {arr.shape}")
        x = np.broadcast_to(arr, (n_traj, d)).astype(np.float64)
    out = np.empty((n_traj, n_rec, d), dtype=dtype)
    with np.errstate(over="ignore"):  # beyond float32: refused below with the states' size
        out[:, 0] = x
    h = dt / substeps
    sq = math.sqrt(h)
    g = 0
    for n in range(burn_in + n_steps):
        for _ in range(substeps):
            t = t0 + (g / substeps - burn_in) * dt
            xi = _core.normals(seed, "integrator_noise", traj_offset, n_traj, g, d).astype(np.float64)
            f = _returned("drift", model.drift(x, t))
            if f.shape != x.shape:
                raise ValueError(f"drift returned shape {f.shape}, expected {x.shape}")
            noise = _returned("noise", model.noise_increment(x, t, xi))
            if noise.shape != x.shape:
                raise ValueError(f"noise returned shape {noise.shape}, expected {x.shape}")
            x = x + f * h + noise * sq
            g += 1
        if not np.all(np.isfinite(x)):
            raise FloatingPointError(f"trajectories diverged (non-finite state) at step {n + 1}; reduce dt or raise substeps")
        rec = n - burn_in + 1
        if rec >= 0 and rec % record_every == 0:
            with np.errstate(over="ignore"):
                out[:, rec // record_every] = x
    if first_non_finite(out) is not None:  # finite in float64, beyond the output dtype's range
        raise ValueError(f"the states reach {np.abs(x).max():.3g}, beyond the {np.dtype(dtype).name} range of the "
                         "output; use dtype='float64' or smaller states")
    settings = dict(integrator=integrator, substeps=substeps, seed=seed, record_every=record_every, burn_in=burn_in,
                    dtype=np.dtype(dtype).name, backend="python", traj_offset=traj_offset,
                    dt_integration=h, underdamped=False)
    return Trajectories(data=out, dt=dt * record_every, t0=t0, model=model, settings=settings)
