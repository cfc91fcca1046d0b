"""The second-order bias of the friction read from positions (session 28): exact least squares
of the second difference Δv̂_i/Δt on (x_{i+1}, v̂), as the pipeline pairs them, with the
F + (F − F_r)/4 correction, for exactly sampled damped oscillators
dv = (−ω²x − γv)dt + √(2γ)dW (an Euler integration with dt/40 steps, used before session 29,
read the friction 0.3% high: 9.61–9.62 for γ = 10 where exact samples give 9.58–9.59). Prints the fitted friction γ̂, the closed form g(γΔt)/Δt it
should equal (python/stochinfer/langevin/friction.py: γ̂Δt = (3/2)(I_s − I_c)/I_s =
γΔt − 5(γΔt)²/12 + …) and γ̂ unbiased by unbiased_friction, which the pipeline applies.

    PYTHONPATH=python python bench/lbn_friction_estimate.py      (about 15 s)
"""
import numpy as np
from scipy.linalg import expm

from stochinfer.langevin.friction import _estimated_friction_step, unbiased_friction


def exact_positions(w: float, g: float, dt: float, n: int, n_traj: int, seed: int) -> np.ndarray:
    """Positions (n, n_traj) every dt of stationary oscillators, sampled exactly: z' = E z + η,
    E = exp(A dt), Cov η = C − E C Eᵀ with C = diag(1/ω², 1) the stationary covariance (T = 1)."""
    rng = np.random.default_rng(seed)
    E = expm(np.array([[0.0, 1.0], [-w * w, -g]]) * dt)
    C = np.diag([1.0 / (w * w), 1.0])
    L = np.linalg.cholesky(C - E @ C @ E.T)
    z = np.sqrt(np.diag(C))[:, None] * rng.normal(size=(2, n_traj))
    out = np.empty((n, n_traj))
    for i in range(n):
        out[i] = z[0]
        z = E @ z + L @ rng.normal(size=(2, n_traj))
    return out


def main():
    print("omega² gamma dt | γΔt | γ̂ (least squares) | g(γΔt)/Δt | unbiased γ̂")
    for w, g, dt, n in ((2.0, 10.0, 0.01, 1000), (4.0, 10.0, 0.01, 1000), (6.32, 10.0, 0.01, 1000),
                        (10.0, 2.0, 0.01, 200), (3.0, 1.0, 0.05, 200), (1.0, 10.0, 0.02, 1000),
                        (1.0, 20.0, 0.01, 1000)):
        X = exact_positions(w, g, dt, 3000, n_traj=n, seed=1)
        vh = np.diff(X, axis=0) / dt
        a = np.diff(vh, axis=0) / dt

        def fit(vv):
            design = np.stack([X[1:-1].ravel(), vv.ravel()], axis=1)
            return -np.linalg.lstsq(design, a.ravel(), rcond=None)[0]
        fr, c = fit(vh[1:]), fit(vh[:-1])
        gamma_hat = (c + (c - fr) / 4)[1]
        closed = float(_estimated_friction_step(np.array(g * dt))) / dt
        print(f"{w * w:.3g} {g:g} {dt:g} | {g * dt:.2g} | {gamma_hat:.4f} | {closed:.4f} | "
              f"{float(unbiased_friction(gamma_hat, dt)):.4f}")


if __name__ == "__main__":
    main()
