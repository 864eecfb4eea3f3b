#include "sim/kv.hpp"

#include "util/assert.hpp"
#include "util/coding.hpp"

namespace raft::sim {

Buffer encode_kv(const KvCommand& c) {
  std::string out;
  put_u8(&out, static_cast<uint8_t>(c.op));
  put_varint(&out, c.client);
  put_varint(&out, c.seq);
  put_bytes(&out, c.key);
  put_bytes(&out, c.value);
  put_bytes(&out, c.expected);
  return Buffer::from_string(std::move(out));
}

bool decode_kv(std::span<const uint8_t> bytes, KvCommand* out) {
  Reader r(bytes);
  out->op = static_cast<KvCommand::Op>(r.u8());
  out->client = r.varint();
  out->seq = r.varint();
  out->key = std::string(r.length_prefixed(1 << 20));
  out->value = std::string(r.length_prefixed(1 << 20));
  out->expected = std::string(r.length_prefixed(1 << 20));
  return r.ok() && r.remaining() == 0;
}

std::string KvStateMachine::apply(const Entry& e) {
  if (e.type != EntryType::kCommand) return "";
  KvCommand c;
  RAFT_ASSERT_MSG(decode_kv(e.data.span(), &c), "undecodable command");
  ++applied_commands_;
  switch (c.op) {
    case KvCommand::Op::kPut: data_[c.key] = c.value; return "ok";
    case KvCommand::Op::kDelete: data_.erase(c.key); return "ok";
    case KvCommand::Op::kCas: {
      auto it = data_.find(c.key);
      if (it != data_.end() && it->second == c.expected) {
        it->second = c.value;
        return "swapped";
      }
      return "kept";
    }
  }
  return "";
}

std::string KvStateMachine::snapshot() const {
  std::string out;
  put_varint(&out, applied_commands_);
  put_varint(&out, data_.size());
  for (const auto& [k, v] : data_) {
    put_bytes(&out, k);
    put_bytes(&out, v);
  }
  return out;
}

bool KvStateMachine::restore(std::string_view bytes) {
  Reader r(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  std::map<std::string, std::string> data;
  uint64_t applied = r.varint();
  uint64_t n = r.varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string k(r.length_prefixed(1 << 20));
    std::string v(r.length_prefixed(1 << 20));
    data.emplace(std::move(k), std::move(v));
  }
  if (!r.ok() || r.remaining() != 0) return false;
  data_ = std::move(data);
  applied_commands_ = applied;
  return true;
}

uint64_t KvStateMachine::digest() const {
  // FNV-1a over the state snapshot() writes out, without building its
  // bytes (this runs after every apply on every node).
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ULL;
  };
  mix(&applied_commands_, sizeof applied_commands_);
  for (const auto& [k, v] : data_) {
    uint64_t lens[2] = {k.size(), v.size()};
    mix(lens, sizeof lens);
    mix(k.data(), k.size());
    mix(v.data(), v.size());
  }
  return h;
}

