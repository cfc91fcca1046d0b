"""Built-in models with analytic ground truth (methods.md §5), plus user-defined models.

Every model integrates the Itô SDE dz = Φ(z, t) dt + √(2 D(z, t)) dW in its own
time unit (k_B = 1). Each class exposes ``drift(x, t)`` and ``diffusion(x, t)`` as
float64 numpy functions (the truth that inference is scored against) and, where
they exist, closed-form quantities such as ``ep_rate()`` (k_B per unit time).
"""
from __future__ import annotations

import math
import warnings
from typing import Callable, Optional

import numpy as np

from . import _core
from ._validate import (c_int_count, check_output_fits, finite_array, finite_float, integer, positive_definite,
                        positive_float, positive_int, seed_value, thread_count)

gt = _core.ground_truth

__all__ = [
    "Model", "LinearOU", "BeadSpring", "Nonlinear", "Inhomogeneous", "HodgkinHuxley",
    "VanDerPol", "VanDerPolIHD", "BrownianCarnot", "ElasticNetwork", "FlashingRatchet", "PythonModel", "from_dict",
]


class _FrozenAfterConstruction(type):
    """Freezes a Model once its whole construction is done, whatever the MRO (mixins,
    subclasses that set attributes after super().__init__())."""

    def __call__(cls, *args, **kwargs):
        obj = super().__call__(*args, **kwargs)
        obj._freeze()
        return obj


class _Frozen(metaclass=_FrozenAfterConstruction):
    """Public attributes fixed after construction, array attributes read-only copies."""

    def _freeze(self) -> None:
        """Array parameters become read-only private copies (the caller's arrays stay
        writeable), then public attributes are fixed."""
        for name, value in list(self.__dict__.items()):
            if isinstance(value, np.ndarray):
                frozen = np.array(value, copy=True)
                frozen.setflags(write=False)
                object.__setattr__(self, name, frozen)
        object.__setattr__(self, "_frozen", True)

    def __setstate__(self, state: dict) -> None:  # copy.deepcopy and pickle: frozen again
        self.__dict__.update(state)
        if state.get("_frozen"):
            self._freeze()

    def __setattr__(self, name: str, value) -> None:
        if self.__dict__.get("_frozen") and not name.startswith("_"):
            raise AttributeError(f"{type(self).__name__}.{name} is fixed at construction (the simulator, the ground "
                                 f"truth and the saved description derive from it): build a new "
                                 f"{type(self).__name__}(..., {name}=...)")
        object.__setattr__(self, name, value)


class Model(_Frozen):
    """Base class of continuous models simulated by the compiled core.

    Parameters are fixed at construction: the compiled simulator, the numpy ground
    truth (some of it precomputed, e.g. A and D) and the saved description all derive
    from them, so changing one afterwards would let them disagree silently. Setting a
    public attribute after __init__ raises AttributeError, and array parameters are
    read-only; build a new model instead."""

    cpp_name: str = ""
    underdamped: bool = False
    default_integrator: str = "euler_maruyama"
    default_initial: str = "zeros"
    #: integration steps of length dt/substeps to discard before recording, unless told otherwise
    default_burn_in_substeps: int = 0

    def _size(self) -> int:
        raise NotImplementedError

    def _params(self) -> list:
        raise NotImplementedError

    @property
    def dim(self) -> int:
        """State dimension (2 × degrees of freedom for underdamped models)."""
        size = self._size()
        cached = self.__dict__.get("_dim_of_size")
        if cached is None or cached[0] != size:  # the core's answer, once: _params() holds d² floats for some models
            self._dim_of_size = (size, int(_core.state_dim(self.cpp_name, size, self._params())))
        return self._dim_of_size[1]

    @property
    def dof(self) -> int:
        """Number of position coordinates."""
        return self.dim // 2 if self.underdamped else self.dim

    def _states(self, x) -> np.ndarray:
        """x as float64 states (..., dim) for the ground-truth fields; ValueError for another
        width (e.g. positions only for an underdamped model, whose states are (x, v))."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            what = f"(x, v) of {2 * self.dof}" if self.underdamped else str(self.dim)
            raise ValueError(f"states must have shape (..., {self.dim}): {what} coordinates for "
                             f"{type(self).__name__}, got {x.shape}")
        return x

    def initial_distribution(self, dt: float, substeps: int, integrator: str):
        """(kind, data) for the compiled core's initial state; see simulate(initial=...)."""
        return "zeros", None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._describe().items())
        return f"{type(self).__name__}({fields})"

    def _describe(self) -> dict:
        return {}

    def _builtin_class(self) -> type:
        """The built-in class this model is (a user subclass: its built-in base)."""
        return next((c for c in type(self).__mro__ if c.__name__ in _BUILTIN_NAMES and c.__module__ == __name__),
                    type(self))

    def overridden_methods(self) -> list:
        """Names of the built-in base's methods a user subclass redefines (drift, diffusion
        or a helper they call, e.g. BrownianCarnot.stiffness): the compiled core simulates
        the base's equations, not these. Dunder methods (a subclass's __init__) are free."""
        base = self._builtin_class()
        own = {name for c in type(self).__mro__[:type(self).__mro__.index(base)] for name in vars(c)}
        return sorted(name for name in own if not (name.startswith("__") and name.endswith("__"))
                      and callable(getattr(base, name, None))
                      and getattr(type(self), name) is not getattr(base, name))

    def to_dict(self) -> dict:
        """{"model": name, **arguments}, what from_dict rebuilds. A user subclass is stored
        as its built-in base: that is the model the compiled core simulated."""
        return {"model": self._builtin_class().__name__, **self._describe()}


