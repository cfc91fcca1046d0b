"""CNEEP: entropy production and where it is dissipated, from movies (methods.md
§2; Bae, Kim et al., "Inferring dissipation maps from videos using convolutional
neural networks"). A convolutional network scores windows of consecutive frames;
ΔS = h(frames) − h(frames reversed). The network, loss and training run in the
compiled core; this module validates the movies, splits them by movie, drives
training and reads out the rate, its error bar and the dissipation map."""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .. import _core
from .._validate import (boolean, check_output_fits, finite_states, positive_int, recording_dt,
                         refuse_subnormal, required_dt, positive_float, pooled_lag1, stacked_array, subnormal_counts,
                         time_axis_warning, user_stacklevel)
from .data import EPData, _check_model, checked_substeps, recorded_substeps
from .neep import NEEP
from .result import EPResult
from .splits import Split

_CNEEP_KEYS = ("n_layer", "n_channel", "seq_len", "lr", "lr_schedule", "weight_decay", "decoupled_weight_decay",
               "batch", "n_iter", "eval_every", "patience", "dtype", "split", "val_max_transitions", "resetting",
               "optimizer", "momentum")
#: frames read for the pixel mean and std (evenly spaced over the training movies)
_TRANSFORM_FRAMES = 2000
#: frames of new movies read to compare their pixel scale with the training frames'
_SCALE_CHECK_FRAMES = 256
#: new frames whose pixel scale is this factor off the training one are refused (another
#: range, e.g. [0, 1] floats for a network trained on 0–255 pixels, reads as garbage)
_MAX_SCALE_FACTOR = 10.0


@dataclass
class _MovieData(EPData):
    """EPData of movies, with the kind of pixels given ('integer' or 'float'; integer
    frames other than uint8 are read as floats)."""

    pixel_kind: str = "integer"


