// Log replication (thesis 3.5), the commit rule (3.6.2), heartbeats and
// the follower's acknowledgements of durable entries.
#include <algorithm>
#include <string>

#include "core/raft.hpp"
#include "util/assert.hpp"

namespace raft::core {

// ---- leader: proposals ----

namespace {
Status not_leader_error(NodeId leader) {
  if (leader == kNoNode) return Status(ErrorCode::kNotLeader, "not leader; leader unknown");
  return Status(ErrorCode::kNotLeader, "not leader; leader is " + std::to_string(leader.value));
}
}  // namespace

void Raft::append_local(EntryType type, Buffer data) {
  log_.append(Entry{log_.last_index() + 1, hs_.term, type, std::move(data)});
  if (type == EntryType::kConfiguration) config_appended(log_.at(log_.last_index()));
  replicate_dirty_ = true;
}

Result<LogPosition> Raft::propose(EntryType type, Buffer data) {
  if (role_ != Role::kLeader) return not_leader_error(leader_);
  if (transfer_) return Status(ErrorCode::kBusy, "leadership transfer in progress");
  RAFT_ASSERT_MSG(type != EntryType::kConfiguration, "configuration changes have their own call");
  append_local(type, std::move(data));
  return LogPosition{log_.last_index(), hs_.term};
}

Result<LogPosition> Raft::propose_batch(std::span<const Buffer> commands) {
  if (role_ != Role::kLeader) return not_leader_error(leader_);
  if (transfer_) return Status(ErrorCode::kBusy, "leadership transfer in progress");
  LogPosition first{log_.last_index() + 1, hs_.term};
  for (const Buffer& b : commands) append_local(EntryType::kCommand, b);
  return first;
}

// ---- leader: sending ----

void Raft::broadcast_append() {
  for (auto& [id, pr] : progress_) {
    // Stream as many batches as the window allows (pipelining).
    bool sent = maybe_send_append(id, pr, /*allow_empty=*/false);
    while (sent && pr.state == Progress::State::kReplicate) sent = maybe_send_append(id, pr, false);
  }
}

bool Raft::maybe_send_append(NodeId to, Progress& pr, bool allow_empty) {
  if (pr.paused()) return false;
  Index prev = pr.next - 1;
  std::optional<Term> prev_term = log_.term_at(prev);
  if (!prev_term) {
    // Compacted away (thesis 5.1): the follower needs the snapshot.
    start_snapshot_transfer(to, pr);
    return false;
  }
  std::vector<Entry> entries;
  if (pr.next <= log_.last_index())
    entries = log_.slice(pr.next, config_.append_entries_max, config_.append_bytes_max);
  // In kReplicate an empty message says nothing new; in kProbe it asks
  // whether the logs match at prev.
  if (entries.empty() && pr.state == Progress::State::kReplicate && !allow_empty) return false;

  if (pr.state == Progress::State::kReplicate) {
    if (!entries.empty()) {
      size_t bytes = 0;
      for (const Entry& e : entries) bytes += e.data.size();
      pr.next = entries.back().index + 1;
      pr.inflights.add(entries.back().index, bytes);
    }
  } else {
    pr.probe_sent = true;
  }
  send(to, AppendEntries{prev, *prev_term, std::move(entries), commit_});
  return true;
}

void Raft::broadcast_heartbeat() {
  heartbeat_deadline_ = now_ + config_.heartbeat_interval;
  read_round_needs_send_ = false;
  for (auto& [id, pr] : progress_) send_heartbeat(id, pr);
}

void Raft::send_heartbeat(NodeId to, const Progress& pr) {
  // The follower may only commit what it is known to hold (thesis 3.5):
  // at most its match index.
  send(to, Heartbeat{std::min(pr.match, commit_), read_round_});
}

// ---- leader: responses ----

void Raft::handle_append_entries_response(const Message& m, const AppendEntriesResponse& r) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;

