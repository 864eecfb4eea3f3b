// TaskThread: one thread running queued closures in order. The runtime
// uses one for snapshot I/O (persisting, and streaming snapshots to and
// from peers), so that neither the event loop nor the apply thread ever
// waits on it.
//
// Thread safety: post() from any thread; the closures run on the task
// thread, one at a time. stop() runs what is queued, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "util/thread_name.hpp"

namespace raft::runtime {

class TaskThread {
 public:
  TaskThread() = default;
  ~TaskThread() { stop(); }

  // `name` names the thread (util/thread_name.hpp).
  void start(std::string name) {
    thread_ = std::thread([this, name = std::move(name)] {
      util::set_thread_name(name);
      run();
    });
  }
  // Returns false once stopping (the closure is not run).
  bool post(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    queue_.push_back(std::move(fn));
    cv_.notify_one();
    return true;
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }
  size_t queued() {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace raft::runtime
