"""The fair comparison of methods.md §4.5: the same training with and without
stochastic resetting (same seed, data, initial weights, minibatch keys, compute
and best-validation selection), paired over seeds."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

import numpy as np

from .._validate import seed_value
from ..train import Resetting, check_resetting
from .classifier import Classifier
from .label_noise import class_labels, noise_rate as checked_rate, symmetric_label_noise


@dataclass
class PairedComparison:
    """Clean test accuracies of a baseline and a treated run per seed."""
    label: str
    seeds: list
    baseline: np.ndarray
    treated: np.ndarray
    resets: list = field(default_factory=list)  # resets of each treated run

    @property
    def differences(self) -> np.ndarray:
        return self.treated - self.baseline

    @property
    def mean(self) -> float:
        """Mean paired accuracy difference (treated − baseline)."""
        return float(self.differences.mean())

    @property
    def se(self) -> float:
        """Standard error of the mean paired difference (nan below 2 seeds)."""
        d = self.differences
        return float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")

    def __add__(self, other: "PairedComparison") -> "PairedComparison":
        return PairedComparison(self.label, self.seeds + other.seeds, np.concatenate([self.baseline, other.baseline]),
                                np.concatenate([self.treated, other.treated]), self.resets + other.resets)

    def __str__(self) -> str:
        d = self.differences
        return (f"{self.label}: {self.treated.mean():.4f} vs {self.baseline.mean():.4f}, difference "
                f"{self.mean:+.4f} ± {self.se:.4f} (better on {(d > 0).sum()}, worse on {(d < 0).sum()} of "
                f"{d.size} seeds)")


def compare_resetting(x, y, x_test, y_test, resetting: Resetting, noise_rate: float = 0.0,
                      seeds: Iterable[int] = range(5), n_classes: Optional[int] = None,
                      validation: str = "split", **classifier_kwargs) -> PairedComparison:
    """Trains stochinfer.Classifier(**classifier_kwargs) on (x, y) with and without
    `resetting` for each seed and scores both kept models on the clean (x_test,
    y_test). With noise_rate > 0 each seed first corrupts y by symmetric label noise
    drawn from that seed. validation='split' (default) carves the validation set
    from the noisy training labels; 'test' is the paper's CIFAR protocol: the test
    images with labels noised alike (validation and test share images, so the
    test accuracy is optimistic). The two runs differ by resetting alone. Returns
    the paired accuracies."""
    check_resetting(resetting, layer_wise=True)
    if resetting is None:
        raise ValueError("resetting must be a stochinfer.Resetting (the treatment to compare)")
    if validation not in ("split", "test"):
        raise ValueError(f"validation must be 'split' or 'test', got {validation!r}")
    Classifier(**classifier_kwargs, resetting=resetting)  # its settings refused before any training
    try:
        seeds = list(seeds)
    except TypeError:
        raise TypeError(f"seeds must be an iterable of integer seeds, e.g. range(5), got {type(seeds).__name__}") \
            from None
    seeds = [seed_value("seeds", s) for s in seeds]  # 1.7 or '1' are refused, not read as 1
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    noise_rate = checked_rate(noise_rate)
    if validation == "test" and noise_rate > 0 and max(seeds) >= 2**64 - 2**32:
        raise ValueError(f"seeds must be < 2**64 - 2**32 with validation='test' (the validation labels' noise is "
                         f"drawn from seed + 2**32), got {max(seeds)}")
    y, y_test = class_labels("y", y), class_labels("y_test", y_test)
    # noise draws over every class of both sets (a test set may lack the largest)
    k = n_classes if n_classes is not None else int(max(np.max(y), np.max(y_test))) + 1
    x_shape, test_shape = np.shape(x), np.shape(x_test)
    if len(test_shape) != 2 or test_shape[0] != y_test.size or (len(x_shape) == 2 and test_shape[1] != x_shape[1]):
        raise ValueError(f"x_test must have shape (len(y_test), n_features) = ({y_test.size}, "
                         f"{x_shape[1] if len(x_shape) == 2 else 'n_features'}), got {test_shape}")
    base, treat, resets = [], [], []
    for s in seeds:
        labels = symmetric_label_noise(y, noise_rate, k, seed=s)[0] if noise_rate > 0 else y
        val = {}
        if validation == "test":
            y_val = symmetric_label_noise(y_test, noise_rate, k, seed=s + 2**32)[0] if noise_rate > 0 else y_test
            val = dict(x_val=x_test, y_val=y_val)
        # every run with the k classes the noise draws from: whether a class shows up in the noisy
        # labels must not change the network's width from seed to seed
        plain = Classifier(**classifier_kwargs).fit(x, labels, n_classes=k, seed=s, **val)
        reset = Classifier(**classifier_kwargs, resetting=resetting).fit(x, labels, n_classes=k, seed=s, **val)
        base.append(plain.score(x_test, y_test))
        treat.append(reset.score(x_test, y_test))
        resets.append(len(reset.resets_))
    label = f"resetting (prob {resetting.prob:g}, after {resetting.after}) at noise {noise_rate:g}"
    return PairedComparison(label, seeds, np.array(base), np.array(treat), resets)
