"""Argument checks shared by the public functions: each raises a clear error
naming the argument and the fix."""
from __future__ import annotations

import numbers
import os
import sys
import warnings
from typing import Optional

import numpy as np


class OutputTooLargeError(ValueError, MemoryError):
    """The requested output does not fit in available memory."""


def _unwrap_0d(value):
    """A 0-d numeric array (a scalar read back from an .npz: np.load(f)["dt"]) as its numpy scalar."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu":
        return value[()]
    return value


def integer(name: str, value) -> int:
    """A Python or numpy integer (not bool; a 0-d integer array too) as int."""
    value = _unwrap_0d(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    return int(value)


def boolean(name: str, value) -> bool:
    """True or False (a Python or numpy bool): a string such as "False" would read as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def positive_int(name: str, value, minimum: int = 1) -> int:
    value = integer(name, value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


#: more threads than any machine we target has cores; larger requests are typos
MAX_THREADS = 1024


def seed_value(name: str, value) -> int:
    """A seed of the counter-based streams: an integer in [0, 2**64)."""
    v = positive_int(name, value, minimum=0)
    if v >= 2**64:
        raise ValueError(f"{name} must be < 2**64, got {v}")
    return v


def thread_count(value) -> int:
    """n_threads: None (0 to the C++ core: all cores) or an integer in [1, MAX_THREADS]."""
    if value is None:
        return 0
    v = positive_int("n_threads", value)
    if v > MAX_THREADS:
        raise ValueError(f"n_threads must be <= {MAX_THREADS}, got {v}; pass None to use all cores")
    return v


def _float(name: str, value) -> float:
    """float(value); a Python integer beyond the float range is a ValueError naming it."""
    try:
        return float(value)
    except OverflowError:  # (its digits may be too many to print: name its size)
        raise ValueError(f"{name} must be finite, got an integer of {int(value).bit_length()} bits, beyond the "
                         "float range") from None


def positive_float(name: str, value, allow_zero: bool = False) -> float:
    value = _unwrap_0d(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = _float(name, value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {v}")
    return v


def c_int_count(name: str, value, minimum: int = 1) -> int:
    """A count the compiled core takes as a C int: an integer in [minimum, 2**31), refused
    beyond it by name (pybind11's message names neither the argument nor the limit)."""
    value = positive_int(name, value, minimum=minimum)
    if value > 2**31 - 1:
        raise ValueError(f"{name} must be < 2**31, got {value}")
    return value


def band_level(level) -> float:
    """A central band's or interval's probability level: a real number in (0, 1) (a string
    such as '0.9' would fail in a comparison, a bool read as 0 or 1)."""
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, numbers.Real):
        raise TypeError(f"level must be a number in (0, 1), got {level!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return level


def momentum_value(value) -> float:
    """SGD momentum: a real number in [0, 1)."""
    v = positive_float("momentum", value, allow_zero=True)
    if not v < 1:
        raise ValueError(f"momentum must be in [0, 1), got {v}")
    return v


def finite_float(name: str, value) -> float:
    value = _unwrap_0d(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = _float(name, value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def real_array(name: str, value, dtype=np.float64) -> np.ndarray:
    """value as an array of `dtype`, its shape kept (a scalar stays 0-d). Refuses
    complex, boolean, string and date values (numpy would drop imaginary parts, read
    True as 1 or parse '1' as a number)."""
    try:
        kind = value.dtype.kind if isinstance(value, np.ndarray) else np.asarray(value).dtype.kind
    except (TypeError, ValueError):
        kind = "O"  # the conversion below reports it
    refused = {"c": "complex", "b": "boolean", "U": "string", "S": "bytes", "V": "structured", "M": "datetime",
               "m": "timedelta"}
    if kind in refused:
        raise TypeError(f"{name} must hold real numbers, got {refused[kind]} values")
    if kind == "O":  # an object array (e.g. a mixed pandas column): numpy would convert '1' and True too
        try:
            items = np.asarray(value, dtype=object).ravel()
        except (TypeError, ValueError):
            items = ()  # the conversion below reports it
        for v in items:
            if isinstance(v, (str, bytes, bool, np.bool_, complex, np.complexfloating)):
                raise TypeError(f"{name} must hold real numbers, got a {type(v).__name__} value {v!r}")
    try:
        arr = np.asarray(value, dtype=dtype)
    except OverflowError:
        raise ValueError(f"{name} holds an integer beyond the {np.dtype(dtype).name} range") from None
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array: {exc}") from None
    return arr


def finite_array(name: str, value, shape: tuple | None = None, dtype=np.float64) -> np.ndarray:
    """real_array as a C-contiguous array (at least 1-D), checking shape (None entries
    are free) and finiteness."""
    with np.errstate(over="ignore"):  # a cast beyond the range of dtype: named below
        arr = np.ascontiguousarray(real_array(name, value, dtype))
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
        if not ok:
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        wide = real_array(name, value)
        if arr.dtype.itemsize < 8 and np.all(np.isfinite(wide)):
            raise ValueError(f"{name} reaches {np.abs(wide).max():.3g}, beyond the {arr.dtype.name} range: "
                             "rescale it, or compute in float64")
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def listed_arrays(value):
    """A 1-D object array of arrays (np.load(..., allow_pickle=True) of a list of tracks) as
    that list; any other value unchanged."""
    if isinstance(value, np.ndarray) and value.dtype == object and value.ndim == 1 and value.size and all(
            isinstance(v, np.ndarray) for v in value):
        return list(value)
    return value


def refuse_masked(name: str, value) -> None:
    """Refuses a masked array, or one among a list of tracks: its masked points would be
    read as whatever data lie under the mask (NaN hidden there even passed the NaN check,
    as garbage)."""
    items = listed_arrays(value)
    items = items if isinstance(items, (list, tuple)) else [items]
    for k, a in enumerate(items):
        if isinstance(a, np.ma.MaskedArray):
            n = int(np.ma.count_masked(a))
            what = f"{name} is a numpy masked array" if a is value else f"{name}: track {k} is a numpy masked array"
            raise TypeError(f"{what} ({n} masked values): pass plain arrays. The estimators "
                            "need evenly spaced points without gaps: cut the trajectories at masked points and pass "
                            "the list of tracks (L_k, dim) (stochinfer.split_at_gaps(data) does that; "
                            "infer_langevin(..., gaps='split') does it itself)"
                            + ("" if n else ", or pass data.filled() when nothing is masked"))


def stacked_array(name: str, value):
    """A list or tuple of trajectories as one numpy array; other values pass through.
    Refuses masked arrays (refuse_masked)."""
    refuse_masked(name, value)
    value = listed_arrays(value)
    if not isinstance(value, (list, tuple)):
        return value
    if len(value) == 0:
        raise ValueError(f"{name} is an empty {type(value).__name__}: pass at least one trajectory")
    message = (f"{name}: the nested lists do not stack into a rectangular array (n_traj, L, dim); "
               "pass each trajectory as an array (L_k, dim): infer_langevin and the EP estimators of trajectories "
               "cut tracks of different lengths into pieces of one length (movies must share their length)")
    try:
        with warnings.catch_warnings():  # numpy < 1.24 builds an object array, with a deprecation warning
            warnings.simplefilter("ignore")
            arr = np.asarray(value)
    except ValueError:
        arr = None
    if arr is None or arr.dtype == object:
        states = {np.shape(v)[1:] for v in value if isinstance(v, np.ndarray) and v.ndim >= 1}
        if len(states) > 1 and all(isinstance(v, np.ndarray) and v.ndim >= 1 for v in value):
            raise ValueError(f"{name}: the trajectories must share the shape of a state; got {sorted(states)} after "
                             "the time axis (each trajectory is (L_k, dim))")
        raise ValueError(message)
    return arr


def swapped_axes_hint(given_shape: tuple, n_points: int) -> str:
    """The hint for data with too few time points whose shape looks transposed: a (dim, L)
    array read as one trajectory of dim points, or (n_traj, dim, L)."""
    if len(given_shape) in (2, 3) and given_shape[-1] > max(n_points, 16):
        return ("; the axes look swapped (time along the last axis?): trajectories are (n_traj, L, dim), one "
                "trajectory (L, dim), so transpose it (x.T for one trajectory, x.transpose(0, 2, 1) for several)")
    return ""


#: lag-1 autocorrelation below which consecutive points look independent
_MIN_LAG1_CORRELATION = 0.3
#: values of the data that time_axis_warning reads
_TIME_AXIS_SAMPLE = 2_000_000


def _time_sample(arr: np.ndarray) -> np.ndarray:
    """The leading trajectories and points of (n_traj, L, d) data, about _TIME_AXIS_SAMPLE
    values (at least 3 points): enough for the layout checks, cheap in time and memory."""
    keep_len = max(3, min(arr.shape[1], _TIME_AXIS_SAMPLE // arr.shape[2]))
    return arr[: max(1, _TIME_AXIS_SAMPLE // (keep_len * arr.shape[2])), :keep_len]


def beyond_robust_sd(a: np.ndarray, k: float, axis) -> np.ndarray:
    """Where |a| exceeds k robust standard deviations (1.4826 × the median |a| over `axis`);
    nowhere along a slice whose median |a| is 0."""
    scale = 1.4826 * np.median(np.abs(a), axis=axis, keepdims=True)
    return np.abs(a) > k * np.where(scale > 0, scale, np.inf)


def user_stacklevel() -> int:
    """warnings.warn's stacklevel of the first caller outside this package, so a
    warning raised deep inside points at the user's line (called by the warner)."""
    pkg = os.path.normcase(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.normcase(os.path.abspath(frame.f_code.co_filename)).startswith(pkg):
        frame, level = frame.f_back, level + 1
    return level


#: the smallest normal float32 magnitude (≈ 1.18e-38): below it float32 values are subnormal,
#: lose their digits, and the compiled network code flushes them to zero (a classifier at
#: 1e-40 scored chance; CNEEP on float32 frames at 1e-42 returned a rate of 0)
FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def subnormal_counts(a: np.ndarray, axis=None):
    """(subnormal, nonzero) value counts of a float32 array."""
    return np.count_nonzero((np.abs(a) < FLOAT32_TINY) & (a != 0), axis=axis), np.count_nonzero(a, axis=axis)


def subnormal_share(a: np.ndarray, axis=None):
    """Share of the nonzero values of a float32 array that are subnormal (0 where none are nonzero)."""
    sub, nonzero = subnormal_counts(a, axis)
    return np.where(nonzero > 0, sub / np.maximum(nonzero, 1), 0.0)


def refuse_subnormal(name: str, share: float, fix: str) -> None:
    """Refuses float32 data most of whose nonzero values (share > ½) are subnormal."""
    if share > 0.5:
        raise ValueError(f"{name}: {100 * share:.0f}% of its nonzero float32 values are subnormal (below "
                         f"{FLOAT32_TINY:.3g}): they lose their digits and the network code flushes them to zero; "
                         f"{fix}")


def increment_moments(arr: np.ndarray):
    """Per coordinate of (n_traj, L, d) data: the variance of the states and the mean
    squared one-step increment, in float64 (inf/nan where the data's scale overflows)."""
    with np.errstate(all="ignore"):
        var = arr.reshape(-1, arr.shape[-1]).var(axis=0, dtype=np.float64)
        step = np.mean(np.square(np.diff(arr, axis=1), dtype=np.float64), axis=(0, 1))
    return var, step


def pooled_lag1(a: np.ndarray, axis: int) -> float:
    """Lag-1 correlation along `axis` (0, 1 or 2) of (n, L, d) values, pooled over the other
    axes (Σ increments² / 2 Σ variances, so that the coordinates that move carry it, not the
    noise); nan when nothing varies."""
    var, step = increment_moments(np.moveaxis(a, axis, 1) if axis != 1 else a)
    total = var.sum()
    return float(1.0 - step.sum() / (2.0 * total)) if total > 0 and np.isfinite(total) else float("nan")


#: trajectories at most this long with many coordinates are checked for time along the last axis
_SHORT_TRACK = 16


def _time_along_last_axis(arr: np.ndarray, given_shape: tuple) -> bool:
    """Warns (and returns True) when short, wide (n_traj, L, d) data look like (n_traj, d, L):
    consecutive 'coordinates' correlated like consecutive points of a path while consecutive
    'time points' are not. Shape alone cannot tell: (n, 2, d) is also NEEP's transition pairs."""
    n_traj, length, dim = arr.shape
    if length > _SHORT_TRACK or dim < max(_SHORT_TRACK, 2 * length):
        return False
    a = arr[: max(1, _TIME_AXIS_SAMPLE // (length * min(dim, 4096))), :, :4096]
    if a.dtype.kind in "iu":
        a = a.astype(np.float64)
    with np.errstate(all="ignore"):
        along, across = pooled_lag1(a, 1), pooled_lag1(a, 2)
    if not (across > 0.5 and (across > along + 0.3 or not np.isfinite(along))):
        return False
    warnings.warn(f"data of shape {tuple(given_shape)} look like time along the last axis: consecutive coordinates "
                  f"are correlated like consecutive points of a path (pooled lag-1 correlation {across:.2f}), "
                  f"consecutive time points are not ({along:.2f}); if the array is (n_traj, dim, L), pass "
                  "x.transpose(0, 2, 1) (shape (n_traj, L, dim))", UserWarning, stacklevel=user_stacklevel())
    return True


def wide_2d_warning(given_shape: tuple) -> bool:
    """Warns (and returns True) when 2-D data have more coordinates than time points:
    scalar paths (n_traj, L) read as one trajectory (L, dim)."""
    if len(given_shape) == 2 and given_shape[0] < given_shape[1]:
        warnings.warn(f"2-D data of shape {tuple(given_shape)} are read as one trajectory of {given_shape[0]} points "
                      f"in {given_shape[1]} dimensions; for {given_shape[0]} scalar paths of {given_shape[1]} points "
                      "pass x[..., None] (shape (n_traj, L, 1); command line: --scalar-paths)", UserWarning,
                      stacklevel=user_stacklevel())
        return True
    return False


def time_axis_warning(arr: np.ndarray, given_shape: tuple, transposed_hint: str | None = None) -> None:
    """Warns when 2-D data have more coordinates than time points (wide_2d_warning), or
    when consecutive points of (n_traj, L, d) data are not positively correlated in
    any coordinate: the usual sign of an array passed as (L, n_traj, d), or of a dt
    far beyond the relaxation time (or noise that drowns the signal), where no drift
    or entropy production can be resolved. given_shape: the shape the user passed."""
    n_traj, length, dim = arr.shape
    if wide_2d_warning(given_shape) or (len(given_shape) == 3 and _time_along_last_axis(arr, given_shape)):
        return
    if length < 3 or n_traj * (length - 1) < 20 or dim == 0:
        return
    sample = _time_sample(arr)
    if sample.dtype.kind in "iu":  # uint8 pixels: differences would wrap around
        sample = sample.astype(np.float64)
    sample = bridge_points(sample, glitched_points(sample))  # one frame at 3000 in ±2 read as "uncorrelated"
    var, step = increment_moments(sample)  # absurd scales are refused later, with their own message
    moving = (var > 0) & np.isfinite(var) & np.isfinite(step)
    if not moving.any():
        return
    rho = 1.0 - step[moving] / (2.0 * var[moving])  # lag-1 autocorrelation of a stationary series
    if rho.max() < _MIN_LAG1_CORRELATION:
        hint = ("2-D data are read as one trajectory (L, dim); for scalar paths (n_traj, L) pass x[..., None] "
                "(command line: --scalar-paths)"
                if len(given_shape) == 2 else
                transposed_hint or "if the array is (L, n_traj, dim), transpose it to (n_traj, L, dim)")
        warnings.warn(f"consecutive points are nearly uncorrelated (lag-1 autocorrelation at most {rho.max():.2f} "
                      f"in every coordinate) for data of shape {tuple(given_shape)}: {hint}; otherwise dt is long "
                      "compared with the relaxation time (or noise drowns the signal) and the results will not "
                      "be meaningful", UserWarning, stacklevel=user_stacklevel())


#: an increment beyond this many robust standard deviations of its coordinate's increments,
#: followed by one straight back, both GLITCH_ISOLATION times their neighbours, is a glitched
#: frame (a Gaussian increment passes 20 SD with probability ~10⁻⁸⁸; the Hodgkin–Huxley voltage
#: zigzags by 20 times its median increment near a spike's peak, but over many steps)
GLITCH_SD = 20.0
GLITCH_ISOLATION = 10.0
#: ... and more than this many standard deviations of the coordinate's values
GLITCH_SPREAD = 1.0


def glitched_points(series) -> np.ndarray:
    """(series, point) of each point that looks like a single glitched frame, in (n, L, d)
    float data or a list of (L_k, d) series (tracks): a jump of more than GLITCH_SD robust
    standard deviations of that coordinate's increments (pooled over all series) and straight
    back, both GLITCH_ISOLATION times the increments beside them and more than GLITCH_SPREAD
    standard deviations of the coordinate's values (so that a spike's sharp peak on a smooth
    coordinate, e.g. the Hodgkin–Huxley voltage recorded every 0.1 ms, is not one: review,
    session 32). Next to a series' end (points 1 and L − 2: tracks cut at gaps have many)
    the one increment beside there is. (k, 2) int64, in order. Not found: a series' first and
    last points (no jump back), two glitched frames side by side or two apart, and glitches in
    over about a quarter of the frames (they set the robust scale)."""
    series = [np.asarray(a) for a in series]  # (L_k, d) each
    if not series or series[0].ndim != 2 or series[0].shape[1] == 0 or series[0].dtype.kind != "f":
        return np.zeros((0, 2), dtype=np.int64)
    with np.errstate(all="ignore"):
        incs = [np.diff(a.astype(np.float64, copy=False), axis=0) for a in series]
        pooled = np.concatenate(incs)
        if pooled.shape[0] == 0:
            return np.zeros((0, 2), dtype=np.int64)
        bigs = np.split(beyond_robust_sd(pooled, GLITCH_SD, axis=0), np.cumsum([len(i) for i in incs])[:-1])
        spread = np.concatenate(series).std(axis=0, dtype=np.float64)
        found = []
        for k, (inc, big) in enumerate(zip(incs, bigs)):
            n = inc.shape[0]
            if n < 3:  # a point needs its jump out and back and an increment beside them
                continue
            size = np.abs(inc)
            # the increments beside each jump out (o: point o → o + 1) and back (o + 1), zero past the ends:
            # next to an end (review, session 33: glitches next to gaps were missed) the one side there is
            beside = np.concatenate([np.zeros_like(size[:1]), size, np.zeros_like(size[:1])])
            out, back = slice(0, n - 1), slice(1, n)
            smaller = np.minimum(size[out], size[back])
            glitch = (big[out] & big[back] & (np.abs(inc[out] + inc[back]) < 0.5 * smaller)
                      & (smaller > GLITCH_ISOLATION * np.maximum(beside[0:n - 1], beside[3:n + 2]))
                      & (smaller > GLITCH_SPREAD * spread)).any(axis=1)
            found += [(k, o + 1) for o in np.flatnonzero(glitch)]  # inc[o] reaches point o + 1
    return np.array(found, dtype=np.int64).reshape(-1, 2)


def bridge_points(x: np.ndarray, points: np.ndarray) -> np.ndarray:
    """x with each of `points` ((k, 2): trajectory, point) replaced by the mean of its
    neighbours (the one neighbour at a trajectory's end: pieces of tracks may begin or end at
    one); a copy, or x itself where there are none."""
    if len(points) == 0:
        return x
    out = x.copy()
    i, j = points[:, 0], points[:, 1]
    before, after = np.maximum(j - 1, 0), np.minimum(j + 1, x.shape[1] - 1)
    before, after = np.where(before == j, after, before), np.where(after == j, before, after)
    out[i, j] = 0.5 * (x[i, before] + x[i, after])
    return out


GLITCH_ADVICE = ("the estimators are not robust to them: stochinfer.split_at_gaps(data, glitches='cut') cuts the "
                 "trajectories there into a list of tracks, which they take")


def glitch_warning(arr: np.ndarray, found: Optional[np.ndarray] = None, fix: str = GLITCH_ADVICE,
                   unit: str = "trajectory") -> None:
    """Warns when points of (n_traj, L, d) float data (or a list of tracks) look like single
    glitched frames (glitched_points; found: those points if already known, else a leading
    sample of the data is searched, _time_sample). One such frame 5σ away made the diffusion
    1.3 times too high and 100σ 100 times (review, session 31); the estimators' squared-error
    losses are not robust to them. fix: what the user is told to do (or what was done); unit:
    what a series is called ('trajectory', 'track')."""
    partial = False
    if found is None:
        sample = _time_sample(arr)
        partial, found = sample.shape != arr.shape, glitched_points(sample)
    if len(found):
        i, j = found[0]
        where = f"{unit} {i}, point {j}" if len(arr) > 1 else f"point {j}"
        count = len(found)
        warnings.warn(f"{count} point{'s look like glitched frames' if count > 1 else ' looks like a glitched frame'} "
                      f"(first: {where}{' of the data read' if partial else ''}): a jump of more "
                      f"than {GLITCH_SD:g} times the typical increment and straight back; {fix}",
                      UserWarning, stacklevel=user_stacklevel())


def same_interval(dt, recorded: float) -> bool:
    """Whether a time step names the recorded interval, up to 1e-6 relative: a dt stored
    as float32 (0.01 reads back as 0.0099999998) still names 0.01."""
    return bool(np.isclose(float(dt), recorded, rtol=1e-6, atol=0.0))


def recording_dt(dt, traj_dt: float) -> float:
    """The recording interval of a Trajectories object; a dt given with it must agree."""
    if dt is not None and not same_interval(dt, traj_dt):
        raise ValueError(f"dt={dt} does not match the trajectories' recording interval dt={traj_dt}; "
                         "omit dt or pass the right one")
    return traj_dt


def required_dt(dt) -> float:
    """dt for plain arrays: present, real, finite and > 0."""
    if dt is None:
        raise ValueError("dt is required for arrays: the time between consecutive points (model time unit)")
    return positive_float("dt", dt)


#: values scanned for NaN/inf at a time: bounds the temporary, so memory-mapped data need no full-size one
FINITE_SCAN_VALUES = 1 << 20


def finite_states(arr: np.ndarray, subject: str = "data contains", items: str = "points",
                  nan_fix: Optional[str] = None) -> None:
    """Rejects NaN/inf in trajectory data or movie frames, naming the first bad index (in C
    order); a C-contiguous array is scanned a bounded block at a time. nan_fix: what to
    do when the first bad value is NaN (a missing frame), instead of removing the points."""
    flat = arr.reshape(-1) if arr.flags.c_contiguous else None  # a strided view: one pass, as it comes
    blocks = [(0, arr)] if flat is None else \
        ((start, flat[start:start + FINITE_SCAN_VALUES]) for start in range(0, flat.size, FINITE_SCAN_VALUES))
    for start, block in blocks:
        ok = np.isfinite(block)
        if not ok.all():
            first = np.argwhere(~ok)[0]
            bad = tuple(first) if flat is None else np.unravel_index(start + int(first[0]), arr.shape)
            where = tuple(int(i) for i in bad)
            if nan_fix is not None and np.isnan(arr[where]):
                raise ValueError(f"{subject} NaN (first at index {where}); {nan_fix}")
            raise ValueError(f"{subject} NaN or inf (first at index {where}); remove those {items}")


def positive_definite(name: str, m: np.ndarray) -> np.ndarray:
    m = finite_array(name, m, shape=(None, None))
    if m.shape[0] != m.shape[1]:
        raise ValueError(f"{name} must be square, got {m.shape}")
    if not np.allclose(m, m.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(m).max()))):
        raise ValueError(f"{name} must be symmetric")
    try:
        np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        ev = np.linalg.eigvalsh(m).min()
        raise ValueError(f"{name} must be positive definite (smallest eigenvalue {ev:.3g})") from None
    return m


def available_memory_bytes() -> int | None:
    """Memory this process can still allocate: the least of the machine's available
    memory, the room under its address-space limit (ulimit -v) and the room under its
    control group's memory limit (containers, batch schedulers); None if none is known."""
    room = [b for b in (_machine_available(), _address_space_room(), _cgroup_room()) if b is not None]
    return min(room) if room else None


def _read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().strip()
        return None if text == "max" else int(text)
    except (OSError, ValueError):
        return None


def _machine_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _address_space_room() -> int | None:
    """RLIMIT_AS minus the address space in use (VmSize): allocations fail beyond it."""
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft == resource.RLIM_INFINITY or soft <= 0:
            return None
        with open("/proc/self/status") as fh:
            used = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
        return max(soft - used, 0)
    except (ImportError, OSError, ValueError, StopIteration):
        return None


def _cgroup_room() -> int | None:
    """The least room (limit minus usage) of the process's memory control group and of
    every group above it (cgroup v2 or v1), where a limit is set: a job's group may be
    unlimited inside a limited parent (a batch scheduler's allocation, a pod)."""
    try:
        with open("/proc/self/cgroup") as fh:
            lines = [line.strip().split(":", 2) for line in fh if line.count(":") >= 2]
    except OSError:
        return None
    room = []
    for _, controllers, path in lines:
        if controllers == "":  # v2: the unified hierarchy
            root, limit_file, usage_file, cache_key = "/sys/fs/cgroup", "memory.max", "memory.current", "inactive_file"
        elif "memory" in controllers.split(","):
            root, limit_file, usage_file, cache_key = ("/sys/fs/cgroup/memory", "memory.limit_in_bytes",
                                                       "memory.usage_in_bytes", "total_inactive_file")
        else:
            continue
        parts = [p for p in path.split("/") if p]
        # the own group up to the mount's root (a container sees its own group there); levels not
        # mounted in this namespace are skipped
        for depth in range(len(parts), -1, -1):
            base = "/".join([root] + parts[:depth])
            limit, usage = _read_int(f"{base}/{limit_file}"), _read_int(f"{base}/{usage_file}")
            if limit is not None and usage is not None and limit < 2**60:  # 'unlimited' is a huge number in v1
                # usage counts the file cache the kernel frees on demand (a file just read): as docker and
                # the kubelet do, the inactive part of it is room
                room.append(max(limit - usage + _stat_value(f"{base}/memory.stat", cache_key), 0))
    return min(room) if room else None


def _stat_value(path: str, key: str) -> int:
    """A counter of a cgroup's memory.stat (0 if absent)."""
    try:
        with open(path) as fh:
            for line in fh:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def check_output_fits(shape: tuple, dtype, hint: str, extra_bytes: int = 0) -> None:
    """Refuses, before allocating, an output larger than the memory available
    (extra_bytes: working memory the call needs besides the output)."""
    nbytes = int(np.prod([int(s) for s in shape], dtype=object)) * np.dtype(dtype).itemsize + int(extra_bytes)
    avail = available_memory_bytes()
    if avail is not None and nbytes > avail:
        extra = f" and {_size_text(extra_bytes)} of working memory" if extra_bytes else ""
        raise OutputTooLargeError(
            f"output of shape {tuple(shape)} ({np.dtype(dtype).name}){extra} needs {_size_text(nbytes)} "
            f"but only {_size_text(avail)} are available; {hint}"
        )


def _size_text(nbytes: int) -> str:
    """A byte count in GiB, or MiB below 0.1 GiB (0.00 GiB told a small machine nothing)."""
    return f"{nbytes / 2**30:.2f} GiB" if nbytes >= 0.1 * 2**30 else f"{nbytes / 2**20:.2f} MiB"
