"""Corrupted labels for studying training under label noise (methods.md §4.3)."""
from __future__ import annotations

import numbers
from typing import Mapping, Optional, Tuple

import numpy as np

from .._validate import integer, seed_value

#: CIFAR-10 asymmetric noise (Patrini et al. 2017): truck → automobile, bird → airplane,
#: cat ↔ dog, deer → horse (class indices of the standard CIFAR-10 ordering).
CIFAR10_ASYMMETRIC = {9: 1, 2: 0, 3: 5, 5: 3, 4: 7}


def cyclic_mapping(groups) -> dict:
    """An asymmetric-noise mapping that moves each class to the next one of its group,
    cyclically: groups [[0, 1, 2], [3, 4]] give {0: 1, 1: 2, 2: 0, 3: 4, 4: 3}. For
    CIFAR-100 pass its 20 super-classes (5 fine classes each; methods.md §4.3)."""
    out = {}
    for g in groups:
        g = [integer("class in groups", c) for c in g]
        if len(g) < 2 or len(set(g)) != len(g):
            raise ValueError(f"each group needs at least 2 distinct classes, got {g}")
        for a, b in zip(g, g[1:] + g[:1]):
            if a in out:
                raise ValueError(f"class {a} is in more than one group")
            out[a] = b
    if not out:
        raise ValueError("groups must hold at least one group")
    return out


#: class indices are below this (int32), as Classifier and class_labels take them
MAX_CLASSES = 2**31


def class_labels(name: str, labels, n: Optional[int] = None) -> np.ndarray:
    """Class indices as int64: a 1-D integer array (of length n when given) with
    values >= 0. Floats are refused, integer-valued or not (cast with .astype(int))."""
    y = np.asarray(labels)
    if y.ndim != 1 or (n is not None and y.shape[0] != n) or y.size == 0:
        want = f"({n},) (one class index per sample)" if n is not None else "(n,) with n >= 1"
        raise ValueError(f"{name} must have shape {want}, got {y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype} (cast with .astype(int))")
    if y.min() < 0:
        raise ValueError(f"{name} must be >= 0 (class indices), got {int(y.min())}")
    if y.max() >= MAX_CLASSES:
        raise ValueError(f"{name}: class index {int(y.max())} is too large")
    return y.astype(np.int64)


def _labels(labels, n_classes: Optional[int]) -> Tuple[np.ndarray, int]:
    y = class_labels("labels", labels)
    k = int(y.max()) + 1 if n_classes is None else integer("n_classes", n_classes)
    if k < 2 or y.max() >= k:
        raise ValueError(f"n_classes must be >= 2 and above every label (largest label {int(y.max())}), got {k}")
    if k > MAX_CLASSES:
        raise ValueError(f"n_classes must be <= 2**31: labels are drawn in [0, n_classes) and class indices must be "
                         f"below 2**31 (int32), as Classifier takes them; got {k}")
    return y, k


def noise_rate(rate) -> float:
    """A label-noise rate: a fraction in [0, 1]."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 <= float(rate) <= 1.0:
        raise ValueError(f"rate must be a fraction in [0, 1], got {rate!r}")
    return float(rate)


def symmetric_label_noise(labels, rate: float, n_classes: Optional[int] = None,
                          seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Symmetric label noise: each sample is flagged with probability `rate`, and a
    flagged label becomes a uniformly random *different* class.

    labels: class indices in [0, n_classes) (n_classes defaults to max + 1).
    Returns (noisy labels, flagged mask). The same seed gives the same noise."""
    y, k = _labels(labels, n_classes)
    rate = noise_rate(rate)
    rng = np.random.default_rng([seed_value("seed", seed), 0x1AB3])
    flagged = rng.random(y.size) < rate
    shift = rng.integers(1, k, size=y.size)  # 1 … k−1: never the true class
    noisy = np.where(flagged, (y + shift) % k, y)
    return noisy, flagged


def asymmetric_label_noise(labels, rate: float, mapping: Mapping[int, int] = CIFAR10_ASYMMETRIC,
                           seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Class-dependent label noise: each sample of a class in `mapping` is flagged
    with probability `rate` and relabelled mapping[class] (default: the CIFAR-10
    pairs of CIFAR10_ASYMMETRIC). Returns (noisy labels, flagged mask)."""
    y, _ = _labels(labels, None)
    rate = noise_rate(rate)
    if not isinstance(mapping, Mapping) or not mapping:
        raise TypeError("mapping must be a non-empty dict {class: noisy class}")
    pairs = [(integer("mapping key", a), integer("mapping value", b)) for a, b in mapping.items()]
    for a, b in pairs:
        if a < 0 or b < 0 or a == b:
            raise ValueError(f"mapping must send a class >= 0 to another class >= 0, got {a} -> {b}")
        if max(a, b) >= MAX_CLASSES:
            raise ValueError(f"mapping: class {max(a, b)} is too large ({a} -> {b}); class indices must be below "
                             "2**31 (int32), as Classifier takes them")
    # each label's target class, looked up per distinct label: no table over every class index up to the largest
    lookup = dict(pairs)
    classes, inverse = np.unique(y, return_inverse=True)
    target = np.array([lookup.get(int(c), int(c)) for c in classes], dtype=np.int64)[inverse.reshape(-1)]
    rng = np.random.default_rng([seed_value("seed", seed), 0xA5E3])
    flagged = (rng.random(y.size) < rate) & (target != y)
    return np.where(flagged, target, y), flagged
