"""Shared training loop: evaluation every few iterations, checkpoint on the
validation loss, early stopping or stochastic resetting to the checkpoint,
progress bar, and Ctrl-C that keeps the best model. Estimators supply the steps
(compiled) and the evaluation."""
from __future__ import annotations

import math
import numbers
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ._validate import positive_int, user_stacklevel

LR_POLICIES = ("global", "rewound", "reference")


@dataclass(frozen=True)
class Resetting:
    """Stochastic resetting of training to the best checkpoint (Bae, Song & Jeong,
    Mach. Learn.: Sci. Technol. 6, 015062 (2025); methods.md §4).

    Once the validation loss has not improved for `after` updates (checked at each
    evaluation, so in effect rounded up to a multiple of eval_every), every update is
    followed, with probability `prob`, by a return to the checkpoint: the
    parameters with the lowest validation loss so far with their optimiser state
    (Adam moments or SGD momentum, and counter; the reference's opt_reset=1).
    Minibatches keep being drawn fresh: their counter is not rewound. Resets come at independent
    geometric intervals (rate −ln(1 − prob) per update), drawn from the training
    seed, so the same seed gives the same run.

    adaptive: a new best replaces the checkpoint (the reference's default); False
    keeps the checkpoint of the moment resetting began. lr_policy 'global'
    (default): the learning rate follows the global update count, so a reset
    restores weights and moments, not the rate; 'rewound': the schedule goes back
    to the checkpoint's update count; 'reference' (for comparison with the
    published code only): the checkpoint's rate comes back while the schedule
    counts on, as when PyTorch restores an optimiser under a chainable
    CosineAnnealingLR: after a reset at update t the rate is
    floor + (rate at the checkpoint − floor)·(1 + cos πs/T)/(1 + cos πt/T). Early
    stopping (patience) does not apply with resetting: training runs all its
    updates and keeps the best validated model, as in the reference (the NEEP
    estimators and Classifier refuse both; Langevin TrainSettings ignore patience then). Ensembles
    trained together (Langevin method='ensemble') reset all members to the
    checkpoint of their best mean validation loss; each member still keeps its own
    best parameters at the end.

    layers: None (default) resets every parameter; a tuple of layer indices
    (0 = first Dense layer, −1 = the output layer) resets only those layers'
    weights, biases and optimiser buffers, leaving the others where training took
    them (layer-wise resetting, methods.md §4.1; stochinfer.Classifier only)."""

    prob: float = 1e-3
    after: int = 1000
    adaptive: bool = True
    lr_policy: str = "global"
    layers: Optional[tuple] = None

    def __post_init__(self):
        if self.layers is not None and not isinstance(self.layers, (str, bytes)):
            try:
                object.__setattr__(self, "layers", tuple(self.layers))
            except TypeError:
                pass  # validate() names it
        self.validate()
        # plain Python numbers (numpy scalars would not survive json.dumps in a saved estimator)
        object.__setattr__(self, "prob", float(self.prob))
        object.__setattr__(self, "after", int(self.after))
        object.__setattr__(self, "adaptive", bool(self.adaptive))
        if self.layers is not None:
            object.__setattr__(self, "layers", tuple(int(l) for l in self.layers))

    def validate(self) -> None:
        """Raises ValueError naming the first setting out of range or of the wrong type."""
        if isinstance(self.prob, bool) or not isinstance(self.prob, numbers.Real) or not 0.0 < float(self.prob) < 1.0:
            raise ValueError(f"Resetting.prob must be a probability per update in (0, 1), got {self.prob!r}")
        if isinstance(self.after, bool) or not isinstance(self.after, numbers.Integral) or self.after < 0:
            raise ValueError(f"Resetting.after must be an integer >= 0 (updates without improvement), "
                             f"got {self.after!r}")
        if not isinstance(self.adaptive, (bool, np.bool_)):
            raise ValueError(f"Resetting.adaptive must be True or False, got {self.adaptive!r}")
        if self.lr_policy not in LR_POLICIES:
            raise ValueError(f"Resetting.lr_policy must be one of {LR_POLICIES}, got {self.lr_policy!r}")
        if self.layers is not None:
            ok = isinstance(self.layers, tuple) and len(self.layers) > 0 and all(
                isinstance(l, numbers.Integral) and not isinstance(l, bool) for l in self.layers)
            if not ok or len(set(self.layers)) != len(self.layers):
                raise ValueError(f"Resetting.layers must be None (all parameters) or distinct layer indices such "
                                 f"as (-1,) for the output layer, got {self.layers!r}")


