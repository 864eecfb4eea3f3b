#include "sim/sim_cluster.hpp"

#include <algorithm>
#include <functional>
#include <sstream>
#include <type_traits>

#include "util/assert.hpp"
#include "util/crc32c.hpp"

namespace raft::sim {

using core::Message;
using core::Ready;

std::string describe(const Message& m) {
  std::ostringstream os;
  os << m.from << "->" << m.to << " t" << m.term << " " << core::message_type_name(m.body);
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, core::RequestVote>) {
          os << (b.pre_vote ? " pre" : "") << (b.transfer ? " transfer" : "") << " last=" << b.last_log_index
             << "/" << b.last_log_term;
        } else if constexpr (std::is_same_v<T, core::RequestVoteResponse>) {
          os << (b.pre_vote ? " pre" : "") << (b.granted ? " granted" : " rejected");
        } else if constexpr (std::is_same_v<T, core::AppendEntries>) {
          os << " prev=" << b.prev_log_index << "/" << b.prev_log_term << " n=" << b.entries.size()
             << " commit=" << b.leader_commit;
        } else if constexpr (std::is_same_v<T, core::AppendEntriesResponse>) {
          if (b.success) os << " ok match=" << b.match_index;
          else
            os << " reject " << b.rejected_index << " hint=" << b.conflict_index << "/" << b.conflict_term;
        } else if constexpr (std::is_same_v<T, core::Heartbeat>) {
          os << " commit=" << b.commit << " round=" << b.read_round;
        } else if constexpr (std::is_same_v<T, core::HeartbeatResponse>) {
          os << " round=" << b.read_round;
        } else if constexpr (std::is_same_v<T, core::InstallSnapshot>) {
          os << " snap=" << b.last_index << "/" << b.last_term << " off=" << b.offset << " n=" << b.data.size()
             << "/" << b.size_bytes << (b.last ? " last" : "");
        } else if constexpr (std::is_same_v<T, core::InstallSnapshotResponse>) {
          os << " snap=" << b.last_index << " next=" << b.next_offset << (b.installed ? " installed" : "");
        }
      },
      m.body);
  return os.str();
}

uint64_t StateMachine::digest() const { return std::hash<std::string>()(snapshot()); }

SimCluster::SimCluster(SimOptions options) : options_(std::move(options)), rng_(options_.seed) {
  RAFT_ASSERT(options_.nodes >= 1);
  RAFT_ASSERT(options_.make_state_machine != nullptr);
  invariants_.set_clock(&now_);
  reference_ = options_.make_state_machine();
  invariants_.reference_state(Index(0), reference_->digest());
  // Every node is bootstrapped with the same configuration entry at
  // index 1, as the runtime's bootstrap does.
  Configuration conf;
  for (int i = 1; i <= options_.nodes; ++i)
    conf.servers.push_back({NodeId(static_cast<uint64_t>(i)), "sim:" + std::to_string(i), ServerRole::kVoter});
  Entry first{Index(1), Term(1), EntryType::kConfiguration, encode_configuration(conf)};
  for (int i = 1; i <= options_.nodes; ++i) {
    Node& n = new_node();
    n.disk.hs = HardState{Term(1), kNoNode};
    n.disk.log.append(first);
  }
  for (auto& n : nodes_) start_node(*n);
}

SimCluster::Node& SimCluster::new_node() {
  auto n = std::make_unique<Node>();
  n->id = NodeId(nodes_.size() + 1);
  int64_t span = options_.drift_ppm_max;
  n->drift_ppm = span == 0 ? 0 : static_cast<int64_t>(rng_.below(static_cast<uint64_t>(2 * span + 1))) - span;
  nodes_.push_back(std::move(n));
  return *nodes_.back();
}

NodeId SimCluster::add_node() {
  Node& n = new_node();
  ++stats_.nodes_added;
  trace("node " + std::to_string(n.id.value) + " added (empty, not bootstrapped)");
  start_node(n);
  return n.id;
}

SimCluster::~SimCluster() = default;

// ---- time ----

Nanos SimCluster::local_time(const Node& n, Nanos global) const {
  __int128 t = global.count();
  return Nanos(static_cast<int64_t>(t + t * n.drift_ppm / 1000000));
}

Nanos SimCluster::global_time(const Node& n, Nanos local) const {
  // Inverse of local_time, rounded up so that the tick is not early.
  __int128 l = local.count();
  __int128 g = (l * 1000000 + (1000000 + n.drift_ppm) - 1) / (1000000 + n.drift_ppm);
  while (local_time(n, Nanos(static_cast<int64_t>(g))) < local) ++g;
  return Nanos(static_cast<int64_t>(g));
}

