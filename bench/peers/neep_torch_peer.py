"""PyTorch reference NEEP peer (neural entropy-production estimator).

A faithful CPU re-implementation of Kim, Bae, Lee & Jeong, "Learning entropy
production via neural networks", PRL 125, 140604 (2020), following the public
reference code (github.com/kdkyum/neep: ``model/net.py``, ``misc/sampler.py``,
``train_bead_spring.py``):

* network h(s, s'): input [s ; s'] (2d) -> Linear(2d, H) + ReLU
  -> (n_layers - 1) x [Linear(H, H) + ReLU] -> Linear(H, 1), PyTorch default
  init (in-place ReLU as in the reference);  Delta S = h(s, s') - h(s', s);
* loss mean(exp(-Delta S) - Delta S); ``torch.optim.Adam(lr, weight_decay=wd)``
  (coupled L2, as in the reference); defaults lr 1e-4, wd 5e-5, batch 4096,
  H = 256, 3 layers;
* sampler: every iteration draws ``batch`` (trajectory, time) pairs uniformly
  with replacement from {0..M-1} x {0..L-2} (the reference's
  ``random.choices`` over the Cartesian set; here ``torch.randint`` with a
  seeded ``torch.Generator``), transition (x[m, t], x[m, t+1]);
* evaluation: the full validation and test sets in order (trajectory-major),
  chunks of 10,000 transitions under ``torch.no_grad()``; EP rate = mean
  Delta S / dt; the reported rate is the test rate at the best validation loss.

Two ways of evaluating the pair, ``pair_pass``:

* ``"two"``:   two separate forward calls h([s, s']) and h([s', s]) (exactly
  the reference ``NEEP.forward``);
* ``"fused"``: both orders stacked into one 2B-row batch, one forward call.

The two are mathematically identical (same parameters, same gradients up to
float summation order).  Default: ``"two"`` (``DEFAULT_PAIR_PASS``), the
reference's own formulation and the faster one at the reference size.  Measured
on 2 CPU threads (torch 2.13.0+cpu, batch 4096, d = 5, 3 layers, median over
blocks of steps on a shared, noisy 2-core machine): H = 256: "two" ~21-22
steps/s vs "fused" ~20 (two ~7-10 % faster; likely the fused pass's 2B-row
activations fitting cache worse -- not profiled); H = 64: "two" ~130 vs "fused" ~133-140 (fused
~3-5 % faster; likely halved per-call overhead -- not profiled).  Pass
``pair_pass="fused"`` explicitly for small networks.

Data layout: each data set is wrapped ONCE with ``torch.from_numpy`` (zero
copy; a C-contiguous array is required, otherwise one ``np.ascontiguousarray``
copy is made) and viewed as a flat (M*L, d) tensor; batches are gathered with
``index_select`` at flat indices m*L + t and m*L + t + 1.  The model dtype is
the data's dtype unless ``dtype`` is given (then a mismatching array is
converted once, before the clock starts).

Deviations from the reference scripts (all bookkeeping, none in the estimator):
no evaluation before the first step (the reference evaluates at iteration 1
before training), best checkpoint is kept in memory (a copy of the state dict)
instead of on disk, and model selection uses a separate validation set (the
reference bead-spring script selects on its test loss).
"""
from __future__ import annotations

import copy
import time
from typing import Optional

import numpy as np

try:
    import torch
    from torch import nn
    _IMPORT_ERROR: Optional[BaseException] = None
except Exception as _exc:  # pragma: no cover - torch missing
    torch = None  # type: ignore[assignment]
    nn = None  # type: ignore[assignment]
    _IMPORT_ERROR = _exc

NAME = "neep_torch"
PAIR_PASSES = ("two", "fused")
DEFAULT_PAIR_PASS = "two"
EVAL_CHUNK = 10_000
_TORCH_DTYPES = {"float32": "float32", "float64": "float64"}


def available() -> bool:
    """True if torch can be imported."""
    return _IMPORT_ERROR is None


def set_threads(n: int) -> None:
    """``torch.set_num_threads(n)`` (intra-op threads used by the CPU kernels)."""
    torch.set_num_threads(int(n))


def versions() -> dict:
    """Library versions and thread count, for the benchmark's metadata."""
    if not available():
        return {"torch": None, "error": repr(_IMPORT_ERROR)}
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def _torch_dtype(dtype) -> "torch.dtype":
    name = np.dtype(dtype).name
    if name not in _TORCH_DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {name}")
    return getattr(torch, name)


