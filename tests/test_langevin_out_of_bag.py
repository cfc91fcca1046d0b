"""Out-of-bag validation of bagged ensembles (langevin/out_of_bag.py,
infer_langevin(validation='out_of_bag')): the block bootstrap, the per-member
validation NLL, and the pipeline's use of them."""
import numpy as np
import pytest

import stochinfer as si
from stochinfer.langevin import TrainSettings
from stochinfer.langevin.field_net import FieldNetwork
from stochinfer.langevin.out_of_bag import BLOCK_ROWS, MIN_BLOCKS, draw_out_of_bag, row_blocks

FAST = dict(hidden=16, drift_settings=TrainSettings(n_iter=300, eval_every=50),
            diffusion_settings=TrainSettings(n_iter=200, eval_every=50))


@pytest.fixture(scope="module")
def ou():
    m = si.models.LinearOU(np.array([[-1.0, 0.5], [-0.5, -1.0]]), np.array([[1.0, 0.3], [0.3, 0.5]]))
    return m, si.simulate(m, 2, 1500, 0.01, substeps=10, seed=3)


def test_row_blocks_cut_each_trajectory_into_runs_or_whole_trajectories():
    blocks = row_blocks(3, 120, by_trajectory=False)  # 120 points: two runs of 60, no short remainder
    assert [b.size for b in blocks] == [60, 60] * 3
    np.testing.assert_array_equal(np.concatenate(blocks), np.arange(360))  # every row once, in order
    assert all(b[0] // 120 == b[-1] // 120 for b in blocks)  # no block spans two trajectories
    assert all(np.all(np.diff(b) == 1) for b in blocks)
    sizes = [b.size for b in row_blocks(2, 1030, by_trajectory=False)]
    assert len(sizes) == 40 and set(sizes) == {51, 52} and sum(sizes) == 2060
    assert [b.size for b in row_blocks(4, 30, by_trajectory=False)] == [30] * 4  # shorter than a block
    whole = row_blocks(3, 120, by_trajectory=True)
    assert [(b[0], b[-1]) for b in whole] == [(0, 119), (120, 239), (240, 359)]


def test_out_of_bag_rows_are_the_blocks_a_member_never_drew():
    blocks = row_blocks(2, 1030, by_trajectory=False)  # 40 blocks of 51-52 rows
    oob = draw_out_of_bag(blocks, 4, max_val_rows=10**6, rng=np.random.default_rng(5))
    block_of = np.repeat(np.arange(len(blocks)), [b.size for b in blocks])
    assert oob.train.shape == (4, 2060) and len(oob.val) == 4
    for e in range(4):
        drawn = set(block_of[oob.train[e]])
        left = np.concatenate([blocks[i] for i in range(len(blocks)) if i not in drawn])
        np.testing.assert_array_equal(oob.val[e], left)  # every row of every block it never drew
        assert not set(oob.val[e]) & set(oob.train[e])
        # whole blocks one after another, the last maybe cut
        p, t = 0, oob.train[e]
        while p < t.size:
            b = blocks[block_of[t[p]]]
            np.testing.assert_array_equal(t[p:p + b.size], b[: t.size - p])
            p += b.size
        assert 0.2 < oob.val[e].size / 2060 < 0.5  # about e^-1 of the rows are out of bag
    assert len({v.size for v in oob.val}) > 1  # members keep their own counts
    # every row, the last fifth of the record included, trains some member
    many = draw_out_of_bag(blocks, 30, max_val_rows=10**6, rng=np.random.default_rng(1))
    assert set(np.unique(many.train)) == set(range(2060))
    again = draw_out_of_bag(blocks, 4, max_val_rows=10**6, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(again.train, oob.train)
    assert all(np.array_equal(a, b) for a, b in zip(again.val, oob.val))
    capped = draw_out_of_bag(blocks, 4, max_val_rows=100, rng=np.random.default_rng(5))
    assert [v.size for v in capped.val] == [100] * 4
    assert all(set(c) <= set(v) and np.all(np.diff(c) > 0) for c, v in zip(capped.val, oob.val))
    with pytest.raises(ValueError, match=f"at least {MIN_BLOCKS} bootstrap blocks"):
        draw_out_of_bag(blocks[: MIN_BLOCKS - 1], 4, 10**6, np.random.default_rng(0))
    tiny = [np.array([i]) for i in range(MIN_BLOCKS)]  # 20 one-row blocks: a handful left out
    with pytest.raises(ValueError, match="out-of-bag rows \\(need at least"):
        draw_out_of_bag(tiny, 5, 10**6, np.random.default_rng(0))


def test_nll_scores_each_member_on_its_own_rows():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 2)).astype(np.float32)
    y = rng.normal(size=(5000, 2)).astype(np.float32)
    net = FieldNetwork("affine", 2, 2, np.zeros(2), np.ones(2), 0.01, hidden=8, method="ensemble", n_members=3,
                       seed=2)
    # lengths across the evaluation chunks, one member far shorter than the others
    rows = [rng.choice(5000, n, replace=False) for n in (3001, 17, 1200)]
    per_member = net.net.nll(x, y, rows, 0, 0)
    alone = [net.net.nll(x, y, rows[e], 0, 0)[e] for e in range(3)]
    np.testing.assert_array_equal(per_member, alone)
    # numpy reference: ½‖y − pred_scale·field‖² averaged over each member's rows
    pred = net.samples(x, 0, 0) * 0.01
    ref = [0.5 * np.mean(np.sum((y[r] - pred[e, r]) ** 2, axis=1)) for e, r in enumerate(rows)]
    np.testing.assert_allclose(per_member, ref, rtol=1e-5)
    square = np.stack([r[:17] for r in rows])  # a (n_members, n) array means the same
    np.testing.assert_array_equal(net.net.nll(x, y, square, 0, 0), net.net.nll(x, y, list(square), 0, 0))
    with pytest.raises(ValueError, match="outside the data"):
        net.net.nll(x, y, np.array([0, 5000]), 0, 0)
    with pytest.raises(ValueError, match="one per ensemble member"):
        net.net.nll(x, y, rows[:2], 0, 0)
    with pytest.raises(ValueError, match="at least one row"):
        net.net.nll(x, y, [rows[0], rows[1][:0], rows[2]], 0, 0)
    with pytest.raises(ValueError, match="1-D array"):
        net.net.nll(x, y, [rows[0], rows[1], np.zeros((2, 2), dtype=np.int64)], 0, 0)


