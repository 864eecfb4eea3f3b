#include "sim/sim_cluster.hpp"

#include <algorithm>
#include <sstream>

#include "util/assert.hpp"

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
        }
      },
      m.body);
  return os.str();
}

SimCluster::SimCluster(SimOptions options) : options_(std::move(options)), rng_(options_.seed) {
  RAFT_ASSERT(options_.nodes >= 1);
  RAFT_ASSERT(options_.make_state_machine != nullptr);
  invariants_.set_clock(&now_);
  // Every node is bootstrapped with the same configuration entry at
  // index 1, as the runtime's bootstrap does.
  Configuration conf;
  for (int i = 1; i <= options_.nodes; ++i)
    conf.servers.push_back({NodeId(static_cast<uint64_t>(i)), "sim:" + std::to_string(i), ServerRole::kVoter});
  Entry first{Index(1), Term(1), EntryType::kConfiguration, encode_configuration(conf)};
  for (int i = 1; i <= options_.nodes; ++i) {
    auto n = std::make_unique<Node>();
    n->id = NodeId(static_cast<uint64_t>(i));
    int64_t span = options_.drift_ppm_max;
    n->drift_ppm = span == 0 ? 0 : static_cast<int64_t>(rng_.below(static_cast<uint64_t>(2 * span + 1))) - span;
    n->disk.hs = HardState{Term(1), kNoNode};
    n->disk.log.push_back(first);
    nodes_.push_back(std::move(n));
  }
  for (auto& n : nodes_) start_node(*n);
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
  st.entries = n.disk.log;
  st.commit_hint = n.disk.commit_hint;
  core::Config c = options_.core;
  c.id = n.id;
  c.seed = rng_.next();
  n.fsm = options_.make_state_machine();
  n.applied = Index(0);
  n.seen_commit = Index(0);
  n.held.clear();
  n.raft = std::make_unique<core::Raft>(c, std::move(st), local_time(n, now_));
  invariants_.node_started(n.id, *n.raft);
  trace("node " + std::to_string(n.id.value) + " starts: term " + std::to_string(n.raft->term().value) +
        " log " + std::to_string(n.raft->last_index().value) + " commit " +
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
  for (size_t k = 0; k < keep; ++k) {
    DiskOp& op = d.pending[k];
    bool last = k + 1 == keep;
    switch (op.kind) {
      case DiskOp::kHardState: d.hs = op.hs; break;
      case DiskOp::kTruncate:
        if (op.index.value <= d.log.size()) d.log.resize(op.index.value - 1);
        break;
      case DiskOp::kAppend: {
        size_t n_keep = op.entries.size();
        if (last && n_keep > 1 && chance(0.5)) {
          n_keep = static_cast<size_t>(rng_.below(n_keep));
          ++stats_.torn_writes;
        }
        invariants_.durable(id, std::vector<Entry>(op.entries.begin(), op.entries.begin() + static_cast<ptrdiff_t>(n_keep)),
                            d.log.empty() ? 0 : d.log.back().term.value);
        for (size_t e = 0; e < n_keep; ++e) {
          RAFT_ASSERT(op.entries[e].index.value == d.log.size() + 1);
          d.log.push_back(op.entries[e]);
        }
        break;
      }
      case DiskOp::kCommitHint: d.commit_hint = op.index; break;
    }
  }
  d.pending.clear();
  d.syncing = 0;
  d.hs_issued = d.hs_durable = 0;
  n.raft.reset();
  n.fsm.reset();
  n.held.clear();
  ++n.tick_token;
  n.tick_scheduled = false;
  ++n.sync_token;
  trace("node " + std::to_string(id.value) + " crashes (kept " + std::to_string(keep) + " unsynced writes)");
  if (on_crash) on_crash(id);
}

void SimCluster::restart(NodeId id) {
  Node& n = node(id);
  if (n.raft) return;
  ++stats_.restarts;
  start_node(n);
}

// ---- the Ready contract ----

void SimCluster::stepped(Node& n) {
  invariants_.after_step(n.id, *n.raft);
  if (n.raft->role() == core::Role::kLeader &&
      stats_.leader_of_term.try_emplace(n.raft->term().value, n.id.value).second) {
    trace("node " + std::to_string(n.id.value) + " is leader of term " +
          std::to_string(n.raft->term().value));
    if (on_leader) on_leader(n.id, n.raft->term());
  }
  if (n.raft->commit_index() > n.seen_commit) {
    n.seen_commit = n.raft->commit_index();
    if (n.raft->role() == core::Role::kLeader && on_leader_commit) on_leader_commit(n.id, n.seen_commit);
  }
}

void SimCluster::process_ready(Node& n) {
  while (n.raft && n.raft->has_ready()) {
    Ready rd = n.raft->take_ready();
    invariants_.ready(n.id, *n.raft, rd);
    Disk& d = n.disk;
    if (rd.hard_state) {
      d.pending.push_back({DiskOp::kHardState, *rd.hard_state, Index(0), {}});
      ++d.hs_issued;
    }
    if (rd.truncate_from) d.pending.push_back({DiskOp::kTruncate, {}, *rd.truncate_from, {}});
    if (!rd.entries.empty()) d.pending.push_back({DiskOp::kAppend, {}, Index(0), rd.entries});
    if (rd.commit_hint) d.pending.push_back({DiskOp::kCommitHint, {}, *rd.commit_hint, {}});
    maybe_start_sync(n);

    // Rule 1: messages wait for the hard state written before them.
    if (d.hs_issued > d.hs_durable) {
      if (!rd.messages.empty()) n.held.push_back({d.hs_issued, std::move(rd.messages)});
    } else {
      send(n, std::move(rd.messages));
    }

    for (const Entry& e : rd.committed) {
      RAFT_ASSERT_MSG(e.index == n.applied + 1, "committed entries out of order");
      n.applied = e.index;
      invariants_.applied(n.id, e);
      std::string result = n.fsm->apply(e);
      if (on_apply) on_apply(n.id, e, result);
      if (!n.raft) return;  // an observer crashed the node
    }
    for (const core::ReadState& r : rd.reads) {
      if (on_read) on_read(n.id, r);
      if (!n.raft) return;
    }
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
    switch (op.kind) {
      case DiskOp::kHardState:
        d.hs = op.hs;
        ++d.hs_durable;
        break;
      case DiskOp::kTruncate:
        if (op.index.value <= d.log.size()) d.log.resize(op.index.value - 1);
        break;
      case DiskOp::kAppend:
        invariants_.durable(id, op.entries, d.log.empty() ? 0 : d.log.back().term.value);
        for (Entry& e : op.entries) {
          RAFT_ASSERT(e.index.value == d.log.size() + 1);
          d.log.push_back(std::move(e));
        }
        last_appended = {d.log.back().index, d.log.back().term};
        break;
      case DiskOp::kCommitHint: d.commit_hint = op.index; break;
    }
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
    invariants_.sent(m, n.disk.hs, n.disk.log, *n.raft);
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
  n.raft->tick(local_time(n, now_));
  auto r = n.raft->propose(EntryType::kCommand, std::move(command));
  stepped(n);
  process_ready(n);
  return r;
}

void SimCluster::read_index(NodeId at_node, uint64_t read_id) {
  Node& n = node(at_node);
  if (!n.raft) return;
  n.raft->tick(local_time(n, now_));
  n.raft->read_index(read_id);
  stepped(n);
  process_ready(n);
}

}  // namespace raft::sim
