"""NEEP: neural estimator of entropy production (Kim et al., PRL 125, 140604
(2020); methods.md §1). The network, loss, sampler and optimiser run in the
compiled core; this module validates input, splits the data, drives training
and reports the estimate with its error bar."""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict
from typing import Any, Optional

import numpy as np

from .. import _core
from .._io import atomic_savez, load_versioned
from .._pieces import ragged_segments
from .._stats import welch_dof
from .._validate import (boolean, check_output_fits, momentum_value, positive_float, positive_int, same_interval,
                         seed_value, thread_count, user_stacklevel)
from ..train import (Resetting, ScheduledStep, check_batch_size, network_state, refuse_patience_with_resetting,
                     resetting_option, run_training, saved_settings_without_ignored_patience, set_network_state)
from . import readout
from .data import EPData, _partially_observed, as_ep_data, model_truth, truth_delta_s
from .result import EPResult
from .splits import Split, split_fractions, three_way_split

FORMAT_VERSION = 1
#: read-out windows (transitions for NEEP) each part of the split must hold: a rate and its error bar
MIN_WINDOWS = 10
#: gradient group accumulators of the compiled training loop (nn::GroupedGradient::kGroups)
GRADIENT_GROUPS = 16
#: token labels beyond which a sparse labelling (largest label > 10x the distinct ones) warns
SPARSE_LABELS_FROM = 1000
#: what fit() sets besides the networks: restored when a fit fails
_FITTED_STATE = ("dt", "tokens", "shift", "scale", "_state_dim", "_n_tokens", "net", "members", "result_")
_ACTIVATIONS = ("relu", "elu", "tanh", "softplus", "silu")
_CONFIG_KEYS = ("hidden", "layers", "activation", "lr", "lr_schedule", "weight_decay", "decoupled_weight_decay", "batch",
                "n_iter", "eval_every", "patience", "standardize", "embed_dim", "dtype", "split",
                "val_max_transitions", "resetting", "optimizer", "momentum")
#: settings added after the first saved files: their value when a file lacks them
_LATER_KEYS = {"resetting": None, "optimizer": "adam", "momentum": 0.9}


