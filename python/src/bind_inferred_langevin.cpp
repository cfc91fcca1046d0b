// SPDX-License-Identifier: MIT
// Binding of InferredLangevin: shapes and conversion only (the physics is in
// cpp/src/nn/inferred_langevin.cpp).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "interrupt.hpp"
#include "lock_model.hpp"
#include "stochinfer/inferred_langevin.hpp"

namespace py = pybind11;
using stochinfer::python::with_model;

namespace {

template <class T>
using Arr = py::array_t<T, py::array::c_style | py::array::forcecast>;
using F64 = Arr<double>;

/// S, the samples per call, read under the model's mutex (set_noiseless_drift may change the networks).
template <class Model>
py::ssize_t sample_count(const Model& md, int n_samples) {
  return with_model(md, [&] { return md.n_outputs(n_samples); });
}

template <class T>
void bind_inferred(py::module_& m, const char* name) {
  using Net = stochinfer::LangevinNet<T>;
  using Model = stochinfer::InferredLangevin<T>;
  py::class_<Model> cls(m, name, "A fitted Langevin equation: field assembly and simulation (see LangevinFit).");
  cls.def(py::init([](Net& drift, Net* drift_shifted, Net& diffusion, int dim, bool underdamped, bool time_input,
                      std::vector<double> mu_x, std::vector<double> s_x, std::vector<double> mu_v,
                      std::vector<double> s_v, double mu_t, double s_t, std::vector<int> noisy,
                      std::vector<double> diffusion_factor, std::vector<double> friction, double dt,
                      bool homogeneous_diffusion, std::vector<double> fr_linear, std::vector<double> diffusion_base,
                      double diffusion_base_floor, std::vector<double> diffusion_base_chol, double time_period,
                      int time_harmonics, int n_threads, std::vector<double> friction_bias) {
            stochinfer::InferredFieldsSpec s;
            s.dim = dim;
            s.underdamped = underdamped;
            s.time_input = time_input;
            s.mu_x = std::move(mu_x);
            s.s_x = std::move(s_x);
            s.mu_v = std::move(mu_v);
            s.s_v = std::move(s_v);
            s.mu_t = mu_t;
            s.s_t = s_t;
            s.time_period = time_period;
            s.time_harmonics = time_harmonics;
            s.noisy = std::move(noisy);
            s.diffusion_factor = std::move(diffusion_factor);
            s.friction = std::move(friction);
            s.friction_bias = std::move(friction_bias);
            s.dt = dt;
            s.homogeneous_diffusion = homogeneous_diffusion;
            s.fr_linear = std::move(fr_linear);
            s.diffusion_base = std::move(diffusion_base);
            s.diffusion_base_floor = diffusion_base_floor;
            s.diffusion_base_chol = std::move(diffusion_base_chol);
            return Model(drift, drift_shifted, diffusion, std::move(s), n_threads);
          }),
          py::arg("drift"), py::arg("drift_shifted"), py::arg("diffusion"), py::arg("dim"), py::arg("underdamped"),
          py::arg("time_input"), py::arg("mu_x"), py::arg("s_x"), py::arg("mu_v"), py::arg("s_v"), py::arg("mu_t"),
          py::arg("s_t"), py::arg("noisy"), py::arg("diffusion_factor"), py::arg("friction"), py::arg("dt"),
          py::arg("homogeneous_diffusion"), py::arg("fr_linear") = std::vector<double>{},
          py::arg("diffusion_base") = std::vector<double>{}, py::arg("diffusion_base_floor") = 0.0,
          py::arg("diffusion_base_chol") = std::vector<double>{}, py::arg("time_period") = 0.0,
          py::arg("time_harmonics") = 1, py::arg("n_threads") = 0, py::arg("friction_bias") = std::vector<double>{},
          py::keep_alive<1, 2>(), py::keep_alive<1, 3>(), py::keep_alive<1, 4>())
      .def(
          "n_outputs",
          [](const Model& md, int n_samples) { return sample_count(md, n_samples); },
          py::arg("n_samples"))
      .def(
          "set_noiseless_drift", [](Model& md, Net* net) { with_model(md, [&] { md.set_noiseless_drift(net); }); },
          py::arg("net").none(true), py::keep_alive<1, 2>(),
           "A drift network for the noiseless coordinates, replacing the main one's outputs there (None: none).")
      .def(
          "fields",
          [](Model& md, const F64& z, std::optional<F64> t, int n_samples, std::uint64_t seed, bool paired,
             bool want_drift, bool want_diffusion) {
            const auto& s = md.spec();
            if (n_samples < 0) throw py::value_error("n_samples must be >= 0 (0: the mean weights)");
            const py::ssize_t S = sample_count(md, n_samples), sd = s.state_dim(), d = s.dim;
            if (!paired && (z.ndim() != 2 || z.shape(1) != sd))
              throw py::value_error("z must have shape (n, " + std::to_string(sd) + ")");
            if (paired && (z.ndim() != 3 || z.shape(0) != S || z.shape(2) != sd))
              throw py::value_error("paired z must have shape (" + std::to_string(S) + ", n, " + std::to_string(sd) +
                                    ")");
            const py::ssize_t n = z.shape(z.ndim() - 2);
            if (s.time_input && (!t || t->ndim() != 1 || t->shape(0) != n))
              throw py::value_error("t must have shape (" + std::to_string(n) + ",) for a fit with a time input");
            py::array_t<double> F, D;
            if (want_drift) F = py::array_t<double>({S, n, d});
            if (want_diffusion) D = py::array_t<double>({S, n, d, d});
            double* f = want_drift ? F.mutable_data() : nullptr;
            double* dd = want_diffusion ? D.mutable_data() : nullptr;
            const double* tp = (s.time_input && t) ? t->data() : nullptr;
            std::atomic<bool> cancel{false};
            stochinfer::python::run_interruptible(
                [&] { return md.fields(z.data(), tp, n, n_samples, seed, paired, f, dd, &cancel); }, cancel);
            return py::make_tuple(want_drift ? py::object(F) : py::none(),
                                  want_diffusion ? py::object(D) : py::none());
          },
          py::arg("z"), py::arg("t"), py::arg("n_samples"), py::arg("seed"), py::arg("paired") = false,
          py::arg("drift") = true, py::arg("diffusion") = true,
          "Physical drift (S, n, d) and diffusion (S, n, d, d) at states z (n, state_dim), or (S, n, state_dim) "
          "paired; t: (n,) times or None.")
      .def(
          "drift_from_inputs",
          [](Model& md, const Arr<T>& x, int n_samples, std::uint64_t seed) {
            const auto& s = md.spec();
            if (n_samples < 0) throw py::value_error("n_samples must be >= 0 (0: the mean weights)");
            if (x.ndim() != 2 || x.shape(1) != s.in_dim())
              throw py::value_error("x must have shape (n, " + std::to_string(s.in_dim()) + ")");
            const py::ssize_t S = sample_count(md, n_samples), n = x.shape(0);
            py::array_t<double> F({S, n, py::ssize_t(s.dim)});
            double* f = F.mutable_data();
            std::atomic<bool> cancel{false};
            stochinfer::python::run_interruptible(
                [&] { return md.fields_from_inputs(x.data(), n, n_samples, seed, false, f, nullptr, &cancel); },
                cancel);
            return F;
          },
          py::arg("x"), py::arg("n_samples"), py::arg("seed"),
          "Physical drift (S, n, d) from normalised network input rows x (n, in_dim).")
      .def(
          "simulate",
          [](Model& md, const F64& x0, std::optional<F64> v0, std::int64_t n_steps, double dt, double t0,
             double period, int n_samples, bool per_sample, std::uint64_t seed, std::uint64_t posterior_seed,
             std::int64_t record_every) {
            const auto& s = md.spec();
            const py::ssize_t d = s.dim;
            if (x0.ndim() != 2 || x0.shape(1) != d) throw py::value_error("x0 must have shape (n_traj, dim)");
            const py::ssize_t n = x0.shape(0);
            if (s.underdamped && (!v0 || v0->ndim() != 2 || v0->shape(0) != n || v0->shape(1) != d))
              throw py::value_error("v0 must have shape (n_traj, dim) for an underdamped fit");
            stochinfer::InferredSimulationConfig c;
            c.n_traj = n;
            c.n_steps = n_steps;
            c.dt = dt;
            c.t0 = t0;
            c.period = period;
            c.n_samples = n_samples;
            c.per_sample = per_sample;
            c.seed = seed;
            c.posterior_seed = posterior_seed;
            c.record_every = record_every;
            c.validate();  // n_samples >= 0 among the rest
            const py::ssize_t U = per_sample ? sample_count(md, n_samples) : 1;
            const py::ssize_t n_rec = n_steps / record_every + 1;
            py::array_t<double> xs({U, n, n_rec, d});
            py::array_t<double> vs, sp;
            if (s.underdamped) vs = py::array_t<double>({U, n, n_rec, d});
            if (!per_sample) sp = py::array_t<double>({n, n_rec, d});
            double* xp = xs.mutable_data();
            double* vp = s.underdamped ? vs.mutable_data() : nullptr;
            double* spp = per_sample ? nullptr : sp.mutable_data();
            const double* v0p = s.underdamped ? v0->data() : nullptr;
            std::atomic<bool> cancel{false};
            const auto r = stochinfer::python::run_interruptible(
                [&] { return md.simulate(c, x0.data(), v0p, xp, vp, spp, &cancel); }, cancel);
            return py::make_tuple(xs, s.underdamped ? py::object(vs) : py::none(),
                                  per_sample ? py::none() : py::object(sp), r.steps_done, r.diverged,
                                  r.diffusion_not_positive_definite);
          },
          py::arg("x0"), py::arg("v0"), py::arg("n_steps"), py::arg("dt"), py::arg("t0"), py::arg("period"),
          py::arg("n_samples"), py::arg("per_sample"), py::arg("seed"), py::arg("posterior_seed"),
          py::arg("record_every"),
          "Simulates the inferred equation; returns (x, v or None, spread or None, steps_done, diverged, "
          "diffusion_not_positive_definite).");
}

}  // namespace

