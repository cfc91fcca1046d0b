"""Figures of an inferred Langevin equation (optional dependency matplotlib)."""
from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from .._io import save_figure

#: components drawn, one row each (the first ones; a note says when more exist)
MAX_ROWS = 4


def plot_fields(fit, path: Optional[str] = None, truth=None, n_grid: int = 60, level: float = 0.95,
                t: Optional[float] = None):
    """Drift and diffusion along a 1-D slice through the data (first coordinate
    varied, the others at their data mean; underdamped: x varied at v = mean),
    one row per component (drift F_i; diffusion D_ii of the noisy coordinates,
    the noiseless ones marked), each on its own axis, with the posterior mean and
    `level` band and the truth when given (or attached to the data and matching
    the fit). For d >= 2 overdamped fits also a map over the first two
    coordinates: drift arrows and the posterior std of the drift (colour), each
    component in units of its coordinate's spread so that coordinates of
    different units compare. Driven (time-dependent) fits are drawn at time `t`
    (default: the mean time of the validation states), stated in the titles.
    Saves to `path` when given; returns the figure."""
    try:
        import matplotlib
        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'stochinfer[plot]'") from exc
    if truth is not None:
        fit._check_truth(truth)
    elif fit.model is not None:
        try:  # the data's own model: drawn only when it is a truth for this fit
            truth = fit._check_truth(fit.model)
        except (TypeError, ValueError) as exc:
            warnings.warn(f"the data's model is not drawn as the truth: {exc}", stacklevel=3)
    states = fit._val_states[0]
    if fit.time_dependent:
        t = float(np.mean(fit._val_states[1])) if t is None else float(t)
        if not np.isfinite(t):
            raise ValueError(f"t must be finite, got {t}")
    elif t is not None:
        raise ValueError("t applies to driven fits (time_dependent=True); this fit has no time input")
    when = f" at t = {t:.4g}" if t is not None else ""
    d, noisy = fit.dim, [int(i) for i in fit.norm["noisy"]]
    lo, hi = np.percentile(states, [1, 99], axis=0)
    centre = states.mean(axis=0)
    grid = np.repeat(centre[None], n_grid, axis=0)
    grid[:, 0] = np.linspace(lo[0], hi[0], n_grid)
    two_d = fit.regime == "overdamped" and d >= 2
    rows = min(d, MAX_ROWS)
    fig, axes = plt.subplots(rows, 3 if two_d else 2, figsize=(13 if two_d else 9, 1.2 + 2.4 * rows),
                             squeeze=False)
    dr = fit.drift(grid, t, level=level)
    df = fit.diffusion(grid, t, level=level)
    tt = 0.0 if t is None else t
    true_f = {name: fit._truth_field(getattr(truth, name), grid, tt, name).reshape(n_grid, -1)
              for name in ("drift", "diffusion")} if truth is not None else {}
    xlabel = "x1 (others at the data mean" + (", v at its mean)" if fit.regime == "underdamped" else ")")
    for col, est, name in ((0, dr, "drift"), (1, df, "diffusion")):
        mean = est.mean.reshape(n_grid, -1)
        lo_b, hi_b = est.lo.reshape(n_grid, -1), est.hi.reshape(n_grid, -1)
        for i in range(rows):
            ax = axes[i, col]
            c = i if name == "drift" else i * d + i  # D_ii in the flattened d x d matrix
            label = f"F{i + 1}" if name == "drift" else f"D{i + 1}{i + 1}"
            if i == 0:
                ax.set_title(f"{name}{when}", fontsize=9)
            if name == "diffusion" and i not in noisy:
                ax.text(0.5, 0.5, f"{label} = 0 (noiseless)", ha="center", va="center", transform=ax.transAxes)
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            line, = ax.plot(grid[:, 0], mean[:, c], label=f"{label} mean")
            ax.fill_between(grid[:, 0], lo_b[:, c], hi_b[:, c], color=line.get_color(), alpha=0.25,
                            label=f"{level:.0%} band")
            if truth is not None:
                ax.plot(grid[:, 0], true_f[name][:, c], "k--", lw=1, label="truth")
            ax.set_ylabel(label)
            if i == 0:
                ax.legend(fontsize=7)
            if i == rows - 1:
                ax.set_xlabel(xlabel, fontsize=8)
    if d > rows:
        fig.text(0.01, 0.005, f"components 1-{rows} of {d} shown", fontsize=7)
    if two_d:
        for ax in axes[1:, 2]:
            ax.remove()
        _drift_map(fig, axes[0, 2], fit, states, lo, hi, centre, t, when)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def _drift_map(fig, ax, fit, states, lo, hi, centre, t, when):
    """Drift arrows over the posterior std of the drift (colour) in the plane of
    the first two coordinates; components divided by their coordinate's spread."""
    g1, g2 = np.linspace(lo[0], hi[0], 25), np.linspace(lo[1], hi[1], 25)
    X1, X2 = np.meshgrid(g1, g2)
    pts = np.repeat(centre[None], X1.size, axis=0)
    pts[:, 0], pts[:, 1] = X1.ravel(), X2.ravel()
    est = fit.drift(pts, t, n_samples=50)
    spread = np.where(states.std(axis=0) > 0, states.std(axis=0), 1.0)
    std = np.linalg.norm(est.std / spread, axis=1).reshape(X1.shape)
    im = ax.pcolormesh(X1, X2, std, shading="auto", cmap="viridis")
    # arrows in units of each axis' spread, drawn in screen space: directions as in the plane shown
    ax.quiver(X1, X2, (est.mean[:, 0] / spread[0]).reshape(X1.shape), (est.mean[:, 1] / spread[1]).reshape(X1.shape),
              color="w")
    ax.plot(states[::20, 0], states[::20, 1], ".", ms=1, color="r", alpha=0.3)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    fig.colorbar(im, ax=ax, label="posterior std of drift / coordinate spread")
    ax.set_title(f"drift (arrows) and its posterior std (colour){when}", fontsize=9)