# --------------------------------------------------------------------------- model
if available():

    class NEEP(nn.Module):
        """h(s, s') MLP; ``forward(s, s2)`` returns Delta S = h(s, s2) - h(s2, s), shape (B, 1)."""

        def __init__(self, d: int, hidden: int = 256, n_layers: int = 3, pair_pass: str = DEFAULT_PAIR_PASS):
            super().__init__()
            if n_layers < 1:
                raise ValueError("n_layers must be >= 1")
            if pair_pass not in PAIR_PASSES:
                raise ValueError(f"pair_pass must be one of {PAIR_PASSES}, got {pair_pass!r}")
            self.pair_pass = pair_pass
            layers = [nn.Linear(2 * d, hidden), nn.ReLU(inplace=True)]
            for _ in range(n_layers - 1):
                layers += [nn.Linear(hidden, hidden), nn.ReLU(inplace=True)]
            layers.append(nn.Linear(hidden, 1))
            self.h = nn.Sequential(*layers)

        def forward(self, s: "torch.Tensor", s2: "torch.Tensor") -> "torch.Tensor":
            if self.pair_pass == "two":
                return self.h(torch.cat([s, s2], dim=-1)) - self.h(torch.cat([s2, s], dim=-1))
            b = s.shape[0]
            out = self.h(torch.cat([torch.cat([s, s2], dim=-1), torch.cat([s2, s], dim=-1)], dim=0))
            return out[:b] - out[b:]


def _as_flat_tensor(x: np.ndarray, tdtype) -> "tuple[torch.Tensor, int, int]":
    """Wrap a (M, L, d) array as one flat (M*L, d) tensor (zero copy when possible)."""
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"expected a (n_traj, L, d) array, got shape {x.shape}")
    m, length, d = x.shape
    if length < 2:
        raise ValueError("trajectories need L >= 2 frames")
    if x.dtype != np.dtype(str(tdtype).replace("torch.", "")):
        x = x.astype(str(tdtype).replace("torch.", ""))  # one conversion, before timing
    x = np.ascontiguousarray(x)  # no-op for C-contiguous input
    t = torch.from_numpy(x)      # shares memory with x
    return t.view(m * length, d), m, length


def _sample(gen, m: int, length: int, batch: int) -> "torch.Tensor":
    """Flat start indices m*L + t of ``batch`` uniform (m, t) pairs, t in [0, L-2]."""
    traj = torch.randint(0, m, (batch,), generator=gen)
    tt = torch.randint(0, length - 1, (batch,), generator=gen)
    return traj * length + tt


def _step(model, optim, xf, idx) -> None:
    s = xf.index_select(0, idx)
    s2 = xf.index_select(0, idx + 1)
    ds = model(s, s2)
    loss = (torch.exp(-ds) - ds).mean()
    optim.zero_grad()
    loss.backward()
    optim.step()