class _LinearMixin:
    """Ground truth of Ornstein–Uhlenbeck models dx = A x dt + √(2D) dW (methods.md §5.0)."""

    A: np.ndarray
    D: np.ndarray

    def drift(self, x: np.ndarray, t: float = 0.0) -> np.ndarray:
        """Φ(x) = A x for states x of shape (..., d)."""
        return self._states(x) @ self.A.T

    def diffusion(self, x: np.ndarray, t: float = 0.0) -> np.ndarray:
        """Constant D, broadcast to shape (..., d, d)."""
        x = self._states(x)
        return np.broadcast_to(self.D, x.shape[:-1] + self.D.shape)

    def stationary_covariance(self) -> np.ndarray:
        """Continuous-time stationary covariance C: A C + C Aᵀ + 2D = 0."""
        return np.asarray(gt.stationary_covariance(self.A, self.D))

    def sampled_covariance(self, dt: float, substeps: int = 1, method: str = "euler_maruyama") -> np.ndarray:
        """Stationary covariance C_s of the chain actually sampled every dt (model time unit)
        (method 'euler_maruyama' or 'heun' with `substeps` integrator steps per dt, or 'exact')."""
        return np.asarray(gt.sampled_covariance(self.A, self.D, positive_float("dt", dt), method,
                                                c_int_count("substeps", substeps)))

    def ep_rate(self) -> float:
        """Entropy production rate σ = tr[Ωᵀ D⁻¹ Ω C] (k_B per unit time)."""
        return float(gt.ep_rate(self.A, self.D))

    def snapshot_ep_rate(self, dt: float, substeps: int = 1, method: str = "euler_maruyama") -> float:
        """σ_Δt: the EP rate visible in snapshot pairs dt apart (dt in the model's time
        unit; σ_Δt in k_B per unit time), the value a transition-based estimator converges
        to (methods.md §5.0), for data made by `method` ('euler_maruyama', 'heun' or
        'exact') with `substeps` steps per dt."""
        return float(gt.snapshot_ep_rate(self.A, self.D, positive_float("dt", dt), method,
                                         c_int_count("substeps", substeps)))

    def exposure_ep_rates(self, dt: float, blur: int, seq_len: int = 2, substeps: int = 1,
                          method: str = "euler_maruyama", observed=None) -> dict:
        """EP visible in windows of seq_len motion-blurred frames dt apart (dt: time between
        frames, in the model's time unit), each the mean image of `blur` states dt/blur
        apart (each of those intervals integrated with `substeps` steps of `method`), as
        rates per frame interval (k_B per unit time):
        'exposure_mean_ep_rate', the window of exposure-mean positions (a spot's centroid
        is linear in the image, so clean frames show at least this), and
        'exposure_span_ep_rate', the whole sub-step path the window spans, seq_len·blur − 1
        steps (no function of it shows more). Both exceed σ_Δt, and can exceed σ: adjacent
        exposures together span almost seq_len frame intervals, not seq_len − 1.
        observed: the coordinates the frames draw (partial movies; None: all): the
        exposure-mean rate is then that of their window."""
        obs = [] if observed is None else sorted({integer("observed", i) for i in observed})
        if any(not 0 <= i < self.A.shape[0] for i in obs):
            raise ValueError(f"observed must list coordinates in [0, {self.A.shape[0]}), got {observed!r}")
        mean, span = gt.exposure_window_ep(self.A, self.D, positive_float("dt", dt), method,
                                           c_int_count("substeps", substeps), c_int_count("blur", blur),
                                           c_int_count("seq_len", seq_len, minimum=2), obs)
        return {"exposure_mean_ep_rate": float(mean), "exposure_span_ep_rate": float(span)}

    def transition_entropy(self, x: np.ndarray) -> np.ndarray:
        """Stochastic EP (k_B) of every transition of trajectories x (n_traj, L, d):
        mid-point form ΔS_sys + ΔS_med; returns (n_traj, L - 1)."""
        x = finite_array("x", x, shape=(None, None, self.A.shape[0]))
        if x.shape[1] < 2:
            raise ValueError("x: need at least 2 time points per trajectory")
        C = self.stationary_covariance()
        a = x[:, :-1].reshape(-1, x.shape[2])
        b = x[:, 1:].reshape(-1, x.shape[2])
        return np.asarray(gt.transition_entropy(self.A, self.D, C, a, b)).reshape(x.shape[0], x.shape[1] - 1)

    def integrator_covariance(self, dt: float, substeps: int, integrator: str) -> np.ndarray:
        """sampled_covariance, with an unstable step refused naming dt, substeps and the fix
        (the stationary start, and simulate for any start: stochinfer.simulate)."""
        try:
            return self.sampled_covariance(dt, substeps, integrator)
        except ValueError as exc:
            if "unstable" not in str(exc):
                raise
            raise ValueError(f"dt = {dt:g} with substeps = {substeps}: the {integrator} step dt/substeps is "
                             f"unstable for this model ({exc}); reduce dt or raise substeps") from None

    def initial_distribution(self, dt: float, substeps: int, integrator: str):
        # exactly stationary for the integrator: the discrete Lyapunov covariance of its substep chain
        if self.A.shape[0] > _SLOW_LYAPUNOV_DIM:  # O(d³) with no cancel point: say so before it starts
            warnings.warn(f"the stationary start of this {self.A.shape[0]}-dimensional model solves a dense "
                          f"Lyapunov equation (minutes above d ≈ 2000) that Ctrl-C cannot interrupt; "
                          "initial='zeros' with a burn_in avoids it", stacklevel=4)
        if integrator in ("euler_maruyama", "heun"):
            C = self.integrator_covariance(dt, substeps, integrator)
        else:
            C = self.stationary_covariance()
        L = np.linalg.cholesky(C)
        d = C.shape[0]
        return "gaussian", np.concatenate([np.zeros(d), L.ravel()])


#: above this dimension the stationary start's Lyapunov solve takes seconds to minutes (O(d³))
_SLOW_LYAPUNOV_DIM = 1000