std::optional<std::string> KvStateMachine::get(const std::string& key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

KvWorkload::KvWorkload(SimCluster& cluster, WorkloadOptions options)
    : cluster_(cluster), options_(options) {
  for (int i = 0; i < options_.clients; ++i) {
    Client c;
    c.id = static_cast<uint64_t>(i + 1);
    clients_.push_back(c);
  }
  cluster_.on_apply = [this](NodeId n, const Entry& e, const std::string& r) { on_apply(n, e, r); };
  cluster_.on_read = [this](NodeId n, const core::ReadState& rs) { on_read(n, rs); };
  cluster_.on_crash = [this](NodeId n) { on_crash(n); };
  cluster_.on_install = [this](NodeId n, Index i) { on_install(n, i); };
}

void KvWorkload::start(Nanos when) {
  for (Client& c : clients_) {
    uint64_t id = c.id;
    cluster_.at(when, [this, id] { issue(clients_[id - 1]); });
  }
}

void KvWorkload::schedule_next(Client& c) {
  if (stopped_) return;
  uint64_t id = c.id;
  Nanos think(static_cast<int64_t>(cluster_.rng().below(static_cast<uint64_t>(options_.think_max.count()) + 1)));
  cluster_.at(cluster_.now() + think, [this, id] { issue(clients_[id - 1]); });
}

NodeId KvWorkload::pick_node(Client& c) {
  if (c.leader_hint != kNoNode && cluster_.up(c.leader_hint)) return c.leader_hint;
  std::vector<NodeId> up;
  for (NodeId id : cluster_.ids())
    if (cluster_.up(id)) up.push_back(id);
  if (up.empty()) return kNoNode;
  return up[cluster_.rng().below(up.size())];
}

void KvWorkload::issue(Client& c) {
  if (stopped_ || c.busy) return;
  NodeId node = pick_node(c);
  if (node == kNoNode) {
    schedule_next(c);
    return;
  }
  ClientOp op;
  op.client = c.id;
  op.key = "k" + std::to_string(cluster_.rng().below(static_cast<uint64_t>(options_.keys)));
  op.invoked = cluster_.now();
  double x = static_cast<double>(cluster_.rng().below(1000000)) / 1e6;
  if (x < options_.read_ratio) op.kind = ClientOp::Kind::kRead;
  else if (x < options_.read_ratio + options_.cas_ratio) op.kind = ClientOp::Kind::kCas;
  else if (x < options_.read_ratio + options_.cas_ratio + options_.delete_ratio) op.kind = ClientOp::Kind::kDelete;
  else op.kind = ClientOp::Kind::kPut;
  ++c.seq;
  if (op.kind == ClientOp::Kind::kPut || op.kind == ClientOp::Kind::kCas)
    op.value = "c" + std::to_string(c.id) + "." + std::to_string(c.seq);
  if (op.kind == ClientOp::Kind::kCas) {
    // Expect a value some client may have written (often the latest).
    uint64_t other = 1 + cluster_.rng().below(clients_.size());
    uint64_t back = cluster_.rng().below(3);
    uint64_t oseq = clients_[other - 1].seq > back ? clients_[other - 1].seq - back : 1;
    op.expected = "c" + std::to_string(other) + "." + std::to_string(oseq);
  }
  size_t index = ops_.size();
  ops_.push_back(op);
  c.busy = true;
  uint64_t incarnation = cluster_.incarnation(node);

  if (op.kind == ClientOp::Kind::kRead) {
    uint64_t rid = next_read_id_++;
    reads_[rid] = PendingRead{index, node, incarnation, std::nullopt};
    cluster_.at(cluster_.now() + options_.op_timeout, [this, rid] {
      auto it = reads_.find(rid);
      if (it == reads_.end()) return;
      size_t op_index = it->second.op;
      reads_.erase(it);
      complete(op_index, ClientOp::Outcome::kUnknown);
    });
    cluster_.read_index(node, rid);
    return;
  }

  KvCommand cmd;
  cmd.client = c.id;
  cmd.seq = c.seq;
  cmd.key = op.key;
  cmd.value = op.value;
  cmd.expected = op.expected;
  cmd.op = op.kind == ClientOp::Kind::kPut      ? KvCommand::Op::kPut
           : op.kind == ClientOp::Kind::kDelete ? KvCommand::Op::kDelete
                                                : KvCommand::Op::kCas;
  auto r = cluster_.propose(node, encode_kv(cmd));
  if (!r.ok()) {
    if (core::Raft* raft = cluster_.raft(node)) c.leader_hint = raft->leader();
    complete(index, ClientOp::Outcome::kFailed);
    return;
  }
  auto key = std::make_pair(node.value, r->index.value);
  if (auto old = writes_.find(key); old != writes_.end()) {
    // The node proposed at this index before, in an earlier term, and has
    // since lost that entry from its log.
    size_t old_op = old->second.op;
    writes_.erase(old);
    complete(old_op, ClientOp::Outcome::kUnknown);
  }
  writes_[key] = PendingWrite{index, node, incarnation, *r};
  cluster_.at(cluster_.now() + options_.op_timeout, [this, key, index] {
    auto it = writes_.find(key);
    if (it == writes_.end() || it->second.op != index) return;
    writes_.erase(it);
    complete(index, ClientOp::Outcome::kUnknown);
  });
}

void KvWorkload::complete(size_t op_index, ClientOp::Outcome outcome) {
  ClientOp& op = ops_[op_index];
  RAFT_ASSERT(op.outcome == ClientOp::Outcome::kPending);
  op.outcome = outcome;
  op.returned = cluster_.now();
  Client& c = clients_[op.client - 1];
  c.busy = false;
  schedule_next(c);
}

void KvWorkload::on_apply(NodeId node, const Entry& e, const std::string& result) {
  auto it = writes_.find({node.value, e.index.value});
  if (it != writes_.end() && it->second.incarnation == cluster_.incarnation(node)) {
    PendingWrite w = it->second;
    writes_.erase(it);
    // Another entry at our index means ours can never commit.
    if (e.term == w.pos.term) {
      ops_[w.op].swapped = result == "swapped";
      complete(w.op, ClientOp::Outcome::kOk);
    } else {
      complete(w.op, ClientOp::Outcome::kFailed);
    }
  }
  serve_reads(node);
}

void KvWorkload::on_read(NodeId node, const core::ReadState& rs) {
  auto it = reads_.find(rs.id);
  if (it == reads_.end()) return;
  if (!rs.ok()) {
    size_t op = it->second.op;
    reads_.erase(it);
    if (core::Raft* raft = cluster_.raft(node)) clients_[ops_[op].client - 1].leader_hint = raft->leader();
    complete(op, ClientOp::Outcome::kFailed);
    return;
  }
  it->second.index = rs.index;
  serve_reads(node);
}

void KvWorkload::serve_reads(NodeId node) {
  // Thesis 6.4 step 4: serve once the state machine has caught up.
  auto* fsm = static_cast<KvStateMachine*>(cluster_.state_machine(node));
  if (!fsm) return;
  for (auto it = reads_.begin(); it != reads_.end();) {
    PendingRead& r = it->second;
    if (r.node == node && r.incarnation == cluster_.incarnation(node) && r.index &&
        cluster_.applied(node) >= *r.index) {
      size_t op = r.op;
      ops_[op].read_value = fsm->get(ops_[op].key);
      it = reads_.erase(it);
      complete(op, ClientOp::Outcome::kOk);
    } else {
      ++it;
    }
  }
}

void KvWorkload::on_crash(NodeId node) {
  // The client's connection breaks: the outcome is unknown.
  for (auto it = writes_.begin(); it != writes_.end();) {
    if (it->second.node == node) {
      size_t op = it->second.op;
      it = writes_.erase(it);
      complete(op, ClientOp::Outcome::kUnknown);
    } else {
      ++it;
    }
  }
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.node == node) {
      size_t op = it->second.op;
      it = reads_.erase(it);
      complete(op, ClientOp::Outcome::kUnknown);
    } else {
      ++it;
    }
  }
  for (Client& c : clients_)
    if (c.leader_hint == node) c.leader_hint = kNoNode;
}

