"""Rendering hidden states into movie frames (compiled, threaded)."""
from __future__ import annotations

import os

import numpy as np

from .. import _core, _validate
from ..results import Trajectories
from .layout import SpotLayout

#: shot-noise means at or above this use the normal approximation N(λ, λ)
POISSON_EXACT_BELOW = float(_core.POISSON_EXACT_BELOW)
#: largest read_noise of float32 frames (quantize=False): the renderer's normals (Box–Muller on
#: 31-bit uniforms) stay below sqrt(2 ln 2**32) = 6.66 in size, so the noise stays below float32's
#: largest value with room for the spots' intensity
MAX_FLOAT_READ_NOISE = float(np.finfo(np.float32).max) / 8


def crop_box(crop, height: int, width: int) -> tuple:
    """(row, col, height, width) of a field of view inside a height × width frame: the
    whole frame for None, else `crop` checked (4 integers, inside the frame)."""
    if crop is None:
        return 0, 0, int(height), int(width)
    try:
        vals = [_validate.integer("crop", v) for v in crop]
    except TypeError:
        raise TypeError(f"crop must be (row, col, height, width) integers, got {crop!r}") from None
    if len(vals) != 4:
        raise ValueError(f"crop must be (row, col, height, width), got {crop!r}")
    r, c, h, w = vals
    if r < 0 or c < 0 or h < 1 or w < 1 or r + h > height or c + w > width:
        raise ValueError(f"crop={tuple(vals)} must lie inside the {height} × {width} frame")
    return r, c, h, w


def _crop(crop, layout: SpotLayout, f: int) -> list[int]:
    if crop is None:
        if layout.height % f or layout.width % f:
            raise ValueError(f"downsample={f} must divide the frame ({layout.height} × {layout.width}); "
                             "or pass crop=(row, col, height, width) in multiples of it")
        return [0, 0, -1, -1]
    vals = list(crop_box(crop, layout.height, layout.width))
    if any(v % f for v in vals):
        raise ValueError(f"crop={tuple(vals)} must be in multiples of downsample={f} pixels")
    return vals


