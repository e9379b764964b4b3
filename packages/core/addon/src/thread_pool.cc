#include "thread_pool.h"

#include <immintrin.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>

namespace birdvlm {

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  // The caller (the executor) and the guest (the JavaScript thread, while it waits) are two of the threads.
  for (int i = 2; i < threads_; i++) workers_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

int64_t spin_ns() {
  static const int64_t ns = [] {
    const char* env = std::getenv("BIRDVLM_SPIN_US");
    int64_t us = env ? std::atoll(env) : 200;
    return (us < 0 ? 0 : us) * 1000;
  }();
  return ns;
}

namespace {
thread_local bool in_task = false;
}  // namespace

// All atomics here are sequentially consistent: the argument that a stale ticket can never claim a task of a
// newer job (below) relies on one total order.
void ThreadPool::drain(uint32_t generation) {
  for (;;) {
    uint64_t t = ticket_.load();
    if (static_cast<uint32_t>(t >> 32) != generation) return;
    const uint32_t i = static_cast<uint32_t>(t & 0xffffffffu);
    const int n = tasks_.load();
    const std::function<void(int)>* fn = fn_.load();
    if (i >= static_cast<uint32_t>(n)) return;
    // A successful claim means the ticket still held this job's generation, so n and fn (read after the
    // ticket, and before `run` closes the old ticket and publishes a new job) are this job's, and the job
    // cannot finish before this task does.
    if (!ticket_.compare_exchange_weak(t, t + 1)) continue;
    in_task = true;
    (*fn)(static_cast<int>(i));
    in_task = false;
    if (done_.fetch_add(1) + 1 == n) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::work() {
  uint32_t seen = 0;
  for (;;) {
    if (!spin_until([&] { return stop_.load() || generation_.load() != seen; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!wake_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stop_.load() || generation_.load() != seen; })) {
      }
    }
    if (stop_) return;
    seen = generation_.load();
    drain(seen);
  }
}

void ThreadPool::run(int tasks, const std::function<void(int)>& fn) {
  if (tasks <= 0) return;
  if (threads_ == 1 || tasks == 1 || in_task) {
    for (int i = 0; i < tasks; i++) fn(i);
    return;
  }
  const uint32_t generation = generation_.load() + 1;
  // Close the previous job's ticket first: a worker holding its exhausted ticket must not be able to claim a
  // task of this job (it would read this job's task count and function, then succeed on the old ticket).
  ticket_.store((static_cast<uint64_t>(generation) << 32) | 0xffffffffu);
  fn_.store(&fn);
  tasks_.store(tasks);
  done_.store(0);
  ticket_.store(static_cast<uint64_t>(generation) << 32);
  if (workers_.empty()) {
    generation_.store(generation);  // only a guest may be looking: it polls
  } else {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.store(generation);
    }
    wake_.notify_all();
  }
  drain(generation);
  auto finished = [&] { return done_.load() >= tasks; };
  if (!spin_until(finished)) {
    // Timed waits, re-checked: a missed notification can only cost a millisecond, never a hang.
    std::unique_lock<std::mutex> lock(mutex_);
    while (!done_cv_.wait_for(lock, std::chrono::milliseconds(1), finished)) {
    }
  }
}

void ThreadPool::help_while(const std::function<bool()>& busy) {
  for (int i = 0; busy(); i++) {
    if (threads_ > 1) drain(generation_.load());
    _mm_pause();
    if ((i & 63) == 63) sched_yield();
  }
}

static std::unique_ptr<ThreadPool> g_pool;

static int default_threads() {
  if (const char* env = std::getenv("BIRDVLM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

ThreadPool& pool() {
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(default_threads());
  return *g_pool;
}

void set_threads(int threads) { g_pool = std::make_unique<ThreadPool>(threads > 0 ? threads : default_threads()); }

void shutdown_pool() { g_pool.reset(); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  int threads = pool().size();
  if (n < grain * 2 || threads == 1) {
    fn(0, n);
    return;
  }
  // Several chunks per thread: on a busy machine a thread that is descheduled holds up only a small share.
  int64_t chunks = std::min<int64_t>(threads * 4, n / grain);
  int64_t step = (n + chunks - 1) / chunks;
  pool().run(static_cast<int>(chunks), [&](int c) {
    int64_t b = c * step, e = std::min(n, b + step);
    if (b < e) fn(b, e);
  });
}

}  // namespace birdvlm