void KvWorkload::on_install(NodeId node, Index index) {
  // The node's state jumped to a snapshot: entries up to `index` will not
  // be applied there one by one, so a write waiting at such an index on
  // this node will never hear whether it was the one that committed.
  for (auto it = writes_.begin(); it != writes_.end();) {
    if (it->second.node == node && it->second.pos.index <= index) {
      size_t op = it->second.op;
      it = writes_.erase(it);
      complete(op, ClientOp::Outcome::kUnknown);
    } else {
      ++it;
    }
  }
  serve_reads(node);
}

void KvWorkload::finish() {
  stopped_ = true;
  for (auto& op : ops_)
    if (op.outcome == ClientOp::Outcome::kPending) op.outcome = ClientOp::Outcome::kUnknown;
  writes_.clear();
  reads_.clear();
}

std::optional<Nanos> KvWorkload::first_write_ok_invoked_after(Nanos t) const {
  std::optional<Nanos> best;
  for (const auto& op : ops_) {
    if (op.kind == ClientOp::Kind::kRead || op.outcome != ClientOp::Outcome::kOk || op.invoked < t) continue;
    if (!best || op.returned < *best) best = op.returned;
  }
  return best;
}

uint64_t KvWorkload::count(ClientOp::Outcome o) const {
  uint64_t n = 0;
  for (const auto& op : ops_) n += op.outcome == o;
  return n;
}

}  // namespace raft::sim