void SimCluster::at(Nanos when, std::function<void()> fn) {
  events_.push(Event{std::max(when, now_), seq_++, std::move(fn)});
}

bool SimCluster::run_until(Nanos until) {
  while (!events_.empty() && !failed()) {
    if (events_.top().when > until) break;
    Event e = events_.top();
    events_.pop();
    now_ = e.when;
    ++stats_.events;
    e.fn();
  }
  if (!failed() && now_ < until) now_ = until;
  return !failed();
}

Nanos SimCluster::random_between(Nanos lo, Nanos hi) {
  if (hi <= lo) return lo;
  return lo + Nanos(static_cast<int64_t>(rng_.below(static_cast<uint64_t>((hi - lo).count()) + 1)));
}

bool SimCluster::chance(double p) {
  if (p <= 0) return false;
  return static_cast<double>(rng_.next() >> 11) * 0x1.0p-53 < p;
}

void SimCluster::trace(const std::string& line) {
  if (options_.trace) *options_.trace << now_.count() / 1000 << "us " << line << "\n";
}

// ---- nodes ----

SimCluster::Node& SimCluster::node(NodeId id) {
  RAFT_ASSERT(id.value >= 1 && id.value <= nodes_.size());
  return *nodes_[id.value - 1];
}
const SimCluster::Node& SimCluster::node(NodeId id) const {
  RAFT_ASSERT(id.value >= 1 && id.value <= nodes_.size());
  return *nodes_[id.value - 1];
}

std::vector<NodeId> SimCluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& n : nodes_) out.push_back(n->id);
  return out;
}

bool SimCluster::up(NodeId id) const { return node(id).raft != nullptr; }
bool SimCluster::retired(NodeId id) const { return node(id).retired; }
core::Raft* SimCluster::raft(NodeId id) { return node(id).raft.get(); }
StateMachine* SimCluster::state_machine(NodeId id) { return node(id).fsm.get(); }
Index SimCluster::applied(NodeId id) const { return node(id).applied; }
uint64_t SimCluster::incarnation(NodeId id) const { return node(id).incarnation; }

std::optional<NodeId> SimCluster::leader() const {
  std::optional<NodeId> best;
  Term best_term;
  for (const auto& n : nodes_) {
    if (n->raft && n->raft->role() == core::Role::kLeader && (!best || n->raft->term() > best_term)) {
      best = n->id;
      best_term = n->raft->term();
    }
  }
  return best;
}

void SimCluster::start_node(Node& n) {
  ++n.incarnation;
  core::InitialState st;
  st.hard_state = n.disk.hs;
  st.entries = n.disk.log.to_vector();
  st.commit_hint = n.disk.commit_hint;
  core::Config c = options_.core;
  c.id = n.id;
  c.seed = rng_.next();
  n.fsm = options_.make_state_machine();
  n.applied = Index(0);
  n.applied_term = Term(0);
  n.applied_config = Configuration();
  n.applied_config_index = Index(0);
  n.seen_commit = Index(0);
  n.held.clear();
  n.taking_snapshot = false;
  n.incoming.reset();
  n.snapshot_busy_until = now_;
  // As the runtime starts (node_impl.cpp): the newest snapshot restores
  // the state machine, then the log after it replays.
  if (!n.disk.snapshots.empty()) {
    const StoredSnapshot& s = n.disk.snapshots.back();
    if (!n.fsm->restore(s.bytes))
      invariants_.report("node " + std::to_string(n.id.value) + " could not restore its snapshot " + s.info.id);
    st.snapshot = s.info;
    n.applied = s.info.index;
    n.applied_term = s.info.term;
    n.applied_config = s.info.configuration;
    n.applied_config_index = s.info.configuration_index;
    ++stats_.snapshot_restarts;
    invariants_.state_restored(n.id, s.info.index, n.fsm->digest(), "restarted from");
  }
  n.raft = std::make_unique<core::Raft>(c, std::move(st), local_time(n, now_));
  // The core drops a log that does not reach, or disagrees with, the
  // snapshot (the snapshot has its own store, so it can be durable beyond
  // the log's last sync); the disk follows, or the next append would leave
  // a gap. (The runtime does not do this yet: see docs/simulator.md.)
  if (!n.disk.snapshots.empty()) {
    const core::SnapshotInfo& snap = n.disk.snapshots.back().info;
    DiskLog& dl = n.disk.log;
    bool usable = dl.last_index() >= snap.index && dl.first_index() <= snap.index + 1 &&
                  (dl.first_index() > snap.index || dl.term_at(snap.index) == snap.term);
    if (!usable) {
      trace("node " + std::to_string(n.id.value) + " drops its log " + std::to_string(dl.first_index().value) + ".." +
            std::to_string(dl.last_index().value) + ": it does not continue snapshot " + snap.id);
      dl.reset(snap.index, snap.term);
    }
  }
  invariants_.node_started(n.id, *n.raft);
  n.config_index_before = n.raft->configuration_index();
  n.commit_checked = n.raft->commit_index();
  n.commit_unchecked = false;
  trace("node " + std::to_string(n.id.value) + " starts: term " + std::to_string(n.raft->term().value) +
        " log " + std::to_string(n.raft->log().first_index().value) + ".." +
        std::to_string(n.raft->last_index().value) + " snapshot " +
        std::to_string(n.raft->latest_snapshot().index.value) + " commit " +
        std::to_string(n.raft->commit_index().value));
  process_ready(n);
}

