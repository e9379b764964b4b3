// A persistent pool of worker threads. `run(tasks, fn)` calls fn(i) for every i in [0, tasks) on the
// workers and the calling thread, and returns when all are done. Sized to the cores, or BIRDVLM_THREADS.
#pragma once
#include <atomic>
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
  /** Threads that compute, the caller included. */
  int size() const { return static_cast<int>(workers_.size()) + 1; }
  /**
   * Runs fn(i) for i in [0, tasks) on the calling thread and whichever workers join in time, and returns when
   * every task is done. A worker that is not running yet (a busy machine) is not waited for: its share goes to
   * the threads that are. One caller at a time (the JavaScript thread); a call from inside a task runs inline.
   */
  void run(int tasks, const std::function<void(int)>& fn);

 private:
  void work();
  /** Claims and runs tasks of job `generation` until none is left (or a newer job started). */
  void drain(uint32_t generation);
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

/** The process-wide pool (created on first use). */
ThreadPool& pool();
/** Replaces the pool with one of `threads` threads. */
void set_threads(int threads);
/** Stops the workers (at environment teardown). */
void shutdown_pool();

/** Runs fn(begin, end) over [0, n) split into chunks for the pool when n is at least `grain`. */
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace birdvlm
