"""Langevin networks in C++ (Bayes-by-Backprop layers, heads, deep ensembles):
finite-difference gradients in float64, a numpy float64 reference forward pass,
the closed-form KL, thread-count invariance and the posterior summary."""
import numpy as np
import pytest

from stochinfer import _core

PRIOR = 0.1


def make_net(in_dim=2, d=2, head="affine", hidden=8, n_layers=3, n_bayes=2, n_members=1, dtype=64, threads=2,
             rho_init=-3.0, seed=0):
    m = d * (d + 1) // 2 if head == "cholesky" else d
    rng = np.random.default_rng(seed + 100)
    cls = _core.LangevinNet64 if dtype == 64 else _core.LangevinNet32
    return cls(in_dim=in_dim, out_dim=m, hidden=hidden, n_layers=n_layers, n_bayes=n_bayes, activation="elu",
               prior_std=PRIOR, rho_init=rho_init, head=head, d=d, mean=list(rng.normal(size=m) * 0.3),
               scale=list(rng.uniform(0.5, 2.0, size=m)), pred_scale=0.3, diag_eps=1e-6, n_members=n_members,
               seed=seed, n_threads=threads)


def data(n, in_dim, m, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, in_dim)), rng.normal(size=(n, m)) * 0.3


def fd_check(net, x, y, rows, K=3, kl=0.05, mode="elbo", h=1e-6):
    loss, g = net.objective_and_grad(x, y, rows, K, kl, mode, 3, 11)
    p = net.get_params()
    num = np.empty_like(p)
    for i in range(p.size):
        q = p.copy()
        q[i] += h
        net.set_params(q)
        a = net.objective_and_grad(x, y, rows, K, kl, mode, 3, 11)[0]
        q[i] -= 2 * h
        net.set_params(q)
        b = net.objective_and_grad(x, y, rows, K, kl, mode, 3, 11)[0]
        num[i] = (a - b) / (2 * h)
    net.set_params(p)
    return loss, g, num


@pytest.mark.parametrize("head,d,n_layers,n_bayes", [
    ("affine", 2, 3, 2),     # the default shape: deterministic prefix, Bayesian suffix
    ("affine", 3, 2, 2),     # every layer Bayesian
    ("affine", 2, 3, 0),     # deterministic network (deep-ensemble member)
    ("cholesky", 2, 3, 2),   # diffusion head, 2-D
    ("cholesky", 3, 2, 1),   # diffusion head, 3-D
])
def test_objective_gradient_matches_finite_differences(head, d, n_layers, n_bayes):
    net = make_net(d=d, in_dim=d, head=head, n_layers=n_layers, n_bayes=n_bayes)
    m = d * (d + 1) // 2 if head == "cholesky" else d
    x, y = data(150, d, m)  # 150 rows: three training chunks of 64
    _, g, num = fd_check(net, x, y, np.arange(150))
    assert np.max(np.abs(g - num)) <= 1e-6 * max(1.0, np.max(np.abs(num)))


def test_homogeneous_diffusion_vector_gradient():
    """No input: a Bayesian constant vector of Cholesky entries (homogeneous D)."""
    net = make_net(in_dim=0, d=2, head="cholesky", n_layers=1, n_bayes=1)
    x = np.zeros((40, 0))
    _, y = data(40, 1, 3)
    _, g, num = fd_check(net, x, y, np.arange(40))
    assert np.max(np.abs(g - num)) <= 1e-6 * max(1.0, np.max(np.abs(num)))


