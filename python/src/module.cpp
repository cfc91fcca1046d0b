// SPDX-License-Identifier: MIT
#include <pybind11/pybind11.h>

#include "stochinfer/builtin.hpp"
#include "stochinfer/training_diverged.hpp"

namespace py = pybind11;

void bind_simulate(py::module_& m);
void bind_rng(py::module_& m);
void bind_markov_chain(py::module_& m);
void bind_first_passage(py::module_& m);
void bind_movies(py::module_& m);
void bind_ground_truth(py::module_& m);
void bind_neep(py::module_& m);
void bind_cneep(py::module_& m);
void bind_classifier(py::module_& m);
void bind_langevin(py::module_& m);
void bind_inferred_langevin(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "stochinfer compiled core (thin bindings; see the stochinfer package for the API)";
  m.attr("__version__") = STOCHINFER_VERSION_INFO;
  m.def("cuda_available", &stochinfer::cuda_available, "True if built with CUDA and a GPU is present.");
  m.def("cpu_isa", &stochinfer::cpu_isa, "Instruction set the CPU loops dispatched to.");
  // a subclass of FloatingPointError, what stochinfer.train documents for diverging training
  py::register_exception<stochinfer::TrainingDiverged>(m, "TrainingDiverged", PyExc_FloatingPointError);
  bind_simulate(m);
  bind_rng(m);
  bind_markov_chain(m);
  bind_first_passage(m);
  bind_movies(m);
  bind_neep(m);
  bind_cneep(m);
  bind_classifier(m);
  bind_langevin(m);
  bind_inferred_langevin(m);
  auto gt = m.def_submodule("ground_truth", "Analytic ground truth (double precision).");
  bind_ground_truth(gt);
}
