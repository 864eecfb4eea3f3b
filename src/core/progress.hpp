// Progress: what a leader knows about one follower's log, and the flow
// control that bounds what it sends (in the manner of etcd's progress
// tracker).
//
//   kProbe      the leader does not know where the follower's log matches
//               its own; it sends one AppendEntries at a time and waits for
//               the answer (or the next heartbeat answer) before the next.
//   kReplicate  the logs match up to `match`; the leader streams entries
//               optimistically from `next`, up to a window of in-flight
//               messages and bytes (pipelining, thesis 10.2.2).
//   kSnapshot   the follower needs a snapshot (the snapshot issue).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "core/config.hpp"
#include "core/ready.hpp"
#include "util/types.hpp"

namespace raft::core {

// The AppendEntries messages sent but not yet acknowledged, oldest first.
class Inflights {
 public:
  Inflights(size_t count_max, size_t bytes_max) : count_max_(count_max), bytes_max_(bytes_max) {}

  void add(Index last, size_t bytes) {
    items_.push_back({last, bytes});
    bytes_ += bytes;
  }
  // Frees every message whose last entry is at or below `acked`.
  void free_to(Index acked) {
    while (!items_.empty() && items_.front().last <= acked) {
      bytes_ -= items_.front().bytes;
      items_.pop_front();
    }
  }
  void free_first() {
    if (items_.empty()) return;
    bytes_ -= items_.front().bytes;
    items_.pop_front();
  }
  void clear() {
    items_.clear();
    bytes_ = 0;
  }
  bool full() const { return items_.size() >= count_max_ || bytes_ >= bytes_max_; }
  size_t count() const { return items_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  struct Item {
    Index last;
    size_t bytes;
  };
  size_t count_max_;
  size_t bytes_max_;
  size_t bytes_ = 0;
  std::deque<Item> items_;
};

struct Progress {
  enum class State : uint8_t { kProbe, kReplicate, kSnapshot };

  Progress(Index next_index, size_t inflight_count_max, size_t inflight_bytes_max)
      : next(next_index), inflights(inflight_count_max, inflight_bytes_max) {}

  // Invariant: match < next.
  Index match;  // highest index known to match and be durable on the follower
  Index next;   // next index to send
  State state = State::kProbe;
  // kProbe: an AppendEntries is out and unanswered; send nothing more until
  // a response or the next heartbeat response.
  bool probe_sent = false;
  // Heard from since the last check-quorum round (thesis 6.2).
  bool recent_active = false;
  // An append was acknowledged since the last heartbeat response; if not,
  // and entries are missing, the leader assumes a message was lost.
  bool acked_since_heartbeat = false;
  // Heartbeat rounds in a row with entries missing and nothing acknowledged.
  int rounds_without_ack = 0;
  // Highest ReadIndex round this follower has confirmed (thesis 6.4).
  uint64_t read_round_acked = 0;
  Inflights inflights;

  // kSnapshot: the snapshot being streamed and how far.
  struct SnapshotSend {
    SnapshotInfo info;
    uint64_t requested = 0;  // bytes asked of the caller so far
    uint64_t acked = 0;      // bytes the follower holds in a row
    Nanos last_progress{0};  // when `acked` last moved
    bool empty_chunk_requested = false;  // a 0-byte snapshot's single chunk
  };
  std::optional<SnapshotSend> snapshot;

  bool paused() const {
    switch (state) {
      case State::kProbe: return probe_sent;
      case State::kReplicate: return inflights.full();
      case State::kSnapshot: return true;
    }
    return true;
  }

  void become_probe() {
    state = State::kProbe;
    probe_sent = false;
    rounds_without_ack = 0;
    snapshot.reset();
    next = match + 1;
    inflights.clear();
  }
  void become_replicate() {
    state = State::kReplicate;
    probe_sent = false;
    rounds_without_ack = 0;
    snapshot.reset();
    next = match + 1;
    inflights.clear();
  }

  // A successful AppendEntriesResponse up to n. Returns whether match moved.
  bool maybe_update(Index n) {
    bool moved = false;
    if (n > match) {
      match = n;
      moved = true;
      probe_sent = false;
    }
    if (next < match + 1) next = match + 1;
    inflights.free_to(match);
    return moved;
  }
};

const char* progress_state_name(Progress::State s);

}  // namespace raft::core
