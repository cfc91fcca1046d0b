// SPDX-License-Identifier: MIT
// A model's call mutex (cpp/include/stochinfer/detail/call_lock.hpp), taken from
// Python. Rule that keeps the GIL and the model mutexes free of deadlock: no
// thread waits for a model mutex while it holds the GIL. Binding code that runs
// model methods with the GIL held takes the mutex through lock_model first
// (which waits without the GIL); calls that release the GIL (run_interruptible,
// gil_scoped_release, py::call_guard) let the method lock it itself.
#pragma once
#include <pybind11/pybind11.h>

#include <mutex>

#include "stochinfer/detail/call_lock.hpp"

namespace stochinfer::python {

template <class Model>
std::unique_lock<stochinfer::CallMutex> lock_model(const Model& md) {
  pybind11::gil_scoped_release release;
  return std::unique_lock<stochinfer::CallMutex>(md.call_mutex());
}

/// For methods bound directly: the GIL is released for the call (its arguments
/// are converted before, its result after).
using without_gil = pybind11::call_guard<pybind11::gil_scoped_release>;

}  // namespace stochinfer::python