void bind_inferred_langevin(py::module_& m) {
  bind_inferred<float>(m, "InferredLangevin32");
  bind_inferred<double>(m, "InferredLangevin64");
  m.def(
      "quadratic_diffusion_base",
      [](const F64& u, std::vector<double> coeffs, double floor) {
        if (u.ndim() != 2) throw py::value_error("u must have shape (n, n_inputs)");
        const int k = static_cast<int>(u.shape(1));
        if (coeffs.size() != std::size_t(stochinfer::diffusion_base_size(k)))
          throw py::value_error("coeffs must hold 1 + n + n(n + 1)/2 values for n = " + std::to_string(k) +
                                " inputs");
        if (!(floor > 0) || !std::isfinite(floor)) throw py::value_error("floor must be finite and > 0");
        py::array_t<double> out(u.shape(0));
        const double* in = u.data();
        double* o = out.mutable_data();
        for (py::ssize_t i = 0; i < u.shape(0); ++i)
          o[i] = stochinfer::quadratic_diffusion_base(in + i * k, k, coeffs.data(), floor);
        return out;
      },
      py::arg("u"), py::arg("coeffs"), py::arg("floor"),
      "b(u) = max(floor, c0 + sum_j c_j u_j + sum_{j<=k} c_jk u_j u_k) per row: the diffusion base of a fit.");
}
