"""Movies as estimator input: frames plus, when they were rendered from a
simulation, the hidden states and generating model (the ground truth)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from .. import _validate
from ..results import Trajectories
from .layout import SpotLayout, bead_spring_layout
from .render import render


@dataclass
class Movies:
    """Movie frames, optionally with their hidden dynamics.

    frames: (n_movies, n_frames, height, width) pixels (uint8 or float).
    dt: time between frames (model time unit).
    states: hidden coordinates (n_movies, n_frames, dim) the frames were rendered
        from, or None for recorded movies. model: the generating built-in model
        (analytic σ, σ_Δt and per-transition ΔS), or None.
    partial: True when the frames do not show every coordinate (a subset of spots
        or a crop): an EP estimate from them is a lower bound.
    settings: how the movies were made (simulation and rendering options).
    """

    frames: np.ndarray
    dt: float
    states: Optional[np.ndarray] = None
    model: Any = None
    partial: bool = False
    settings: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.frames, np.ndarray) or self.frames.ndim != 4:
            raise ValueError(f"frames must be an array (n_movies, n_frames, height, width), got "
                             f"{getattr(self.frames, 'shape', type(self.frames).__name__)}")
        self.dt = _validate.positive_float("dt", self.dt)
        if self.states is not None:
            states = np.asarray(self.states)
            if states.ndim != 3 or states.shape[:2] != self.frames.shape[:2]:
                raise ValueError(f"states must be (n_movies, n_frames, dim) = {self.frames.shape[:2]} + (dim,), one "
                                 f"hidden state per frame; got {states.shape}")

    @property
    def n_movies(self) -> int:
        return self.frames.shape[0]

    @property
    def n_frames(self) -> int:
        return self.frames.shape[1]

    @property
    def frame_shape(self) -> tuple:
        return tuple(self.frames.shape[2:])

    def __repr__(self) -> str:
        return (f"Movies(n_movies={self.n_movies}, n_frames={self.n_frames}, frame_shape={self.frame_shape}, "
                f"dtype={self.frames.dtype}, dt={self.dt}, hidden_states={self.states is not None})")


def render_movies(traj: Trajectories, layout: SpotLayout, **options) -> Movies:
    """Movies of simulated trajectories (positions): frames from render(traj, layout,
    **options), carrying the hidden states, model and simulation settings for the truth.
    The frames are partial when the layout draws fewer coordinates than the state has or
    options crop the field of view."""
    if not isinstance(traj, Trajectories):
        raise TypeError(f"traj must be Trajectories from stochinfer.simulate, got {type(traj).__name__}")
    if "frames" in options:
        raise ValueError("render_movies renders every frame (the truth needs whole movies); use render(..., "
                         "frames=) for a selection")
    frames = render(traj, layout, **options)
    drawn = np.any(layout.jacobian != 0, axis=(0, 1))
    partial = bool(not drawn.all() or options.get("crop") is not None)
    settings = dict(traj.settings, layout=dict(height=layout.height, width=layout.width, n_spots=layout.n_spots,
                                               spot_std=layout.spot_std),
                    render={k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()
                            if k != "n_threads"})
    return Movies(frames, traj.dt, np.ascontiguousarray(traj.x), traj.model, partial, settings)


def bead_spring_movies(n_movies: int = 100, n_frames: int = 10_000, *, dt: float = 0.01, substeps: int = 10,
                       t_cold: float = 1.0, t_hot: float = 10.0, seed: int = 0, scale: float = 1.0,
                       spot_std: float = 1.0, beads=None, n_threads: Optional[int] = None, **render_options) -> Movies:
    """Movies of the two-bead chain (methods.md §2.4, §5.9.1): 20 × 40 pixel frames,
    bead i in its own 20 × 20 half, stationary start, Euler–Maruyama with `substeps`
    per frame interval dt. σ = 2.025 at the default temperatures.

    seed keys the simulation and, unless render_options give their own `seed`, the pixel
    noise: data sets simulated with different seeds get different noise.
    render_options: downsample, crop, photons, read_noise, quantize (see render()).
    Memory: n_movies · n_frames · 800 bytes of uint8 frames plus the float64 states.
    """
    from ..models import BeadSpring

    layout = bead_spring_layout(2, scale=scale, beads=beads, spot_std=spot_std)
    return simulated_movies(BeadSpring(2, t_cold=t_cold, t_hot=t_hot), layout, n_movies, n_frames, dt, substeps, seed,
                            n_threads, render_options)


def simulated_movies(model, layout: SpotLayout, n_movies: int, n_frames: int, dt: float, substeps: int, seed: int,
                     n_threads: Optional[int], render_options: dict) -> Movies:
    """Simulates n_movies trajectories of n_frames points (Euler–Maruyama, `substeps`
    per dt, the model's default start) and renders them; `seed` keys the simulation
    and, unless render_options give their own, the pixel noise. Refuses, before
    simulating, frames and states that would not fit in memory."""
    from ..simulate import simulate

    n_movies = _validate.positive_int("n_movies", n_movies)
    n_frames = _validate.positive_int("n_frames", n_frames, minimum=2)
    _validate.check_output_fits((n_movies, n_frames, layout.height * layout.width), np.uint8,
                                "make fewer or shorter movies", extra_bytes=n_movies * n_frames * model.dim * 8)
    traj = simulate(model, n_movies, n_frames - 1, dt, substeps=substeps, seed=seed, n_threads=n_threads)
    return render_movies(traj, layout, n_threads=n_threads, **{"seed": seed, **render_options})
