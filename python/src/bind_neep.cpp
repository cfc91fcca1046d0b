// SPDX-License-Identifier: MIT
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <string>
#include <type_traits>
#include <utility>

#include "bind_state_array.hpp"
#include "bind_training_methods.hpp"
#include "interrupt.hpp"
#include "lock_model.hpp"
#include "stochinfer/neep.hpp"
#include "stochinfer/rneep.hpp"

namespace py = pybind11;
using stochinfer::python::with_model;
using stochinfer::Segment;
using stochinfer::StateArray;
using stochinfer::python::segments;
using stochinfer::python::state_array;

namespace {

template <class Model>
StateArray any_states(Model&, const py::array& a) {
  return state_array(a);
}

/// NEEP and RNEEP: the shared training methods plus per-item ΔS.
template <class Model, class Cls>
void bind_network_methods(Cls& cls) {
  stochinfer::python::bind_training_methods<Model, any_states<Model>>(cls);
  cls.def(
      "delta_s",
      [](Model& md, const py::array& data, const py::array_t<std::int64_t>& seg) {
        const StateArray s = state_array(data);
        const std::vector<Segment> sg = segments(seg);
        py::array_t<double> out(md.n_delta_s(s, sg));
        double* o = out.mutable_data();
        std::atomic<bool> cancel{false};
        stochinfer::python::run_interruptible([&] { return md.delta_s(s, sg, o, &cancel); }, cancel);
        return out;
      },
      py::arg("data"), py::arg("segments"), "ΔS of every read-out item of the segments, in order (float64).");
}

stochinfer::MlpSpec mlp_spec(int state_dim, int n_tokens, int embed_dim, int n_states, int hidden, int n_layers,
                             const std::string& activation) {
  stochinfer::MlpSpec s;
  s.state_dim = state_dim;
  s.n_tokens = n_tokens;
  s.embed_dim = embed_dim;
  s.n_states = n_states;
  s.hidden = hidden;
  s.n_layers = n_layers;
  s.activation = stochinfer::activation_from_name(activation);
  return s;
}

template <class T>
void bind_model(py::module_& m, const char* name) {
  using Model = stochinfer::NeepModel<T>;
  using Arr = py::array_t<T, py::array::c_style | py::array::forcecast>;
  py::class_<Model> cls(m, name, "NEEP network h(s, s') with Adam state (see stochinfer.NEEP).");
  cls.def(py::init([](int state_dim, int n_tokens, int embed_dim, int n_states, int hidden, int n_layers,
                      const std::string& activation, std::uint64_t seed, int n_threads) {
            return Model(mlp_spec(state_dim, n_tokens, embed_dim, n_states, hidden, n_layers, activation), seed,
                         n_threads);
          }),
          py::arg("state_dim"), py::arg("n_tokens"), py::arg("embed_dim"), py::arg("n_states"), py::arg("hidden"),
          py::arg("n_layers"), py::arg("activation"), py::arg("seed"), py::arg("n_threads") = 0)
      .def_static(
          "workspace_values",
          [](int state_dim, int n_tokens, int embed_dim, int n_states, int hidden, int n_layers,
             const std::string& activation) {
            return Model::workspace_values(
                mlp_spec(state_dim, n_tokens, embed_dim, n_states, hidden, n_layers, activation));
          },
          py::arg("state_dim"), py::arg("n_tokens"), py::arg("embed_dim"), py::arg("n_states"), py::arg("hidden"),
          py::arg("n_layers"), py::arg("activation"), "Values each worker thread's scratch holds for this spec.")
      .def_property_readonly("input_width", [](Model& md) { return md.spec().input_width(); })
      .def(
          "set_input_transform",
          [](Model& md, const std::vector<double>& shift, const std::vector<double>& scale) {
            with_model(md, [&] { md.set_input_transform(shift, scale); });
          },
          py::arg("shift"), py::arg("scale"))
      .def(
          "forward_rows",
          [](Model& md, const Arr& x) {
            if (x.ndim() != 2 || x.shape(1) != md.spec().input_width())
              throw py::value_error("x must have shape (n, " + std::to_string(md.spec().input_width()) + ")");
            py::array_t<T> out(x.shape(0));
            T* o = out.mutable_data();
            with_model(md, [&] { md.forward_rows(x.data(), x.shape(0), o); });
            return out;
          },
          py::arg("x"), "Network output h for explicit input rows (continuous inputs).");
  bind_network_methods<Model>(cls);
}

template <class T>
void bind_rneep(py::module_& m, const char* name) {
  using Model = stochinfer::RneepModel<T>;
  py::class_<Model> cls(m, name, "RNEEP network (embedding + GRU + time average + linear) with Adam state.");
  cls.def(py::init([](int n_tokens, int embed_dim, int hidden, int window, std::uint64_t seed, int n_threads) {
            return Model(stochinfer::RneepSpec{n_tokens, embed_dim, hidden, window}, seed, n_threads);
          }),
          py::arg("n_tokens"), py::arg("embed_dim"), py::arg("hidden"), py::arg("window"), py::arg("seed"),
          py::arg("n_threads") = 0)
      .def_static(
          "workspace_values",
          [](int n_tokens, int embed_dim, int hidden, int window) {
            return Model::workspace_values(stochinfer::RneepSpec{n_tokens, embed_dim, hidden, window});
          },
          py::arg("n_tokens"), py::arg("embed_dim"), py::arg("hidden"), py::arg("window"),
          "Values each worker thread's scratch holds for this spec.");
  bind_network_methods<Model>(cls);
}

}  // namespace

void bind_neep(py::module_& m) {
  m.def("nn_isa", &stochinfer::nn_isa, "Instruction set the network code was built for.");
  m.def("nn_isa_supported", &stochinfer::nn_isa_supported, "True if this CPU can run the network code.");
  bind_model<float>(m, "NeepModel32");
  bind_model<double>(m, "NeepModel64");
  bind_rneep<float>(m, "RneepModel32");
  bind_rneep<double>(m, "RneepModel64");
}
