// SPDX-License-Identifier: MIT
// Runs a long C++ call without the GIL on a worker thread while this thread
// polls for Ctrl-C; on a signal the call is told to stop through `cancel` and
// the Python exception (KeyboardInterrupt) is raised once the worker has exited.
#pragma once
#include <pybind11/pybind11.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace stochinfer::python {

// A condition variable, not std::future::wait_for: under CPU oversubscription
// the latter was seen spinning in futex calls at 100% of a core.
template <class Fn>
auto run_interruptible(Fn&& fn, std::atomic<bool>& cancel) {
  namespace py = pybind11;
  using R = decltype(fn());
  constexpr bool is_void = std::is_void_v<R>;
  using Stored = std::conditional_t<is_void, bool, R>;
  std::optional<Stored> value;
  std::exception_ptr error;
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false, interrupted = false;
  {
    py::gil_scoped_release release;
    std::thread worker([&] {
      try {
        if constexpr (is_void) {
          fn();
          value.emplace(true);
        } else {
          value.emplace(fn());
        }
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
      cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(mutex);
    while (!cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) {
      lock.unlock();
      {
        py::gil_scoped_acquire acquire;
        if (!interrupted && PyErr_CheckSignals() != 0) {
          cancel = true;
          interrupted = true;
        }
      }
      lock.lock();
    }
    lock.unlock();
    worker.join();
  }
  if (interrupted) throw py::error_already_set();
  if (error) std::rethrow_exception(error);
  if constexpr (!is_void) return std::move(*value);
}

}  // namespace stochinfer::python