def _dense_dim(name: str, value) -> int:
    """A state dimension whose dense d×d ground-truth matrices (drift, diffusion, their
    Cholesky factors and covariances, and the core's parameter list) fit in memory."""
    d = positive_int(name, value)
    # A, D, Cholesky factors, covariances and the core's parameter lists (~32 bytes per Python float)
    check_output_fits((24, d, d), np.float64, f"{name}={d} needs several dense {d}×{d} matrices; use a smaller {name}")
    return d


def _stable(name: str, A: np.ndarray) -> None:
    # a symmetric A (spring networks, bead chains) has real eigenvalues: eigvalsh is ~10x faster
    # than the general eigvals at d in the thousands (ElasticNetwork(n=40): d = 3200)
    ev = np.linalg.eigvalsh(A) if np.array_equal(A, A.T) else np.linalg.eigvals(A)
    if np.max(ev.real) >= 0:
        raise ValueError(f"{name} must be stable (all eigenvalues with negative real part); max real part {np.max(ev.real):.3g}")


class LinearOU(_LinearMixin, Model):
    """General Ornstein–Uhlenbeck process dx = A x dt + √(2D) dW.

    A: (d, d) stable drift matrix (1/time); D: (d, d) symmetric positive-definite
    diffusion matrix (length²/time).
    """

    cpp_name = "linear_ou"
    default_initial = "stationary"

    def __init__(self, A, D):
        A = finite_array("A", A, shape=(None, None))
        if A.shape[0] != A.shape[1] or A.shape[0] == 0:
            raise ValueError(f"A must be a non-empty square matrix, got shape {A.shape}")
        _stable("A", A)
        D = positive_definite("D", D)
        if D.shape != A.shape:
            raise ValueError(f"D must have the shape of A {A.shape}, got {D.shape}")
        self.A, self.D = A, D

    def _size(self):
        return self.A.shape[0]

    def _params(self):
        G = np.linalg.cholesky(2.0 * self.D)
        return list(self.A.ravel()) + list(G.ravel())

    def _describe(self):
        return {"A": self.A.tolist(), "D": self.D.tolist()}


class BeadSpring(_LinearMixin, Model):
    """Bead-spring chain between walls (methods.md §5.1).

    γ dx_i = k (x_{i−1} − 2x_i + x_{i+1}) dt + √(2γT_i) dW_i with x_0 = x_{N+1} = 0 and a
    linear temperature profile T_i = t_cold + (t_hot − t_cold)(i − 1)/(N − 1), unless
    `temperatures` gives every T_i. Units: k_B = 1, so temperatures are energies; k is a
    spring constant (energy per length²) and γ a friction coefficient (energy·time per
    length²); with the defaults k = γ = 1 time is counted in units of γ/k.
    """

    cpp_name = "bead_spring"
    default_initial = "stationary"

    def __init__(self, n_beads: int = 2, t_cold: float = 1.0, t_hot: float = 10.0, k: float = 1.0,
                 gamma: float = 1.0, temperatures: Optional[np.ndarray] = None):
        self.n_beads = _dense_dim("n_beads", n_beads)
        self.k = positive_float("k", k)
        self.gamma = positive_float("gamma", gamma)
        if temperatures is None:
            t_cold = positive_float("t_cold", t_cold)
            t_hot = positive_float("t_hot", t_hot)
            if self.n_beads == 1:
                temps = np.array([t_cold])
            else:
                temps = t_cold + (t_hot - t_cold) * np.arange(self.n_beads) / (self.n_beads - 1)
        else:
            temps = finite_array("temperatures", temperatures, shape=(self.n_beads,))
            if np.any(temps <= 0):
                raise ValueError("temperatures must all be > 0")
        self.temperatures = temps
        self.A = np.asarray(gt.bead_spring_drift_matrix(self.n_beads, self.k, self.gamma))
        self.D = np.asarray(gt.bead_spring_diffusion(self.temperatures, self.gamma))
        if not (np.isfinite(self.A).all() and np.isfinite(self.D).all()):  # k/γ or T/γ beyond double range
            raise ValueError(f"k / gamma = {self.k / self.gamma:.3g} and temperatures / gamma overflow double "
                             "precision: choose k, gamma and the temperatures within a few hundred orders of magnitude")

    @classmethod
    def high_dimensional(cls, n_beads: int, t_hot: float = 10.0, target_ep_rate: float = 1.0) -> "BeadSpring":
        """The σ = 1 family of methods.md §5.2: T_N = t_hot and T_1 solved so that ep_rate() = target."""
        n = positive_int("n_beads", n_beads, minimum=2)
        _dense_dim("n_beads", n)
        t_hot, target = positive_float("t_hot", t_hot), positive_float("target_ep_rate", target_ep_rate)
        try:
            t1 = float(gt.high_dim_cold_temperature(n, t_hot, target))
        except RuntimeError as exc:  # no cold temperature in (0, t_hot) reaches the target
            raise ValueError(f"target_ep_rate={target:g} is out of reach for n_beads={n}, t_hot={t_hot:g} (no cold "
                             f"temperature gives it: {exc}); choose a smaller target or a larger t_hot") from None
        return cls(n_beads=n, t_cold=t1, t_hot=t_hot)

    def _size(self):
        return self.n_beads

    def _params(self):
        return [self.k / self.gamma] + list(np.sqrt(2.0 * self.temperatures / self.gamma))

    def _describe(self):
        return {"n_beads": self.n_beads, "temperatures": self.temperatures.tolist(), "k": self.k, "gamma": self.gamma}


