// Terms, message dispatch and Ready assembly. The protocol rules live in
// the files named after them (see raft.hpp).
#include "core/raft.hpp"

#include <algorithm>

#include "util/assert.hpp"

namespace raft::core {

const char* role_name(Role r) {
  switch (r) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "unknown";
}

const char* step_down_reason_name(StepDownReason r) {
  switch (r) {
    case StepDownReason::kNone: return "none";
    case StepDownReason::kHigherTerm: return "saw a higher term";
    case StepDownReason::kLostQuorum: return "lost contact with a quorum (check-quorum)";
    case StepDownReason::kRequested: return "requested (its own disk stalled)";
    case StepDownReason::kRemoved: return "removed from the configuration";
    case StepDownReason::kTransfer: return "leadership transferred";
  }
  return "unknown";
}

const char* progress_state_name(Progress::State s) {
  switch (s) {
    case Progress::State::kProbe: return "probe";
    case Progress::State::kReplicate: return "replicate";
    case Progress::State::kSnapshot: return "snapshot";
  }
  return "unknown";
}

const char* message_type_name(const MessageBody& body) {
  static const char* const kNames[] = {"RequestVote",       "RequestVoteResponse",
                                       "AppendEntries",     "AppendEntriesResponse",
                                       "Heartbeat",         "HeartbeatResponse",
                                       "TimeoutNow",        "InstallSnapshot",
                                       "InstallSnapshotResponse"};
  static_assert(std::variant_size_v<MessageBody> == std::size(kNames));
  return kNames[body.index()];
}

bool Config::valid(std::string* why) const {
  auto fail = [&](const char* m) {
    if (why) *why = m;
    return false;
  };
  if (id == kNoNode) return fail("node id 0 is reserved");
  if (election_timeout <= Nanos(0)) return fail("election timeout must be positive");
  if (heartbeat_interval <= Nanos(0)) return fail("heartbeat interval must be positive");
  if (heartbeat_interval >= election_timeout)
    return fail("heartbeat interval must be below the election timeout");
  if (commit_timeout <= Nanos(0)) return fail("commit timeout must be positive");
  if (quorum_check_interval <= heartbeat_interval || quorum_check_interval > election_timeout)
    return fail("quorum check interval must be above the heartbeat interval and at most the election timeout");
  if (append_entries_max == 0) return fail("append_entries_max must be at least 1");
  if (append_bytes_max == 0) return fail("append_bytes_max must be at least 1");
  if (inflight_appends_max == 0) return fail("inflight_appends_max must be at least 1");
  if (inflight_bytes_max == 0) return fail("inflight_bytes_max must be at least 1");
  return true;
}

bool Raft::log_continues_snapshot(const SnapshotInfo& snap, const std::vector<Entry>& es) {
  if (es.empty()) return true;
  if (snap.empty()) return es.front().index == Index(1);
  if (es.front().index > snap.index + 1) return false;  // a gap after the snapshot
  if (es.front().index == snap.index + 1) return true;
  if (es.back().index < snap.index) return false;       // ends inside the snapshot
  return es[snap.index.value - es.front().index.value].term == snap.term;
}

Raft::Raft(const Config& config, InitialState state, Nanos now)
    : config_(config), rng_(config.seed ^ (config.id.value * 0x9e3779b97f4a7c15ULL)), now_(now) {
  std::string why;
  RAFT_ASSERT_MSG(config_.valid(&why), why.c_str());
  hs_ = state.hard_state;
  hs_reported_ = hs_;
  snapshot_ = state.snapshot;
  const SnapshotInfo& snap = state.snapshot;
  // The log starts right after the snapshot, or overlaps it (entries kept
  // after compaction); then its first entry becomes the base. A log that
  // disagrees with the snapshot or leaves a gap after it is dropped: the
  // snapshot is the committed truth (the runtime checks this too).
  std::vector<Entry>& es = state.entries;
  if (!log_continues_snapshot(snap, es)) es.clear();
  size_t from = 0;
  if (!es.empty() && es.front().index <= snap.index) {
    log_ = LogView(es.front().index, es.front().term);
    from = 1;
  } else {
    log_ = LogView(snap.index, snap.term);
  }
  configs_.push_back({snap.configuration_index, snap.configuration});
  for (size_t k = from; k < es.size(); ++k) {
    Entry& e = es[k];
    bool is_config = e.type == EntryType::kConfiguration && e.index > snap.configuration_index;
    log_.append(std::move(e));
    if (is_config) config_appended(log_.at(log_.last_index()));
  }
  handed_last_ = log_.last_index();
  durable_index_ = log_.last_index();
  commit_ = std::max(snap.index, std::min(state.commit_hint, log_.last_index()));
  applied_emitted_ = snap.index;
  commit_hint_reported_ = commit_;
  apply_configuration_change();
  reset_election_timer();
}

// ---- terms and timers ----

void Raft::set_term(Term t) {
  RAFT_ASSERT(t > hs_.term);
  hs_.term = t;
  hs_.vote = kNoNode;
  // Acknowledgements are per leader, and a term has at most one.
  verified_match_ = Index(0);
  ack_owed_ = false;
  ack_needed_ = Index(0);
  last_acked_ = Index(0);
}

void Raft::reset_election_timer() {
  // Thesis 3.4: randomized in [T, 2T) so that split votes are rare.
  auto et = config_.election_timeout.count();
  election_deadline_ = now_ + Nanos(et + static_cast<int64_t>(rng_.below(static_cast<uint64_t>(et))));
}

void Raft::tick(Nanos now) {
  RAFT_ASSERT_MSG(now >= now_, "time went backwards");
  now_ = now;
  if (transfer_ && now_ >= transfer_->deadline) {
    // Thesis 3.10: no new leader within an election timeout; the old
    // leader (still leading, or again) takes proposals again.
    finish_transfer(Status(ErrorCode::kTimeout, "no new leader within an election timeout"));
  }
  if (role_ == Role::kLeader) {
    if (config_.check_quorum && now_ >= quorum_deadline_) {
      quorum_deadline_ = now_ + config_.quorum_check_interval;
      check_quorum();
      if (role_ != Role::kLeader) return;
    }
    if (now_ >= heartbeat_deadline_) broadcast_heartbeat();
  } else if (now_ >= election_deadline_) {
    tick_election();
  }
}

// ---- messages ----

void Raft::send_with_term(NodeId to, Term term, MessageBody body) {
  out_messages_.push_back(Message{config_.id, to, term, std::move(body)});
}

void Raft::send(NodeId to, MessageBody body) { send_with_term(to, hs_.term, std::move(body)); }

namespace {

// A message a correct peer would never send; dropping it keeps a buggy or
// hostile peer from tripping the core's assertions.
bool well_formed(const Message& m) {
  if (const auto* ae = std::get_if<AppendEntries>(&m.body)) {
    Index expect = ae->prev_log_index + 1;
    Term prev_term = ae->prev_log_term;
    if (prev_term > m.term) return false;
    for (const Entry& e : ae->entries) {
      if (e.index != expect || e.term < prev_term || e.term > m.term) return false;
      if (!entry_type_valid(static_cast<uint8_t>(e.type))) return false;
      if (e.type == EntryType::kConfiguration) {
        Configuration c;
        if (!decode_configuration(e.data.span(), &c)) return false;
      }
      prev_term = e.term;
      ++expect;
    }
  }
  if (const auto* is = std::get_if<InstallSnapshot>(&m.body)) {
    if (is->last_term > m.term || is->last_index == Index(0)) return false;
    if (is->offset > is->size_bytes || is->data.size() > is->size_bytes - is->offset) return false;
    if (is->configuration_index > is->last_index || !is->configuration.valid(nullptr)) return false;
  }
  return true;
}

}  // namespace

Receipt Raft::receive(const Message& m) {
  if (m.to != config_.id || m.from == config_.id || m.from == kNoNode) return Receipt::kIgnored;
  // Before anything else: an unknown sender must not move our term, vote,
  // leader or timer (senders.cpp).
  if (!known_sender(m.from) && !admit_unknown_sender(m)) return Receipt::kUnknownSender;
  if (!well_formed(m)) return Receipt::kIgnored;

  const auto* rv = std::get_if<RequestVote>(&m.body);
  const auto* rvr = std::get_if<RequestVoteResponse>(&m.body);
  bool from_leader = std::holds_alternative<AppendEntries>(m.body) ||
                     std::holds_alternative<Heartbeat>(m.body) ||
                     std::holds_alternative<TimeoutNow>(m.body) ||
                     std::holds_alternative<InstallSnapshot>(m.body);

  if (m.term > hs_.term) {
    if (rv && rv->pre_vote) {
      // Thesis 9.6: a pre-vote never changes anyone's term.
    } else if (rvr && rvr->pre_vote && rvr->granted) {
      // A granted pre-vote carries the term we would campaign in.
    } else if (rv && !rv->transfer && in_leader_lease()) {
      // Thesis 4.2.3: we heard from a leader less than an election timeout
      // ago, so this candidate cannot be needed; ignore it without
      // adopting its term, so it cannot depose a healthy leader.
      return Receipt::kProcessed;
    } else {
      become_follower(m.term, from_leader ? m.from : kNoNode);
    }
  } else if (m.term < hs_.term) {
    // Thesis 3.3: a stale request is rejected with our term so that its
    // sender (a deposed leader or an old candidate) steps down.
    if (std::holds_alternative<AppendEntries>(m.body) || std::holds_alternative<Heartbeat>(m.body) ||
        std::holds_alternative<InstallSnapshot>(m.body)) {
      AppendEntriesResponse r;
      r.last_log_index = log_.last_index();
      send(m.from, r);
    } else if (rv) {
      send(m.from, RequestVoteResponse{rv->pre_vote, false});
    }
    return Receipt::kProcessed;
  }

  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, RequestVote>) handle_request_vote(m, body);
        else if constexpr (std::is_same_v<T, RequestVoteResponse>) handle_request_vote_response(m, body);
        else if constexpr (std::is_same_v<T, AppendEntries>) handle_append_entries(m, body);
        else if constexpr (std::is_same_v<T, AppendEntriesResponse>) handle_append_entries_response(m, body);
        else if constexpr (std::is_same_v<T, Heartbeat>) handle_heartbeat(m, body);
        else if constexpr (std::is_same_v<T, HeartbeatResponse>) handle_heartbeat_response(m, body);
        else if constexpr (std::is_same_v<T, InstallSnapshot>) handle_install_snapshot(m, body);
        else if constexpr (std::is_same_v<T, InstallSnapshotResponse>) handle_install_snapshot_response(m, body);
        else if constexpr (std::is_same_v<T, TimeoutNow>) {
          // Thesis 3.10: the leader asks us to start an election at once,
          // even inside its lease. (Transfer itself: the snapshot issue.)
          if (promotable() && role_ != Role::kLeader) campaign(Campaign::kTransfer);
        }
      },
      m.body);
  return Receipt::kProcessed;
}

