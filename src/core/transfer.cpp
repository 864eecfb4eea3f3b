// Leadership transfer (thesis 3.10): the leader stops taking proposals,
// brings the target's log up to date, then sends it TimeoutNow; the target
// campaigns at once (its vote requests bypass leader stickiness). If no
// new leader emerges within an election timeout, the old one leads on.
#include <algorithm>

#include "core/raft.hpp"

namespace raft::core {

Status Raft::transfer_leadership(uint64_t request_id, NodeId target) {
  if (role_ != Role::kLeader) {
    if (leader_ == kNoNode) return Status(ErrorCode::kNotLeader, "not leader; leader unknown");
    return Status(ErrorCode::kNotLeader, "not leader; leader is " + std::to_string(leader_.value));
  }
  if (transfer_) return Status(ErrorCode::kBusy, "a leadership transfer is already in progress");
  if (target == config_.id) return invalid_argument("this node is already the leader");
  if (target == kNoNode) {
    // The most up-to-date voter: the shortest catch-up.
    Index best(0);
    for (const auto& [id, pr] : progress_) {
      if (is_voter(id) && (target == kNoNode || pr.match > best)) {
        target = id;
        best = pr.match;
      }
    }
    if (target == kNoNode) return invalid_argument("there is no other voter to transfer leadership to");
  } else if (!is_voter(target) || !progress_.count(target)) {
    return invalid_argument("server " + std::to_string(target.value) + " is not a voter");
  }
  transfer_ = Transfer{request_id, target, now_ + config_.election_timeout, false};
  advance_transfer();
  return Status();
}

void Raft::advance_transfer() {
  if (!transfer_ || transfer_->timeout_now_sent || role_ != Role::kLeader) return;
  auto it = progress_.find(transfer_->target);
  if (it == progress_.end()) {
    finish_transfer(Status(ErrorCode::kAborted, "the target left the configuration"));
    return;
  }
  if (it->second.match == log_.last_index()) {
    send(transfer_->target, TimeoutNow{});
    transfer_->timeout_now_sent = true;
  } else {
    // Catch it up first. An empty append also flushes out entries the
    // target lost: it answers with a rejection that starts a repair.
    replicate_dirty_ = true;
    maybe_send_append(transfer_->target, it->second, /*allow_empty=*/true);
  }
}

void Raft::finish_transfer(Status s) {
  if (!transfer_) return;
  out_done_.push_back({transfer_->id, std::move(s), Index(0)});
  transfer_.reset();
}

}  // namespace raft::core
