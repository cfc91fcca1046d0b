"""RNEEP: recurrent NEEP for partially observed, non-Markovian token sequences
(methods.md §1.4 (c)): a GRU reads windows of n tokens; ΔS(w) = g(w) − g(w
reversed). Its optimum ln p(w)/p(w^R) is a lower bound on the EP that tightens
with n."""
from __future__ import annotations

from typing import Any, Optional

from .. import _core
from .._validate import positive_int
from .data import EPData, as_ep_data
from .neep import NEEP
from .result import EPResult

_RNEEP_KEYS = ("hidden", "embed_dim", "window", "lr", "lr_schedule", "weight_decay", "decoupled_weight_decay",
               "batch", "n_iter", "eval_every", "patience", "dtype", "split", "val_max_transitions",
               "resetting",
               "optimizer", "momentum")


class RNEEP(NEEP):
    """Recurrent neural estimator of entropy production for token sequences
    observed partially (hidden states make them non-Markovian).

    Each window of `window` tokens is embedded (embed_dim), run through a one-layer
    GRU (hidden units, zero initial state), averaged over time and mapped to a
    scalar g(w). Training minimises mean(e^{−ΔS} − ΔS) over windows drawn
    uniformly; the read-out uses windows of stride window − 1 and reports EP per
    step (k_B per step, or per unit time with dt). The result is a lower bound:
    kind = 'bound'.

    Reference configuration (paper): embed 128, GRU 128, window 32, Adam lr 1e-4,
    weight decay 5e-5, batch 4096 windows, 100 000 updates (a GPU run). Our CPU
    defaults: batch 256 windows, lr 1e-3 with cosine decay, 3000 updates.
    Other parameters as for NEEP.
    """

    _method, _kind = "rneep", "bound"
    _config_keys = _RNEEP_KEYS

    def __init__(self, hidden: int = 128, *, embed_dim: int = 128, window: int = 32, lr: float = 1e-3,
                 lr_schedule: str = "cosine", weight_decay: float = 5e-5, decoupled_weight_decay: bool = True,
                 batch: int = 256, n_iter: int = 3000, eval_every: int = 250, patience: Optional[int] = None,
                 dtype: str = "float32", split=(0.6, 0.2, 0.2), val_max_transitions: int = 10**6,
                 record_test: bool = False, n_threads: Optional[int] = None, progress: Optional[bool] = None,
                 resetting=None, optimizer: str = "adam", momentum: float = 0.9):
        super().__init__(hidden=hidden, layers=1, lr=lr, lr_schedule=lr_schedule, weight_decay=weight_decay,
                         decoupled_weight_decay=decoupled_weight_decay, batch=batch, n_iter=n_iter,
                         eval_every=eval_every, patience=patience, standardize=False, embed_dim=embed_dim,
                         dtype=dtype, split=split, val_max_transitions=val_max_transitions, record_test=record_test,
                         n_threads=n_threads, progress=progress, resetting=resetting,
                         optimizer=optimizer, momentum=momentum)
        self.window = positive_int("window", window, minimum=2)
        self._window = self.window

    def fit(self, data: Any, dt: Optional[float] = None, *, seed: int = 0, model: Optional[Any] = None,
            substeps: Optional[int] = None, n_seeds: int = 1) -> EPResult:
        """Train on integer token paths (n_traj, L) (or (L,)) and estimate EP per step
        (dt = 1) on held-out data; see NEEP.fit. Trajectories need L > window."""
        d = as_ep_data(data, dt, model, substeps, min_length=self.window + 1, window=self.window)
        if not d.tokens:
            raise ValueError("RNEEP takes integer token paths; for real-valued states use NEEP")
        if d.length <= self.window:
            raise ValueError(f"paths of {d.length} points are too short for window={self.window}: each path needs "
                             "more points than the window (pass longer paths or a smaller window)")
        return super().fit(d, seed=seed, n_seeds=n_seeds)  # validated once: NEEP.fit takes the EPData as it is

    def _new_net(self, d: EPData, seed: int):
        self._state_dim, self._n_tokens = 1, int(d.data.max()) + 1
        return self._build_net(seed)

    def _build_net(self, seed: int):
        cls = _core.RneepModel32 if self.dtype == "float32" else _core.RneepModel64
        self._check_size(self._n_tokens * self.embed_dim + 4 * self.hidden * (self.hidden + self.embed_dim)
                         + self.window * self.batch * self.hidden,
                         "lower hidden, embed_dim, window or batch (or the largest token label)",
                         cls.workspace_values(n_tokens=self._n_tokens, embed_dim=self.embed_dim, hidden=self.hidden,
                                              window=self.window))
        return cls(n_tokens=self._n_tokens, embed_dim=self.embed_dim, hidden=self.hidden, window=self.window,
                   seed=int(seed), n_threads=self.n_threads)

    def __repr__(self) -> str:
        return f"RNEEP(hidden={self.hidden}, embed_dim={self.embed_dim}, window={self.window}, lr={self.lr})"