  if (r.success) {
    if (r.match_index > log_.last_index()) return;  // not something we sent
    if (pr.maybe_update(r.match_index)) {
      pr.acked_since_heartbeat = true;
      if (pr.state == Progress::State::kProbe) pr.become_replicate();
      if (maybe_commit()) replicate_dirty_ = true;
      if (role_ != Role::kLeader) return;  // a commit removed us
      // A removed server that now holds its removal is let go.
      if (prune_pending_ && configuration_index() <= commit_) apply_configuration_change();
      it = progress_.find(m.from);
      if (it == progress_.end()) return;
      check_catch_up(m.from, it->second);
      if (transfer_ && transfer_->target == m.from) advance_transfer();
      if (role_ != Role::kLeader) return;
      it = progress_.find(m.from);
      if (it == progress_.end()) return;
    }
    Progress& cur = it->second;
    bool sent = maybe_send_append(m.from, cur, false);
    while (sent && cur.state == Progress::State::kReplicate) sent = maybe_send_append(m.from, cur, false);
    return;
  }

  // A rejection. Ignore stale ones: in kReplicate anything at or below the
  // match index; in kProbe anything but an answer to the probe in flight.
  if (pr.state == Progress::State::kReplicate) {
    if (r.rejected_index <= pr.match) return;
  } else if (r.rejected_index != pr.next - 1) {
    return;
  }
  // Thesis 5.3 (fast backtracking): skip a whole conflicting term per
  // round trip instead of one entry.
  Index next;
  if (r.conflict_term == Term(0)) {
    next = r.conflict_index;
  } else {
    Index j = log_.last_index_with_term_at_most(r.conflict_term);
    next = log_.term_at(j) == r.conflict_term ? j + 1 : r.conflict_index;
  }
  next = std::min(next, r.rejected_index);  // strictly before the rejected prev
  pr.become_probe();
  pr.next = std::max(next, pr.match + 1);
  maybe_send_append(m.from, pr, false);
}

void Raft::handle_heartbeat_response(const Message& m, const HeartbeatResponse& r) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  if (r.read_round > pr.read_round_acked) {
    pr.read_round_acked = r.read_round;
    advance_reads();
  }
  check_catch_up(m.from, pr);
  if (pr.state == Progress::State::kSnapshot && pr.snapshot &&
      now_ - pr.snapshot->last_progress > config_.election_timeout) {
    // A snapshot transfer that stopped moving (a chunk lost with a
    // connection): resend from what the follower holds.
    pr.snapshot->requested = pr.snapshot->acked;
    pr.snapshot->empty_chunk_requested = false;
    pr.snapshot->last_progress = now_;
    request_snapshot_chunks(m.from, pr);
  }
  if (pr.match < log_.last_index() && pr.state != Progress::State::kSnapshot) {
    if (pr.state == Progress::State::kReplicate && !pr.acked_since_heartbeat) {
      // Entries are missing and nothing was acknowledged for a whole
      // heartbeat round: assume a message was lost and probe again.
      if (++pr.rounds_without_ack >= 2) pr.become_probe();
    }
    if (pr.state == Progress::State::kProbe) pr.probe_sent = false;
    maybe_send_append(m.from, pr, false);
  }
  if (pr.acked_since_heartbeat) pr.rounds_without_ack = 0;
  pr.acked_since_heartbeat = false;
}

bool Raft::maybe_commit() {
  if (role_ != Role::kLeader) return false;
  // The leader counts its own log only up to what is durable (DESIGN.md,
  // thesis 10.2.1).
  Index q = quorum_index(voters_, [&](NodeId id) {
    if (id == config_.id) return durable_index_;
    auto it = progress_.find(id);
    return it == progress_.end() ? Index(0) : it->second.match;
  });
  // Thesis 3.6.2 / Figure 8: only an entry of the leader's own term is
  // committed by counting replicas; earlier ones commit with it.
  if (q <= commit_ || q > log_.last_index() || log_.term_at(q) != hs_.term) return false;
  commit_to(q);
  return true;
}

void Raft::commit_to(Index i) {
  RAFT_ASSERT(i > commit_ && i <= log_.last_index());
  commit_ = i;
  if (role_ == Role::kLeader) {
    advance_membership();
    // Thesis 4.2.2: a leader that is not a voter of the committed
    // configuration steps down (it managed the change that removed it).
    if (configuration_index() <= commit_ && !is_voter(config_.id)) {
      step_down(StepDownReason::kRemoved);
      return;
    }
  }
  // Followers learn the new commit index with the next append, or with a
  // heartbeat within commit_timeout when nothing else goes out.
  if (role_ == Role::kLeader)
    heartbeat_deadline_ = std::min(heartbeat_deadline_, now_ + config_.commit_timeout);
  if (role_ == Role::kLeader && commit_ >= term_start_index_) release_reads_waiting_for_term_commit();
}

