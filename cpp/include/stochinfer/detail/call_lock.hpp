// SPDX-License-Identifier: MIT
// One call at a time per model. A model's methods share its thread pool,
// workspaces and cached posterior samples, so two threads calling one model at
// once would race (a Python user sharing a fitted model across threads crashed
// the interpreter). Every method that touches that state holds the model's
// call mutex; it is recursive so that a method may call another. Callers that
// keep raw pointers or references (params(), adam_m(), adam_step(), ...) hold
// call_mutex() themselves while they use them.
#pragma once
#include <mutex>

namespace stochinfer {

using CallMutex = std::recursive_mutex;
using CallLock = std::lock_guard<std::recursive_mutex>;

}  // namespace stochinfer
