"""Figures of an inferred Langevin equation (optional dependency matplotlib)."""
from __future__ import annotations

from typing import Optional

import numpy as np


def plot_fields(fit, path: Optional[str] = None, truth=None, n_grid: int = 60, level: float = 0.95):
    """Drift and diffusion along a 1-D slice through the data (first coordinate
    varied, the others at their data mean; underdamped: x varied at v = mean)
    with the posterior mean and `level` band, and the truth when given; for d ≥ 2
    overdamped fits also a map of the drift (arrows) over the posterior std of its
    magnitude (colour) in the first two coordinates. Saves to `path` when given;
    returns the figure."""
    try:
        import matplotlib
        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'stochinfer[plot]'") from exc
    states = fit._val_states[0]
    t = None if fit._val_states[1] is None else float(np.mean(fit._val_states[1]))
    lo, hi = np.percentile(states, [1, 99], axis=0)
    centre = states.mean(axis=0)
    grid = np.repeat(centre[None], n_grid, axis=0)
    grid[:, 0] = np.linspace(lo[0], hi[0], n_grid)
    two_d = fit.regime == "overdamped" and fit.dim >= 2
    fig, axes = plt.subplots(1, 3 if two_d else 2, figsize=(13 if two_d else 9, 3.8))
    dr = fit.drift(grid, t, level=level)
    df = fit.diffusion(grid, t, level=level)
    truth = truth if truth is not None else fit.model
    for ax, est, name in ((axes[0], dr, "drift"), (axes[1], df, "diffusion")):
        mean = est.mean.reshape(n_grid, -1)
        lo_b, hi_b = est.lo.reshape(n_grid, -1), est.hi.reshape(n_grid, -1)
        comps = range(mean.shape[1]) if name == "drift" else [0]
        for c in comps:
            line, = ax.plot(grid[:, 0], mean[:, c], label=f"{name} {c + 1}")
            ax.fill_between(grid[:, 0], lo_b[:, c], hi_b[:, c], color=line.get_color(), alpha=0.25)
            if truth is not None:
                f = fit._truth_field(getattr(truth, name), grid, 0.0 if t is None else t, name)
                ax.plot(grid[:, 0], f.reshape(n_grid, -1)[:, c], "k--", lw=1)
        ax.set_xlabel("x1 (others at the data mean)")
        ax.set_title(f"{name}: mean, {level:.0%} band" + (", truth dashed" if truth is not None else ""), fontsize=9)
        ax.legend(fontsize=7)
    if two_d:
        g1 = np.linspace(lo[0], hi[0], 25)
        g2 = np.linspace(lo[1], hi[1], 25)
        X1, X2 = np.meshgrid(g1, g2)
        pts = np.repeat(centre[None], X1.size, axis=0)
        pts[:, 0], pts[:, 1] = X1.ravel(), X2.ravel()
        est = fit.drift(pts, t, n_samples=50)
        std = np.linalg.norm(est.std, axis=1).reshape(X1.shape)
        ax = axes[2]
        im = ax.pcolormesh(X1, X2, std, shading="auto", cmap="viridis")
        ax.quiver(X1, X2, est.mean[:, 0].reshape(X1.shape), est.mean[:, 1].reshape(X1.shape), color="w")
        ax.plot(states[::20, 0], states[::20, 1], ".", ms=1, color="r", alpha=0.3)
        fig.colorbar(im, ax=ax, label="posterior std of drift")
        ax.set_title("drift (arrows) and its posterior std (colour)", fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
