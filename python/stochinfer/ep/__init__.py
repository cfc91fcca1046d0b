"""Entropy production from trajectories: NEEP (neural, default) and classic
baselines, all returning results with error bars and, for built-in models, the
analytic truth."""
from __future__ import annotations

from typing import Any, Optional

from .._validate import seed_value
from .baselines import BaselineEstimate, block_kld, plugin_binned, plugin_discrete, tur_bound
from .cneep import CNEEP, upsample_map
from .neep import NEEP
from .rneep import RNEEP
from .result import EPResult
from .splits import Split, three_way_split

__all__ = ["entropy_production", "NEEP", "RNEEP", "CNEEP", "upsample_map", "EPResult", "BaselineEstimate", "plugin_discrete", "plugin_binned",
           "block_kld", "tur_bound", "Split", "three_way_split"]

_METHODS = ("neep", "rneep", "cneep", "plugin", "tur")


def entropy_production(data: Any, dt: Optional[float] = None, *, method: str = "neep", seed: int = 0,
                       model: Optional[Any] = None, substeps: Optional[int] = None, **options: Any) -> EPResult:
    """Estimate the entropy production rate of stationary trajectories.

    data: Trajectories (from simulate), float array (n_traj, L, dim), or integer
    token paths (n_traj, L) of a jump chain. dt: time between points (model time
    unit; omit for Trajectories; tokens default to 1 = EP per step).
    method: 'neep' (neural estimator, default; options go to NEEP(...)), 'rneep'
    (recurrent NEEP for partially observed token data; a lower bound), 'cneep' (movies:
    Movies or frames (n_movies, n_frames, height, width); options go to CNEEP(...);
    the result carries a dissipation map), 'plugin'
    (histogram KLD: tokens, or binned continuous data in low dimension) or 'tur'
    (short-time TUR lower bound with a linear current basis; continuous data);
    their options go to plugin_discrete / plugin_binned and tur_bound.
    seed: keys the split, weight initialisation and minibatches of the neural methods.
    model, substeps: the built-in model that generated array data and its integration
    substeps per dt, for the truth (σ, σ_Δt, per-transition ΔS); Trajectories carry both.
    Returns an EPResult: rate ± stderr in k_B per unit time (per step for tokens),
    with σ and σ_Δt when the data came from a built-in model.
    """
    if not isinstance(method, str):
        raise TypeError(f"method must be one of {_METHODS}, got {method!r}")
    method = method.lower()
    seed = seed_value("seed", seed)
    if method == "neep":
        return NEEP(**options).fit(data, dt, seed=seed, model=model, substeps=substeps)
    if method == "rneep":
        return RNEEP(**options).fit(data, dt, seed=seed, model=model)
    if method == "cneep":
        return CNEEP(**options).fit(data, dt, seed=seed, model=model, substeps=substeps)
    if method in ("plugin", "tur"):
        from .baseline_result import baseline_result
        return baseline_result(method, data, dt, model=model, substeps=substeps, **options)
    raise ValueError(f"method must be one of {', '.join(_METHODS)}; got {method!r}")