void SimCluster::crash(NodeId id) {
  Node& n = node(id);
  if (!n.raft) return;
  ++stats_.crashes;
  // What was written but not synced: a random prefix of it reaches the
  // platter, and the last write of that prefix may be torn.
  Disk& d = n.disk;
  size_t keep = static_cast<size_t>(rng_.below(d.pending.size() + 1));
  for (size_t k = 0; k < keep; ++k) apply_disk_op(n, d.pending[k], /*torn_allowed=*/k + 1 == keep, nullptr);
  // Only committed snapshots survive; one being written or received is
  // gone (its transfer starts over).
  if (n.taking_snapshot || n.incoming) ++stats_.snapshots_lost;
  teardown(n);
  trace("node " + std::to_string(id.value) + " crashes (kept " + std::to_string(keep) + " unsynced writes)");
  if (on_crash) on_crash(id);
}

void SimCluster::teardown(Node& n) {
  Disk& d = n.disk;
  d.pending.clear();
  d.syncing = 0;
  d.hs_issued = d.hs_durable = 0;
  n.raft.reset();
  n.fsm.reset();
  n.held.clear();
  n.taking_snapshot = false;
  n.incoming.reset();
  ++n.tick_token;
  n.tick_scheduled = false;
  ++n.sync_token;
}

void SimCluster::restart(NodeId id) {
  Node& n = node(id);
  if (n.raft || n.retired) return;
  ++stats_.restarts;
  start_node(n);
}

void SimCluster::apply_disk_op(Node& n, DiskOp& op, bool torn_allowed,
                               std::optional<std::pair<Index, Term>>* appended) {
  Disk& d = n.disk;
  switch (op.kind) {
    case DiskOp::kHardState: d.hs = op.hs; break;
    case DiskOp::kTruncate: d.log.truncate_from(op.index); break;
    case DiskOp::kAppend: {
      size_t n_keep = op.entries.size();
      if (torn_allowed && n_keep > 1 && chance(0.5)) {
        n_keep = static_cast<size_t>(rng_.below(n_keep));
        ++stats_.torn_writes;
      }
      std::optional<Term> prev = d.log.last_term();
      std::vector<Entry> kept(op.entries.begin(), op.entries.begin() + static_cast<ptrdiff_t>(n_keep));
      invariants_.durable(n.id, kept, prev ? prev->value : UINT64_MAX);
      for (const Entry& e : kept) {
        if (!d.log.append(e)) {
          invariants_.report("node " + std::to_string(n.id.value) + " wrote entry " + std::to_string(e.index.value) +
                             " after its disk log's end " + std::to_string(d.log.last_index().value) +
                             " (a gap in the log)");
          return;
        }
      }
      if (appended && !kept.empty()) *appended = {kept.back().index, kept.back().term};
      break;
    }
    case DiskOp::kCommitHint: d.commit_hint = op.index; break;
    case DiskOp::kInstall:
      // As DiskWorker does: the snapshot is durable in its store already.
      if (op.keep_log) d.log.drop_prefix(op.index, op.term);
      else d.log.reset(op.index, op.term);
      break;
    case DiskOp::kCompact: d.log.drop_prefix(op.index, op.term); break;
  }
}

// ---- one input ----

template <class Fn>
auto SimCluster::input(Node& n, Fn&& fn) {
  n.raft->tick(local_time(n, now_));
  if constexpr (std::is_void_v<std::invoke_result_t<Fn&>>) {
    fn();
    stepped(n);
    process_ready(n);
  } else {
    auto r = fn();
    stepped(n);
    process_ready(n);
    return r;
  }
}

// ---- the Ready contract ----

