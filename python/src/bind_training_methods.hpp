// SPDX-License-Identifier: MIT
// Training methods shared by the network estimators' bindings (NEEP, RNEEP,
// CNEEP): parameter count, optimiser state, Adam or SGD updates (GIL released,
// Ctrl-C stops) and the full-batch loss and gradient, on data converted by
// Convert(model, array) (states/tokens, or movie frames checked against the network).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "bind_optimizer_state.hpp"
#include "bind_state_array.hpp"
#include "interrupt.hpp"
#include "lock_model.hpp"

namespace stochinfer::python {

template <class Model, stochinfer::StateArray (*Convert)(Model&, const pybind11::array&), class Cls>
void bind_training_methods(Cls& cls) {
  namespace py = pybind11;
  using T = std::remove_pointer_t<decltype(std::declval<Model&>().params())>;
  cls.def_property_readonly("n_params", &Model::n_params);
  bind_optimizer_state<Model>(cls);
  cls.def(
         "train",
         [](Model& md, const py::array& data, const py::array_t<std::int64_t>& seg, std::int64_t n_steps, int batch,
            double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
            std::uint64_t sample_seed) {
           const stochinfer::StateArray s = Convert(md, data);
           const auto sg = segments(seg);
           stochinfer::AdamConfig c{lr, beta1, beta2, eps, weight_decay, decoupled};
           std::atomic<bool> cancel{false};
           const auto st =
               run_interruptible([&] { return md.train(s, sg, n_steps, batch, c, sample_seed, &cancel); }, cancel);
           return py::make_tuple(st.steps_done, st.mean_loss);
         },
         py::arg("data"), py::arg("segments"), py::arg("n_steps"), py::arg("batch"), py::arg("lr"), py::arg("beta1"),
         py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"), py::arg("decoupled"), py::arg("sample_seed"),
         "Adam updates; returns (steps_done, mean minibatch loss).")
      .def(
          "train_sgd",
          [](Model& md, const py::array& data, const py::array_t<std::int64_t>& seg, std::int64_t n_steps, int batch,
             double lr, double momentum, double dampening, double weight_decay, bool nesterov,
             std::uint64_t sample_seed) {
            const stochinfer::StateArray s = Convert(md, data);
            const auto sg = segments(seg);
            stochinfer::SgdConfig c{lr, momentum, dampening, weight_decay, nesterov};
            std::atomic<bool> cancel{false};
            const auto st =
                run_interruptible([&] { return md.train(s, sg, n_steps, batch, c, sample_seed, &cancel); }, cancel);
            return py::make_tuple(st.steps_done, st.mean_loss);
          },
          py::arg("data"), py::arg("segments"), py::arg("n_steps"), py::arg("batch"), py::arg("lr"),
          py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"),
          py::arg("sample_seed"), "SGD (momentum) updates; returns (steps_done, mean minibatch loss).")
      .def(
          "loss_and_grad",
          [](Model& md, const py::array& data, const py::array_t<std::int64_t>& seg) {
            py::array_t<T> g(static_cast<py::ssize_t>(md.n_params()));
            const stochinfer::StateArray s = Convert(md, data);
            const auto sg = segments(seg);
            T* gp = g.mutable_data();
            const double loss = with_model(md, [&] { return md.loss_and_grad(s, sg, gp); });
            return py::make_tuple(loss, g);
          },
          py::arg("data"), py::arg("segments"), "Mean loss over every item of the segments and its gradient.");
}

}  // namespace stochinfer::python
