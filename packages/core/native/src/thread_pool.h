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
  void run(int tasks, const std::function<void(int)>& fn);

 private:
  void work();
  void drain();
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* fn_ = nullptr;
  int tasks_ = 0;
  std::atomic<int> next_{0};
  std::atomic<int> busy_{0};
  std::atomic<uint64_t> generation_{0};
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
