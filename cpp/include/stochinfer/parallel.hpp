// SPDX-License-Identifier: MIT
#pragma once
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace stochinfer {

/// A fixed set of worker threads reused across calls (training runs thousands
/// of short parallel sections; spawning threads for each would cost more than
/// the work at small widths). The calling thread is worker 0.
class ThreadPool {
 public:
  /// n_threads <= 0 means std::thread::hardware_concurrency(). Throws
  /// std::system_error when the system cannot start that many threads.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  /// Runs fn(task, worker) for every task in [0, n_tasks), worker in [0, size()).
  /// Which worker runs which task varies; callers make results independent of it.
  /// An exception thrown by a task stops the remaining tasks and is rethrown here.
  void parallel_for(int n_tasks, const std::function<void(int, int)>& fn);

 private:
  void worker_loop(int worker);
  void run_tasks(int worker);
  void stop_and_join();

  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  const std::function<void(int, int)>* fn_ = nullptr;
  int n_tasks_ = 0, next_task_ = 0, busy_ = 0;
  unsigned long generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;  ///< first exception a task threw; rethrown by parallel_for
};

}  // namespace stochinfer
