"""Acceptance runs of issue 3 / methods.md §7.2 at full data size. Slow (minutes
each on 2 cores): run with `pytest -m slow tests/test_neep_acceptance.py`.
Measured values are recorded in bench/RESULTS.md."""
import numpy as np
import pytest

import stochinfer as si

pytestmark = pytest.mark.slow


def bead_spring_fit(model, seed=0, **opts):
    tr = si.simulate(model, n_traj=1000, n_steps=10_000, dt=0.01, substeps=10, seed=seed, dtype="float32")
    return si.NEEP(progress=False, **opts).fit(tr, seed=seed)


@pytest.mark.parametrize("n_beads, r2_min", [(2, 0.98), (5, 0.95)])
def test_bead_spring_full_size(n_beads, r2_min):
    res = bead_spring_fit(si.models.BeadSpring(n_beads=n_beads))
    print(res)
    assert abs(res.relative_error) <= 0.02
    assert res.r2 >= r2_min
    assert res.test_loss <= res.truth["optimal_loss"] + 5e-4


@pytest.mark.parametrize("n_beads, tol", [
    (8, 0.05), (16, 0.05), (32, 0.05), (48, 0.10), (64, 0.10),
    (80, 0.10), (128, 0.10)])
def test_high_dimensional_bead_spring(n_beads, tol):
    # defaults reach N = 8 (−0.9%) but undertrain from N = 16 on; measured (bench/RESULTS.md):
    # hidden=128, 8000 updates: N = 16 −1.7%, 32 −4.6%, 48 −8.1%; N = 64 needs lr 1e-3 and
    # 16000 updates (−7.6%); with those, N = 80 −11.0% and N = 128 −14.8%. The optimal ΔS is
    # a bilinear form x̄ᵀKΔx of rank up to N, so width must grow with N: N = 80 with width 256
    # and AdamW decay 0.05 gives −9.55% (8 min of training). N = 128 at width 256 sits on a
    # plateau at ΔS ≈ 0 for 8000 updates at lr 1e-3 but ~3000 at lr 3e-4; with 32 000 updates
    # it reaches −8.06% (about 20 min of training alone)
    opts = {} if n_beads <= 8 else dict(hidden=128, n_iter=8000)
    if n_beads >= 64:
        opts.update(lr=1e-3, n_iter=16000, eval_every=1000)
    if n_beads == 80:
        opts.update(hidden=256, weight_decay=0.05, eval_every=2000)
    if n_beads == 128:
        opts.update(hidden=256, weight_decay=0.05, lr=3e-4, n_iter=32000, eval_every=2000)
    res = bead_spring_fit(si.models.BeadSpring.high_dimensional(n_beads), **opts)
    print(res)
    assert abs(res.relative_error) <= tol


@pytest.mark.parametrize("potential", [2.0, 3.0])
def test_flashing_ratchet_full_information(potential):
    rat = si.models.FlashingRatchet(potential=potential)
    train = rat.sample(n_traj=1, n_steps=10**6, seed=1)
    test = rat.sample(n_traj=1, n_steps=10**6, seed=2)
    # 10^6 jumps to learn from and an independent 10^6 to read out on (the paper's protocol)
    data = np.concatenate([train, test])
    res = si.NEEP(hidden=256, layers=1, embed_dim=128, progress=False, split=(0.45, 0.1, 0.45)).fit(data, model=rat)
    print(res)
    assert abs(res.rate / rat.ep_per_step() - 1) <= 0.01


def test_rneep_partially_observed_ratchet():
    rat = si.models.FlashingRatchet(potential=1.5)
    tok = rat.sample(n_traj=1, n_steps=10**7, seed=3, observe="position")
    res = si.RNEEP(window=32, progress=False, n_iter=4000).fit(tok, model=rat)
    print(res)
    assert 0.0278 <= res.rate <= 0.1306


def test_error_bar_coverage():
    """The reported 1σ interval of a 3-seed ensemble covers σ_Δt in 68% ± 10% of
    independent datasets (binomial standard error of the coverage over 40: 7%).
    Measured 0.600 (24 of 40) with the Student-t interval (the standard error comes
    from 10 test trajectories and 3 seeds: Welch–Satterthwaite dof); rate ± stderr
    alone covered 0.575. Inside the band by one dataset (23 of 40 would fail): the
    estimator's own error (training-set dependence) is not in the interval
    (bench/RESULTS.md). Seeds are fixed, but float32 summation order differs
    between instruction sets, so another machine may flip a dataset."""
    model = si.models.BeadSpring(n_beads=2)
    sdt = model.snapshot_ep_rate(0.01, substeps=10)
    hits, hits_se = [], []
    for seed in range(40):
        tr = si.simulate(model, n_traj=50, n_steps=4000, dt=0.01, substeps=10, seed=1000 + seed, dtype="float32")
        res = si.NEEP(hidden=32, layers=2, batch=1024, n_iter=1500, eval_every=250,
                      progress=False).fit(tr, seed=seed, n_seeds=3)
        lo, hi = res.interval()  # rate ± t·stderr, t for the stderr's degrees of freedom
        hits.append(lo <= sdt <= hi)
        hits_se.append(abs(res.rate - sdt) <= res.stderr)
    coverage = np.mean(hits)
    print(f"coverage {coverage:.3f} over {len(hits)} datasets (rate ± stderr alone: {np.mean(hits_se):.3f})")
    assert 0.58 <= coverage <= 0.78
