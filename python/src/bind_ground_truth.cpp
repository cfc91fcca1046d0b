// SPDX-License-Identifier: MIT
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "stochinfer/ground_truth/bead_spring.hpp"
#include "stochinfer/ground_truth/carnot.hpp"
#include "stochinfer/ground_truth/linear_ep.hpp"
#include "stochinfer/ground_truth/lyapunov.hpp"
#include "stochinfer/ground_truth/motion_blur.hpp"
#include "stochinfer/ground_truth/ratchet.hpp"
#include "interrupt.hpp"

namespace py = pybind11;
namespace gt = stochinfer::ground_truth;

namespace {

using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    s += std::to_string(a.shape(i));
    if (a.ndim() == 1 || i + 1 < a.ndim()) s += i + 1 < a.ndim() ? ", " : ",";
  }
  return s + ")";
}

void require_finite(const DoubleArray& a, const char* name) {
  const double* p = a.data();
  for (py::ssize_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(p[i])) throw py::value_error(std::string(name) + " contains NaN or inf");
  }
}

Eigen::MatrixXd to_matrix(const DoubleArray& a, const char* name, bool square = true) {
  if (a.ndim() != 2 || (square && a.shape(0) != a.shape(1))) {
    throw py::value_error(std::string(name) +
                          (square ? " must be a square 2-D array" : " must be a 2-D array") +
                          ", got shape " + shape_str(a));
  }
  require_finite(a, name);
  return Eigen::Map<const RowMatrixXd>(a.data(), a.shape(0), a.shape(1));
}

Eigen::VectorXd to_vector(const DoubleArray& a, const char* name) {
  if (a.ndim() != 1) {
    throw py::value_error(std::string(name) + " must be a 1-D array, got shape " + shape_str(a));
  }
  require_finite(a, name);
  return Eigen::Map<const Eigen::VectorXd>(a.data(), a.shape(0));
}

void require_same_size(const Eigen::MatrixXd& ref, const Eigen::MatrixXd& m, const char* ref_name,
                       const char* name) {
  if (m.rows() != ref.rows()) {
    throw py::value_error(std::string(name) + " must have the shape of " + ref_name + " (" +
                          std::to_string(ref.rows()) + ", " + std::to_string(ref.rows()) +
                          "), got (" + std::to_string(m.rows()) + ", " +
                          std::to_string(m.cols()) + ")");
  }
}

void require_finite_scalar(double v, const char* name) {
  if (!std::isfinite(v)) throw py::value_error(std::string(name) + " must be finite");
}

gt::SnapshotSpec make_spec(const std::string& method, int substeps) {
  gt::SnapshotSpec spec;
  if (method == "exact") {
    if (substeps != 1) {
      throw py::value_error("substeps applies only to method='euler_maruyama' or 'heun' (got substeps=" +
                            std::to_string(substeps) + " with method='exact')");
    }
    spec.kind = gt::SnapshotSpec::exact;
  } else if (method == "euler_maruyama" || method == "heun") {
    if (substeps < 1) {
      throw py::value_error("substeps must be >= 1, got " + std::to_string(substeps));
    }
    spec.kind = method == "heun" ? gt::SnapshotSpec::heun : gt::SnapshotSpec::euler_maruyama;
  } else {
    throw py::value_error("method must be 'exact', 'euler_maruyama' or 'heun', got '" + method + "'");
  }
  spec.substeps = substeps;
  return spec;
}

struct DriftDiffusion {
  Eigen::MatrixXd A, D;
};

DriftDiffusion drift_diffusion(const DoubleArray& A, const DoubleArray& D) {
  DriftDiffusion out{to_matrix(A, "A"), to_matrix(D, "D")};
  require_same_size(out.A, out.D, "A", "D");
  return out;
}

template <class R>
using SnapshotFn = R (*)(const Eigen::MatrixXd&, const Eigen::MatrixXd&, double,
                         const gt::SnapshotSpec&);