void SimCluster::stepped(Node& n) {
  invariants_.after_step(n.id, *n.raft);
  check_commit(n);
  if (n.raft->role() == core::Role::kLeader &&
      stats_.leader_of_term.try_emplace(n.raft->term().value, n.id.value).second) {
    trace("node " + std::to_string(n.id.value) + " is leader of term " +
          std::to_string(n.raft->term().value));
    if (on_leader) on_leader(n.id, n.raft->term());
  }
  if (n.raft->commit_index() > n.seen_commit) {
    n.seen_commit = n.raft->commit_index();
    if (n.raft->role() == core::Role::kLeader && on_leader_commit) on_leader_commit(n.id, n.seen_commit);
    // Thesis 4.2.2: once its removal committed, a server may shut down
    // (the runtime's shutdown_on_remove). Out of this input's way.
    if (options_.shutdown_on_remove && n.raft->removed_from_cluster()) {
      NodeId id = n.id;
      uint64_t inc = n.incarnation;
      at(now_, [this, id, inc] {
        Node& m = node(id);
        if (!m.raft || m.incarnation != inc || m.retired) return;
        trace("node " + std::to_string(id.value) + " retires: its removal committed");
        teardown(m);
        m.retired = true;
        ++stats_.nodes_retired;
        if (on_crash) on_crash(id);
      });
    }
  }
}

namespace {

// The configuration whose entry is at i, if the node still knows it.
std::optional<Configuration> configuration_at(const core::Raft& r, Index i) {
  if (i == r.configuration_index()) return r.configuration();
  if (i >= r.log().first_index() && i <= r.last_index()) {
    const Entry& e = r.log().at(i);
    Configuration c;
    if (e.type == EntryType::kConfiguration && decode_configuration(e.data.span(), &c)) return c;
  }
  if (i == r.latest_snapshot().configuration_index) return r.latest_snapshot().configuration;
  return std::nullopt;
}

}  // namespace

void SimCluster::check_commit(Node& n) {
  core::Raft& r = *n.raft;
  Index c = r.commit_index();
  if (r.role() == core::Role::kLeader && c > n.commit_checked && !n.commit_unchecked) {
    // The configuration the leader decided with is the one it had before
    // this input: configurations a leader appends in an input (a
    // promotion, C_new) come after the commit that allows them.
    std::optional<Term> t = r.log().term_at(c);
    std::optional<Configuration> conf = configuration_at(r, n.config_index_before);
    if (t && conf)
      invariants_.leader_committed(n.id, c, *t, *conf, [&](NodeId x) { return holds_durably(x, c, *t); });
  }
  n.commit_unchecked = false;
  n.commit_checked = c;
  n.config_index_before = r.configuration_index();
}

bool SimCluster::holds_durably(NodeId id, Index index, Term term) const {
  if (id.value < 1 || id.value > nodes_.size()) return false;
  const Node& m = node(id);
  if (durable_snapshot_index(m) >= index) return true;
  return m.disk.log.term_at(index) == term;
}

Index SimCluster::durable_snapshot_index(const Node& n) const {
  return n.disk.snapshots.empty() ? Index(0) : n.disk.snapshots.back().info.index;
}

void SimCluster::feed_reference(const Entry& e) {
  if (e.index != invariants_.reference_index() + 1) return;
  reference_->apply(e);
  invariants_.reference_state(e.index, reference_->digest());
}