class CNEEP(NEEP):
    """Neural estimator of entropy production from movies.

    A window of `seq_len` consecutive frames is stacked as channels and scored by a
    CNN h (methods.md §2.2): Conv(seq_len → n_channel, 5 × 5, stride 2) + ReLU +
    MaxPool(2), then n_layer − 1 blocks of two 3 × 3 convolutions (the second
    doubling the channels) + ReLU, pooled except the last, and one position-specific
    linear read-out (so a trained network takes frames of one size only).
    ΔS = h(x) − h(flip(x)), flip reversing the frame order, is the stochastic EP (k_B)
    of the window. Training minimises mean(e^{−ΔS} − ΔS) over windows drawn
    uniformly; movies are split three ways by movie (by time blocks for fewer than
    three). Pixels are z-scored with one mean and std over the training movies.

    The dissipation map H(y, x) = Σ_c w_c(y, x) (A_c^f − A_c^r)(y, x) (w the read-out
    weights, A the last block's activations for the forward and reversed windows)
    sums to ΔS and shows where the EP is produced: to double rounding with
    dtype='float64'; with the default float32 network ΔS is the difference of two
    float32 scores h, so the map's sum (accumulated in double) agrees with it to the
    float32 rounding of h (about 1e-7 × |h| absolute, up to ~1e-2 relative where ΔS
    is near 0).

    Defaults (ours, for a 2-core CPU): 2 blocks of 32 channels (the paper's), Adam
    lr 1e-3 with cosine decay, weight decay 5e-5 (decoupled), 3000 updates of 256
    windows, evaluation every 250. The paper's configuration is lr=1e-4,
    lr_schedule='constant', weight_decay=5e-5, decoupled_weight_decay=False,
    batch=4096, 50 000–100 000 updates (a GPU run).

    seq_len > 2 scores longer windows (read out with stride seq_len − 1): for
    partially observed movies the EP per frame interval is then a tighter lower bound.
    Other parameters as for NEEP (n_threads, progress, resetting, record_test, split).
    val_max_transitions caps the validation frame intervals scored at each check (a
    window spans seq_len − 1 of them: about val_max_transitions / (seq_len − 1) windows).

    A trained network reads frames of the training size, pixel kind (integer or float)
    and scale (within a factor 10): other frames are refused, not misread.
    """

    _method, _kind = "cneep", "estimate"
    _points = "frames"
    _config_keys = _CNEEP_KEYS
    # a failed refit keeps the old network's frame size and pixel kind
    _fitted_state = NEEP._fitted_state + ("_frame_shape", "_pixel_kind")

    def __init__(self, n_layer: int = 2, n_channel: int = 32, *, seq_len: int = 2, lr: float = 1e-3,
                 lr_schedule: str = "cosine", weight_decay: float = 5e-5, decoupled_weight_decay: bool = True,
                 batch: int = 256, n_iter: int = 3000, eval_every: int = 250, patience: Optional[int] = None,
                 dtype: str = "float32", split=(0.6, 0.2, 0.2), val_max_transitions: int = 10**5,
                 record_test: bool = False, n_threads: Optional[int] = None, progress: Optional[bool] = None,
                 resetting=None, optimizer: str = "adam", momentum: float = 0.9):
        super().__init__(hidden=1, layers=1, lr=lr, lr_schedule=lr_schedule, weight_decay=weight_decay,
                         decoupled_weight_decay=decoupled_weight_decay, batch=batch, n_iter=n_iter,
                         eval_every=eval_every, patience=patience, standardize=True, dtype=dtype, split=split,
                         val_max_transitions=val_max_transitions, record_test=record_test, n_threads=n_threads,
                         progress=progress, resetting=resetting,
                         optimizer=optimizer, momentum=momentum)
        self.n_layer = positive_int("n_layer", n_layer)
        if self.n_layer > 6:
            raise ValueError(f"n_layer must be <= 6, got {self.n_layer}")
        self.n_channel = positive_int("n_channel", n_channel)
        if self.n_channel > 1024:
            raise ValueError(f"n_channel must be <= 1024, got {self.n_channel}")
        self.seq_len = positive_int("seq_len", seq_len, minimum=2)
        self._window = self.seq_len
        self._frame_shape = None
        self._pixel_kind = None  # 'integer' or 'float' once fitted; None: unknown (files from before it was saved)

    # ---- data ------------------------------------------------------------------
    def fit(self, data: Any, dt: Optional[float] = None, *, seed: int = 0, model: Optional[Any] = None,
            substeps: Optional[int] = None, n_seeds: int = 1) -> EPResult:
        """Train on movies and estimate the EP rate on held-out movies.

        data: Movies from stochinfer.movies (carrying dt, the hidden states and the model
        for the truth) or frames (n_movies, n_frames, height, width) of any integer or
        float pixel type (one movie: 3-D). dt: time between frames (taken from Movies).
        model, substeps: the generating model and its integration substeps, for the
        truth of frames given as an array. seed, n_seeds: as for NEEP.fit.

        Returns an EPResult (rate in k_B per unit time) with the dissipation map of
        the test movies (k_B per window, per map cell)."""
        return super().fit(data, dt, seed=seed, model=model, substeps=substeps, n_seeds=n_seeds)

    def delta_s(self, data: Any) -> np.ndarray:
        """Stochastic EP (k_B) of every read-out window of new movies (windows of
        seq_len frames, stride seq_len − 1) with the trained network(s):
        (n_movies, n_windows) float64; after fit(n_seeds=K), the mean of the K networks'
        ΔS. The frames must have the training size, pixel kind and scale."""
        return super().delta_s(data)

    def _as_data(self, data, dt, model, substeps) -> EPData:
        from ..movies import Movies

        from ..results import Trajectories, given_or_stored_model

        if isinstance(data, Trajectories):
            raise TypeError("CNEEP reads movies, not trajectories: render them first, e.g. "
                            "si.movies.render_movies(traj, si.movies.bead_spring_layout()); NEEP reads trajectories")
        hidden, partial, integrator, notes, blur, layout = None, False, None, [], 1, None
        if isinstance(data, Movies):
            dt = recording_dt(dt, data.dt)
            model = given_or_stored_model(model, data.model)
            substeps = recorded_substeps(data.settings, substeps)
            integrator = data.settings.get("integrator")
            hidden, partial, frames = data.states, data.partial, data.frames
            blur = int(data.settings.get("render", {}).get("blur", 1))
            layout = data.settings.get("layout")
            if blur > 1:
                notes.append(f"motion-blurred frames (each the mean of {blur} sub-step images): a window shows "
                             "more than σ_Δt (adjacent exposures span almost seq_len frame intervals); the truth "
                             "is the exposure-window EP (model.exposure_ep_rates), not σ_Δt")
        else:
            frames = stacked_array("movies", data)
            dt = required_dt(dt)
        if not isinstance(frames, np.ndarray):
            raise TypeError(f"movies must be a numpy array (n_movies, n_frames, height, width) or Movies, "
                            f"got {type(frames).__name__}")
        if frames.ndim == 3:
            frames = frames[None]
            notes.append("3-D frames read as one movie (n_frames, height, width)")
        if frames.ndim != 4:
            raise ValueError(f"movies must have shape (n_movies, n_frames, height, width), got {frames.shape}")
        if frames.dtype.kind == "b" or frames.dtype.kind not in "iuf":
            raise TypeError(f"movies must hold integer or float pixels, got dtype {frames.dtype}")
        pixel_kind = "float" if frames.dtype.kind == "f" else "integer"
        frames = _core_frames(frames)
        if pixel_kind == "float":  # integer pixels cannot be NaN or inf
            finite_states(frames, "movies contain", "frames")
        if frames.shape[0] < 1 or frames.shape[2] < 1 or frames.shape[3] < 1:
            raise ValueError(f"movies are empty (shape {frames.shape})")
        # (n_movies, height, width, n_frames) reads as a few frames far wider than tall (user trial, session 27)
        last_axis_time = frames.shape[3] >= 4 * max(frames.shape[1], frames.shape[2])
        time_last = (f"; if the array is (n_movies, height, width, n_frames), pass movies.transpose(0, 3, 1, 2)"
                     if last_axis_time else "")
        if frames.shape[1] < self.seq_len:
            raise ValueError(f"movies of {frames.shape[1]} frames are shorter than seq_len={self.seq_len}{time_last}")
        if last_axis_time:
            warnings.warn(f"movies of shape {frames.shape} read as {frames.shape[1]} frames of {frames.shape[2]} × "
                          f"{frames.shape[3]} pixels, each at least 4 times wider than it is tall and than there are "
                          f"frames{time_last}", UserWarning, stacklevel=user_stacklevel())
        # frames of a Brownian movie are correlated at lag 1 where something moves; (n_frames, n_movies,
        # H, W) reads as unrelated consecutive frames (user trial, session 27)
        time_axis_warning(frames.reshape(frames.shape[0], frames.shape[1], -1), frames.shape,
                          transposed_hint="if the array is (n_frames, n_movies, height, width), pass "
                                          "movies.transpose(1, 0, 2, 3)")
        _swapped_movie_axes_warning(frames)
        dt = positive_float("dt", dt)
        substeps = checked_substeps(substeps)
        if model is not None and getattr(model, "underdamped", False) and hidden is not None:
            # rendered positions of (x, v) dynamics: their EP bounds the full one from below, and no
            # analytic truth exists for it (refused as a dimension mismatch before; review, session 30)
            if model.dim // 2 != hidden.shape[2]:
                raise ValueError(f"model {type(model).__name__} has {model.dim // 2} position components but the "
                                 f"movies' states have {hidden.shape[2]}")
            partial = True
            notes.append(f"movies of the underdamped {type(model).__name__}: frames show positions only, so the "
                         "estimate is a lower bound of the EP of (x, v), and no analytic truth is available")
        elif model is not None:
            if hidden is not None:
                _check_model(model, hidden, False)
            elif not hasattr(model, "snapshot_ep_rate"):
                raise TypeError(f"model must be a stochinfer model with an analytic EP rate, got "
                                f"{type(model).__name__}")
        return _MovieData(frames, dt, False, model, substeps, integrator, notes, hidden=hidden, partial=partial,
                          blur=blur, layout=layout, pixel_kind=pixel_kind)

    def _check_trained_input(self, d: _MovieData) -> None:
        if d.data.shape[2:] != self._frame_shape:
            raise ValueError(f"movies have {d.data.shape[2]} × {d.data.shape[3]} frames, but this network reads "
                             f"{self._frame_shape[0]} × {self._frame_shape[1]} (its read-out is position-specific); "
                             "crop or resample the frames, or fit a new CNEEP")
        if self._pixel_kind is not None and d.pixel_kind != self._pixel_kind:
            raise ValueError(f"movies hold {d.pixel_kind} pixels ({d.data.dtype}), but this network was trained on "
                             f"{self._pixel_kind} pixels (mean {self.shift[0]:.4g}, std {1 / self.scale[0]:.4g}); "
                             "convert the frames to the training kind and range, or fit a new CNEEP")
        self._check_pixel_scale(d)

    def _check_pixel_scale(self, d: _MovieData) -> None:
        """Refuses frames whose pixel magnitude (root mean square, from a bounded sample)
        is more than _MAX_SCALE_FACTOR off the training frames': the z-score fitted on
        those would feed the network values far outside anything it was trained on."""
        if self.shift is None:
            return
        trained = float(np.hypot(self.shift[0], 1.0 / self.scale[0]))
        segs = np.array([[m, 0, d.length] for m in range(d.n_traj)], dtype=np.int64)
        movie, frame = _frame_picks(segs, _SCALE_CHECK_FRAMES)
        total = 0.0
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, as a huge scale
            for m, t in zip(movie, frame):  # frame by frame: one float64 frame of temporary memory
                f = d.data[m, t].astype(np.float64)
                total += float(np.einsum("ij,ij->", f, f))
        new = float(np.sqrt(total / (len(movie) * d.data.shape[2] * d.data.shape[3])))
        if new == 0:  # black frames: no scale to compare (zero reads the same in any range)
            return
        if not (trained / _MAX_SCALE_FACTOR <= new <= trained * _MAX_SCALE_FACTOR):
            raise ValueError(f"movies: pixel scale (root mean square) {new:.4g}, but this network was trained on "
                             f"frames of scale {trained:.4g} (pixel mean {self.shift[0]:.4g}, std "
                             f"{1 / self.scale[0]:.4g}): more than {_MAX_SCALE_FACTOR:g}× off, it would read garbage; "
                             "rescale the frames to the training range, or fit a new CNEEP")

    def _new_net(self, d: _MovieData, seed: int):
        self._frame_shape = tuple(int(s) for s in d.data.shape[2:])
        self._pixel_kind = d.pixel_kind
        return self._build_net(seed)

    def _build_net(self, seed: int):
        h, w = self._frame_shape
        cls = _core.CneepModel32 if self.dtype == "float32" else _core.CneepModel64
        n_params, per_column = _network_sizes(self.seq_len, h, w, self.n_layer, self.n_channel)
        threads = self.n_threads or os.cpu_count() or 1
        # parameters, gradient, Adam moments and checkpoints (8 copies), and each thread's buffers for
        # 32 columns (16 windows in both orders: nn/cnn.hpp reserve)
        self._check_size(8 * n_params + threads * 32 * per_column, "lower n_channel or n_layer, or use smaller frames")
        try:
            return cls(seq_len=self.seq_len, height=h, width=w, n_layer=self.n_layer, n_channel=self.n_channel,
                       seed=int(seed), n_threads=self.n_threads)
        except ValueError as exc:
            hint = ("; frames this narrow look like trajectories (n_traj, L, dim), read as one movie: use "
                    "method='neep' for those" if min(h, w) <= 8 else "")
            raise ValueError(f"movies: {exc}{hint}") from None

    def _check_size(self, n_values: int, hint: str) -> None:
        check_output_fits((n_values,), self.dtype, hint)

    def _input_transform(self, d: EPData, segments: np.ndarray):
        """One pixel mean and std over evenly spaced frames of the training movies."""
        mean, std, subnormal = _pixel_moments(d.data, segments, _TRANSFORM_FRAMES)
        refuse_subnormal("movies", subnormal, "rescale the frames or pass them as float64")
        if not (np.isfinite(mean) and np.isfinite(std)):
            raise ValueError("movies: pixel values too large to standardise (their mean or spread overflows double "
                             "precision); rescale the frames")
        if not std > 0:
            raise ValueError("movies: the training frames are constant (every pixel the same value): there is "
                             "nothing to learn from")
        return np.array([mean]), np.array([1.0 / std])

    @staticmethod
    def _set_transform(net, shift, scale) -> None:
        if shift is not None:
            net.set_pixel_transform(float(np.asarray(shift).ravel()[0]), float(np.asarray(scale).ravel()[0]))

    def _net_config(self) -> dict:
        return {"frame_shape": list(self._frame_shape), "pixel_kind": self._pixel_kind}

    def _restore_net_config(self, cfg: dict) -> None:
        self._frame_shape = tuple(int(v) for v in cfg["frame_shape"])
        self._pixel_kind = cfg.get("pixel_kind")  # absent in files from before it was saved: unknown, not checked
        if self._pixel_kind not in (None, "integer", "float"):
            raise ValueError(f"a damaged CNEEP file: pixel_kind {self._pixel_kind!r} is not 'integer' or 'float'")

    # ---- truth and read-out -------------------------------------------------------
    def _truth_delta_s(self, d: EPData, segments: np.ndarray):
        """Analytic ΔS of each read-out window from the hidden states: the sum over
        its seq_len − 1 transitions."""
        m = d.model
        if d.hidden is None or m is None or not hasattr(m, "transition_entropy") or d.blur > 1:
            return None  # blurred frames show exposure means, not the states at the frame times
        step = self.seq_len - 1
        out = []
        for traj, b, e in segments:
            try:
                per_step = np.asarray(m.transition_entropy(d.hidden[traj, b:e][None]))[0]
            except ValueError:
                return None
            n_win = int(_n_windows(e - b, self.seq_len))
            out.append(per_step[: n_win * step].reshape(n_win, step).sum(axis=1))
        return np.concatenate(out) if out else None

    def _blurred_truth(self, d: EPData, truth: dict) -> dict:
        """Motion-blurred frames: σ, and the exposure-window rates of linear models for
        this seq_len; for movies drawing a subset of coordinates, the exposure means of
        those (a crop: only the upper rate, the spanned path)."""
        out = {k: truth[k] for k in ("ep_rate",) if k in truth}
        m, method = d.model, d.integrator or "euler_maruyama"
        if not hasattr(m, "exposure_ep_rates") or method not in ("euler_maruyama", "heun", "exact"):
            return out
        if not d.substeps or d.substeps % d.blur:
            d.notes.append(f"integration steps per frame ({d.substeps}) unknown or not a multiple of the blur "
                           f"({d.blur}): no exposure-window truth")
            return out
        layout = d.layout or {}
        cropped = layout.get("cropped", d.partial)  # files from before "cropped" was kept: assume the worst
        observed = layout.get("drawn") if d.partial and not cropped else None
        rates = m.exposure_ep_rates(d.dt, d.blur, self.seq_len, d.substeps // d.blur, method, observed=observed)
        if d.partial and (cropped or observed is None):
            rates.pop("exposure_mean_ep_rate")
        out.update(rates, truth_for=f"motion blur over {d.blur} records, {method}, {d.substeps} substeps per "
                                    f"frame, dt={d.dt}, seq_len={self.seq_len}")
        return out

    def _test_delta_s(self, members, data, segs: np.ndarray):
        """ΔS and the time-averaged dissipation map of the test windows in one pass (a
        second pass for the map cost about a tenth of a default fit)."""
        per_member, mean_map = _delta_s_and_mean_map(members, data, segs, self.seq_len)
        return per_member, (np.mean(per_member, axis=0) if len(per_member) > 1 else per_member[0]), mean_map

    def _read_out(self, d: EPData, split: Split, members, fits, truth: dict, seed: int) -> EPResult:
        if d.blur > 1:
            truth = self._blurred_truth(d, truth)
        res = super()._read_out(d, split, members, fits, truth, seed)
        if d.partial and d.blur == 1:  # blurred frames can show more than σ: no lower bound on it
            res.kind = "bound"
            if not any("frames show positions only" in n for n in res.settings["notes"]):  # said already
                res.settings["notes"].append("the frames show only part of the system (a subset of spots or a "
                                             "crop): the EP they reveal bounds the total from below")
        res.settings["frame_shape"] = list(self._frame_shape)
        res.settings["pixel_mean"] = float(self.shift[0])
        res.settings["pixel_std"] = float(1.0 / self.scale[0])
        return res

    # ---- using a trained estimator -------------------------------------------------
    def dissipation_map(self, movies: Any, *, per_window: bool = False) -> np.ndarray:
        """Where the EP is produced: the map H of methods.md §2.3 on the network's
        last feature grid (map_shape; upsample_map() brings it to the frame size),
        in k_B per window. The time average over every read-out window (default;
        it sums to the mean ΔS per window), or per_window=True: (n_movies, n_windows,
        H', W'), each summing to that window's ΔS. An ensemble averages its members."""
        if self.net is None:
            raise RuntimeError("CNEEP is not trained: call fit() or CNEEP.load() first")
        per_window = boolean("per_window", per_window)
        d = self._trained_input(movies)
        segs = np.array([[m, 0, d.length] for m in range(d.n_traj)], dtype=np.int64)
        if not per_window:
            return _mean_map(self.members or [self.net], d.data, segs, self.seq_len)
        n_win = int(_n_windows(d.length, self.seq_len))
        per_movie = n_win * int(np.prod(self.map_shape))  # a compiled call's maps: a run of movies
        check_output_fits((d.n_traj, n_win, *self.map_shape), np.float64, "pass fewer movies at a time",
                          extra_bytes=8 * min(d.n_traj * per_movie, max(per_movie, MAP_BATCH_VALUES)))
        out = np.zeros((d.n_traj, n_win, *self.map_shape))
        for net in self.members or [self.net]:
            for a, b in _segment_batches(segs, self.seq_len, net):  # a bounded number of maps in flight
                out[a:b] += net.dissipation_map(d.data, segs[a:b])[1].reshape(b - a, n_win, *self.map_shape)
        return out / len(self.members or [self.net])

    @property
    def map_shape(self) -> tuple:
        """(H', W') of the dissipation map."""
        if self.net is None:
            raise RuntimeError("CNEEP is not trained: call fit() or CNEEP.load() first")
        return tuple(self.net.map_shape)

    def __repr__(self) -> str:
        return (f"CNEEP(n_layer={self.n_layer}, n_channel={self.n_channel}, seq_len={self.seq_len}, "
                f"lr={self.lr})")


def _core_frames(frames: np.ndarray) -> np.ndarray:
    """The frames as the core reads them: uint8, float32 or float64, C-contiguous. Other
    pixel types are copied (after checking the copy fits in memory): integers of 16 bits
    or fewer and float16 to float32 (exact), wider integers to float64 (float32 holds
    integers exactly only up to 2^24), other floats to the nearest of float32/float64."""
    dt = frames.dtype
    if dt == np.uint8 or dt in (np.float32, np.float64):
        target = dt
    elif dt.kind == "f":
        target = np.dtype(np.float64 if dt.itemsize > 4 else np.float32)
    else:
        target = np.dtype(np.float64 if dt.itemsize >= 4 else np.float32)
    if target == dt and frames.flags.c_contiguous:
        return frames
    hint = (f"movies: reading {dt} pixels copies them as {target.name}; store them as uint8 or float32 "
            "on disk (convert chunk by chunk) and pass them memory-mapped (np.load(path, mmap_mode='r')), "
            "or pass fewer movies") if target != dt else \
        "movies: a non-contiguous array is copied; pass C-contiguous (e.g. memory-mapped) frames, or fewer movies"
    check_output_fits(frames.shape, target, hint)
    return frames.astype(target, order="C")


def _swapped_movie_axes_warning(frames: np.ndarray) -> None:
    """Movies stored (n_frames, n_movies, H, W): consecutive 'movies' are then consecutive
    frames, correlated, while consecutive 'frames' are unrelated movies. The largest
    pixel correlation along time (time_axis_warning) reached 0.48 by chance on such data
    (review, session 30); pooled correlations along both axes tell them apart: 0.95 across
    'movies' against 0.08 along 'time' there, about 0 across independent movies."""
    if frames.shape[0] < 3 or frames.shape[1] < 3:
        return
    pix = frames.shape[2] * frames.shape[3]
    picks = np.unique(np.linspace(0, pix - 1, min(pix, 4096)).astype(np.int64))  # no copy of whole frames
    a = frames[:32, :32][:, :, picks // frames.shape[3], picks % frames.shape[3]].astype(np.float64)
    with np.errstate(all="ignore"):
        across, along = pooled_lag1(a, 0), pooled_lag1(a, 1)
    if across > 0.5 and across > along + 0.3:
        warnings.warn(f"consecutive movies look like consecutive frames (pooled lag-1 pixel correlation {across:.2f} "
                      f"from one movie to the next, {along:.2f} from one frame to the next) for movies of shape "
                      f"{frames.shape}: if the array is (n_frames, n_movies, height, width), pass "
                      "movies.transpose(1, 0, 2, 3)", UserWarning, stacklevel=user_stacklevel())


def _frame_picks(segments: np.ndarray, n_frames: int):
    """(movie, frame) indices of up to n_frames frames evenly spaced over the segments (movie, begin, end)."""
    lengths = segments[:, 2] - segments[:, 1]
    total = int(lengths.sum())
    picks = np.unique(np.linspace(0, total - 1, min(total, n_frames)).astype(np.int64))
    cum = np.concatenate([[0], np.cumsum(lengths)])
    k = np.searchsorted(cum, picks, side="right") - 1
    return segments[k, 0], segments[k, 1] + picks - cum[k]


#: float64 values of frames converted at a time for the pixel statistics (64 MB)
_MOMENT_CHUNK_VALUES = 2**23


def _pixel_moments(frames: np.ndarray, segments: np.ndarray, n_frames: int) -> tuple:
    """Mean and std of the pixels of up to n_frames frames evenly spaced over the segments,
    in float64, and the share of the nonzero float32 pixels that are subnormal; passes over
    a few frames at a time: bounded reads and memory whatever
    the movies' length and frame size (all 2000 frames of 512 × 512 at once needed 8.9 GB
    for 630 MB of uint8 movies; review, session 30). Non-finite when they overflow."""
    movie, frame = _frame_picks(segments, n_frames)
    step = max(1, _MOMENT_CHUNK_VALUES // max(1, int(np.prod(frames.shape[2:]))))
    chunks = [(movie[i:i + step], frame[i:i + step]) for i in range(0, movie.size, step)]
    n = movie.size * int(np.prod(frames.shape[2:]))
    total, sub, nonzero = 0.0, 0, 0
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused by the caller
        for m, f in chunks:  # first pass: the sum, and the float32 pixels the core would flush to zero
            block = frames[m, f]
            total += float(block.astype(np.float64).sum())
            if block.dtype == np.float32:
                s, z = subnormal_counts(block)
                sub, nonzero = sub + int(s), nonzero + int(z)
        mean = total / n
        var = sum(float(np.square(frames[m, f].astype(np.float64) - mean).sum()) for m, f in chunks) / n
    return mean, float(np.sqrt(var)), (sub / nonzero if nonzero else 0.0)


def _mean_map(nets: list, frames: np.ndarray, segs: np.ndarray, seq_len: int) -> np.ndarray:
    """Time-averaged dissipation map over every read-out window of the segments,
    averaged over the networks (float64; sums to the mean ΔS per window)."""
    return _delta_s_and_mean_map(nets, frames, segs, seq_len)[1]


def _delta_s_and_mean_map(nets: list, frames: np.ndarray, segs: np.ndarray, seq_len: int):
    """(each network's ΔS of the segments' windows, the time-averaged dissipation map over
    them averaged over the networks) from one pass. A bounded batch of segments' maps at a
    time: the per-window maps of a whole data set need not fit."""
    total, n, per_member = 0.0, 0, []
    for net in nets:
        n, parts = 0, []
        for a, b in _segment_batches(segs, seq_len, net):
            ds, maps = net.dissipation_map(frames, segs[a:b])
            parts.append(ds)
            total = total + maps.sum(axis=0)
            n += maps.shape[0]
        per_member.append(np.concatenate(parts))
    return per_member, total / (n * len(nets))


def _n_windows(length, seq_len: int):
    """Read-out windows of seq_len frames, stride seq_len − 1 (consecutive windows share an
    end frame), in a segment of `length` frames (array or scalar): none when shorter."""
    return np.maximum(0, (np.asarray(length) - seq_len) // (seq_len - 1) + 1)


MAP_BATCH_VALUES = 1 << 22  # per-window map values per compiled call (32 MB of float64)


def _segment_batches(segs: np.ndarray, seq_len: int, net) -> list:
    """[(a, b), ...]: consecutive runs of segments (movie, begin, end) whose read-out
    windows' maps hold at most MAP_BATCH_VALUES values together (one segment alone may
    hold more; segments without a window never start a run). One compiled call per run:
    a call per short movie cost more than its maps (20 000 movies of 10 frames: 10.8 s
    one at a time, 4.8 s in runs, about delta_s's time)."""
    windows = _n_windows(segs[:, 2] - segs[:, 1], seq_len)
    per_window = int(np.prod(net.map_shape))
    out, a, held = [], 0, 0
    for k, w in enumerate(windows):
        if w > 0 and k > a and held + int(w) * per_window > MAP_BATCH_VALUES:
            out.append((a, k))
            a, held = k, 0
        held += int(w) * per_window
    if len(segs) > a:
        out.append((a, len(segs)))
    return out


def _network_sizes(seq_len: int, h: int, w: int, n_layer: int, n_channel: int) -> tuple:
    """(parameters, buffer values per column) of the CNEEP network, as nn/cnn.hpp lays them out."""
    def conv(c, hh, ww, c_out, k, s, p):
        ho, wo = (hh + 2 * p - k) // s + 1, (ww + 2 * p - k) // s + 1
        return c_out * k * k * c + c_out, k * k * c * ho * wo, c_out, ho, wo

    params, acts, cols = 0, [seq_len * h * w], []
    c, hh, ww = seq_len, h, w
    stages = [("conv", n_channel, 5, 2, 2), ("pool",)]
    for b in range(2, n_layer + 1):
        ci = n_channel << (b - 2)
        stages += [("conv", ci, 3, 1, 1), ("conv", 2 * ci, 3, 1, 1)] + ([("pool",)] if b < n_layer else [])
    for st in stages:
        if st[0] == "pool":
            hh, ww = hh // 2, ww // 2
            acts.append(2 * c * hh * ww)  # output and the winners' indices
            continue
        n_p, n_cols, c, hh, ww = conv(c, hh, ww, *st[1:])
        params += n_p
        cols.append(n_cols)
        acts.append(c * hh * ww)
    params += c * hh * ww + 1
    return params, sum(acts) + sum(cols) + 2 * max(acts) + max(cols)


def upsample_map(hmap: np.ndarray, frame_shape: tuple) -> np.ndarray:
    """A dissipation map spread evenly over the frame's pixels (nearest cell): each
    pixel gets its cell's value divided by the pixels per cell, so the upsampled map
    still sums to the same EP."""
    hmap = np.asarray(hmap, dtype=np.float64)
    if hmap.ndim < 2 or hmap.shape[-2] < 1 or hmap.shape[-1] < 1:
        raise ValueError(f"hmap must be a map (..., h, w) with h, w >= 1, got shape {hmap.shape}")
    try:
        H, W = (int(v) for v in frame_shape)
    except (TypeError, ValueError):
        raise TypeError(f"frame_shape must be (height, width), got {frame_shape!r}") from None
    h, w = hmap.shape[-2:]
    if H < h or W < w:  # each cell needs a pixel, or its EP would be lost
        raise ValueError(f"frame_shape {(H, W)} must be at least the map's {(h, w)} (the movie's frame size, "
                         "e.g. res.settings['frame_shape'])")
    # the output, and the row and column indices (a few int64 temporaries of H and W values)
    check_output_fits((*hmap.shape[:-2], H, W), np.float64,
                      f"frame_shape {(H, W)} is far beyond a movie frame: pass the movie's frame size "
                      "(res.settings['frame_shape']), or fewer maps at a time", extra_bytes=24 * (H + W))
    rows = np.minimum(np.arange(H) * h // H, h - 1)
    cols = np.minimum(np.arange(W) * w // W, w - 1)
    count = np.bincount(rows, minlength=h)[:, None] * np.bincount(cols, minlength=w)[None, :]
    return (hmap / count)[..., rows[:, None], cols[None, :]]