// (A, D, dt, method, substeps) -> f(A, D, dt, spec), with the argument checks.
template <class R>
auto snapshot_binding(SnapshotFn<R> f) {
  return [f](const DoubleArray& A, const DoubleArray& D, double dt, const std::string& method,
             int substeps) -> R {
    const DriftDiffusion m = drift_diffusion(A, D);
    require_finite_scalar(dt, "dt");
    if (!(dt > 0.0)) throw py::value_error("dt must be > 0");
    const gt::SnapshotSpec spec = make_spec(method, substeps);
    py::gil_scoped_release release;
    return f(m.A, m.D, dt, spec);
  };
}

constexpr const char* kSnapshotArgs =
    "A: (d, d) stable drift matrix of dx = A x dt + sqrt(2D) dW; D: (d, d) symmetric positive "
    "definite diffusion matrix; dt: sampling interval (> 0); method: 'exact' (exact OU "
    "transitions), 'euler_maruyama' or 'heun' (stochastic Heun); substeps: integrator steps of "
    "dt/substeps per sample (only with 'euler_maruyama' or 'heun').";

}  // namespace

void bind_ground_truth(py::module_& m) {

  m.def(
      "continuous_lyapunov",
      [](const DoubleArray& A, const DoubleArray& Q) {
        const Eigen::MatrixXd a = to_matrix(A, "A"), q = to_matrix(Q, "Q");
        require_same_size(a, q, "A", "Q");
        py::gil_scoped_release release;
        return gt::continuous_lyapunov(a, q);
      },
      py::arg("A"), py::arg("Q"),
      "Solve A C + C A^T + Q = 0 for C, shape (n, n). A: (n, n) stable (all eigenvalue real parts "
      "< 0), need not be symmetric; Q: (n, n) symmetric. The stationary covariance of "
      "dx = A x dt + sqrt(2D) dW is continuous_lyapunov(A, 2 D). Raises ValueError for bad "
      "shapes, non-finite input or unstable A.");

  m.def(
      "discrete_lyapunov",
      [](const DoubleArray& B, const DoubleArray& Q) {
        const Eigen::MatrixXd b = to_matrix(B, "B"), q = to_matrix(Q, "Q");
        require_same_size(b, q, "B", "Q");
        py::gil_scoped_release release;
        return gt::discrete_lyapunov(b, q);
      },
      py::arg("B"), py::arg("Q"),
      "Solve C = B C B^T + Q for C, shape (n, n): the stationary covariance of x' = B x + noise "
      "with noise covariance Q. B: (n, n) with spectral radius < 1; Q: (n, n) symmetric.");

  m.def(
      "stationary_covariance",
      [](const DoubleArray& A, const DoubleArray& D) {
        const DriftDiffusion dd = drift_diffusion(A, D);
        py::gil_scoped_release release;
        return gt::stationary_covariance(dd.A, dd.D);
      },
      py::arg("A"), py::arg("D"),
      "Stationary covariance C, shape (d, d), of dx = A x dt + sqrt(2D) dW: A C + C A^T + 2D = 0.");

  m.def(
      "ep_rate",
      [](const DoubleArray& A, const DoubleArray& D) {
        const DriftDiffusion dd = drift_diffusion(A, D);
        py::gil_scoped_release release;
        return gt::ep_rate(dd.A, dd.D);
      },
      py::arg("A"), py::arg("D"),
      "Steady-state entropy production rate sigma = tr[Omega^T D^-1 Omega C], Omega = A + D C^-1, "
      "in k_B per unit time, of dx = A x dt + sqrt(2D) dW. A: (d, d) stable; D: (d, d) SPD.");

  m.def("snapshot_ep_rate", snapshot_binding<double>(&gt::snapshot_ep_rate), py::arg("A"),
        py::arg("D"), py::arg("dt"), py::arg("method") = "exact", py::arg("substeps") = 1,
        (std::string("Snapshot EP rate sigma_dt (k_B per unit time): the KL divergence per dt "
                     "between forward and time-reversed stationary pairs dt apart, the optimum "
                     "an estimator fed such pairs converges to. ") +
         kSnapshotArgs)
            .c_str());

  m.def(
      "exposure_window_ep",
      [](const DoubleArray& A, const DoubleArray& D, double dt, const std::string& method, int substeps, int blur,
         int seq_len, std::vector<int> observed) {
        const DriftDiffusion dd = drift_diffusion(A, D);
        require_finite_scalar(dt, "dt");
        if (!(dt > 0.0)) throw py::value_error("dt must be > 0");
        const gt::SnapshotSpec spec = make_spec(method, substeps);
        gt::ExposureEp r;
        {
          py::gil_scoped_release release;
          r = gt::exposure_window_ep(dd.A, dd.D, dt, spec, blur, seq_len, observed);
        }
        return py::make_tuple(r.mean_rate, r.span_rate);
      },
      py::arg("A"), py::arg("D"), py::arg("dt"), py::arg("method"), py::arg("substeps"), py::arg("blur"),
      py::arg("seq_len") = 2, py::arg("observed") = std::vector<int>{},
      (std::string("(mean_rate, span_rate) of windows of seq_len motion-blurred frames dt apart, each the mean "
                   "of blur records dt/blur apart (k_B per unit time, per frame interval): the window of "
                   "exposure-mean positions (of the `observed` coordinates; empty: all), and the sub-step path "
                   "the window spans (an upper bound). "
                   "method/substeps: how each record interval dt/blur was integrated. ") +
       kSnapshotArgs)
          .c_str());

  m.def("sampled_covariance", snapshot_binding<Eigen::MatrixXd>(&gt::sampled_covariance),
        py::arg("A"), py::arg("D"), py::arg("dt"), py::arg("method") = "exact",
        py::arg("substeps") = 1,
        (std::string("Stationary covariance C_s, shape (d, d), of the chain sampled every dt "
                     "(C for exact sampling; the integrator chain's own covariance "
                     "otherwise). ") +
         kSnapshotArgs)
            .c_str());

  m.def("one_step_propagator", snapshot_binding<Eigen::MatrixXd>(&gt::one_step_propagator),
        py::arg("A"), py::arg("D"), py::arg("dt"), py::arg("method") = "exact",
        py::arg("substeps") = 1,
        (std::string("One-step propagator E, shape (d, d), of the sampled chain x_{k+1} = E x_k "
                     "+ noise: expm(A dt) (exact), (I + A h)^substeps (Euler-Maruyama) or "
                     "(I + A h + A² h²/2)^substeps (Heun), h = dt/substeps. ") +
         kSnapshotArgs)
            .c_str());

  m.def(
      "transition_entropy",
      [](const DoubleArray& A, const DoubleArray& D, const DoubleArray& C, const DoubleArray& x,
         const DoubleArray& x_next) {
        const DriftDiffusion dd = drift_diffusion(A, D);
        const Eigen::MatrixXd c = to_matrix(C, "C");
        require_same_size(dd.A, c, "A", "C");
        const py::ssize_t d = dd.A.rows();
        if (x.ndim() != 2 || x.shape(1) != d) {
          throw py::value_error("x must have shape (n, " + std::to_string(d) + "), got " +
                                shape_str(x));
        }
        if (x_next.ndim() != 2 || x_next.shape(0) != x.shape(0) || x_next.shape(1) != d) {
          throw py::value_error("x_next must have the shape of x " + shape_str(x) + ", got " +
                                shape_str(x_next));
        }
        require_finite(x, "x");
        require_finite(x_next, "x_next");
        const py::ssize_t n = x.shape(0);
        py::array_t<double> out(n);
        double* po = out.mutable_data();
        {
          py::gil_scoped_release release;
          gt::transition_entropy(dd.A, dd.D, c, x.data(), x_next.data(), n, po);
        }
        return out;
      },
      py::arg("A"), py::arg("D"), py::arg("C"), py::arg("x"), py::arg("x_next"),
      "Stochastic entropy production (k_B) of each transition x -> x_next of dx = A x dt + "
      "sqrt(2D) dW, mid-point form: [x'^T C^-1 x' - x^T C^-1 x]/2 + (A xbar)^T D^-1 (x' - x), "
      "xbar = (x + x')/2. A, D, C: (d, d) (C the stationary covariance used for the system term, "
      "C or C_s); x, x_next: (n, d). Returns shape (n,).");

  m.def(
      "shifted_lyapunov",
      [](const DoubleArray& A, const DoubleArray& Q, double h) {
        const Eigen::MatrixXd a = to_matrix(A, "A"), q = to_matrix(Q, "Q");
        require_same_size(a, q, "A", "Q");
        require_finite_scalar(h, "h");
        py::gil_scoped_release release;
        return gt::shifted_lyapunov(a, q, h);
      },
      py::arg("A"), py::arg("Q"), py::arg("h"),
      "Solve A C + C A^T + h A C A^T + Q = 0 (h >= 0): the stationary covariance of the "
      "Euler-Maruyama chain at step h is shifted_lyapunov(A, 2 D, h).");

  m.def(
      "bead_spring_drift_matrix",
      [](int n, double k, double gamma) { return gt::bead_spring_drift_matrix(n, k, gamma); },
      py::arg("n"), py::arg("k") = 1.0, py::arg("gamma") = 1.0,
      "Drift matrix (k/gamma) tridiag(1, -2, 1), shape (n, n), of the bead-spring chain between "
      "fixed walls (methods.md §5.1).");

  m.def(
      "bead_spring_diffusion",
      [](const DoubleArray& temps, double gamma) {
        return gt::bead_spring_diffusion(to_vector(temps, "temps"), gamma);
      },
      py::arg("temps"), py::arg("gamma") = 1.0,
      "Diffusion matrix diag(T_i / gamma), shape (n, n), for bath temperatures temps (n,).");

  m.def("linear_temperature_profile", &gt::linear_temperature_profile, py::arg("n"),
        py::arg("t_cold"), py::arg("t_hot"),
        "T_i = t_cold + (t_hot - t_cold)(i - 1)/(n - 1), i = 1..n, shape (n,).");

  m.def(
      "bead_spring_ep_rate",
      [](int n, double t_cold, double t_hot, double k, double gamma) {
        py::gil_scoped_release release;
        return gt::bead_spring_ep_rate(n, t_cold, t_hot, k, gamma);
      },
      py::arg("n"), py::arg("t_cold"), py::arg("t_hot"), py::arg("k") = 1.0, py::arg("gamma") = 1.0,
      "EP rate (k_B per unit time) of the n-bead chain with a linear temperature profile.");

  m.def(
      "high_dim_cold_temperature",
      [](int n, double t_hot, double target_sigma, double k, double gamma) {
        std::atomic<bool> cancel{false};  // ~40 dense O(n^3) solves: minutes for n in the thousands
        return stochinfer::python::run_interruptible(
            [&] { return gt::high_dim_cold_temperature(n, t_hot, target_sigma, k, gamma, &cancel); }, cancel);
      },
      py::arg("n"), py::arg("t_hot") = 10.0, py::arg("target_sigma") = 1.0, py::arg("k") = 1.0,
      py::arg("gamma") = 1.0,
      "Cold-end temperature T_1 of the n-bead chain (linear profile up to t_hot) whose EP rate "
      "equals target_sigma (methods.md §5.2). Stops on Ctrl-C.");

  m.attr("RATCHET_MAX_BARRIER") = gt::kRatchetMaxBarrier;  // largest V/T the ratchet functions accept
  m.def("ratchet_transition_matrix", &gt::ratchet_transition_matrix, py::arg("V"),
        py::arg("T") = 1.0, py::arg("r") = 1.0,
        "Embedded jump chain P, shape (6, 6), of the discrete flashing ratchet (methods.md §5.3): "
        "token i = (position i, on), 3 + i = (position i, off); zero diagonal, rows sum to 1.");

  m.def(
      "ratchet_stationary",
      [](const DoubleArray& P) { return gt::stationary_distribution(to_matrix(P, "P")); },
      py::arg("P"),
      "Stationary distribution pi, shape (n,), of a row-stochastic P (n, n): pi P = pi.");

  m.def(
      "ratchet_ep_per_step",
      [](const DoubleArray& P) { return gt::ep_per_step(to_matrix(P, "P")); }, py::arg("P"),
      "EP per step (k_B per jump) sum_ij pi_i P_ij ln(P_ij / P_ji) of the chain P (n, n).");

  m.def(
      "ratchet_transition_entropy",
      [](const DoubleArray& P, const DoubleArray& pi, const py::array& tokens) {
        const Eigen::MatrixXd p = to_matrix(P, "P");
        const Eigen::VectorXd q = to_vector(pi, "pi");
        const char kind = tokens.dtype().kind();
        if (kind != 'i' && kind != 'u') {
          throw py::value_error("tokens must be an integer array, got dtype " +
                                std::string(py::str(tokens.dtype())));
        }
        if (tokens.ndim() != 1 && tokens.ndim() != 2) {
          throw py::value_error("tokens must have shape (n_traj, L) or (L,), got " +
                                shape_str(tokens));
        }
        using TokenArray = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
        const auto tok = TokenArray::ensure(tokens);
        if (!tok) throw py::value_error("tokens could not be converted to int64");
        const bool one = tokens.ndim() == 1;
        const py::ssize_t n_traj = one ? 1 : tok.shape(0);
        const py::ssize_t length = one ? tok.shape(0) : tok.shape(1);
        if (length < 1) throw py::value_error("tokens must have at least one step per trajectory");
        py::array_t<double> out = one ? py::array_t<double>(length - 1)
                                      : py::array_t<double>({n_traj, length - 1});
        double* po = out.mutable_data();
        {
          py::gil_scoped_release release;
          gt::transition_entropy(p, q, tok.data(), n_traj, length, po);
        }
        return out;
      },
      py::arg("P"), py::arg("pi"), py::arg("tokens"),
      "Stochastic EP (k_B) ln[pi_i P_ij / (pi_j P_ji)] of each jump in token trajectories. "
      "P: (n, n) row-stochastic; pi: (n,) stationary distribution; tokens: integer array "
      "(n_traj, L) or (L,). Returns (n_traj, L - 1) or (L - 1,). Raises ValueError for a token "
      "out of range or a jump with zero probability.");

  m.def(
      "carnot_cycle_moments",
      [](double tau, double k_max, double t_cold, double gamma, int warmup_cycles) {
        stochinfer::CarnotProtocol protocol;
        protocol.tau = tau;
        protocol.k_max = k_max;
        protocol.t_cold = t_cold;
        std::atomic<bool> cancel{false};
        const gt::CarnotCycle c = stochinfer::python::run_interruptible(
            [&] { return gt::carnot_cycle_moments(protocol, gamma, warmup_cycles, 50.0, 500, &cancel); }, cancel);
        py::dict d;
        d["mean_work"] = c.mean_work;
        d["heat_hot"] = c.heat_hot;
        d["heat_total"] = c.heat_total;
        d["efficiency"] = c.efficiency;
        d["x2"] = c.x2;
        d["xv"] = c.xv;
        d["v2"] = c.v2;
        return d;
      },
      py::arg("tau") = 100.0, py::arg("k_max") = 40.0, py::arg("t_cold") = 10.0,
      py::arg("gamma") = 10.0, py::arg("warmup_cycles") = 0,
      "Exact per-cycle mean work (on the particle; < 0 for an engine), heat from the hot bath, "
      "total heat, efficiency -W/Q_h and phase-0 moments <x^2>, <xv>, <v^2> of the underdamped "
      "Brownian Carnot engine (m = 1, methods.md §5.8) in its periodic steady state, from the "
      "closed moment equations (the periodic state solved from the one-cycle map, then warmup_cycles "
      "cycles more, 0 by default). Stops on Ctrl-C; over 2.5e7 RK4 steps per quarter cycle (tau above "
      "2e6 at the defaults, less for large gamma or k_max) is refused (use the quasi-static limit). Returns a dict with keys mean_work, heat_hot, heat_total, efficiency, "
      "x2, xv, v2.");
}
