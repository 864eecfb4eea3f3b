// DiskWorker: the node's disk thread. It performs the log and hard-state
// writes the core asks for, in order, with group commit: it takes every
// request queued since its last round, writes them all, then syncs once.
//
// Each round reports twice to the event loop (via the callbacks, which
// post onto it): first when the hard state is durable (messages held
// behind it may then leave, ready.hpp rule 1), then when the log writes are
// durable (Raft::persisted). The commit index hint is stored lazily, at
// most once per second and at stop.
//
// Thread safety: submit() and the queries may be called from any thread;
// the stores are used only by the disk thread once it runs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "runtime/clock.hpp"
#include "runtime/latency_histogram.hpp"
#include "storage/log_store.hpp"
#include "storage/stable_store.hpp"
#include "util/log.hpp"
#include "util/types.hpp"

namespace raft::runtime {

struct DiskRequest {
  uint64_t seq = 0;  // assigned by submit(), increasing
  // A snapshot was installed: the log restarts after `index` (or, with
  // keep_log, only loses what the snapshot covers). Done before the
  // request's other log writes.
  struct Install {
    Index index;
    bool keep_log = false;
  };
  std::optional<Install> install;
  std::optional<HardState> hard_state;
  std::optional<Index> truncate_from;
  std::vector<Entry> entries;
  std::optional<Index> commit_hint;
  // Entries up to here may go (a snapshot covers them). Done last.
  std::optional<Index> compact_to;
};

struct DiskCallbacks {
  // The hard state of every request up to `seq` is durable.
  std::function<void(uint64_t seq)> hard_state_durable;
  // Every log write of the requests up to `seq` is durable; (index, term)
  // is the last entry they appended.
  std::function<void(uint64_t seq, Index index, Term term)> log_durable;
  // A write failed: the store is in an unknown state; the node must stop.
  std::function<void(Status)> failed;
};

class DiskWorker {
 public:
  DiskWorker(storage::LogStore* log, storage::StableStore* stable, const Clock* clock,
             DiskCallbacks callbacks, Logger logger);
  ~DiskWorker();

  void start();
  // Queues a request; returns its sequence number.
  uint64_t submit(DiskRequest r);
  // Finishes the queued requests, writes the last commit hint, joins.
  void stop();

  // The time the oldest unfinished request was submitted, or nullopt when
  // the disk is idle (gray-failure detection).
  std::optional<core::Nanos> oldest_outstanding() const;
  uint64_t rounds() const { return rounds_.load(std::memory_order_relaxed); }
  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }
  // A log round (writes + the sync) and the sync alone.
  Histogram append_latency() const { return append_latency_.snapshot(); }
  Histogram fsync_latency() const { return fsync_latency_.snapshot(); }
  // Cumulative nanoseconds spent in LogStore::sync().
  uint64_t sync_nanos() const { return sync_nanos_.load(std::memory_order_relaxed); }

 private:
  void run();
  bool process(std::vector<DiskRequest>& batch);
  void write_commit_hint(bool force);

  storage::LogStore* log_;
  storage::StableStore* stable_;
  const Clock* clock_;
  DiskCallbacks cb_;
  Logger logger_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<core::Nanos, DiskRequest>> queue_;
  std::optional<core::Nanos> busy_since_;  // submit time of the batch being written
  bool stopping_ = false;
  bool failed_ = false;
  uint64_t next_seq_ = 1;
  std::thread thread_;

  // Disk thread only.
  // Entries of consecutive requests, appended together; empty between
  // rounds (kept for its capacity).
  std::vector<Entry> run_;
  Index hint_pending_;
  Index hint_written_;
  core::Nanos hint_written_at_{0};

  std::atomic<uint64_t> rounds_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> sync_nanos_{0};
  LatencyHistogram append_latency_;
  LatencyHistogram fsync_latency_;
};

}  // namespace raft::runtime
