// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace stochinfer {
namespace host_threads {

/// Runs `worker` on the calling thread and on up to n − 1 more, then joins them
/// (workers on the other threads must catch their own exceptions).
/// Callers share the work through a counter, so fewer threads give the same
/// result: a thread that fails to start (std::system_error, e.g. a process or
/// container thread limit) is left out, where a std::vector<std::thread> being
/// destroyed with joinable threads would call std::terminate.
template <class F>
void run_on_threads(int n, F& worker) {
  std::vector<std::thread> pool;
  pool.reserve(n > 1 ? static_cast<std::size_t>(n - 1) : 0);  // no reallocation while threads run
  for (int k = 1; k < n; ++k) {
    try {
      pool.emplace_back(worker);
    } catch (...) {  // std::system_error (thread limit) or std::bad_alloc (its stack)
      break;           // the started threads and this one do the rest
    }
  }
  try {
    worker();
  } catch (...) {
    for (auto& t : pool) t.join();
    throw;
  }
  for (auto& t : pool) t.join();
}

/// run_on_threads for workers that may throw on any thread: the first exception is
/// kept, `stop` is set so that the other workers finish early, and the exception is
/// rethrown here once every thread has joined.
template <class F>
void run_on_threads_rethrowing(int n, std::atomic<bool>& stop, F& worker) {
  std::mutex error_mutex;
  std::exception_ptr error;
  auto guarded = [&]() {
    try {
      worker();
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };
  run_on_threads(n, guarded);
  if (error) std::rethrow_exception(error);
}

}  // namespace host_threads
}  // namespace stochinfer
