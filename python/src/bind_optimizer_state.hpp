// SPDX-License-Identifier: MIT
// Parameters and Adam state of a trained network, shared by the NEEP and Langevin
// bindings: what a checkpoint (and a reset to it) copies in and out, under the
// model's mutex (lock_model.hpp).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "lock_model.hpp"

namespace stochinfer::python {

template <class T>
void check_length(std::size_t n, const pybind11::array_t<T, pybind11::array::c_style | pybind11::array::forcecast>& a,
                  const char* name) {
  if (a.ndim() != 1 || static_cast<std::size_t>(a.shape(0)) != n)
    throw pybind11::value_error(std::string(name) + " must be a 1-D array of length " + std::to_string(n));
}

/// get_params/set_params, get_adam_state/set_adam_state ((m, v, step)) and the
/// batch_draws counter, which keys the next minibatch and is not part of the
/// optimiser state: a reset to a checkpoint draws fresh minibatches.
template <class Model, class Cls>
void bind_optimizer_state(Cls& cls) {
  using T = std::remove_pointer_t<decltype(std::declval<Model&>().params())>;
  using Arr = pybind11::array_t<T, pybind11::array::c_style | pybind11::array::forcecast>;
  cls.def("get_params",
          [](Model& md) {
            Arr out(static_cast<pybind11::ssize_t>(md.n_params()));
            T* o = out.mutable_data();
            with_model(md, [&] { std::copy_n(std::as_const(md).params(), md.n_params(), o); });
            return out;
          })
      .def("set_params",
           [](Model& md, const Arr& a) {
             check_length(md.n_params(), a, "params");
             with_model(md, [&] { std::copy_n(a.data(), md.n_params(), md.params()); });
           })
      .def("get_adam_state",
           [](Model& md) {
             const auto n = static_cast<pybind11::ssize_t>(md.n_params());
             Arr m(n), v(n);
             T *mo = m.mutable_data(), *vo = v.mutable_data();
             const std::int64_t step = with_model(md, [&] {
               std::copy_n(md.adam_m(), n, mo);
               std::copy_n(md.adam_v(), n, vo);
               return md.adam_step();
             });
             return pybind11::make_tuple(m, v, step);
           })
      .def("set_adam_state",
           [](Model& md, const Arr& am, const Arr& av, std::int64_t step) {
             if (step < 0) throw pybind11::value_error("step must be >= 0");
             check_length(md.n_params(), am, "adam_m");  // all checked before anything is written
             check_length(md.n_params(), av, "adam_v");
             with_model(md, [&] {
               std::copy_n(am.data(), md.n_params(), md.adam_m());
               std::copy_n(av.data(), md.n_params(), md.adam_v());
               md.adam_step() = step;
             });
           })
      .def_property_readonly("batch_draws", [](Model& md) { return with_model(md, [&] { return md.batch_draws(); }); },
                             "Minibatches drawn so far (the key of the next one).");
}

}  // namespace stochinfer::python
