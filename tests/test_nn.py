"""Compiled neural core: gradients vs finite differences (float64), forward pass
vs an independent numpy float64 implementation, initialisation, Adam vs the
PyTorch update formula, thread invariance, antisymmetry and divergence errors."""
import numpy as np
import pytest

from stochinfer import _core

ACTS = ["relu", "elu", "tanh", "softplus", "silu"]


def make(dtype=np.float64, d=3, hidden=7, layers=2, act="tanh", tokens=0, embed=4, seed=1, threads=2):
    cls = _core.NeepModel64 if dtype == np.float64 else _core.NeepModel32
    return cls(state_dim=d, n_tokens=tokens, embed_dim=embed if tokens else 0, n_states=2, hidden=hidden,
               n_layers=layers, activation=act, seed=seed, n_threads=threads)


def np_act(a, z):
    return {"relu": lambda z: np.maximum(z, 0), "elu": lambda z: np.where(z > 0, z, np.expm1(z)),
            "tanh": np.tanh, "softplus": lambda z: np.where(z > 20, z, np.log1p(np.exp(z))),
            "silu": lambda z: z / (1 + np.exp(-z))}[a](z)


def np_forward(params, x, d_in, hidden, layers, act):
    """Independent float64 forward pass; W is stored column-major (out x in)."""
    off, h = 0, x.astype(np.float64)
    dims = [d_in] + [hidden] * layers + [1]
    for l in range(layers + 1):
        n_in, n_out = dims[l], dims[l + 1]
        W = params[off:off + n_in * n_out].reshape((n_out, n_in), order="F")
        off += n_in * n_out
        b = params[off:off + n_out]
        off += n_out
        h = h @ W.T + b
        if l < layers:
            h = np_act(act, h)
    assert off == len(params)
    return h[:, 0]


def segs_all(x):
    return np.array([[m, 0, x.shape[1]] for m in range(x.shape[0])], dtype=np.int64)


@pytest.mark.parametrize("act", ACTS)
def test_forward_matches_numpy_float64(act):
    net = make(act=act, d=3, hidden=9, layers=3)
    x = np.random.default_rng(0).normal(size=(700, 6)) * 2
    ref = np_forward(net.get_params(), x, 6, 9, 3, act)
    np.testing.assert_allclose(net.forward_rows(x), ref, rtol=1e-12, atol=1e-12)


def test_forward_float32_close_to_float64_reference():
    net = make(np.float32, act="relu", d=2, hidden=64, layers=3)
    x = np.random.default_rng(1).normal(size=(1500, 4))
    ref = np_forward(net.get_params().astype(np.float64), x, 4, 64, 3, "relu")
    np.testing.assert_allclose(net.forward_rows(x.astype(np.float32)), ref, rtol=1e-4, atol=1e-5)


def fd_check(net, x, segs, n_check=40, eps=1e-6):
    loss, g = net.loss_and_grad(x, segs)
    p = net.get_params()
    idx = np.unique(np.linspace(0, len(p) - 1, n_check).astype(int))
    fd = []
    for j in idx:
        q = p.copy()
        q[j] += eps
        net.set_params(q)
        lp = net.loss_and_grad(x, segs)[0]
        q[j] -= 2 * eps
        net.set_params(q)
        lm = net.loss_and_grad(x, segs)[0]
        fd.append((lp - lm) / (2 * eps))
    net.set_params(p)
    scale = np.abs(g).max()
    np.testing.assert_allclose(g[idx], fd, rtol=0, atol=1e-6 * scale + 1e-9)


@pytest.mark.parametrize("act", ACTS)
def test_gradient_matches_finite_differences(act):
    net = make(act=act, d=3, hidden=8, layers=3)
    x = np.random.default_rng(2).normal(size=(4, 300, 3))  # > 1 chunk and > 1 group
    segs = np.array([[0, 0, 300], [1, 10, 200], [2, 0, 300], [3, 5, 7]], dtype=np.int64)
    fd_check(net, x, segs)


def test_gradient_over_many_chunks_and_groups():
    net = make(act="softplus", d=2, hidden=8, layers=2)  # 4096 pairs per chunk (the cap) at width 8
    x = np.random.default_rng(12).normal(size=(3, 50_001, 2))  # 150k transitions: 19 chunks, 16 groups
    fd_check(net, x, segs_all(x), n_check=20)


