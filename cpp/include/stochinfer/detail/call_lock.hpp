// SPDX-License-Identifier: MIT
// One call at a time per model. A model's methods share its thread pool,
// workspaces and cached posterior samples, so two threads calling one model at
// once would race (a Python user sharing a fitted model across threads got wrong
// fields or a crash). Every method that touches that state holds the model's
// call mutex; it is recursive so that a method may call another. Callers that
// keep raw pointers or references (params(), adam_m(), adam_step(), ...) hold
// call_mutex() themselves while they use them, and hold at most one model's
// mutex when they call another model (an InferredLangevin takes its own mutex,
// then each network's in turn: holding a network's while calling it inverts that).
#pragma once
#include <atomic>
#include <chrono>
#include <mutex>

namespace stochinfer {

using CallMutex = std::recursive_timed_mutex;
using CallLock = std::lock_guard<CallMutex>;

/// Locks m for a method that takes a cancel flag: while another call holds it the
/// wait checks the flag, so Ctrl-C is not lost behind another thread's long call.
/// The lock is not owned when the flag was set first.
inline std::unique_lock<CallMutex> lock_unless_cancelled(CallMutex& m, const std::atomic<bool>* cancel) {
  std::unique_lock<CallMutex> lock(m, std::defer_lock);
  if (!cancel) {
    lock.lock();
    return lock;
  }
  while (!lock.try_lock_for(std::chrono::milliseconds(20)))
    if (cancel->load(std::memory_order_relaxed)) break;
  return lock;
}

}  // namespace stochinfer