def test_out_of_bag_trains_every_member_on_all_rows(ou):
    m, tr = ou
    fit = si.infer_langevin(tr, method="ensemble", n_members=3, validation="out_of_bag", **FAST)
    v = fit.histories["drift"]["validation"]
    assert v["kind"] == "out_of_bag" and v["train_rows"] == 2 * 1500  # every row, none held out
    assert len(v["val_rows"]) == 3 and all(0.2 * 3000 < n < 0.5 * 3000 for n in v["val_rows"])
    assert fit.histories["diffusion"]["validation"]["kind"] == "split"  # its bands covered less out of bag
    assert fit.provenance()["validation"] == "out_of_bag"
    assert "out-of-bag NLL" in fit.summary()
    with pytest.warns(UserWarning, match="in-sample"):
        rep = fit.report(m)
    assert rep["points"] == "validation (drift in-sample: out-of-bag)"
    split = si.infer_langevin(tr, method="ensemble", n_members=3, **FAST)  # the default
    assert split.histories["drift"]["validation"] == {"kind": "split", "train_rows": 2400, "val_rows": 600}
    assert split.provenance()["validation"] == "split"
    assert split.report(m)["points"] == "validation"


def test_out_of_bag_fit_is_reproducible_and_thread_independent(ou):
    _, tr = ou
    pts = np.random.default_rng(1).normal(size=(50, 2))
    a = si.infer_langevin(tr, method="ensemble", n_members=3, validation="out_of_bag", n_threads=1, **FAST)
    b = si.infer_langevin(tr, method="ensemble", n_members=3, validation="out_of_bag", n_threads=3, **FAST)
    np.testing.assert_array_equal(a.drift(pts).mean, b.drift(pts).mean)
    np.testing.assert_array_equal(a.diffusion(pts).mean, b.diffusion(pts).mean)


def test_out_of_bag_round_trips_through_save(ou, tmp_path):
    _, tr = ou
    fit = si.infer_langevin(tr, method="ensemble", n_members=3, validation="out_of_bag", **FAST)
    fit.save(tmp_path / "f.npz")
    back = si.langevin.LangevinFit.load(tmp_path / "f.npz")
    assert back.provenance()["validation"] == "out_of_bag"
    pts = np.random.default_rng(2).normal(size=(20, 2))
    np.testing.assert_array_equal(back.drift(pts).mean, fit.drift(pts).mean)
    np.testing.assert_array_equal(back.drift(pts).std, fit.drift(pts).std)