void SimCluster::process_ready(Node& n) {
  while (n.raft && n.raft->has_ready()) {
    Ready rd = n.raft->take_ready();
    invariants_.ready(n.id, *n.raft, rd);
    Disk& d = n.disk;
    // Rule 8: an install comes before this Ready's log writes and its
    // committed entries (which follow the snapshot).
    if (rd.install) install(n, *rd.install);
    if (rd.hard_state) {
      d.pending.push_back({DiskOp::kHardState, *rd.hard_state, Index(0), {}, Term(0), false});
      ++d.hs_issued;
    }
    if (rd.truncate_from) d.pending.push_back({DiskOp::kTruncate, {}, *rd.truncate_from, {}, Term(0), false});
    if (!rd.entries.empty()) d.pending.push_back({DiskOp::kAppend, {}, Index(0), rd.entries, Term(0), false});
    if (rd.commit_hint) d.pending.push_back({DiskOp::kCommitHint, {}, *rd.commit_hint, {}, Term(0), false});
    if (rd.compact_to) {
      // Done last, as DiskWorker does; it may be lost in a crash (the
      // snapshot covers the prefix either way).
      Index to = *rd.compact_to;
      invariants_.compacted(n.id, *n.raft, to, durable_snapshot_index(n));
      d.pending.push_back({DiskOp::kCompact, {}, to, {}, n.raft->log().term_at(to).value_or(Term(0)), false});
      ++stats_.compactions;
    }
    maybe_start_sync(n);

    // Rule 1: messages wait for the hard state written before them.
    if (d.hs_issued > d.hs_durable) {
      if (!rd.messages.empty()) n.held.push_back({d.hs_issued, std::move(rd.messages)});
    } else {
      send(n, std::move(rd.messages));
    }

    for (const Entry& e : rd.committed) {
      if (e.index != n.applied + 1) {
        invariants_.report("node " + std::to_string(n.id.value) + " was handed entry " + std::to_string(e.index.value) +
                           " to apply after " + std::to_string(n.applied.value));
        return;
      }
      n.applied = e.index;
      n.applied_term = e.term;
      if (e.type == EntryType::kConfiguration && decode_configuration(e.data.span(), &n.applied_config))
        n.applied_config_index = e.index;
      invariants_.applied(n.id, e);
      feed_reference(e);
      std::string result = n.fsm->apply(e);
      invariants_.state_applied(n.id, e.index, n.fsm->digest());
      if (on_apply) on_apply(n.id, e, result);
      if (!n.raft) return;  // an observer crashed the node
    }
    for (const core::ReadState& r : rd.reads) {
      if (on_read) on_read(n.id, r);
      if (!n.raft) return;
    }
    for (const core::RequestResult& r : rd.done) {
      trace("node " + std::to_string(n.id.value) + " request " + std::to_string(r.id) + " done: " +
            r.status.to_string());
      if (on_done) on_done(n.id, r);
      if (!n.raft) return;
    }
    // Snapshot I/O runs on the node's snapshot thread (node_snapshots.cpp).
    for (const core::SnapshotRead& r : rd.snapshot_reads)
      on_snapshot_thread(n, [this, r](Node& m) { read_snapshot_chunk(m, r); });
    for (core::SnapshotChunk& c : rd.snapshot_chunks)
      on_snapshot_thread(n, [this, c = std::move(c)](Node& m) { receive_snapshot_chunk(m, c); });
    maybe_snapshot(n);
    stepped(n);
  }
  // Every input may move the deadline, whether or not it produced output.
  if (n.raft) schedule_tick(n, n.raft->next_deadline());
}

void SimCluster::schedule_tick(Node& n, Nanos local_deadline) {
  if (n.tick_scheduled && n.tick_deadline == local_deadline) return;
  n.tick_scheduled = true;
  n.tick_deadline = local_deadline;
  uint64_t token = ++n.tick_token;
  NodeId id = n.id;
  at(global_time(n, local_deadline), [this, id, token] {
    Node& n = node(id);
    if (!n.raft || n.tick_token != token) return;
    n.tick_scheduled = false;
    n.raft->tick(local_time(n, now_));
    stepped(n);
    process_ready(n);
  });
}

void SimCluster::maybe_start_sync(Node& n) {
  Disk& d = n.disk;
  if (d.syncing > 0 || d.pending.empty()) return;
  d.syncing = d.pending.size();  // group commit: everything written so far
  Nanos latency = random_between(options_.disk.sync_min, options_.disk.sync_max);
  if (chance(options_.disk.stall)) latency += random_between(Nanos(0), options_.disk.stall_max);
  uint64_t token = ++n.sync_token;
  NodeId id = n.id;
  at(now_ + latency, [this, id, token] { finish_sync(id, token); });
}

void SimCluster::finish_sync(NodeId id, uint64_t token) {
  Node& n = node(id);
  if (!n.raft || n.sync_token != token) return;
  ++stats_.syncs;
  Disk& d = n.disk;
  std::optional<std::pair<Index, Term>> last_appended;
  for (size_t k = 0; k < d.syncing; ++k) {
    DiskOp& op = d.pending.front();
    if (op.kind == DiskOp::kHardState) ++d.hs_durable;
    apply_disk_op(n, op, /*torn_allowed=*/false, &last_appended);
    d.pending.pop_front();
  }
  d.syncing = 0;
  // Release messages whose hard state is now durable.
  while (!n.held.empty() && n.held.front().hs_seq <= d.hs_durable) {
    std::vector<Message> msgs = std::move(n.held.front().messages);
    n.held.pop_front();
    send(n, std::move(msgs));
  }
  if (last_appended) {
    n.raft->persisted(last_appended->first, last_appended->second);
    stepped(n);
  }
  maybe_start_sync(n);
  process_ready(n);
}

// ---- network ----

bool SimCluster::can_reach(NodeId from, NodeId to) const { return !blocked_.count({from, to}); }