// ---- follower ----

void Raft::truncate_log_from(Index i) {
  // Thesis 3.5: a conflicting entry and all that follow it are deleted. A
  // committed entry never conflicts: if it did, safety is already lost.
  RAFT_ASSERT_MSG(i > commit_, "truncating a committed entry");
  log_.truncate_from(i);
  configs_truncated(i);
  if (i <= handed_last_) {
    handed_last_ = i - 1;
    pending_truncate_ = pending_truncate_ ? std::min(*pending_truncate_, i) : i;
  }
  durable_index_ = std::min(durable_index_, i - 1);
  verified_match_ = std::min(verified_match_, i - 1);
}

void Raft::handle_append_entries(const Message& m, const AppendEntries& ae) {
  if (role_ == Role::kLeader) return;  // two leaders in one term: a peer is broken
  if (role_ != Role::kFollower || leader_ != m.from) become_follower(m.term, m.from);
  leader_contact_ = now_;
  reset_election_timer();

  Index prev = ae.prev_log_index;
  Term prev_term = ae.prev_log_term;
  size_t skip = 0;
  // Entries at or below our snapshot are committed, hence identical to
  // the leader's (Leader Completeness): start after the snapshot.
  if (prev < log_.snapshot_index()) {
    skip = std::min<size_t>(ae.entries.size(), log_.snapshot_index().value - prev.value);
    prev = log_.snapshot_index();
    prev_term = log_.snapshot_term();
  }

  // Thesis 3.5, the consistency check.
  if (!log_.matches(prev, prev_term)) {
    AppendEntriesResponse r;
    r.rejected_index = prev;
    r.last_log_index = log_.last_index();
    if (prev > log_.last_index()) {
      r.conflict_term = Term(0);
      r.conflict_index = log_.last_index() + 1;
    } else {
      r.conflict_term = *log_.term_at(prev);
      r.conflict_index = log_.first_index_of_term_at(prev);
    }
    send(m.from, r);
    return;
  }

  // Append what we lack; delete from the first conflict on. Entries we
  // already hold stay (a reordered old message must not cut the log).
  for (size_t k = skip; k < ae.entries.size(); ++k) {
    const Entry& e = ae.entries[k];
    std::optional<Term> have = log_.term_at(e.index);
    if (have == e.term) continue;
    if (have) truncate_log_from(e.index);
    log_.append(e);
    if (e.type == EntryType::kConfiguration) config_appended(log_.at(e.index));
  }
  Index last_new = prev + (ae.entries.size() - skip);
  verified_match_ = std::max(verified_match_, last_new);

  // Figure 3.1: commitIndex = min(leaderCommit, index of last new entry).
  Index c = std::min(ae.leader_commit, last_new);
  if (c > commit_) commit_to(c);

  // Followers acknowledge only durable entries (DESIGN.md): the answer
  // goes out now if storage already holds them, else after persisted().
  ack_needed_ = last_new;
  ack_owed_ = true;
  maybe_send_ack();
}

void Raft::maybe_send_ack() {
  if (role_ != Role::kFollower || leader_ == kNoNode) return;
  Index m = std::min(verified_match_, durable_index_);
  bool owed_now = ack_owed_ && m >= ack_needed_;
  // Also report partial progress, so the leader can commit as soon as a
  // quorum's disks catch up rather than when a whole pipeline has.
  if (!owed_now && !(ack_owed_ && m > last_acked_)) return;
  if (owed_now) ack_owed_ = false;
  last_acked_ = std::max(last_acked_, m);
  AppendEntriesResponse r;
  r.success = true;
  r.match_index = m;
  r.last_log_index = log_.last_index();
  send(leader_, r);
}

void Raft::handle_heartbeat(const Message& m, const Heartbeat& hb) {
  if (role_ == Role::kLeader) return;  // two leaders in one term: a peer is broken
  if (role_ != Role::kFollower || leader_ != m.from) become_follower(m.term, m.from);
  leader_contact_ = now_;
  reset_election_timer();
  // hb.commit never exceeds what the leader knows we hold; the min is a
  // second guard against a restart that lost unacknowledged entries.
  Index c = std::min(hb.commit, log_.last_index());
  if (c > commit_) commit_to(c);
  send(m.from, HeartbeatResponse{hb.read_round, log_.last_index()});
}

}  // namespace raft::core
