// A synchronous test network of consensus cores (in the manner of etcd's
// raft_test.go `network`): messages are queued and delivered on demand,
// storage is a vector that becomes durable when the test says so (or at
// once, with auto_persist), and each node's clock moves only when a test
// advances it. Unlike the simulator, nothing here is random: tests script
// every step.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "core/raft.hpp"

namespace raft::core::testing {

using namespace std::chrono_literals;

inline Config test_config(uint64_t id) {
  Config c;
  c.id = NodeId(id);
  c.election_timeout = 100ms;
  c.heartbeat_interval = 10ms;
  c.commit_timeout = 5ms;
  c.quorum_check_interval = 100ms;
  c.seed = id;
  return c;
}

inline Configuration voters(std::initializer_list<uint64_t> ids) {
  Configuration c;
  for (uint64_t id : ids) c.servers.push_back({NodeId(id), "n" + std::to_string(id), ServerRole::kVoter});
  return c;
}

inline Entry config_entry(Index i, Term t, const Configuration& c) {
  return Entry{i, t, EntryType::kConfiguration, encode_configuration(c)};
}

inline Entry command(Index i, Term t, std::string data = "") {
  if (data.empty()) data = "cmd" + std::to_string(i.value) + "@" + std::to_string(t.value);
  return Entry{i, t, EntryType::kCommand, Buffer::from_string(data)};
}

// A log whose first entry is the configuration and whose entry k (k >= 2)
// has terms[k - 2]; the first entry has term 1.
inline std::vector<Entry> log_with_terms(const Configuration& conf, std::vector<uint64_t> terms) {
  std::vector<Entry> log{config_entry(Index(1), Term(1), conf)};
  for (size_t k = 0; k < terms.size(); ++k) log.push_back(command(Index(k + 2), Term(terms[k])));
  return log;
}

class TestNet {
 public:
  struct Node {
    std::unique_ptr<Raft> raft;
    Nanos now{0};
    std::vector<Entry> disk;       // durable log (index k+1 at k)
    HardState disk_hs;
    std::vector<Entry> unsynced;   // handed out, not yet durable
    std::optional<Index> unsynced_truncate;
    std::vector<Entry> applied;
    std::vector<ReadState> reads;
    std::vector<RequestResult> done;
    Config config;
    // Snapshots: stored ones by id, the latest, and chunks being received.
    std::map<std::string, std::string> snapshots;
    SnapshotInfo latest_snapshot;
    std::string incoming;
    uint64_t disk_base = 0;  // disk[k] has index disk_base + k + 1
    std::optional<Ready::Install> last_install;
    std::optional<Index> last_compact;
    std::vector<Index> released;  // indexes of the entries compaction handed back (Ready::released)
    bool fail_snapshot_reads = false;
    bool drop_snapshot_chunks = false;
  };

  // A cluster of `n` voters, all bootstrapped with the same configuration.
  explicit TestNet(int n, std::function<void(Config&)> tweak = nullptr) : tweak_(std::move(tweak)) {
    std::vector<uint64_t> ids;
    Configuration conf;
    for (int i = 1; i <= n; ++i) conf.servers.push_back({NodeId(static_cast<uint64_t>(i)), "n" + std::to_string(i), ServerRole::kVoter});
    for (int i = 1; i <= n; ++i) {
      InitialState st;
      st.hard_state = {Term(1), kNoNode};
      st.entries = {config_entry(Index(1), Term(1), conf)};
      add(static_cast<uint64_t>(i), std::move(st));
    }
  }
  TestNet() = default;

  void set_tweak(std::function<void(Config&)> tweak) { tweak_ = std::move(tweak); }

  // Adds a node with the given durable state.
  Raft& add(uint64_t id, InitialState st) {
    Node& n = nodes_[id];
    n.config = test_config(id);
    if (tweak_) tweak_(n.config);
    n.disk = st.entries;
    n.disk_hs = st.hard_state;
    n.raft = std::make_unique<Raft>(n.config, std::move(st), n.now);
    return *n.raft;
  }

