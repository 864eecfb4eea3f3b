// A durable three-node cluster over TCP, in one process, with the C++ API.
//
//   ./build/examples/three_nodes [DIR]
//
// Each node keeps its log in DIR/nN (default ./three-nodes-data); run it
// twice and the second run starts from what the first one committed.
// In a real deployment each node is its own process on its own machine:
// the code per node is the same (Node::start, bootstrap once, apply).
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "raft/raft.hpp"

using namespace std::chrono_literals;

// The state machine: counts the commands it has applied.
class Counter : public raft::Fsm {
 public:
  std::any apply(const raft::LogEntry&) override {
    std::lock_guard<std::mutex> lock(mu_);
    return ++count_;
  }
  raft::Result<std::unique_ptr<raft::FsmSnapshot>> snapshot() override {
    return raft::Status(raft::ErrorCode::kUnsupported, "this example does not snapshot");
  }
  raft::Status restore(raft::SnapshotReader&) override { return raft::Status(); }
  uint64_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  uint64_t count_ = 0;
};

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "three-nodes-data";
  const char* ports[] = {"127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"};

  raft::ClusterConfiguration members;
  for (uint64_t id = 1; id <= 3; ++id) members.servers.push_back({id, ports[id - 1], true});

  std::map<uint64_t, std::unique_ptr<raft::Node>> nodes;
  std::map<uint64_t, std::shared_ptr<Counter>> fsms;
  for (uint64_t id = 1; id <= 3; ++id) {
    raft::Config config;
    config.id = id;
    config.bind_address = ports[id - 1];
    config.data_dir = dir + "/n" + std::to_string(id);
    fsms[id] = std::make_shared<Counter>();
    auto node = raft::Node::start(config, fsms[id]);
    if (!node.ok()) {
      std::fprintf(stderr, "node %llu: %s\n", static_cast<unsigned long long>(id), node.status().to_string().c_str());
      return 1;
    }
    // Only a brand-new node accepts a bootstrap; on a restart it says so.
    raft::Status b = (*node)->bootstrap(members);
    if (!b.ok() && b.code() != raft::ErrorCode::kAlreadyExists) {
      std::fprintf(stderr, "bootstrap: %s\n", b.to_string().c_str());
      return 1;
    }
    nodes[id] = std::move(*node);
  }

  // Submit commands to whoever leads; a follower answers kNotLeader.
  int applied = 0;
  for (int attempt = 0; applied < 10 && attempt < 2000; ++attempt) {
    for (auto& [id, node] : nodes) {
      if (node->state() != raft::Role::kLeader) continue;
      auto f = node->apply(raft::Buffer::copy_of("tick"), 2s);
      if (f.wait().ok()) {
        ++applied;
        std::printf("node %llu (leader, term %llu) applied command %d at count %llu\n",
                    static_cast<unsigned long long>(id), static_cast<unsigned long long>(node->term()), applied,
                    static_cast<unsigned long long>(std::any_cast<uint64_t>(f.value())));
      }
    }
    if (applied < 10) std::this_thread::sleep_for(10ms);  // waiting for an election
  }
  // Every node applies the same commands; give the followers a moment
  // (bounded) to apply their copies.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  auto all_equal = [&] {
    for (auto& [id, fsm] : fsms)
      if (fsm->count() != fsms[1]->count()) return false;
    return true;
  };
  while (!all_equal() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  for (auto& [id, node] : nodes) {
    auto st = node->stats();
    std::printf("node %llu: %s, term %s, commit %s, commands applied here %llu\n", static_cast<unsigned long long>(id),
                st["state"].c_str(), st["term"].c_str(), st["commit_index"].c_str(),
                static_cast<unsigned long long>(fsms[id]->count()));
  }
  for (auto& [id, node] : nodes) node->shutdown();
  return applied == 10 ? 0 : 1;
}
