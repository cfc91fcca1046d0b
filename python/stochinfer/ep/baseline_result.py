"""Baselines behind entropy_production(method=...): wraps BaselineEstimate in an
EPResult with the truth of the generating model."""
from __future__ import annotations

from typing import Optional

from .._io import json_safe
from .baselines import plugin_binned, plugin_discrete, tur_bound
from .data import _partially_observed, as_ep_data, model_truth
from .result import EPResult


def baseline_result(method: str, data, dt: Optional[float], model=None, substeps: Optional[int] = None,
                    **options) -> EPResult:
    d = as_ep_data(data, dt, model, substeps, keep=1.0)  # pairs alone: tracks keep every transition they can
    if method == "plugin":
        est = plugin_discrete(d.data, **options) if d.tokens else plugin_binned(d.data, d.dt, **options)
    elif method == "tur":
        if d.tokens:
            raise ValueError("method='tur' needs real-valued states; for tokens use 'plugin' or 'neep'")
        est = tur_bound(d.data, d.dt, **options)
    else:
        raise ValueError(f"unknown baseline {method!r}")
    scale = 1.0 / d.dt if est.units == "per_step" else 1.0
    stderr = float("nan") if est.stderr is None else est.stderr * scale
    truth = model_truth(d)  # first: the caveats it adds to d.notes belong in the result's notes
    kind, notes = est.kind, list(d.notes)
    if d.tokens and _partially_observed(d):  # pairs of coarse-grained tokens see only part of the EP
        kind = "bound"
        notes.append("coarse-grained token paths: the plug-in EP of pairs is a lower bound on the EP")
    n_groups = int(est.details["n_groups"])
    fixed = est.details.get("bias_corrected")
    return EPResult(rate=est.value * scale, stderr=stderr, method=est.method, kind=kind, dt=d.dt,
                    units="k_B/step" if d.tokens and d.dt == 1.0 else "k_B/time", truth=truth,
                    dof=float(n_groups - 1) if n_groups > 1 and est.stderr is not None else None,
                    settings={"options": _recorded(options), "details": est.details, "notes": notes,
                              "stderr_method": f"jackknife over {n_groups} groups",
                              "bias_corrected_rate": None if fixed is None else fixed * scale})


def _recorded(options: dict) -> dict:
    """The options as plain JSON values (to_dict promises JSON): numpy numbers as Python
    numbers, a callable basis by its name."""
    return {k: getattr(v, "__name__", repr(v)) if callable(v) else json_safe(v) for k, v in options.items()}
