"""Movies of the elastic network with active nodes (methods.md §5.9.2) and the
scoring of a dissipation map node by node."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import _validate
from .dataset import Movies, simulated_movies
from .layout import SpotLayout
from .render import crop_box

#: frame of the 7 × 7 network at 8 pixels per spacing (methods.md §5.9.2)
FRAME = (56, 64)


def _node_pixels(model, px: float, frame: tuple) -> tuple:
    """Rest positions (row, col) in pixels of the free and pinned nodes: the lattice's
    bounding box centred in the frame, y up."""
    from ..models import ElasticNetwork

    if not isinstance(model, ElasticNetwork):
        raise TypeError(f"model must be a stochinfer.models.ElasticNetwork, got {type(model).__name__}")
    allpos = np.vstack([model.rest_positions, model.pinned_positions])
    centre = 0.5 * (allpos.min(axis=0) + allpos.max(axis=0))
    mid = np.array([(frame[0] - 1) / 2, (frame[1] - 1) / 2])

    def to_px(xy):
        return np.stack([mid[0] - px * (xy[:, 1] - centre[1]), mid[1] + px * (xy[:, 0] - centre[0])], axis=1)

    return to_px(model.rest_positions), to_px(model.pinned_positions)


def elastic_network_layout(model, px_per_spacing: float = 8.0, frame: tuple = FRAME,
                           spot_std: float = 1.0) -> SpotLayout:
    """One spot per node: free nodes move with their displacement (px_per_spacing
    pixels per lattice spacing, y up), pinned nodes are static spots.
    frame: (height, width) = (rows, columns) of the frame in pixels, the lattice
    centred in it. spot_std: std of each Gaussian spot, in pixels."""
    px = _validate.positive_float("px_per_spacing", px_per_spacing)
    h, w = (int(v) for v in frame)
    free, pinned = _node_pixels(model, px, frame)
    outside = (free[:, 0] < 0) | (free[:, 0] > h - 1) | (free[:, 1] < 0) | (free[:, 1] > w - 1)
    if outside.any():  # unseen nodes made movies partial without a word (n = 12 at 8 px: 36 of 100)
        span = np.ptp(np.vstack([model.rest_positions, model.pinned_positions]), axis=0)  # (x, y) in spacings
        fits = min((w - 1) / max(span[0], 1e-300), (h - 1) / max(span[1], 1e-300))
        raise ValueError(f"{int(outside.sum())} of {len(free)} free nodes rest outside the {h} × {w} frame at "
                         f"px_per_spacing={px:g}: use px_per_spacing <= {fits:.3g} or a larger frame (frame=(height, "
                         "width))")
    n_free = len(free)
    base = np.vstack([free, pinned])
    jac = np.zeros((len(base), 2, 2 * n_free))
    for j in range(n_free):
        jac[j, 0, 2 * j + 1] = -px  # u_y up is a smaller row
        jac[j, 1, 2 * j] = px
    return SpotLayout(h, w, base, jac, spot_std)


def elastic_network_movies(n_movies: int = 100, n_frames: int = 2000, *, model=None, dt: float = 0.01,
                           substeps: int = 10, seed: int = 0, px_per_spacing: float = 8.0, spot_std: float = 1.0,
                           motion_blur: bool = False, path: Optional[str] = None, n_threads: Optional[int] = None,
                           frame: tuple = FRAME, **render_options) -> Movies:
    """Movies of the elastic network (default: ElasticNetwork(), two hot nodes),
    56 × 64 pixel frames (`frame`: (height, width); a network whose free nodes would rest
    outside it is refused, naming the px_per_spacing that fits), stationary start,
    Euler–Maruyama with `substeps` per dt (dt: time between frames, in the model's time unit).
    motion_blur: frames average the spot intensities over the `substeps` sub-steps of
    each frame interval (see stochinfer.movies.dataset.simulated_movies).
    render_options as for render() (downsample, crop, photons, read_noise, ...).
    seed keys the simulation and, unless render_options give their own, the pixel noise.
    Memory: n_movies · n_frames · 3584 bytes of frames plus the float64 states;
    path='movies.npy' keeps the frames in that file, memory-mapped."""
    from ..models import ElasticNetwork

    model = ElasticNetwork() if model is None else model
    layout = elastic_network_layout(model, px_per_spacing, frame=frame, spot_std=spot_std)
    out = simulated_movies(model, layout, n_movies, n_frames, dt, substeps, seed, n_threads, render_options,
                           motion_blur=motion_blur, path=path)
    out.settings["px_per_spacing"] = float(px_per_spacing)
    out.settings["frame"] = [int(v) for v in frame]  # node_map and score_node_map take it
    return out


def node_map(pixel_map: np.ndarray, model, px_per_spacing: float = 8.0, downsample: int = 1,
             crop=None, frame: tuple = FRAME) -> dict:
    """A dissipation map at the movie's frame resolution (upsample_map to the frame
    shape) summed per node: every pixel goes to the nearest node rest position.
    px_per_spacing, frame: the layout's (elastic_network_layout); downsample and crop:
    the render options the movie was made with (crop in full-resolution pixels,
    (row, col, height, width)). Returns {'free': (n_free,), 'pinned': (n_pinned,)} in
    the map's units."""
    pixel_map = np.asarray(pixel_map, dtype=np.float64)
    f = _validate.positive_int("downsample", downsample)
    r0, c0, h, w = crop_box(crop, int(frame[0]), int(frame[1]))
    if pixel_map.shape != (h // f, w // f):
        raise ValueError(f"pixel_map has shape {pixel_map.shape}, but movies rendered with downsample={f} and "
                         f"crop={crop} have {h // f} × {w // f} frames: upsample the CNEEP map to the frame size "
                         "(stochinfer.ep.upsample_map) and pass the movie's render options")
    free, pinned = _node_pixels(model, float(px_per_spacing), frame)
    # full-resolution pixel (r, c) lies in map cell ((r − r0)/f, (c − c0)/f); a cell's centre is (f − 1)/2 in
    nodes = (np.vstack([free, pinned]) - np.array([r0, c0]) - (f - 1) / 2) / f
    r, c = np.meshgrid(np.arange(pixel_map.shape[0]), np.arange(pixel_map.shape[1]), indexing="ij")
    d2 = (r.ravel()[:, None] - nodes[None, :, 0]) ** 2 + (c.ravel()[:, None] - nodes[None, :, 1]) ** 2
    owner = np.argmin(d2, axis=1)
    sums = np.bincount(owner, weights=pixel_map.ravel(), minlength=len(nodes))
    return {"free": sums[:len(free)], "pinned": sums[len(free):]}


def score_node_map(pixel_map: np.ndarray, model, px_per_spacing: float = 8.0, downsample: int = 1,
                   crop=None, frame: tuple = FRAME) -> dict:
    """The map scores of methods.md §5.9.2: the fraction of positive mass on nodes
    within one spacing of a hot node, the Pearson correlation of the free nodes'
    values with the true EP rates σ_j (node_ep_rates), and the map's total.
    pixel_map, downsample, crop: as node_map."""
    sums = node_map(pixel_map, model, px_per_spacing, downsample, crop, frame)
    allv = np.concatenate([sums["free"], sums["pinned"]])
    allpos = np.vstack([model.rest_positions, model.pinned_positions])
    hot = model.rest_positions[[model.free_nodes.index(h) for h in model.hot]]
    near = np.min(np.linalg.norm(allpos[:, None] - hot[None], axis=2), axis=1) <= 1 + 1e-9
    pos = allv > 0
    frac = float(allv[pos & near].sum() / allv[pos].sum()) if pos.any() else float("nan")
    corr = float(np.corrcoef(sums["free"], model.node_ep_rates())[0, 1])
    return {"positive_mass_near_hot": frac, "correlation_with_node_ep": corr, "total": float(allv.sum()),
            "free": sums["free"], "pinned": sums["pinned"]}
