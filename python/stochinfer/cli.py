"""Command line: ``stochinfer demo`` simulates built-in systems, estimates their
entropy production, infers a Langevin equation and prints everything next to
the analytic values; ``stochinfer ep FILE`` estimates entropy production and
``stochinfer infer FILE`` infers drift and diffusion of trajectories in a file."""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import sys
import time
import warnings

import numpy as np


def _line(name: str, est: float, se: float, truth: float, unit: str = "") -> str:
    z = (est - truth) / se if se > 0 else float("nan")
    return f"  {name:<38s} {est:9.4f} ± {se:.4f}   truth {truth:9.4f}   ({z:+.1f} SE){unit}"


def _finished(result):
    """A demo step's result; KeyboardInterrupt when Ctrl-C cut its training short (the
    training keeps the best model and returns, which a demo must not print as a result)."""
    if getattr(result, "interrupted", False) or getattr(result, "settings", {}).get("interrupted"):
        raise KeyboardInterrupt
    return result


def demo(quick: bool = False) -> int:
    import stochinfer as si
    from stochinfer import models

    print(f"stochinfer {si.__version__} demo (CPU: {si._core.cpu_isa()}, CUDA: {si.cuda_available()})")
    scale = 4 if quick else 1
    M, L = 1000 // scale, 10_000 // scale

    print(f"\n1. Bead-spring chain N = 2 (T = 1, 10), {M} trajectories × {L} steps, dt = 0.01, 10 substeps")
    bs = models.BeadSpring(n_beads=2, t_cold=1.0, t_hot=10.0)
    t = time.perf_counter()
    tr = si.simulate(bs, n_traj=M, n_steps=L, dt=0.01, substeps=10, seed=0)
    el = time.perf_counter() - t
    print(f"  simulated {M * L * 10 * 2 / el:.3g} bead-steps/s ({el:.2f} s)")
    Cs = bs.sampled_covariance(0.01, 10)
    emp = np.einsum("nti,ntj->ij", tr.x, tr.x) / (tr.x.shape[0] * tr.x.shape[1])
    # per-trajectory means give an honest error bar for time-correlated data
    per = np.einsum("nti,ntj->nij", tr.x, tr.x) / tr.x.shape[1]
    se = per.std(0, ddof=1) / np.sqrt(M)
    for (i, j), name in (((0, 0), "<x1 x1>"), ((0, 1), "<x1 x2>"), ((1, 1), "<x2 x2>")):
        print(_line(f"stationary covariance {name}", emp[i, j], se[i, j], Cs[i, j]))
    ds = bs.transition_entropy(tr.x)
    rate = ds.mean(1) / 0.01
    print(_line("mean stochastic EP / dt  vs σ_Δt", rate.mean(), rate.std(ddof=1) / np.sqrt(M),
                bs.snapshot_ep_rate(0.01, 10)))
    print(f"  (analytic σ = {bs.ep_rate():.4f}; estimators that see pairs dt apart converge to σ_Δt)")
    sdt = bs.snapshot_ep_rate(0.01, 10)
    t = time.perf_counter()
    res = _finished(si.NEEP(progress=False).fit(tr, seed=0))
    el = time.perf_counter() - t
    print(_line("NEEP EP rate (held-out trajectories)", res.rate, res.stderr, sdt))
    print(f"    per-transition R² vs exact ΔS {res.r2:.4f}; trained in {el:.1f} s "
          f"({res.settings['iterations'][0]} updates, 3 x {res.settings['hidden']} {res.settings['activation']})")
    tur = si.entropy_production(tr, method="tur")
    print(_line("TUR lower bound (linear currents)", tur.rate, tur.stderr, sdt))

    n_jumps = 10**6 // scale
    print(f"\n2. Flashing ratchet V = 2, {n_jumps} jumps (Markov jump chain)")
    rat = models.FlashingRatchet(potential=2.0)
    tok = rat.sample(n_traj=1, n_steps=n_jumps, seed=1)
    ds = rat.transition_entropy(tok)[0]
    blocks = ds[: len(ds) // 100 * 100].reshape(100, -1).mean(1)
    print(_line("mean EP per jump", blocks.mean(), blocks.std(ddof=1) / 10, rat.ep_per_step()))

    cycles = 400 // scale
    print(f"\n3. Brownian Carnot engine τ = 100, {cycles} cycles, BAOAB, 10 substeps")
    eng = models.BrownianCarnot(tau=100.0)
    tr = si.simulate(eng, n_traj=cycles, n_steps=10_000, dt=0.01, substeps=10, seed=2)
    w = eng.work(tr.x[..., 0], tr.t)
    th = eng.cycle_thermodynamics()
    print(_line("mean work per cycle", w.mean(), w.std(ddof=1) / np.sqrt(cycles), th["mean_work"]))
    print(f"  (moment ODEs: Q_h = {th['heat_hot']:.4f}, efficiency {th['efficiency']:.4f}; Carnot 0.4226)")

    print("\n4. Langevin inference: nonlinear system (§5.4), 1 trajectory × 10⁴ points, dt = 0.01")
    nl = models.Nonlinear()
    tr = si.simulate(nl, n_traj=1, n_steps=10_000, dt=0.01, substeps=10, seed=3, burn_in=0, initial="zeros")
    te = si.simulate(nl, n_traj=1, n_steps=10_000, dt=0.01, substeps=10, seed=4, burn_in=0, initial="zeros")
    t = time.perf_counter()
    fit = _finished(si.infer_langevin(tr, method="ensemble", hidden=64, progress=False))
    el = time.perf_counter() - t
    print(f"  deep ensemble of {fit.nets['drift'].n_members} networks (bootstrap), trained in {el:.1f} s")
    pts = te.x[0, ::4]  # in time order: the correlation's p-value from 20 blocks of the trajectory
    print(fit.format_report(fit.report(nl, points=pts, block_length=len(pts) // 20)))

    n_movies, n_iter = 32 // scale, 1600 // scale
    print(f"\n5. Entropy production from movies (CNEEP): bead-spring N = 2, {n_movies} movies × 1000 frames of "
          "20 × 40 px")
    mv = si.movies.bead_spring_movies(n_movies, 1000, seed=5)
    t = time.perf_counter()
    res = _finished(si.CNEEP(n_iter=n_iter, progress=False).fit(mv, seed=0))
    el = time.perf_counter() - t
    print(_line("CNEEP EP rate (held-out movies)", res.rate, res.stderr, res.truth["snapshot_ep_rate"]))
    cols = res.dissipation_map.sum(axis=0)
    print(f"    per-window R² vs exact ΔS {res.r2:.3f} after {n_iter} updates ({el:.1f} s; far from converged: the "
          "paper trains 10⁵); dissipation map by column (k_B per frame, left to right): "
          + " ".join(f"{v:+.4f}" for v in cols))
    return 0


def _npz_array(path: str, f, key: str) -> np.ndarray:
    """One array of an open .npz; ValueError naming the file when it is damaged or holds
    pickled Python objects (never unpickled: that could run code)."""
    from ._io import UNREADABLE as unreadable
    try:
        return f[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(f"{path}: array {key!r} holds Python objects (a pickled object array), which are not "
                             "read; save each trajectory or track as its own numeric array "
                             "(np.savez(FILE, *tracks))") from None
        raise ValueError(f"{path}: a damaged .npz file (ValueError)") from None
    except unreadable as exc:
        raise ValueError(f"{path}: a damaged .npz file ({type(exc).__name__})") from None


class _Tracks(list):
    """Tracks read from an .npz of several arrays, with the start time of each (t0) when
    the file holds an array named t0 (driven systems), and the recording interval (dt)
    when it holds a scalar named dt; else None."""
    t0 = None
    dt = None


def _track_list(path: str, f, keys: list) -> list:
    """The arrays of an .npz of several arrays as tracks (L_k, dim), or token paths
    (L_k,), in the order the file holds them (np.savez(FILE, *tracks): arr_0, arr_1, …;
    keyword arrays in the order given). A 1-D float track is a scalar track (L_k, 1): one
    array's only axis is time. Arrays named t0 (one start time per track, or one for
    all) and dt (a scalar) are not tracks; beside them, one (n_traj, L, dim) float array
    is n_traj tracks of one length, one (n_traj, L) integer array n_traj token paths."""
    tracks = _Tracks()
    # a trajectories file's own metadata beside x (its t0 per trajectory) is not a track
    names = [k for k in keys if k not in ("t0", "dt") and not ("x" in keys and k in ("settings", "format_version"))]
    if not names:
        raise ValueError(f"{path}: the .npz holds {' and '.join(keys)} but no trajectories or tracks")
    for key in names:
        a = _npz_array(path, f, key)
        if len(names) == 1 and 0 not in a.shape and ((a.ndim == 3 and a.dtype.kind == "f")
                                                     or (a.ndim == 2 and a.dtype.kind in "iu")):
            tracks.extend(a)  # equal tracks (or token paths): the estimators stack them back
            continue
        if (a.ndim not in (1, 2) or a.dtype.kind not in "fiu" or a.shape[0] == 0
                or (a.ndim == 2 and (a.dtype.kind != "f" or a.shape[1] == 0))):
            raise ValueError(f"{path}: an .npz of several arrays is read as tracks, each (L_k, dim) floats or (L_k,) "
                             f"floats or integer tokens; array {key!r} is {a.dtype} of shape {a.shape}")
        tracks.append(a[:, None] if a.ndim == 1 and a.dtype.kind == "f" else a)
    kinds = {"tokens" if a.dtype.kind in "iu" else f"dim {a.shape[1]}" for a in tracks}
    if len(kinds) > 1:
        raise ValueError(f"{path}: the tracks must all be states of one dimension or all token paths; found "
                         f"{', '.join(sorted(kinds))}")
    if "t0" in keys:
        t0 = _npz_array(path, f, "t0")
        if t0.shape not in ((), (len(tracks),)) or t0.dtype.kind not in "fiu" or not np.isfinite(t0).all():
            raise ValueError(f"{path}: t0 must hold one finite start time per track ({len(tracks)}), or one for "
                             f"all, got {t0.dtype} of shape {t0.shape}")
        tracks.t0 = np.broadcast_to(t0.astype(np.float64), (len(tracks),)).copy()
    if "dt" in keys:
        dt = _npz_array(path, f, "dt")
        if dt.shape != () or dt.dtype.kind not in "fiu" or not (np.isfinite(dt) and dt > 0):
            raise ValueError(f"{path}: dt must be one positive number (the recording interval), got {dt!r}")
        tracks.dt = float(dt)
    return tracks


def _describe(data) -> str:
    """The shape of what a file holds, for the first line of a command's output."""
    if isinstance(data, list):
        lengths = [len(a) for a in data]
        state = "tokens" if data[0].dtype.kind in "iu" else f"dim {data[0].shape[1]}"
        span = f"{min(lengths)}" if min(lengths) == max(lengths) else f"{min(lengths)}–{max(lengths)}"
        return f"{len(data)} tracks of {span} points ({state})"
    return f"shape {data.x.shape if hasattr(data, 'x') else np.shape(data)}"


def _starts_with(path: str, magic: bytes) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(magic)) == magic
    except OSError:
        return False


def _load_states(path: str, scalar_paths: bool = False, mmap: bool = False, dt=None):
    """A Trajectories .npz (from simulate(...).save, or any .npz with an array x and
    scalars dt and t0; dt: --dt for a file without one), or an .npy/.npz holding one
    array (n_traj, L, dim) / token paths (n_traj, L) (with dt and t0 beside it, t0 one
    start time per trajectory), or an .npz of several arrays: tracks of different
    lengths (a list, see _track_list). ValueError for a file numpy cannot read
    (damaged, truncated, text, pickled objects), whatever its name, and for a saved
    model or fit. mmap: an .npy is memory-mapped read-only (movies larger than memory)."""
    import stochinfer as si

    from ._io import _LOADERS, UNREADABLE as unreadable, stored_kind
    try:
        loaded = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except FileNotFoundError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc) and _starts_with(path, b"\x93NUMPY"):  # (numpy says it of any unknown file)
            raise ValueError(f"{path}: an .npy of Python objects (a pickled object array), which is not read; save "
                             "the trajectories as one numeric array, or tracks as arrays of an .npz "
                             "(np.savez(FILE, *tracks))") from None
        raise ValueError(f"{path}: not a readable .npy or .npz file (ValueError)") from None
    except unreadable as exc:
        raise ValueError(f"{path}: not a readable .npy or .npz file ({type(exc).__name__})") from None
    if isinstance(loaded, np.ndarray):  # an .npy, whatever its extension
        return loaded
    with loaded as f:
        keys = list(f.keys())
        if not keys:
            raise ValueError(f"{path}: the .npz holds no arrays")
        if "x" not in keys and "kind" in keys and "format_version" in keys:
            kind = stored_kind(f)
            reader = f" (read it with stochinfer.{_LOADERS[kind]})" if kind in _LOADERS else ""
            raise ValueError(f"{path}: a saved stochinfer {kind or 'model'} file{reader}, not trajectories")
        per_trajectory_t0 = "t0" in keys and np.ndim(_npz_array(path, f, "t0")) > 0
        other = [k for k in keys if k not in si.results.TRAJECTORY_KEYS]
        if "x" in keys and other:
            raise ValueError(f"{path}: holds x and {other}: a trajectories file holds x with dt and t0 beside it "
                             "(Trajectories.save); tracks go in an .npz of several arrays (np.savez(FILE, *tracks))")
        if "x" not in keys or per_trajectory_t0:
            if len(keys) == 1:
                return _npz_array(path, f, keys[0])
            return _track_list(path, f, keys)
        if "dt" not in keys and dt is None:
            raise ValueError(f"{path}: no recording interval dt in the file; pass --dt (time between consecutive "
                             "points)")
    return si.Trajectories.load(path, scalar_paths=scalar_paths, dt=None if "dt" in keys else dt)


def _states(args):
    """The file's states, 2-D float arrays read as scalar paths with --scalar-paths;
    movies for CNEEP memory-mapped."""
    data = _load_states(args.file, args.scalar_paths, mmap=getattr(args, "method", None) == "cneep", dt=args.dt)
    if isinstance(data, np.ndarray) and data.dtype.kind not in "fiu":
        raise ValueError(f"{args.file}: holds {data.dtype} values; trajectories are real numbers (floats), token "
                         "paths and movie frames integers")
    if args.scalar_paths and isinstance(data, list):
        print("note: --scalar-paths reads one 2-D array; tracks in an .npz of several arrays are read as they are "
              "(a 1-D float track is a scalar track); ignored", file=sys.stderr)
    elif args.scalar_paths and isinstance(data, np.ndarray):
        if not (data.ndim == 2 and data.dtype.kind == "f"):
            raise ValueError(f"--scalar-paths reads a 2-D float array (n_traj, L) as scalar paths; "
                             f"{args.file} holds {data.dtype} of shape {data.shape}")
        data = data[..., None]
    return data


def _flag_value(args, flag: str):
    """The value of a command-line flag as typed ('--n-iter' -> args.n_iter)."""
    return getattr(args, flag.lstrip("-").replace("-", "_"), None)


def _written_path(flag: str, path: str) -> str:
    """The file an output flag writes: fits and models get ".npz" appended (as their save
    does), a figure without an extension is a PNG (matplotlib's default)."""
    if flag in ("--save", "--save-model"):
        from ._io import npz_path
        return npz_path(path)
    if flag == "--plot" and not os.path.splitext(path)[1]:
        return path + ".png"
    return path


def _same_file(a: str, b: str) -> bool:
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def _plot_format_problem(path: str) -> str:
    """Why matplotlib would refuse to write this figure ('' if it would), or that it is
    missing: before training, not after (review, session 34)."""
    ext = os.path.splitext(path)[1][1:].lower()
    if importlib.util.find_spec("matplotlib") is None:
        return f"--plot {path}: figures need matplotlib, which is not installed (pip install matplotlib); drop --plot"
    from ._io import figure_format_supported
    if not figure_format_supported(ext):
        return f"--plot {path}: matplotlib cannot write .{ext} figures; name a .png, .pdf or .svg file"
    return ""


def _output_problem(args, flags: tuple, defaults: dict | None = None) -> str:
    """Why an output named on the command line could not be written ('' if it can): checked
    before training, which may take hours, not after. An output may not be the input file
    (it would be replaced), another output, or a file written by default (defaults:
    {what it is, e.g. "the default figure": (its path, how else to avoid it)})."""
    written = {}
    for flag in flags:
        typed = _flag_value(args, flag)
        if not typed:
            continue
        if typed.endswith(("/", os.sep)):
            return f"{flag} {typed}: that names a folder; name a file"
        path = _written_path(flag, typed)
        if _same_file(path, args.file):
            return f"{flag} {typed}: that is the input file {args.file}, which would be replaced; name another file"
        for other, other_path in written.items():
            if _same_file(path, other_path):
                return f"{flag} and {other} both write {path}; name two files"
        for what, (default_path, otherwise) in (defaults or {}).items():
            if _same_file(path, default_path):
                return f"{flag} {typed} is where {what} goes; name another file, {otherwise}"
        written[flag] = path
        if flag == "--plot" and (problem := _plot_format_problem(path)):
            return problem
        if os.path.isdir(path):
            return f"{flag} {path}: that is a folder; name a file"
        if os.path.exists(path):  # overwritten in place (or through its link, or a device such as /dev/stdout)
            if not os.access(path, os.W_OK):
                return f"{flag} {path}: the file is not writable"
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            return f"{flag} {path}: the folder {folder} does not exist"
        if not os.access(folder, os.W_OK):
            return f"{flag} {path}: the folder {folder} is not writable"
    return ""


def _write_outputs(args, content: dict, plot, plot_path=None) -> int:
    """--json first (a missing matplotlib must not lose it), then the figure: 2 if a
    figure asked for with --plot could not be drawn (a default one may fail quietly)."""
    if args.json:
        _write_json(args.json, content)
        args.written.append(args.json)
        print(f"  results saved to {args.json}")
    plot_path = args.plot if plot_path is None else plot_path
    if plot_path:
        try:
            plot_path = _written_path("--plot", plot_path)
            plot(plot_path)
            args.written.append(plot_path)
            print(f"  plot saved to {plot_path}")
        except (ImportError, OSError) as exc:
            if args.plot:
                print(f"error: no plot: {exc}", file=sys.stderr)
                return 2
            print(f"  no plot: {exc}")
    return 0


def _flag_problem(args, positive: tuple) -> str:
    """The first of the flags in `positive` given a value below its minimum (int flags: 1;
    --lr: > 0), named as typed."""
    for flag in positive:
        value = _flag_value(args, flag)
        if value is None:
            continue
        if flag == "--lr" and not (math.isfinite(value) and value > 0):
            return f"--lr must be a finite number > 0, got {value}"
        minimum = 2 if flag == "--window" else 1
        if flag != "--lr" and value < minimum:
            return f"{flag} must be >= {minimum}, got {value}"
    return ""


def _number_problem(args) -> str:
    """The first real-valued flag outside its range (--dt, --period: finite > 0;
    --val-fraction: in (0, 1); --measurement-noise: finite >= 0), before the file is read."""
    for flag, ok, need in (("--dt", lambda v: v > 0, "a finite number > 0 (time between consecutive points)"),
                           ("--period", lambda v: v > 0, "a finite number > 0 (the driving's period)"),
                           ("--val-fraction", lambda v: 0 < v < 1, "a number in (0, 1), e.g. 0.2"),
                           ("--measurement-noise", lambda v: v >= 0, "a finite number >= 0 (position std)")):
        value = _flag_value(args, flag)
        if value is not None and not (math.isfinite(value) and ok(value)):
            return f"{flag} must be {need}, got {value}"
    return ""


def _file_dt(args, data) -> str:
    """Takes the recording interval of a Trajectories file (or of tracks stored with dt)
    into args.dt; a --dt that disagrees with it is an error."""
    from ._validate import same_interval
    from .results import Trajectories
    if not isinstance(data, (Trajectories, _Tracks)) or data.dt is None:
        return ""
    if args.dt is not None and not same_interval(args.dt, data.dt):
        return (f"--dt {args.dt} does not match the recording interval {data.dt} stored in {args.file}; omit --dt "
                "for this file")
    args.dt = data.dt
    return ""


def _write_json(path: str, content: dict) -> None:
    from ._io import atomic_write, json_text
    text = json_text(content)
    atomic_write(path, lambda fh: fh.write(text), mode="w")


def ep(args) -> int:
    import stochinfer as si

    neural = args.method in ("neep", "rneep", "cneep")
    # flags a method ignores get a note below, not an error
    problem = _number_problem(args) or _output_problem(
        args, ("--json", "--plot") + (("--save-model",) if neural else ())) or _flag_problem(
        args, (("--hidden", "--layers", "--n-iter", "--lr") if neural else ())
        + (("--window",) if args.method == "rneep" else ()))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.plot and not neural:
        print(f"error: --plot draws the training curve and per-transition EP of NEEP, RNEEP and CNEEP; method "
              f"{args.method!r} has neither (drop --plot)", file=sys.stderr)
        return 2
    if not neural:
        ignored = [f"--{k.replace('_', '-')}" for k in ("hidden", "layers", "n_iter", "lr", "save_model")
                   if getattr(args, k) is not None]
        if ignored:
            verb = "applies" if len(ignored) == 1 else "apply"
            print(f"note: {' '.join(ignored)} {verb} to --method neep, rneep or cneep only; ignored for {args.method}",
                  file=sys.stderr)
    data = _states(args)
    if isinstance(data, _Tracks) and data.t0 is not None and np.any(data.t0 != 0):
        print("note: the tracks' start times (t0) are for driven fits (stochinfer infer --time-dependent); "
              "the EP estimators assume a steady state; ignored", file=sys.stderr)
    if args.method == "cneep" and (not isinstance(data, np.ndarray) or data.ndim not in (3, 4)):
        print(f"error: --method cneep reads movies, an array (n_movies, n_frames, height, width) or one movie "
              f"(n_frames, height, width); {args.file} holds {_describe(data)}", file=sys.stderr)
        return 2
    if args.method != "cneep" and isinstance(data, np.ndarray) and (
            data.ndim == 4 or (data.ndim == 3 and data.dtype.kind in "iu")):
        print(f"error: {args.file} holds a {data.ndim}-D {data.dtype} array {data.shape}: movies (n_movies, "
              "n_frames, height, width) or one movie (n_frames, height, width)? Pass --method cneep",
              file=sys.stderr)
        return 2
    if isinstance(data, si.Trajectories) and data.underdamped:
        if not args.positions_only:
            print("error: the file holds underdamped trajectories (positions and velocities); velocities are "
                  "odd under time reversal. Pass --positions-only to estimate the EP visible in the positions",
                  file=sys.stderr)
            return 2
        data = si.Trajectories(data=data.x, dt=data.dt, t0=data.t0, model=None,
                               settings={k: v for k, v in data.settings.items() if k != "underdamped"})
        positions_only = True
    else:
        positions_only = False
        if args.positions_only:
            print("note: --positions-only applies to underdamped Trajectories files; ignored", file=sys.stderr)
    if (problem := _file_dt(args, data)):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if not isinstance(data, si.Trajectories) and args.dt is None and (
            (data[0] if isinstance(data, list) else np.asarray(data)).dtype.kind == "f" or args.method == "cneep"):
        print("error: --dt is required for plain arrays and tracks (time between consecutive points or frames)",
              file=sys.stderr)
        return 2
    options = {}
    if args.window is not None and args.method != "rneep":
        print(f"note: --window applies to --method rneep only; ignored for {args.method}", file=sys.stderr)
    if args.method == "neep":
        options = dict(hidden=args.hidden, layers=args.layers, n_iter=args.n_iter, lr=args.lr)
    elif args.method == "rneep":
        if args.layers is not None:
            print("note: --layers does not apply to RNEEP (one recurrent layer); ignored", file=sys.stderr)
        options = dict(hidden=args.hidden, n_iter=args.n_iter, lr=args.lr, window=args.window)
    elif args.method == "cneep":
        options = dict(n_channel=args.hidden, n_layer=args.layers, n_iter=args.n_iter, lr=args.lr)
    options = {k: v for k, v in options.items() if v is not None}
    dt_text = args.dt if args.dt is not None else "1 (token paths: EP per step)"
    print(f"stochinfer ep: {args.file}, {_describe(data)}, dt = {dt_text}, method = {args.method}")
    model = substeps = gap_note = None
    if (args.split_at_gaps or args.cut_glitches) and args.method == "cneep":
        print("note: --split-at-gaps cuts trajectories; a movie's frames are not cut; ignored", file=sys.stderr)
    elif args.split_at_gaps or args.cut_glitches:
        data, model, substeps, gap_note = _cut_at_gaps(data, glitches=args.cut_glitches)
        print(f"note: {gap_note}", file=sys.stderr)
    t = time.perf_counter()
    res = si.entropy_production(data, args.dt, method=args.method, seed=args.seed, model=model, substeps=substeps,
                                **options)
    if gap_note:
        res.settings.setdefault("notes", []).insert(0, gap_note)
    if positions_only:  # the velocities are hidden: pairs of positions see part of the EP
        res.kind = "bound"
        res.settings.setdefault("notes", []).append(
            "positions of an underdamped system (velocities hidden): the EP they show bounds the total from below")
    print(res.summary())
    print(f"  ({time.perf_counter() - t:.1f} s)")
    if args.save_model and neural:
        path = _written_path("--save-model", args.save_model)
        res.estimator.save(path)
        args.written.append(path)
        print(f"  trained estimator saved to {path}")
    return _interrupted_status(_write_outputs(args, res.to_dict(), res.plot), bool(res.settings.get("interrupted")))


def _cut_at_gaps(data, glitches: bool = False) -> tuple:
    """(data, model, substeps, note): float states cut into tracks at NaN frames
    (--split-at-gaps) and, glitches True, at glitched frames (--cut-glitches), with a
    Trajectories' model and integration steps per record for the truth; data unchanged
    when nothing is cut."""
    import stochinfer as si
    from ._pieces import cut_glitched, gap_runs
    from .ep.data import recorded_substeps
    x, model, substeps = data, None, None
    if isinstance(data, si.Trajectories):
        x, model, substeps = data.x, data.model, recorded_substeps(data.settings, None)
    arrays = x if isinstance(x, list) else [x]
    if not all(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays):
        return data, None, None, "--split-at-gaps/--cut-glitches: token paths have no gaps or glitches; nothing cut"
    runs = gap_runs("data", x)  # as split_at_gaps(x) finds them, cut again below with --cut-glitches
    found, n_glitched = runs.runs, 0
    if glitches:
        found, _, _, n_glitched = cut_glitched(runs)
    flag = "--cut-glitches" if glitches else "--split-at-gaps"
    if not runs.n_missing and not n_glitched:
        what = "missing (NaN) or glitched frames" if glitches else "missing (NaN) frames"
        return data, None, None, f"{flag}: no {what} in the file; nothing cut"
    note = (f"{flag}: {runs.n_missing} missing (NaN) frames" + (f" and {n_glitched} glitched" if glitches else "")
            + f"; the states cut there into {len(found)} tracks")
    scheme = data.settings.get("integrator") if isinstance(data, si.Trajectories) else None
    default = getattr(model, "default_integrator", None)
    if model is not None and scheme and default and scheme != default:
        note += (f"; the tracks do not carry the file's integrator ({scheme}): the truth σ_Δt is computed for the "
                 f"model's default ({default})")
    return found, model, substeps, note


def _interrupted_status(status: int, interrupted: bool, what: str | None = None) -> int:
    """Exit status 130 (as for SIGINT) when Ctrl-C cut the training (or, `what` says, what
    follows it) short, after the outputs were written: a script can tell a partial run from a
    finished one."""
    if status == 0 and interrupted:
        what = what or "training was interrupted (Ctrl-C); the outputs hold the best model reached"
        print(f"note: {what}. Exit status 130", file=sys.stderr)
        return 130
    return status


def infer(args) -> int:
    import stochinfer as si

    if args.validation == "out_of_bag" and (args.method != "ensemble" or args.refit):
        print("error: --validation out_of_bag needs --method ensemble and no --refit (out of bag, every row "
              "already trains)", file=sys.stderr)
        return 2
    if args.members is not None and (args.method != "ensemble" or args.members < 2):
        print("error: --members N needs --method ensemble and N >= 2", file=sys.stderr)
        return 2
    driving = [flag for flag, v in (("--period", args.period), ("--time-harmonics", args.time_harmonics),
                                    ("--t0", args.t0)) if v is not None]
    default_plot = (os.path.splitext(args.file)[0] + "_fields.png"
                    if args.plot is None and not args.no_plot and importlib.util.find_spec("matplotlib") is not None
                    else None)
    defaults = ({"the default figure": (default_plot, "or the figure's with --plot (or --no-plot)")}
                if default_plot else {})
    problem = (_number_problem(args) or _output_problem(args, ("--json", "--plot", "--save"), defaults)
               or _flag_problem(args, ("--hidden",))
               or (f"{' and '.join(driving)} {'needs' if len(driving) == 1 else 'need'} --time-dependent (time as "
                   "an input)"
                   if driving and not args.time_dependent else "")
               or ("--plot and --no-plot contradict each other; pass one" if args.plot and args.no_plot else "")
               or ("--ep is the EP rate of an overdamped equation (ΔS = Σ D⁻¹Φ·Δx); underdamped fits have none here"
                   if args.ep and args.regime == "underdamped" else ""))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    data = _states(args)
    if (problem := _file_dt(args, data)):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if not isinstance(data, si.Trajectories) and args.dt is None:
        print("error: --dt is required for plain arrays and tracks (time between consecutive points)",
              file=sys.stderr)
        return 2
    t0 = args.t0
    if isinstance(data, _Tracks) and data.t0 is not None and (args.time_dependent or np.ptp(data.t0) > 0):
        if not args.time_dependent:
            print(f"error: {args.file} holds start times (t0) for driven tracks: pass --time-dependent to use "
                  "them as the time input", file=sys.stderr)
            return 2
        if args.t0 is not None:
            print(f"error: --t0 and the t0 stored in {args.file} both give start times; drop --t0", file=sys.stderr)
            return 2
        t0 = data.t0
    print(f"stochinfer infer: {args.file}, {_describe(data)}, dt = {args.dt}, regime = {args.regime}, "
          f"method = {args.method}")
    options = {k: v for k, v in dict(hidden=args.hidden, n_members=args.members, val_fraction=args.val_fraction,
                                     measurement_noise=args.measurement_noise).items() if v is not None}
    if args.homogeneous_diffusion:
        options["homogeneous_diffusion"] = True
    if args.localisation_noise != "check":
        options["localisation_noise"] = args.localisation_noise
    if args.keep_glitches:
        options["glitches"] = "keep"
    if args.split_at_gaps:
        options["gaps"] = "split"
    t = time.perf_counter()
    fit = si.infer_langevin(data, args.dt, regime=args.regime, method=args.method, seed=args.seed,
                            time_dependent=args.time_dependent, period=args.period,
                            time_harmonics=args.time_harmonics, t0=t0, noiseless=args.noiseless,
                            noise_check=not args.no_noise_check,
                            refit=args.refit, validation=args.validation, drift_base=args.drift_base, **options)
    print(_in_cli_terms(fit.summary()))
    print(f"  ({time.perf_counter() - t:.1f} s)")
    out = {"summary": fit.summary(), "provenance": fit.provenance(), "notes": list(fit.notes)}
    if args.save:  # first: nothing after training may lose the fit
        args.written.append(fit.save(args.save))
        print(f"  fit saved to {args.written[-1]}")
    if args.json:  # the fields themselves: without a truth in the file, the only numbers to check
        out["fields_at_held_out_states"] = fit.held_out_fields()
    if fit.model is not None:
        try:
            truth = fit._check_truth(fit.model)
        except (TypeError, ValueError) as exc:  # e.g. overdamped data fitted as underdamped
            print(f"  not scored against the file's model: {exc}")
        else:
            rep = fit.report(truth)
            print(fit.format_report(rep))
            out["report"] = rep
    interrupted, what = fit.interrupted, None
    if args.ep:
        try:
            ep = _inferred_ep(fit)
        except KeyboardInterrupt:  # the fit and its report are still written, without the EP
            ep = None
        out["entropy_production"] = ep
        if ep is None or ep.get("interrupted"):  # Ctrl-C in the paths' simulation, or in the correction's
            what = None if fit.interrupted else "interrupted (Ctrl-C) during --ep; " + (
                "the outputs hold the fit without the EP rate" if ep is None else
                "its EP rate is not corrected for estimation noise")
            interrupted = True
    out["interrupted"] = bool(interrupted)  # Ctrl-C cut the training or --ep short
    plot_path = args.plot or default_plot  # fields with bands, by default
    return _interrupted_status(_write_outputs(args, out, fit.plot, plot_path), interrupted, what)


#: the inferred equation's paths for infer --ep: trajectories, steps of dt each, noise seed
EP_PATHS, EP_STEPS, EP_SEED = 100, 2000, 1


def _inferred_ep(fit) -> dict:
    """Prints and returns (for JSON) the EP rate of an overdamped fit's inferred equation along
    EP_PATHS paths of EP_STEPS steps from held-out states, corrected for the drift's estimation
    noise (LangevinFit.thermodynamics), beside the file's model's exact rate when it has one."""
    th = fit.thermodynamics(fit.simulate(EP_PATHS, EP_STEPS, seed=EP_SEED))
    line = f"  EP rate of the inferred equation: {th['ep_rate']:.4g} ± {th['error']:.2g} k_B per time unit"
    if "ep_rate_per_sample" in th:
        line += (f" (corrected for estimation noise; per posterior sample {th['ep_rate_per_sample']:.4g} ± "
                 f"{th['error_per_sample']:.2g})")
    print(line)
    if "note" in th:
        print(f"    note: {th['note']}")
    exact = getattr(fit.model, "ep_rate", None)
    if callable(exact) and not fit.time_dependent:
        try:
            value = float(exact())
        except (TypeError, ValueError, NotImplementedError):  # a model without a closed form
            value = None
        if value is not None:
            print(f"    the file's model: {value:.4g} (exact)")
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in th.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="stochinfer", description=__doc__)
    from . import __version__
    parser.add_argument("--version", action="version", version=f"stochinfer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="simulate built-in systems and compare with analytic truth")
    p_demo.add_argument("--quick", action="store_true", help="4x less data (faster, wider error bars)")
    p_ep = sub.add_parser("ep", help="estimate entropy production of trajectories in a file")
    p_ep.add_argument("file", help=".npz from simulate(...).save(); an .npz with arrays x and dt; .npy/.npz with one "
                      "(n_traj, L, dim) array (2-D: one trajectory (L, dim), or --scalar-paths); or an .npz of "
                      "several arrays: tracks of different lengths, (L_k, dim) or token paths (L_k,)")
    p_ep.add_argument("--dt", type=float, default=None, help="time between points, in the time unit of the results "
                      "(EP per that unit; read from Trajectories files; token paths without it: EP per step)")
    p_ep.add_argument("--scalar-paths", action="store_true",
                      help="read a 2-D float array as scalar paths (n_traj, L), not one trajectory (L, dim)")
    p_ep.add_argument("--method", default="neep", choices=["neep", "rneep", "cneep", "plugin", "tur"],
                      help="neep (default): neural estimator on transitions; rneep: token paths of a partially "
                           "observed chain, windows of --window tokens (a lower bound); cneep: movies (n_movies, "
                           "n_frames, height, width), with a dissipation map; plugin: empirical transition counts "
                           "(tokens, or binned states); tur: thermodynamic uncertainty relation lower bound")
    p_ep.add_argument("--window", type=int, default=None, help="RNEEP: tokens per window (default 32)")
    p_ep.add_argument("--split-at-gaps", action="store_true", help=GAPS_HELP)
    p_ep.add_argument("--cut-glitches", action="store_true",
                      help="also cut the trajectories at frames that look glitched (a jump far beyond the typical "
                           "increment and straight back; the estimators only warn on them otherwise)")
    p_ep.add_argument("--seed", type=int, default=0, help="seed of the data split and the training (default 0)")
    p_ep.add_argument("--hidden", type=int, default=None,
                      help="NEEP width (default 64; RNEEP 128; CNEEP: channels of the first block, default 32)")
    p_ep.add_argument("--layers", type=int, default=None,
                      help="NEEP hidden layers (default 3; CNEEP: convolution blocks, default 2)")
    p_ep.add_argument("--n-iter", type=int, default=None,
                      help="training updates (default NEEP 4000, RNEEP and CNEEP 3000)")
    p_ep.add_argument("--lr", type=float, default=None, help="learning rate (default NEEP 3e-3, RNEEP and CNEEP 1e-3)")
    p_ep.add_argument("--save-model", default=None, help="write the trained NEEP or CNEEP to this .npz")
    p_ep.add_argument("--plot", default=None, help="write a figure (PNG) here: training curve and per-transition EP "
                      "of neep, rneep, cneep (needs matplotlib)")
    p_ep.add_argument("--json", default=None, help="write the result summary as JSON here (NaN as null)")
    p_ep.add_argument("--positions-only", action="store_true",
                      help="underdamped files: estimate the EP visible in the positions alone")
    p_in = sub.add_parser("infer", help="infer drift and diffusion (with uncertainty) of trajectories in a file")
    p_in.add_argument("file", help=".npz from simulate(...).save(); an .npz with arrays x and dt; .npy/.npz with one "
                      "(n_traj, L, dim) array (2-D: one trajectory (L, dim), or --scalar-paths); or an .npz of "
                      "several arrays: tracks of different lengths (L_k, dim), as np.savez(FILE, *tracks) writes")
    p_in.add_argument("--dt", type=float, default=None, help="time between points, in the time unit of the fields "
                      "(drift per that unit; read from Trajectories files)")
    p_in.add_argument("--scalar-paths", action="store_true",
                      help="read a 2-D float array as scalar paths (n_traj, L), not one trajectory (L, dim)")
    p_in.add_argument("--regime", default="overdamped", choices=["overdamped", "underdamped"],
                      help="overdamped (default): the states' increments are driven by noise; underdamped: the "
                           "states are positions of inertial motion (velocities from finite differences)")
    p_in.add_argument("--method", default="bbb", choices=["bbb", "ensemble"],
                      help="bbb (default): Bayes-by-Backprop, Bayesian last layers with mean-field Gaussian "
                           "weights; ensemble: bootstrapped deep ensemble (--members), better-calibrated bands")
    p_in.add_argument("--hidden", type=int, default=None, help="network width (default 128)")
    p_in.add_argument("--members", type=int, default=None,
                      help="ensemble members (--method ensemble; default 5; 20 with --validation out_of_bag gave "
                           "the most accurate nonlinear-system drift measured, four times the training)")
    p_in.add_argument("--time-dependent", action="store_true", help="time as an input (driven systems)")
    p_in.add_argument("--period", type=float, default=None,
                      help="period of the driving (time unit of the data; with --time-dependent): time enters "
                           "as cos and sin of 2πht/period (see --time-harmonics)")
    p_in.add_argument("--time-harmonics", type=int, default=None, metavar="K",
                      help="with --period: cos and sin of 2πht/period for h = 1 … K (default 3)")
    p_in.add_argument("--t0", type=float, default=None,
                      help="with --time-dependent, for plain arrays and tracks: the time of every trajectory's "
                           "first point (default 0; an .npz of tracks may hold an array t0, one per track)")
    p_in.add_argument("--noiseless", type=int, nargs="+", default=(), metavar="I",
                      help="coordinates without noise (e.g. 0 for a Hodgkin-Huxley voltage): zero rows of D")
    p_in.add_argument("--no-noise-check", action="store_true",
                      help="fit coordinates whose increments look smooth (a strong drift over weak noise) instead "
                           "of refusing them as noiseless")
    p_in.add_argument("--refit", action="store_true",
                      help="retrain on training + validation rows for the validated number of updates")
    p_in.add_argument("--validation", default="split", choices=["split", "out_of_bag"],
                      help="how the drift networks choose checkpoints: on held-out rows (split: the last 20%% "
                           "of the time, or of the trajectories with --time-dependent), or, with --method "
                           "ensemble, on each member's out-of-bag blocks (every row trains)")
    p_in.add_argument("--drift-base", default="linear", choices=["linear", "quadratic", "cubic", "auto", "none"],
                      help="polynomial the drift networks start from (cubic: forces close to a low-order "
                           "polynomial, e.g. oscillators)")
    p_in.add_argument("--homogeneous-diffusion", action="store_true",
                      help="a constant diffusion matrix (a learned constant, no input): when D is known not to "
                           "depend on the state")
    p_in.add_argument("--val-fraction", type=float, default=None, metavar="F",
                      help="fraction held out for validation (default 0.2: the last 20%% of the time, or of the "
                           "trajectories or tracks, held out whole, with --time-dependent and for short tracks)")
    p_in.add_argument("--localisation-noise", default="check", choices=["check", "robust"],
                      help="check (default): warn when the positions carry measurement noise; robust "
                           "(overdamped): labels the noise does not bias (a lagged input, the Vestergaard "
                           "diffusion label), at an O(dt) drift bias three times the default's")
    p_in.add_argument("--ep", action="store_true",
                      help="also the entropy production rate of the inferred (overdamped) equation: 100 paths of "
                           "2000 steps per posterior sample from held-out states, corrected for the drift's "
                           "estimation noise (twice the simulation); printed and in --json")
    p_in.add_argument("--keep-glitches", action="store_true",
                      help="train on points that look like glitched frames (a jump far beyond the typical "
                           "increment and straight back; named in a warning); by default the rows that use them "
                           "are left out")
    p_in.add_argument("--split-at-gaps", action="store_true", help=GAPS_HELP)
    p_in.add_argument("--measurement-noise", type=float, default=None, metavar="SIGMA",
                      help="add Gaussian position noise of this std (position unit) before fitting: robustness "
                           "studies")
    p_in.add_argument("--seed", type=int, default=0,
                      help="seed of the initialisation, minibatches and posterior samples (default 0)")
    p_in.add_argument("--plot", default=None, help="write the figure of the fields with bands (PNG) here "
                      "(default, when matplotlib is installed: FILE_fields.png next to the input)")
    p_in.add_argument("--no-plot", action="store_true", help="write no figure")
    p_in.add_argument("--json", default=None, help="write the summary, the fields (mean, std, 95%% band) at up to "
                      "1000 held-out states and the report (files with a model) as JSON here (NaN as null)")
    p_in.add_argument("--save", default=None, help="write the fit to this .npz (LangevinFit.load reads it)")
    args = parser.parse_args(argv)
    args.written = []  # output files written so far (named if Ctrl-C stops the rest)
    # warnings printed as one line; recorded ones (e.g. by pytest) are untouched
    formatwarning, warnings.formatwarning = warnings.formatwarning, _format_warning
    try:
        if args.command == "demo":
            return demo(quick=args.quick)
        if not os.path.exists(args.file) and os.path.exists(args.file + ".npz"):
            args.file += ".npz"  # as save() names it and Trajectories.load finds it
        return {"ep": ep, "infer": infer}[args.command](args)
    except (ValueError, TypeError, OSError, FloatingPointError) as exc:  # FloatingPointError: training diverged
        print(f"error: {_in_cli_terms(_as_flag(str(exc), args, sys.argv[1:] if argv is None else argv))}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # after a validated model, training returns it and the outputs are written
        if args.command == "demo":
            print("\ndemo interrupted (Ctrl-C). Exit status 130", file=sys.stderr)
        elif args.written:
            print(f"interrupted (Ctrl-C) after writing {', '.join(args.written)}; the other outputs were not "
                  "written. Exit status 130", file=sys.stderr)
        else:
            print("interrupted (Ctrl-C) before a model was kept: no output written by then. Exit status 130",
                  file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = formatwarning


#: library arguments the command line passes under another flag's name
_FLAG_OF_ARGUMENT = {"ep": {"n_channel": "--hidden", "n_layer": "--layers"}, "infer": {"n_members": "--members"}}


def _as_flag(message: str, args, typed) -> str:
    """A library error that starts with the name of an argument whose flag was typed
    ('seed must be >= 0' after --seed -1), reworded with that flag ('--seed must be >= 0').
    Messages about the input file (which may be called 'seed') are left alone."""
    match = re.match(r"(\w+)(?=[ :=])", message)
    if not match or message.startswith(f"{getattr(args, 'file', None)}:"):
        return message
    name = match.group(1)
    flag = _FLAG_OF_ARGUMENT.get(getattr(args, "command", None), {}).get(name, "--" + name.replace("_", "-"))
    # typed in full, with =value, or abbreviated as argparse allows (it refused ambiguous prefixes)
    typed_options = [t.split("=", 1)[0] for t in map(str, typed) if t.startswith("--") and len(t) > 3]
    if not any(flag.startswith(t) for t in typed_options):
        return message
    return flag + message[len(name):]


#: the library's advice in the command line's terms
_CLI_ADVICE = {"pass gaps='split' to cut": "pass --split-at-gaps to cut",
               "stochinfer.split_at_gaps(data, glitches='cut') cuts the trajectories there into a list of tracks, "
               "which they take": "pass --cut-glitches to cut the trajectories there",
               "stochinfer.split_at_gaps(data) cuts the trajectories there into a list of tracks, which the "
               "estimators take": "pass --split-at-gaps to cut the trajectories there into tracks",
               "gaps='split': ": "--split-at-gaps: ",
               "pass t0= (a scalar or one start time per trajectory)": "pass --t0 (or store t0 in the .npz)",
               "pass t0= (a scalar or one start time per track)": "pass --t0 (or store t0 in the .npz)",
               ": convert it with data.astype(float)": ": integer arrays are token paths or movie frames (stochinfer "
                                                       "ep); store positions as floats",
               "pass method='cneep'": "pass --method cneep",
               "x[:, ::n], with dt=": "every n-th point of each trajectory, with --dt ",
               "(x[:, ::n])": "(every n-th point)",
               "(glitches='keep' keeps them)": "(--keep-glitches keeps them)",
               "kept (glitches='keep')": "kept (--keep-glitches)",
               "or pass glitches='drop'": "or leave out --keep-glitches",
               "(glitches='drop')": "(the default; --keep-glitches keeps them)",
               "pass glitches='drop' (the default) or remove them": "leave out --keep-glitches, or remove them",
               "pass more data, or glitches='keep'": "pass more data, or --keep-glitches",
               "pass data[None, :, None] (shape (1, L, 1))": "store it as (L, 1), or scalar paths (n_traj, L) with "
                                                             "--scalar-paths",
               "lower hidden, layers, batch or embed_dim": "lower --hidden or --layers",
               "use a NEEP estimator (or lower n_bins / raise max_cells)": "use --method neep",
               "pass them as floats: x.astype(float); integer frames of one movie? pass method='cneep'":
                   "store them as floats; integer frames of one movie? pass --method cneep",
               "(refit=True): scores on them are in-sample; pass independent points for held-out scores":
                   "(--refit): scores on them are in-sample; for held-out scores, score the saved fit (--save) on "
                   "independent states with LangevinFit.report",
               "pass independent points for held-out scores, or fit with validation='split'":
                   "for held-out scores, score the saved fit (--save) on independent states with LangevinFit.report, "
                   "or use --validation split"}


GAPS_HELP = ("frames with a NaN are missing (a lost particle): cut the trajectories there into tracks of the "
             "recorded frames; by default NaN is an error")


def _in_cli_terms(text: str) -> str:
    for advice, flag in _CLI_ADVICE.items():
        text = text.replace(advice, flag)
    return text


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """A warning on the command line: one 'warning: ...' line, without Python's file,
    line number and source line (which name our code, not the user's input)."""
    return f"warning: {_in_cli_terms(str(message))}\n"


if __name__ == "__main__":
    sys.exit(main())
