// SPDX-License-Identifier: MIT
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <stdexcept>

#include "interrupt.hpp"
#include "stochinfer/markov_chain.hpp"

namespace py = pybind11;

void bind_markov_chain(py::module_& m) {
  m.def(
      "sample_markov_chain",
      [](py::array_t<double, py::array::c_style | py::array::forcecast> P,
         py::array_t<double, py::array::c_style | py::array::forcecast> initial, std::int64_t n_traj,
         std::int64_t n_steps, std::uint64_t seed, int n_threads) {
        if (P.ndim() != 2 || P.shape(0) != P.shape(1))
          throw py::value_error("P: expected a square (n_states, n_states) matrix");
        if (initial.ndim() != 1 || initial.shape(0) != P.shape(0))
          throw py::value_error("initial: expected a distribution of length n_states");
        if (n_traj < 1 || n_steps < 1) throw py::value_error("n_traj and n_steps must be >= 1");
        py::array_t<std::int32_t> out({n_traj, n_steps + 1});
        std::atomic<bool> cancel{false};
        const double* p = P.data();
        const double* init = initial.data();
        std::int32_t* o = out.mutable_data();
        const int n = static_cast<int>(P.shape(0));
        try {
          stochinfer::python::run_interruptible(
              [&]() {
                return stochinfer::sample_markov_chain(p, n, init, n_traj, n_steps, seed, o,
                                                       n_threads, &cancel);
              },
              cancel);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        return out;
      },
      py::arg("P"), py::arg("initial"), py::arg("n_traj"), py::arg("n_steps"), py::arg("seed"),
      py::arg("n_threads") = 0, "Sample paths of a discrete-time Markov chain; int32 states.");
}
