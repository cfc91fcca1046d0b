"""Movies as estimator input: frames plus, when they were rendered from a
simulation, the hidden states and generating model (the ground truth)."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from .. import _validate
from ..results import Trajectories
from .layout import SpotLayout, bead_spring_layout
from .render import crop_box, render


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
        """Number of movies."""
        return self.frames.shape[0]

    @property
    def n_frames(self) -> int:
        """Frames per movie."""
        return self.frames.shape[1]

    @property
    def frame_shape(self) -> tuple:
        """(height, width) of a frame in pixels."""
        return tuple(self.frames.shape[2:])

    def __repr__(self) -> str:
        return (f"Movies(n_movies={self.n_movies}, n_frames={self.n_frames}, frame_shape={self.frame_shape}, "
                f"dtype={self.frames.dtype}, dt={self.dt}, hidden_states={self.states is not None})")


def render_movies(traj: Trajectories, layout: SpotLayout, **options) -> Movies:
    """Movies of simulated trajectories (positions): frames from render(traj, layout,
    **options), carrying the hidden states, model and simulation settings for the truth.
    The frames are partial when the layout draws fewer coordinates than the state has or
    options crop the field of view. With blur=b (motion blur) the trajectories are
    recorded b times per frame interval: the movies' dt is b·traj.dt and their states
    are every b-th point, the state at the start of each frame's exposure."""
    if not isinstance(traj, Trajectories):
        raise TypeError(f"traj must be Trajectories from stochinfer.simulate, got {type(traj).__name__}")
    if "frames" in options:
        raise ValueError("render_movies renders every frame (the truth needs whole movies); use render(..., "
                         "frames=) for a selection")
    frames = render(traj, layout, **options)
    blur = int(options.get("blur", 1))
    settings = dict(traj.settings)
    if blur > 1:  # frame intervals of `blur` recorded intervals each: the truth's transitions span that many
        settings["record_every"] = int(settings.get("record_every", 1)) * blur
    return _movies(frames, traj.dt * blur, traj.x[:, ::blur], traj.model, layout, settings, options)


def _movies(frames: np.ndarray, dt: float, states: np.ndarray, model, layout: SpotLayout, settings: dict,
            options: dict) -> Movies:
    drawn = np.any(layout.jacobian != 0, axis=(0, 1))
    box = crop_box(options.get("crop"), layout.height, layout.width)
    cropped = box[2:] != (layout.height, layout.width)  # a crop smaller than the frame
    partial = bool(not drawn.all() or cropped)
    settings = dict(settings, layout=dict(height=layout.height, width=layout.width, n_spots=layout.n_spots,
                                          spot_std=layout.spot_std, drawn=np.flatnonzero(drawn).tolist(),
                                          cropped=bool(cropped)),
                    render={k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()
                            if k != "n_threads"})
    return Movies(frames, dt, np.ascontiguousarray(states), model, partial, settings)


def bead_spring_movies(n_movies: int = 100, n_frames: int = 10_000, *, dt: float = 0.01, substeps: int = 10,
                       t_cold: float = 1.0, t_hot: float = 10.0, seed: int = 0, scale: float = 1.0,
                       spot_std: float = 1.0, beads=None, motion_blur: bool = False, path: Optional[str] = None,
                       n_threads: Optional[int] = None, **render_options) -> Movies:
    """Movies of the two-bead chain (methods.md §2.4, §5.9.1): 20 × 40 pixel frames,
    bead i in its own 20 × 20 half, stationary start, Euler–Maruyama with `substeps`
    per frame interval dt (time between frames, in the model's time unit). σ = 2.025
    at the default temperatures.

    t_cold, t_hot: temperatures of the first and second bead (energy units, k_B = 1;
    models.BeadSpring). scale: pixels per unit length of bead displacement. spot_std:
    std of each Gaussian spot, in pixels. beads: indices of the beads drawn (default
    all; fewer make the movies partial). n_threads: CPU threads for simulation and
    rendering (None: all cores).

    seed keys the simulation and, unless render_options give their own `seed`, the pixel
    noise: data sets simulated with different seeds get different noise.
    motion_blur: each frame averages the spot intensities over the `substeps`
    integration sub-steps of its frame interval (methods.md §5.9.1; see stochinfer.movies.dataset.simulated_movies).
    render_options: downsample, crop, photons, read_noise, quantize (see render()).
    Memory: n_movies · n_frames · 800 bytes of uint8 frames plus the float64 states;
    path='movies.npy' keeps the frames in that file instead, memory-mapped (the
    defaults, 100 × 10⁴ frames, are 0.8 GB; see stochinfer.movies.dataset.simulated_movies).
    """
    from ..models import BeadSpring

    layout = bead_spring_layout(2, scale=scale, beads=beads, spot_std=spot_std)
    return simulated_movies(BeadSpring(2, t_cold=t_cold, t_hot=t_hot), layout, n_movies, n_frames, dt, substeps, seed,
                            n_threads, render_options, motion_blur=motion_blur, path=path)


#: simulated states and rendered frames held at once while making movies (they go in chunks of movies)
CHUNK_BYTES = 64 * 2**20


