"""Training machinery shared by the estimators (stochinfer.train): learning-rate
schedule and the loss a training step reports."""
import numpy as np
import pytest

from stochinfer.train import scheduled_lr, scheduled_step


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

    step = scheduled_step(train_block, 1e-3, "cosine", 300, block=50)
    assert step(n) == pytest.approx(np.mean(range(n)))
    assert step(n) == pytest.approx(np.mean(range(n, 2 * n)))
    first = min(n, 50)
    assert lrs[0] == pytest.approx(scheduled_lr(1e-3, "cosine", first / 2, 300))
