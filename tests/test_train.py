"""Training machinery shared by the estimators (stochinfer.train): learning-rate
schedule and the loss a training step reports."""
import math

import numpy as np
import pytest

from stochinfer.train import Resetting, ScheduledStep, run_training, scheduled_lr


def test_cosine_schedule_runs_from_lr_to_a_hundredth():
    assert scheduled_lr(1e-3, "cosine", 0, 1000) == pytest.approx(1e-3)
    assert scheduled_lr(1e-3, "cosine", 500, 1000) == pytest.approx(1e-3 * (0.01 + 0.99 * 0.5))
    assert scheduled_lr(1e-3, "cosine", 1000, 1000) == pytest.approx(1e-5)
    assert scheduled_lr(1e-3, "cosine", 5000, 1000) == pytest.approx(1e-5)  # held after the end
    assert scheduled_lr(1e-3, "constant", 700, 1000) == 1e-3


@pytest.mark.parametrize("n", [79, 50, 130, 1])
def test_a_step_reports_the_mean_loss_over_its_updates(n):
    """Blocks of unequal length (79 = 50 + 29): the mean over updates, not over blocks."""
    updates, lrs = [], []

    def train_block(k, lr):  # the loss of update u is u; lr at the block's midpoint
        start = len(updates)
        updates.extend(range(start, start + k))
        lrs.append(lr)
        return k, float(np.mean(range(start, start + k)))

    step = ScheduledStep(train_block, 1e-3, "cosine", 300, block=50)
    assert step(n) == pytest.approx(np.mean(range(n)))
    assert step(n) == pytest.approx(np.mean(range(n, 2 * n)))
    first = min(n, 50)
    assert lrs[0] == pytest.approx(scheduled_lr(1e-3, "cosine", first / 2, 300))


# ---- stochastic resetting (methods.md §4) -------------------------------------------------------

class _Plateau:
    """A fake estimator: the validation loss falls until update `improve_until`, then
    stays above its best (except an optional new best at update `late_best`). The
    'state' is the number of updates trained into it, so restoring a checkpoint is
    visible as the state going back."""

    def __init__(self, improve_until, late_best=None):
        self.state, self.restored, self.improve_until, self.late_best = 0, [], improve_until, late_best
        self.it = 0

    def step(self, n):
        self.state += n
        self.it += n
        return 1.0

    def evaluate(self):
        if self.it == self.late_best:
            return {"val_loss": -1.0}
        return {"val_loss": 1.0 / self.it if self.it <= self.improve_until else 1.0}

    def get_state(self):
        return self.state

    def set_state(self, s):
        self.restored.append((self.it, s))
        self.state = s


def test_resets_come_at_rate_prob_after_the_trigger_and_restore_the_checkpoint():
    p, n_iter, after = 0.01, 200_000, 500
    fake = _Plateau(improve_until=1000)
    out = run_training(fake.step, fake.evaluate, fake.get_state, fake.set_state, n_iter, 100, patience=50,
                       resetting=Resetting(prob=p, after=after), seed=3)
    assert out["iterations"] == n_iter and not out["stopped_early"]  # patience does not apply
    assert out["resetting_from"] == 1000 + after
    resets = out["resets"]
    n = n_iter - out["resetting_from"]  # a Bernoulli(p) trial after each of these updates
    assert abs(len(resets) - n * p) < 3 * np.sqrt(n * p * (1 - p))
    at = np.array([r[0] for r in resets])
    assert at.min() > out["resetting_from"]
    gaps = np.diff(np.concatenate([[out["resetting_from"]], at]))
    assert abs(gaps.mean() - 1 / p) < 3 * np.sqrt(1 - p) / p / np.sqrt(gaps.size)  # geometric mean and sd
    # every reset returns to the checkpoint (best at update 1000: 1000 updates trained in), age measured from it
    assert all(s == 1000 for _, s in fake.restored[:-1])
    assert all(age == it - 1000 for it, age in resets)
    assert fake.restored[-1] == (n_iter, 1000)  # the end restores the best state


@pytest.mark.parametrize("adaptive", [True, False])
def test_a_new_best_moves_the_checkpoint_only_when_adaptive(adaptive):
    fake = _Plateau(improve_until=1000, late_best=20_000)
    out = run_training(fake.step, fake.evaluate, fake.get_state, fake.set_state, 60_000, 100,
                       resetting=Resetting(prob=0.01, after=500, adaptive=adaptive), seed=0)
    assert out["best"]["iteration"] == 20_000
    late = [s for it, s in fake.restored[:-1] if it > 20_000]
    early = [s for it, s in fake.restored[:-1] if it < 20_000]
    assert late and early and set(early) == {1000}
    # the late best was reached with state 1000 + (20000 − last reset before it) updates trained in
    assert set(late) == ({fake.restored[-1][1]} if adaptive else {1000})
    assert fake.restored[-1][1] != 1000  # the end restores the best state either way