def test_embedding_gradient_matches_finite_differences():
    net = make(act="relu", tokens=6, embed=5, hidden=8, layers=1)
    tok = np.random.default_rng(3).integers(0, 6, size=(3, 400)).astype(np.int32)
    fd_check(net, tok, segs_all(tok), n_check=60)


def test_embedding_forward_matches_numpy():
    net = make(act="elu", tokens=6, embed=5, hidden=8, layers=2)
    p = net.get_params()
    E = p[:30].reshape((5, 6), order="F")
    tok = np.random.default_rng(4).integers(0, 6, size=(2, 50)).astype(np.int32)
    a, b = tok[:, :-1].ravel(), tok[:, 1:].ravel()
    rest = p[30:]
    h_ab = np_forward(rest, np.concatenate([E[:, a].T, E[:, b].T], 1), 10, 8, 2, "elu")
    h_ba = np_forward(rest, np.concatenate([E[:, b].T, E[:, a].T], 1), 10, 8, 2, "elu")
    np.testing.assert_allclose(net.delta_s(tok, segs_all(tok)), h_ab - h_ba, rtol=1e-12, atol=1e-12)


def test_pytorch_default_initialisation():
    net = make(d=5, hidden=256, layers=3, act="relu")
    p = net.get_params()
    W0 = p[:10 * 256]
    bound = 1 / np.sqrt(10)
    assert np.abs(W0).max() <= bound
    # U(-b, b): variance b²/3; standard error of the sample variance ~ b²·sqrt(4/45/n)
    n = len(W0)
    assert abs(W0.var() - bound**2 / 3) < 4 * bound**2 * np.sqrt(4 / 45 / n)
    assert abs(W0.mean()) < 4 * bound / np.sqrt(3 * n)
    W1 = p[10 * 256 + 256:10 * 256 + 256 + 256 * 256]
    assert np.abs(W1).max() <= 1 / 16 and np.abs(W1).max() > 0.99 / 16
    np.testing.assert_array_equal(p, make(d=5, hidden=256, layers=3, act="relu").get_params())
    assert not np.array_equal(p, make(d=5, hidden=256, layers=3, act="relu", seed=2).get_params())


@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_matches_pytorch_update_formula(decoupled):
    net = make(act="tanh", d=2, hidden=5, layers=2)
    x = np.random.default_rng(5).normal(size=(1, 2, 2))  # a single transition: every minibatch is it
    segs = segs_all(x)
    lr, b1, b2, eps, wd = 1e-2, 0.9, 0.999, 1e-8, 0.1
    p = net.get_params()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t in range(1, 4):
        net.set_params(p)
        g = net.loss_and_grad(x, segs)[1]
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - b2**t) + eps
        p = p - lr / (1 - b1**t) * m / denom
        net.set_params(net.get_params())  # keep the network's own state for its update
    net2 = make(act="tanh", d=2, hidden=5, layers=2)
    net2.train(x, segs, 3, 8, lr, b1, b2, eps, wd, decoupled, 0)
    np.testing.assert_allclose(net2.get_params(), p, rtol=1e-10, atol=1e-13)
    assert net2.get_adam_state()[2] == 3


@pytest.mark.parametrize("act", ["relu", "elu"])
def test_training_is_independent_of_thread_count(act):
    x = np.random.default_rng(6).normal(size=(5, 500, 3)).astype(np.float32)
    out = []
    for threads in (1, 2, 3):
        net = make(np.float32, act=act, d=3, hidden=32, layers=2, threads=threads)
        # 40000 pairs = 20 chunks of 2048 at width 32: more chunks than reduction groups
        net.train(x, segs_all(x), 6, 40000, 1e-3, 0.9, 0.999, 1e-8, 1e-4, False, 7)
        out.append((net.get_params(), net.delta_s(x, segs_all(x))))
    for p, ds in out[1:]:
        np.testing.assert_array_equal(p, out[0][0])
        np.testing.assert_array_equal(ds, out[0][1])


