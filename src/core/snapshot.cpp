// Snapshots and log compaction (thesis chapter 5): compacting after a
// snapshot, streaming a snapshot to a follower that is behind the
// leader's log (InstallSnapshot in chunks, resumable), and installing one.
#include <algorithm>

#include "core/raft.hpp"
#include "util/assert.hpp"

namespace raft::core {

void Raft::compact_configs(Index upto) {
  // Keep the configuration in effect at `upto` as the base, and every
  // later one.
  size_t keep_from = 0;
  for (size_t k = 0; k < configs_.size(); ++k)
    if (configs_[k].index <= upto) keep_from = k;
  configs_.erase(configs_.begin(), configs_.begin() + static_cast<ptrdiff_t>(keep_from));
}

void Raft::snapshot_taken(const SnapshotInfo& info) {
  // A snapshot covers only what the state machine applied, hence only
  // committed entries: compaction never passes the commit index.
  RAFT_ASSERT_MSG(info.index <= applied_emitted_, "snapshot beyond the applied entries");
  if (info.index <= snapshot_.index) return;
  snapshot_ = info;
  // Keep trailing entries for followers slightly behind (thesis 5.1).
  Index point(info.index.value > config_.trailing_entries ? info.index.value - config_.trailing_entries : 0);
  point = std::min(point, handed_last_);
  if (point <= log_.snapshot_index()) return;
  std::optional<Term> t = log_.term_at(point);
  RAFT_ASSERT(t.has_value());
  compact_configs(point);
  release(log_.compact(point, *t));
  // The snapshot is durable and covers everything up to the point.
  durable_index_ = std::max(durable_index_, point);
  out_compact_to_ = point;
}

void Raft::release(std::deque<Entry> dropped) {
  if (dropped.empty()) return;
  if (!out_released_) {
    out_released_ = std::make_unique<std::deque<Entry>>(std::move(dropped));
  } else {
    out_released_->insert(out_released_->end(), std::make_move_iterator(dropped.begin()),
                          std::make_move_iterator(dropped.end()));
  }
}

// ---- leader ----

Result<LogPosition> Raft::restore_snapshot(const SnapshotInfo& info) {
  if (role_ != Role::kLeader) return Status(ErrorCode::kNotLeader, "not leader");
  if (transfer_) return Status(ErrorCode::kBusy, "a leadership transfer is in progress");
  if (info.index != log_.last_index() + 1 || info.term != hs_.term)
    return Status(ErrorCode::kBusy, "the log moved while the snapshot was being stored; retry");
  // Everything before is superseded; uncommitted entries are dropped with
  // the rest of the log (their proposers are told by the runtime). The
  // point is past the log's end, so compact() empties it.
  release(log_.compact(info.index, info.term));
  configs_.clear();
  configs_.push_back({info.configuration_index, info.configuration});
  apply_configuration_change();
  handed_last_ = info.index;
  pending_truncate_.reset();
  durable_index_ = info.index;
  commit_ = info.index;
  applied_emitted_ = info.index;
  snapshot_ = info;
  out_install_ = Ready::Install{info, false};
  out_compact_to_.reset();
  // Every follower is now behind the log's start: it gets the snapshot.
  for (auto& [id, pr] : progress_) {
    pr.match = std::min(pr.match, info.index - 1);
    pr.become_probe();
    pr.next = info.index;
  }
  term_start_index_ = info.index + 1;
  append_local(EntryType::kNoop, Buffer());
  return LogPosition{log_.last_index(), hs_.term};
}

void Raft::start_snapshot_transfer(NodeId to, Progress& pr) {
  RAFT_ASSERT_MSG(!snapshot_.empty(), "the log was compacted without a snapshot");
  pr.state = Progress::State::kSnapshot;
  pr.probe_sent = false;
  pr.inflights.clear();
  pr.snapshot = Progress::SnapshotSend{snapshot_, 0, 0, now_};
  request_snapshot_chunks(to, pr);
}

void Raft::request_snapshot_chunks(NodeId to, Progress& pr) {
  if (!pr.snapshot) return;
  Progress::SnapshotSend& s = *pr.snapshot;
  size_t chunk = std::max<size_t>(1, config_.snapshot_chunk_bytes);
  uint64_t window = chunk * std::max<size_t>(1, config_.snapshot_chunks_inflight);
  uint64_t size = s.info.size_bytes;
  // An empty snapshot still takes one (empty, last) chunk.
  if (size == 0) {
    if (!s.empty_chunk_requested) out_snapshot_reads_.push_back({to, s.info.id, 0, 0});
    s.empty_chunk_requested = true;
    return;
  }
  while (s.requested < size && s.requested - s.acked < window) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, size - s.requested));
    out_snapshot_reads_.push_back({to, s.info.id, s.requested, n});
    s.requested += n;
  }
}

