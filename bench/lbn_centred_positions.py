"""Which position to pair with the underdamped label (session 27): exact least squares of the
second difference Δv̂_i/Δt on (x, v̂) for a finely integrated oscillator
dv = (−ω²x − γv)dt + √(2γ)dW, with methods.md §3.3's F + (F − F_r)/4 correction.
'spec' pairs the label with x_i (methods.md), 'centred' with x_{i+1}, the centre of the
second difference (the pipeline since session 27); F_r is the regression on (x_{i+1}, v̂_{i+1}).
Prints the fitted stiffness ω² and friction γ of the corrected drift.

    python bench/lbn_centred_positions.py
"""
import numpy as np


def positions(w: float, g: float, dt: float, n: int, sub: int = 50, seed: int = 0, n_traj: int = 200):
    """Positions every dt of n_traj independent oscillators (semi-implicit Euler, dt/sub)."""
    rng = np.random.default_rng(seed)
    h = dt / sub
    x, v = rng.normal(size=n_traj) / w, rng.normal(size=n_traj)
    out = np.empty((n, n_traj))
    for i in range(n):
        for _ in range(sub):
            v += (-w * w * x - g * v) * h + np.sqrt(2 * g * h) * rng.normal(size=n_traj)
            x += v * h
        out[i] = x
    return out


def main():
    print("omega gamma dt | omega²Δt | spec (ω², γ) | centred (ω², γ)")
    for w, g, dt in ((10.0, 2.0, 0.01), (10.0, 2.0, 0.005), (10.0, 2.0, 0.02), (10.0, 0.5, 0.01),
                     (3.0, 1.0, 0.05), (1.0, 2.0, 0.01)):
        X = positions(w, g, dt, 4000)
        vh = np.diff(X, axis=0) / dt
        a = np.diff(vh, axis=0) / dt

        def fit(xx, vv):
            design = np.stack([xx.ravel(), vv.ravel()], axis=1)
            return -np.linalg.lstsq(design, a.ravel(), rcond=None)[0]
        fr = fit(X[1:-1], vh[1:])
        spec, centred = fit(X[:-2], vh[:-1]), fit(X[1:-1], vh[:-1])
        spec, centred = spec + (spec - fr) / 4, centred + (centred - fr) / 4
        print(f"{w:g} {g:g} {dt:g} | {w * w * dt:.3g} | {spec[0]:.2f}, {spec[1]:.3f} | {centred[0]:.2f}, {centred[1]:.3f}")


if __name__ == "__main__":
    main()
