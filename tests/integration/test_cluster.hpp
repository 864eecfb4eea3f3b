// An in-process cluster of real nodes for integration tests: each node has
// its own WAL directory (under the test's temporary folder) and talks to
// the others over TCP on 127.0.0.1 (or through an InMemoryNetwork when a
// test needs partitions). Every wait has a deadline: a test never sleeps
// to wait for a condition.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "raft/raft.hpp"
#include "runtime/node_impl.hpp"
#include "util/coding.hpp"

namespace raft::itest {

using namespace std::chrono_literals;

// A replicated map. Commands are "key=value"; apply returns the index.
class KvFsm : public Fsm {
 public:
  std::any apply(const LogEntry& e) override {
    std::string cmd(reinterpret_cast<const char*>(e.data.data()), e.data.size());
    std::lock_guard<std::mutex> lock(mu_);
    auto eq = cmd.find('=');
    if (eq != std::string::npos) data_[cmd.substr(0, eq)] = cmd.substr(eq + 1);
    ++applied_;
    last_index_ = e.index;
    digest_ = digest_ * 1099511628211ULL ^ std::hash<std::string>()(cmd) ^ e.index;
    return e.index;
  }
  // The snapshot is a copy of the map plus the counters, taken on the
  // apply thread and written out later by persist().
  class Snap : public FsmSnapshot {
   public:
    explicit Snap(std::string bytes) : bytes_(std::move(bytes)) {}
    Status persist(SnapshotSink& sink) override {
      // Write in pieces, as a large state machine would.
      for (size_t off = 0; off < bytes_.size(); off += 64 << 10) {
        size_t n = std::min<size_t>(64 << 10, bytes_.size() - off);
        RAFT_RETURN_IF_ERROR(sink.write({reinterpret_cast<const uint8_t*>(bytes_.data() + off), n}));
      }
      return Status();
    }

   private:
    std::string bytes_;
  };
  Result<std::unique_ptr<FsmSnapshot>> snapshot() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    put_u64(&out, applied_);
    put_u64(&out, digest_);
    put_u64(&out, data_.size());
    for (const auto& [k, v] : data_) {
      put_bytes(&out, k);
      put_bytes(&out, v);
    }
    ++snapshots_;
    return std::unique_ptr<FsmSnapshot>(std::make_unique<Snap>(std::move(out)));
  }
  Status restore(SnapshotReader& reader) override {
    std::string bytes;
    std::vector<uint8_t> buf(1 << 16);
    for (;;) {
      auto n = reader.read(buf);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      bytes.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    Reader r({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    uint64_t applied = r.u64(), digest = r.u64(), n = r.u64();
    std::map<std::string, std::string> data;
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      std::string k(r.length_prefixed(1 << 30));
      data[k] = std::string(r.length_prefixed(1 << 30));
    }
    if (!r.ok() || r.remaining() != 0) return Status(ErrorCode::kCorruption, "bad KvFsm snapshot");
    std::lock_guard<std::mutex> lock(mu_);
    data_ = std::move(data);
    applied_ = applied;
    digest_ = digest;
    ++restores_;
    return Status();
  }
  uint64_t restores() const {
    std::lock_guard<std::mutex> lock(mu_);
    return restores_;
  }

  std::map<std::string, std::string> data() const {
    std::lock_guard<std::mutex> lock(mu_);
    return data_;
  }
  std::optional<std::string> get(const std::string& k) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = data_.find(k);
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  uint64_t applied() const {
    std::lock_guard<std::mutex> lock(mu_);
    return applied_;
  }
  // A digest of every command applied, in order: equal digests mean the
  // same commands in the same order.
  uint64_t digest() const {
    std::lock_guard<std::mutex> lock(mu_);
    return digest_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> data_;
  uint64_t applied_ = 0;
  uint64_t last_index_ = 0;
  uint64_t digest_ = 14695981039346656037ULL;
  uint64_t snapshots_ = 0;
  uint64_t restores_ = 0;
};

// Waits for pred() with a deadline, polling; true if it held in time.
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);  // polling interval, not a wait for a condition
  }
  return pred();
}

class TestCluster {
 public:
  struct Options {
    int nodes = 3;
    bool tcp = true;         // false: InMemoryNetwork
    bool durable = true;     // WAL in a directory, else the memory store
    std::chrono::milliseconds heartbeat{20};
    std::chrono::milliseconds election{200};
    std::function<void(Config&)> tweak = nullptr;  // per-test settings
  };

  explicit TestCluster(Options o) : o_(o) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(RAFT_TEST_TMPDIR) /
           (std::string(info->test_suite_name()) + "." + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    if (!o_.tcp) network_ = InMemoryNetwork::create(42);
    for (int i = 1; i <= o_.nodes; ++i) {
      Slot s;
      s.id = static_cast<ServerId>(i);
      slots_.push_back(std::move(s));
    }
  }
  ~TestCluster() {
    for (ServerId id : ids()) stop(id);
    std::filesystem::remove_all(dir_);
  }