def resetting_option(value, layer_wise: bool = False) -> Optional[Resetting]:
    """check_resetting for an estimator's constructor, which also takes the dict of a
    Resetting's settings, as its saved files store them (ValueError naming `resetting`
    for keys a Resetting lacks). Returns the Resetting to keep."""
    if isinstance(value, dict):
        try:
            value = Resetting(**value)
        except TypeError:
            raise ValueError(f"resetting: not the settings of a stochinfer.Resetting: {value!r}") from None
    return check_resetting(value, layer_wise)


#: batch / training items above which a batch is refused: minibatches are drawn with replacement, so
#: a batch far above the training set only repeats its items, at that many passes over it per update
#: (which Ctrl-C waits for). Generous: NEEP's default 4096 passes on the smallest data its fit accepts.
MAX_BATCH_PER_ITEM = 1000


def check_batch_size(batch: int, n_items: int, items: str) -> None:
    """Refuses a batch over MAX_BATCH_PER_ITEM times the n_items training `items` it is drawn from
    (with replacement), naming both."""
    if batch > MAX_BATCH_PER_ITEM * n_items:
        raise ValueError(f"batch={batch} is over {MAX_BATCH_PER_ITEM}× the {n_items} training {items}: each update "
                         f"draws batch items with replacement from them, so a batch this large only repeats them "
                         f"({batch // n_items} times each per update, for the cost of as many passes); pass a batch "
                         f"of at most about the training set's size ({n_items}), or more data")


def check_resetting(value, layer_wise: bool = False) -> Optional[Resetting]:
    """A resetting option as estimators take it: None or a Resetting (validated when
    it was built; it is frozen); TypeError otherwise. Estimators that cannot reset
    single layers (layer_wise=False) refuse Resetting.layers."""
    if value is not None and not isinstance(value, Resetting):
        raise TypeError(f"resetting must be a stochinfer.Resetting or None, got {value!r}")
    if value is not None and value.layers is not None and not layer_wise:
        raise ValueError("Resetting.layers (layer-wise resetting) is supported by stochinfer.Classifier only; "
                         "use layers=None here")
    return value


def refuse_patience_with_resetting(patience, resetting) -> None:
    """Estimators take patience or resetting, not both: with resetting, training runs all
    its updates (a reset is what follows a stall), so a patience would be ignored."""
    if patience is not None and resetting is not None:
        raise ValueError("patience (early stopping) does not apply with resetting, which runs all n_iter updates "
                         "and keeps the best validated model: pass patience=None")


def saved_settings_without_ignored_patience(cfg: dict) -> dict:
    """A saved estimator's settings as the constructor now takes them: files written before
    patience and resetting were refused together may hold both (the patience was ignored)."""
    if cfg.get("resetting") is not None:
        cfg["patience"] = None
    return cfg


def network_state(net) -> tuple:
    """A compiled network's parameters with their optimiser state ((m, v, step)):
    what a checkpoint, and a reset to it, hold."""
    return net.get_params(), net.get_adam_state()


def set_network_state(net, state) -> None:
    """Restores a state taken by network_state."""
    net.set_params(state[0])
    net.set_adam_state(*state[1])


def layer_slices(layers, offsets) -> list:
    """Parameter slices of the chosen layers of a network whose layer l holds
    parameters [offsets[l], offsets[l + 1]); negative indices count from the output
    layer. ValueError naming Resetting.layers when one is out of range."""
    n = len(offsets) - 1
    out = []
    for l in layers:
        if not -n <= l < n:
            raise ValueError(f"Resetting.layers: layer {l} does not exist; this network has {n} layers "
                             f"(0 … {n - 1}, or -{n} … -1)")
        k = l % n
        out.append(slice(int(offsets[k]), int(offsets[k + 1])))
    return out