class Nonlinear(Model):
    """Nonlinear rotational system (methods.md §5.4): Φ(x) = A x + α x ⊙ e^{−x⊙x/2},
    A = diag −k, sub-diagonal +k, super-diagonal −k; constant tridiagonal D with
    D_ii = T, D_{i,i±1} = −√T, positive definite only for T > 4cos²(π/(d+1)).
    Dimensionless units (k_B = 1): k and α are rates (per time unit), temperature T
    sets the noise (D in length² per time unit)."""

    cpp_name = "nonlinear"

    def __init__(self, dim: int = 2, k: float = 2.0, alpha: float = 10.0, temperature: float = 2.0):
        self.d = _dense_dim("dim", dim)
        self.k = positive_float("k", k)
        self.alpha = finite_float("alpha", alpha)
        self.temperature = positive_float("temperature", temperature)
        bound = 4 * math.cos(math.pi / (self.d + 1)) ** 2
        if self.d > 1 and self.temperature <= bound:
            raise ValueError(f"temperature must exceed 4cos²(π/(dim+1)) = {bound:.4g} for dim={self.d}, "
                             f"else D is singular; got {self.temperature}")
        self.A = -self.k * np.eye(self.d) + self.k * np.eye(self.d, k=-1) - self.k * np.eye(self.d, k=1)
        s = math.sqrt(self.temperature)
        self.D = self.temperature * np.eye(self.d) - s * (np.eye(self.d, k=1) + np.eye(self.d, k=-1))
        try:  # the bound test can pass by rounding one ulp above it
            np.linalg.cholesky(2.0 * self.D)
        except np.linalg.LinAlgError:
            raise ValueError(f"temperature {self.temperature} is too close to 4cos²(π/(dim+1)) = {bound:.17g} "
                             f"for dim={self.d}: D is numerically singular") from None

    def _size(self):
        return self.d

    def _params(self):
        return [self.alpha] + list(self.A.ravel()) + list(np.linalg.cholesky(2.0 * self.D).ravel())

    def drift(self, x, t: float = 0.0):
        """Drift Φ(x) (..., d), position per time unit, for positions x (..., d)."""
        x = self._states(x)
        return x @ self.A.T + self.alpha * x * np.exp(-0.5 * x * x)

    def diffusion(self, x, t: float = 0.0):
        """Constant diffusion matrix D (..., d, d), position² per time unit."""
        x = self._states(x)
        return np.broadcast_to(self.D, x.shape[:-1] + self.D.shape)

    def _describe(self):
        return {"dim": self.d, "k": self.k, "alpha": self.alpha, "temperature": self.temperature}


class Inhomogeneous(Model):
    """Multiplicative-noise system (methods.md §5.5): D(x) = diag(T(1 + T₀e^{−x_i²/2})),
    Φ(x) = A x − T T₀ x ⊙ e^{−x²/2} (the spurious drift ∇·D), A = k·tridiag(1, −2, 1).
    Dimensionless units: k a rate (per time unit), temperature T the noise level (D in
    length² per time unit), t0 = T₀ the dimensionless amplitude of the state-dependent
    part of D (not a time)."""

    cpp_name = "inhomogeneous"
    default_integrator = "euler_maruyama"

    def __init__(self, dim: int = 2, k: float = 2.0, temperature: float = 1.0, t0: float = 2.0):
        self.d = _dense_dim("dim", dim)
        self.k = positive_float("k", k)
        self.temperature = positive_float("temperature", temperature)
        self.t0 = positive_float("t0", t0, allow_zero=True)
        self.A = self.k * (np.eye(self.d, k=-1) - 2 * np.eye(self.d) + np.eye(self.d, k=1))

    def _size(self):
        return self.d

    def _params(self):
        return [self.temperature, self.t0] + list(self.A.ravel())

    def drift(self, x, t: float = 0.0):
        """Itô drift Φ(x) (..., d), position per time unit, for positions x (..., d)."""
        x = self._states(x)
        return x @ self.A.T - self.temperature * self.t0 * x * np.exp(-0.5 * x * x)

    def diffusion(self, x, t: float = 0.0):
        """Diagonal diffusion D(x) (..., d, d), position² per time unit."""
        x = self._states(x)
        diag = self.temperature * (1 + self.t0 * np.exp(-0.5 * x * x))
        return diag[..., :, None] * np.eye(self.d)

    def _describe(self):
        return {"dim": self.d, "k": self.k, "temperature": self.temperature, "t0": self.t0}


class HodgkinHuxley(Model):
    """Stochastic Hodgkin–Huxley neuron (methods.md §5.6), state (V [mV], n, m, h),
    time in ms. Noise on the gates only, D = diag(0, T, T, T); gates are clipped
    to [0, 1] after every step. V(0) ~ U(−20, 20) mV, gates at steady state.
    Units of the parameters: C in µF/cm², conductances g_* in mS/cm², reversal
    potentials e_* in mV, i_ext in µA/cm², temperature T the gates' diffusion
    (dimensionless gate² per ms)."""

    cpp_name = "hodgkin_huxley"
    default_initial = "model_default"

    def __init__(self, temperature: float = 0.01, C: float = 1.0, g_na: float = 120.0, g_k: float = 36.0,
                 g_l: float = 0.3, e_na: float = 115.0, e_k: float = -12.0, e_l: float = 10.6, i_ext: float = 0.0):
        self.temperature = positive_float("temperature", temperature)
        self.C = positive_float("C", C)
        self.g_na, self.g_k, self.g_l = (positive_float(n, v, allow_zero=True) for n, v in
                                         (("g_na", g_na), ("g_k", g_k), ("g_l", g_l)))
        self.e_na, self.e_k, self.e_l, self.i_ext = (finite_float(n, v) for n, v in
                                                     (("e_na", e_na), ("e_k", e_k), ("e_l", e_l), ("i_ext", i_ext)))

    def _size(self):
        return 4

    def _params(self):
        return [self.C, self.g_na, self.g_k, self.g_l, self.e_na, self.e_k, self.e_l, self.i_ext, self.temperature]

    def initial_distribution(self, dt, substeps, integrator):
        return "model_default", None

    def scoring_mask(self, points) -> np.ndarray:
        """True where every gate is inside (0.01, 0.99): elsewhere the clipping to
        [0, 1], which the drift formula leaves out, shapes the recorded increments,
        so LangevinFit.report scores only these states."""
        g = np.asarray(points, dtype=np.float64)[..., 1:4]
        return np.all((g > 0.01) & (g < 0.99), axis=-1)

    @staticmethod
    def _exprel_inv(y):
        y = np.asarray(y, dtype=np.float64)
        small = np.abs(y) < 1e-4
        with np.errstate(invalid="ignore", divide="ignore"):
            exact = y / np.expm1(y)
        return np.where(small, 1 - y / 2 + y * y / 12, exact)

    def drift(self, x, t: float = 0.0):
        """Drift (..., 4) of states x = (V [mV], n, m, h) (..., 4): dV/dt in mV/ms and the gates'
        rates per ms (the unclipped formula; see scoring_mask)."""
        x = self._states(x)
        V, n, m, h = (x[..., i] for i in range(4))
        a = [0.1 * self._exprel_inv((10 - V) / 10), self._exprel_inv((25 - V) / 10), 0.07 * np.exp(-V / 20)]
        b = [0.125 * np.exp(-V / 80), 4 * np.exp(-V / 18), 1 / (np.exp((30 - V) / 10) + 1)]
        dV = (self.i_ext - (self.g_na * m**3 * h * (V - self.e_na) + self.g_k * n**4 * (V - self.e_k)
                            + self.g_l * (V - self.e_l))) / self.C
        gates = [a[j] * (1 - g) - b[j] * g for j, g in enumerate((n, m, h))]
        return np.stack([dV] + gates, axis=-1)

    def diffusion(self, x, t: float = 0.0):
        """Diffusion (..., 4, 4) per ms: zero for the voltage, `temperature` for each gate."""
        x = self._states(x)
        D = np.diag([0.0, self.temperature, self.temperature, self.temperature])
        return np.broadcast_to(D, x.shape[:-1] + (4, 4))

    def _describe(self):
        return {"temperature": self.temperature, "C": self.C, "g_na": self.g_na, "g_k": self.g_k, "g_l": self.g_l,
                "e_na": self.e_na, "e_k": self.e_k, "e_l": self.e_l, "i_ext": self.i_ext}


