"""Brownian Carnot engine (methods.md §5.8, τ = 100): the acceptance test's protocol
(tests/test_langevin_acceptance.py, _carnot) with chosen infer_langevin options, for
comparing builds and options: 100 recorded cycles (seed 0), an ensemble fit with
time as an input, its inferred equation simulated for 1200 cycles per member from
the data's cycle-start states (noise seed 5); prints drift R², diffusion relative
error, work per cycle with its error bar, heat from the hot bath and efficiency
against the moment-ODE values. About 2.5 min on 2 cores.

Usage: PYTHONPATH=python python bench/lbn_carnot.py [--seed 0] [--cycles 100] [--option period=100.0 ...]
    [--substeps 1] [--diagnose] [--integrators]
--seed: the data's seed; --cycles: recorded cycles, the data size; --substeps: explicit
steps per step of dt when simulating the inferred equation. --diagnose: per
member, the stiffness, friction and diffusion read off the fit by least squares at the
data's states of each phase, the moment-ODE work they imply (and with the true
stiffness), and the simulated ⟨x²⟩, ⟨v²⟩ along the cycle against the true engine's.
--integrators: the true engine's work with the inferred equation's scheme (explicit
Euler, no substeps), with 10 substeps and with BAOAB (40 000 cycles each; no fit).
"""
from __future__ import annotations

import argparse
import ast
import time

import numpy as np