def test_kl_value_is_exact_and_thread_invariant_where_float_softplus_underflows():
    """rho = −90: softplus(rho) is below float32's smallest normal number, which the
    vectorised log flushes or clamps; the KL value then takes the exact double logarithm
    (it was inf on one thread and a wrong, thread-dependent finite value on more)."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(300, 3)), rng.normal(size=(300, 2))
    losses = []
    for threads in (1, 2, 3):
        net = make_net(in_dim=3, hidden=20, n_layers=3, n_bayes=2, dtype=32, threads=threads, rho_init=-90.0)
        losses.append(net.train(x, y, np.arange(300), 1, 128, 2, 0.02, "elbo", 1e-3, 0.0, 7)[1])
    assert np.isfinite(losses[0]) and losses[0] == losses[1] == losses[2]
    net = make_net(in_dim=3, hidden=20, n_layers=3, n_bayes=2, dtype=32, rho_init=-90.0)
    kl = net.objective_and_grad(x, y, np.arange(300), 2, 1.0, "elbo", 3, 5)[0] - \
        net.objective_and_grad(x, y, np.arange(300), 2, 0.0, "elbo", 3, 5)[0]
    assert kl == pytest.approx(net.kl_mean(0), rel=1e-6)


def test_ensemble_members_have_separate_gradients():
    net = make_net(n_bayes=0, n_members=3)
    x, y = data(70, 2, 2)
    rows = np.stack([np.arange(70), np.arange(70)[::-1], np.roll(np.arange(70), 5)])
    loss, g, num = fd_check(net, x, y, rows, K=1)
    assert np.max(np.abs(g - num)) <= 1e-6 * max(1.0, np.max(np.abs(num)))
    P = net.n_params_member
    assert not np.allclose(g[:P], g[P:2 * P])  # members start from different weights


def test_detached_kl_changes_only_the_gradient():
    """'detached' adds the KL value but not its gradient: the gradients differ by
    exactly kl_weight * dKL̄/dθ, which we compute here in numpy."""
    net = make_net(hidden=6, n_layers=2, n_bayes=1)
    x, y = data(30, 2, 2)
    rows = np.arange(30)
    le, ge = net.objective_and_grad(x, y, rows, 2, 0.2, "elbo", 3, 5)
    ld, gd = net.objective_and_grad(x, y, rows, 2, 0.2, "detached", 3, 5)
    assert le == pytest.approx(ld, rel=1e-14)
    p = net.get_params()
    # layout: layer 0 [W (6x2), b (6)], layer 1 Bayesian [mu_W (2x6), mu_b (2), rho_W, rho_b]
    off = 6 * 2 + 6
    n = 2 * 6 + 2
    mu, rho = p[off:off + n], p[off + n:off + 2 * n]
    s = np.log1p(np.exp(rho))
    kl_mean = np.mean(np.log(PRIOR / s) + (s ** 2 + mu ** 2) / (2 * PRIOR ** 2) - 0.5)
    assert net.kl_mean(0) == pytest.approx(kl_mean, rel=1e-12)
    # the objective's KL term (ln s from the vectorised softplus map) is the same value
    l0 = net.objective_and_grad(x, y, rows, 2, 0.0, "elbo", 3, 5)[0]
    assert le - l0 == pytest.approx(0.2 * kl_mean, rel=1e-10)
    net32 = make_net(hidden=6, n_layers=2, n_bayes=1, dtype=32)
    net32.set_params(p.astype(np.float32))
    l32 = net32.objective_and_grad(x, y, rows, 2, 0.2, "elbo", 3, 5)[0]
    l32_0 = net32.objective_and_grad(x, y, rows, 2, 0.0, "elbo", 3, 5)[0]
    assert l32 - l32_0 == pytest.approx(0.2 * kl_mean, rel=1e-4)
    want = np.zeros_like(p)
    want[off:off + n] = 0.2 * mu / PRIOR ** 2 / n
    want[off + n:] = 0.2 * (-1 / s + s / PRIOR ** 2) / (1 + np.exp(-rho)) / n
    np.testing.assert_allclose(ge - gd, want, rtol=1e-9, atol=1e-15)


def numpy_forward(net, p, x, n_layers, hidden, n_bayes, out_dim):
    """float64 reference with the mean weights (w = mu)."""
    h = x
    off = 0
    for l in range(n_layers):
        fan_in = h.shape[1]
        fan_out = hidden if l + 1 < n_layers else out_dim
        W = p[off:off + fan_in * fan_out].reshape(fan_in, fan_out)  # column-major (out x in) = W.T row-major
        b = p[off + fan_in * fan_out: off + fan_in * fan_out + fan_out]
        off += (fan_in + 1) * fan_out * (2 if l >= n_layers - n_bayes else 1)
        h = h @ W + b
        if l + 1 < n_layers:
            h = np.where(h > 0, h, np.expm1(np.minimum(h, 0)))
    return h


@pytest.mark.parametrize("head", ["affine", "cholesky"])
def test_mean_weight_fields_match_numpy_reference(head):
    d = 2
    net = make_net(head=head, d=d, hidden=16, n_layers=4, n_bayes=2)
    m = 3 if head == "cholesky" else 2
    rng = np.random.default_rng(100)
    mean, scale = rng.normal(size=m) * 0.3, rng.uniform(0.5, 2.0, size=m)
    x = np.random.default_rng(2).normal(size=(300, 2))
    raw = numpy_forward(net, net.get_params(), x, 4, 16, 2, m)
    u = raw * scale + mean
    if head == "affine":
        want = u
    else:
        L = np.zeros((300, 2, 2))
        L[:, 0, 0] = np.log1p(np.exp(u[:, 0])) + 1e-6
        L[:, 1, 0] = u[:, 1]
        L[:, 1, 1] = np.log1p(np.exp(u[:, 2])) + 1e-6
        D = L @ L.transpose(0, 2, 1)
        want = np.stack([D[:, 0, 0], D[:, 1, 0], D[:, 1, 1]], axis=1)
        assert np.all(np.linalg.eigvalsh(D) > 0)
    got = net.predict(x, 0, 0)
    assert got.shape == (1, 300, m)
    np.testing.assert_allclose(got[0], want, rtol=1e-12, atol=1e-12)


def test_posterior_samples_vary_and_are_reproducible():
    net = make_net(hidden=16, n_layers=3, n_bayes=2, rho_init=-2.0)
    x = np.random.default_rng(3).normal(size=(500, 2))
    a = net.predict(x, 40, 9)
    b = net.predict(x, 40, 9)
    c = net.predict(x, 40, 10)
    assert a.shape == (40, 500, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(a.std(axis=0) > 0)
    # the sample mean approaches the mean-weight field only approximately (nonlinear), but closely for small s
    mean_w = net.predict(x, 0, 0)[0]
    assert np.mean(np.abs(a.mean(axis=0) - mean_w)) < 0.2 * np.mean(np.abs(mean_w))


def test_training_is_thread_count_invariant_and_lowers_the_loss():
    x, y = data(2000, 2, 2)
    y = 0.3 * np.tanh(x) + 0.05 * y
    rows = np.arange(1500)
    val = np.arange(1500, 2000)
    out = []
    for threads in (1, 2):
        net = make_net(hidden=32, n_layers=4, n_bayes=2, threads=threads, rho_init=-5)
        before = net.nll(x, y, val, 3, 0)[0]
        steps, loss = net.train(x, y, rows, 300, 128, 3, 1e-4, "elbo", 3e-3, 0.0, 4)
        assert steps == 300
        after = net.nll(x, y, val, 3, 0)[0]
        out.append(net.get_params())
        assert after < 0.5 * before
    np.testing.assert_array_equal(out[0], out[1])


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_sgd_updates_follow_torch_sgd_with_momentum(weight_decay):
    """A deterministic network trained on one row: every minibatch is that row, so the
    update's gradient is objective_and_grad's. Two updates against numpy: buf = g, then
    buf = μ·buf + g, with torch's L2 weight decay g += wd·p; p −= lr·buf."""
    x, y = data(20, 2, 2)
    net = make_net(n_bayes=0)
    one = np.array([5])
    lr, mu = 0.01, 0.9
    p0 = net.get_params()
    g0 = net.objective_and_grad(x, y, one, 1, 0.0, "elbo", 3, 1)[1] + weight_decay * p0
    net.train(x, y, one, 1, 8, 1, 0.0, "elbo", lr, weight_decay, 3, optimizer="sgd", momentum=mu)
    p1 = net.get_params()
    np.testing.assert_allclose(p1, p0 - lr * g0, rtol=1e-12, atol=1e-15)
    g1 = net.objective_and_grad(x, y, one, 1, 0.0, "elbo", 3, 2)[1] + weight_decay * p1
    net.train(x, y, one, 1, 8, 1, 0.0, "elbo", lr, weight_decay, 3, optimizer="sgd", momentum=mu)
    np.testing.assert_allclose(net.get_params(), p1 - lr * (mu * g0 + g1), rtol=1e-12, atol=1e-15)
    m, v, step = net.get_adam_state()  # the momentum buffer is the optimiser state a checkpoint keeps
    np.testing.assert_allclose(m, mu * g0 + g1, rtol=1e-12, atol=1e-15)
    assert step == 2 and not v.any()
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd'"):
        net.train(x, y, one, 1, 8, 1, 0.0, "elbo", lr, 0.0, 3, optimizer="rmsprop")


