// SPDX-License-Identifier: MIT
// Binding code reaches a model (cpp/include/stochinfer/detail/call_lock.hpp) in
// one of two ways, so that no thread ever holds a model's mutex and the GIL at
// once (holding both lets Python code run under the mutex - a finalizer, the
// garbage collector - and call the same model from a thread that waits for it):
//  - run_interruptible (interrupt.hpp): the method locks the mutex on a worker
//    thread without the GIL, giving up when Ctrl-C sets its cancel flag;
//  - with_model(md, fn): fn runs without the GIL under the mutex, after a wait that
//    polls Ctrl-C. fn touches C++ values and raw buffers only: Python objects are
//    built before (output arrays) or after (results) the call.
#pragma once
#include <pybind11/pybind11.h>

#include <chrono>
#include <mutex>

#include "stochinfer/detail/call_lock.hpp"

namespace stochinfer::python {

template <class Model, class Fn>
auto with_model(const Model& md, Fn&& fn) -> decltype(fn()) {
  namespace py = pybind11;
  {
    py::gil_scoped_release release;
    std::unique_lock<stochinfer::CallMutex> lock(md.call_mutex(), std::defer_lock);
    bool interrupted = false;
    while (!lock.try_lock_for(std::chrono::milliseconds(50))) {
      py::gil_scoped_acquire acquire;  // the mutex is not held here
      if (PyErr_CheckSignals() != 0) {
        interrupted = true;
        break;
      }
    }
    if (!interrupted) return fn();  // the mutex is released before the GIL is taken back
  }
  throw py::error_already_set();
}

}  // namespace stochinfer::python
