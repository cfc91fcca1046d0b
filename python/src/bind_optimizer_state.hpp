// SPDX-License-Identifier: MIT
// Parameters and Adam state of a trained network, shared by the NEEP and Langevin
// bindings: what a checkpoint (and a reset to it) copies in and out.
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
pybind11::array_t<T> copy_out(const T* p, std::size_t n) {
  pybind11::array_t<T> a(static_cast<pybind11::ssize_t>(n));
  std::copy(p, p + n, a.mutable_data());
  return a;
}

template <class T>
void check_length(std::size_t n, const pybind11::array_t<T, pybind11::array::c_style | pybind11::array::forcecast>& a,
                  const char* name) {
  if (a.ndim() != 1 || static_cast<std::size_t>(a.shape(0)) != n)
    throw pybind11::value_error(std::string(name) + " must be a 1-D array of length " + std::to_string(n));
}

template <class T>
void copy_in(T* p, std::size_t n, const pybind11::array_t<T, pybind11::array::c_style | pybind11::array::forcecast>& a,
             const char* name) {
  check_length(n, a, name);
  std::copy(a.data(), a.data() + n, p);
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
            const auto lock = lock_model(md);
            return copy_out(std::as_const(md).params(), md.n_params());
          })
      .def("set_params",
           [](Model& md, const Arr& a) {
             const auto lock = lock_model(md);
             copy_in(md.params(), md.n_params(), a, "params");
           })
      .def("get_adam_state",
           [](Model& md) {
             const auto lock = lock_model(md);
             return pybind11::make_tuple(copy_out(md.adam_m(), md.n_params()),
                                         copy_out(md.adam_v(), md.n_params()), md.adam_step());
           })
      .def("set_adam_state",
           [](Model& md, const Arr& am, const Arr& av, std::int64_t step) {
             if (step < 0) throw pybind11::value_error("step must be >= 0");
             const auto lock = lock_model(md);
             check_length(md.n_params(), av, "adam_v");  // all checked before anything is written
             copy_in(md.adam_m(), md.n_params(), am, "adam_m");
             copy_in(md.adam_v(), md.n_params(), av, "adam_v");
             md.adam_step() = step;
           })
      .def_property_readonly("batch_draws", [](Model& md) {
                               const auto lock = lock_model(md);
                               return md.batch_draws();
                             },
                             "Minibatches drawn so far (the key of the next one).");
}

}  // namespace stochinfer::python