void SimCluster::partition(const std::vector<std::vector<NodeId>>& groups) {
  ++stats_.partitions;
  for (size_t a = 0; a < groups.size(); ++a)
    for (size_t b = 0; b < groups.size(); ++b)
      if (a != b)
        for (NodeId x : groups[a])
          for (NodeId y : groups[b]) blocked_.insert({x, y});
  std::string desc;
  for (const auto& g : groups) {
    desc += " {";
    for (NodeId id : g) desc += " " + std::to_string(id.value);
    desc += " }";
  }
  trace("partition" + desc);
}

void SimCluster::block(NodeId from, NodeId to) {
  ++stats_.partitions;
  blocked_.insert({from, to});
  trace("block " + std::to_string(from.value) + "->" + std::to_string(to.value));
}

void SimCluster::heal() {
  blocked_.clear();
  trace("heal");
}

void SimCluster::send(Node& n, std::vector<Message> msgs) {
  for (Message& m : msgs) {
    invariants_.sent(m, n.disk.hs, n.disk.log, durable_snapshot_index(n), *n.raft);
    ++stats_.messages_sent;
    if (chance(options_.network.drop)) {
      ++stats_.messages_dropped;
      continue;
    }
    int copies = chance(options_.network.duplicate) ? 2 : 1;
    if (copies == 2) ++stats_.messages_duplicated;
    for (int c = 0; c < copies; ++c) {
      Nanos delay = random_between(options_.network.delay_min, options_.network.delay_max);
      if (chance(options_.network.long_delay))
        delay += random_between(Nanos(0), options_.network.long_delay_max);
      auto shared = std::make_shared<Message>(c + 1 == copies ? std::move(m) : m);
      at(now_ + delay, [this, shared] { deliver(*shared); });
    }
  }
}

void SimCluster::deliver(const Message& m) {
  if (m.to.value < 1 || m.to.value > nodes_.size()) return;
  Node& n = node(m.to);
  if (!n.raft || !can_reach(m.from, m.to)) {
    ++stats_.messages_dropped;
    return;
  }
  if (options_.trace) trace(describe(m));
  n.raft->tick(local_time(n, now_));
  n.raft->receive(m);
  stepped(n);
  process_ready(n);
}

// ---- clients ----

Result<core::LogPosition> SimCluster::propose(NodeId at_node, Buffer command) {
  Node& n = node(at_node);
  if (!n.raft) return Status(ErrorCode::kShutdown, "node is down");
  return input(n, [&] { return n.raft->propose(EntryType::kCommand, std::move(command)); });
}

void SimCluster::read_index(NodeId at_node, uint64_t read_id) {
  Node& n = node(at_node);
  if (!n.raft) return;
  input(n, [&] { n.raft->read_index(read_id); });
}

Status SimCluster::change_membership(NodeId at_node, uint64_t request_id, const core::ConfChange& change) {
  Node& n = node(at_node);
  if (!n.raft) return Status(ErrorCode::kShutdown, "node is down");
  Status s = input(n, [&] { return n.raft->change_membership(request_id, change); });
  if (s.ok()) ++stats_.membership_proposed;
  static const char* const kTypes[] = {"add voter", "add non-voter", "remove", "demote"};
  trace("node " + std::to_string(at_node.value) + " request " + std::to_string(request_id) + ": " +
        kTypes[static_cast<int>(change.type)] + " " + std::to_string(change.id.value) + ": " + s.to_string() +
        " (configuration " + (n.raft ? n.raft->configuration().to_string() : "?") + ")");
  return s;
}

Status SimCluster::change_configuration(NodeId at_node, uint64_t request_id, const Configuration& target) {
  Node& n = node(at_node);
  if (!n.raft) return Status(ErrorCode::kShutdown, "node is down");
  Status s = input(n, [&] { return n.raft->change_configuration(request_id, target); });
  if (s.ok()) ++stats_.membership_proposed;
  trace("node " + std::to_string(at_node.value) + " request " + std::to_string(request_id) + ": change to " +
        target.to_string() + ": " + s.to_string());
  return s;
}

Status SimCluster::transfer_leadership(NodeId at_node, uint64_t request_id, NodeId target) {
  Node& n = node(at_node);
  if (!n.raft) return Status(ErrorCode::kShutdown, "node is down");
  Status s = input(n, [&] { return n.raft->transfer_leadership(request_id, target); });
  if (s.ok()) ++stats_.transfers_proposed;
  trace("node " + std::to_string(at_node.value) + " request " + std::to_string(request_id) + ": transfer to " +
        std::to_string(target.value) + ": " + s.to_string());
  return s;
}