def test_gradients_with_subnormal_sums_are_independent_of_thread_count():
    """(review, session 25) Chunk gradients are summed per group on the pool's threads. The
    calling thread flushed subnormals, the workers did not: sums below 1.2e-38 (float32)
    depended on which thread ran the group (about 2000 of 8000 entries differed with
    2 threads, changing from run to run). Features of 1e-32 put the first layer's sums there."""
    from stochinfer import _core
    rng = np.random.default_rng(0)
    n = 12_288
    x = (rng.standard_normal((n, 4)) * 1e-32).astype(np.float32)
    y = rng.integers(0, 2, n).astype(np.int32)
    rows = np.arange(n, dtype=np.int64)
    grads = []
    for threads in (1, 2, 2, 2):
        net = _core.ClassifierModel32(n_features=4, n_classes=2, hidden=2048, n_layers=1, activation="relu",
                                      loss="cross_entropy", q=0.7, alpha=0.1, beta=1.0, seed=1, n_threads=threads)
        grads.append(net.loss_and_grad(x, y, rows)[1])
    assert np.any((grads[0] != 0) & (np.abs(grads[0]) < 1e-36))  # the case is exercised: tiny sums survive
    for g in grads[1:]:
        np.testing.assert_array_equal(g, grads[0])


def test_minibatches_follow_the_seed():
    x = np.random.default_rng(6).normal(size=(5, 500, 3))
    a, b, c = (make(act="relu") for _ in range(3))
    for net, seed in ((a, 1), (b, 1), (c, 2)):
        net.train(x, segs_all(x), 5, 64, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, seed)
    np.testing.assert_array_equal(a.get_params(), b.get_params())
    assert not np.array_equal(a.get_params(), c.get_params())


def test_delta_s_is_antisymmetric_under_time_reversal():
    net = make(act="silu", d=2, hidden=16, layers=2)
    x = np.random.default_rng(8).normal(size=(2, 600, 2))
    ds = net.delta_s(x, segs_all(x)).reshape(2, -1)
    ds_rev = net.delta_s(np.ascontiguousarray(x[:, ::-1]), segs_all(x)).reshape(2, -1)
    np.testing.assert_allclose(ds_rev[:, ::-1], -ds, rtol=1e-12, atol=1e-12)


def test_float32_and_float64_data_give_the_same_delta_s():
    net = make(act="relu")
    x = np.random.default_rng(9).normal(size=(2, 100, 3)).astype(np.float32)
    np.testing.assert_array_equal(net.delta_s(x, segs_all(x)), net.delta_s(x.astype(np.float64), segs_all(x)))


def test_divergence_raises_a_clear_error():
    net = make(act="relu", d=2, hidden=16, layers=3)
    net.set_params(net.get_params() * 1e4)
    x = np.random.default_rng(10).normal(size=(2, 100, 2))
    with pytest.raises(FloatingPointError, match="diverged"):  # what stochinfer.train documents
        net.train(x, segs_all(x), 1, 64, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, 0)


def test_core_rejects_bad_data_and_segments():
    net = make(act="relu", d=3)
    x = np.zeros((2, 10, 3))
    with pytest.raises(ValueError, match="components"):
        net.delta_s(np.zeros((2, 10, 2)), segs_all(x))
    with pytest.raises(ValueError, match="outside the data"):
        net.delta_s(x, np.array([[0, 0, 11]], dtype=np.int64))
    with pytest.raises(ValueError, match="tokens"):
        net.delta_s(np.zeros((2, 10), dtype=np.int32), segs_all(x))
    tnet = make(act="relu", tokens=3)
    with pytest.raises(ValueError, match="token out of range"):
        tnet.delta_s(np.full((1, 5), 7, dtype=np.int32), np.array([[0, 0, 5]], dtype=np.int64))
    with pytest.raises(ValueError, match="activation"):
        make(act="gelu")
    with pytest.raises(ValueError, match="lr"):
        net.train(x, segs_all(x), 1, 8, -1.0, 0.9, 0.999, 1e-8, 0.0, False, 0)


# ---- GRU / RNEEP network ---------------------------------------------------------

