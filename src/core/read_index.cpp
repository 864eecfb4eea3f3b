// Linearizable reads without a log entry: ReadIndex (thesis 6.4).
//
// 1. The leader must have committed an entry of its own term (its noop),
//    so that its commit index is at least that of any earlier leader.
// 2. It records its commit index as the read index.
// 3. It confirms it is still the leader: a quorum answers a heartbeat sent
//    after the read arrived. Reads arriving together share one round.
// 4. The read is served once the state machine has applied the read index.
#include "core/raft.hpp"

namespace raft::core {

void Raft::read_index(uint64_t id) {
  if (role_ != Role::kLeader) {
    out_reads_.push_back({id, Index(0), ErrorCode::kNotLeader});
    return;
  }
  if (commit_ < term_start_index_) {
    reads_awaiting_term_commit_.push_back(id);  // step 1
    return;
  }
  start_read_round(id);
}

void Raft::release_reads_waiting_for_term_commit() {
  std::vector<uint64_t> ids;
  ids.swap(reads_awaiting_term_commit_);
  for (uint64_t id : ids) start_read_round(id);
}

void Raft::start_read_round(uint64_t id) {
  // A cluster where this node alone is a quorum needs no round trip.
  bool alone = has_quorum(voters_, [&](NodeId v) { return v == config_.id; });
  if (alone) {
    out_reads_.push_back({id, commit_, ErrorCode::kOk});
    return;
  }
  if (!read_round_needs_send_) {
    ++read_round_;
    read_round_needs_send_ = true;  // take_ready() sends the heartbeats
  }
  pending_reads_.push_back({id, commit_, read_round_});
}

void Raft::advance_reads() {
  // The highest round a quorum has confirmed (we confirm our own rounds).
  Index confirmed = quorum_index(voters_, [&](NodeId v) {
    if (v == config_.id) return Index(read_round_);
    auto it = progress_.find(v);
    return Index(it == progress_.end() ? 0 : it->second.read_round_acked);
  });
  while (!pending_reads_.empty() && pending_reads_.front().round <= confirmed.value) {
    const PendingRead& r = pending_reads_.front();
    out_reads_.push_back({r.id, r.index, ErrorCode::kOk});
    pending_reads_.pop_front();
  }
}

}  // namespace raft::core
