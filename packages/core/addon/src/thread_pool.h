// A persistent pool of worker threads. `run(tasks, fn)` calls fn(i) for every i in [0, tasks) on the
// workers, the calling thread and any guest, and returns when all are done. Sized to the cores, or
// BIRDVLM_THREADS. The caller is the launch queue's executor (stream.h); the JavaScript thread, while it waits
// for the queue, is the guest (`help_while`), so a pool of n threads keeps n - 2 workers of its own.
#pragma once
#include <immintrin.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace birdvlm {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  /** Threads that compute: the caller, the workers and the guest. */
  int size() const { return threads_; }
  /**
   * Runs fn(i) for i in [0, tasks) on the calling thread and whichever workers (or guest) join in time, and
   * returns when every task is done. A worker that is not running yet (a busy machine) is not waited for: its
   * share goes to the threads that are. One caller at a time (the executor); a call from inside a task runs inline.
   */
  void run(int tasks, const std::function<void(int)>& fn);
  /**
   * Takes tasks of the caller's jobs, as a worker does, while `busy()` holds: the JavaScript thread waiting for
   * the launch queue lends its core so (it has nothing else to do). No-op polling on a pool of one thread.
   */
  void help_while(const std::function<bool()>& busy);

 private:
  void work();
  /** Claims and runs tasks of job `generation` until none is left (or a newer job started). */
  void drain(uint32_t generation);
  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_cv_;
  // The current job: its generation in the high 32 bits of ticket_, the next unclaimed task in the low ones.
  std::atomic<uint64_t> ticket_{0};
  std::atomic<const std::function<void(int)>*> fn_{nullptr};
  std::atomic<int> tasks_{0};
  std::atomic<int> done_{0};
  std::atomic<uint32_t> generation_{0};
  std::atomic<bool> stop_{false};
};

/**
 * How long a thread polls for the next piece of work (or for its helpers to finish) before it sleeps: kernels
 * come a few microseconds apart in a training step, and a sleeping thread takes tens of microseconds to wake (much
 * longer on a busy machine). Env BIRDVLM_SPIN_US, default 200.
 */
int64_t spin_ns();

/**
 * Polls `done` for up to `spin_ns()`, pausing, and yielding the core now and then (the JavaScript thread may be
 * waiting for it: stream.h); returns done().
 */
template <class Done>
bool spin_until(Done done) {
  const int64_t limit = spin_ns();
  if (limit == 0) return done();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0;; i++) {
    if (done()) return true;
    _mm_pause();
    if ((i & 63) == 63) {
      sched_yield();
      if (std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count() > limit)
        return done();
    }
  }
}

/** The process-wide pool (created on first use). */
ThreadPool& pool();
/** Replaces the pool with one of `threads` threads. */
void set_threads(int threads);
/** Stops the workers (at environment teardown). */
void shutdown_pool();

/** Runs fn(begin, end) over [0, n) split into chunks for the pool when n is at least `grain`. */
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace birdvlm
