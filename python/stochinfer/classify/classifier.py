"""MLP classifier on the compiled core, trained through the shared loop: the
test bed for stochastic resetting under label noise (methods.md §4)."""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Optional

import numpy as np

from .. import _core
from .._io import atomic_savez, load_versioned
from .._validate import (boolean, check_output_fits, finite_array, momentum_value, positive_float, positive_int,
                         refuse_subnormal, seed_value, subnormal_share, thread_count)
from ..ep.neep import _ACTIVATIONS
from ..train import (Resetting, ScheduledStep, check_batch_size, layer_slices, network_state,
                     refuse_patience_with_resetting, resetting_option, run_training,
                     saved_settings_without_ignored_patience, set_network_state)
from .label_noise import class_labels

FORMAT_VERSION = 1
#: constructor settings that change the numbers (saved with the network)
_SETTINGS = ("hidden", "layers", "activation", "loss", "q", "alpha", "beta", "elr_lambda", "elr_beta", "tgce_k",
             "prune_every", "prune_from", "optimizer", "lr", "momentum", "nesterov", "weight_decay", "batch",
             "n_iter", "eval_every", "lr_schedule", "best_metric", "patience",
             "resetting", "val_fraction", "standardize", "precision")
#: settings added after the first saved files: their value when a file lacks them
_LATER_KEYS = {"elr_lambda": 3.0, "elr_beta": 0.7, "tgce_k": 0.5, "prune_every": None, "prune_from": None}
LOSSES = ("cross_entropy", "mae", "gce", "sce", "elr", "tgce")
OPTIMIZERS = ("sgd", "adam")
BEST_METRICS = ("loss", "accuracy")


