"""Shared training loop: evaluation every few iterations, checkpoint on the
validation loss, early stopping, progress bar, and Ctrl-C that keeps the best
model. Estimators supply the steps (compiled) and the evaluation."""
from __future__ import annotations

import math
import sys
import time
import warnings
from typing import Callable, Optional

import numpy as np


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
                 patience: Optional[int] = None, progress: Optional[bool] = None, desc: str = "training") -> dict:
    """Runs `step(n)` (n updates, returns their mean loss) in blocks of eval_every,
    calls `evaluate()` (a dict with 'val_loss') after each block, keeps the state
    with the lowest validation loss and restores it at the end.

    Stops after n_iter updates, or when the validation loss has not improved for
    `patience` updates. On Ctrl-C it warns and returns with the best state so far
    (re-raises if no evaluation finished yet). A non-finite training or validation
    loss raises FloatingPointError (the learning rate is too large for the data).
    Returns {'history', 'best', 'iterations', 'interrupted', 'stopped_early',
    'train_s', 'eval_s'}.
    """
    history, best, best_state = [], None, None
    it, interrupted, stopped_early = 0, False, False
    train_s = eval_s = 0.0
    bar = _progress_bar(n_iter, desc, progress)
    try:
        while it < n_iter:
            n = min(eval_every, n_iter - it)
            t0 = time.perf_counter()
            train_loss = step(n)
            t1 = time.perf_counter()
            it += n
            entry = dict(evaluate())
            t2 = time.perf_counter()
            train_s += t1 - t0
            eval_s += t2 - t1
            entry.update(iteration=it, train_loss=float(train_loss), train_s=train_s, eval_s=eval_s)
            history.append(entry)
            if not (math.isfinite(entry["val_loss"]) and math.isfinite(entry["train_loss"])):
                raise FloatingPointError(
                    f"{desc} diverged: non-finite loss by update {it} (training {entry['train_loss']:.3g}, "
                    f"validation {entry['val_loss']:.3g}); lower the learning rate (lr)")
            if best is None or entry["val_loss"] < best["val_loss"]:
                best, best_state = entry, get_state()
            if bar is not None:
                bar.update(n)
                bar.set_postfix(val_loss=f"{entry['val_loss']:.5f}", best=best["iteration"])
            if patience is not None and it - best["iteration"] >= patience:
                stopped_early = True
                break
    except KeyboardInterrupt:
        if best_state is None:
            raise
        interrupted = True
        warnings.warn(f"training interrupted at iteration {it}: keeping the best model so far "
                      f"(iteration {best['iteration']}, validation loss {best['val_loss']:.6g})", stacklevel=2)
    finally:
        if bar is not None:
            bar.close()
    set_state(best_state)
    return {"history": history, "best": best, "iterations": it, "interrupted": interrupted,
            "stopped_early": stopped_early, "train_s": train_s, "eval_s": eval_s}


def scheduled_lr(lr: float, schedule: str, it: float, n_iter: int) -> float:
    """'constant', or 'cosine' from lr down to lr/100 over n_iter updates."""
    if schedule == "constant":
        return lr
    frac = min(it / n_iter, 1.0)
    return lr * (0.01 + 0.99 * 0.5 * (1.0 + np.cos(np.pi * frac)))


def scheduled_step(train_block: Callable[[int, float], tuple], lr: float, schedule: str, n_iter: int,
                   block: int = 50) -> Callable[[int], float]:
    """A `step(n)` for run_training: n updates in blocks of at most `block`, the
    learning rate piecewise constant per block at its scheduled value;
    train_block(k, lr) runs k updates and returns (updates done, mean loss)."""
    updates = 0

    def step(n: int) -> float:
        nonlocal updates
        losses, counts = [], []
        while n > 0:
            k = min(n, block)
            done, loss = train_block(k, scheduled_lr(lr, schedule, updates + k / 2, n_iter))
            losses.append(loss)
            counts.append(done)
            updates += done
            n -= k
        return float(np.average(losses, weights=counts)) if sum(counts) else float(np.mean(losses))

    return step