def simulated_movies(model, layout: SpotLayout, n_movies: int, n_frames: int, dt: float, substeps: int, seed: int,
                     n_threads: Optional[int], render_options: dict, motion_blur: bool = False,
                     path: Optional[str] = None) -> Movies:
    """Simulates n_movies trajectories of n_frames points (Euler–Maruyama, `substeps`
    per dt, the model's default start) and renders them, a chunk of movies at a time;
    `seed` keys the simulation and, unless render_options give their own, the pixel
    noise. Refuses, before simulating, frames and states that would not fit in memory
    (or, with `path`, on disk).

    motion_blur: each frame is the mean spot intensity over the `substeps` integration
    sub-steps from its time to the next frame's (an exposure through the whole frame
    interval), before noise and quantisation. The paths and the stored states (at the
    frame times) are those of motion_blur=False with the same seed; only the frames
    differ. A window of blurred frames shows more EP than σ_Δt, and can show more
    than σ: model.exposure_ep_rates gives its truth for linear models.

    path: write the frames to this .npy file and return them memory-mapped
    (read-only): movies larger than memory, which the operating system pages in as
    training reads their windows (methods.md §2.7 asks for rendering per minibatch;
    this keeps the memory bound without it). The hidden states stay in memory. The
    file is an ordinary .npy (np.load(path, mmap_mode='r') reads it back)."""
    from ..simulate import default_burn_in, simulate

    n_movies = _validate.positive_int("n_movies", n_movies)
    n_frames = _validate.positive_int("n_frames", n_frames, minimum=2)
    substeps = _validate.positive_int("substeps", substeps)
    _validate.boolean("motion_blur", motion_blur)
    if "blur" in render_options:
        raise ValueError("pass motion_blur=True (the sub-steps of each frame interval are averaged), not blur=")
    if "frames" in render_options:
        raise ValueError("simulated movies render every frame (the truth needs whole movies); use render(..., "
                         "frames=) for a selection")
    pixels = layout.height * layout.width  # an upper bound on the rendered frame (downsampling, crops shrink it)
    item = 1 if render_options.get("quantize", True) else 4
    state_bytes = n_movies * n_frames * model.dim * 8
    if path is None:
        _validate.check_output_fits((n_movies, n_frames, pixels), np.uint8 if item == 1 else np.float32,
                                    "make fewer or shorter movies, or pass path= to keep the frames on disk",
                                    extra_bytes=state_bytes)
    else:
        _validate.check_output_fits((n_movies, n_frames, model.dim), np.float64, "make fewer or shorter movies")
        path = _check_disk(path, n_movies * n_frames * pixels * item)
    blur = substeps if motion_blur else 1
    options = {"seed": seed, **render_options}
    offset = options.pop("movie_offset", 0)
    burn_in = default_burn_in(model, dt, substeps) * blur  # intervals of dt / blur
    chunk = max(1, CHUNK_BYTES // (n_frames * (blur * model.dim * 8 + pixels * item)))
    frames = states = None
    try:
        for start in range(0, n_movies, chunk):
            k = min(chunk, n_movies - start)
            # with blur, the same paths recorded at every sub-step (the counter-based noise makes them identical)
            traj = simulate(model, k, n_frames * blur - 1, dt / blur, substeps=substeps // blur, seed=seed,
                            burn_in=burn_in, traj_offset=start, n_threads=n_threads)
            part = render(traj, layout, blur=blur, movie_offset=offset + start, n_threads=n_threads, **options)
            if frames is None:
                shape = (n_movies,) + part.shape[1:]
                # a new file moved onto path at the end: movies still mapped to an old file there keep it
                frames = np.empty(shape, part.dtype) if path is None else \
                    np.lib.format.open_memmap(path + ".partial", mode="w+", dtype=part.dtype, shape=shape)
                states = np.empty((n_movies, n_frames, traj.x.shape[-1]))  # positions (underdamped: no v)
            frames[start:start + k] = part
            states[start:start + k] = traj.x[:, ::blur]
        if path is not None:
            frames.flush()
            del frames
            os.replace(path + ".partial", path)
            frames = np.load(path, mmap_mode="r")
    except BaseException:  # Ctrl-C or an error: no half-written file left behind
        frames = None
        if path is not None and os.path.exists(path + ".partial"):
            os.remove(path + ".partial")
        raise
    settings = dict(traj.settings, substeps=substeps, burn_in=burn_in // blur, traj_offset=0)
    if blur > 1:
        options["blur"] = blur
    if offset:
        options["movie_offset"] = offset
    if path is not None:
        settings["frames_file"] = path
    return _movies(frames, dt, states, model, layout, settings, options)


def _check_disk(path, nbytes: int) -> str:
    """path as a string, after checking its folder exists and has room for nbytes."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name, got {type(path).__name__}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"path: folder {folder} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"path: {path} is a folder; pass a file name, e.g. {os.path.join(path, 'movies.npy')}")
    free = shutil.disk_usage(folder).free
    if nbytes > free:
        raise _validate.OutputTooLargeError(f"the frames need up to {nbytes / 2**30:.2f} GiB but {folder} has only "
                                            f"{free / 2**30:.2f} GiB free; make fewer or shorter movies, or write "
                                            "them elsewhere")
    return path