  // Takes a snapshot on a node at its last applied entry: the "state" is
  // the applied payloads joined (enough to check what arrives).
  SnapshotInfo take_snapshot(uint64_t id) {
    Node& n = nodes_.at(id);
    Raft& r = *n.raft;
    Index upto = n.applied.empty() ? Index(0) : n.applied.back().index;
    SnapshotInfo info;
    info.index = upto;
    info.term = *r.log().term_at(upto);
    info.configuration = r.committed_configuration();
    info.configuration_index = r.configuration_index() <= upto ? r.configuration_index() : Index(1);
    std::string bytes = n.latest_snapshot.empty() ? "" : n.snapshots[n.latest_snapshot.id];
    for (const Entry& e : n.applied)
      if (e.index > n.latest_snapshot.index) bytes += std::string(e.data.view()) + ";";
    info.id = "snap" + std::to_string(upto.value);
    info.size_bytes = bytes.size();
    n.snapshots[info.id] = bytes;
    n.latest_snapshot = info;
    r.snapshot_taken(info);
    flush_node(id);
    return info;
  }

  // Crashes a node (losing what was not durable) and starts it again.
  Raft& restart(uint64_t id, Index commit_hint = Index(0)) {
    Node& n = nodes_.at(id);
    InitialState st;
    st.hard_state = n.disk_hs;
    st.entries = n.disk;
    st.snapshot = n.latest_snapshot;
    st.commit_hint = commit_hint;
    n.unsynced.clear();
    n.unsynced_truncate.reset();
    n.applied.clear();
    n.raft = std::make_unique<Raft>(n.config, std::move(st), n.now);
    return *n.raft;
  }

  Raft& raft(uint64_t id) { return *nodes_.at(id).raft; }
  Node& node(uint64_t id) { return nodes_.at(id); }

  // Collects every node's output: hard state durable at once; log writes
  // durable at once when auto_persist, else when persist(id) is called.
  void flush() {
    for (auto& [id, n] : nodes_) flush_node(id);
  }

  void flush_node(uint64_t id) {
    Node& n = nodes_.at(id);
    while (n.raft->has_ready()) {
      Ready rd = n.raft->take_ready();
      if (rd.hard_state) n.disk_hs = *rd.hard_state;
      if (rd.truncate_from) {
        // Truncate the unsynced tail, then (on persist) the disk.
        Index t = *rd.truncate_from;
        std::erase_if(n.unsynced, [&](const Entry& e) { return e.index >= t; });
        n.unsynced_truncate = n.unsynced_truncate ? std::min(*n.unsynced_truncate, t) : t;
      }
      for (Entry& e : rd.entries) n.unsynced.push_back(e);
      for (Message& m : rd.messages) {
        if (!dropped(m)) queue_.push_back(m);
        sent_.push_back(m);
      }
      for (Entry& e : rd.committed) n.applied.push_back(e);
      for (ReadState& r : rd.reads) n.reads.push_back(r);
      for (RequestResult& r : rd.done) n.done.push_back(r);
      if (rd.install) {
        n.last_install = rd.install;
        n.latest_snapshot = rd.install->info;
        n.applied.clear();  // the state machine is the snapshot's now
        if (!rd.install->keep_log) {
          n.disk.clear();
          n.disk_base = rd.install->info.index.value;
          n.unsynced.clear();
          n.unsynced_truncate.reset();
        }
      }
      if (rd.compact_to) n.last_compact = rd.compact_to;
      if (rd.released)
        for (const Entry& e : *rd.released) n.released.push_back(e.index);
      for (const SnapshotRead& r : rd.snapshot_reads) {
        if (n.fail_snapshot_reads) {
          n.raft->snapshot_chunk_read(r.peer, r.id, r.offset, Buffer(), false, Status(ErrorCode::kNotFound, "gone"));
          continue;
        }
        const std::string& bytes = n.snapshots.at(r.id);
        size_t len = std::min<size_t>(r.bytes_max, bytes.size() - r.offset);
        bool last = r.offset + len == bytes.size();
        n.raft->snapshot_chunk_read(r.peer, r.id, r.offset, Buffer::copy_of(bytes.data() + r.offset, len), last, Status());
      }
      for (const SnapshotChunk& c : rd.snapshot_chunks) {
        if (n.drop_snapshot_chunks) continue;
        if (c.offset == 0) n.incoming.clear();
        if (c.offset == n.incoming.size()) n.incoming.append(c.data.view());
        SnapshotInfo info = c.info;
        if (c.last && n.incoming.size() == info.size_bytes) {
          info.id = "recv" + std::to_string(info.index.value);
          n.snapshots[info.id] = n.incoming;
          n.raft->snapshot_chunk_written(c.from, info, n.incoming.size(), true, Status());
        } else {
          n.raft->snapshot_chunk_written(c.from, info, n.incoming.size(), false, Status());
        }
      }
      if (auto_persist) persist(id);
    }
  }