Status SimCluster::restore_snapshot(NodeId at_node) {
  Node& n = node(at_node);
  if (!n.raft) return Status(ErrorCode::kShutdown, "node is down");
  return input(n, [&]() -> Status {
    core::Raft& r = *n.raft;
    if (r.role() != core::Role::kLeader) return Status(ErrorCode::kNotLeader, "not leader");
    // Only with nothing uncommitted or unapplied: then the node's state is
    // the state after its whole log, and restoring it changes nothing a
    // client could see (the restore point holds no entry).
    if (r.transferring() || r.commit_index() != r.last_index() || n.applied != r.last_index() ||
        invariants_.reference_index() != r.last_index())
      return Status(ErrorCode::kBusy, "entries are uncommitted or unapplied");
    // As Node::restore does: store the snapshot first, then hand it over.
    StoredSnapshot s;
    s.info.index = r.last_index() + 1;
    s.info.term = r.term();
    s.info.configuration = r.configuration();
    s.info.configuration_index = r.configuration_index();
    s.bytes = n.fsm->snapshot();
    s.info.size_bytes = s.bytes.size();
    s.info.crc32c = crc32c(s.bytes);
    s.info.id = "n" + std::to_string(n.id.value) + ".u" + std::to_string(++n.snapshot_seq);
    core::SnapshotInfo info = s.info;
    commit_snapshot(n, std::move(s));
    auto pos = r.restore_snapshot(info);
    if (!pos.ok()) {
      std::erase_if(n.disk.snapshots, [&](const StoredSnapshot& x) { return x.info.id == info.id; });
      return pos.status();
    }
    ++stats_.user_restores;
    trace("node " + std::to_string(n.id.value) + " restores a user snapshot at " + std::to_string(info.index.value));
    invariants_.reference_skip(info.index);
    invariants_.log_replaced(n.id, r);
    n.commit_unchecked = true;  // the user's word, not a quorum, commits it
    return Status();
  });
}

// ---- snapshots ----

const SimCluster::StoredSnapshot* SimCluster::find_snapshot(const Node& n, const std::string& id) const {
  for (const StoredSnapshot& s : n.disk.snapshots)
    if (s.info.id == id) return &s;
  return nullptr;
}

void SimCluster::commit_snapshot(Node& n, StoredSnapshot s) {
  // Committed: durable and visible (a crash keeps it). Kept by index, so
  // that a restart restores the one that covers the most.
  std::vector<StoredSnapshot>& all = n.disk.snapshots;
  auto pos = std::upper_bound(all.begin(), all.end(), s.info.index,
                              [](Index i, const StoredSnapshot& x) { return i < x.info.index; });
  all.insert(pos, std::move(s));
  // Retention: the oldest go, but never the snapshot the core serves
  // followers from (it would ask for chunks of it).
  const std::string& in_use = n.raft ? n.raft->latest_snapshot().id : std::string();
  for (size_t k = 0; all.size() > static_cast<size_t>(std::max(1, options_.snapshots.retain)) && k < all.size();) {
    if (all[k].info.id == in_use || k + 1 == all.size()) {
      ++k;
      continue;
    }
    all.erase(all.begin() + static_cast<ptrdiff_t>(k));
  }
}

void SimCluster::on_snapshot_thread(Node& n, std::function<void(Node&)> task) {
  const SnapshotPolicy& p = options_.snapshots;
  Nanos latency = random_between(p.io_min, p.io_max);
  if (chance(p.stall)) latency += random_between(Nanos(0), p.stall_max);
  n.snapshot_busy_until = std::max(now_, n.snapshot_busy_until) + latency;
  NodeId id = n.id;
  uint64_t inc = n.incarnation;
  at(n.snapshot_busy_until, [this, id, inc, task = std::move(task)] {
    Node& m = node(id);
    if (!m.raft || m.incarnation != inc) return;  // crashed meanwhile: the task is gone
    task(m);
  });
}

void SimCluster::maybe_snapshot(Node& n) {
  const SnapshotPolicy& p = options_.snapshots;
  if (!p.enabled || !n.raft || n.taking_snapshot) return;
  Index last = durable_snapshot_index(n);
  if (n.applied <= last) return;
  if (n.applied.value - last.value >= p.threshold || chance(p.chance)) take_snapshot(n.id);
}