void Raft::snapshot_chunk_read(NodeId peer, const std::string& id, uint64_t offset, Buffer data, bool last,
                               const Status& status) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(peer);
  if (it == progress_.end() || !it->second.snapshot || it->second.snapshot->info.id != id) return;
  Progress& pr = it->second;
  if (!status.ok()) {
    // The snapshot is gone or unreadable: start over with the newest.
    pr.become_probe();
    return;
  }
  const SnapshotInfo& info = pr.snapshot->info;
  InstallSnapshot is;
  is.last_index = info.index;
  is.last_term = info.term;
  is.configuration = info.configuration;
  is.configuration_index = info.configuration_index;
  is.size_bytes = info.size_bytes;
  is.crc32c = info.crc32c;
  is.offset = offset;
  is.data = std::move(data);
  is.last = last;
  send(peer, std::move(is));
}

void Raft::handle_install_snapshot_response(const Message& m, const InstallSnapshotResponse& r) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  if (r.installed) {
    // The follower holds everything up to the snapshot.
    if (r.last_index > log_.last_index()) return;
    pr.maybe_update(r.last_index);
    pr.become_probe();
    if (maybe_commit()) replicate_dirty_ = true;
    if (role_ != Role::kLeader) return;
    // The commit may have let go of this server (a removed one).
    it = progress_.find(m.from);
    if (it == progress_.end()) return;
    check_catch_up(m.from, it->second);
    it = progress_.find(m.from);
    if (it == progress_.end()) return;
    maybe_send_append(m.from, it->second, false);
    return;
  }
  if (!pr.snapshot || pr.snapshot->info.index != r.last_index) return;
  Progress::SnapshotSend& s = *pr.snapshot;
  if (r.next_offset > s.acked) {
    s.acked = r.next_offset;
    s.last_progress = now_;
  } else if (r.next_offset < s.acked) {
    // The follower lost what it had (it restarted, or its write failed):
    // resend from where it stands.
    s.acked = r.next_offset;
    s.requested = r.next_offset;
    s.last_progress = now_;
  }
  // A lost chunk shows as no progress with the window full; the heartbeat
  // answers notice the stall and resend from `acked`.
  request_snapshot_chunks(m.from, pr);
}

// ---- follower ----

void Raft::handle_install_snapshot(const Message& m, const InstallSnapshot& is) {
  if (role_ == Role::kLeader) return;  // two leaders in one term: a peer is broken
  if (role_ != Role::kFollower || leader_ != m.from) become_follower(m.term, m.from);
  leader_contact_ = now_;
  reset_election_timer();
  if (is.last_index <= commit_ || is.last_index <= log_.snapshot_index()) {
    // We already hold everything it covers (thesis 5.3, rule 6 in spirit).
    send(m.from, InstallSnapshotResponse{is.last_index, is.size_bytes, true});
    return;
  }
  SnapshotChunk c;
  c.from = m.from;
  c.info.index = is.last_index;
  c.info.term = is.last_term;
  c.info.configuration = is.configuration;
  c.info.configuration_index = is.configuration_index;
  c.info.size_bytes = is.size_bytes;
  c.info.crc32c = is.crc32c;
  c.offset = is.offset;
  c.data = is.data;
  c.last = is.last;
  out_snapshot_chunks_.push_back(std::move(c));
}

void Raft::snapshot_chunk_written(NodeId leader, const SnapshotInfo& info, uint64_t next_offset, bool installed,
                                  const Status& status) {
  bool answer = role_ == Role::kFollower && leader_ == leader;
  if (!status.ok()) {
    if (answer) send(leader, InstallSnapshotResponse{info.index, 0, false});
    return;
  }
  if (!installed) {
    if (answer) send(leader, InstallSnapshotResponse{info.index, next_offset, false});
    return;
  }
  // The caller has the whole snapshot, verified and durable. Install it
  // unless the log caught up meanwhile (thesis 5.3).
  if (info.index > commit_ && info.index > log_.snapshot_index()) {
    bool keep_log = log_.matches(info.index, info.term);
    if (keep_log) {
      compact_configs(info.index);
      release(log_.compact(info.index, info.term));
      handed_last_ = std::max(handed_last_, info.index);
    } else {
      // Discard the whole log: it conflicts with or stops before the
      // snapshot (so compact() empties it). Pending log writes are
      // superseded.
      release(log_.compact(info.index, info.term));
      configs_.clear();
      configs_.push_back({info.configuration_index, info.configuration});
      apply_configuration_change();
      handed_last_ = info.index;
      pending_truncate_.reset();
      // Nothing after the snapshot is durable any more: the log restarts.
      durable_index_ = std::min(durable_index_, info.index);
      verified_match_ = std::min(verified_match_, info.index);
    }
    durable_index_ = std::max(durable_index_, info.index);
    verified_match_ = std::max(verified_match_, info.index);
    commit_ = std::max(commit_, info.index);
    applied_emitted_ = info.index;
    snapshot_ = info;
    out_install_ = Ready::Install{info, keep_log};
    out_compact_to_.reset();  // the install decides what the log keeps
  }
  if (answer) send(leader, InstallSnapshotResponse{info.index, info.size_bytes, true});
}

}  // namespace raft::core
