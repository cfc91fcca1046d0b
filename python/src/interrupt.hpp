// SPDX-License-Identifier: MIT
// Runs a long C++ call without the GIL on a worker thread while this thread
// polls for Ctrl-C; on a signal the call is told to stop through `cancel` and
// the Python exception (KeyboardInterrupt) is raised once the worker has exited.
#pragma once
#include <pybind11/pybind11.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <utility>

namespace stochinfer::python {

template <class Fn>
auto run_interruptible(Fn&& fn, std::atomic<bool>& cancel) {
  namespace py = pybind11;
  using R = decltype(fn());
  std::future<R> result;
  bool interrupted = false;
  {
    py::gil_scoped_release release;
    result = std::async(std::launch::async, std::forward<Fn>(fn));
    while (result.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      py::gil_scoped_acquire acquire;
      if (PyErr_CheckSignals() != 0) {
        cancel = true;
        interrupted = true;
        break;
      }
    }
    if (interrupted) result.wait();
  }
  if (interrupted) {
    try {
      result.get();
    } catch (...) {
    }
    throw py::error_already_set();
  }
  return result.get();
}

}  // namespace stochinfer::python