def softmax_rows(z: np.ndarray) -> np.ndarray:
    """Softmax of each row of logits (shifted by the row maximum: no overflow)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def restore_layers(net, state, parts) -> None:
    """Layer-wise reset: copies the parameter slices `parts` and their optimiser
    buffers from a checkpoint state (params, (m, v, step)) into net, leaving the
    other layers and the update counter where training took them."""
    p, (m, v, step) = network_state(net)
    cp, (cm, cv, _) = state
    for s in parts:
        p[s], m[s], v[s] = cp[s], cm[s], cv[s]
    net.set_params(p)
    net.set_adam_state(m, v, step)


class Classifier:
    """A multilayer perceptron classifier (ReLU by default) with softmax outputs.

    Training: `n_iter` minibatch updates (SGD with momentum by default, as the
    resetting paper; or Adam), a cosine learning-rate schedule from lr to lr/100,
    a validation check every `eval_every` updates, and the model with the best
    validation score kept (lowest loss, or highest accuracy with
    best_metric='accuracy'). With `resetting` (stochinfer.Resetting) training
    returns to that checkpoint at random once validation stalls; Resetting.layers
    resets only some layers. Validation uses the labels as given — noisy ones
    under label noise: the trainer never sees clean labels.

    loss: 'cross_entropy', or a noise-robust loss: 'mae' (2 − 2p_y), 'gce'
    ((1 − p_y^q)/q), 'sce' (alpha·CE + beta·reverse CE), 'elr' (early-learning
    regularisation: CE + elr_lambda·log(1 − ⟨t_i, p⟩), t_i each training sample's
    running mean of its past predictions with momentum elr_beta; Liu et al. 2020;
    validation rows are never trained on, so their loss is plain CE; a reset restores
    parameters and optimiser state, not the targets, as in the published code; select
    on accuracy with ELR: its regulariser raises the validation CE, bench/RESULTS.md),
    'tgce' (truncated GCE, Zhang & Sabuncu 2018: GCE shifted by its value at
    p_y = tgce_k, times a per-row weight that pruning sets to [p_y > tgce_k] every
    prune_every updates (default n_iter/12) from update prune_from (default
    n_iter/3), as the published code does every 10 of 120 epochs from epoch 40).
    weight_decay: L2 term added to the gradient (SGD; Adam: decoupled, as AdamW).
    Features are standardised with the training rows' mean and standard deviation
    unless standardize=False. Same seed, same result, for any n_threads.

    hidden: units per hidden layer; layers: number of hidden layers. nesterov:
    Nesterov momentum (SGD only; needs momentum > 0). patience: updates without
    improvement of the validation score before training stops (None: runs all
    n_iter; not allowed with resetting). precision: 'float32' or 'float64', the
    network's arithmetic (features are converted to it). progress: a tqdm progress
    bar (None: when stderr is a terminal and tqdm is installed; False: never).
    """

    def __init__(self, hidden: int = 256, layers: int = 2, activation: str = "relu",
                 loss: str = "cross_entropy", q: float = 0.7, alpha: float = 0.1, beta: float = 1.0,
                 elr_lambda: float = 3.0, elr_beta: float = 0.7, tgce_k: float = 0.5,
                 prune_every: Optional[int] = None, prune_from: Optional[int] = None,
                 optimizer: str = "sgd", lr: float = 0.05, momentum: float = 0.9, nesterov: bool = False,
                 weight_decay: float = 5e-4, batch: int = 128, n_iter: int = 5000, eval_every: int = 10,
                 lr_schedule: str = "cosine", best_metric: str = "loss", patience: Optional[int] = None,
                 resetting: Optional[Resetting] = None, val_fraction: float = 0.1, standardize: bool = True,
                 precision: str = "float32", n_threads: Optional[int] = None, progress: Optional[bool] = None):
        self.hidden = positive_int("hidden", hidden)
        self.layers = positive_int("layers", layers)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(_ACTIVATIONS)}; got {activation!r}")
        self.activation = activation
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        self.loss = loss
        self.q = positive_float("q", q)
        if not self.q <= 1:
            raise ValueError(f"q must be in (0, 1], got {q}")
        self.alpha = positive_float("alpha", alpha, allow_zero=True)
        self.beta = positive_float("beta", beta, allow_zero=True)
        if loss == "sce" and self.alpha + self.beta == 0:
            raise ValueError("sce needs alpha + beta > 0")
        self.elr_lambda = positive_float("elr_lambda", elr_lambda, allow_zero=True)
        self.elr_beta = positive_float("elr_beta", elr_beta, allow_zero=True)
        if not self.elr_beta < 1:
            raise ValueError(f"elr_beta must be in [0, 1), got {elr_beta}")
        self.tgce_k = positive_float("tgce_k", tgce_k)
        if not self.tgce_k < 1:
            raise ValueError(f"tgce_k must be in (0, 1), got {tgce_k}")
        self.prune_every = None if prune_every is None else positive_int("prune_every", prune_every)
        self.prune_from = None if prune_from is None else positive_int("prune_from", prune_from, minimum=0)
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
        self.optimizer = optimizer
        self.lr = positive_float("lr", lr)
        self.momentum = momentum_value(momentum)
        self.nesterov = boolean("nesterov", nesterov)
        if self.nesterov and optimizer != "sgd":
            raise ValueError(f"nesterov=True is an option of SGD (optimizer='sgd'), not of optimizer={optimizer!r}")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.weight_decay = positive_float("weight_decay", weight_decay, allow_zero=True)
        self.batch = positive_int("batch", batch)
        if self.batch > 2**31 - 1:
            raise ValueError(f"batch must be <= {2**31 - 1}, got {self.batch}")
        self.n_iter = positive_int("n_iter", n_iter)
        self.eval_every = positive_int("eval_every", eval_every)
        if lr_schedule not in ("cosine", "constant"):
            raise ValueError(f"lr_schedule must be 'cosine' or 'constant', got {lr_schedule!r}")
        self.lr_schedule = lr_schedule
        if best_metric not in BEST_METRICS:
            raise ValueError(f"best_metric must be one of {BEST_METRICS}, got {best_metric!r}")
        self.best_metric = best_metric
        self.patience = None if patience is None else positive_int("patience", patience)
        self.resetting = resetting_option(resetting, layer_wise=True)  # a dict as save() writes it, too
        refuse_patience_with_resetting(self.patience, self.resetting)
        self.val_fraction = positive_float("val_fraction", val_fraction)
        if not self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
        self.standardize = boolean("standardize", standardize)
        if precision not in ("float32", "float64"):
            raise ValueError(f"precision must be 'float32' or 'float64', got {precision!r}")
        self.precision = precision
        self.n_threads = thread_count(n_threads)
        self.progress = None if progress is None else boolean("progress", progress)
        self.net_ = None

    # -- data ---------------------------------------------------------------------------------

    def _features(self, name: str, x, n_features: Optional[int] = None) -> np.ndarray:
        dtype = np.float32 if self.precision == "float32" else np.float64
        arr = finite_array(name, x, shape=(None, n_features), dtype=dtype)
        if arr.shape[0] == 0:
            raise ValueError(f"{name} has no samples")
        if dtype == np.float32 and arr.size:
            share = subnormal_share(arr, axis=0)
            if share.max() > 0.5:
                cols = np.flatnonzero(share > 0.5)
                shown = ", ".join(str(c) for c in cols[:5]) + (", …" if cols.size > 5 else "")
                refuse_subnormal(f"{name} (feature column(s) {shown})",
                                 float(share.max()), "rescale the features or use precision='float64'")
        return arr

    @staticmethod
    def _labels(name: str, y, n: int) -> np.ndarray:
        return np.ascontiguousarray(class_labels(name, y, n), dtype=np.int32)

    def fit(self, x: np.ndarray, y: np.ndarray, x_val: Optional[np.ndarray] = None,
            y_val: Optional[np.ndarray] = None, n_classes: Optional[int] = None, seed: int = 0) -> "Classifier":
        """Trains on features x (n_samples, n_features) and labels y (class indices).

        Validation: (x_val, y_val) when given, else a random val_fraction of the rows
        (drawn from `seed`). n_classes defaults to the largest label + 1. Afterwards
        `history_` holds every evaluation (val_loss: the selection score; val_model_loss,
        val_accuracy), `best_` the kept one and `resets_` the resets [(update, age)]."""
        seed = seed_value("seed", seed)
        x = self._features("x", x)
        y = self._labels("y", y, x.shape[0])
        if x_val is None and y_val is None:
            rng = np.random.default_rng([seed, 0xC1A5])
            perm = rng.permutation(x.shape[0])
            n_val = int(round(self.val_fraction * x.shape[0]))
            if n_val < 1 or x.shape[0] - n_val < 1:
                raise ValueError(f"{x.shape[0]} samples are too few to split off a validation fraction of "
                                 f"{self.val_fraction}: pass x_val, y_val or more samples")
            val_rows, train_rows = np.sort(perm[:n_val]), np.sort(perm[n_val:])
            table_x, table_y = x, y
        elif x_val is None or y_val is None:
            raise ValueError("pass both x_val and y_val, or neither (a validation split is then drawn)")
        else:
            xv = self._features("x_val", x_val, x.shape[1])
            yv = self._labels("y_val", y_val, xv.shape[0])
            table_x, table_y = np.concatenate([x, xv]), np.concatenate([y, yv])
            train_rows = np.arange(x.shape[0])
            val_rows = np.arange(x.shape[0], table_x.shape[0])
        top = int(table_y.max()) + 1
        k = top if n_classes is None else positive_int("n_classes", n_classes, minimum=2)
        if k < 2:
            raise ValueError("the labels hold one class only: a classifier needs at least 2 (or pass n_classes)")
        if top > k:
            raise ValueError(f"labels go up to {top - 1}, beyond n_classes={k}")
        check_batch_size(self.batch, len(train_rows), "rows")  # before the network is built
        self._check_memory(x.shape[1], k, table_x.shape[0])
        net = self._core_net(x.shape[1], k, seed)
        shift = scale = np.zeros(0)
        if self.standardize:
            shift = table_x[train_rows].mean(axis=0, dtype=np.float64)
            std = table_x[train_rows].std(axis=0, dtype=np.float64)
            scale = 1.0 / np.where(std > 0, std, 1.0)
            net.set_input_transform(list(shift), list(scale))
        train_rows = np.ascontiguousarray(train_rows, dtype=np.int64)
        val_rows = np.ascontiguousarray(val_rows, dtype=np.int64)
        sample_seed = seed ^ 0x5A17

        if self.optimizer == "sgd":
            def block(k_, lr):
                return net.train_sgd(table_x, table_y, train_rows, k_, self.batch, lr, self.momentum, 0.0,
                                     self.weight_decay, self.nesterov, sample_seed)
        else:
            def block(k_, lr):
                return net.train_adam(table_x, table_y, train_rows, k_, self.batch, lr, 0.9, 0.999, 1e-8,
                                      self.weight_decay, True, sample_seed)
        if self.loss == "tgce":
            block = self._pruning(block, net, table_x, table_y, train_rows)
        step = ScheduledStep(block, self.lr, self.lr_schedule, self.n_iter)

        def evaluate():
            loss, acc = net.evaluate(table_x, table_y, val_rows)
            score = loss if self.best_metric == "loss" else 1.0 - acc
            return {"val_loss": score, "val_model_loss": loss, "val_accuracy": acc}

        reset_state = None
        if self.resetting is not None and self.resetting.layers is not None:
            parts = layer_slices(self.resetting.layers, net.layer_offsets)

            def reset_state(state):
                restore_layers(net, state, parts)

        out = run_training(step, evaluate, lambda: network_state(net), lambda st: set_network_state(net, st),
                           self.n_iter, self.eval_every, self.patience,
                           self.progress, desc="classifier", resetting=self.resetting, seed=seed,
                           reset_state=reset_state)
        self.net_, self.n_classes_, self.n_features_ = net, k, x.shape[1]
        self.shift_, self.scale_ = shift, scale
        self.history_, self.best_ = out["history"], out["best"]
        self.resets_ = out.get("resets", [])
        self.resetting_from_ = out.get("resetting_from")
        self.iterations_, self.interrupted_ = out["iterations"], out["interrupted"]
        self.diverged_, self.stopped_early_ = out["diverged"], out["stopped_early"]
        self.train_s_ = out["train_s"]
        return self

    def _pruning(self, block, net, table_x, table_y, train_rows):
        """Truncated GCE: `block` with the rows pruned every prune_every updates from
        update prune_from on (the update count over the whole run, resets included): a
        training row keeps weight 1 while its predicted probability of its label is
        above tgce_k, else 0 (Zhang & Sabuncu's update_weight)."""
        every = self.prune_every or max(1, self.n_iter // 12)
        start = self.n_iter // 3 if self.prune_from is None else self.prune_from
        done, next_prune = [0], [start]

        def prune():
            p_label = softmax_rows(net.logits(table_x, train_rows))[np.arange(train_rows.size), table_y[train_rows]]
            w = np.ones(table_x.shape[0])
            w[train_rows] = (p_label > self.tgce_k).astype(float)
            net.set_row_weights(w)

        def pruned_block(k_, lr):
            out_done, losses = 0, []
            while k_ > 0:  # cut the block at prune points
                if done[0] >= next_prune[0]:
                    prune()
                    next_prune[0] += every
                n = min(k_, next_prune[0] - done[0])
                d_, loss = block(n, lr)
                done[0] += d_
                out_done += d_
                losses.append((d_, loss))
                k_ -= n
                if d_ < n:
                    break  # cancelled
            total = sum(d for d, _ in losses)
            return out_done, (sum(d * l for d, l in losses) / total if total else losses[-1][1])

        return pruned_block

    def _core_net(self, d: int, k: int, seed: int):
        core = _core.ClassifierModel32 if self.precision == "float32" else _core.ClassifierModel64
        return core(d, k, self.hidden, self.layers, self.activation, self.loss, self.q, self.alpha, self.beta,
                    elr_lambda=self.elr_lambda, elr_beta=self.elr_beta, tgce_k=self.tgce_k, seed=seed,
                    n_threads=self.n_threads)

    def _check_memory(self, d: int, k: int, n_rows: int) -> None:
        """Refuses, before allocating, a network whose buffers exceed the memory: parameters with
        optimiser buffers, gradient, 16 reduction groups and per-thread scratch; each thread's
        activations for a chunk of rows (the C++ chunk_rows formula) and the minibatch indices."""
        widths = [d] + [self.hidden] * self.layers + [k]
        n_params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
        threads = self.n_threads or os.cpu_count() or 1
        chunk = max(32, min(4096, 65536 // max(self.hidden, k, d)))
        per_thread = chunk * (d + 2 * self.layers * self.hidden + 2 * k + 2 * max(self.hidden, d))
        # ELR keeps a float64 target per row and class (table, minibatch, each thread's chunk)
        elr = 8 * k * (n_rows + self.batch + chunk * threads) if self.loss == "elr" else 0
        elr += 8 * (n_rows + chunk * threads) if self.loss == "tgce" else 0  # truncated GCE's row weights
        check_output_fits((n_params * (20 + threads) + per_thread * threads,),
                          np.float32 if self.precision == "float32" else np.float64,
                          "use fewer hidden units or classes (n_classes is the largest label + 1)",
                          extra_bytes=16 * self.batch + elr)

    # -- persistence --------------------------------------------------------------------------

    def settings(self) -> dict:
        """Every constructor setting that changes the numbers."""
        out = {k: getattr(self, k) for k in _SETTINGS}
        out["resetting"] = None if self.resetting is None else asdict(self.resetting)
        return out

    def save(self, path: str) -> None:
        """Saves the fitted classifier to a .npz file (atomic write). Keys: format_version,
        kind ('classifier'), config (JSON: settings, n_classes, n_features), params (flat:
        per Dense layer W out×in column-major, then b), shift, scale (the input
        standardisation; empty without)."""
        self._check_fitted()
        cfg = dict(self.settings(), n_classes=self.n_classes_, n_features=self.n_features_)
        atomic_savez(path, {"format_version": np.array(FORMAT_VERSION), "kind": np.array("classifier"),
                            "config": np.array(json.dumps(cfg)), "params": self.net_.get_params(),
                            "shift": np.asarray(self.shift_, dtype=np.float64),
                            "scale": np.asarray(self.scale_, dtype=np.float64)})

    @classmethod
    def load(cls, path: str, n_threads: Optional[int] = None) -> "Classifier":
        """Loads a classifier written by save(); ready for predict() and score()."""
        cfg, arrays = load_versioned(path, "classifier", FORMAT_VERSION, "Classifier")
        cfg = saved_settings_without_ignored_patience(cfg)
        try:
            clf = cls(**{k: cfg.get(k, _LATER_KEYS[k]) if k in _LATER_KEYS else cfg[k] for k in _SETTINGS},
                      n_threads=n_threads)
            k, d = int(cfg["n_classes"]), int(cfg["n_features"])
            params, shift, scale = arrays["params"], arrays["shift"], arrays["scale"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}: a damaged Classifier file ({type(exc).__name__}: {exc})") from None
        net = clf._core_net(d, k, 0)
        if params.shape != (net.n_params,) or shift.shape != scale.shape or shift.size not in (0, d):
            raise ValueError(f"{path}: a damaged Classifier file (arrays do not fit the network)")
        if not (np.isfinite(params).all() and np.isfinite(shift).all() and np.isfinite(scale).all()):
            # (it predicted class 0 for everything; NEEP's and LangevinFit's loaders refuse alike)
            raise ValueError(f"{path}: a damaged Classifier file (non-finite network parameters or input transform)")
        net.set_params(params)
        if shift.size:
            net.set_input_transform(list(shift), list(scale))
        clf.net_, clf.n_classes_, clf.n_features_, clf.shift_, clf.scale_ = net, k, d, shift, scale
        return clf

    # -- prediction ---------------------------------------------------------------------------

    def _check_fitted(self):
        if self.net_ is None:
            raise RuntimeError("this Classifier is not fitted yet: call fit(x, y) first")

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Class logits (n_samples, n_classes) of features x."""
        self._check_fitted()
        x = self._features("x", x, self.n_features_)
        return self.net_.logits(x, np.arange(x.shape[0], dtype=np.int64))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Softmax class probabilities (n_samples, n_classes)."""
        return softmax_rows(self.logits(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The most probable class of each sample."""
        return np.argmax(self.logits(x), axis=1)

    def score(self, x: np.ndarray, y: np.ndarray) -> float:
        """Accuracy on (x, y): the fraction of samples whose predicted class is y."""
        self._check_fitted()
        x = self._features("x", x, self.n_features_)
        y = self._labels("y", y, x.shape[0])
        if y.max() >= self.n_classes_:
            raise ValueError(f"y has class {int(y.max())}; this classifier knows {self.n_classes_} classes")
        return float(self.net_.evaluate(x, y, np.arange(x.shape[0], dtype=np.int64))[1])