def test_ensemble_training_with_bootstrap_rows_is_thread_invariant():
    x, y = data(600, 2, 2)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 600, size=(4, 600))
    res = []
    for threads in (1, 2):
        net = make_net(n_bayes=0, n_members=4, hidden=16, threads=threads)
        net.train(x, y, rows, 50, 64, 1, 0.0, "elbo", 1e-3, 0.0, 2)
        res.append((net.get_params(), net.nll(x, y, np.arange(600), 0, 0)))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    assert len(res[0][1]) == 4


def test_posterior_summary_matches_numpy():
    s = np.random.default_rng(4).normal(size=(37, 101, 3))
    for arr in (s, s.astype(np.float32)):
        mean, sd, lo, hi = _core.posterior_summary(arr, 0.025, 0.975, 2)
        ref = arr.astype(np.float64)
        np.testing.assert_allclose(mean, ref.mean(0), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(sd, ref.std(0, ddof=1), rtol=1e-10)
        np.testing.assert_allclose(lo, np.percentile(ref, 2.5, axis=0), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(hi, np.percentile(ref, 97.5, axis=0), rtol=1e-12, atol=1e-12)


def test_bad_construction_and_input_are_clear_errors():
    with pytest.raises(ValueError, match="n_bayes"):
        make_net(n_bayes=5, n_layers=3)
    with pytest.raises(ValueError, match="head"):
        make_net(head="spline")
    net = make_net()
    with pytest.raises(ValueError, match="x must have shape"):
        net.predict(np.zeros((3, 5)), 1, 0)
    with pytest.raises(ValueError, match="outside the data"):
        net.train(np.zeros((4, 2)), np.zeros((4, 2)), np.array([0, 9]), 1, 2, 1, 0.0, "elbo", 1e-3, 0.0, 0)
    with pytest.raises(ValueError, match="kl_gradient"):
        net.train(np.zeros((4, 2)), np.zeros((4, 2)), np.arange(4), 1, 2, 1, 0.0, "none", 1e-3, 0.0, 0)


def test_paired_prediction_evaluates_each_sample_on_its_own_points():
    for n_bayes, members in ((2, 1), (0, 3)):
        net = make_net(hidden=16, n_bayes=n_bayes, n_members=members, rho_init=-2.0)
        S = 5 if n_bayes else 1
        U = members * S
        x = np.random.default_rng(6).normal(size=(U, 300, 2))
        paired = net.predict(x, S, 4, True)
        for u in range(U):
            np.testing.assert_array_equal(paired[u], net.predict(x[u], S, 4)[u])
    with pytest.raises(ValueError, match="paired x must have shape"):
        net.predict(np.zeros((2, 3, 2)), 1, 0, True)


def _linear_coeffs(n_members, in_dim=2, m=2, seed=4):
    return np.random.default_rng(seed).normal(size=(n_members, 1 + in_dim, m))


@pytest.mark.parametrize("n_bayes,n_members", [(2, 1), (0, 3)])
def test_linear_base_gradient_matches_finite_differences(n_bayes, n_members):
    """The base field [1, x]·A_e enters the loss of member e; its gradient flows to
    the network only (A is fitted, not trained)."""
    net = make_net(n_bayes=n_bayes, n_members=n_members)
    net.set_linear_base(list(_linear_coeffs(n_members).ravel()))
    x, y = data(150, 2, 2)
    rows = np.arange(150) if n_members == 1 else np.stack([np.roll(np.arange(150), 7 * e) for e in range(n_members)])
    _, g, num = fd_check(net, x, y, rows, K=3 if n_bayes else 1)
    assert np.max(np.abs(g - num)) <= 1e-6 * max(1.0, np.max(np.abs(num)))


def test_linear_base_adds_to_the_field_and_a_zero_output_layer_starts_from_it():
    net = make_net(hidden=16, n_layers=4, n_bayes=0, n_members=3)
    x = np.random.default_rng(2).normal(size=(300, 2))
    y = np.random.default_rng(5).normal(size=(300, 2))
    before = net.predict(x, 0, 0)
    A = _linear_coeffs(3)
    net.set_linear_base(list(A.ravel()))
    base = np.einsum("nj,ejk->enk", np.concatenate([np.ones((300, 1)), x], axis=1), A)
    np.testing.assert_allclose(net.predict(x, 0, 0), before + base, rtol=1e-12, atol=1e-12)
    net.zero_output_layer()
    rng = np.random.default_rng(100)  # make_net's head mean
    mean = rng.normal(size=2) * 0.3
    np.testing.assert_allclose(net.predict(x, 0, 0), base + mean, rtol=1e-12, atol=1e-12)
    nll = net.nll(x, y, np.arange(300), 0, 0)  # ½‖y − pred_scale · field‖², per member
    want = 0.5 * np.sum((y[None] - 0.3 * (base + mean)) ** 2, axis=2).mean(axis=1)
    np.testing.assert_allclose(nll, want, rtol=1e-12)
    net.set_linear_base([])
    np.testing.assert_allclose(net.predict(x, 0, 0), np.broadcast_to(mean, (3, 300, 2)), atol=1e-12)


@pytest.mark.parametrize("degree", [2, 3])
def test_polynomial_base_adds_the_monomials_of_the_input(degree):
    """Degree p: the base is polynomial_features(x, p)·A_e, the columns the numpy fit uses."""
    from stochinfer.langevin.linear import n_monomials, polynomial_features
    net = make_net(hidden=16, n_layers=4, n_bayes=0, n_members=2, in_dim=3)
    x = np.random.default_rng(2).normal(size=(200, 3))
    before = net.predict(x, 0, 0)
    A = np.random.default_rng(4).normal(size=(2, n_monomials(3, degree), 2))
    net.set_linear_base(list(A.ravel()), degree=degree)
    assert net.linear_base_degree == degree
    base = np.einsum("nj,ejk->enk", polynomial_features(x, degree), A)
    np.testing.assert_allclose(net.predict(x, 0, 0), before + base, rtol=1e-12, atol=1e-12)


def test_polynomial_base_gradient_matches_finite_differences():
    from stochinfer.langevin.linear import n_monomials
    net = make_net(n_bayes=2, n_members=1)
    net.set_linear_base(list(np.random.default_rng(4).normal(size=(n_monomials(2, 3), 2)).ravel()), degree=3)
    x, y = data(150, 2, 2)
    _, g, num = fd_check(net, x, y, np.arange(150), K=3)
    assert np.max(np.abs(g - num)) <= 1e-6 * max(1.0, np.max(np.abs(num)))


def test_polynomial_features_order_and_count():
    from stochinfer.langevin.linear import n_monomials, polynomial_features
    u = np.array([[2.0, 3.0]])
    np.testing.assert_array_equal(polynomial_features(u, 3)[0], [1, 2, 3, 4, 6, 9, 8, 12, 18, 27])
    for m in range(1, 6):
        for p in range(4):
            assert polynomial_features(np.ones((1, m)), p).shape[1] == n_monomials(m, p)


def test_linear_base_posterior_samples_have_the_given_covariance():
    """With a Cholesky factor, posterior samples draw A ± chol ξ (antithetic pairs): at a
    point x the base's spread across samples has variance bᵀ Cov b, b = [1, x] ⊗ e_k.
    Tolerance: 5 standard errors of a sample variance of S/2 independent pairs; the
    fitted base is used with the mean weights."""
    net = make_net(hidden=8, n_layers=3, n_bayes=2, rho_init=-8.0)
    A = _linear_coeffs(1)
    q = A.size
    Lc = np.tril(np.random.default_rng(6).normal(size=(q, q)) * 0.5) + np.eye(q)
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    S = 4000
    net.set_linear_base(list(A.ravel()))
    plain = net.predict(x, S, 3)
    net.set_linear_base(list(A.ravel()), list(Lc.ravel()))
    drawn = net.predict(x, S, 3)
    diff = drawn - plain  # the same weight samples: the difference is the base's noise
    cov = Lc @ Lc.T
    for i in range(2):
        for k in range(2):
            b = np.zeros((3, 2))
            b[:, k] = np.concatenate([[1.0], x[i]])
            want = b.ravel() @ cov @ b.ravel()
            got = diff[:, i, k].var(ddof=1)
            assert abs(got - want) <= 5 * want * np.sqrt(2 / (S / 2 - 1)), (i, k, got, want)
            # antithetic pairs: samples 2j and 2j + 1 draw ξ and −ξ, so the base's mean is the fit
            np.testing.assert_allclose(diff[0::2, i, k], -diff[1::2, i, k], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(net.predict(x, S, 3), drawn)  # reproducible
    net.set_linear_base([])
    np.testing.assert_allclose(net.predict(x, 0, 0), make_net(hidden=8, n_layers=3, n_bayes=2,
                                                              rho_init=-8.0).predict(x, 0, 0))


def test_linear_base_bad_input_is_a_clear_error():
    net = make_net()
    with pytest.raises(ValueError, match="n_monomials"):
        net.set_linear_base([1.0, 2.0])
    with pytest.raises(ValueError, match="degree must be in"):
        net.set_linear_base([0.0] * 6, degree=4)
    with pytest.raises(ValueError, match="n_monomials"):
        net.set_linear_base([0.0] * 6, degree=2)  # degree 2 over 2 inputs: 6 monomials x 2 outputs
    with pytest.raises(ValueError, match="finite"):
        net.set_linear_base([np.nan] * 6)
    with pytest.raises(ValueError, match="Cholesky"):
        net.set_linear_base([0.0] * 6, [1.0] * 5)
    with pytest.raises(ValueError, match="affine"):
        make_net(head="cholesky").set_linear_base([0.0] * 9)
