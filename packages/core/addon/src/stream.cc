#include "stream.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "thread_pool.h"

namespace birdvlm {
namespace {

class Stream {
 public:
  ~Stream() { stop(); }

  uint64_t launch(std::function<void()> kernel) {
    uint64_t seq;
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!thread_.joinable()) {
        pool();  // created here, on the launching thread, before the executor or a guest can ask for it
        thread_ = std::thread([this] { run(); });
      }
      queue_.push_back(std::move(kernel));
      seq = ++submitted_;
      wake = sleeping_;
    }
    if (wake) work_cv_.notify_one();
    return seq;
  }

  std::string synchronize() {
    const uint64_t target = submitted_.load();
    auto done = [&] { return completed_.load() >= target; };
    if (!done()) {
      // The waiting thread computes with the executor's pool jobs meanwhile (a pool of n threads has n - 2 workers).
      if (pool().size() > 1) pool().help_while([&] { return !done(); });
      else if (!spin_until(done)) {
        std::unique_lock<std::mutex> lock(mutex_);
        idle_cv_.wait(lock, done);
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    std::string error;
    error.swap(error_);
    return error;
  }

  uint64_t completed() const { return completed_.load(); }

  void stop() {
    synchronize();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    work_cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    stopping_ = false;
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> kernel;
      if (!spin_until([&] { return submitted_.load() > taken_ || stopping_.load(); })) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleeping_ = true;
        work_cv_.wait(lock, [&] { return submitted_.load() > taken_ || stopping_.load(); });
        sleeping_ = false;
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (queue_.empty()) {
          if (stopping_) return;
          continue;
        }
        kernel = std::move(queue_.front());
        queue_.pop_front();
        taken_++;
      }
      try {
        kernel();
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (error_.empty()) error_ = e.what();
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (error_.empty()) error_ = "a kernel threw";
      }
      kernel = nullptr;  // frees what the kernel captured before it counts as done
      {
        // Under the lock, so that a waiter between its check and its sleep cannot miss the notification.
        std::lock_guard<std::mutex> lock(mutex_);
        completed_.fetch_add(1);
      }
      idle_cv_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable work_cv_, idle_cv_;
  std::deque<std::function<void()>> queue_;
  std::thread thread_;
  std::atomic<uint64_t> submitted_{0}, completed_{0};
  uint64_t taken_ = 0;  // read by the executor only (the polls read it without the lock)
  bool sleeping_ = false;
  std::atomic<bool> stopping_{false};
  std::string error_;
};

Stream& stream() {
  static Stream* s = new Stream();  // never destroyed: shutdown_stream stops its thread
  return *s;
}

std::atomic<bool>& enabled() {
  static std::atomic<bool> on{[] {
    const char* env = std::getenv("BIRDVLM_ASYNC");
    return !(env && env[0] == '0');
  }()};
  return on;
}

}  // namespace

uint64_t launch(std::function<void()> kernel) { return stream().launch(std::move(kernel)); }

std::string synchronize() { return stream().synchronize(); }

uint64_t launches_completed() { return stream().completed(); }

bool async_launches() { return enabled().load(); }

void set_async(bool on) {
  synchronize();
  enabled().store(on);
}

void shutdown_stream() { stream().stop(); }

}  // namespace birdvlm
