// SPDX-License-Identifier: MIT
// host_threads::run_on_threads: a thread that fails to start is left out (the
// started ones and the caller do the work) instead of std::terminate.
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "check.hpp"
#include "stochinfer/detail/run_on_threads.hpp"

using stochinfer::host_threads::run_on_threads;

namespace {
// A worker whose copies after the first `ok` throw std::system_error, as std::thread's
// constructor does when the process may not start another thread.
struct FlakyWorker {
  std::atomic<std::int64_t>* next;
  std::vector<int>* done;
  std::atomic<int>* copies;
  int ok;
  FlakyWorker(std::atomic<std::int64_t>* n, std::vector<int>* d, std::atomic<int>* c, int k)
      : next(n), done(d), copies(c), ok(k) {}
  FlakyWorker(const FlakyWorker& o) : next(o.next), done(o.done), copies(o.copies), ok(o.ok) {
    if (copies->fetch_add(1) >= ok) throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again));
  }
  void operator()() const {
    for (std::int64_t i; (i = next->fetch_add(1)) < static_cast<std::int64_t>(done->size());) (*done)[i] += 1;
  }
};
}  // namespace

int main() {
  for (int ok : {0, 1, 3, 100}) {  // threads that may start besides the caller's
    std::atomic<std::int64_t> next{0};
    std::atomic<int> copies{0};
    std::vector<int> done(10000, 0);
    FlakyWorker w(&next, &done, &copies, ok);
    run_on_threads(8, w);
    bool each_once = true;
    for (int v : done) each_once = each_once && v == 1;
    CHECK(each_once);  // every item done exactly once, however many threads started
  }
  // an exception in the caller's share propagates after the started threads are joined
  // (workers on other threads must catch their own, as the library's do)
  const auto caller = std::this_thread::get_id();
  std::atomic<int> ran{0};
  auto throwing = [&]() {
    ran.fetch_add(1);
    if (std::this_thread::get_id() == caller) throw std::runtime_error("caller");
  };
  bool caught = false;
  try {
    run_on_threads(4, throwing);
  } catch (const std::runtime_error&) {
    caught = true;
  }
  CHECK(caught && ran.load() == 4);
  return stochinfer_test::report();
}