class NEEP:
    """Neural estimator of entropy production from transitions (continuous states
    or discrete tokens).

    An MLP h(s, s') of `layers` hidden layers of width `hidden` scores ordered pairs;
    ΔS = h(s, s') − h(s', s) is the stochastic EP (k_B) of the transition s → s'.
    Training minimises mean(e^{−ΔS} − ΔS) with Adam on minibatches of `batch`
    transitions drawn uniformly with replacement; the checkpoint with the lowest
    validation loss is kept and the rate is read out on the test set.

    Defaults (ours, chosen by measurement, bench/RESULTS.md): 3 x 64 SiLU, Adam lr 3e-3
    with cosine decay, 4000 updates of 4096 transitions, evaluation every 500,
    z-scored input. Smooth activations fit the (locally quadratic) stochastic EP far
    better than ReLU: on bead-spring N = 5, R² 0.995 vs 0.92 at equal updates. The
    paper's reference configuration is hidden=256, layers=3, activation='relu',
    lr=1e-4, lr_schedule='constant', weight_decay=5e-5, decoupled_weight_decay=False,
    batch=4096, 50 000 updates, standardize=False.

    Parameters
    ----------
    hidden, layers: network width and number of hidden layers.
    activation: 'relu' (reference), 'elu', 'tanh', 'softplus' or 'silu'.
    lr, weight_decay: Adam learning rate and weight decay; decoupled_weight_decay=True
    (default) is AdamW, False the reference's L2 term in the gradient, which shrinks ΔS
    and biased the bead-spring rate low by 0.5% in our runs.
    optimizer: 'adam' (default) or 'sgd' (with `momentum`, torch.optim.SGD's update;
    weight_decay is then an L2 term in the gradient; needs a larger lr than Adam).
    lr_schedule: 'cosine' (decay to lr/100 over n_iter; averages out minibatch noise
    in the read-out) or 'constant' (the reference).
    batch: transitions per update (drawn with replacement; at most 1000× the training
    transitions).  n_iter: updates.  eval_every: updates between
    validation checks.  patience: stop when the validation loss has not improved
    for this many updates (None: never).
    resetting: stochinfer.Resetting, stochastic resetting to the best checkpoint
    once the validation loss stalls (methods.md §4; patience then does not apply);
    None: off.
    standardize: z-score each state component with training-set statistics
    (continuous states; applied while reading, the data are not copied).
    embed_dim: embedding width for token data.
    dtype: network precision, 'float32' or 'float64'.
    split: train/validation/test fractions (by trajectory when there are >= 3).
    val_max_transitions: cap on validation transitions scored at each check (a
    fixed subset of whole validation segments; the test read-out always uses all).
    record_test: also score the test set at each check (training curves,
    benchmarks; never used for selection).
    n_threads: CPU threads (None: all). Results do not depend on it.
    progress: progress bar (None: only on an interactive terminal; needs tqdm).
    """
    _method, _kind, _window = "neep", "estimate", 2
    _points = "points"  # what a path is made of (CNEEP: frames)
    _config_keys = _CONFIG_KEYS
    _fitted_state = _FITTED_STATE

    def __init__(self, hidden: int = 64, layers: int = 3, *, activation: str = "silu", lr: float = 3e-3,
                 lr_schedule: str = "cosine", weight_decay: float = 5e-5,
                 decoupled_weight_decay: bool = True, batch: int = 4096,
                 n_iter: int = 4000, eval_every: int = 500, patience: Optional[int] = None,
                 standardize: bool = True, embed_dim: int = 128, dtype: str = "float32",
                 split=(0.6, 0.2, 0.2), val_max_transitions: int = 10**6, record_test: bool = False,
                 n_threads: Optional[int] = None, progress: Optional[bool] = None,
                 resetting: Optional[Resetting] = None, optimizer: str = "adam", momentum: float = 0.9):
        self.hidden = positive_int("hidden", hidden)
        self.layers = positive_int("layers", layers)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(_ACTIVATIONS)}; got {activation!r}")
        self.activation = activation
        self.lr = positive_float("lr", lr)
        if lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
        self.lr_schedule = lr_schedule
        self.weight_decay = positive_float("weight_decay", weight_decay, allow_zero=True)
        self.decoupled_weight_decay = boolean("decoupled_weight_decay", decoupled_weight_decay)
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
        self.optimizer = optimizer
        self.momentum = momentum_value(momentum)
        self.batch = positive_int("batch", batch)
        if self.batch > 2**31 - 1:
            raise ValueError(f"batch must be <= {2**31 - 1}, got {self.batch}")
        self.n_iter = positive_int("n_iter", n_iter)
        self.eval_every = positive_int("eval_every", eval_every)
        self.patience = None if patience is None else positive_int("patience", patience)
        self.resetting = resetting_option(resetting)  # a dict as save() writes it, too
        refuse_patience_with_resetting(self.patience, self.resetting)
        self.standardize = boolean("standardize", standardize)
        self.embed_dim = positive_int("embed_dim", embed_dim)
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = dtype
        self.split = split_fractions(split)
        self.val_max_transitions = positive_int("val_max_transitions", val_max_transitions)
        self.record_test = boolean("record_test", record_test)
        self.n_threads = thread_count(n_threads)
        self.progress = None if progress is None else boolean("progress", progress)
        self.net = None          # compiled network after fit/load (the first of self.members)
        self.members = []        # every network of fit(n_seeds=K); delta_s averages them
        self.dt = None
        self.tokens = None
        self.shift = self.scale = None
        self.result_: Optional[EPResult] = None
        self._state_dim, self._n_tokens = None, 0

    # ---- configuration -------------------------------------------------------
    def settings(self) -> dict:
        """Every option that changes the numbers."""
        out = {k: getattr(self, k) for k in self._config_keys}
        out["resetting"] = None if self.resetting is None else asdict(self.resetting)
        return out

    def _new_net(self, d: EPData, seed: int):
        n_tokens = int(d.data.max()) + 1 if d.tokens else 0
        if n_tokens > SPARSE_LABELS_FROM:
            n_seen = int(np.unique(d.data).size)
            if n_tokens > 10 * n_seen:
                warnings.warn(f"data: token labels reach {n_tokens - 1} but only {n_seen} distinct ones occur; the "
                              f"embedding has a row per label up to the largest (memory and time grow with it): "
                              "relabel the states 0, 1, ... first (np.unique(data, return_inverse=True))",
                              UserWarning, stacklevel=user_stacklevel())
        if d.tokens and d.model is not None and getattr(d.model, "n_states", 0) > n_tokens:
            n_tokens = int(d.model.n_states)
        self._state_dim, self._n_tokens = d.dim, n_tokens
        return self._build_net(seed)

    def _check_size(self, n_params: int, hint: str, workspace: int = 0) -> None:
        """Parameters, gradients, Adam moments, checkpoints (fewer than 8 copies), the
        gradient's group accumulators and per-thread scratch (16 + threads copies:
        nn::GroupedGradient), each worker's activations (`workspace` values, from the core:
        a chunk of items through every layer, whatever the batch) and minibatch activations
        (4 rows per batch element): refused before the C++ core allocates them. (With 8
        copies counted, sparse token labels up to 3·10⁶ passed the check and grew towards
        25 GB: user trial, session 27; without the workspace, 10⁶ layers of width 2 at batch
        16 passed and grew to 24 GB: review, session 30.)"""
        threads = self.n_threads or os.cpu_count() or 1
        copies = 8 + GRADIENT_GROUPS + threads
        check_output_fits((copies * n_params + threads * workspace
                           + 4 * self.batch * self.hidden * max(self.layers, 1),), self.dtype, hint)

    def _build_net(self, seed: int):
        cls = _core.NeepModel32 if self.dtype == "float32" else _core.NeepModel64
        embed = self.embed_dim if self._n_tokens else 0
        width_in = 2 * (self._state_dim + embed)
        self._check_size(self._n_tokens * embed + width_in * self.hidden + self.layers * self.hidden ** 2,
                         "lower hidden, layers, batch or embed_dim (or the largest token label)",
                         cls.workspace_values(state_dim=self._state_dim, n_tokens=self._n_tokens, embed_dim=embed,
                                              n_states=2, hidden=self.hidden, n_layers=self.layers,
                                              activation=self.activation))
        return cls(state_dim=self._state_dim, n_tokens=self._n_tokens,
                   embed_dim=embed, n_states=2, hidden=self.hidden,
                   n_layers=self.layers, activation=self.activation, seed=int(seed), n_threads=self.n_threads)

    def _input_transform(self, d: EPData, segments: np.ndarray):
        if d.tokens or not self.standardize:
            return None, None
        # two passes, per segment (no copy of the training set): the one-pass E[x²] − E[x]² loses
        # every digit of the spread when the data sit far from 0 (lab-frame coordinates)
        s1, s2, n = np.zeros(d.dim), np.zeros(d.dim), 0
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused just below
            for traj, b, e in segments:
                s1 += d.data[traj, b:e].sum(0, dtype=np.float64)
                n += e - b
            mean = s1 / n
            for traj, b, e in segments:
                s2 += np.square(d.data[traj, b:e].astype(np.float64) - mean).sum(0)
            std = np.sqrt(s2 / n)
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise ValueError("data: values too large to standardise (their mean or spread overflows double "
                             "precision); rescale the data")
        flat = ~(std > 1e-300)  # 1/std would be inf: constant, or a spread below double precision's range
        if np.any(flat):
            raise ValueError(f"data: component(s) {np.flatnonzero(flat).tolist()} are constant over the "
                             "training set; drop them or pass standardize=False")
        return mean, 1.0 / std

    # ---- hooks a subclass for other data (CNEEP: movies) replaces ---------------
    def _as_data(self, data, dt, model, substeps) -> EPData:
        return as_ep_data(data, dt, model, substeps)

    @staticmethod
    def _set_transform(net, shift, scale) -> None:
        if shift is not None:
            net.set_input_transform(np.asarray(shift).tolist(), np.asarray(scale).tolist())

    def _truth_delta_s(self, d: EPData, segments: np.ndarray):
        """Analytic ΔS of the read-out items of the segments, or None."""
        return truth_delta_s(d, segments) if self._window == 2 else None

    def _trained_input(self, data) -> EPData:
        """New data for a trained estimator: recorded at its dt (ΔS of a transition depends on
        the interval) and of the kind it was trained on."""
        given = getattr(data, "dt", None)
        if given is not None and not same_interval(given, self.dt):
            raise ValueError(f"data: recorded at dt={given}, but this estimator was trained on transitions "
                             f"dt={self.dt} apart (the EP of a transition depends on the interval): train one "
                             "on data at this dt")
        d = self._as_data(data, self.dt, None, None)
        self._check_trained_input(d)
        return d

    def _check_trained_input(self, d: EPData) -> None:
        """New data for a trained estimator must be of the kind it was trained on: tokens it
        has embeddings for, paths at least one read-out window long (RNEEP), states of its
        dimension."""
        if d.tokens != self.tokens:
            raise ValueError("data: this estimator was trained on " + ("tokens" if self.tokens else "real states"))
        if d.tokens and d.data.size and int(d.data.max()) >= self._n_tokens:
            raise ValueError(f"data: token label {int(d.data.max())} is beyond the {self._n_tokens} labels (0 … "
                             f"{self._n_tokens - 1}) this estimator was trained on; it has no embedding for it: "
                             "train on data that visit every label")
        if d.length < self._window:
            raise ValueError(f"data: paths of {d.length} points are shorter than one read-out window "
                             f"({self._window} points)")

    def _net_config(self) -> dict:
        """What save() records to rebuild the networks."""
        return {"state_dim": self._state_dim, "n_tokens": self._n_tokens}

    def _restore_net_config(self, cfg: dict) -> None:
        self._state_dim, self._n_tokens = cfg["state_dim"], cfg["n_tokens"]

    # ---- fitting --------------------------------------------------------------
    def fit(self, data: Any, dt: Optional[float] = None, *, seed: int = 0, model: Optional[Any] = None,
            substeps: Optional[int] = None, n_seeds: int = 1) -> EPResult:
        """Train on `data` and estimate the EP rate on held-out data.

        data: Trajectories from stochinfer.simulate, a float array (n_traj, L, dim)
        (or (L, dim) for one trajectory), or integer token paths (n_traj, L).
        dt: time between consecutive points (taken from Trajectories; 1 for tokens,
        giving EP per step). model: the generating built-in model, if known, for
        the truth (taken from Trajectories); substeps: integration substeps of the
        data (for σ_Δt). seed: keys the split, weight init and minibatches.
        n_seeds: K > 1 trains an ensemble of K networks (seeds seed .. seed+K−1) on
        the same split; the rate uses their mean ΔS, the seed spread is reported, and
        the standard error adds spread²/K to the test-set sampling variance. With one
        network the error bar is the test-set sampling error alone and misses the
        optimisation noise (see bench/RESULTS.md, coverage).

        Returns an EPResult (rate in k_B per unit time, or per step for tokens).
        """
        d = data if isinstance(data, EPData) else self._as_data(data, dt, model, substeps)  # EPData: a subclass's
        n_seeds = positive_int("n_seeds", n_seeds)
        seed = seed_value("seed", seed)
        if seed + n_seeds > 2**64:
            raise ValueError(f"seed + n_seeds must be <= 2**64, got {seed} + {n_seeds}")
        split = three_way_split(d.n_traj, d.length, self.split, seed=seed)
        w, parts = self._window, ("train", "val", "test")
        lengths = {p: getattr(split, p)[:, 2] - getattr(split, p)[:, 1] for p in parts}
        for part in parts:  # RNEEP reads windows inside each segment
            if (lengths[part] < w).any():
                raise ValueError(f"data: the {split.kind.replace('_', ' ')} split leaves {part} segments of "
                                 f"fewer than window={w} points; pass longer or more paths, or a "
                                 "smaller window")
        for part in parts:
            n_windows = int(((lengths[part] - w) // (w - 1) + 1).sum())  # read out with stride window − 1
            if n_windows < MIN_WINDOWS:
                raise ValueError(f"data: the {split.kind.replace('_', ' ')} split leaves {n_windows} window(s) of "
                                 f"{w} points in the {part} part (need at least {MIN_WINDOWS} for a rate and its "
                                 "error bar); pass longer or more paths, or a smaller window")
        n_train = int((lengths["train"] - w + 1).sum())  # the items training draws from (stride 1)
        check_batch_size(self.batch, n_train,
                         "transitions" if w == 2 and self._points == "points" else f"windows of {w} {self._points}")
        # a fit that fails (divergence, Ctrl-C before any evaluation) leaves the previous fit whole: its
        # weights stay consistent with its dt, input transform and sizes (save() writes them together)
        previous = {k: getattr(self, k, None) for k in self._fitted_state}
        try:
            members, fits = self._train_members(d, split, seed, n_seeds)
            self.net, self.members = members[0], members
            self.result_ = self._read_out(d, split, members, fits, model_truth(d), seed)
        except BaseException:
            for k, v in previous.items():
                setattr(self, k, v)
            raise
        return self.result_

    def _train_members(self, d: EPData, split: Split, seed: int, n_seeds: int) -> tuple:
        """Trains the n_seeds networks (seeds seed, seed + 1, ...). Ctrl-C ends the
        ensemble: the member in training keeps its best model (or is dropped when it
        had no evaluation yet) and the members not started are not trained. A member
        whose training diverges without a usable model ends it the same way (the first
        one raises): the finished members are kept, with a warning and a note."""
        self.dt, self.tokens = d.dt, d.tokens
        self.shift, self.scale = self._input_transform(d, split.train)
        val = _cap_segments(split.val, max(self.val_max_transitions, self._window - 1))  # one window at least
        members, fits = [], []
        for k in range(n_seeds):
            try:  # building the network counts too: Ctrl-C there keeps the finished members
                net = self._new_net(d, seed + k)
                self._set_transform(net, self.shift, self.scale)
                fit = self._train(net, d, split, val, seed + k)
                _refuse_diverged_without_a_usable_model(fit, type(self).__name__, seed + k, self.lr)
                _warn_worse_than_no_model(fit, type(self).__name__, seed + k, d.notes)
            except KeyboardInterrupt:
                if not members:
                    raise
                warnings.warn(f"interrupted before seed {seed + k} was first evaluated: the ensemble keeps the "
                              f"{len(members)} finished member(s) of {n_seeds}", stacklevel=3)
                fits[-1] = dict(fits[-1], interrupted=True)
                break
            except FloatingPointError as exc:
                if not members:
                    raise
                what = f"seed {seed + k} diverged without a usable model; the ensemble keeps the {len(members)} " \
                       f"finished member(s) of {n_seeds} (lower the learning rate, lr={self.lr})"
                warnings.warn(f"{what}: {exc}", RuntimeWarning, stacklevel=3)
                d.notes.append(what)
                break
            members.append(net)
            fits.append(fit)
            if fit["interrupted"] and k + 1 < n_seeds:
                warnings.warn(f"interrupted: the ensemble keeps {len(members)} member(s) of {n_seeds}",
                              stacklevel=3)
                break
        return members, fits

    def _train(self, net, d: EPData, split: Split, val: np.ndarray, seed: int) -> dict:
        if self.optimizer == "sgd":
            def block(k, lr):
                return net.train_sgd(d.data, split.train, k, self.batch, lr, self.momentum, 0.0, self.weight_decay,
                                     False, seed)
        else:
            def block(k, lr):
                return net.train(d.data, split.train, k, self.batch, lr, 0.9, 0.999, 1e-8, self.weight_decay,
                                 self.decoupled_weight_decay, seed)
        step = ScheduledStep(block, self.lr, self.lr_schedule, self.n_iter)

        def evaluate():
            out = {"val_loss": readout.neep_loss(net.delta_s(d.data, val))}
            if self.record_test:
                ds = net.delta_s(d.data, split.test)
                out["test_loss"] = readout.neep_loss(ds)
                out["test_rate"] = readout.mean_rate(ds, d.dt * (self._window - 1))
            return out

        return run_training(step, evaluate, lambda: network_state(net), lambda st: set_network_state(net, st),
                            self.n_iter, self.eval_every, self.patience,
                            self.progress, desc="NEEP", resetting=self.resetting, seed=seed)

    def _test_delta_s(self, members, data, segs: np.ndarray):
        """(each network's ΔS of the test segments, the ensemble's, the dissipation map or
        None): the read-out's one pass over the test windows (CNEEP takes its map in it)."""
        return (*_ensemble_delta_s(members, data, segs), None)

    def _read_out(self, d: EPData, split: Split, members, fits, truth: dict, seed: int) -> EPResult:
        per_member, ds, dissipation_map = self._test_delta_s(members, d.data, split.test)
        self._refuse_non_finite_delta_s(d, ds, " on the test set")
        item_dt = d.dt * (self._window - 1)  # time spanned by one ΔS item
        parts = readout.per_segment(ds, split.test, self._window)
        rate = readout.mean_rate(ds, item_dt)
        if len(parts) < 3:  # one or two test segments: their spread would have 0 or 1 dof; their blocks
            se, n_blocks = readout.block_stderr(parts, item_dt)
            se_method = f"block means ({n_blocks} blocks" + (f" in {len(parts)} segments" if len(parts) > 1
                                                             else "") + ", extrapolated in block length)"
            dof = readout.block_stderr_dof(n_blocks)
        else:
            se = readout.rate_stderr(parts, item_dt)
            what = "test trajectories" if split.kind == "trajectory" else "segments"
            se_method = f"spread over {len(parts)} {what}"
            dof = len(parts) - 1
        seed_rates = [readout.mean_rate(p, item_dt) for p in per_member] if len(members) > 1 else None
        if seed_rates:  # optimisation noise of the ensemble mean: most of the estimator's own error
            v_seed = np.var(seed_rates, ddof=1) / len(seed_rates)
            dof = welch_dof([se**2, v_seed], [dof, len(seed_rates) - 1])
            se = float(np.sqrt(se**2 + v_seed))
            se_method += f" + seed spread / sqrt({len(seed_rates)})"
        test_loss = readout.neep_loss(ds)
        self._warn_fluctuation_theorem(item_dt, rate, se, (1.0 - test_loss) / item_dt)
        ds_truth = self._truth_delta_s(d, split.test)
        r2 = readout.r_squared(ds, ds_truth) if ds_truth is not None else None
        if ds_truth is not None:  # the truth on these very transitions: separates estimator from sampling error
            truth = dict(truth, test_set_rate=readout.mean_rate(ds_truth, item_dt))
        settings = self.settings()
        settings.update(seed=seed, n_seeds=len(members), split=dict(split.describe(), fractions=list(self.split)),
                        stderr_method=se_method,
                        n_threads=self.n_threads or None, iterations=[f["iterations"] for f in fits],
                        best_iteration=[f["best"]["iteration"] for f in fits],
                        resets=[f.get("resets") for f in fits] if self.resetting is not None else None,
                        interrupted=any(f["interrupted"] for f in fits),
                        diverged=any(f.get("diverged", False) for f in fits), notes=list(d.notes),
                        train_s=sum(f["train_s"] for f in fits), eval_s=sum(f["eval_s"] for f in fits),
                        standardize_shift=None if self.shift is None else self.shift.tolist(),
                        standardize_scale=None if self.scale is None else self.scale.tolist(),
                        isa=_core.nn_isa())
        kind = self._kind
        if self._window == 2 and d.tokens and _partially_observed(d):
            kind = "bound"  # pairs of coarse-grained states bound the EP from below
            settings["notes"].append("coarse-grained token paths: pairs give a lower bound on the EP; RNEEP "
                                     "(method='rneep') reads longer windows")
        if self._window > 2 and "optimal_loss" in truth:  # one ΔS item spans window − 1 steps
            truth = dict(truth, optimal_loss=1.0 - (self._window - 1) * (1.0 - truth["optimal_loss"]))
        return EPResult(
            rate=rate, stderr=se, method=self._method, kind=kind, dt=d.dt,
            units="k_B/step" if d.tokens and d.dt == 1.0 else "k_B/time", window=self._window,
            rate_regression=readout.regression_rate(parts, item_dt), bound=(1.0 - test_loss) / item_dt,
            test_loss=test_loss, r2=r2, delta_s=ds, delta_s_truth=ds_truth, test_segments=split.test,
            truth=truth, seed_rates=seed_rates, dof=float(dof) if dof and dof > 0 else None,
            history=fits[0]["history"], settings=settings, estimator=self, dissipation_map=dissipation_map)

    @staticmethod
    def _warn_fluctuation_theorem(item_dt: float, rate: float, stderr: float, bound: float) -> None:
        """Warns when the read-out rate exceeds the variational bound by more than 20% of the
        rate and 4 of its standard errors. The gap rate − bound is (⟨e^{−ΔS}⟩ − 1)/Δt over
        the test items, 0 in expectation for the exact ΔS (the integral fluctuation theorem,
        which the optimum of the NEEP loss satisfies too); a large positive one means a few
        transitions with strongly negative ΔS (inf where e^{−ΔS} overflows). The gap's own
        standard error is useless here: the few transitions that make it large make its
        spread larger still. (User trial, session 27: 73.5 ± 5.9 against an exact 56.7,
        bound 9.6, one held-out ΔS of 155 k_B, without a word; two other seeds: gaps of 11%.)"""
        gap = rate - bound
        if not np.isfinite(gap) or (gap > 4 * stderr and gap > 0.2 * abs(rate)):
            warnings.warn(f"the network's ΔS violates the integral fluctuation theorem on the test transitions: "
                          f"⟨e^(−ΔS)⟩ − 1 = {gap * item_dt:.3g} (0 for an accurate ΔS), so the read-out rate "
                          f"{rate:.4g} exceeds the variational bound {bound:.4g}: the kept network's ΔS is far from the "
                          "true one (a few strongly negative values, a network blown up on rare transitions, or "
                          "noise) and the rate is unreliable. Refit with another seed or n_seeds=4, a lower lr, "
                          "more updates or more data", UserWarning, stacklevel=user_stacklevel())

    # ---- using a trained estimator ---------------------------------------------
    def delta_s(self, data: Any) -> np.ndarray:
        """Stochastic EP (k_B) of every transition of new data with the trained
        network(s): (n_traj, L − 1) float64 (RNEEP: of every read-out window). After
        fit(n_seeds=K), the mean of the K networks' ΔS, as the fit's own read-out."""
        if self.net is None:
            raise RuntimeError("NEEP is not trained: call fit() or NEEP.load() first")
        if ragged_segments("data", data) is not None:  # its rows would be pieces, not the tracks
            raise ValueError("data: delta_s takes trajectories of one length, (n_traj, L, dim); for tracks of different "
                             "lengths call it on each track, e.g. [est.delta_s(x[None]) for x in tracks]")
        d = self._trained_input(data)
        segs = np.array([[m, 0, d.length] for m in range(d.n_traj)], dtype=np.int64)
        ds = _ensemble_delta_s(self.members or [self.net], d.data, segs)[1].reshape(d.n_traj, -1)
        self._refuse_non_finite_delta_s(d, ds, "")
        return ds

    def _refuse_non_finite_delta_s(self, d: EPData, ds: np.ndarray, where: str) -> None:
        """A NaN or inf ΔS is the network's arithmetic overflowing on values far outside the
        training data (e.g. 1e39 beyond float32): a ValueError naming the data, not garbage."""
        ok = np.isfinite(ds)
        if ok.all():
            return
        reach = ""
        if not d.tokens and d.data.size:
            reach = f"; the values reach {max(abs(float(d.data.max())), abs(float(d.data.min()))):.3g}"
            if self.shift is not None:
                reach += (f", while the training data had mean {np.round(self.shift, 4).tolist()} and std "
                          f"{np.round(1.0 / self.scale, 4).tolist()}")
        wider = " (or train with dtype='float64')" if self.dtype == "float32" else ""
        raise ValueError(f"data: the {self.dtype} network's ΔS{where} is NaN or inf for {int((~ok).sum())} of "
                         f"{ok.size} items: its arithmetic overflows on values far outside its training range"
                         f"{reach}; rescale the data to that range{wider}")

    def save(self, path: str) -> None:
        """Save the trained estimator to a .npz file (atomic write).

        Keys: format_version, kind ('neep', 'rneep' or 'cneep'), config (JSON: the
        constructor settings (settings(), with dtype), dt, tokens, n_members, and the
        input's shape: state_dim and n_tokens for NEEP and RNEEP, frame_shape and
        pixel_kind for CNEEP), params (flat, layout in cpp/include/stochinfer/nn/mlp.hpp
        for NEEP, gru.hpp for RNEEP, cnn.hpp for CNEEP; the first network), member_params
        (K, P) after fit(n_seeds=K > 1), shift/scale (input z-score, may be empty)."""
        if self.net is None:
            raise RuntimeError("nothing to save: call fit() first")
        cfg = self.settings()
        cfg.update(dt=self.dt, tokens=self.tokens, n_members=max(1, len(self.members)), **self._net_config())
        arrays = {"format_version": np.array(FORMAT_VERSION), "kind": np.array(self._method),
                  "config": np.array(json.dumps(cfg)), "params": self.net.get_params(),
                  "shift": np.array([] if self.shift is None else self.shift),
                  "scale": np.array([] if self.scale is None else self.scale)}
        if len(self.members) > 1:
            arrays["member_params"] = np.stack([net.get_params() for net in self.members])
        atomic_savez(path, arrays)

    @classmethod
    def load(cls, path: str) -> "NEEP":
        """Load an estimator written by save(); ready for delta_s()."""
        cfg, arrays = load_versioned(path, cls._method, FORMAT_VERSION, cls._method.upper())
        cfg = saved_settings_without_ignored_patience(cfg)
        try:
            params, shift, scale = arrays["params"], arrays["shift"], arrays["scale"]
            est = cls(**{k: cfg.get(k, _LATER_KEYS[k]) if k in _LATER_KEYS else cfg[k] for k in cls._config_keys})
            est.dt, est.tokens = cfg["dt"], cfg["tokens"]
            est._restore_net_config(cfg)
        except KeyError as exc:
            raise ValueError(f"{path}: a damaged {cls._method.upper()} file (missing {exc})") from None
        except (TypeError, ValueError) as exc:  # settings the constructor refuses
            raise ValueError(f"{path}: a damaged {cls._method.upper()} file ({exc})") from None
        stack = arrays.get("member_params", params[None])
        damaged = f"{path}: a damaged {cls._method.upper()} file"
        if not isinstance(est.tokens, bool):
            raise ValueError(f"{damaged} (tokens={est.tokens!r}, not true or false)")
        if stack.ndim != 2 or stack.shape[1] != params.size or stack.shape[0] < 1 or \
                stack.shape[0] != cfg.get("n_members", stack.shape[0]):
            raise ValueError(f"{damaged} (member_params of shape {stack.shape}"
                             + (f" for {cfg['n_members']} networks)" if "n_members" in cfg else ")"))
        if not np.isfinite(stack).all():
            raise ValueError(f"{damaged} (non-finite network parameters)")
        if shift.size and (shift.shape != scale.shape or not np.isfinite(shift).all()
                           or not (np.isfinite(scale).all() and (scale > 0).all())):
            raise ValueError(f"{damaged} (input standardisation: shift {shift.tolist()}, scale {scale.tolist()})")
        if est.standardize and not est.tokens and not shift.size:
            raise ValueError(f"{damaged} (trained with standardize=True but without its shift and scale)")
        est.members = []
        for member in stack:
            net = est._build_net(0)
            try:
                net.set_params(member)
            except ValueError as exc:  # parameters of another network size
                raise ValueError(f"{damaged} ({exc})") from None
            est._set_transform(net, shift if shift.size else None, scale if shift.size else None)
            est.members.append(net)
        est.net = est.members[0]
        if shift.size:
            est.shift, est.scale = shift, scale
        return est

    def __repr__(self) -> str:
        return f"NEEP(hidden={self.hidden}, layers={self.layers}, activation={self.activation!r}, lr={self.lr})"


def _refuse_diverged_without_a_usable_model(fit: dict, name: str, seed: int, lr: float) -> None:
    """A training that diverged keeps the best model validated before it, but when that
    model's validation loss is clearly above 1, the loss of ΔS ≡ 0 (by 5%: equilibrium
    data sit at 1 up to noise), it is worse than no model (e.g. 352 ± 88 reported for
    σ ≈ 2): an error rather than a number."""
    best = fit["best"]["val_loss"]
    if fit.get("diverged") and not best <= 1.05:
        raise FloatingPointError(
            f"{name} training diverged (seed {seed}), and the best model validated before it has validation loss "
            f"{best:.3g}, worse than ΔS ≡ 0 (loss 1): no usable model; lower the learning rate (lr={lr})")


def _warn_worse_than_no_model(fit: dict, name: str, seed: int, notes: list) -> None:
    """A training that did not diverge can still keep a model worse than ΔS ≡ 0 (best
    validation loss above 1 by 5%): an overfitted network whose e^(−ΔS) explodes on new
    transitions (a review found 4.5·10⁶, reported as 13.4 ± 6.2 against σ_Δt 8.4). The
    number is then not an estimate: warned and noted."""
    best = fit["best"]["val_loss"]
    if not fit.get("diverged") and best > 1.05:
        what = (f"{name} (seed {seed}): the kept model's validation loss {best:.3g} is worse than ΔS ≡ 0 (loss 1), "
                "so the estimate is not meaningful: the network overfits or has not trained (more data, fewer "
                "updates or a lower lr, a smaller network)")
        warnings.warn(what, RuntimeWarning, stacklevel=user_stacklevel())
        notes.append(what)


def _ensemble_delta_s(nets: list, data, segs: np.ndarray):
    """Each network's ΔS of the segments, and their mean: the ensemble's ΔS (fit's read-out
    and delta_s on new data alike)."""
    per_member = [net.delta_s(data, segs) for net in nets]
    return per_member, (np.mean(per_member, axis=0) if len(per_member) > 1 else per_member[0])


def _cap_segments(segs: np.ndarray, cap: int) -> np.ndarray:
    """The first whole segments holding at most `cap` transitions (at least one segment)."""
    n = np.cumsum(segs[:, 2] - segs[:, 1] - 1)
    k = max(1, int(np.searchsorted(n, cap, side="right")))
    if k == 1 and n[0] > cap:  # one long segment: cut it
        s = segs[:1].copy()
        s[0, 2] = s[0, 1] + cap + 1
        return s
    return segs[:k]