class VanDerPol(Model):
    """Underdamped Van der Pol oscillators (methods.md §5.7): ẋ = v,
    dv = [μ(1 − x²)v − x] dt + √(2D) dW with D = T (1 + c_x x² + c_v v²); `dim`
    independent copies. State (x, v). Default integrator BAOAB; the reference
    LBN scheme is integrator='underdamped_euler'. Burn-in: 10,000 steps of dt/substeps.
    Dimensionless units: μ is the damping nonlinearity (per time unit), temperature T
    and the coefficients c_x (per length²) and c_v (per velocity²) set the velocity
    diffusion D (velocity² per time unit). dim: the number of oscillators (the state
    has 2·dim coordinates)."""

    cpp_name = "van_der_pol"
    underdamped = True
    default_integrator = "baoab"
    default_burn_in_substeps = 10_000

    def __init__(self, mu: float = 2.0, temperature: float = 1.0, dim: int = 1, c_x: float = 0.0, c_v: float = 0.0):
        self.mu = finite_float("mu", mu)
        self.temperature = positive_float("temperature", temperature)
        self.d = positive_int("dim", dim)
        if self.d > 2**28:  # the state (x, v) has 2·dim components, counted in a C int
            raise ValueError(f"dim must be <= 2**28, got {self.d}")
        self.c_x = positive_float("c_x", c_x, allow_zero=True)
        self.c_v = positive_float("c_v", c_v, allow_zero=True)

    def _size(self):
        return self.d

    def _params(self):
        return [self.mu, self.temperature, self.c_x, self.c_v]

    def drift(self, z, t: float = 0.0):
        """Acceleration field a(x, v) for states z = (x, v) of shape (..., 2·dim)."""
        z = self._states(z)
        x, v = z[..., : self.d], z[..., self.d:]
        return self.mu * (1 - x * x) * v - x

    def diffusion(self, z, t: float = 0.0):
        """Velocity diffusion D(x, v), shape (..., dim, dim)."""
        z = self._states(z)
        x, v = z[..., : self.d], z[..., self.d:]
        diag = self.temperature * (1 + self.c_x * x * x + self.c_v * v * v)
        return diag[..., :, None] * np.eye(self.d)

    def _describe(self):
        return {"mu": self.mu, "temperature": self.temperature, "dim": self.d, "c_x": self.c_x, "c_v": self.c_v}


class VanDerPolIHD(VanDerPol):
    """Van der Pol with state-dependent noise D(x, v) = T(1 + 0.3x² + 0.1v²) (methods.md §5.7)."""

    def __init__(self, mu: float = 2.0, temperature: float = 1.0, dim: int = 1, c_x: float = 0.3, c_v: float = 0.1):
        super().__init__(mu=mu, temperature=temperature, dim=dim, c_x=c_x, c_v=c_v)


