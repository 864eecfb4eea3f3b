// Leader election (thesis 3.4), pre-vote (9.6), leader stickiness (4.2.3)
// and check-quorum (6.2).
#include <algorithm>

#include "core/raft.hpp"
#include "util/assert.hpp"

namespace raft::core {

bool Raft::promotable() const {
  if (is_voter(config_.id)) return true;
  // Also a voter of the previous configuration while the latest (which
  // demotes or removes it) is uncommitted: it may hold the only copy of
  // that change (a leader that removed itself and crashed), and voters
  // still under the previous configuration cannot win without its vote.
  // It campaigns under its latest configuration, and steps down once that
  // commits (thesis 4.2.2).
  return configs_.size() >= 2 && configuration_index() > commit_ &&
         configs_[configs_.size() - 2].config.is_voter(config_.id);
}

bool Raft::in_leader_lease() const {
  if (!config_.check_quorum) return false;
  if (role_ == Role::kLeader) return true;
  return leader_ != kNoNode && now_ - leader_contact_ < config_.election_timeout;
}

void Raft::become_follower(Term term, NodeId leader) {
  if (term > hs_.term) {
    set_term(term);
    if (role_ == Role::kLeader)
      step_down_reason_ = transfer_ ? StepDownReason::kTransfer : StepDownReason::kHigherTerm;
  }
  if (role_ == Role::kLeader) {
    finish_change(Status(ErrorCode::kLeadershipLost, "leadership lost; the change may still take effect"), Index(0));
    // Reads waiting for a quorum can no longer be confirmed by us.
    fail_pending_reads(ErrorCode::kLeadershipLost);
    progress_.clear();
    replicate_dirty_ = false;
  }
  role_ = Role::kFollower;
  votes_.clear();
  leader_ = leader;
  if (leader != kNoNode) leader_contact_ = now_;
  reset_election_timer();
  // Thesis 3.10: a transfer ends well once another leader is known.
  if (transfer_ && leader != kNoNode && leader != config_.id) finish_transfer(Status());
}

void Raft::step_down(StepDownReason why) {
  if (role_ != Role::kLeader) return;
  step_down_reason_ = why;
  become_follower(hs_.term, kNoNode);
}

void Raft::tick_election() {
  if (promotable()) {
    campaign(config_.pre_vote ? Campaign::kPreVote : Campaign::kElection);
  } else {
    // Non-voters and nodes outside the configuration never campaign.
    reset_election_timer();
  }
}

void Raft::campaign(Campaign kind) {
  if (kind == Campaign::kPreVote) become_pre_candidate();
  else become_candidate();
  bool transfer = kind == Campaign::kTransfer;
  // Broadcast to the voters of the latest configuration (thesis 4.1: the
  // latest one is in effect even before it commits).
  bool pre = role_ == Role::kPreCandidate;
  Term term = pre ? hs_.term + 1 : hs_.term;
  RequestVote rv{pre, transfer, log_.last_index(), log_.last_term()};
  for (NodeId id : voters_.all()) {
    if (id != config_.id) send_with_term(id, term, rv);
  }
  // A single-voter cluster wins at once.
  auto outcome = tally(voters_, [&](NodeId id) {
    auto it = votes_.find(id);
    return it == votes_.end() ? 0 : it->second;
  });
  if (outcome == VoteOutcome::kWon) {
    if (pre) campaign(Campaign::kElection);
    else become_leader();
  }
}

void Raft::become_pre_candidate() {
  // Thesis 9.6: neither term nor vote changes, so a node that cannot win
  // (partitioned, or behind) does not disturb anyone.
  role_ = Role::kPreCandidate;
  leader_ = kNoNode;
  votes_.clear();
  votes_[config_.id] = 1;
  reset_election_timer();
}

void Raft::become_candidate() {
  set_term(hs_.term + 1);
  hs_.vote = config_.id;
  role_ = Role::kCandidate;
  leader_ = kNoNode;
  votes_.clear();
  votes_[config_.id] = 1;
  reset_election_timer();
}

void Raft::become_leader() {
  RAFT_ASSERT(role_ == Role::kCandidate);
  role_ = Role::kLeader;
  leader_ = config_.id;
  leader_contact_ = now_;
  votes_.clear();
  progress_.clear();
  apply_configuration_change();  // creates a Progress per member
  // Thesis 3.6.2 / 6.4: a noop of our own term, so that entries of earlier
  // terms commit with it and ReadIndex knows our commit index is current.
  term_start_index_ = log_.last_index() + 1;
  append_local(EntryType::kNoop, Buffer());
  heartbeat_deadline_ = now_;  // assert leadership at once
  quorum_deadline_ = now_ + config_.quorum_check_interval;
  replicate_dirty_ = true;
  advance_membership();  // finish a joint change an earlier leader left committed
}

void Raft::handle_request_vote(const Message& m, const RequestVote& rv) {
  // Thesis 4.2.3: a server that has heard from a leader within the
  // election timeout ignores vote requests (unless a transfer asked for
  // them). For a higher term this was already decided in receive().
  if (!rv.transfer && in_leader_lease()) {
    if (rv.pre_vote) send_with_term(m.from, hs_.term, RequestVoteResponse{true, false});
    return;
  }
  bool up_to_date = log_.candidate_up_to_date(rv.last_log_index, rv.last_log_term);
  if (rv.pre_vote) {
    // Would we vote in m.term? Only if it is a later term than ours and
    // the candidate's log is at least as up-to-date as ours.
    bool grant = m.term > hs_.term && up_to_date;
    send_with_term(m.from, grant ? m.term : hs_.term, RequestVoteResponse{true, grant});
    return;
  }
  RAFT_ASSERT(m.term == hs_.term);
  // Thesis 3.6.1 / Figure 3.1: one vote per term, and only for a log at
  // least as up-to-date as ours.
  bool grant = (hs_.vote == kNoNode || hs_.vote == m.from) && up_to_date;
  if (grant) {
    hs_.vote = m.from;  // durable before the response leaves (ready.hpp rule 1)
    reset_election_timer();
  }
  send(m.from, RequestVoteResponse{false, grant});
}

void Raft::handle_request_vote_response(const Message& m, const RequestVoteResponse& r) {
  bool counts = (role_ == Role::kPreCandidate && r.pre_vote) ||
                (role_ == Role::kCandidate && !r.pre_vote && m.term == hs_.term);
  if (!counts || !is_voter(m.from)) return;
  if (r.pre_vote && r.granted && m.term != hs_.term + 1) return;  // from another round
  votes_[m.from] = r.granted ? 1 : -1;
  auto outcome = tally(voters_, [&](NodeId id) {
    auto it = votes_.find(id);
    return it == votes_.end() ? 0 : it->second;
  });
  if (outcome == VoteOutcome::kWon) {
    if (role_ == Role::kPreCandidate) campaign(Campaign::kElection);
    else become_leader();
  } else if (outcome == VoteOutcome::kLost) {
    become_follower(hs_.term, kNoNode);
  }
}

void Raft::check_quorum() {
  // Thesis 6.2: a leader that has not heard from a majority within an
  // election timeout steps down, so clients stop waiting on it and a
  // partitioned old leader cannot serve stale reads.
  bool ok = has_quorum(voters_, [&](NodeId id) {
    if (id == config_.id) return true;
    auto it = progress_.find(id);
    return it != progress_.end() && it->second.recent_active;
  });
  // Removed servers that stayed silent for this interval are let go.
  if (prune_pending_ && configuration_index() <= commit_) apply_configuration_change();
  for (auto& [id, pr] : progress_) pr.recent_active = false;
  if (!ok) {
    step_down_reason_ = StepDownReason::kLostQuorum;
    become_follower(hs_.term, kNoNode);
  }
}

}  // namespace raft::core