@pytest.mark.parametrize("policy", ["global", "rewound", "reference"])
def test_learning_rate_policy_after_a_reset(policy):
    """'global': the schedule position is the global update count; 'rewound': it
    goes back to the checkpoint's count at each reset; 'reference': the position
    counts on and the checkpoint's rate comes back, then shrinks as PyTorch's
    chainable cosine schedule would (written out below)."""
    fake = _Plateau(improve_until=300)
    positions = []

    def train_block(k, lr):
        positions.append((fake.it, step.updates, lr, k))
        fake.step(k)
        return k, 1.0

    step = ScheduledStep(train_block, 1e-3, "cosine", 5000, block=50)
    out = run_training(step, fake.evaluate, fake.get_state, fake.set_state, 5000, 100,
                       resetting=Resetting(prob=0.02, after=100, lr_policy=policy), seed=1)
    assert len(out["resets"]) > 10
    if policy == "reference":
        floor = 1e-5
        f = lambda s: 1 + np.cos(np.pi * s / 5000)  # noqa: E731
        lr_at_checkpoint = scheduled_lr(1e-3, "cosine", 300, 5000)  # the checkpoint never moves (no new best)
        reset_at = sorted(r[0] for r in out["resets"])
        for it, pos, lr, k in positions:
            assert pos == it
            last = max((r for r in reset_at if r <= it), default=None)
            want = (scheduled_lr(1e-3, "cosine", pos + k / 2, 5000) if last is None else
                    floor + (lr_at_checkpoint - floor) * f(pos + k / 2) / f(last))
            assert lr == pytest.approx(want, rel=1e-12)
        return
    for it, pos, lr, k in positions:
        assert lr == pytest.approx(scheduled_lr(1e-3, "cosine", pos + k / 2, 5000))
    if policy == "global":
        assert all(pos == it for it, pos, _, _ in positions)
    else:
        reset_at = {r[0] for r in out["resets"]}
        after_reset = [(it, pos) for it, pos, _, _ in positions if it in reset_at]
        assert after_reset and all(pos == 300 for _, pos in after_reset)


def test_reference_rates_follow_each_restored_checkpoint():
    """Two 'reference' resets to different checkpoints: each brings back its
    checkpoint's own rate (itself rescaled by the first reset), which the cosine then
    shrinks by (1 + cos πs/T)/(1 + cos πt/T) from the reset's position t."""
    step = ScheduledStep(lambda k, lr: (k, 1.0), 1e-3, "cosine", 5000)
    floor, f = 1e-5, (lambda s: 1 + np.cos(np.pi * s / 5000))
    step.updates = 1000
    r1 = scheduled_lr(1e-3, "cosine", 300, 5000)
    step.restore_rate(r1)
    assert step.rate(1000) == pytest.approx(r1, rel=1e-12)
    assert step.rate(2500) == pytest.approx(floor + (r1 - floor) * f(2500) / f(1000), rel=1e-12)
    r2 = step.rate(1500)  # a checkpoint taken after the first reset
    step.updates = 3000
    step.restore_rate(r2)
    assert step.rate(3000) == pytest.approx(r2, rel=1e-12)
    assert step.rate(4000) == pytest.approx(floor + (r2 - floor) * f(4000) / f(3000), rel=1e-12)
    step.updates = 5000  # at the schedule's end nothing is left above the floor
    step.restore_rate(r2)
    assert step.rate(5000) == pytest.approx(floor)


def test_a_reset_at_a_block_end_comes_after_its_evaluation():
    """The updates of a block are validated before a reset drawn for its last update
    throws them away (else a better model there could never be kept)."""
    order = []
    fake = _Plateau(improve_until=200)

    def evaluate():
        order.append(("evaluate", fake.it))
        return fake.evaluate()

    def set_state(s):
        order.append(("reset", fake.it))
        fake.set_state(s)

    out = run_training(fake.step, evaluate, fake.get_state, set_state, 20_000, 10,
                       resetting=Resetting(prob=0.05, after=0), seed=2)
    at_block_end = [it for it, _ in out["resets"] if it % 10 == 0]
    assert at_block_end  # about one reset in ten lands on a block's last update
    for it in at_block_end:
        k = order.index(("reset", it))
        assert order[k - 1] == ("evaluate", it)