  Config config_for(ServerId id) {
    Config c;
    c.id = id;
    c.cluster_id = "itest";
    c.heartbeat_interval = o_.heartbeat;
    c.election_timeout = o_.election;
    c.leader_lease_timeout = o_.election;
    c.commit_timeout = std::min<std::chrono::milliseconds>(5ms, o_.heartbeat);
    c.log_level = LogLevel::kWarn;
    if (const char* lvl = std::getenv("RAFT_TEST_LOG")) {
      if (std::string(lvl) == "info") c.log_level = LogLevel::kInfo;
      if (std::string(lvl) == "debug") c.log_level = LogLevel::kDebug;
    }
    if (o_.tcp) {
      Slot& s = slot(id);
      c.bind_address = s.address.empty() ? "127.0.0.1:0" : s.address;
    } else {
      c.transport = "memory";
      c.memory_network = network_;
      c.advertise_address = "mem:" + std::to_string(id);
    }
    if (o_.tweak) o_.tweak(c);
    if (o_.durable) {
      c.store = "wal";
      c.data_dir = (dir_ / ("n" + std::to_string(id))).string();
    } else {
      c.store = "memory";
    }
    return c;
  }

  // Starts every node, then bootstraps them all with the full membership.
  void start_all() {
    for (auto& s : slots_) start(s.id);
    ClusterConfiguration conf;
    for (auto& s : slots_) conf.servers.push_back({s.id, s.address, true});
    for (auto& s : slots_) ASSERT_TRUE(s.node->bootstrap(conf).ok());
  }

  void start(ServerId id) {
    Slot& s = slot(id);
    if (!s.fsm) s.fsm = std::make_shared<KvFsm>();
    auto n = NodeFactory::start(config_for(id), s.fsm, hooks[id]);
    ASSERT_TRUE(n.ok()) << n.status().to_string();
    std::lock_guard<std::mutex> lock(mu_);
    s.node = std::shared_ptr<Node>(std::move(*n));
    s.address = s.node->address();
  }
  // A restart keeps the directory; the FSM starts empty (it is rebuilt
  // from the log).
  void restart(ServerId id) {
    slot(id).fsm = std::make_shared<KvFsm>();
    start(id);
  }
  void stop(ServerId id) {
    std::shared_ptr<Node> n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = std::move(slot(id).node);
    }
    if (n) n->shutdown();
  }

  // Grows the cluster's slots (the new server is started empty, not
  // bootstrapped: it joins through add_voter/add_nonvoter).
  ServerId add_slot() {
    std::lock_guard<std::mutex> lock(mu_);
    Slot s;
    s.id = slots_.size() + 1;
    slots_.push_back(std::move(s));
    return slots_.back().id;
  }
  std::string address_of(ServerId id) { return slot(id).address; }

  // Fault hooks per node, applied when it (re)starts.
  std::map<ServerId, NodeHooks> hooks;

  // Not for threads racing with start/stop: use node_ptr() there.
  Node* node(ServerId id) { return slot(id).node.get(); }
  // A reference that keeps the node object alive (a stopped node answers
  // kShutdown). Thread-safe against start() and stop().
  std::shared_ptr<Node> node_ptr(ServerId id) {
    std::lock_guard<std::mutex> lock(mu_);
    return id <= slots_.size() ? slot(id).node : nullptr;
  }
  KvFsm* fsm(ServerId id) { return slot(id).fsm.get(); }
  InMemoryNetwork* network() { return network_.get(); }
  std::vector<ServerId> ids() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<ServerId> out;
    for (auto& s : slots_) out.push_back(s.id);
    return out;
  }

  // The one live node that is leader (and that every other live node
  // agrees on), waiting up to `limit`.
  ServerId wait_leader(std::chrono::milliseconds limit = 10s) {
    ServerId found = 0;
    eventually(
        [&] {
          found = 0;
          for (auto& s : slots_) {
            if (!s.node || s.node->state() != Role::kLeader) continue;
            if (found != 0) return false;  // two claim it (different terms): wait
            found = s.id;
          }
          if (found == 0) return false;
          uint64_t term = node(found)->term();
          for (auto& s : slots_) {
            if (!s.node || s.id == found) continue;
            // A node that is not (yet, or any longer) a member has no
            // reason to know the leader.
            if (s.node->state() == Role::kShutdown || s.node->configuration().servers.empty()) continue;
            auto l = s.node->leader();
            if (!l || l->id != found || s.node->term() != term) return false;
          }
          return true;
        },
        limit);
    return found;
  }

  // Every live node has applied the same number of commands as the
  // others and the digests agree.
  bool wait_converged(uint64_t commands, std::chrono::milliseconds limit = 20s) {
    return eventually(
        [&] {
          std::optional<uint64_t> digest;
          for (auto& s : slots_) {
            if (!s.node) continue;
            if (s.fsm->applied() != commands) return false;
            if (digest && *digest != s.fsm->digest()) return false;
            digest = s.fsm->digest();
          }
          return true;
        },
        limit);
  }

 private:
  struct Slot {
    ServerId id = 0;
    std::string address;
    std::shared_ptr<Node> node;
    std::shared_ptr<KvFsm> fsm;
  };
  Slot& slot(ServerId id) { return slots_.at(id - 1); }

  Options o_;
  mutable std::mutex mu_;  // slots_ and their node pointers
  std::filesystem::path dir_;
  std::shared_ptr<InMemoryNetwork> network_;
  std::deque<Slot> slots_;  // a deque: references stay valid as it grows
};

}  // namespace raft::itest