def render(states, layout: SpotLayout, *, downsample: int = 1, crop=None, photons: float | None = None,
           read_noise: float = 0.0, quantize: bool = True, seed: int = 0, frames=None, movie_offset: int = 0,
           blur: int = 1, n_threads: int | None = None) -> np.ndarray:
    """Frames of a spot movie of the hidden states (methods.md §5.9.1).

    Each spot is an isotropic Gaussian integrated over the pixels and divided by
    the peak of a pixel-centred spot (so that spot reads 1); spots add. With
    motion blur (blur > 1), frame k is the mean of these intensities over the
    `blur` consecutive states k·blur … k·blur + blur − 1. Then, in this order:
    the mean of non-overlapping downsample × downsample blocks, the crop, shot noise (Poisson counts with `photons` expected at intensity 1,
    divided by photons; exact below 500 counts, normal approximation above),
    read noise (Gaussian, std `read_noise` in peak units), and 8-bit quantisation
    clip(floor(255 I + ½), 0, 255). The noise of a pixel depends only on (seed,
    movie_offset + movie, frame, pixel of the downsampled frame): the same with any
    crop, selection of frames or thread count. Give data sets different seeds (or
    movie offsets) so that they do not share noise.

    states: (n_movies, n_frames · blur, dim), (n_frames · blur, dim) or Trajectories
        (positions); dim = layout.dim, in the model's length unit.
    blur: hidden states averaged into each frame (motion blur: a camera exposing
        through the frame interval; 1, the default, renders snapshots). Pass states
        recorded `blur` times per frame interval, e.g. every integration sub-step.
    layout: where the coordinates are drawn (SpotLayout, e.g. bead_spring_layout()).
    downsample: block size f; frames become (H/f) × (W/f).
    crop: (row, col, height, width) of the field of view in full-resolution
        pixels, multiples of f; None = whole frame.
    photons: expected photon count at intensity 1 (None: no shot noise).
    read_noise: Gaussian pixel noise std, in units of the spot peak (≥ 0).
    quantize: uint8 frames (default) or float32 intensities in peak units.
    seed: key of the pixel noise.
    frames: optional (n, 2) integer (movie, frame) pairs to render instead of all
        (frame counts frames, not states).
    movie_offset: index of the first movie in the noise key (rendering a data set in
        chunks: pass each chunk's first movie index).
    Returns (n_movies, n_frames, H', W') (with 2-D states: (n_frames, H', W')), or
    (n, H', W') for `frames`.
    """
    if not isinstance(layout, SpotLayout):
        raise TypeError(f"layout must be a SpotLayout (e.g. stochinfer.movies.bead_spring_layout()), "
                        f"got {type(layout).__name__}")
    x = states.x if isinstance(states, Trajectories) else states
    x = _validate.finite_array("states", _validate.stacked_array("states", x))
    squeeze = x.ndim == 2
    if squeeze:
        x = x[None]
    if x.ndim != 3 or x.shape[2] != layout.dim:
        raise ValueError(f"states must be (n_movies, n_frames, {layout.dim}) or (n_frames, {layout.dim}) for this "
                         f"layout, got shape {np.shape(states.x if isinstance(states, Trajectories) else states)}")
    f = _validate.positive_int("downsample", downsample)
    blur = _validate.positive_int("blur", blur)
    if x.shape[1] % blur:
        raise ValueError(f"blur={blur} states per frame must divide the {x.shape[1]} states per movie; pass "
                         f"n_frames · blur states (e.g. states[:, :{x.shape[1] - x.shape[1] % blur}])")
    n_frames = x.shape[1] // blur
    box = _crop(crop, layout, f)
    shot = 0.0 if photons is None else _validate.positive_float("photons", photons)
    read = _validate.positive_float("read_noise", read_noise, allow_zero=True)
    _validate.boolean("quantize", quantize)
    if not quantize and read > MAX_FLOAT_READ_NOISE:
        raise ValueError(f"read_noise={read:g} overflows the float32 frames of quantize=False (the noise reaches "
                         f"6.66 × read_noise); pass read_noise <= {MAX_FLOAT_READ_NOISE:.3g} (in units of the spot "
                         "peak), or quantize=True")
    seed = _validate.seed_value("seed", seed)
    threads = _validate.thread_count(n_threads)
    movie_offset = _validate.seed_value("movie_offset", movie_offset)
    if movie_offset + x.shape[0] > 2**56:
        raise ValueError(f"movie_offset + n_movies must be <= 2**56 (the noise key's movie field), got {movie_offset}")
    pairs = None
    if frames is not None:
        if np.asarray(frames).dtype.kind not in "iu":
            raise TypeError(f"frames must be integer (movie, frame) pairs, got dtype {np.asarray(frames).dtype}")
        pairs = _validate.finite_array("frames", frames, shape=(None, 2), dtype=np.int64)
        bad = (pairs[:, 0] < 0) | (pairs[:, 0] >= x.shape[0]) | (pairs[:, 1] < 0) | (pairs[:, 1] >= n_frames)
        if bad.any():
            k = int(np.argmax(bad))
            raise ValueError(f"frames[{k}] = {tuple(int(v) for v in pairs[k])} is not a (movie, frame) pair of the "
                             f"{(x.shape[0], n_frames)} movies × frames")
    oh = (layout.height if box[2] < 0 else box[2]) // f
    ow = (layout.width if box[3] < 0 else box[3]) // f
    n_out = x.shape[0] * n_frames if pairs is None else pairs.shape[0]
    # each rendering thread holds a double image of one frame and the spots' row and column masses
    workers = max(1, min(threads or os.cpu_count() or 1, -(-n_out // 64)))  # the core's 64-frame chunks
    n_spots = layout.base.shape[0]
    _validate.check_output_fits((n_out, oh, ow), np.uint8 if quantize else np.float32,
                                "render fewer frames at a time (frames=...), with fewer threads, or downsample",
                                extra_bytes=workers * 8 * (oh * ow + n_spots * (oh + ow + 2)))
    out = _core.render_frames(x, layout.height, layout.width, layout.base.ravel().tolist(),
                              layout.jacobian.ravel().tolist(), layout.spot_std, f, box, shot, read, bool(quantize),
                              seed, pairs, threads, movie_offset, blur)
    if pairs is None:
        out = out.reshape(x.shape[0], n_frames, oh, ow)
        if squeeze:
            out = out[0]
    return out
