// SPDX-License-Identifier: MIT
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <string>

#include "bind_state_array.hpp"
#include "bind_training_methods.hpp"
#include "interrupt.hpp"
#include "lock_model.hpp"
#include "stochinfer/cneep.hpp"

namespace py = pybind11;
using stochinfer::python::with_model;
using stochinfer::python::movie_array;
using stochinfer::python::segments;

namespace {

/// Movie frames of exactly the network's height and width (the read-out is position-specific).
template <class Model>
stochinfer::StateArray frames_for(Model& md, const py::array& a) {
  const stochinfer::StateArray s = movie_array(a);
  if (a.shape(2) != md.spec().height || a.shape(3) != md.spec().width)
    throw py::value_error("movies have " + std::to_string(a.shape(2)) + " x " + std::to_string(a.shape(3)) +
                          " frames; this network reads " + std::to_string(md.spec().height) + " x " +
                          std::to_string(md.spec().width));
  return s;
}

template <class T>
void bind_cneep_model(py::module_& m, const char* name) {
  using Model = stochinfer::CneepModel<T>;
  using Arr = py::array_t<T, py::array::c_style | py::array::forcecast>;
  py::class_<Model> cls(m, name, "CNEEP convolutional network h(frames) with Adam state (see stochinfer.CNEEP).");
  cls.def(py::init([](int seq_len, int height, int width, int n_layer, int n_channel, std::uint64_t seed,
                      int n_threads) {
            stochinfer::CnnSpec s;
            s.seq_len = seq_len;
            s.height = height;
            s.width = width;
            s.n_layer = n_layer;
            s.n_channel = n_channel;
            try {
              s.validate();
            } catch (const std::invalid_argument& e) {
              throw py::value_error(e.what());
            }
            return Model(s, seed, n_threads);
          }),
          py::arg("seq_len"), py::arg("height"), py::arg("width"), py::arg("n_layer"), py::arg("n_channel"),
          py::arg("seed"), py::arg("n_threads") = 0)
      .def_property_readonly("map_shape", [](Model& md) { return py::make_tuple(md.map_height(), md.map_width()); })
      .def(
          "set_pixel_transform",
          [](Model& md, double shift, double scale) { with_model(md, [&] { md.set_pixel_transform(shift, scale); }); },
          py::arg("shift"), py::arg("scale"))
      .def(
          "delta_s",
          [](Model& md, const py::array& movies, const py::array_t<std::int64_t>& seg) {
            const auto s = frames_for(md, movies);
            const auto sg = segments(seg);
            const std::int64_t stride = md.spec().seq_len - 1;
            py::array_t<double> out(md.n_delta_s(s, sg, stride));
            double* o = out.mutable_data();
            std::atomic<bool> cancel{false};
            stochinfer::python::run_interruptible([&] { return md.delta_s(s, sg, stride, o, nullptr, &cancel); },
                                                  cancel);
            return out;
          },
          py::arg("movies"), py::arg("segments"),
          "ΔS of every read-out window (stride seq_len − 1: consecutive windows share end frames), in order.")
      .def(
          "dissipation_map",
          [](Model& md, const py::array& movies, const py::array_t<std::int64_t>& seg) {
            const auto s = frames_for(md, movies);
            const auto sg = segments(seg);
            const std::int64_t stride = md.spec().seq_len - 1;
            const std::int64_t n = md.n_delta_s(s, sg, stride);
            py::array_t<double> out(n);
            py::array_t<double> map({py::ssize_t(n), py::ssize_t(md.map_height()), py::ssize_t(md.map_width())});
            double* o = out.mutable_data();
            double* mp = map.mutable_data();
            std::atomic<bool> cancel{false};
            stochinfer::python::run_interruptible([&] { return md.delta_s(s, sg, stride, o, mp, &cancel); }, cancel);
            return py::make_tuple(out, map);
          },
          py::arg("movies"), py::arg("segments"),
          "(ΔS of every read-out window, its dissipation map (n, map_height, map_width)); each map sums to its ΔS.")
      .def(
          "forward_rows",
          [](Model& md, const Arr& x) {
            const auto& sp = md.spec();
            if (x.ndim() != 4 || x.shape(1) != sp.seq_len || x.shape(2) != sp.height || x.shape(3) != sp.width)
              throw py::value_error("x must have shape (n, " + std::to_string(sp.seq_len) + ", " +
                                    std::to_string(sp.height) + ", " + std::to_string(sp.width) + ")");
            py::array_t<T> out(x.shape(0));
            T* o = out.mutable_data();
            with_model(md, [&] { md.forward_rows(x.data(), x.shape(0), o); });
            return out;
          },
          py::arg("x"), "Network output h for explicit inputs (n, seq_len, height, width), no pixel transform.");
  stochinfer::python::bind_training_methods<Model, frames_for<Model>>(cls);
}

}  // namespace

void bind_cneep(py::module_& m) {
  bind_cneep_model<float>(m, "CneepModel32");
  bind_cneep_model<double>(m, "CneepModel64");
}