// ---- storage notices ----

void Raft::persisted(Index index, Term term) {
  // A notice for an entry that has since been truncated says nothing
  // about the current log (thesis 3.5: the entry at that index changed).
  if (index > handed_last_ || !log_.matches(index, term)) return;
  if (index <= durable_index_) return;
  durable_index_ = index;
  if (role_ == Role::kLeader) {
    if (maybe_commit()) replicate_dirty_ = true;
  } else {
    maybe_send_ack();
  }
}

// ---- output ----

bool Raft::has_ready() const {
  return replicate_dirty_ || read_round_needs_send_ || hs_ != hs_reported_ || pending_truncate_ ||
         handed_last_ < log_.last_index() || !out_messages_.empty() || !out_reads_.empty() || !out_done_.empty() ||
         out_install_ || out_compact_to_ || out_released_ || !out_snapshot_reads_.empty() || !out_snapshot_chunks_.empty() ||
         applied_emitted_ < commit_ || std::min(commit_, durable_index_) > commit_hint_reported_;
}

void Raft::emit_committed(Ready* rd) {
  log_.copy_to(applied_emitted_ + 1, commit_, &rd->committed);
  applied_emitted_ = commit_;
}

Ready Raft::take_ready() {
  if (role_ == Role::kLeader) {
    if (read_round_needs_send_) broadcast_heartbeat();
    if (replicate_dirty_) broadcast_append();
  }
  replicate_dirty_ = false;

  Ready rd;
  if (hs_ != hs_reported_) {
    rd.hard_state = hs_;
    hs_reported_ = hs_;
  }
  if (pending_truncate_) {
    rd.truncate_from = *pending_truncate_;
    pending_truncate_.reset();
  }
  log_.copy_to(handed_last_ + 1, log_.last_index(), &rd.entries);
  handed_last_ = log_.last_index();
  rd.messages = std::move(out_messages_);
  out_messages_.clear();
  emit_committed(&rd);
  rd.reads = std::move(out_reads_);
  out_reads_.clear();
  rd.done = std::move(out_done_);
  out_done_.clear();
  rd.install = std::move(out_install_);
  out_install_.reset();
  rd.compact_to = out_compact_to_;
  out_compact_to_.reset();
  rd.released = std::move(out_released_);
  rd.snapshot_reads = std::move(out_snapshot_reads_);
  out_snapshot_reads_.clear();
  rd.snapshot_chunks = std::move(out_snapshot_chunks_);
  out_snapshot_chunks_.clear();
  Index hint = std::min(commit_, durable_index_);
  if (hint > commit_hint_reported_) {
    rd.commit_hint = hint;
    commit_hint_reported_ = hint;
  }
  rd.deadline = next_deadline();
  return rd;
}

Nanos Raft::next_deadline() const {
  Nanos d = election_deadline_;
  if (role_ == Role::kLeader) {
    d = heartbeat_deadline_;
    if (config_.check_quorum) d = std::min(d, quorum_deadline_);
  }
  if (transfer_) d = std::min(d, transfer_->deadline);
  return d;
}

const Progress* Raft::progress(NodeId id) const {
  if (role_ != Role::kLeader) return nullptr;
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

void Raft::fail_pending_reads(ErrorCode why) {
  for (const PendingRead& r : pending_reads_) out_reads_.push_back({r.id, Index(0), why});
  for (uint64_t id : reads_awaiting_term_commit_) out_reads_.push_back({id, Index(0), why});
  pending_reads_.clear();
  reads_awaiting_term_commit_.clear();
  read_round_needs_send_ = false;
}

}  // namespace raft::core