def test_too_few_blocks_are_refused(ou):
    short = si.simulate(ou[0], 1, 600, 0.01, substeps=10, seed=4)  # 12 blocks of 50 points
    with pytest.raises(ValueError, match="at least 20 bootstrap blocks"):
        si.infer_langevin(short, method="ensemble", n_members=3, validation="out_of_bag", **FAST)


def test_bad_validation_requests_are_refused(ou):
    _, tr = ou
    with pytest.raises(ValueError, match="validation must be"):
        si.infer_langevin(tr, validation="oob", **FAST)
    with pytest.raises(ValueError, match="needs a bagged ensemble"):
        si.infer_langevin(tr, validation="out_of_bag", **FAST)
    with pytest.raises(ValueError, match="needs a bagged ensemble"):
        si.infer_langevin(tr, method="ensemble", bootstrap=False, validation="out_of_bag", **FAST)
    with pytest.raises(ValueError, match="use validation='split' with refit"):
        si.infer_langevin(tr, method="ensemble", refit=True, validation="out_of_bag", **FAST)
    # the network refuses it too, for callers of FieldNetwork
    net = FieldNetwork("affine", 2, 2, np.zeros(2), np.ones(2), 0.01, hidden=8, method="ensemble", n_members=2)
    x = np.zeros((2000, 2))
    with pytest.raises(ValueError, match="use validation='split' with refit"):
        net.fit(x, x, np.arange(1600), np.arange(1600, 2000), TrainSettings(n_iter=10), refit=True,
                oob_blocks=row_blocks(1, 2000, by_trajectory=False))


def test_cli_infer_with_out_of_bag_validation(ou, tmp_path, capsys):
    from stochinfer.cli import main
    path = str(tmp_path / "traj.npz")
    ou[1].save(path)
    with pytest.warns(UserWarning, match="in-sample"):  # the CLI scores against the file's model
        assert main(["infer", path, "--method", "ensemble", "--validation", "out_of_bag", "--hidden", "16",
                     "--members", "3", "--no-plot", "--save", str(tmp_path / "fit.npz")]) == 0
    assert "out-of-bag NLL" in capsys.readouterr().out
    back = si.LangevinFit.load(str(tmp_path / "fit.npz"))
    assert back.provenance()["validation"] == "out_of_bag" and back.provenance()["n_members"] == 3
    with pytest.raises(SystemExit):
        main(["infer", path, "--validation", "oob"])
    for extra in (["--method", "bbb"], ["--method", "ensemble", "--refit"]):
        assert main(["infer", path, "--validation", "out_of_bag", "--no-plot", *extra]) == 2
        assert "needs --method ensemble and no --refit" in capsys.readouterr().err
    for extra in (["--method", "bbb"], ["--method", "ensemble", "--members", "1"]):
        assert main(["infer", path, "--members", "4", "--no-plot", *extra]) == 2  # the last --members counts
        assert "--members N needs --method ensemble and N >= 2" in capsys.readouterr().err


def test_driven_and_noiseless_fits_validate_out_of_bag():
    """Driven systems bootstrap whole trajectories (20 here: the minimum); a noiseless coordinate's
    own drift network validates out of bag too."""
    m = si.models.BrownianCarnot(tau=2.0)
    tr = si.simulate(m, n_traj=20, n_steps=200, dt=0.01, substeps=10, seed=0)
    fit = si.infer_langevin(tr, regime="underdamped", time_dependent=True, period=2.0, method="ensemble",
                            n_members=2, validation="out_of_bag", **FAST)
    for name in ("drift", "drift_shifted"):
        v = fit.histories[name]["validation"]
        assert v["kind"] == "out_of_bag" and v["train_rows"] == 20 * 199
        assert all(n % 199 == 0 for n in v["val_rows"])  # whole trajectories left out
    with pytest.raises(ValueError, match="these data have 19"):
        si.infer_langevin(tr.x[:19], 0.01, regime="underdamped", time_dependent=True, period=2.0, t0=0.0,
                          method="ensemble", n_members=2, validation="out_of_bag", **FAST)
    hh = si.simulate(si.models.HodgkinHuxley(), 1, 2000, 0.01, substeps=10, seed=1)
    fit = si.infer_langevin(hh, noiseless=[0], method="ensemble", n_members=2, validation="out_of_bag", **FAST)
    assert fit.histories["drift_noiseless"]["validation"]["kind"] == "out_of_bag"
