"""LangevinFit: a fitted Langevin equation (methods.md §3) with posterior
fields and bands, accuracy/calibration reports, simulation and plots."""
from __future__ import annotations

import json
import math
import uuid
import warnings
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np

from .._io import atomic_savez, load_versioned
from .._validate import (band_level, boolean, check_output_fits, positive_int, real_array, seed_value, thread_count,
                         user_stacklevel)
from .._stats import student_t_quantile
from ..models import Model
from .data import LangevinData
from .field_net import FieldNetwork, history_interrupted
from . import metrics
from .simulate_fit import InferredTrajectories, carnot_cycle, entropy_production, simulate_fit

#: 2: the field assembly adds norm["friction_bias"] (session 28); fits without one are written
#: as version 1, which older stochinfer reads to the same fields
FORMAT_VERSION = 2


@dataclass
class FieldEstimate:
    """A field at n states: posterior mean, standard deviation and a band (lo, hi),
    in physical units. Bayes-by-Backprop: the central interval holding `level` of the
    posterior samples. Ensembles: a Student-t prediction interval for a new member
    from the K members' mean and spread, mean ± t σ √(1 + 1/K) (t quantile with K − 1
    dof; about 3.0σ at level 0.95 for 5 members). Drift (n, d); diffusion (n, d, d). samples: (S, n, ...)
    when asked for."""

    mean: np.ndarray
    std: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    level: float
    samples: Optional[np.ndarray] = None


def _band_samples(n_samples: Optional[int]) -> Optional[int]:
    """n_samples for a band: a spread needs two (drift_samples alone takes one)."""
    return None if n_samples is None else positive_int("n_samples", n_samples, minimum=2)


#: report()'s block bootstrap cuts its default points (the validation states, in time order) into this many blocks
_DEFAULT_BLOCKS = 20


def _depends_on_time(truth, pts: np.ndarray) -> bool:
    """Whether truth.drift changes with t at a few of the points (a driven model)."""
    probe = pts[:20]
    f0 = np.asarray(truth.drift(probe, 0.0), dtype=np.float64)
    return any(not np.allclose(np.asarray(truth.drift(probe, s), dtype=np.float64), f0, rtol=1e-12, atol=0,
                               equal_nan=True)
               for s in (0.37, 13.1))


def _finite_field(samples: np.ndarray, z: np.ndarray, what: str) -> np.ndarray:
    """samples (S, n, ...), refused with the first state where they overflow: the networks and the
    polynomial bases grow without bound away from the data (a quadratic diffusion base at |x| ~ 1e29)."""
    bad = ~np.isfinite(samples.reshape(samples.shape[0], samples.shape[1], -1)).all(axis=(0, 2))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"the fitted {what} overflows at points[{i}] = {z[i].tolist()}, far outside the data "
                         f"({int(bad.sum())} of {bad.size} points): pass states nearer the data")
    return samples


#: positions this many standard deviations of the data from their mean are far outside it (a
#: Gaussian sample of 10¹⁰ points reaches about 6.5)
FAR_SD = 20.0
#: format_report notes a band whose coverage of the truth is this far below its level (0.85 for 95% bands)
NARROW_BAND = 0.10


