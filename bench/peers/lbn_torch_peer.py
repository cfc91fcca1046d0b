"""PyTorch reference peer for the Langevin Bayesian network (LBN) drift regression.

Bayes-by-Backprop regression of the drift: label Y = x(t+dt) - x(t) (or any
dt-scaled increment), prediction ``pred = (raw * out_std + out_mean) * dt``.
Used to time the C++ implementation side by side (CPU only).

* network: ``n_layers`` linear layers (default 4, hidden H = 256), ELU after
  every layer except the last; the LAST ``n_bayes`` layers (default 2) are
  ``BayesLinear``, the earlier ones plain ``nn.Linear`` (PyTorch default init);
* BayesLinear: w = mu + softplus(rho) * eps, fresh eps ~ N(0, 1) on every call
  (``mean_weights=True``: w = mu); init mu_w ~ U(+-sqrt(6/fan_in)), mu_b = 0,
  rho = -5;
* loss per minibatch: (1/K) sum_k NLL_k + (beta / n_batches) * KLbar, NLL_k =
  minibatch mean of 0.5 ||Y - pred_k||^2, n_batches = ceil(n_train / batch),
  KLbar = per-parameter mean of KL(N(mu, s^2) || N(0, 0.1^2));
  ``kl_gradient="detached"`` adds the KL as a constant (no gradient);
* ``torch.optim.Adam(lr)``; minibatches of ``batch`` rows drawn uniformly with
  replacement (seeded ``torch.Generator``).

The deterministic front layers are evaluated once per minibatch and the K
weight samples are drawn only for the Bayesian head -- the same values and
gradients as K full forward passes (the front layers are deterministic).
"""
from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

NAME = "lbn_torch"
PRIOR_SIGMA = 0.1
KL_GRADIENTS = ("elbo", "detached")


class BayesLinear(nn.Module):
    """Mean-field Gaussian linear layer, w = mu + softplus(rho) * eps (reparameterised)."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        a = math.sqrt(6.0 / n_in)
        self.mu_w = nn.Parameter(torch.empty(n_out, n_in).uniform_(-a, a))
        self.rho_w = nn.Parameter(torch.full((n_out, n_in), -5.0))
        self.mu_b = nn.Parameter(torch.zeros(n_out))
        self.rho_b = nn.Parameter(torch.full((n_out,), -5.0))

    def forward(self, x, gen=None, mean_weights: bool = False):
        if mean_weights:
            return F.linear(x, self.mu_w, self.mu_b)
        eps_w = torch.randn(self.mu_w.shape, generator=gen, dtype=x.dtype)
        eps_b = torch.randn(self.mu_b.shape, generator=gen, dtype=x.dtype)
        return F.linear(x, self.mu_w + F.softplus(self.rho_w) * eps_w,
                        self.mu_b + F.softplus(self.rho_b) * eps_b)

    def kl_sum(self):
        """Sum over this layer's parameters of KL(N(mu, s^2) || N(0, PRIOR_SIGMA^2))."""
        tot = 0.0
        for mu, rho in ((self.mu_w, self.rho_w), (self.mu_b, self.rho_b)):
            s = F.softplus(rho)
            tot = tot + (torch.log(PRIOR_SIGMA / s) + (s * s + mu * mu) / (2 * PRIOR_SIGMA ** 2) - 0.5).sum()
        return tot


class LBN(nn.Module):
    """Drift network: ``trunk`` (plain layers, ELU) then the Bayesian ``head``."""

    def __init__(self, d_in, d_out, out_mean, out_std, dt, hidden=256, n_layers=4, n_bayes=2):
        super().__init__()
        if not 1 <= n_bayes <= n_layers:
            raise ValueError("need 1 <= n_bayes <= n_layers")
        sizes = [d_in] + [hidden] * (n_layers - 1) + [d_out]
        n_plain = n_layers - n_bayes
        self.trunk = nn.ModuleList(nn.Linear(sizes[i], sizes[i + 1]) for i in range(n_plain))
        self.head = nn.ModuleList(BayesLinear(sizes[i], sizes[i + 1]) for i in range(n_plain, n_layers))
        self.register_buffer("out_mean", torch.as_tensor(np.asarray(out_mean, dtype=np.float64)).reshape(d_out))
        self.register_buffer("out_std", torch.as_tensor(np.asarray(out_std, dtype=np.float64)).reshape(d_out))
        self.dt = float(dt)
        self.n_bayes_params = sum(p.numel() for p in self.head.parameters()) // 2

    def features(self, x):
        """Output of the deterministic layers (each followed by ELU)."""
        for lin in self.trunk:
            x = F.elu(lin(x))
        return x

    def drift(self, h, gen=None, mean_weights=False):
        """De-normalised drift raw * out_std + out_mean from trunk features ``h`` (no dt)."""
        for i, layer in enumerate(self.head):
            h = layer(h, gen, mean_weights)
            if i < len(self.head) - 1:
                h = F.elu(h)
        return h * self.out_std + self.out_mean

    def kl_mean(self):
        """KLbar: KL summed over all Bayesian parameters / their number."""
        return sum(layer.kl_sum() for layer in self.head) / self.n_bayes_params


