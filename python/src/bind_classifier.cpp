// SPDX-License-Identifier: MIT
// Bindings of the MLP classifier (stochinfer.Classifier drives it): argument
// conversion only.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bind_optimizer_state.hpp"
#include "interrupt.hpp"
#include "lock_model.hpp"
#include "stochinfer/classifier.hpp"

namespace py = pybind11;
using stochinfer::python::with_model;
using Rows = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using Labels = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;

namespace {

/// A view of a C-contiguous float32/float64 (n, features) table.
stochinfer::StateArray feature_table(const py::array& a) {
  if (!(a.flags() & py::array::c_style)) throw py::value_error("features must be C-contiguous");
  if (a.ndim() != 2) throw py::value_error("features must have shape (n_samples, n_features)");
  stochinfer::StateArray s;
  if (py::isinstance<py::array_t<float>>(a))
    s.type = stochinfer::StateType::float32;
  else if (py::isinstance<py::array_t<double>>(a))
    s.type = stochinfer::StateType::float64;
  else
    throw py::type_error("features must be float32 or float64");
  s.data = a.data();
  s.n_traj = a.shape(0);
  s.length = 1;
  s.dim = a.shape(1);
  return s;
}

stochinfer::LabelledTable labelled(const py::array& x, const Labels& y) {
  stochinfer::LabelledTable t{feature_table(x), y.data()};
  if (y.ndim() != 1 || y.shape(0) != t.features.n_traj)
    throw py::value_error("labels must have shape (n_samples,) matching the features");
  return t;
}

std::vector<std::int64_t> row_list(const Rows& r) {
  if (r.ndim() != 1) throw py::value_error("rows must be a 1-D array of row indices");
  return std::vector<std::int64_t>(r.data(), r.data() + r.shape(0));
}

template <class T>
void bind_classifier_model(py::module_& m, const char* name) {
  using Model = stochinfer::ClassifierModel<T>;
  py::class_<Model> cls(m, name, "MLP classifier with optimiser state (see stochinfer.Classifier).");
  cls.def(py::init([](int n_features, int n_classes, int hidden, int n_layers, const std::string& activation,
                      const std::string& loss, double q, double alpha, double beta, double elr_lambda,
                      double elr_beta, double tgce_k, std::uint64_t seed, int n_threads) {
            stochinfer::MlpSpec s;
            s.state_dim = n_features;
            s.n_states = 1;
            s.hidden = hidden;
            s.n_layers = n_layers;
            s.out_dim = n_classes;
            s.activation = stochinfer::activation_from_name(activation);
            stochinfer::ClassLossSpec l;
            l.kind = stochinfer::class_loss_from_name(loss);
            l.q = q;
            l.alpha = alpha;
            l.beta = beta;
            l.elr_lambda = elr_lambda;
            l.elr_beta = elr_beta;
            l.tgce_k = tgce_k;
            return Model(s, l, seed, n_threads);
          }),
          py::arg("n_features"), py::arg("n_classes"), py::arg("hidden"), py::arg("n_layers"), py::arg("activation"),
          py::arg("loss"), py::arg("q"), py::arg("alpha"), py::arg("beta"), py::arg("elr_lambda") = 3.0,
          py::arg("elr_beta") = 0.7, py::arg("tgce_k") = 0.5, py::arg("seed") = 0, py::arg("n_threads") = 0)
      .def_property_readonly("n_params", &Model::n_params)
      .def_property_readonly("n_classes", &Model::n_classes)
      .def_property_readonly("layer_offsets", &Model::layer_offsets,
                             "Start of each Dense layer's parameters (W, b), then n_params.")
      .def(
          "set_input_transform",
          [](Model& md, const std::vector<double>& shift, const std::vector<double>& scale) {
            with_model(md, [&] { md.set_input_transform(shift, scale); });
          },
          py::arg("shift"), py::arg("scale"))
      .def(
          "get_elr_targets",
          [](Model& md) {
            const std::vector<double> t = with_model(md, [&] { return md.elr_targets(); });
            const py::ssize_t C = md.n_classes();
            py::array_t<double> out({static_cast<py::ssize_t>(t.size()) / C, C});
            std::copy(t.begin(), t.end(), out.mutable_data());
            return out;
          },
          "ELR's running targets (rows, n_classes); empty before ELR training.")
      .def(
          "set_elr_targets",
          [](Model& md, const py::array_t<double, py::array::c_style | py::array::forcecast>& t) {
            if (t.ndim() != 2 || t.shape(1) != md.n_classes())
              throw py::value_error("ELR targets must have shape (rows, n_classes)");
            // checked on our own copy: another thread may write to the caller's array meanwhile
            std::vector<double> v(t.data(), t.data() + t.size());
            const std::size_t C = static_cast<std::size_t>(t.shape(1));
            for (std::size_t i = 0; i < v.size(); i += C) {  // ⟨t, p⟩ < 1 keeps log(1 − ⟨t, p⟩) finite
              double sum = 0.0;
              for (std::size_t k = i; k < i + C; ++k) {
                if (!(v[k] >= 0.0) || !std::isfinite(v[k]))
                  throw py::value_error("ELR targets must be finite and >= 0");
                sum += v[k];
              }
              if (sum > 1.0 + 1e-9) throw py::value_error("each row of the ELR targets must sum to at most 1");
            }
            with_model(md, [&] { md.elr_targets() = std::move(v); });
          },
          py::arg("targets"), "Sets ELR's running targets (one row per row of the training table).")
      .def(
          "get_row_weights",
          [](Model& md) {
            const std::vector<double> w = with_model(md, [&] { return md.row_weights(); });
            return py::array_t<double>(static_cast<py::ssize_t>(w.size()), w.data());
          },
          "Truncated GCE's per-row weights (empty: all 1).")
      .def(
          "set_row_weights",
          [](Model& md, const py::array_t<double, py::array::c_style | py::array::forcecast>& w) {
            if (w.ndim() != 1) throw py::value_error("row weights must be a 1-D array (one per table row)");
            std::vector<double> v(w.data(), w.data() + w.shape(0));  // checked copy, as for the ELR targets
            for (double x : v)
              if (!(x >= 0.0) || !std::isfinite(x)) throw py::value_error("row weights must be finite and >= 0");
            with_model(md, [&] { md.row_weights() = std::move(v); });
          },
          py::arg("weights"), "Sets truncated GCE's per-row weights (one per row of the training table).")
      .def(
          "train_adam",
          [](Model& md, const py::array& x, const Labels& y, const Rows& rows, std::int64_t n_steps, int batch,
             double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
             std::uint64_t sample_seed) {
            const auto t = labelled(x, y);
            const auto r = row_list(rows);
            stochinfer::AdamConfig c{lr, beta1, beta2, eps, weight_decay, decoupled};
            std::atomic<bool> cancel{false};
            const auto st = stochinfer::python::run_interruptible(
                [&] { return md.train(t, r, n_steps, batch, c, sample_seed, &cancel); }, cancel);
            return py::make_tuple(st.steps_done, st.mean_loss);
          },
          py::arg("features"), py::arg("labels"), py::arg("rows"), py::arg("n_steps"), py::arg("batch"),
          py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
          py::arg("decoupled"), py::arg("sample_seed"), "Adam updates; returns (steps_done, mean minibatch loss).")
      .def(
          "train_sgd",
          [](Model& md, const py::array& x, const Labels& y, const Rows& rows, std::int64_t n_steps, int batch,
             double lr, double momentum, double dampening, double weight_decay, bool nesterov,
             std::uint64_t sample_seed) {
            const auto t = labelled(x, y);
            const auto r = row_list(rows);
            stochinfer::SgdConfig c{lr, momentum, dampening, weight_decay, nesterov};
            std::atomic<bool> cancel{false};
            const auto st = stochinfer::python::run_interruptible(
                [&] { return md.train(t, r, n_steps, batch, c, sample_seed, &cancel); }, cancel);
            return py::make_tuple(st.steps_done, st.mean_loss);
          },
          py::arg("features"), py::arg("labels"), py::arg("rows"), py::arg("n_steps"), py::arg("batch"),
          py::arg("lr"), py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"),
          py::arg("sample_seed"), "SGD (momentum) updates; returns (steps_done, mean minibatch loss).")
      .def(
          "loss_and_grad",
          [](Model& md, const py::array& x, const Labels& y, const Rows& rows) {
            const auto t = labelled(x, y);
            const auto r = row_list(rows);
            py::array_t<T> g(static_cast<py::ssize_t>(md.n_params()));
            T* gp = g.mutable_data();
            const double loss = with_model(md, [&] { return md.loss_and_grad(t, r, gp); });
            return py::make_tuple(loss, g);
          },
          py::arg("features"), py::arg("labels"), py::arg("rows"), "Mean loss over the rows and its gradient.")
      .def(
          "evaluate",
          [](Model& md, const py::array& x, const Labels& y, const Rows& rows) {
            const auto t = labelled(x, y);
            const auto r = row_list(rows);
            double loss = 0.0, acc = 0.0;
            std::atomic<bool> cancel{false};
            stochinfer::python::run_interruptible([&] { return md.evaluate(t, r, loss, acc, &cancel); }, cancel);
            return py::make_tuple(loss, acc);
          },
          py::arg("features"), py::arg("labels"), py::arg("rows"), "(mean loss, accuracy) over the rows.")
      .def(
          "logits",
          [](Model& md, const py::array& x, const Rows& rows) {
            const auto f = feature_table(x);
            const auto r = row_list(rows);
            py::array_t<double> out({static_cast<py::ssize_t>(r.size()), static_cast<py::ssize_t>(md.n_classes())});
            double* o = out.mutable_data();
            std::atomic<bool> cancel{false};
            stochinfer::python::run_interruptible([&] { return md.logits(f, r, o, &cancel); }, cancel);
            return out;
          },
          py::arg("features"), py::arg("rows"), "Logits (len(rows), n_classes) of the rows.");
  stochinfer::python::bind_optimizer_state<Model>(cls);
}

}  // namespace

void bind_classifier(py::module_& m) {
  bind_classifier_model<float>(m, "ClassifierModel32");
  bind_classifier_model<double>(m, "ClassifierModel64");
}