  // Makes a node's pending log writes durable and tells its core.
  void persist(uint64_t id) {
    Node& n = nodes_.at(id);
    if (n.unsynced_truncate) {
      Index t = *n.unsynced_truncate;
      if (t.value <= n.disk_base + n.disk.size()) n.disk.resize(t.value - 1 - n.disk_base);
      n.unsynced_truncate.reset();
    }
    if (n.unsynced.empty()) return;
    for (Entry& e : n.unsynced) {
      EXPECT_EQ(e.index.value, n.disk_base + n.disk.size() + 1);
      n.disk.push_back(e);
    }
    Entry last = n.unsynced.back();
    n.unsynced.clear();
    n.raft->persisted(last.index, last.term);
  }

  // Delivers queued messages (and whatever they cause) until none remain.
  // Returns the number delivered.
  int settle(int limit = 100000) {
    int delivered = 0;
    flush();
    while (!queue_.empty() && delivered < limit) {
      Message m = queue_.front();
      queue_.pop_front();
      auto it = nodes_.find(m.to.value);
      if (it == nodes_.end() || dropped(m)) continue;
      it->second.raft->receive(m);
      ++delivered;
      flush();
    }
    return delivered;
  }

  // Moves a node's clock forward and ticks it.
  void advance(uint64_t id, Nanos dt) {
    Node& n = nodes_.at(id);
    n.now += dt;
    n.raft->tick(n.now);
    flush_node(id);
  }
  void advance_all(Nanos dt) {
    for (auto& [id, n] : nodes_) advance(id, dt);
  }

  // Makes `id` campaign (past any election timeout) and settles.
  void elect(uint64_t id) {
    advance(id, 2 * nodes_.at(id).config.election_timeout + 1ms);
    settle();
  }

  void isolate(uint64_t id) { isolated_.insert(id); }
  void cut(uint64_t from, uint64_t to) { cut_.insert({from, to}); }
  void heal() {
    isolated_.clear();
    cut_.clear();
  }

  // Messages of a type still queued, removed from the queue.
  std::vector<Message> take(std::function<bool(const Message&)> pred) {
    std::vector<Message> out;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (pred(*it)) {
        out.push_back(*it);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }
  std::deque<Message>& queue() { return queue_; }
  std::vector<Message>& sent() { return sent_; }
  void deliver(const Message& m) {
    nodes_.at(m.to.value).raft->receive(m);
    flush();
  }

  bool auto_persist = true;

 private:
  bool dropped(const Message& m) const {
    return isolated_.count(m.from.value) || isolated_.count(m.to.value) ||
           cut_.count({m.from.value, m.to.value});
  }

  std::function<void(Config&)> tweak_;
  std::map<uint64_t, Node> nodes_;
  std::deque<Message> queue_;
  std::vector<Message> sent_;
  std::set<uint64_t> isolated_;
  std::set<std::pair<uint64_t, uint64_t>> cut_;
};

template <class T>
bool is(const Message& m) {
  return std::holds_alternative<T>(m.body);
}

inline std::vector<uint64_t> terms_of(const LogView& log) {
  std::vector<uint64_t> t;
  for (Index i = log.first_index(); i <= log.last_index(); ++i) t.push_back(log.at(i).term.value);
  return t;
}

}  // namespace raft::core::testing
