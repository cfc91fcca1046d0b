// SPDX-License-Identifier: MIT
#include "stochinfer/parallel.hpp"

#include <algorithm>

namespace stochinfer {

ThreadPool::ThreadPool(int n_threads) {
  n_threads_ = n_threads > 0 ? n_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  try {
    for (int w = 1; w < n_threads_; ++w) workers_.emplace_back([this, w] { worker_loop(w); });
  } catch (...) {
    // The destructor does not run for a half-built pool: without this the members
    // are destroyed while started workers still wait on start_ (a deadlock).
    stop_and_join();
    throw;
  }
}

ThreadPool::~ThreadPool() { stop_and_join(); }

void ThreadPool::stop_and_join() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_tasks(int worker) {
  for (;;) {
    int task;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (next_task_ >= n_tasks_) return;
      task = next_task_++;
    }
    try {
      (*fn_)(task, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      next_task_ = n_tasks_;
    }
  }
}

void ThreadPool::worker_loop(int worker) {
  unsigned long seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    run_tasks(worker);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) done_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(int n_tasks, const std::function<void(int, int)>& fn) {
  if (n_threads_ == 1 || n_tasks <= 1) {
    for (int t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  error_ = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    n_tasks_ = n_tasks;
    next_task_ = 0;
    busy_ = n_threads_ - 1;
    ++generation_;
  }
  start_.notify_all();
  run_tasks(0);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return busy_ == 0; });
  fn_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

}  // namespace stochinfer