class LangevinFit:
    """A fitted Langevin equation dz = Φ dt + √(2D) dW with posterior uncertainty.

    Use `drift(points)` and `diffusion(points)` for the fields with bands,
    `report(truth=model)` for accuracy and calibration against a known model.
    Physical units: states as given, time in the data's unit."""

    def __init__(self, d: LangevinData, nets: dict, norm: dict, options: dict, histories: dict, val_states,
                 n_threads: Optional[int] = None):
        self.regime = d.regime
        self.dim = d.dim
        self.dt = d.dt
        self.model = d.model
        self.time_dependent = d.t is not None
        self.nets = nets
        self.norm = norm
        self.options = options
        self.histories = histories
        self.notes = list(d.notes)
        self._val_states = val_states  # (states, times or None) held out in time or by trajectory
        self.n_threads = n_threads  # CPU threads of field queries and simulations (None: all cores)
        self._id = uuid.uuid4().hex  # stamps this fit's simulations (thermodynamics checks it)

    @property
    def n_threads(self) -> Optional[int]:
        """CPU threads of field queries and simulations (None: all cores); results do not
        depend on it."""
        return self._n_threads

    @n_threads.setter
    def n_threads(self, value: Optional[int]) -> None:
        self._n_threads = None if value is None else thread_count(value)  # checked: it reaches C++ later

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C stopped a network's training or refit: the fit holds the best
        checkpoint reached, not a finished training."""
        return any(history_interrupted(h) for h in self.histories.values())

    def held_out_fields(self, max_points: int = 1000) -> dict:
        """The fields at up to max_points of the held-out states (evenly spaced in the data's
        order), as plain lists for JSON (the command line's --json): points (n, state_dim)
        and t (n,) or None, in the data's units; drift and diffusion each with mean, std
        and the 95% band lo, hi ((n, d) and (n, d, d)). Without a truth, the numbers to
        check the fit against one's own expectations."""
        max_points = positive_int("max_points", max_points)
        states, times = self._val_states
        pick = np.unique(np.linspace(0, states.shape[0] - 1, min(max_points, states.shape[0])).astype(np.int64))
        t = None if times is None else np.asarray(times)[pick]
        out = {"points": states[pick].tolist(), "t": None if t is None else t.tolist(),
               "level": 0.95, "units": "the data's position and time units"}
        for name, field in (("drift", self.drift(states[pick], t)), ("diffusion", self.diffusion(states[pick], t))):
            out[name] = {k: getattr(field, k).tolist() for k in ("mean", "std", "lo", "hi")}
        return out

    # ----- inputs -----------------------------------------------------------
    @property
    def state_dim(self) -> int:
        """Components of a state: d (overdamped) or 2d, (x, v) (underdamped)."""
        return self.dim * (2 if self.regime == "underdamped" else 1)

    def _states(self, points, t):
        """Checked states (n, state_dim) and times ((n,) or None) in physical units."""
        z = real_array("points", points)
        given = z.shape
        if z.ndim == 1:  # one state, or (a 1-D fit) n scalar states
            z = z[:, None] if self.state_dim == 1 else z[None]
        if z.ndim != 2 or z.shape[1] != self.state_dim:
            what = "(x, v)" if self.regime == "underdamped" else "x"
            alt = "(n,)" if self.state_dim == 1 else f"one state ({self.state_dim},)"
            raise ValueError(f"points must have shape (n, {self.state_dim}) holding {what}, or {alt}; got {given}")
        if z.shape[0] == 0:
            raise ValueError("points is empty: pass at least one state")
        if not np.isfinite(z).all():
            raise ValueError("points contain NaN or inf")
        largest = np.abs(z).max()
        if largest > 1e30:  # the float32 networks would overflow to NaN
            raise ValueError(f"points reach {largest:.3g} in magnitude: pass states within 1e30")
        self._warn_far_from_data(z)
        if not self.time_dependent:
            if t is not None:  # it was ignored, even NaN (review, session 26)
                raise ValueError("t applies to fits with time as an input (infer_langevin(time_dependent=True)); "
                                 "this fit is autonomous: leave t out")
            return np.ascontiguousarray(z), None
        if t is None:
            raise ValueError("this fit has time as an input: pass t (scalar or (n,)) in the data's time unit")
        tt = real_array("t", t)
        if tt.ndim > 1 or (tt.ndim == 1 and tt.shape[0] != z.shape[0]):
            raise ValueError(f"t must be a scalar or have shape ({z.shape[0]},), got {tt.shape}")
        if not np.isfinite(tt).all():
            raise ValueError("t contains NaN or inf")
        if tt.size and np.abs(tt).max() > 1e30:  # as for points: the float32 networks would overflow
            raise ValueError(f"t reaches {np.abs(tt).max():.3g} in magnitude: pass times within 1e30")
        if tt.size:
            self._warn_outside_record(float(tt.min()), float(tt.max()), "t in",
                                      ", and its bands do not account for it (evaluate within the record")
        return np.ascontiguousarray(z), np.ascontiguousarray(np.broadcast_to(tt, (z.shape[0],)))

    def _warn_far_from_data(self, z: np.ndarray, what: str = "points") -> None:
        """Warns when states (n, state_dim) lie more than FAR_SD of the training data's standard
        deviations from their mean in some coordinate (position, or the reconstructed velocity
        of an underdamped fit): the networks and the bases extrapolate there (the quadratic
        diffusion trend grows as x², e.g. D ≈ 10¹⁷ at x = 10⁶ for an OU fit; review, session 31),
        and the bands widen without a bound on how wrong the mean is."""
        nm = self.norm
        if "mu_x" not in nm or "s_x" not in nm:
            return
        mu_x, s_x = np.asarray(nm["mu_x"], dtype=np.float64), np.asarray(nm["s_x"], dtype=np.float64)
        with np.errstate(all="ignore"):
            far = np.abs((z[:, :self.dim] - mu_x) / s_x).max(axis=1)
            if self.regime == "underdamped" and "mu_v" in nm and z.shape[1] >= 2 * self.dim:
                # the networks read v̂ of the standardised positions: (v / s_x − mu_v) / s_v
                v = (z[:, self.dim:2 * self.dim] / s_x - np.asarray(nm["mu_v"])) / np.asarray(nm["s_v"])
                far = np.maximum(far, np.abs(v).max(axis=1))
        count = int(np.count_nonzero(far > FAR_SD))
        if count:
            states = "positions" if self.regime == "overdamped" else "states (positions and velocities)"
            warnings.warn(f"{count} of {z.shape[0]} {what} lie more than {FAR_SD:g} standard deviations of the data's "
                          f"{states} from their mean (up to {far.max():.3g}): the fields extrapolate there, their "
                          "bands widen but do not bound the error; use states within the sampled region",
                          UserWarning, stacklevel=user_stacklevel())

    def _recorded_times(self) -> Optional[tuple]:
        """(lo, hi), the times of the data's rows, for a driven fit without a period (fits
        saved before t_range was kept: the held-out rows'); None otherwise."""
        times = self._val_states[1]
        if not self.time_dependent or self.norm.get("time_period") is not None or times is None:
            return None
        if "t_range" in self.norm:
            return tuple(float(v) for v in self.norm["t_range"])
        return float(np.min(times)), float(np.max(times))

    def _warn_outside_record(self, t_min: float, t_max: float, what: str, fix: str) -> None:
        """Warns when a driven fit without a period is used at times in [t_min, t_max]
        outside the data's: its time input extrapolates there, and so do its bands (D at 4x
        the record's end came out 4x low with a band excluding the truth: user trial,
        session 27). The record reaches Δt beyond its rows' times on either side (overdamped:
        the last row's end point; underdamped: a row's time is its second point's)."""
        record = self._recorded_times()
        if record is None:
            return
        lo, hi = record
        margin = self.dt + 1e-9 * max(abs(lo), abs(hi), abs(t_min), abs(t_max))
        if t_min < lo - margin or t_max > hi + margin:
            warnings.warn(f"{what} [{t_min:.6g}, {t_max:.6g}] reaches outside the data's times [{lo:.6g}, {hi:.6g}]: "
                          f"the fit's time input extrapolates there{fix}, or fit with period= for periodic "
                          "driving)", UserWarning, stacklevel=user_stacklevel())

    def _equation(self):
        """The compiled equation (cpp/include/stochinfer/inferred_langevin.hpp): the one
        implementation of the field assembly (normalisation, F_r combination,
        finite-γΔt factors, noiseless block) and of the simulation loop."""
        from .. import _core

        nm, d = self.norm, self.dim
        under = self.regime == "underdamped"
        noisy = [int(i) for i in nm["noisy"]]
        vec = lambda key: [float(v) for v in np.broadcast_to(np.asarray(nm[key], dtype=np.float64), (d,))]
        cls = _core.InferredLangevin32 if self.nets["drift"].dtype == "float32" else _core.InferredLangevin64
        pointwise_fr = self._uses_shifted_drift()  # else the linear F_r correction, fitted once
        shifted = self.nets.get("drift_shifted") if pointwise_fr else None
        eq = cls(self.nets["drift"].net, shifted.net if shifted is not None else None,
                 self.nets["diffusion"].net, dim=d, underdamped=under, time_input=self.time_dependent,
                 mu_x=vec("mu_x"), s_x=vec("s_x"), mu_v=vec("mu_v") if under else [],
                 s_v=vec("s_v") if under else [], mu_t=float(nm.get("mu_t", 0.0)), s_t=float(nm.get("s_t", 1.0)),
                 time_period=float(nm.get("time_period", 0.0)), time_harmonics=int(nm.get("time_harmonics", 1)),
                 noisy=noisy,
                 diffusion_factor=[float(v) * float(nm.get("diffusion_unit", 1.0))  # unitless labels (pipeline)
                                   for v in np.broadcast_to(nm["diffusion_factor"], (len(noisy),))],
                 friction=vec("friction") if "friction" in nm else [], dt=float(self.dt),
                 homogeneous_diffusion=bool(self.options["homogeneous_diffusion"]),
                 fr_linear=[float(v) for v in np.ravel(nm["fr_linear"])] if not pointwise_fr else [],
                 diffusion_base=[float(v) for v in np.ravel(nm.get("diffusion_base", []))],
                 diffusion_base_floor=float(nm.get("diffusion_base_floor", 0.0)),
                 diffusion_base_chol=[float(v) for v in np.ravel(nm.get("diffusion_base_chol", []))],
                 n_threads=self.n_threads or 0,
                 friction_bias=vec("friction_bias") if "friction_bias" in nm else [])
        if "drift_noiseless" in self.nets:
            eq.set_noiseless_drift(self.nets["drift_noiseless"].net)
        return eq

    def _band(self, samples: np.ndarray, level: float, ensemble: bool):
        from .. import _core

        level = band_level(level)
        flat = np.ascontiguousarray(samples.reshape(samples.shape[0], samples.shape[1], -1))
        q = (1 - level) / 2
        mean, std, lo, hi = _core.posterior_summary(flat, q, 1 - q)
        if ensemble:  # few members: a t band for a new draw, mean ± t σ √(1 + 1/E)
            E = samples.shape[0]
            half = student_t_quantile(1 - q, E - 1) * std * math.sqrt(1 + 1 / E) if E > 1 else np.zeros_like(std)
            lo, hi = mean - half, mean + half
        shape = samples.shape[1:]
        return [a.reshape(shape) for a in (mean, std, lo, hi)]

    def _sample_count(self, n_samples: int, n_points: int, per_point: int = 1,
                      nets: tuple = ("drift", "drift_shifted", "drift_noiseless")) -> int:
        """n_samples, after checking the (S, n, d[, d]) float64 output and the networks'
        weights drawn per sample (Bayes-by-Backprop) fit in memory."""
        check_output_fits((n_samples, n_points, self.dim, per_point), np.float64,
                          "ask for fewer n_samples or fewer points at a time",
                          extra_bytes=n_samples * self._sample_bytes(nets))
        return n_samples

    def _sample_bytes(self, nets: tuple = ("drift", "drift_shifted", "drift_noiseless", "diffusion")) -> int:
        """Bytes of network weights drawn per posterior sample (0 for ensembles), of the
        networks the compiled equation evaluates."""
        used = [k for k in nets if k in self.nets and (k != "drift_shifted" or self._uses_shifted_drift())]
        return sum(self.nets[k].sampled_params * np.dtype(self.nets[k].dtype).itemsize for k in used)

    def _uses_shifted_drift(self) -> bool:
        """Whether the fields evaluate F_r pointwise (drift_correction='network'); the linear
        correction is its least-squares projection, fitted once."""
        return not (self.options.get("drift_correction") == "linear" and "fr_linear" in self.norm)

    def _n_samples(self, n_samples: Optional[int]) -> int:
        return self.options["n_posterior"] if n_samples is None else positive_int("n_samples", n_samples)

    # ----- fields -------------------------------------------------------------
    def drift_samples(self, points: np.ndarray, t: Optional[Union[float, np.ndarray]] = None,
                      n_samples: Optional[int] = None, seed: int = 0) -> np.ndarray:
        """Posterior samples of the drift Φ (S, n, d) in physical units (ensemble: the members).
        Underdamped: the acceleration, with the F + (F − F_r)/4 correction when enabled."""
        z, tt = self._states(points, t)
        S = self._sample_count(self._n_samples(n_samples), z.shape[0])
        return _finite_field(self._equation().fields(z, tt, S, seed_value("seed", seed), diffusion=False)[0],
                             z, "drift")

    def diffusion_samples(self, points: np.ndarray, t: Optional[Union[float, np.ndarray]] = None,
                          n_samples: Optional[int] = None, seed: int = 0) -> np.ndarray:
        """Posterior samples of the diffusion matrix D (S, n, d, d) in physical units
        (underdamped: of the velocity, times 3/2 when the correction is on)."""
        z, tt = self._states(points, t)
        S = self._sample_count(self._n_samples(n_samples), z.shape[0], self.dim, nets=("diffusion",))
        return _finite_field(self._equation().fields(z, tt, S, seed_value("seed", seed), drift=False)[1],
                             z, "diffusion")

    def _drift_from_inputs(self, rows: np.ndarray, n_samples: int, seed: int) -> np.ndarray:
        """Drift samples (S, n, d), physical units, from normalised network input rows."""
        dt_np = np.float32 if self.nets["drift"].dtype == "float32" else np.float64
        return self._equation().drift_from_inputs(np.ascontiguousarray(rows, dtype=dt_np), n_samples, seed)

    def drift(self, points: np.ndarray, t: Optional[Union[float, np.ndarray]] = None, *,
              n_samples: Optional[int] = None, level: float = 0.95, seed: int = 0,
              return_samples: bool = False) -> FieldEstimate:
        """Posterior mean, std and central `level` band of the drift at `points`
        ((n, d) positions, or (n, 2d) = (x, v) underdamped; t for time-dependent
        fits, in the data's time unit), each (n, d) in physical units: position per
        time (overdamped) or velocity per time (underdamped). n_samples: posterior
        samples (None: the fit's n_posterior, 200; ensembles: the members). seed:
        seed of the posterior draws. return_samples: also return the posterior
        samples, (S, n, d), in the result's `samples` (else None)."""
        return_samples = boolean("return_samples", return_samples)
        s = self.drift_samples(points, t, _band_samples(n_samples), seed)
        mean, std, lo, hi = self._band(s, level, self.options["method"] == "ensemble")
        return FieldEstimate(mean, std, lo, hi, level, s if return_samples else None)

    def diffusion(self, points: np.ndarray, t: Optional[Union[float, np.ndarray]] = None, *,
                  n_samples: Optional[int] = None, level: float = 0.95, seed: int = 0,
                  return_samples: bool = False) -> FieldEstimate:
        """Posterior mean, std and band of the diffusion matrix, (n, d, d) each, in
        position² per time (underdamped: velocity² per time); every sample is
        symmetric positive definite by construction, and the band of a diagonal
        entry stops at 0. Arguments as for drift()."""
        return_samples = boolean("return_samples", return_samples)
        s = self.diffusion_samples(points, t, _band_samples(n_samples), seed)
        mean, std, lo, hi = self._band(s, level, self.options["method"] == "ensemble")
        # an ensemble's t band of a diagonal entry can reach below 0 where the members disagree (far from
        # the data); every sample's D_ii is positive, so the band stops at 0
        diag = np.arange(self.dim)
        lo[..., diag, diag] = np.maximum(lo[..., diag, diag], 0.0)
        return FieldEstimate(mean, std, lo, hi, level, s if return_samples else None)

    def simulate(self, n_traj: int, n_steps: int, dt: Optional[float] = None, **kwargs: Any) -> InferredTrajectories:
        """Simulate the inferred equation with its posterior: n_traj paths of n_steps
        steps of dt (time unit of the data; default the data's dt) per posterior sample.
        Options (x0, v0, t0, n_samples, mode, seed, record_every, posterior_seed, period,
        substeps) as documented in stochinfer.langevin.simulate_fit.simulate_fit.
        Returns InferredTrajectories: x (n_samples, n_traj, n_records, d), v when
        underdamped, t, dt."""
        return simulate_fit(self, n_traj, n_steps, dt, **kwargs)

    def thermodynamics(self, sim: InferredTrajectories, model: Optional[Any] = None, *,
                       bias_correction: bool = True) -> dict:
        """Thermodynamics along simulated paths with posterior error bars: medium EP
        rate (overdamped; simulate_fit.entropy_production), or work per cycle,
        hot-isotherm heat and efficiency of a driven engine whose protocol `model`
        provides (e.g. BrownianCarnot; sim must span a whole number of its periods,
        from any t0: simulate_fit.carnot_cycle). Units: EP rate in k_B per time
        unit; work and heat in the model's energy unit (k_B T with k_B = 1);
        each with `error`: the posterior spread σ over the S simulated samples, as
        σ√(1 + 1/S) (the estimate is their mean), and the path noise in quadrature (the
        corrected EP's adds its correction: below).
        bias_correction (EP only): the EP, a positive quadratic form of the drift, is
        raised by the drift's estimation noise, about 4d²/T for a linear drift in d
        dimensions over a record of T time units (2-D bead-spring chain, σ = 2, T = 150: ≤ 0.2;
        8-D, σ = 0.38: 3–5 times the truth); by default it is corrected with one more simulation,
        of the posterior-mean equation (entropy_production says how and where it falls short;
        `ep_rate_per_sample` keeps the uncorrected value); False skips it (half the time)."""
        boolean("bias_correction", bias_correction)
        if not isinstance(sim, InferredTrajectories):
            raise TypeError(f"sim must be the result of this fit's simulate(), got {type(sim).__name__}")
        if sim.settings.get("fit_id") != self._id:
            raise ValueError("sim was simulated from another fit: pass paths from this fit's simulate()")
        if sim.x.shape[2] < 2:
            raise ValueError(f"sim has {sim.x.shape[2]} recorded state per path: rates need at least two "
                             "(lower record_every or simulate more steps)")
        if sim.x.shape[1] < 2:  # the path noise is the spread over trajectories
            raise ValueError("sim has one trajectory: the read-outs' path-noise error bar is the spread over "
                             "trajectories; simulate with n_traj >= 2 (e.g. 100)")
        model = model if model is not None else self.model
        if model is not None and hasattr(model, "stiffness"):
            return carnot_cycle(self, sim, model)
        return entropy_production(self, sim, bias_correction)

    # ----- evaluation ---------------------------------------------------------
    def report(self, truth: Optional[Any] = None, points: Optional[np.ndarray] = None,
               t: Optional[Union[float, np.ndarray]] = None, *, n_samples: Optional[int] = None,
               level: float = 0.95, block_length: Optional[int] = None) -> dict:
        """Accuracy and calibration against a model with known drift/diffusion (a
        built-in model, or anything with drift(x, t) and diffusion(x, t)).

        points default to the validation states, held out of training but used to
        choose the checkpoint, labelled 'validation' (in-sample, with a
        warning, for a fit made with refit=True or an ensemble with out-of-bag
        validation, whose drift members train on them); for underdamped fits these are the
        reconstructed states (x, v̂) with finite-difference velocities, not the true
        (x, v) that methods.md §3.3 scores at (pass true states as points for that,
        as the acceptance tests do). A truth with a
        scoring_mask(points) method (HodgkinHuxley: gates inside (0.01, 0.99), where
        the unclipped drift formula holds) scores only the states it keeps; the
        number left out is reported. Returns a dict per field: r2, nmse,
        relative_mse and total_uncertainty (methods.md §3.5), relative_error
        (sqrt(Σ(f̂ − f)²/Σf²) of the posterior mean), coverage (of the `level`
        band; for D, of its distinct entries i >= j on the noisy coordinates), calibration (correlation of
        log error with log posterior variance summed over components, p-value, and each
        component's in `components`; metrics.calibration), and provenance (method,
        kl_gradient, corrections). The calibration p-value treats the points as
        independent, which overstates its significance for states along a
        trajectory; for points in time order, block_length (consecutive points per
        block) takes the correlation's standard error from a block bootstrap instead
        (metrics.calibration); states a scoring mask leaves out keep their place in
        time, so no block joins the states either side of a gap. The default points
        are in time order: 20 blocks of equal time over the span of the scored states
        when at least 200 are scored (blocks the mask empties drop out; Fisher's p when
        fewer than 10 hold states), else Fisher's p.

        t: time of the given points (scalar or (n,)) in the data's time unit: the
        fit's time input for time-dependent fits, and the time at which the truth's
        fields are evaluated (None: t = 0, autonomous fits only); with points=None the validation states'
        own times are used instead. n_samples: posterior samples per field, as for
        drift() (None: the fit's n_posterior; ensembles: the members)."""
        truth = truth if truth is not None else self.model
        if truth is None:
            raise ValueError("report needs truth=<model with drift() and diffusion()> (none attached to the data)")
        self._check_truth(truth)
        in_time_order = points is None and block_length is None
        points_given = points is not None
        in_sample = self._in_sample()
        if points is None:
            points, t = self._val_states
            if in_sample == "refit":
                warnings.warn("this fit was refitted on the validation states too (refit=True): scores on them "
                              "are in-sample; pass independent points for held-out scores", stacklevel=2)
            elif in_sample:
                warnings.warn("this ensemble's drift members trained on every state (out-of-bag validation): "
                              "drift scores on the default points are in-sample; pass independent points for "
                              "held-out scores, or fit with validation='split'", stacklevel=2)
        pts = self._states(points, t if self.time_dependent else None)[0]
        tt = 0.0 if t is None else np.asarray(t, dtype=np.float64)
        if not self.time_dependent and _depends_on_time(truth, pts):
            warnings.warn("the truth's drift depends on time but this fit is autonomous: it is scored against the "
                          "truth at t = 0; for driven data fit with time_dependent=True", stacklevel=2)
        n_excluded, n_in_order = 0, pts.shape[0]
        kept = None  # which of the (time-ordered) points are scored: the block bootstrap keeps their places
        if hasattr(truth, "scoring_mask"):
            keep = np.asarray(truth.scoring_mask(pts), dtype=bool)
            n_excluded = int(pts.shape[0] - keep.sum())
            if not keep.any():
                raise ValueError("points: none lies where the truth's drift formula holds (its scoring_mask)")
            pts, kept = pts[keep], keep
            if t is not None and np.ndim(t) > 0:
                t = np.asarray(t)[keep]
                tt = np.asarray(t, dtype=np.float64)
        if pts.shape[0] < 4:
            warnings.warn(f"report on {pts.shape[0]} point(s): the error–variance correlation needs at least 4 "
                          "(R² at least 2) and is nan here; pass more points", stacklevel=2)
        if in_time_order and pts.shape[0] >= _DEFAULT_BLOCKS * 10:  # else Fisher's p, for independent points
            block_length = n_in_order // _DEFAULT_BLOCKS
            if kept is not None:  # 20 blocks over the span the scored states cover
                scored = np.flatnonzero(kept)
                kept = kept[scored[0]:scored[-1] + 1]
                block_length = kept.size // _DEFAULT_BLOCKS
                if np.unique((scored - scored[0]) // block_length).size < 10:  # too few blocks hold states
                    block_length = None
        where = "given" if points_given else {"refit": "validation (in-sample: refit)",
                                              "out-of-bag": "validation (drift in-sample: out-of-bag)"
                                              }.get(in_sample, "validation")  # held out of training, not
        # of checkpoint selection: pass independent states as points for a clean score
        if not points_given and self.regime == "underdamped":
            where += ", finite-difference velocities"
        out = {"n_points": int(pts.shape[0]), "n_excluded": n_excluded, "level": level, "points": where,
               "provenance": self.provenance()}
        for name, est_fn, true_fn in (("drift", self.drift, truth.drift), ("diffusion", self.diffusion,
                                                                          truth.diffusion)):
            est = est_fn(pts, t if self.time_dependent else None, n_samples=n_samples, level=level,
                         return_samples=True)
            f = self._truth_field(true_fn, pts, tt, name)
            # band coverage of D over its distinct entries (lower triangle) on the noisy block: the
            # exact zeros of noiseless rows always "cover", and off-diagonals would count twice
            cov_f, cov_lo, cov_hi = (self._distinct_noisy_entries(a) for a in (f, est.lo, est.hi)) \
                if name == "diffusion" else (f, est.lo, est.hi)
            out[name] = {
                "r2": metrics.r2(f, est.mean),
                "nmse": metrics.nmse(f, est.samples),
                "relative_mse": metrics.relative_mse(f, est.samples),
                "total_uncertainty": metrics.total_uncertainty(est.samples),
                "relative_error": metrics.relative_error(f, est.mean),
                "coverage": metrics.coverage(cov_f, cov_lo, cov_hi),
                "calibration": metrics.calibration(f, est.mean, est.std, block_length=block_length,
                                                   kept=kept),
                "mean_std": float(np.mean(est.std)),
            }
        return out

    def _check_truth(self, truth):
        """`truth` when it can score this fit (drift and diffusion methods; a built-in
        model of the same regime and dimension); else TypeError / ValueError."""
        return check_truth(truth, self.regime, self.dim)

    def _distinct_noisy_entries(self, a: np.ndarray) -> np.ndarray:
        """(n, d, d) matrices → (n, K): the entries i >= j of the noisy coordinates."""
        noisy = np.asarray(self.norm["noisy"])
        i, j = np.tril_indices(noisy.size)
        return np.asarray(a)[:, noisy[i], noisy[j]]

    def _truth_field(self, fn, pts, t, name):
        """The true field at pts. Underdamped truths give the acceleration (n, d) and
        the velocity diffusion (n, d, d), as the built-in models do; a full
        (x, v) field (2d components) is cut to its velocity part."""
        f = np.asarray(fn(pts, t), dtype=np.float64)
        d = self.dim
        if self.regime == "underdamped" and f.shape[-1] == 2 * d:
            f = f[..., d:] if name == "drift" else f[..., d:, d:]
        want = (pts.shape[0], d) if name == "drift" else (pts.shape[0], d, d)
        if f.shape == want[1:]:  # a constant field
            return np.broadcast_to(f, want)
        if d == 1 and f.shape in ((pts.shape[0],), (pts.shape[0], 1)):  # one coordinate: unambiguous
            return f.reshape(want)
        if f.shape != want:  # reshaping or broadcasting anything else scrambles the components
            raise ValueError(f"truth.{name} returned shape {f.shape} for {pts.shape[0]} points; expected {want} "
                             f"(or {want[1:]} for a constant field)")
        return f

    def plot(self, path: Optional[str] = None, truth: Optional[Any] = None, t: Optional[float] = None) -> Any:
        """Fields along a slice with posterior bands (and a drift/uncertainty map
        for d >= 2), driven fits at time t (data's unit; default the validation states'
        mean time); see stochinfer.langevin.plot.plot_fields. Needs matplotlib.
        Saves to `path` when given; returns the matplotlib figure."""
        from .plot import plot_fields

        return plot_fields(self, path, truth, t=t)

    def format_report(self, rep: dict) -> str:
        """Human-readable lines of report(), with a note when a band covers the truth more
        than NARROW_BAND below its level."""
        skipped = f", {rep['n_excluded']} outside the truth's scoring mask left out" if rep.get("n_excluded") else ""
        lines = [f"  vs truth on {rep['n_points']} {rep.get('points', 'validation')} states ({rep['level']:.0%} "
                 f"bands{skipped}):"]
        for name in ("drift", "diffusion"):
            r = rep[name]
            c = r["calibration"]
            r2 = "   n/a" if not np.isfinite(r["r2"]) else f"{r['r2']:6.3f}"
            lines.append(f"    {name:9s} R² {r2}  rel. error {r['relative_error']:6.3f}  NMSE {r['nmse']:.4f}  "
                         f"band coverage {r['coverage']:.3f}  corr(log err, log var) {c['corr']:+.2f}"
                         + (f" ± {c['stderr']:.2f} (block p = " if "stderr" in c else " (p = ")
                         + f"{c['p_value']:.2g})")
            if name == "drift" and len(c.get("components", ())) > 1:  # a large component can hide the rest
                lines.append("      corr per drift component: " + ", ".join(
                    f"{k['corr']:+.2f} (p = {k['p_value']:.2g})" for k in c["components"]))
        p = rep["provenance"]
        narrow = [name for name in ("drift", "diffusion") if rep[name]["coverage"] < rep["level"] - NARROW_BAND]
        if narrow:  # a coverage figure alone is easy to miss (review, session 34: bbb drift bands covering 59%)
            why = (": Bayes-by-Backprop's mean-field weights are known to give too narrow bands; method='ensemble' "
                   "(--method ensemble) gives better-calibrated ones" if p["method"] == "bbb" else "")
            verb = "bands cover" if len(narrow) > 1 else "band covers"
            lines.append(f"    note: the {' and '.join(narrow)} {verb} the truth well below {rep['level']:.0%} of "
                         f"the states: narrower than the error{why}")
        kl = f"kl_gradient {p['kl_gradient']}, " if p["method"] == "bbb" else ""  # ensembles have no KL term
        lines.append(f"    provenance: method {p['method']}, {kl}"
                     f"drift base {p['drift_base']} (degree {_degrees(p['drift_base_degree'])}), "
                     f"3/2 diffusion correction {p['diffusion_factor_3_2']}, "
                     f"F_r drift correction {p['drift_correction_F_r']}, diff_use_drift {p['diff_use_drift']}, "
                     f"second-order diffusion labels {p['second_order_diffusion']}, "
                     f"diffusion base {p['diffusion_base']}"
                     + (f", time input {p['time_input']}" if p.get("time_input") else "")
                     + (", labels robust to localisation noise" if p.get("localisation_noise") == "robust" else ""))
        if p.get("friction_correction"):
            added = (f" (+{np.round(p['friction_bias'], 3).tolist()} added to the trained drift's)"
                     if np.any(np.asarray(p.get("friction_bias", [])) != 0) else "")
            lines.append(f"    finite-γΔt correction: D labels / ρ(γ(z)Δt) at the local friction, drift unshrunk "
                         f"with the mean friction γ {np.round(p['friction'], 3).tolist()}{added}")
        return "\n".join(lines)

    def _in_sample(self) -> Optional[str]:
        """Why the validation states are not held out ('refit', 'out-of-bag'), or None."""
        if self.options.get("refit"):
            return "refit"
        return "out-of-bag" if self.options.get("validation") == "out_of_bag" else None

    def provenance(self) -> dict:
        """What produced these numbers (methods.md §7.4)."""
        o = self.options
        return {"regime": self.regime, "method": o["method"], "n_members": self.nets["drift"].n_members,
                "kl_gradient": o["kl_gradient"],
                "drift_base": o.get("drift_base", "none"),
                "drift_base_degree": {k: int(v) for k, v in o.get("drift_base_degree", {}).items()},
                "refit": o.get("refit", False), "validation": o.get("validation", "split"),
                "separate_noiseless_drift": o.get("separate_noiseless_drift", False),
                "diffusion_factor_3_2": self.regime == "underdamped" and o["corrections"],
                "drift_correction_F_r": (o.get("drift_correction") or "network") if "drift_shifted" in self.nets
                else False, "preset": o["preset"],
                "homogeneous_diffusion": o["homogeneous_diffusion"], "diff_use_drift": o["diff_use_drift"],
                "second_order_diffusion": o.get("second_order_diffusion", False),
                "diffusion_base": o.get("diffusion_base", "none"),
                "localisation_noise": o.get("localisation_noise", "check"),
                "glitches": o.get("glitches", "keep"),  # fits saved before session 32 trained on them
                "gaps": o.get("gaps", "error"),
                "friction_correction": o.get("friction_correction", False),
                "friction": np.asarray(self.norm.get("friction", [])).tolist(),
                "friction_bias": np.asarray(self.norm.get("friction_bias", [])).tolist(),
                "diffusion_factor": np.atleast_1d(self.norm["diffusion_factor"]).tolist(),
                "time_input": _time_input(self.norm) if self.time_dependent else None,
                "seed": o.get("seed"), "val_fraction": o.get("val_fraction")}  # None: saved before they were kept

    def save(self, path: str) -> str:
        """Save the fit to a .npz file (atomic write); returns the path.

        Keys: format_version, kind ('langevin_fit'), config (JSON: regime, dim, dt,
        options, normalisation, network configurations, training histories),
        params_<network> (flat, layout in cpp/include/stochinfer/nn/bayes_mlp.hpp),
        val_states / val_t (validation states used by report()). The truth model is
        not stored."""
        norm = {k: (np.asarray(v).tolist()) for k, v in self.norm.items()}
        cfg = {"regime": self.regime, "dim": self.dim, "dt": self.dt, "time_dependent": self.time_dependent,
               "options": self.options, "notes": self.notes, "norm": norm,
               "nets": {k: n.config for k, n in self.nets.items()}, "histories": self.histories}
        # an older reader would drop a friction bias and return another drift: it must refuse the file
        version = FORMAT_VERSION if np.any(np.asarray(self.norm.get("friction_bias", [])) != 0) else 1
        arrays = {"format_version": np.array(version), "kind": np.array("langevin_fit"),
                  "config": np.array(json.dumps(cfg, default=float)),
                  "val_states": self._val_states[0],
                  "val_t": np.array([]) if self._val_states[1] is None else self._val_states[1]}
        arrays.update({f"params_{k}": n.net.get_params() for k, n in self.nets.items()})
        return atomic_savez(path, arrays)

    @classmethod
    def load(cls, path: str, model=None, n_threads: Optional[int] = None) -> "LangevinFit":
        """Load a fit written by save(); `model` optionally attaches a truth for report().
        n_threads: CPU threads of its field queries and simulations (None: all cores)."""
        n_threads = thread_count(n_threads) or None
        cfg, arrays = load_versioned(path, "langevin_fit", FORMAT_VERSION, "Langevin fit")
        try:
            norm = {k: (np.array(v) if isinstance(v, list) and k != "noisy" else v) for k, v in cfg["norm"].items()}
            val_t = arrays["val_t"] if arrays["val_t"].size else None
            params = {k: arrays[f"params_{k}"] for k in cfg["nets"]}
            val_states = arrays["val_states"]
            regime, time_dependent, dim, dt = cfg["regime"], cfg["time_dependent"], int(cfg["dim"]), float(cfg["dt"])
            options, histories, notes = dict(cfg["options"]), dict(cfg["histories"]), list(cfg["notes"])
        except KeyError as exc:
            raise ValueError(f"{path}: a damaged Langevin fit file (missing {exc})") from None
        except (TypeError, ValueError, AttributeError) as exc:  # e.g. a config edited into another shape
            raise ValueError(f"{path}: a damaged Langevin fit file ({type(exc).__name__}: {exc})") from None
        if regime not in ("overdamped", "underdamped") or not isinstance(time_dependent, bool) or dim < 1 or \
                not (np.isfinite(dt) and dt > 0):
            raise ValueError(f"{path}: a damaged Langevin fit file (regime={regime!r}, "
                             f"time_dependent={time_dependent!r}, dim={dim}, dt={dt})")
        bad = [k for k, p in params.items() if not np.isfinite(p).all()]
        if bad:
            raise ValueError(f"{path}: the parameters of {bad} are not finite; refit and save again")
        bad = [k for k, v in norm.items() if isinstance(v, np.ndarray) and v.dtype.kind in "fiu"
               and not np.isfinite(v).all()]
        if bad:  # e.g. a NaN friction would surface later as a nonsensical substep count
            raise ValueError(f"{path}: a damaged Langevin fit file (normalisation {bad} not finite)")
        if model is not None:
            check_truth(model, regime, dim, "model")
        nets = {k: FieldNetwork.restore(c, params[k], n_threads) for k, c in cfg["nets"].items()}
        t = np.zeros((1, 1)) if time_dependent else None
        d = LangevinData(np.zeros((1, 1, dim)), dt, regime, model, t, notes)
        return cls(d, nets, norm, options, histories, (val_states, val_t), n_threads)

    def summary(self) -> str:
        """Human-readable lines: regime, method, per network its kept checkpoint(s) and time,
        and the notes on how the data were read (e.g. tracks cut into pieces)."""
        o = self.options
        lines = [f"Langevin fit ({self.regime}, d = {self.dim}, dt = {self.dt:g}): {o['method']}"
                 + (f" ({self.nets['drift'].n_members} members)" if o["method"] == "ensemble" else
                    f", kl_gradient = {o['kl_gradient']}")]
        if self.time_dependent:
            lines[0] += f"; time input {self.provenance()['time_input']}"
        for k, h in self.histories.items():
            if "member_best_iterations" in h:  # each member keeps its own checkpoint
                oob = h.get("validation", {}).get("kind") == "out_of_bag"
                kind = "out-of-bag" if oob else "validation"
                line = (f"  {k:14s} members' best {kind} NLL {np.mean(h['member_best_val_loss']):.6g} (mean) "
                        f"at updates {h['member_best_iterations']} of {h['iterations']}")
            else:
                line = (f"  {k:14s} best validation NLL {h['best']['val_loss']:.6g} at update "
                        f"{h['best']['iteration']} of {h['iterations']}")
            if h.get("refit") and not h["refit"].get("interrupted"):
                line += f", then refitted on {h['refit']['rows']} rows"
            if h.get("resetting_from") is not None:  # stochastic resetting (TrainSettings.resetting)
                line += f", {len(h['resets'])} resets to the checkpoint from update {h['resetting_from']}"
            lines.append(line + f" ({h['train_s']:.1f} s)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _degrees(by_net: dict) -> str:
    """'3' when every drift network's base has one degree, else 'drift 3, drift_noiseless 1'."""
    if not by_net:
        return "-"
    if len(set(by_net.values())) == 1:
        return str(next(iter(by_net.values())))
    return ", ".join(f"{k} {v}" for k, v in by_net.items())


def _time_input(norm: dict) -> str:
    """How time enters the networks: 't', or 'periodic, period P[, K harmonics]'."""
    period = float(norm.get("time_period", 0.0))
    if period <= 0:
        return "t"
    harmonics = int(norm.get("time_harmonics", 1))
    return f"periodic, period {period:g}" + (f", {harmonics} harmonics" if harmonics > 1 else "")


def check_truth(truth, regime: str, dim: int, name: str = "truth"):
    """`truth` when it can score a fit of this regime and dimension (drift and diffusion
    methods; a built-in model of the same regime and number of coordinates); else
    TypeError / ValueError naming `name`."""
    if not (callable(getattr(truth, "drift", None)) and callable(getattr(truth, "diffusion", None))):
        raise TypeError(f"{name} must have drift(x, t) and diffusion(x, t) methods, got {type(truth).__name__}")
    if isinstance(truth, Model):  # built-in models say what they are: catch a mismatched truth early
        if truth.underdamped != (regime == "underdamped") or truth.dof != dim:
            kind = "an underdamped" if truth.underdamped else "an overdamped"
            raise ValueError(f"{name} is {kind} model with {truth.dof} position coordinates; this fit is "
                             f"{regime} with {dim}")
    return truth
