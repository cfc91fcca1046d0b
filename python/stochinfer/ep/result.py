"""EPResult: an entropy-production estimate with its error bar and, where the
data came from a built-in model, the analytic truth."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from .._io import save_figure
from .._stats import student_t_quantile
from .._validate import band_level


@dataclass
class EPResult:
    """Entropy production estimated from data.

    rate: the estimate in k_B per unit time (per step for jump chains, `units` says
    which); stderr: its standard error from the spread over test trajectories (from
    block means for one or two test segments). kind: 'estimate' or 'bound' (a lower bound).
    truth: analytic values when known — 'ep_rate' (σ), 'snapshot_ep_rate' (σ_Δt, what
    a transition-based estimator converges to), 'optimal_loss' (1 − σ_Δt Δt); for
    motion-blurred movies of linear models 'exposure_mean_ep_rate' (what the windows of
    exposure-mean positions show: clean frames show at least this) and
    'exposure_span_ep_rate' (the sub-step path a window spans: at most this).
    delta_s: stochastic EP (k_B) of every test transition, in order; delta_s_truth
    the analytic values of the same transitions. settings: every option that changed
    the numbers. history: the training curve (of the first network when n_seeds > 1;
    settings['iterations'] and settings['best_iteration'] give every network's).
    dt: time between consecutive points of the data (the data's time unit; 1 for
    token paths without one, the rate then per step). window: points per ΔS item, 2
    for transitions, n for RNEEP windows and CNEEP's seq_len (read with stride n − 1).
    rate_regression: the slope of the test trajectories' mean cumulative EP against
    time (the NEEP paper's read-out), bound: the variational bound (1 − test loss) /
    ((window − 1) dt), both in the units of rate (None for the baselines). dof:
    degrees of freedom of stderr, for interval()'s Student t (None: normal
    quantile). seed_rates: each ensemble member's rate after fit(n_seeds=K), K >= 2,
    in the units of rate (None for one network).
    """

    rate: float
    stderr: float
    method: str
    kind: str = "estimate"
    dt: float = 1.0
    units: str = "k_B/time"
    window: int = 2  # points per ΔS item: 2 for transitions, n for RNEEP windows (stride n − 1)
    rate_regression: Optional[float] = None
    bound: Optional[float] = None
    test_loss: Optional[float] = None
    r2: Optional[float] = None
    delta_s: Optional[np.ndarray] = None
    delta_s_truth: Optional[np.ndarray] = None
    test_segments: Optional[np.ndarray] = None
    truth: dict = field(default_factory=dict)
    seed_rates: Optional[list] = None
    dof: Optional[float] = None  # degrees of freedom of stderr (None: treated as exact)
    history: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    estimator: Any = None
    dissipation_map: Optional[np.ndarray] = None  # CNEEP: time-averaged map on the test movies (k_B per window)

    @property
    def reference(self) -> Optional[float]:
        """The value the estimate is compared with: σ_Δt when known, else (motion-blurred
        movies) the exposure-mean rate, else σ."""
        t = self.truth
        return t.get("snapshot_ep_rate", t.get("exposure_mean_ep_rate", t.get("ep_rate")))

    @property
    def relative_error(self) -> Optional[float]:
        """(rate − reference) / reference, unitless (None without a known reference)."""
        ref = self.reference
        return None if ref is None or ref == 0 else (self.rate - ref) / ref

    @property
    def seed_spread(self) -> Optional[float]:
        """Standard deviation of the rate over ensemble members (K seeds)."""
        if not self.seed_rates or len(self.seed_rates) < 2:
            return None
        return float(np.std(self.seed_rates, ddof=1))

    def interval(self, level: float = 0.6827) -> tuple:
        """Central `level` interval (default: the 1σ level) of the rate: rate ± t·stderr
        with t the Student-t quantile for `dof` degrees of freedom (the standard error
        is itself estimated, from few test trajectories and seeds), or the normal
        quantile when dof is None."""
        q = 0.5 * (1 + band_level(level))
        k = student_t_quantile(q, self.dof or math.inf)
        return self.rate - k * self.stderr, self.rate + k * self.stderr

    def summary(self) -> str:
        """Human-readable lines: the rate with its error bar and units, the truth when known,
        and the notes on the data or the truth (settings['notes'])."""
        what = "lower bound" if self.kind == "bound" else "estimate"
        lines = [f"{self.method.upper()} EP rate {what}: {self.rate:.5g} ± {self.stderr:.2g} {self.units}"]
        if self.dof and np.isfinite(self.stderr):
            lo, hi = self.interval()
            lines.append(f"  68.3% interval [{lo:.5g}, {hi:.5g}] (Student t, {self.dof:.3g} degrees of freedom)")
        if self.seed_rates and len(self.seed_rates) > 1:
            lines.append(f"  ensemble of {len(self.seed_rates)} seeds: seed spread {self.seed_spread:.2g}")
        if self.rate_regression is not None:
            lines.append(f"  cumulative-regression read-out {self.rate_regression:.5g}")
        if self.settings.get("bias_corrected_rate") is not None:  # histogram baselines (ep/baselines.py)
            binned = "; the binning's, of either sign, remains" if self.method == "plugin_binned" else ""
            lines.append(f"  jackknife bias-corrected {self.settings['bias_corrected_rate']:.5g} (the 1/N bias "
                         f"removed{binned})")
        if self.bound is not None:
            per = "dt" if self.window <= 2 else f"({self.window - 1}·dt)"  # one ΔS item spans window − 1 steps
            lines.append(f"  variational bound (1 - test loss)/{per} = {self.bound:.5g}; test loss {self.test_loss:.6f}")
        t = self.truth
        if "snapshot_ep_rate" in t:
            err = self.rate - t["snapshot_ep_rate"]
            z = err / self.stderr if self.stderr and self.stderr > 0 else float("nan")
            rel = f"{100 * err / t['snapshot_ep_rate']:+.2f}%" if t["snapshot_ep_rate"] else f"{err:+.3g} (absolute)"
            lines.append(f"  truth σ_Δt = {t['snapshot_ep_rate']:.5g} (pairs dt apart): error {rel} ({z:+.1f} SE)")
        if "exposure_mean_ep_rate" in t:
            ref = t["exposure_mean_ep_rate"]
            err = self.rate - ref
            z = err / self.stderr if self.stderr and self.stderr > 0 else float("nan")
            rel = f"{100 * err / ref:+.2f}%" if ref else f"{err:+.3g} (absolute)"
            lines.append(f"  motion blur: exposure-mean positions show {ref:.5g} (clean frames show at least "
                         f"this): error {rel} ({z:+.1f} SE)")
        if "exposure_span_ep_rate" in t:
            lines.append(f"  motion blur: the sub-step path a window spans shows {t['exposure_span_ep_rate']:.5g} "
                         "(an upper bound)")
        if "full_information_ep_rate" in t:
            lines.append(f"  full-information EP {t['full_information_ep_rate']:.5g} (an upper bound for coarse-grained data)")
        if "ep_rate" in t:
            rel = (f"{100 * (self.rate / t['ep_rate'] - 1):+.2f}%" if t["ep_rate"]
                   else f"{self.rate - t['ep_rate']:+.3g} (absolute)")
            lines.append(f"  truth σ = {t['ep_rate']:.5g} (continuous time): error {rel}")
        if "test_set_rate" in t:
            lines.append(f"  analytic ΔS on the same test transitions: {t['test_set_rate']:.5g} (sampling scatter of the test set)")
        if "optimal_loss" in t and self.test_loss is not None:
            steps = "" if self.window <= 2 else f"{self.window - 1}·"  # one ΔS item spans window − 1 steps
            lines.append(f"  optimal loss 1 - {steps}σ_Δt·dt = {t['optimal_loss']:.6f} "
                         f"(test loss {self.test_loss - t['optimal_loss']:+.2e} above)")
        if self.r2 is not None:
            lines.append(f"  per-transition R² vs analytic ΔS: {self.r2:.4f}")
        for note in self.settings.get("notes", []):  # caveats on the data or the truth (e.g. assumed substeps)
            lines.append(f"  note: {note}")
        return "\n".join(lines)

    __str__ = summary

    def __repr__(self) -> str:
        return f"EPResult(method={self.method!r}, rate={self.rate:.6g}, stderr={self.stderr:.3g}, units={self.units!r})"

    def to_dict(self) -> dict:
        """JSON-friendly summary (no per-transition arrays)."""
        keys = ("rate", "stderr", "dof", "method", "kind", "dt", "units", "rate_regression", "bound", "test_loss", "r2",
                "seed_rates", "truth", "settings")
        d = {k: getattr(self, k) for k in keys}
        d["relative_error"] = self.relative_error
        d["history"] = [dict(h) for h in self.history]
        if self.dissipation_map is not None:
            d["dissipation_map"] = np.asarray(self.dissipation_map).tolist()
        return d

    def plot(self, path: Optional[str] = None) -> Any:
        """Training curve, cumulative EP of test trajectories, and ΔS vs the
        analytic ΔS when known. Needs matplotlib (pip install 'stochinfer[plot]').
        Saves to `path` when given; returns the matplotlib figure."""
        try:
            import matplotlib
            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("plot() needs matplotlib: pip install 'stochinfer[plot]'") from None
        if not self.history and self.delta_s is None:
            raise ValueError(f"plot: a {self.method} result has no training curve or per-transition EP to draw "
                             "(only NEEP and RNEEP results do)")
        n = 1 + (self.delta_s is not None) + (self.delta_s_truth is not None) + (self.dissipation_map is not None)
        fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.6), squeeze=False)
        axes = axes[0]
        ax = axes[0]
        if self.history:
            it = [h["iteration"] for h in self.history]
            ax.plot(it, [h["val_loss"] for h in self.history], marker="o" if len(it) == 1 else None,
                    label="validation loss")  # one point: a marker, as a line it would not show
            if "optimal_loss" in self.truth:
                ax.axhline(self.truth["optimal_loss"], color="k", ls="--", lw=1, label="optimum (test loss at the true ΔS)")
            ax.set_xlabel("iteration")
            ax.set_ylabel("loss")
            ax.legend(fontsize=8)
        ax.set_title("training")
        k = 1
        if self.delta_s is not None:
            ax = axes[k]
            k += 1
            from .readout import per_segment
            parts = per_segment(self.delta_s, self.test_segments, self.window) \
                if self.test_segments is not None else [self.delta_s]
            step = self.dt * (self.window - 1)
            for p in parts[:20]:
                ax.plot(np.arange(1, len(p) + 1) * step, np.cumsum(p), lw=0.6, alpha=0.6)
            tmax = max(len(p) for p in parts) * step
            ax.plot([0, tmax], [0, self.rate * tmax], "k--", lw=1, label=f"rate {self.rate:.4g}")
            if self.reference is not None:
                ax.plot([0, tmax], [0, self.reference * tmax], "r:", lw=1, label=f"truth {self.reference:.4g}")
            ax.set_xlabel("time" if self.units == "k_B/time" else "step")
            ax.set_ylabel("cumulative EP (k_B)")
            ax.legend(fontsize=8)
            ax.set_title("test trajectories")
        if self.delta_s_truth is not None:
            ax = axes[k]
            m = min(len(self.delta_s), 20000)
            idx = np.linspace(0, len(self.delta_s) - 1, m).astype(int)
            ax.scatter(self.delta_s_truth[idx], self.delta_s[idx], s=2, alpha=0.3)
            lim = np.percentile(np.abs(self.delta_s_truth), 99.5)
            ax.plot([-lim, lim], [-lim, lim], "k--", lw=1)
            ax.set_xlabel("analytic ΔS")
            ax.set_ylabel("estimated ΔS")
            ax.set_title(f"R² = {self.r2:.4f}" if self.r2 is not None else "per transition")
            k += 1
        if self.dissipation_map is not None:
            from .cneep import upsample_map
            ax = axes[k]
            shape = self.settings.get("frame_shape") or np.shape(self.dissipation_map)
            pix = upsample_map(self.dissipation_map, shape)
            lim = float(np.abs(pix).max()) or 1.0
            im = ax.imshow(pix, cmap="bwr", vmin=-lim, vmax=lim, interpolation="nearest")
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="k_B per window, per pixel")
            ax.set_title("dissipation map (test movies)")
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        if path is not None:
            save_figure(fig, path)
        return fig