@torch.no_grad() if available() else (lambda f: f)
def _evaluate(model, xf, m: int, length: int, dt: float) -> "tuple[float, float]":
    """(loss, EP rate) over all M*(L-1) transitions, in order, chunks of EVAL_CHUNK."""
    model.eval()
    n = m * (length - 1)
    loss_sum = 0.0
    ds_sum = 0.0
    for k0 in range(0, n, EVAL_CHUNK):
        k = torch.arange(k0, min(k0 + EVAL_CHUNK, n))
        idx = (k // (length - 1)) * length + k % (length - 1)
        ds = model(xf.index_select(0, idx), xf.index_select(0, idx + 1))
        loss_sum += float((torch.exp(-ds) - ds).sum(dtype=torch.float64))
        ds_sum += float(ds.sum(dtype=torch.float64))
    model.train()
    return loss_sum / n, ds_sum / n / dt


# --------------------------------------------------------------------------- API
def train(x_train: np.ndarray, x_val: np.ndarray, x_test: np.ndarray, dt: float, *,
          hidden: int = 256, n_layers: int = 3, lr: float = 1e-4, weight_decay: float = 5e-5,
          batch: int = 4096, n_iter: int = 1000, eval_every: int = 100, seed: int = 0,
          pair_pass: Optional[str] = None, time_budget_s: Optional[float] = None,
          target_rate: Optional[float] = None, target_rel: float = 0.02,
          stop_at_target: bool = False, dtype: Optional[str] = None) -> dict:
    """Train NEEP on ``x_train`` (M, L, d); evaluate on ``x_val`` / ``x_test``.

    Evaluations happen after every ``eval_every`` iterations and after the last
    iteration (also when stopping early).  Early stop: when the wall time since
    the start exceeds ``time_budget_s`` (checked every iteration), or, with
    ``stop_at_target``, at the first evaluation whose reported rate (test rate
    at the best validation loss so far) is within ``target_rel`` (relative) of
    ``target_rate``.

    Returns a dict with
      history: [{iteration, wall_s, eval_s, val_loss, test_loss, test_rate}],
               wall_s = wall time since the start of training at the end of that
               evaluation (evaluation time included), eval_s = time spent in
               that evaluation;
      best: the history entry with the lowest validation loss (its test_rate is
            the reported EP rate);
      best_state: a copy of the model state dict at that entry;
      time_to_target_s: wall_s of the first evaluation whose best-so-far rate
            is within target_rel of target_rate (None if never / no target);
      steps_per_s: training iterations per second, evaluation time excluded;
      n_iter_done, eval_s_total, train_s_total, pair_pass, dtype, n_threads.
    """
    if not available():
        raise RuntimeError(f"torch unavailable: {_IMPORT_ERROR!r}")
    if dt <= 0:
        raise ValueError("dt must be > 0")
    pair_pass = DEFAULT_PAIR_PASS if pair_pass is None else pair_pass
    tdtype = _torch_dtype(dtype if dtype is not None else np.asarray(x_train).dtype)
    xf, m, length = _as_flat_tensor(x_train, tdtype)
    xv, mv, lv = _as_flat_tensor(x_val, tdtype)
    xt, mt, lt = _as_flat_tensor(x_test, tdtype)
    d = xf.shape[1]
    if xv.shape[1] != d or xt.shape[1] != d:
        raise ValueError("train / val / test must have the same state dimension")

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = NEEP(d, hidden, n_layers, pair_pass).to(tdtype)
    model.train()
    optim = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)

    history: list = []
    best: Optional[dict] = None
    best_state = None
    time_to_target = None
    eval_total = 0.0
    it = 0
    t0 = time.perf_counter()

    def do_eval(i: int) -> bool:
        nonlocal best, best_state, time_to_target, eval_total
        te0 = time.perf_counter()
        vloss, _ = _evaluate(model, xv, mv, lv, dt)
        tloss, trate = _evaluate(model, xt, mt, lt, dt)
        if best is None or vloss < best["val_loss"]:
            best_state = copy.deepcopy(model.state_dict())
            is_best = True
        else:
            is_best = False
        te1 = time.perf_counter()
        eval_total += te1 - te0
        entry = {"iteration": i, "wall_s": te1 - t0, "eval_s": te1 - te0,
                 "val_loss": vloss, "test_loss": tloss, "test_rate": trate}
        if is_best:
            best = entry
        entry["best_rate"] = best["test_rate"]
        history.append(entry)
        hit = (target_rate is not None
               and abs(best["test_rate"] - target_rate) <= target_rel * abs(target_rate))
        if hit and time_to_target is None:
            time_to_target = entry["wall_s"]
        return hit

    last_eval = 0
    while it < n_iter:
        _step(model, optim, xf, _sample(gen, m, length, batch))
        it += 1
        over_budget = time_budget_s is not None and time.perf_counter() - t0 > time_budget_s
        if it % eval_every == 0 or it == n_iter or over_budget:
            last_eval = it
            if do_eval(it) and stop_at_target:
                break
        if over_budget:
            break
    if last_eval != it:  # pragma: no cover - defensive
        do_eval(it)
    total = time.perf_counter() - t0
    train_s = total - eval_total
    return {
        "history": history,
        "best": best,
        "best_state": best_state,
        "time_to_target_s": time_to_target,
        "steps_per_s": it / train_s if train_s > 0 else float("nan"),
        "n_iter_done": it,
        "train_s_total": train_s,
        "eval_s_total": eval_total,
        "pair_pass": pair_pass,
        "dtype": str(tdtype).replace("torch.", ""),
        "n_threads": torch.get_num_threads(),
    }


def training_steps_per_second(d: int, hidden: int = 256, n_layers: int = 3, batch: int = 4096,
                              n_steps: int = 50, warmup: int = 5, dtype: str = "float32",
                              pair_pass: Optional[str] = None, n_traj: int = 100, length: int = 1000,
                              lr: float = 1e-4, weight_decay: float = 5e-5, seed: int = 0) -> float:
    """Training iterations per second (sampling + forward + backward + Adam step).

    Random N(0, 1) data of shape (n_traj, length, d); ``warmup`` untimed steps,
    then ``n_steps`` steps timed with ``time.perf_counter``.
    """
    if not available():
        raise RuntimeError(f"torch unavailable: {_IMPORT_ERROR!r}")
    pair_pass = DEFAULT_PAIR_PASS if pair_pass is None else pair_pass
    tdtype = _torch_dtype(dtype)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_traj, length, d)).astype(np.dtype(dtype))
    xf, m, length = _as_flat_tensor(x, tdtype)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = NEEP(d, hidden, n_layers, pair_pass).to(tdtype)
    optim = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(warmup):
        _step(model, optim, xf, _sample(gen, m, length, batch))
    t0 = time.perf_counter()
    for _ in range(n_steps):
        _step(model, optim, xf, _sample(gen, m, length, batch))
    return n_steps / (time.perf_counter() - t0)