void SimCluster::take_snapshot(NodeId id) {
  Node& n = node(id);
  if (!n.raft || n.taking_snapshot || n.applied == Index(0) || n.applied <= durable_snapshot_index(n)) return;
  // Thesis 5.2: the state is copied at once, between two applies; writing
  // it out takes a while, during which a crash loses it.
  StoredSnapshot s;
  s.info.index = n.applied;
  s.info.term = n.applied_term;
  s.info.configuration = n.applied_config;
  s.info.configuration_index = n.applied_config_index;
  s.bytes = n.fsm->snapshot();
  s.info.size_bytes = s.bytes.size();
  s.info.crc32c = crc32c(s.bytes);
  n.taking_snapshot = true;
  trace("node " + std::to_string(id.value) + " starts a snapshot at " + std::to_string(s.info.index.value));
  on_snapshot_thread(n, [this, s = std::move(s)](Node& m) mutable {
    m.taking_snapshot = false;
    s.info.id = "n" + std::to_string(m.id.value) + ".s" + std::to_string(++m.snapshot_seq);
    core::SnapshotInfo info = s.info;
    commit_snapshot(m, std::move(s));
    ++stats_.snapshots_taken;
    trace("node " + std::to_string(m.id.value) + " took snapshot " + info.id + " at " +
          std::to_string(info.index.value));
    input(m, [&] { m.raft->snapshot_taken(info); });
  });
  if (on_snapshot_io) on_snapshot_io(id);
}

void SimCluster::install(Node& n, const core::Ready::Install& ins) {
  const core::SnapshotInfo& info = ins.info;
  const StoredSnapshot* s = find_snapshot(n, info.id);
  if (!s) {
    invariants_.report("node " + std::to_string(n.id.value) + " was told to install snapshot " + info.id +
                       ", which its store does not hold");
    return;
  }
  if (!n.fsm->restore(s->bytes)) {
    invariants_.report("node " + std::to_string(n.id.value) + " could not restore snapshot " + info.id);
    return;
  }
  n.applied = info.index;
  n.applied_term = info.term;
  n.applied_config = info.configuration;
  n.applied_config_index = info.configuration_index;
  invariants_.state_restored(n.id, info.index, n.fsm->digest(), "installed");
  n.disk.pending.push_back({DiskOp::kInstall, {}, info.index, {}, info.term, ins.keep_log});
  ++stats_.snapshots_installed;
  trace("node " + std::to_string(n.id.value) + " installs snapshot " + info.id + " at " +
        std::to_string(info.index.value) + (ins.keep_log ? " (keeps its log)" : ""));
  if (on_install) on_install(n.id, info.index);
}

void SimCluster::read_snapshot_chunk(Node& n, const core::SnapshotRead& r) {
  const StoredSnapshot* s = find_snapshot(n, r.id);
  if (!s || r.offset > s->bytes.size()) {
    input(n, [&] {
      n.raft->snapshot_chunk_read(r.peer, r.id, r.offset, Buffer(), false,
                                  Status(ErrorCode::kNotFound, "snapshot " + r.id + " is gone"));
    });
    return;
  }
  size_t got = std::min<size_t>(r.bytes_max, s->bytes.size() - r.offset);
  bool last = r.offset + got >= s->bytes.size();
  Buffer data = Buffer::copy_of(s->bytes.data() + r.offset, got);
  ++stats_.snapshot_chunks_sent;
  input(n, [&] { n.raft->snapshot_chunk_read(r.peer, r.id, r.offset, data, last, Status()); });
}

void SimCluster::receive_snapshot_chunk(Node& n, const core::SnapshotChunk& c) {
  // As Node::Impl::receive_snapshot_chunk: chunks are written in order to
  // an uncommitted file, verified at the end, then committed.
  core::SnapshotInfo info = c.info;
  auto answer = [&](const core::SnapshotInfo& i, uint64_t next, bool installed, const Status& st) {
    input(n, [&] { n.raft->snapshot_chunk_written(c.from, i, next, installed, st); });
  };
  if (c.offset == 0 || !n.incoming || n.incoming->index != info.index || n.incoming->term != info.term) {
    if (c.offset != 0) return answer(info, 0, false, Status());  // ask for the start
    n.incoming = Incoming{c.from, info.index, info.term, std::string(), 0};
    if (on_snapshot_io) on_snapshot_io(n.id);
  }
  Incoming& in = *n.incoming;
  if (c.offset != in.bytes.size()) return answer(info, in.bytes.size(), false, Status());  // resume
  in.bytes.append(c.data.view());
  in.crc = crc32c_extend(in.crc, c.data.data(), c.data.size());
  ++stats_.snapshot_chunks_received;
  if (!c.last) return answer(info, in.bytes.size(), false, Status());
  if (in.bytes.size() != info.size_bytes || in.crc != info.crc32c) {
    n.incoming.reset();
    return answer(info, 0, false, Status(ErrorCode::kCorruption, "received snapshot failed its checksum"));
  }
  StoredSnapshot s{info, std::move(in.bytes)};
  n.incoming.reset();
  s.info.id = "n" + std::to_string(n.id.value) + ".r" + std::to_string(++n.snapshot_seq);
  core::SnapshotInfo stored = s.info;
  commit_snapshot(n, std::move(s));
  answer(stored, stored.size_bytes, true, Status());
}

}  // namespace raft::sim