class BrownianCarnot(Model):
    """Underdamped Brownian Carnot engine (methods.md §5.8), m = 1:
    ẋ = v, dv = [−k(t)x − γv] dt + √(2γT(t)) dW over a cycle of period `tau` (time
    units; k_B = 1: temperatures t_cold, t_hot and work are energies, k_max a stiffness
    (energy per length²), γ = gamma a friction rate per time unit since m = 1).
    Starts in equilibrium at (k_max/9, t_cold) and runs `burn_in_cycles` cycles
    before recording. The reference protocol uses 100; the slowest relaxation time
    (γ/k ≤ γ·9/k_max ≈ 2.3 at the defaults) makes 3 cycles of τ = 100 ample, and the
    simulation-vs-moment-ODE test checks the work at the default."""

    cpp_name = "brownian_carnot"
    underdamped = True
    default_integrator = "baoab"
    default_initial = "equilibrium"

    def __init__(self, tau: float = 100.0, k_max: float = 40.0, t_cold: float = 10.0, gamma: float = 10.0,
                 burn_in_cycles: int = 3):
        self.tau = positive_float("tau", tau)
        self.k_max = positive_float("k_max", k_max)
        self.t_cold = positive_float("t_cold", t_cold)
        self.gamma = positive_float("gamma", gamma)
        self.burn_in_cycles = positive_int("burn_in_cycles", burn_in_cycles, minimum=0)

    def _size(self):
        return 1

    def _params(self):
        return [self.gamma, self.tau, self.k_max, self.t_cold]

    def stiffness(self, t) -> np.ndarray:
        """Trap stiffness k(t) (energy per length²) at times t (scalar or array, the time
        unit of tau; phase t mod tau): k_max/9 → k_max/3 (τ/4) → k_max (τ/2), mirrored."""
        s = np.mod(np.asarray(t, dtype=np.float64), self.tau)
        s = np.where(s <= self.tau / 2, s, self.tau - s)
        return self.k_max / 9 + 32 * self.k_max / (9 * self.tau**2) * s * s

    def temperature(self, t) -> np.ndarray:
        """Bath temperature T(t) (k_B = 1) at times t (phase t mod tau): cold isotherm,
        T ∝ √k, hot isotherm √3·t_cold, T ∝ √k back."""
        s = np.mod(np.asarray(t, dtype=np.float64), self.tau)
        root = np.sqrt(self.stiffness(t) / (self.k_max / 3))
        th = math.sqrt(3) * self.t_cold
        return np.select([s < self.tau / 4, s < self.tau / 2, s < 3 * self.tau / 4],
                         [self.t_cold, self.t_cold * root, th], th * root)

    def drift(self, z, t=0.0):
        """Acceleration −k(t)x − γv for states z = (x, v) (..., 2); t broadcasts with z[..., 0]."""
        z = self._states(z)
        return (-self.stiffness(t) * z[..., 0] - self.gamma * z[..., 1])[..., None]

    def diffusion(self, z, t=0.0):
        """Velocity diffusion γT(t), shape (..., 1, 1)."""
        z = self._states(z)
        return (self.gamma * self.temperature(t) * np.ones(z.shape[:-1]))[..., None, None]

    def cycle_thermodynamics(self) -> dict:
        """Exact mean work per cycle ⟨W⟩ (on the particle; negative = engine output), heat
        from the hot bath Q_h and efficiency η = −⟨W⟩/Q_h from the moment ODEs. Energies in
        the units of k_B T (k_B = 1, the temperatures' unit)."""
        return dict(gt.carnot_cycle_moments(self.tau, self.k_max, self.t_cold, self.gamma))

    def work(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Work on the particle per trajectory W = Σ ½ x² Δk (energy, k_B = 1) along recorded
        positions x (n_traj, L) or (n_traj, L, 1) (Trajectories.x) at times t (L,)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 3 and x.shape[2] == 1:
            x = x[..., 0]
        t = np.asarray(t, dtype=np.float64)
        if x.ndim != 2 or t.shape != (x.shape[1],):
            raise ValueError(f"work needs positions x (n_traj, L) and times t (L,); got x {x.shape}, t {t.shape}")
        k = self.stiffness(t)
        xm2 = 0.5 * (x[:, 1:] ** 2 + x[:, :-1] ** 2)
        return np.sum(0.5 * xm2 * np.diff(k), axis=1)

    def initial_distribution(self, dt, substeps, integrator):
        k0 = self.k_max / 9
        return "gaussian", np.array([0.0, 0.0, math.sqrt(self.t_cold / k0), 0.0, 0.0, math.sqrt(self.t_cold)])

    def default_burn_in(self, dt: float) -> int:
        """burn_in_cycles cycles, in intervals of dt."""
        steps = self.burn_in_cycles * self.tau / dt
        if not steps < 2**56:  # inf for a subnormal dt: the RNG's step counter has 56 bits anyway
            raise ValueError(f"dt = {dt:g} makes the default burn-in of {self.burn_in_cycles:g} cycles "
                             f"({steps:.3g} steps) too long; pass a larger dt or burn_in")
        return int(round(steps))

    def _describe(self):
        return {"tau": self.tau, "k_max": self.k_max, "t_cold": self.t_cold, "gamma": self.gamma,
                "burn_in_cycles": self.burn_in_cycles}


class FlashingRatchet:
    """Discrete flashing ratchet as an embedded Markov jump chain (methods.md §5.3).

    Tokens 0–2: position i with the potential on (U = i·V); 3–5: potential off.
    One step = one jump; EP in k_B per jump. Partial observation: position only (token mod 3).
    potential V and temperature T are energies (k_B = 1: only V/T matters); switch_rate
    r is the on ↔ off rate relative to the rate-1 jumps of the free (off) ring. Time is
    counted in jumps, so no rate sets a time unit.
    """

    n_states = 6

    def __init__(self, potential: float = 2.0, temperature: float = 1.0, switch_rate: float = 1.0):
        self.potential = positive_float("potential", potential, allow_zero=True)
        self.temperature = positive_float("temperature", temperature)
        self.switch_rate = positive_float("switch_rate", switch_rate)
        if not 1e-12 <= self.switch_rate <= 1e12:  # 1e-20: "no unique stationary distribution" (review)
            raise ValueError(f"switch_rate must be within [1e-12, 1e12], got {self.switch_rate:g}: beyond it the "
                             "jump probabilities lose the switching in double precision and the ground truth "
                             "cannot be computed")
        limit = gt.RATCHET_MAX_BARRIER  # jump probabilities span exp(−2V/T): they would underflow
        if self.potential / self.temperature > limit:
            raise ValueError(f"potential / temperature must be <= {limit:g}, got "
                             f"{self.potential / self.temperature:.4g}: beyond it the jump probabilities underflow "
                             "double precision")

    def transition_matrix(self) -> np.ndarray:
        """Jump chain P (6, 6): P[i, j] the probability that a jump from token i goes to j
        (zero diagonal, rows sum to 1; tokens as in the class docstring)."""
        return np.asarray(gt.ratchet_transition_matrix(self.potential, self.temperature, self.switch_rate))

    def stationary_distribution(self) -> np.ndarray:
        """Stationary distribution π (6,) of the jump chain: π P = π, Σ π = 1."""
        return np.asarray(gt.ratchet_stationary(self.transition_matrix()))

    def ep_per_step(self) -> float:
        """Exact mean EP per jump Σ π_i P_ij ln(P_ij/P_ji) (k_B per step)."""
        return float(gt.ratchet_ep_per_step(self.transition_matrix()))

    def transition_entropy(self, tokens: np.ndarray) -> np.ndarray:
        """Stochastic EP (k_B) of every jump of full-information token paths (n_traj, L) → (n_traj, L − 1)."""
        tokens = np.asarray(tokens)
        if tokens.dtype.kind not in "iu":
            raise TypeError(f"tokens must be an integer array of states 0..5, got dtype {tokens.dtype}")
        if tokens.ndim != 2 or tokens.shape[1] < 2:
            raise ValueError("tokens must have shape (n_traj, L) with L >= 2")
        if tokens.min() < 0 or tokens.max() >= self.n_states:  # before the cast: no wrap-around
            raise ValueError("tokens must be full-information states 0..5")
        tokens = np.ascontiguousarray(tokens, dtype=np.int32)
        P = self.transition_matrix()
        return np.asarray(gt.ratchet_transition_entropy(P, gt.ratchet_stationary(P), tokens))

    def sample(self, n_traj: int, n_steps: int, seed: int = 0, observe: str = "full",
               n_threads: Optional[int] = None) -> np.ndarray:
        """Token paths (n_traj, n_steps + 1), int32, started from the stationary distribution.
        observe='position' returns token mod 3 (the hidden on/off state removed)."""
        n_traj = positive_int("n_traj", n_traj)
        n_steps = positive_int("n_steps", n_steps)
        if observe not in ("full", "position"):
            raise ValueError("observe must be 'full' or 'position'")
        seed, threads = seed_value("seed", seed), thread_count(n_threads)
        check_output_fits((n_traj, n_steps + 1), np.int32, "sample fewer paths or steps")
        P = self.transition_matrix()
        out = _core.sample_markov_chain(P, gt.ratchet_stationary(P), n_traj, n_steps, seed, threads)
        return out % 3 if observe == "position" else out

    def __repr__(self):
        return f"FlashingRatchet(potential={self.potential}, temperature={self.temperature}, switch_rate={self.switch_rate})"


class PythonModel(_Frozen):
    """User-defined overdamped model from vectorised Python callables.

    drift(x, t) -> (n_traj, d) array for states x (n_traj, d) at time t; noise is
    either a constant `diffusion` matrix D (d, d) or a callable `noise(x, t, xi)`
    returning √(2D(x, t)) ξ for standard normals ξ (n_traj, d). Evaluated once
    per integration step for the whole batch in Python: much slower than the
    built-in models, but with the same random numbers (seed, trajectory, step, component).
    With a constant `diffusion`, the model also has diffusion(x, t), so it can serve
    as the truth of LangevinFit.report(); a `noise` callable does not define D.
    """

    underdamped = False

    def __init__(self, drift: Callable, dim: int, diffusion=None, noise: Optional[Callable] = None):
        if not callable(drift):
            raise TypeError("drift must be callable drift(x, t) -> array")
        self.d = positive_int("dim", dim)
        if (diffusion is None) == (noise is None):
            raise ValueError("give exactly one of diffusion (constant matrix) or noise (callable)")
        if noise is not None and not callable(noise):
            raise TypeError("noise must be callable noise(x, t, xi) -> array, or None with a constant diffusion")
        self._drift = drift
        self._noise = noise
        self._G = None
        if diffusion is not None:
            D = positive_definite("diffusion", np.atleast_2d(finite_array("diffusion", diffusion)))
            if D.shape != (self.d, self.d):
                raise ValueError(f"diffusion must have shape ({self.d}, {self.d}), got {D.shape}")
            self._G = np.linalg.cholesky(2.0 * D)
            self._D = D
            self.diffusion = self._constant_diffusion  # only then: report() tests hasattr(truth, "diffusion")

    @property
    def dim(self) -> int:
        return self.d

    @property
    def dof(self) -> int:
        return self.d

    def drift(self, x, t: float = 0.0):
        """The drift callable given at construction: (..., dim) per time unit. t: a time,
        or one per state of x (n, dim) (report() of a driven fit): the callable, written for
        a scalar t as the simulator calls it, then runs once per distinct time."""
        if np.ndim(t) == 0:
            return self._drift(x, t)
        x, t = np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64)
        if x.ndim != 2 or t.shape != x.shape[:1]:
            raise ValueError(f"t must be a scalar or have one time per state ({x.shape[0]},), got {t.shape}")
        out = np.empty((x.shape[0], self.d))
        times, which = np.unique(t, return_inverse=True)
        for k, tk in enumerate(times):
            rows = which == k
            out[rows] = self._drift(x[rows], float(tk))
        return out

    def _constant_diffusion(self, x, t: float = 0.0) -> np.ndarray:
        """The constant D, broadcast to shape (..., dim, dim)."""
        x = np.asarray(x)
        return np.broadcast_to(self._D, x.shape[:-1] + self._D.shape)

    def noise_increment(self, x, t, xi):
        """√(2D(x, t)) ξ for standard normals xi (n, dim) (the integrator scales it by
        √(time step)): xi @ Gᵀ with G = cholesky(2D) for a constant diffusion, else
        the noise callable."""
        if self._G is not None:
            return xi @ self._G.T
        return self._noise(x, t, xi)

    def to_dict(self):
        return {"model": "PythonModel", "dim": self.d}


