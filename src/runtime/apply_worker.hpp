// ApplyWorker: the node's apply thread. It calls the FSM for committed
// entries, in log order, one at a time, and resolves the futures waiting
// on them; it also resolves linearizable reads once the FSM has caught up
// with their read index, and runs observer callbacks in order with the
// entries (so an observer sees leadership changes where they happened).
//
// Thread safety: the enqueue methods may be called from any thread (the
// event loop in practice); everything else happens on the apply thread.
#pragma once

#include <any>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "raft/raft.hpp"
#include "util/log.hpp"
#include "util/types.hpp"

namespace raft::runtime {

// A committed entry and, when this node proposed it and still waits for
// it, the promise to resolve with the FSM's result.
struct ApplyItem {
  Entry entry;
  std::optional<detail::Promise<std::any>> command_promise;
  std::optional<detail::Promise<void>> barrier_promise;
};

class ApplyWorker {
 public:
  // What the state machine reflects: the last entry applied and the
  // configuration as of it.
  struct AppliedMeta {
    Index index;
    Term term;
    Configuration configuration;
    Index configuration_index;
  };

  // `released` is called after each applied command that counted toward
  // backpressure, with its payload size.
  ApplyWorker(std::shared_ptr<Fsm> fsm, Logger logger, std::function<void(size_t bytes)> released);
  ~ApplyWorker();

  void start(const AppliedMeta& applied);
  void enqueue(std::vector<ApplyItem> items);
  // Resolves `p` with the index once applied >= index.
  void wait_applied(Index index, detail::Promise<uint64_t> p);
  void run_in_order(std::function<void()> fn);
  // Stops after the current item; everything still queued is failed with
  // kShutdown.
  void stop();

  Index applied() const { return Index(applied_.load(std::memory_order_acquire)); }

  // What the state machine reflects (for a snapshot of it). Apply thread
  // only: call from a run_in_order closure.
  const AppliedMeta& applied_meta() const { return meta_; }
  // The state machine now reflects `m` (after a restore). Apply thread only.
  void reset_to(const AppliedMeta& m);
  Fsm& fsm() { return *fsm_; }
  size_t queued() const { return queued_.load(std::memory_order_relaxed); }
  // Entries applied since start, and of them commands.
  uint64_t entries_applied() const { return entries_applied_.load(std::memory_order_relaxed); }
  uint64_t commands_applied() const { return commands_applied_.load(std::memory_order_relaxed); }
  // Bytes of the entries applied since start, each counted as its payload
  // plus kEntryOverheadBytes (Config::snapshot_log_bytes).
  static constexpr uint64_t kEntryOverheadBytes = 64;
  uint64_t bytes_applied() const { return bytes_applied_.load(std::memory_order_relaxed); }

 private:
  struct ReadWait {
    Index index;
    detail::Promise<uint64_t> promise;
  };
  using Work = std::variant<std::vector<ApplyItem>, ReadWait, std::function<void()>>;

  void run();
  void apply_one(ApplyItem& item);
  void resolve_reads();

  std::shared_ptr<Fsm> fsm_;
  Logger logger_;
  std::function<void(size_t)> released_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Work> queue_;
  bool stopping_ = false;
  std::thread thread_;

  std::atomic<uint64_t> applied_{0};
  AppliedMeta meta_;  // apply thread only (set before start)
  std::atomic<size_t> queued_{0};
  // Written by the apply thread only, read by metrics(): a plain load
  // and store, not a locked read-modify-write per entry.
  static void count(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::atomic<uint64_t> entries_applied_{0};
  std::atomic<uint64_t> commands_applied_{0};
  std::atomic<uint64_t> bytes_applied_{0};
  // Apply thread only: reads waiting for the FSM, by read index.
  std::multimap<Index, detail::Promise<uint64_t>> reads_;
};

}  // namespace raft::runtime
