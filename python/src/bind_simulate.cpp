// SPDX-License-Identifier: MIT
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "interrupt.hpp"
#include "stochinfer/builtin.hpp"
#include "stochinfer/first_non_finite.hpp"

namespace py = pybind11;
using namespace stochinfer;

namespace {

Integrator parse_integrator(const std::string& s) {
  if (s == "euler_maruyama") return Integrator::euler_maruyama;
  if (s == "heun") return Integrator::heun;
  if (s == "underdamped_euler") return Integrator::underdamped_euler;
  if (s == "baoab") return Integrator::baoab;
  throw py::value_error("integrator: unknown '" + s +
                        "' (euler_maruyama, heun, underdamped_euler, baoab)");
}

InitKind parse_init(const std::string& s) {
  if (s == "zeros") return InitKind::zeros;
  if (s == "broadcast") return InitKind::broadcast;
  if (s == "per_trajectory") return InitKind::per_trajectory;
  if (s == "gaussian") return InitKind::gaussian;
  if (s == "model_default") return InitKind::model_default;
  throw py::value_error("initial: unknown kind '" + s + "'");
}

template <class T>
py::str run(const BuiltinModel& model, SimulationConfig c, py::array_t<T> out,
            const std::optional<py::array_t<double, py::array::c_style>>& init_data,
            const std::string& backend) {
  const int d = state_dim(model);
  if (out.ndim() != 3 || out.shape(1) != n_records(c) || out.shape(2) != d ||
      !(out.flags() & py::array::c_style) || !out.writeable())
    throw py::value_error("out: expected a writeable C-contiguous array of shape (n_traj, " +
                          std::to_string(n_records(c)) + ", " + std::to_string(d) + ")");
  c.n_traj = out.shape(0);
  if (init_data) {
    // the core reads init_data by its kind's layout: a shorter array would be read past its end
    const std::int64_t dd = d, want = c.init == InitKind::broadcast        ? dd
                                      : c.init == InitKind::per_trajectory ? c.n_traj * dd
                                      : c.init == InitKind::gaussian       ? dd + dd * dd
                                                                           : 0;
    if (init_data->size() != want)  // C-contiguous: (n_traj, dim) rows are the core's i * dim + k layout
      throw py::value_error("init_data: expected " + std::to_string(want) + " values for this initial kind, got " +
                            std::to_string(init_data->size()));
    const double* v = init_data->data();
    for (py::ssize_t k = 0; k < init_data->size(); ++k)
      if (!std::isfinite(v[k])) throw py::value_error("init_data contains NaN or inf");
    c.init_data = v;
  }
  T* ptr = out.mutable_data();
  std::atomic<bool> cancel{false};
  c.cancel = &cancel;
  SimulationStatus st;
  try {
    st = stochinfer::python::run_interruptible(
        [&]() {
          return backend == "cuda" ? simulate_builtin_cuda(model, c, ptr) : simulate_builtin(model, c, ptr);
        },
        cancel);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
  return st == SimulationStatus::completed ? py::str("completed") : py::str("cancelled");
}

}  // namespace

void bind_simulate(py::module_& m) {
  m.def(
      "simulate",
      [](const std::string& model, int size, std::vector<double> params, py::array out,
         std::int64_t n_steps, int substeps, std::int64_t record_every, std::int64_t burn_in,
         double dt, double t0, std::uint64_t seed, std::uint64_t traj_offset,
         const std::string& integrator, const std::string& init,
         std::optional<py::array_t<double, py::array::c_style>> init_data, int n_threads,
         const std::string& backend) {
        BuiltinModel bm{model, size, std::move(params)};
        try {
          validate(bm);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        if (backend != "cpu" && backend != "cuda") throw py::value_error("backend: 'cpu' or 'cuda'");
        SimulationConfig c;
        c.n_steps = n_steps;
        c.substeps = substeps;
        c.record_every = record_every;
        c.burn_in = burn_in;
        c.dt = dt;
        c.t0 = t0;
        c.seed = seed;
        c.traj_offset = traj_offset;
        c.integrator = parse_integrator(integrator);
        c.init = parse_init(init);
        c.n_threads = n_threads;
        if (py::isinstance<py::array_t<float>>(out) && out.dtype().is(py::dtype::of<float>()))
          return run<float>(bm, c, out.cast<py::array_t<float>>(), init_data, backend);
        if (out.dtype().is(py::dtype::of<double>()))
          return run<double>(bm, c, out.cast<py::array_t<double>>(), init_data, backend);
        throw py::type_error("out: dtype must be float32 or float64");
      },
      py::arg("model"), py::arg("size"), py::arg("params"), py::arg("out"), py::arg("n_steps"),
      py::arg("substeps"), py::arg("record_every"), py::arg("burn_in"), py::arg("dt"),
      py::arg("t0"), py::arg("seed"), py::arg("traj_offset"), py::arg("integrator"),
      py::arg("init"), py::arg("init_data"), py::arg("n_threads"), py::arg("backend"),
      "Simulate a built-in model into `out` (n_traj, n_records, state_dim). Returns "
      "'completed' or 'cancelled'. Releases the GIL; Ctrl-C raises KeyboardInterrupt.");
  m.def(
      "first_non_finite_row",
      [](const py::array& a, int n_threads) -> std::int64_t {
        if (a.ndim() < 1 || !(a.flags() & py::array::c_style))
          throw py::value_error("first_non_finite_row: a C-contiguous array of at least one dimension is needed");
        const std::int64_t row_len = a.ndim() > 1 ? std::int64_t(a.shape(a.ndim() - 1)) : 1;
        const std::int64_t rows = row_len ? std::int64_t(a.size()) / row_len : 0;
        const bool f32 = a.dtype().is(py::dtype::of<float>());
        if (!f32 && !a.dtype().is(py::dtype::of<double>()))
          throw py::type_error("first_non_finite_row: float32 or float64 values are needed");
        py::gil_scoped_release release;
        return f32 ? first_non_finite_row(static_cast<const float*>(a.data()), rows, row_len, n_threads)
                   : first_non_finite_row(static_cast<const double*>(a.data()), rows, row_len, n_threads);
      },
      py::arg("values"), py::arg("n_threads"),
      "Flat index of the first row (last axis) holding NaN or inf, or -1; releases the GIL.");
  m.def(
      "state_dim",
      [](const std::string& model, int size, std::vector<double> params) {
        return state_dim(BuiltinModel{model, size, std::move(params)});
      },
      py::arg("model"), py::arg("size"), py::arg("params"));
}