import stochinfer as si


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                    help="infer_langevin keyword (value a Python literal or a string)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the simulated data (default 0, the test's)")
    ap.add_argument("--cycles", type=int, default=100, help="recorded cycles (default 100, methods.md §5.8)")
    ap.add_argument("--substeps", type=int, default=1, help="simulate the inferred equation with dt/substeps")
    ap.add_argument("--diagnose", action="store_true", help="where the work's error comes from (about 1 min more)")
    ap.add_argument("--integrators", action="store_true", help="only the integrator check on the true engine")
    args = ap.parse_args(argv)
    if args.integrators:
        return integrator_check()
    options = {}
    for item in args.option:
        name, _, value = item.partition("=")
        try:
            options[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[name] = value
    m = si.models.BrownianCarnot(tau=100.0)
    tr = si.simulate(m, n_traj=args.cycles, n_steps=10_000, dt=0.01, substeps=10, seed=args.seed)
    t0 = time.perf_counter()
    fit = si.infer_langevin(tr, regime="underdamped", time_dependent=True, method="ensemble", progress=False,
                            **options)
    took = time.perf_counter() - t0
    rep = fit.report(m)
    start = np.arange(1200) % tr.x.shape[0]
    v0 = (tr.x[start, 1] - tr.x[start, 0]) / 0.01  # finite-difference velocity: positions only
    sim = fit.simulate(1200, 10_000, x0=tr.x[start, 0], v0=v0, seed=5, period=100.0, record_every=5,
                       substeps=args.substeps)
    th = fit.thermodynamics(sim, m)
    exact = m.cycle_thermodynamics()
    w_data = m.work(tr.x[:, :, 0], np.arange(tr.x.shape[1]) * 0.01)
    print(f"seed {args.seed}, {args.cycles} cycles, substeps {args.substeps}, options {options}: "
          f"drift R² {rep['drift']['r2']:.4f}, D error {rep['diffusion']['relative_error']:.3f}, fit {took:.0f} s")
    print(f"  W per cycle {th['work_per_cycle']:.3f} ± {th['error']:.3f} (exact {exact['mean_work']:.4f}, "
          f"{100 * (th['work_per_cycle'] / exact['mean_work'] - 1):+.1f}%), Q_h {th['heat_hot']:.3f} ± "
          f"{th['heat_hot_error']:.3f} ({exact['heat_hot']:.4f}), efficiency {th['efficiency']:.3f} ± "
          f"{th['efficiency_error']:.3f} ({exact['efficiency']:.4f})")
    print(f"  per member {np.array2string(th['work_per_sample'], precision=3)}; the data's own mean work "
          f"{w_data.mean():.3f} ± {w_data.std(ddof=1) / np.sqrt(w_data.size):.3f}")
    if args.diagnose:
        diagnose(m, tr, fit, sim)
    return 0


def moment_work(m, tt, a0, k, g, D, n_cycles: int = 4, h: float = 0.01) -> float:
    """Work per cycle ∫½⟨x²⟩k̇_true dt of dv = (a0 − kx − γv)dt + √(2D)dW with a0, k, γ, D
    tabulated at times tt (linear interpolation, periodic), from the first and second
    moments integrated by RK4 for n_cycles (the last cycle's work)."""
    tau = float(m.tau)

    def f(t, s):
        t = t % tau
        a, kk, gg, dd = (np.interp(t, tt, y) for y in (a0, k, g, D))
        mx, mv, xx, xv, vv = s
        return np.array([mv, a - kk * mx - gg * mv, 2 * xv, vv - kk * xx - gg * xv + a * mx,
                         2 * a * mv - 2 * kk * xv - 2 * gg * vv + 2 * dd])

    s = np.array([0.0, 0.0, m.t_cold / m.stiffness(0.0), 0.0, m.t_cold])
    n = int(round(tau / h))
    for _ in range(n_cycles):
        w = 0.0
        for j in range(n):
            t = j * h
            k1 = f(t, s)
            k2 = f(t + h / 2, s + h / 2 * k1)
            k3 = f(t + h / 2, s + h / 2 * k2)
            k4 = f(t + h, s + h * k3)
            s_new = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            w += 0.25 * (s[2] + s_new[2]) * float(m.stiffness(t + h) - m.stiffness(t))
            s = s_new
    return w


def diagnose(m, tr, fit, sim) -> None:
    dt = 0.01
    X = tr.x[:, :, 0]
    V = np.gradient(X, dt, axis=1)
    L = X.shape[1]
    tg = np.arange(L) * dt
    idx = np.arange(0, L, 50)
    C, Dh = [], []
    for i in idx:  # least squares of each member's drift on (1, x, v) at the data's states near t_i
        sl = slice(max(i - 25, 1), min(i + 25, L - 1))
        x, v = X[:, sl].ravel(), V[:, sl].ravel()
        t = np.repeat(tg[sl][None], X.shape[0], 0).ravel()
        pts = np.stack([x, v], 1)
        F = fit.drift_samples(pts, t)[..., 0]
        A = np.stack([np.ones_like(x), x, v], 1)
        C.append(np.linalg.lstsq(A, F.T, rcond=None)[0])
        Dh.append(fit.diffusion_samples(pts, t)[..., 0, 0].mean(1))
    C, Dh = np.array(C), np.array(Dh)  # (n_t, 3, members), (n_t, members)
    tt = tg[idx]
    k_true, D_true = m.stiffness(tt), m.gamma * m.temperature(tt)
    print(f"  mean relative error over the cycle: stiffness {np.mean(-C[:, 1] / k_true[:, None] - 1):+.3f}, "
          f"friction {np.mean(-C[:, 2] / m.gamma - 1):+.3f}, diffusion {np.mean(Dh / D_true[:, None] - 1):+.3f}")
    with np.printoptions(precision=2, suppress=True, linewidth=150):
        for q in range(0, len(tt), 20):
            print(f"  t = {tt[q]:5.1f}: k̂/k {-C[q, 1] / k_true[q]}, γ̂ {-C[q, 2]}, D̂/D {Dh[q] / D_true[q]}")
        M = C.shape[2]
        w_fit = [moment_work(m, tt, C[:, 0, j], -C[:, 1, j], -C[:, 2, j], Dh[:, j]) for j in range(M)]
        w_k = [moment_work(m, tt, C[:, 0, j], k_true, -C[:, 2, j], Dh[:, j]) for j in range(M)]
        print(f"  moment-ODE work per member from (k̂, γ̂, D̂): {np.array(w_fit)}; "
              f"with the true k: {np.array(w_k)}")
        truth = si.simulate(m, n_traj=4000, n_steps=10_000, dt=dt, substeps=10, seed=1, record_every=5)
        x2t, v2t = (truth.x[..., 0] ** 2).mean(0), (truth.v[..., 0] ** 2).mean(0)
        x2, v2 = (sim.x[..., 0] ** 2).mean(1), (sim.v[..., 0] ** 2).mean(1)
        for i in range(0, x2t.size, 250):
            print(f"  t = {i * 5 * dt:5.1f}: ⟨x²⟩ ratio {x2[:, i] / x2t[i]}, ⟨v²⟩ ratio {v2[:, i] / v2t[i]}")
        print(f"  ⟨v²⟩ ratio averaged over t in [10, 100] (away from the start): {(v2 / v2t)[:, 200:].mean(1)}")


def integrator_check() -> int:
    m = si.models.BrownianCarnot(tau=100.0)
    exact = m.cycle_thermodynamics()["mean_work"]
    reference = None
    for integrator, substeps in (("underdamped_euler", 10), ("underdamped_euler", 1), ("baoab", 1)):
        runs = [si.simulate(m, n_traj=5000, n_steps=10_000, dt=0.01, substeps=substeps, seed=3 + r, record_every=5,
                            integrator=integrator) for r in range(8)]
        w = np.concatenate([m.work(tr.x[:, :, 0], np.arange(tr.x.shape[1]) * 0.05) for tr in runs])
        v2 = np.mean([(tr.v[..., 0] ** 2).mean(0) for tr in runs], axis=0)
        if reference is None:
            reference = v2  # the first scheme is the fine one
        print(f"true engine, {integrator}, {substeps} substep(s): W {w.mean():.4f} ± {w.std() / np.sqrt(w.size):.4f} "
              f"({100 * (w.mean() / exact - 1):+.1f}%), ⟨v²⟩ / fine scheme's over t in [10, 100]: "
              f"{(v2 / reference)[200:].mean():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