def minibatch_loss(model, xb, yb, K=3, kl_scale=0.0, kl_gradient="elbo", gen=None):
    """(1/K) sum_k mean_rows 0.5||yb - dt*drift_k||^2 + kl_scale * KLbar (KL detached if asked)."""
    h = model.features(xb)
    nll = sum(0.5 * ((yb - model.dt * model.drift(h, gen)) ** 2).sum(1).mean() for _ in range(K)) / K
    kl = model.kl_mean()
    return nll + kl_scale * (kl.detach() if kl_gradient == "detached" else kl)


def train(X, Y, *, dt, out_mean, out_std, hidden=256, n_layers=4, n_bayes=2, K=3, beta=0.01,
          batch=128, n_steps=1000, lr=1e-3, kl_gradient="elbo", seed=0, threads=None, dtype="float32"):
    """Train an LBN on rows X (n, d_in) -> labels Y (n, d_out) with Adam.

    Returns {model, time_s (the n_steps updates only), steps_per_s, final_loss
    (mean of the last 50 minibatch losses)}.
    """
    if kl_gradient not in KL_GRADIENTS:
        raise ValueError(f"kl_gradient must be one of {KL_GRADIENTS}")
    if threads is not None:
        torch.set_num_threads(int(threads))
    tdtype = getattr(torch, np.dtype(dtype).name)
    X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.dtype(dtype)))
    Y = torch.from_numpy(np.ascontiguousarray(Y, dtype=np.dtype(dtype))).reshape(X.shape[0], -1)
    n = X.shape[0]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = LBN(X.shape[1], Y.shape[1], out_mean, out_std, dt, hidden, n_layers, n_bayes).to(tdtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    kl_scale = beta / math.ceil(n / batch)
    losses = []
    t0 = time.perf_counter()
    for _ in range(n_steps):
        idx = torch.randint(0, n, (batch,), generator=gen)
        loss = minibatch_loss(model, X[idx], Y[idx], K, kl_scale, kl_gradient, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    t = time.perf_counter() - t0
    return {"model": model, "time_s": t, "steps_per_s": n_steps / t if t > 0 else float("nan"),
            "final_loss": float(torch.stack(losses[-50:]).mean()) if losses else float("nan")}


@torch.no_grad()
def predict(model, X, n_samples=200, seed=0):
    """Posterior predictive drift samples (raw*out_std+out_mean, no dt), shape (n_samples, n, d_out)."""
    gen = torch.Generator().manual_seed(seed)
    h = model.features(torch.as_tensor(np.asarray(X), dtype=model.out_std.dtype))
    return torch.stack([model.drift(h, gen) for _ in range(n_samples)]).numpy()


@torch.no_grad()
def predict_mean(model, X):
    """Mean-weights drift prediction (w = mu), shape (n, d_out), no dt factor."""
    h = model.features(torch.as_tensor(np.asarray(X), dtype=model.out_std.dtype))
    return model.drift(h, mean_weights=True).numpy()


def main(argv=None):
    """CLI: synthetic drift regression, prints one JSON line with the timings."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=8000)
    p.add_argument("--d", type=int, default=2)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--bayes", type=int, default=2)
    p.add_argument("--K", type=int, default=3)
    p.add_argument("--beta", type=float, default=0.01)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--dt", type=float, default=0.01)
    p.add_argument("--kl-gradient", choices=KL_GRADIENTS, default="elbo")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    X = rng.standard_normal((a.n, a.d))
    f = -X + np.sin(2.0 * X) + 0.5 * np.roll(X, 1, axis=1) ** 2
    Y = a.dt * f + math.sqrt(2.0 * a.dt) * rng.standard_normal((a.n, a.d))
    r = train(X, Y, dt=a.dt, out_mean=(Y / a.dt).mean(0), out_std=(Y / a.dt).std(0), hidden=a.hidden,
              n_layers=a.layers, n_bayes=a.bayes, K=a.K, beta=a.beta, batch=a.batch, n_steps=a.steps,
              lr=a.lr, kl_gradient=a.kl_gradient, seed=a.seed, threads=a.threads, dtype=a.dtype)
    print(json.dumps({"name": NAME, "n": a.n, "d": a.d, "batch": a.batch, "steps": a.steps, "K": a.K,
                      "hidden": a.hidden, "dtype": a.dtype, "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "time_s": round(r["time_s"], 4),
                      "steps_per_s": round(r["steps_per_s"], 2), "final_loss": r["final_loss"]}))


if __name__ == "__main__":
    main()
