// Ready: everything one round of the core asks its caller to do.
//
// The contract, which the runtime implements once (src/runtime) and the
// simulator imitates (tests/sim), in this order:
//
//  1. `hard_state`, when set, must be durable before any of `messages` is
//     sent (a vote or a term must survive a crash before anyone hears of
//     it; thesis 3.8 / Figure 3.1).
//  2. Log writes, in the order given: first remove every entry at or after
//     `truncate_from`, then append `entries`. They may complete later (a
//     disk thread); the caller reports each completed sync with
//     Raft::persisted(index, term) of the last entry it made durable. The
//     core never sends an acknowledgement for an entry before that, and the
//     leader counts its own log toward commit only up to it.
//  3. `messages` may then be sent in any order; the network may lose,
//     reorder or duplicate them. None of them depends on `entries` being
//     durable: this is what lets a leader send entries to followers while
//     its own write is in flight (thesis 10.2.1).
//  4. `committed` entries are applied to the state machine in order, after
//     the ones of earlier Readys.
//  5. A read in `reads` with ok() may be served once the state machine has
//     applied `index`.
//  6. `commit_hint`, when set, may be stored whenever convenient (it is
//     only a hint: on restart, entries up to it are applied without
//     waiting for a leader). It never exceeds the durable log.
//  7. Call Raft::tick() again no later than `deadline` (also available, after
//     every input, as Raft::next_deadline()).
//  8. Snapshots: `install` comes before `committed` (whose entries follow
//     the snapshot): restore the state machine from it and reset or
//     compact the log as it says, then go on; `compact_to` may be done
//     whenever convenient (it never passes a snapshot); serve
//     `snapshot_reads` and `snapshot_chunks` asynchronously and report.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/message.hpp"
#include "util/status.hpp"
#include "util/types.hpp"

namespace raft::core {

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };

// A snapshot of the state machine as the core knows it; its bytes are in
// the caller's snapshot store under `id`.
struct SnapshotInfo {
  std::string id;
  Index index;                 // last entry it covers
  Term term;                   // that entry's term
  Configuration configuration; // the configuration as of `index`
  Index configuration_index;
  uint64_t size_bytes = 0;
  uint32_t crc32c = 0;
  bool empty() const { return index == Index(0); }
};

// Leader: read these bytes of snapshot `id` and hand them back with
// Raft::snapshot_chunk_read() (they go to `peer` as InstallSnapshot).
struct SnapshotRead {
  NodeId peer;
  std::string id;
  uint64_t offset = 0;
  size_t bytes_max = 0;
};

// Follower: a chunk of the leader's snapshot to write; report with
// Raft::snapshot_chunk_written().
struct SnapshotChunk {
  NodeId from;
  SnapshotInfo info;  // id empty: the follower names its copy
  uint64_t offset = 0;
  Buffer data;
  bool last = false;
};
const char* role_name(Role r);

// The outcome of a ReadIndex request (thesis 6.4).
struct ReadState {
  uint64_t id = 0;      // the caller's id from Raft::read_index()
  Index index;          // serve the read once applied >= index
  ErrorCode error = ErrorCode::kOk;  // kNotLeader or kLeadershipLost: no read
  bool ok() const { return error == ErrorCode::kOk; }
};

// The end of a request that takes several steps (a membership change, a
// leadership transfer).
struct RequestResult {
  uint64_t id = 0;
  Status status;  // OK, or why it failed (kLeadershipLost: may still take effect)
  Index index;    // the configuration entry that completed it, if any
};

struct Ready {
  std::optional<HardState> hard_state;
  std::optional<Index> truncate_from;
  std::vector<Entry> entries;
  std::vector<Message> messages;
  std::vector<Entry> committed;
  std::vector<ReadState> reads;
  std::optional<Index> commit_hint;
  // Requests finished (membership changes, transfers).
  std::vector<RequestResult> done;
  // Snapshots (thesis 5): drop log entries up to compact_to (a snapshot
  // covers them); leaders read snapshot bytes to send; followers write
  // chunks they receive; `install` replaces the state machine with a
  // snapshot and the log with the part after it (see Raft::snapshot_*).
  std::optional<Index> compact_to;
  std::vector<SnapshotRead> snapshot_reads;
  std::vector<SnapshotChunk> snapshot_chunks;
  struct Install {
    SnapshotInfo info;
    // true: the log still holds entries after info.index: keep them and
    // drop the prefix; false: discard the log, the next entry is
    // info.index + 1.
    bool keep_log;
  };
  std::optional<Install> install;
  // Entries the core dropped from its log (compaction): the runtime
  // destroys them where it costs the event loop nothing. Nothing to do
  // with them but that. A pointer, null when there are none: an empty
  // std::deque allocates (two blocks in libstdc++), and a Ready is made
  // for every batch.
  std::unique_ptr<std::deque<Entry>> released;
  Nanos deadline{0};

  bool empty() const {
    return !hard_state && !truncate_from && entries.empty() && messages.empty() &&
           committed.empty() && reads.empty() && !commit_hint && done.empty() && !compact_to &&
           snapshot_reads.empty() && snapshot_chunks.empty() && !install && !released;
  }
};

}  // namespace raft::core