_BUILTIN_NAMES = ("LinearOU", "BeadSpring", "Nonlinear", "Inhomogeneous", "HodgkinHuxley", "VanDerPol",
                  "VanDerPolIHD", "BrownianCarnot", "ElasticNetwork")


def from_dict(d: dict) -> Optional[Model]:
    """Rebuilds a built-in model from its to_dict() (as stored by Trajectories.save);
    None for models without a stored description (PythonModel). ValueError for a
    description that names no built-in model or does not fit its model's arguments."""
    classes = {name: globals()[name] for name in _BUILTIN_NAMES}
    name = d.get("model")
    if not isinstance(name, str):
        raise ValueError(f"model description names no model (its 'model' entry is {name!r})")
    if name == "PythonModel":
        return None
    cls = classes.get(name)
    if cls is None:
        raise ValueError(f"model description names {name!r}, not a built-in model ({', '.join(classes)})")
    kwargs = {k: v for k, v in d.items() if k != "model"}
    try:
        return _from_kwargs(cls, kwargs)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"model description of {name} does not fit its arguments "
                         f"({type(exc).__name__}: {exc})") from None


def _from_kwargs(cls, kwargs: dict):
    if cls is BeadSpring:
        return BeadSpring(n_beads=kwargs["n_beads"], k=kwargs["k"], gamma=kwargs["gamma"],
                          temperatures=np.asarray(kwargs["temperatures"]))
    return cls(**kwargs)


