// SPDX-License-Identifier: MIT
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <stdexcept>

#include "interrupt.hpp"
#include "stochinfer/first_passage.hpp"

namespace py = pybind11;

void bind_first_passage(py::module_& m) {
  m.attr("MONITORING_BETA") = stochinfer::kMonitoringBeta;
  m.def(
      "first_passage_times",
      [](double x0, double D, double V, double rate, double dt, std::int64_t n_walkers, std::int64_t max_steps,
         std::uint64_t seed, bool monitoring_correction, int n_threads) {
        stochinfer::FirstPassageConfig c;
        c.x0 = x0;
        c.D = D;
        c.V = V;
        c.rate = rate;
        c.dt = dt;
        c.n_walkers = n_walkers;
        c.max_steps = max_steps;
        c.seed = seed;
        c.monitoring_correction = monitoring_correction;
        try {
          c.validate();
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        py::array_t<double> out(n_walkers);
        double* o = out.mutable_data();
        std::atomic<bool> cancel{false};
        stochinfer::python::run_interruptible(
            [&]() { return stochinfer::first_passage_times(c, o, n_threads, &cancel); }, cancel);
        return out;
      },
      py::arg("x0"), py::arg("D"), py::arg("V"), py::arg("rate"), py::arg("dt"), py::arg("n_walkers"),
      py::arg("max_steps"), py::arg("seed"), py::arg("monitoring_correction") = true, py::arg("n_threads") = 0,
      "First-passage times of drift-diffusion under stochastic resetting (NaN: censored at max_steps).");
}
