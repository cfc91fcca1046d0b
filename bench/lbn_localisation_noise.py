"""Localisation noise in underdamped positions (session 29): how much noise biases the
positions-only inference, and when the pipeline's check reports it. Exactly sampled damped
oscillators dv = (−kx − γv)dt + √(2γT)dW (T = 1), 40 paths × 5000 records, plus Gaussian
position noise of a given fraction of the positions' spread √(T/k). Per noise level: the lag-1
correlation ρ of the second differences less their least-squares drift against the inertial
ρ₀(γΔt) (stochinfer.langevin.friction.inertial_residual_correlation), the diffusion from the
3/2 estimate with the finite-γΔt factor over the truth, the friction F + (F − F_r)/4 unbiased,
and for the first system whether infer_langevin warns (a short fit: 32 wide, 800 drift updates)
with its estimate of the noise's std.

    cd bench && PYTHONPATH=../python python lbn_localisation_noise.py      (about 2 min)
"""
import warnings

import numpy as np

import stochinfer as si
from lbn_friction_estimate import exact_positions
from stochinfer.langevin import TrainSettings
from stochinfer.langevin.friction import finite_dt_bias, inertial_residual_correlation, unbiased_friction


def least_squares(xs: np.ndarray, dt: float):
    """(ρ, D̂ with the 3/2 and ρ(γΔt) factors, unbiased friction) of positions xs (n, paths)."""
    v = np.diff(xs, axis=0) / dt
    label = np.diff(v, axis=0) / dt

    def fit(vv):
        design = np.stack([xs[1:-1].ravel(), vv.ravel(), np.ones(label.size)], axis=1)
        coef = np.linalg.lstsq(design, label.ravel(), rcond=None)[0]
        return coef, (label.ravel() - design @ coef).reshape(label.shape)
    (c, r), (cr, _) = fit(v[:-1]), fit(v[1:])
    a, b = r[:-1].ravel(), r[1:].ravel()
    rho = np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))
    gamma = float(unbiased_friction(-(c + (c - cr) / 4)[1], dt))
    diff = 1.5 * np.mean((r * dt) ** 2) / (2 * dt) / float(finite_dt_bias(gamma * dt))
    return rho, diff, gamma


def pipeline_warning(xs: np.ndarray, dt: float) -> str:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        si.infer_langevin(xs.T[..., None], dt=dt, regime="underdamped", hidden=32, progress=False,
                          drift_settings=TrainSettings(n_iter=800), diffusion_settings=TrainSettings(n_iter=200))
    said = [str(w.message) for w in rec if "localisation" in str(w.message)]
    return said[0].split("noise std about ")[1].split(" ")[0] if said else "no"


def main():
    print("γ k Δt | noise/spread | ρ (ρ₀) | D̂/D | friction (γ) | warned: σ̂ (σ)")
    for i, (g, k, dt) in enumerate(((10.0, 4.0, 0.01), (2.0, 100.0, 0.01), (0.5, 4.0, 0.01))):
        clean = exact_positions(np.sqrt(k), g, dt, 5000, n_traj=40, seed=1)
        spread = 1.0 / np.sqrt(k)
        for rel in (0.0, 1e-4, 3e-4, 1e-3, 3e-3):
            sigma = rel * spread
            xs = clean + sigma * np.random.default_rng(2).normal(size=clean.shape)
            rho, diff, gamma = least_squares(xs, dt)
            warned = pipeline_warning(xs, dt) if i == 0 else "-"
            print(f"{g:g} {k:g} {dt:g} | {rel:g} | {rho:+.3f} ({float(inertial_residual_correlation(g * dt)):+.3f}) "
                  f"| {diff / g:.3f} | {gamma:.2f} ({g:g}) | {warned} ({sigma:.3g})", flush=True)


if __name__ == "__main__":
    main()
