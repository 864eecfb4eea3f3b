// The messages Raft servers exchange (thesis Figure 3.1 and chapters 3, 6
// and 9), as plain values. The wire codec in src/transport encodes them;
// docs/wire-format.md specifies the bytes.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "util/types.hpp"

namespace raft::core {

// RequestVote (thesis 3.4), also used for pre-vote (thesis 9.6): a
// pre-vote asks "would you vote for me in term `Message::term`?" without
// anyone changing their term.
struct RequestVote {
  bool pre_vote = false;
  // Set on a vote that follows TimeoutNow (leadership transfer, thesis
  // 3.10): voters then ignore leader stickiness.
  bool transfer = false;
  Index last_log_index;
  Term last_log_term;
};

struct RequestVoteResponse {
  bool pre_vote = false;
  bool granted = false;
};

// AppendEntries (thesis 3.5). Entries share their payload Buffers with the
// leader's log: sending does not copy command bytes.
struct AppendEntries {
  Index prev_log_index;
  Term prev_log_term;
  std::vector<Entry> entries;
  Index leader_commit;
};

struct AppendEntriesResponse {
  bool success = false;
  // On success: the follower's log matches the leader's up to here and is
  // durable up to here (followers acknowledge only durable entries).
  Index match_index;
  // On rejection: the prev_log_index that was rejected, so the leader can
  // tell a stale rejection from a current one.
  Index rejected_index;
  // On rejection, fast backtracking (thesis 5.3, "conflicting term"): the
  // term of the follower's entry at rejected_index and the first index the
  // follower has of that term; or term 0 and last index + 1 when the
  // follower's log is shorter than rejected_index.
  Term conflict_term;
  Index conflict_index;
  // The follower's last log index, a hint for the leader.
  Index last_log_index;
};

// A heartbeat (thesis 3.5 "AppendEntries RPCs that carry no log entries"),
// kept separate from AppendEntries so that it is small, never waits behind
// a large append, and carries the ReadIndex round number (thesis 6.4).
struct Heartbeat {
  // min(leader commit, this follower's match index): the follower can
  // advance its commit index that far without a consistency check.
  Index commit;
  uint64_t read_round = 0;
};

struct HeartbeatResponse {
  uint64_t read_round = 0;
  Index last_log_index;
};

// Leadership transfer (thesis 3.10): "start an election now".
struct TimeoutNow {};

// InstallSnapshot (thesis 5.3), streamed in chunks: every chunk carries the
// snapshot's metadata so that a follower can start, resume or restart a
// transfer from any chunk.
struct InstallSnapshot {
  Index last_index;               // the snapshot replaces the log up to here
  Term last_term;
  Configuration configuration;    // the configuration as of last_index
  Index configuration_index;
  uint64_t size_bytes = 0;        // the whole snapshot
  uint32_t crc32c = 0;            // of the whole snapshot's bytes
  uint64_t offset = 0;            // of this chunk
  Buffer data;
  bool last = false;              // this chunk ends the snapshot
};

struct InstallSnapshotResponse {
  Index last_index;               // which snapshot this answers
  uint64_t next_offset = 0;       // bytes the follower holds in a row; send from here
  bool installed = false;         // the follower has installed it (or already had it)
};

using MessageBody = std::variant<RequestVote, RequestVoteResponse, AppendEntries,
                                 AppendEntriesResponse, Heartbeat, HeartbeatResponse,
                                 TimeoutNow, InstallSnapshot, InstallSnapshotResponse>;

struct Message {
  NodeId from;
  NodeId to;
  // The sender's current term; for a pre-vote request the term the sender
  // would campaign in; for a granted pre-vote, the request's term.
  Term term;
  MessageBody body;
};

const char* message_type_name(const MessageBody& body);

}  // namespace raft::core