def test_no_reset_is_logged_at_the_last_update():
    """A reset drawn for the last update has no training after it (the end restores the
    best state): it is not done or counted. With prob 0.5 about half the seeds draw one."""
    for seed in range(20):
        fake = _Plateau(improve_until=5)
        out = run_training(fake.step, fake.evaluate, fake.get_state, fake.set_state, 100, 10,
                           resetting=Resetting(prob=0.5, after=0), seed=seed)
        at = [it for it, _ in out["resets"]]
        assert at and max(at) < 100, (seed, at)
        assert fake.restored[-1] == (100, 10) and len(fake.restored) == len(at) + 1  # best: the first evaluation


def test_resetting_settings_are_checked():
    for bad, match in [(dict(prob=0.0), "prob"), (dict(prob=1.0), "prob"), (dict(prob=True), "prob"),
                       (dict(after=-1), "after"), (dict(after=1.5), "after"), (dict(adaptive="no"), "adaptive"),
                       (dict(lr_policy="chained"), "lr_policy")]:
        with pytest.raises(ValueError, match=match):
            Resetting(**bad)
    assert Resetting(prob=np.float32(0.5), after=np.int64(3)) == Resetting(prob=0.5, after=3)
    fake = _Plateau(10)
    with pytest.raises(ValueError, match="ScheduledStep"):
        run_training(fake.step, fake.evaluate, fake.get_state, fake.set_state, 100, 10,
                     resetting=Resetting(lr_policy="rewound"))
    with pytest.warns(UserWarning, match=r"resetting can never start: .* after=100 updates, and training runs "
                                         r"n_iter=100; lower after") as rec:
        out = run_training(fake.step, fake.evaluate, fake.get_state, fake.set_state, 100, 10,
                           resetting=Resetting(after=100))
    assert rec[0].filename == __file__ and out["resets"] == []


def test_run_training_checks_its_counts():
    """(review, session 26) eval_every=0 raised ZeroDivisionError from inside the loop."""
    from stochinfer.train import run_training
    kw = dict(step=lambda n: 0.0, evaluate=lambda: {"val_loss": 0.0}, get_state=lambda: None,
              set_state=lambda s: None)
    for bad, match in ((dict(n_iter=10, eval_every=0), "eval_every must be >= 1"),
                       (dict(n_iter=0, eval_every=5), "n_iter must be >= 1"),
                       (dict(n_iter=10, eval_every=5, patience=0), "patience must be >= 1")):
        with pytest.raises(ValueError, match=match):
            run_training(**kw, **bad)
    with pytest.raises(TypeError, match="eval_every must be an integer"):
        run_training(**kw, n_iter=10, eval_every=2.5)
    assert run_training(**kw, n_iter=10, eval_every=5, progress=False)["iterations"] == 10


def test_an_interrupted_step_is_named_and_a_diverged_evaluation_is_not_kept_in_the_history():
    """Ctrl-C inside a step: the warning names the unfinished block (its updates ran but were
    not counted) at the user's line; a non-finite evaluation leaves no entry in the history, as
    a step that raises does, and a ScheduledStep's learning rate is named (review, session 31)."""
    calls = []

    def step(n):
        calls.append(n)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return 0.5

    with pytest.warns(UserWarning, match=r"interrupted in updates 21–30: keeping the best model so far "
                                         r"\(iteration 20, validation loss 0\.5\)") as rec:
        out = run_training(step, lambda: {"val_loss": 1.0 / len(calls)}, lambda: len(calls), lambda s: None,
                           n_iter=100, eval_every=10)
    assert rec[0].filename == __file__
    assert out["interrupted"] and out["iterations"] == 20 and out["best"]["iteration"] == 20
    with pytest.raises(KeyboardInterrupt):  # nothing validated: re-raised
        run_training(_interrupt, lambda: {"val_loss": 1.0}, lambda: 0, lambda s: None, n_iter=100, eval_every=10)
    with pytest.warns(UserWarning, match=r"interrupted in updates 1–10: keeping the model as it is \(a rough fit "
                                         r"after 0 updates, validation loss 3\)"):
        out = run_training(_interrupt, lambda: {"val_loss": 3.0}, lambda: "now", lambda s: None, n_iter=100,
                           eval_every=10, keep_unvalidated=True)
    assert out["best"]["iteration"] == 0 and out["history"] == [out["best"]] and out["interrupted"]

    losses = iter([1.0, math.inf])
    sched = ScheduledStep(lambda k, lr: (k, 0.1), lr=0.25, schedule="constant", n_iter=100)
    with pytest.warns(RuntimeWarning, match=r"non-finite loss by update 20 .* lower the learning rate \(lr=0\.25\)"):
        out = run_training(sched, lambda: {"val_loss": next(losses)}, lambda: 0, lambda s: None, n_iter=100,
                           eval_every=10)
    assert out["diverged"] and [h["iteration"] for h in out["history"]] == [10]


def _interrupt(n):
    raise KeyboardInterrupt
