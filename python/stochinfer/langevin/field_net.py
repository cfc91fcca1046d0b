"""One learned field (drift or diffusion) of the Langevin equation: the compiled
network (Bayes-by-Backprop or deep ensemble), its training on regression rows
and its posterior samples, all in normalised units."""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import asdict, dataclass
from typing import List, Optional

import numpy as np

from .. import _core
from ..train import Resetting, ScheduledStep, check_resetting, network_state, run_training, set_network_state
from .._validate import check_output_fits, momentum_value, positive_float, user_stacklevel
from .linear import MAX_DEGREE, linear_fit, linear_fit_chol
from .out_of_bag import draw_out_of_bag

METHODS = ("bbb", "ensemble")


@dataclass
class TrainSettings:
    """Training settings of one field network (methods.md §3.2, §3.4).

    lr, batch, n_iter (optimiser updates; None: three passes over the training rows,
    at least 3000 and at most 15 000), eval_every (updates between validation
    evaluations), patience (updates without improvement before stopping; None:
    never), lr_schedule ('cosine' to lr/100 or 'constant'), n_samples (K weight
    samples per minibatch), beta (KL weight; the KL term is beta / N_batches times
    the mean KL per Bayesian parameter), kl_gradient ('elbo' or 'detached', the
    published code's behaviour), optimizer ('adam', default, or 'sgd': SGD with
    `momentum`, torch.optim.SGD's update, as the resetting paper trained), weight_decay
    (Adam: decoupled, AdamW; SGD: torch's L2 term), resetting
    (stochinfer.train.Resetting: stochastic resetting to the best checkpoint once
    the validation NLL stalls, methods.md §4; patience then does not apply; None:
    off), val_samples (weight samples per validation row in the validation NLL, which
    is their mean; one pass where the network samples no weights), max_val_rows (most
    validation rows evaluated: a fixed random subset of this many where there are
    more, per member for out-of-bag validation). SGD needs a far larger lr than Adam's
    1e-3: on OU data with no drift or diffusion base, lr 0.5 with momentum 0.9 reached
    drift R² 0.93 in 1200 updates (Adam 1e-3: 0.96; SGD 1e-3: no fit)."""

    lr: float = 1e-3
    batch: int = 256
    n_iter: Optional[int] = None
    eval_every: int = 100
    patience: Optional[int] = 1500
    lr_schedule: str = "cosine"
    n_samples: int = 3
    beta: float = 0.01
    kl_gradient: str = "elbo"
    weight_decay: float = 0.0
    val_samples: int = 3
    max_val_rows: int = 20_000
    resetting: Optional[Resetting] = None
    optimizer: str = "adam"
    momentum: float = 0.9

    def resolved_n_iter(self, n_train: int) -> int:
        """The number of updates: n_iter, or for None three passes over n_train rows, within [3000, 15 000]."""
        if self.n_iter is not None:
            return int(self.n_iter)
        return int(min(15_000, max(3000, 3 * math.ceil(n_train / self.batch))))

    def validate(self) -> None:
        """Checks every setting; raises ValueError (or TypeError) naming one out of range or of the wrong type."""
        for name in ("batch", "n_iter", "eval_every", "n_samples", "val_samples", "max_val_rows"):
            v = getattr(self, name)
            if v is None and name == "n_iter":
                continue
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
            if name in ("n_samples", "val_samples") and v > 2**31 - 1:  # the core counts them in a C int
                raise ValueError(f"{name} must be an integer in [1, {2**31 - 1}] (weight samples per row; default "
                                 f"3), got {v!r}")
        positive_float("lr", self.lr)
        positive_float("beta", self.beta, allow_zero=True)
        if self.patience is not None and (isinstance(self.patience, (bool, np.bool_))
                                          or not isinstance(self.patience, (int, np.integer)) or self.patience < 1):
            raise ValueError(f"patience must be an integer >= 1 or None, got {self.patience!r}")
        if self.lr_schedule not in ("cosine", "constant"):
            raise ValueError(f"lr_schedule must be 'cosine' or 'constant', got {self.lr_schedule!r}")
        if self.kl_gradient not in ("elbo", "detached"):
            raise ValueError(f"kl_gradient must be 'elbo' or 'detached', got {self.kl_gradient!r}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        momentum_value(self.momentum)
        positive_float("weight_decay", self.weight_decay, allow_zero=True)
        check_resetting(self.resetting)


def history_interrupted(history: dict) -> bool:
    """Whether Ctrl-C stopped the training a FieldNetwork.fit history records, or its refit."""
    return bool(history.get("interrupted") or (history.get("refit") or {}).get("interrupted"))


def refuse_refit_with_out_of_bag(refit: bool, out_of_bag: bool) -> None:
    """refit retrains on the validation rows, which out-of-bag validation already trains on."""
    if refit and out_of_bag:
        raise ValueError("refit=True retrains on the validation rows, which out-of-bag validation already trains "
                         "on; use validation='split' with refit")


def refuse_refit_with_resetting(refit: bool, *settings: TrainSettings) -> None:
    """refit retrains for the validated number of updates; with resets that count says nothing."""
    if refit and any(s.resetting is not None for s in settings):
        raise ValueError("refit=True retrains for the validated number of updates, which resetting makes "
                         "meaningless; use one or the other")


class _MemberCheckpoints:
    """Each ensemble member's own lowest-validation-NLL parameters. The members are
    independent models trained in one batched pass; one shared checkpoint (the
    lowest mean NLL) stops them all at the same update, typically the one that
    suits the average member. Inhomogeneous system, seed 0: the shared checkpoint
    was at update 100 (members ≈ their bootstrap linear fits, error–variance
    correlation −0.11); per-member checkpoints gave +0.16 (bench/RESULTS.md)."""

    def __init__(self, n_members: int, eval_every: int, n_iter: int):
        self.best = np.full(n_members, np.inf)
        self.iterations = np.zeros(n_members, dtype=np.int64)
        self.params: Optional[np.ndarray] = None
        self._step, self._n_iter, self._evals = eval_every, n_iter, 0

    def update(self, per_member: np.ndarray, get_params) -> None:
        self._evals += 1  # run_training evaluates after every eval_every updates (the last block may be short)
        better = per_member < self.best
        if not better.any():
            return
        p = get_params().reshape(self.best.size, -1)  # members' parameters are contiguous blocks
        if self.params is None:
            self.params = p.copy()
        self.params[better] = p[better]
        self.best[better] = per_member[better]
        self.iterations[better] = min(self._evals * self._step, self._n_iter)


class FieldNetwork:
    """A drift ('affine' head) or diffusion ('cholesky' head) network.

    method 'bbb': one network whose last n_bayes layers are Bayesian; 'ensemble':
    n_members deterministic networks trained together, each on its own bootstrap
    resample of the training rows when bootstrap=True. linear_base (affine head):
    fit() first fits the field by least squares on the monomials of the inputs up
    to base_degree (1: linear; each member on its own rows), adds that fit to the
    head and zeroes the output layer, so the network starts at the fit and learns
    the residual from it; early stopping then shrinks towards the fit rather than
    towards the random initial function (bench/RESULTS.md). Ensembles: training stops on the members' mean
    validation NLL, and each member keeps its own best checkpoint."""

    def __init__(self, head: str, in_dim: int, d: int, mean: np.ndarray, scale: np.ndarray, pred_scale: float, *,
                 hidden: int = 256, layers: int = 4, n_bayes: int = 2, method: str = "bbb", n_members: int = 5,
                 bootstrap: bool = True, linear_base: bool = False, base_degree: int = 1, dtype: str = "float32",
                 seed: int = 0, n_threads: Optional[int] = None):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        if linear_base and head != "affine":
            raise ValueError("linear_base needs the affine (drift) head")
        self.head, self.dtype = head, dtype
        self.n_threads = n_threads  # not saved: a loaded fit takes its own
        self.linear_base = bool(linear_base)
        if base_degree not in range(1, MAX_DEGREE + 1):
            raise ValueError(f"base_degree must be in 1..{MAX_DEGREE}, got {base_degree!r}")
        self.base_degree = int(base_degree)
        self.bootstrap = bool(bootstrap) and method == "ensemble"
        m = d * (d + 1) // 2 if head == "cholesky" else d
        n_bayes = n_bayes if method == "bbb" else 0
        members = n_members if method == "ensemble" else 1
        if in_dim == 0:  # homogeneous: a constant vector, Bayesian for bbb (unless no layer is)
            hidden, layers, n_bayes = 1, 1, min(n_bayes, 1)
        cls = _core.LangevinNet32 if dtype == "float32" else _core.LangevinNet64
        n_params = in_dim * hidden + max(layers - 2, 0) * hidden * hidden + hidden * m + layers * hidden
        # parameters, gradients, Adam moments (4), the loop's checkpoint with its moments (3), the
        # members' own (1), resetting's frozen checkpoint (3); twice for Bayesian layers (mu, rho): < 24;
        # and each worker thread's scratch, a chunk of points through every layer (from the core: 2·10⁵
        # layers of width 2 hold 0.4 GB per thread whatever the parameter count)
        threads = n_threads or os.cpu_count() or 1
        workspace = cls.workspace_values(in_dim=in_dim, out_dim=m, hidden=hidden, n_layers=layers, n_bayes=n_bayes)
        check_output_fits((members * 24 * n_params + threads * workspace,), dtype,
                          "use a smaller hidden width or fewer layers or members")
        self.net = cls(in_dim=in_dim, out_dim=m, hidden=hidden, n_layers=layers, n_bayes=n_bayes,
                       activation="elu", prior_std=0.1, rho_init=-5.0, head=head, d=d,
                       mean=[float(v) for v in mean], scale=[float(v) for v in scale],
                       pred_scale=float(pred_scale), diag_eps=1e-6, n_members=members, seed=seed,
                       n_threads=n_threads or 0)
        # everything restore() needs to rebuild this network (saved by LangevinFit.save)
        self.config = dict(head=head, in_dim=in_dim, d=d, mean=[float(v) for v in mean],
                           scale=[float(v) for v in scale], pred_scale=float(pred_scale), hidden=hidden,
                           layers=layers, n_bayes=n_bayes, method=method, n_members=members,
                           bootstrap=self.bootstrap, linear_base=self.linear_base, base_degree=self.base_degree,
                           dtype=dtype)
        self.history: dict = {}
        self._initial = self.net.get_params().copy()  # a refit starts again from here

    @property
    def sampled_params(self) -> int:
        """Weights drawn per posterior sample: the Bayesian layers' (and the linear base's
        coefficients); 0 for ensembles, whose members are the samples."""
        c = self.config
        if c["method"] != "bbb" or c["n_bayes"] == 0:
            return 0
        m = c["d"] * (c["d"] + 1) // 2 if c["head"] == "cholesky" else c["d"]
        if c["in_dim"] == 0:  # homogeneous: one Bayesian vector
            return m
        widths = [c["in_dim"]] + [c["hidden"]] * (c["layers"] - 1) + [m]
        layers = list(zip(widths[:-1], widths[1:]))[-c["n_bayes"]:]
        base = len(self.config.get("linear", []))
        return sum(a * b + b for a, b in layers) + base

    @classmethod
    def restore(cls, config: dict, params: np.ndarray, n_threads: Optional[int] = None) -> "FieldNetwork":
        """A network rebuilt from its `config` and trained parameters (LangevinFit.load)."""
        c = dict(config)
        coeffs, chol = c.pop("linear", []), c.pop("linear_chol", [])
        net = cls(c.pop("head"), c.pop("in_dim"), c.pop("d"), np.array(c.pop("mean")), np.array(c.pop("scale")),
                  c.pop("pred_scale"), n_threads=n_threads, **c)
        net.net.set_params(params)
        net._set_linear(np.asarray(coeffs, dtype=np.float64), np.asarray(chol, dtype=np.float64))
        return net

    def _set_linear(self, coeffs: np.ndarray, chol: np.ndarray = np.zeros(0)) -> None:
        self.config["linear"] = [float(v) for v in np.ravel(coeffs)]
        self.config["linear_chol"] = [float(v) for v in np.ravel(chol)]
        self.net.set_linear_base(self.config["linear"], self.config["linear_chol"], self.base_degree)

    def _fit_linear_base(self, x: np.ndarray, y: np.ndarray, rows: np.ndarray) -> None:
        """Least-squares linear fit of the field on each member's rows, as the head's
        base; the output layer is zeroed so training starts from it. Ensembles carry
        the fit's uncertainty in their members' bootstrap fits; Bayes-by-Backprop
        samples it from the fit's sampling covariance in posterior predictions."""
        target = y.astype(np.float64) / self.config["pred_scale"] - np.asarray(self.config["mean"])
        member_rows = rows if rows.ndim == 2 else np.broadcast_to(rows, (self.n_members, rows.size))
        coeffs, chols = [], []
        for r in member_rows:
            xr = x[r].astype(np.float64)
            c = linear_fit(xr, target[r], self.base_degree)
            coeffs.append(c)
            if self.config["method"] == "bbb":
                chols.append(linear_fit_chol(xr, target[r], c, self.base_degree))
        self._set_linear(np.stack(coeffs), np.stack(chols) if chols else np.zeros(0))
        self.net.zero_output_layer()

    def start_at_mean(self) -> None:
        """Zeroes the output layer, so the network starts at its de-normalisation
        mean (the diffusion base times the mean ratio); a refit starts there too."""
        self.net.zero_output_layer()
        self._initial = self.net.get_params().copy()

    @property
    def n_members(self) -> int:
        return self.net.n_members

    def _member_rows(self, train_rows: np.ndarray, seed: int) -> np.ndarray:
        rows = np.ascontiguousarray(train_rows, dtype=np.int64)
        if self.bootstrap:
            rng = np.random.default_rng([seed, 7])
            rows = np.ascontiguousarray(rows[rng.integers(0, rows.size, size=(self.n_members, rows.size))])
        return rows

    def _steps(self, x, y, rows, settings: TrainSettings, n_iter: int, n_train: int, seed: int):
        kl_weight = settings.beta / math.ceil(n_train / settings.batch)
        return ScheduledStep(
            lambda k, lr: self.net.train(x, y, rows, k, settings.batch, settings.n_samples, kl_weight,
                                         settings.kl_gradient, lr, settings.weight_decay, seed,
                                         settings.optimizer, float(settings.momentum)),
            settings.lr, settings.lr_schedule, n_iter), kl_weight

    def fit(self, x: np.ndarray, y: np.ndarray, train_rows: np.ndarray, val_rows: np.ndarray,
            settings: TrainSettings, seed: int = 0, progress: Optional[bool] = None, desc: str = "",
            refit: bool = False, oob_blocks: Optional[List[np.ndarray]] = None, keep_unvalidated: bool = False) -> dict:
        """Trains on rows of (x, y); keeps the parameters with the lowest validation NLL.
        keep_unvalidated: Ctrl-C before the first evaluation keeps the network as it is
        (run_training) instead of raising: for the networks after a fit's first.
        refit: then trains again from the same initial weights on the training and
        validation rows together, for the number of updates the validation chose
        (same schedule and minibatch keys): a quarter more data at the default split.
        oob_blocks (bagged ensembles; ignored otherwise): bootstrap blocks covering the
        training and validation rows (out_of_bag.row_blocks); each member then trains
        on a block bootstrap of all of them and validates on its own out-of-bag rows
        (train_rows and val_rows are not used)."""
        settings.validate()
        refuse_refit_with_resetting(refit, settings)
        oob = None
        if oob_blocks is not None and self.bootstrap:
            refuse_refit_with_out_of_bag(refit, True)
            oob = draw_out_of_bag(oob_blocks, self.n_members, settings.max_val_rows,
                                  np.random.default_rng([seed, 7]))
        n_val = max(v.size for v in oob.val) if oob is not None else min(val_rows.size, settings.max_val_rows)
        # a minibatch's row indices: the core runs it in chunks of 64 rows per thread, so its activations
        # do not grow with the batch (this counted K·batch·4·width and refused a 960 000-row batch that
        # runs in a few MB)
        check_output_fits((self.n_members, settings.batch), np.int64, "lower batch in the training settings")
        # validation: chunks of 256 rows per task too, with each member's row list (this counted
        # K·val_samples·n_val·4·width activations, 2.5 GB for a default ensemble that needs a few MB)
        check_output_fits((self.n_members, n_val), np.int64, "lower max_val_rows in the training settings")
        if self.config.get("n_bayes", 0) > 0:  # Bayesian layers: every weight sample is drawn at once
            check_output_fits((self.n_members, max(settings.n_samples, settings.val_samples),
                               2 * self.net.n_params_member), self.dtype,
                              "lower n_samples or val_samples in the training settings")
        n_train = oob.train.shape[1] if oob is not None else train_rows.size
        n_iter = settings.resolved_n_iter(n_train)
        dt_np = np.float32 if self.dtype == "float32" else np.float64
        x = np.ascontiguousarray(x, dtype=dt_np)
        y = np.ascontiguousarray(y, dtype=dt_np)
        if oob is not None:
            rows, val_rows, all_rows = oob.train, oob.val, None
        else:
            rows = self._member_rows(train_rows, seed)
            all_rows = np.union1d(train_rows, val_rows)
            if val_rows.size > settings.max_val_rows:  # a fixed subset keeps evaluation cheap on big data
                pick = np.random.default_rng([seed, 5]).choice(val_rows.size, settings.max_val_rows, replace=False)
                val_rows = np.sort(val_rows[pick])
            val_rows = np.ascontiguousarray(val_rows, dtype=np.int64)
        if self.linear_base:
            self._fit_linear_base(x, y, rows)
        step, kl_weight = self._steps(x, y, rows, settings, n_iter, n_train, seed)

        members = _MemberCheckpoints(self.n_members, settings.eval_every, n_iter) if self.n_members > 1 else None

        def evaluate():
            per_member = np.asarray(self.net.nll(x, y, val_rows, settings.val_samples, seed + 1))
            if members is not None:
                members.update(per_member, self.net.get_params)
            return {"val_loss": float(np.mean(per_member))}

        hist = run_training(step, evaluate, self._get_state, self._set_state, n_iter, settings.eval_every,
                            settings.patience, progress, desc=desc or f"{self.head} network",
                            resetting=settings.resetting, seed=seed, keep_unvalidated=keep_unvalidated)
        if members is not None and members.params is not None:
            self.net.set_params(members.params.reshape(-1))
            hist["member_best_iterations"] = members.iterations.tolist()
            hist["member_best_val_loss"] = members.best.tolist()
        hist["settings"] = asdict(settings)
        hist["kl_weight"] = kl_weight
        hist["n_iter"] = n_iter
        hist["validation"] = ({"kind": "out_of_bag", "train_rows": int(n_train),
                               "val_rows": [int(v.size) for v in oob.val]}  # each member's own
                              if oob is not None else {"kind": "split", "train_rows": int(train_rows.size),
                                                       "val_rows": int(n_val)})
        if refit and hist.get("diverged"):
            warnings.warn(f"{desc or self.head + ' network'}: no refit after a diverged training; keeping the "
                          "model chosen on the validation rows", RuntimeWarning, stacklevel=user_stacklevel())
        elif refit and not hist["interrupted"]:
            # each ensemble member for its own validated number of updates (one shared count is the
            # shared-checkpoint failure _MemberCheckpoints avoids)
            counts = hist.get("member_best_iterations", [hist["best"]["iteration"]] * self.n_members)
            hist["refit"] = self._refit(x, y, all_rows, settings, n_iter, counts, seed)
        self.history = hist
        return hist

    def _get_state(self):
        """Parameters with their optimiser state: what a checkpoint and a reset to it hold."""
        return network_state(self.net)

    def _set_state(self, state) -> None:
        set_network_state(self.net, state)

    def _refit(self, x, y, all_rows: np.ndarray, settings: TrainSettings, n_iter: int, counts: list,
               seed: int) -> dict:
        """Retrains from the initial weights on all_rows, member e for counts[e] updates
        (the members train together; each keeps its parameters at its own count); on
        Ctrl-C keeps the validated model."""
        selected = self.net.get_params().copy()
        linear = (np.array(self.config.get("linear", [])), np.array(self.config.get("linear_chol", [])))
        rows = self._member_rows(all_rows, seed)
        self.net.set_params(self._initial)
        self.net.reset_optimizer()
        if self.linear_base:
            self._fit_linear_base(x, y, rows)
        step, _ = self._steps(x, y, rows, settings, n_iter, all_rows.size, seed)
        counts = [int(c) for c in counts]
        kept = np.empty((self.n_members, self.net.n_params_member), dtype=selected.dtype)
        done = 0
        try:
            for target in sorted(set(counts)):
                if target > done:
                    step(target - done)
                    done = target
                at = self.net.get_params().reshape(self.n_members, -1)
                for e, c in enumerate(counts):
                    if c == target:
                        kept[e] = at[e]
        except KeyboardInterrupt:
            self.net.set_params(selected)
            self._set_linear(*linear)
            warnings.warn("refit interrupted: keeping the model chosen on the validation rows", stacklevel=3)
            return {"rows": int(all_rows.size), "updates": 0, "interrupted": True}
        self.net.set_params(kept.reshape(-1))
        return {"rows": int(all_rows.size), "updates": counts if self.n_members > 1 else counts[0],
                "interrupted": False}

    def samples(self, x: np.ndarray, n_samples: int, seed: int, paired: bool = False) -> np.ndarray:
        """Fields (S, n, m) in normalised units: n_samples posterior samples (bbb) or
        the members (ensemble); n_samples = 0 gives the mean weights. paired: x is
        (S, n, in_dim) and sample s is evaluated on x[s] only."""
        dt_np = np.float32 if self.dtype == "float32" else np.float64
        return self.net.predict(np.ascontiguousarray(x, dtype=dt_np), n_samples, seed, paired).astype(np.float64)