class ElasticNetwork(LinearOU):
    """Elastic network with active nodes (methods.md §5.9.2): a triangular lattice of
    n × n nodes, spacing a = 1, node (p, q) at (p + (q mod 2)/2, q√3/2); harmonic bonds
    (stiffness k) between every pair at distance a, linearised about the rest
    lattice; the outer ring pinned. The free nodes' displacements u (row-major over
    q = 1 … n − 2, p = 1 … n − 2; (u_x, u_y) per node) follow
    γ du = −H u dt + √(2γT) dW, H the Hessian of U = (k/2) Σ_bonds [ê·(u_l − u_j)]²:
    an Ornstein–Uhlenbeck process (A = −H/γ, D = diag(T_j)/γ). Every free node is at
    t_cold except the `hot` nodes at t_hot. Units: k_B = 1, lengths in a, time in γ/k.
    """

    def __init__(self, n: int = 7, t_cold: float = 0.01, t_hot: float = 0.1, hot=((2, 2), (4, 4)),
                 k: float = 1.0, gamma: float = 1.0):
        n = positive_int("n", n, minimum=3)
        if n > 40:
            raise ValueError(f"n must be <= 40 (a {n}×{n} lattice has {2 * (n - 2) ** 2} coordinates), got {n}")
        t_cold, t_hot = positive_float("t_cold", t_cold), positive_float("t_hot", t_hot)
        k, gamma = positive_float("k", k), positive_float("gamma", gamma)
        try:
            hot = tuple((integer("hot", p), integer("hot", q)) for p, q in hot)
        except (TypeError, ValueError):
            raise TypeError(f"hot must be (p, q) integer pairs of free nodes, e.g. ((2, 2), (4, 4)); got {hot!r}") \
                from None
        free = [(p, q) for q in range(1, n - 1) for p in range(1, n - 1)]
        index = {node: i for i, node in enumerate(free)}
        for node in hot:
            if node not in index:
                raise ValueError(f"hot node {node} is not a free (interior) node of the {n}×{n} lattice")
        pos = {(p, q): np.array([p + (q % 2) / 2, q * np.sqrt(3) / 2]) for q in range(n) for p in range(n)}
        H = np.zeros((2 * len(free), 2 * len(free)))
        nodes = list(pos)
        for i, a in enumerate(nodes):
            for b in nodes[i + 1:]:
                e = pos[b] - pos[a]
                if abs(np.linalg.norm(e) - 1.0) > 1e-9:
                    continue
                P = k * np.outer(e, e)  # the bond's stiffness along its axis
                for x, y, sign in ((a, a, 1), (b, b, 1), (a, b, -1), (b, a, -1)):
                    if x in index and y in index:
                        H[2 * index[x]:2 * index[x] + 2, 2 * index[y]:2 * index[y] + 2] += sign * P
        temps = np.full(len(free), t_cold)
        for node in hot:
            temps[index[node]] = t_hot
        super().__init__(-H / gamma, np.diag(np.repeat(temps, 2)) / gamma)
        self.n, self.t_cold, self.t_hot, self.hot, self.k, self.gamma = n, t_cold, t_hot, hot, k, gamma
        self.free_nodes = free
        self.node_temperatures = temps
        self.rest_positions = np.array([pos[node] for node in free])
        self.pinned_positions = np.array([pos[(p, q)] for q in range(n) for p in range(n) if (p, q) not in index])

    def _describe(self):
        return {"n": self.n, "t_cold": self.t_cold, "t_hot": self.t_hot, "hot": [list(h) for h in self.hot],
                "k": self.k, "gamma": self.gamma}

    def _local_velocity(self) -> tuple:
        C = self.stationary_covariance()
        return C, self.A + self.D @ np.linalg.inv(C)  # mean local velocity v(u) = Ω u

    def node_ep_rates(self) -> np.ndarray:
        """Velocity map σ_j = tr[Ω_jᵀ D_jj⁻¹ Ω_j C] per free node (≥ 0, sums to σ): where
        the EP rate is produced (k_B per unit time)."""
        C, Om = self._local_velocity()
        out = np.empty(len(self.free_nodes))
        for j in range(len(self.free_nodes)):
            rows = slice(2 * j, 2 * j + 2)
            Oj = Om[rows]
            out[j] = np.trace(Oj.T @ np.linalg.inv(self.D[rows, rows]) @ Oj @ C)
        return out

    def node_heat_rates(self) -> np.ndarray:
        """Heat map s_j = Σ_{rows of j} [K C Ωᵀ]_rr / T_j, K = −H: the rate of entropy
        flowing into node j's bath (signed; negative where heat leaves a hot bath; sums to σ)."""
        C, Om = self._local_velocity()
        M = (self.A * self.gamma) @ C @ Om.T
        d = np.diag(M).reshape(-1, 2).sum(axis=1)
        return d / self.node_temperatures