def rneep_np_g(p, w, nt, E, H):
    """Independent float64 numpy RNEEP network g(w) (PyTorch GRU equations)."""
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    o = 0
    Em = p[o:o + E * nt].reshape((E, nt), order="F"); o += E * nt
    Wi = p[o:o + 3 * H * E].reshape((3 * H, E), order="F"); o += 3 * H * E
    bi = p[o:o + 3 * H]; o += 3 * H
    Wh = p[o:o + 3 * H * H].reshape((3 * H, H), order="F"); o += 3 * H * H
    bh = p[o:o + 3 * H]; o += 3 * H
    wo = p[o:o + H]; o += H
    h, hs = np.zeros(H), []
    for k in w:
        gi, gh = Wi @ Em[:, k] + bi, Wh @ h + bh
        r, z = sig(gi[:H] + gh[:H]), sig(gi[H:2 * H] + gh[H:2 * H])
        c = np.tanh(gi[2 * H:] + r * gh[2 * H:])
        h = (1 - z) * c + z * h
        hs.append(h)
    return wo @ np.mean(hs, 0) + p[o]


def test_rneep_forward_matches_numpy_gru():
    nt, E, H, n = 3, 4, 5, 6
    net = _core.RneepModel64(n_tokens=nt, embed_dim=E, hidden=H, window=n, seed=1, n_threads=2)
    tok = np.random.default_rng(0).integers(0, nt, size=(2, 300)).astype(np.int32)
    segs = np.array([[0, 0, 300], [1, 7, 250]], dtype=np.int64)
    ds = net.delta_s(tok, segs)
    p = net.get_params()
    ref = [rneep_np_g(p, tok[tr, s:s + n], nt, E, H) - rneep_np_g(p, tok[tr, s:s + n][::-1], nt, E, H)
           for tr, b, e in segs for s in range(b, e - n + 1, n - 1)]
    assert len(ds) == len(ref) == 59 + 48
    np.testing.assert_allclose(ds, ref, rtol=1e-12, atol=1e-13)


def test_rneep_gradient_matches_finite_differences():
    net = _core.RneepModel64(n_tokens=3, embed_dim=4, hidden=5, window=6, seed=2, n_threads=2)
    tok = np.random.default_rng(1).integers(0, 3, size=(2, 800)).astype(np.int32)  # > 1 chunk of windows
    fd_check(net, tok, segs_all(tok), n_check=80)


def test_rneep_float32_training_is_thread_invariant():
    tok = np.random.default_rng(2).integers(0, 3, size=(1, 5000)).astype(np.int32)
    params = []
    for threads in (1, 2):
        net = _core.RneepModel32(n_tokens=3, embed_dim=8, hidden=16, window=8, seed=0, n_threads=threads)
        net.train(tok, segs_all(tok), 5, 300, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, 3)
        params.append(net.get_params())
    np.testing.assert_array_equal(params[0], params[1])


def test_neep_model_refuses_shapes_its_pair_loss_cannot_hold():
    """n_states other than 2 wrote past the pair buffer; out_dim > 1 read past the loss gradient."""
    for n_states in (1, 3):
        with pytest.raises(ValueError, match="n_states must be 2"):
            _core.NeepModel64(state_dim=2, n_tokens=0, embed_dim=0, n_states=n_states, hidden=4, n_layers=1,
                              activation="tanh", seed=0, n_threads=1)


def test_rneep_training_without_windows_is_an_error_not_a_crash():
    """No segments: the minibatch draw took an index modulo 0 (SIGFPE)."""
    net = _core.RneepModel64(n_tokens=3, embed_dim=4, hidden=5, window=6, seed=2)
    tok = np.zeros((1, 10), dtype=np.int32)
    with pytest.raises(ValueError, match="no training windows"):
        net.train(tok, np.zeros((0, 3), dtype=np.int64), 1, 8, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, 3)


def test_rneep_rejects_real_states_and_short_segments():
    net = _core.RneepModel64(n_tokens=3, embed_dim=4, hidden=5, window=6, seed=2)
    with pytest.raises(ValueError, match="token paths"):
        net.delta_s(np.zeros((1, 10, 1)), np.array([[0, 0, 10]], dtype=np.int64))
    with pytest.raises(ValueError, match="shorter than 6"):
        net.delta_s(np.zeros((1, 10), dtype=np.int32), np.array([[0, 0, 5]], dtype=np.int64))