def _progress_bar(total: int, desc: str, enabled: Optional[bool]):
    """tqdm when installed and stderr is a terminal (or enabled=True); else None."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if enabled:
            warnings.warn("progress=True needs tqdm: pip install 'stochinfer[progress]'", stacklevel=3)
        return None
    return tqdm(total=total, desc=desc, unit="it", leave=False)


def run_training(step: Callable[[int], float], evaluate: Callable[[], dict], get_state: Callable[[], object],
                 set_state: Callable[[object], None], n_iter: int, eval_every: int,
                 patience: Optional[int] = None, progress: Optional[bool] = None, desc: str = "training",
                 resetting: Optional[Resetting] = None, seed: int = 0,
                 reset_state: Optional[Callable[[object], None]] = None, keep_unvalidated: bool = False) -> dict:
    """Runs `step(n)` (n updates, returns their mean loss) in blocks of eval_every,
    calls `evaluate()` (a dict with 'val_loss') after each block, keeps the state
    with the lowest validation loss and restores it at the end.

    Stops after n_iter updates, or when the validation loss has not improved for
    `patience` updates. With `resetting` (see Resetting; get_state must then hold
    the optimiser state too, and lr_policy='rewound' needs a ScheduledStep) patience
    is ignored and, once the loss has stalled for resetting.after updates, the
    state returns to the checkpoint at random updates (resets drawn from `seed`)
    through reset_state(checkpoint) (default set_state: layer-wise resetting
    passes one that restores part of it).
    On Ctrl-C it warns and returns with the best state so far; if no evaluation
    finished yet it re-raises, or with keep_unvalidated evaluates the state as it is
    and keeps that (a later network of a fit whose earlier ones are trained). A non-finite training or validation
    loss (or a FloatingPointError from `step`: the learning rate is too large for the
    data) raises FloatingPointError before the first finite evaluation; after it, the
    run stops with a warning, keeps the best state validated so far and reports
    diverged=True (a late divergence must not throw away a validated model).
    Returns {'history', 'best', 'iterations', 'interrupted', 'diverged', 'stopped_early',
    'train_s', 'eval_s', 'resets'}; resets: [(update, checkpoint age in updates)]
    for every reset, and 'resetting_from', the update at which resetting began
    (None if it never did), when resetting is given.
    """
    n_iter, eval_every = positive_int("n_iter", n_iter), positive_int("eval_every", eval_every)
    if patience is not None:
        patience = positive_int("patience", patience)
    if check_resetting(resetting, layer_wise=reset_state is not None) is not None:
        if resetting.lr_policy != "global" and not isinstance(step, ScheduledStep):
            raise ValueError(f"lr_policy='{resetting.lr_policy}' needs a ScheduledStep (the schedule to "
                             f"rewind or rescale)")
        patience = None
        if resetting.after >= n_iter:
            warnings.warn(f"resetting can never start: it waits for the validation loss to stall for after="
                          f"{resetting.after} updates, and training runs n_iter={n_iter}; lower after",
                          UserWarning, stacklevel=user_stacklevel())
    rng = np.random.default_rng([seed, 0x5E5E7])
    history, best, best_state = [], None, None
    checkpoint = None  # (state, update, schedule position) that a reset returns to
    resets, resetting_from, next_reset = [], None, None
    it, interrupted, stopped_early, diverged = 0, False, False, False

    def next_reset_after(update: int) -> int:
        """The update after which the next reset comes: a geometric wait (Bernoulli(prob) per update)."""
        return update + int(rng.geometric(resetting.prob))

    def reset() -> int:
        """Back to the checkpoint; returns the update of the next reset."""
        (reset_state or set_state)(checkpoint[0])
        if resetting.lr_policy == "rewound":
            step.updates = checkpoint[2]
        elif resetting.lr_policy == "reference":
            step.restore_rate(checkpoint[3])
        resets.append((it, it - checkpoint[1]))
        return next_reset_after(it)

    lr_text = f"lr={step.lr:g}" if isinstance(step, ScheduledStep) else "lr"
    train_s = eval_s = 0.0
    block_end, t0, block_open = n_iter, 0.0, False
    losses, counts = [], []

    def scored(train_loss: float) -> dict:
        """evaluate() of the current state, timed, as a history entry at update `it`."""
        nonlocal eval_s
        t1 = time.perf_counter()
        entry = dict(evaluate())
        eval_s += time.perf_counter() - t1
        entry.update(iteration=it, train_loss=train_loss, train_s=train_s, eval_s=eval_s)
        return entry

    bar = _progress_bar(n_iter, desc, progress)
    try:
        while it < n_iter:
            block_start, block_end = it, min(it + eval_every, n_iter)
            t0, block_open = time.perf_counter(), True
            losses, counts = [], []
            try:
                while it < block_end:  # the block, cut at the resets that fall inside it
                    k = block_end - it if next_reset is None else min(block_end, next_reset) - it
                    losses.append(step(k))
                    counts.append(k)
                    it += k
                    if it == next_reset and it < block_end:  # one at the block's end waits for its evaluation
                        next_reset = reset()
                train_s += time.perf_counter() - t0
                block_open = False
                entry = scored(float(np.average(losses, weights=counts)))
                if not (math.isfinite(entry["val_loss"]) and math.isfinite(entry["train_loss"])):
                    # not in the history, which holds validated blocks (as when a step raises)
                    raise FloatingPointError(
                        f"{desc} diverged: non-finite loss by update {it} (training {entry['train_loss']:.3g}, "
                        f"validation {entry['val_loss']:.3g}); lower the learning rate ({lr_text})")
                history.append(entry)
            except FloatingPointError as exc:
                if best_state is None:
                    raise
                diverged = True
                warnings.warn(f"{exc}. Keeping the best model validated before it (iteration {best['iteration']}, "
                              f"validation loss {best['val_loss']:.6g})", RuntimeWarning,
                              stacklevel=user_stacklevel())
                break
            if best is None or entry["val_loss"] < best["val_loss"]:
                best, best_state = entry, get_state()
                if resetting_from is None or resetting.adaptive:
                    checkpoint = (best_state, it, getattr(step, "updates", it),
                                  step.rate(step.updates) if isinstance(step, ScheduledStep) else None)
            if bar is not None:
                bar.update(it - block_start)
                bar.set_postfix(val_loss=f"{entry['val_loss']:.5f}", best=best["iteration"])
            if it == next_reset and it < n_iter:  # the block's last update was validated first (none after the end)
                next_reset = reset()
            if resetting is not None and resetting_from is None and it - best["iteration"] >= resetting.after:
                resetting_from = it
                next_reset = next_reset_after(it)
            if patience is not None and it - best["iteration"] >= patience:
                stopped_early = True
                break
    except KeyboardInterrupt:
        if best_state is None and not keep_unvalidated:
            raise
        interrupted = True
        if block_open:
            train_s += time.perf_counter() - t0  # the unfinished block's time
        # `it` counts the updates of completed steps; the interrupted step ran part of its own
        where = f"in updates {it + 1}–{block_end}" if it < block_end else f"after update {it}"
        if best_state is None:  # keep_unvalidated: the state as it is, scored now
            entry = scored(float(np.average(losses, weights=counts)) if losses else math.nan)
            if not math.isfinite(entry["val_loss"]):
                raise
            history.append(entry)
            best, best_state = entry, get_state()
            kept = f"keeping the model as it is (a rough fit after {it} updates"
        else:
            kept = f"keeping the best model so far (iteration {best['iteration']}"
        warnings.warn(f"training interrupted {where}: {kept}, validation loss {best['val_loss']:.6g})", UserWarning,
                      stacklevel=user_stacklevel())
    finally:
        if bar is not None:
            bar.close()
    set_state(best_state)
    out = {"history": history, "best": best, "iterations": it, "interrupted": interrupted, "diverged": diverged,
           "stopped_early": stopped_early, "train_s": train_s, "eval_s": eval_s}
    if resetting is not None:
        out.update(resets=resets, resetting_from=resetting_from)
    return out


def scheduled_lr(lr: float, schedule: str, it: float, n_iter: int) -> float:
    """'constant', or 'cosine' from lr down to lr/100 over n_iter updates."""
    if schedule == "constant":
        return lr
    frac = min(it / n_iter, 1.0)
    return lr * (0.01 + 0.99 * 0.5 * (1.0 + np.cos(np.pi * frac)))


class ScheduledStep:
    """A `step(n)` for run_training: n updates in blocks of at most `block`, the
    learning rate piecewise constant per block at its scheduled value;
    train_block(k, lr) runs k updates and returns (updates done, mean loss).
    `updates` is the schedule's position (a rewound reset sets it back); `scale`
    multiplies the rate's distance above the schedule's floor (lr/100 for cosine;
    a 'reference' reset sets it)."""

    def __init__(self, train_block: Callable[[int, float], tuple], lr: float, schedule: str, n_iter: int,
                 block: int = 50):
        self.train_block, self.lr, self.schedule, self.n_iter, self.block = train_block, lr, schedule, n_iter, block
        self.updates = 0
        self.scale = 1.0

    def _floor(self) -> float:
        return 0.01 * self.lr if self.schedule == "cosine" else self.lr

    def rate(self, position: float) -> float:
        """The learning rate at a schedule position."""
        base = scheduled_lr(self.lr, self.schedule, position, self.n_iter)
        return base if self.scale == 1.0 else self._floor() + self.scale * (base - self._floor())

    def restore_rate(self, rate: float) -> None:
        """Makes the rate at the current position `rate` (a checkpoint's), the schedule
        shaping it from here on (the 'reference' policy); at the schedule's end, where
        the distance above the floor is 0, the floor."""
        room = scheduled_lr(self.lr, self.schedule, self.updates, self.n_iter) - self._floor()
        self.scale = (rate - self._floor()) / room if room > 0 else 0.0

    def __call__(self, n: int) -> float:
        losses, counts = [], []
        while n > 0:
            k = min(n, self.block)
            done, loss = self.train_block(k, self.rate(self.updates + k / 2))
            losses.append(loss)
            counts.append(done)
            self.updates += done
            n -= k
        return float(np.average(losses, weights=counts)) if sum(counts) else float(np.mean(losses))
