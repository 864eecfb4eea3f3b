// End-to-end throughput and latency of a cluster in one process: N nodes
// over TCP on 127.0.0.1 with the WAL on disk, C clients each submitting
// one command at a time to the leader for D seconds.
//
//   node_bench [--nodes 3] [--size 128] [--clients 32] [--seconds 5] [--dir DIR]
//
// Prints one line: nodes, entry size, concurrency, ops/s, p50 and p99
// latency (submit to applied on the leader). The first figures of
// docs/BENCHMARKS.md come from it; raft_bench will supersede it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "raft/raft.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

class NullFsm : public raft::Fsm {
 public:
  std::any apply(const raft::LogEntry& e) override { return e.index; }
  raft::Result<std::unique_ptr<raft::FsmSnapshot>> snapshot() override {
    return raft::Status(raft::ErrorCode::kUnsupported, "no snapshots in this benchmark");
  }
  raft::Status restore(raft::SnapshotReader&) override { return raft::Status(); }
};

int usage() {
  std::fprintf(stderr, "usage: node_bench [--nodes N] [--size BYTES] [--clients C] [--seconds S] [--dir DIR]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 3, clients = 32;
  size_t size = 128;
  double seconds = 5;
  std::string dir = "node-bench-data";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    try {
      if (a == "--nodes") nodes = std::stoi(v);
      else if (a == "--size") size = std::stoul(v);
      else if (a == "--clients") clients = std::stoi(v);
      else if (a == "--seconds") seconds = std::stod(v);
      else if (a == "--dir") dir = v;
      else return usage();
    } catch (const std::exception&) {
      return usage();
    }
  }
  if (nodes < 1 || nodes > 9 || clients < 1 || seconds <= 0) return usage();
  std::filesystem::remove_all(dir);

  std::vector<std::unique_ptr<raft::Node>> ns;
  raft::ClusterConfiguration members;
  for (int id = 1; id <= nodes; ++id) {
    raft::Config c;
    c.id = static_cast<raft::ServerId>(id);
    c.data_dir = dir + "/n" + std::to_string(id);
    c.log_level = raft::LogLevel::kWarn;
    c.snapshot_threshold = 1ull << 40;  // measure replication, not snapshots
    auto n = raft::Node::start(c, std::make_shared<NullFsm>());
    if (!n.ok()) {
      std::fprintf(stderr, "node %d: %s\n", id, n.status().to_string().c_str());
      return 1;
    }
    members.servers.push_back({c.id, (*n)->address(), true});
    ns.push_back(std::move(*n));
  }
  for (auto& n : ns) {
    raft::Status s = n->bootstrap(members);
    if (!s.ok()) {
      std::fprintf(stderr, "bootstrap: %s\n", s.to_string().c_str());
      return 1;
    }
  }
  raft::Node* leader = nullptr;
  for (auto deadline = Clock::now() + 10s; !leader && Clock::now() < deadline;) {
    for (auto& n : ns)
      if (n->state() == raft::Role::kLeader) leader = n.get();
    if (!leader) std::this_thread::sleep_for(5ms);  // the first election
  }
  if (!leader) {
    std::fprintf(stderr, "no leader within 10 s\n");
    return 1;
  }

  std::string payload(size, 'x');
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failed{0};
  std::vector<std::vector<uint32_t>> lat(static_cast<size_t>(clients));  // microseconds
  std::vector<std::thread> ts;
  auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    ts.emplace_back([&, c] {
      auto& mine = lat[static_cast<size_t>(c)];
      while (!stop.load(std::memory_order_relaxed)) {
        auto t0 = Clock::now();
        auto f = leader->apply(raft::Buffer::copy_of(payload), 5s);
        if (!f.wait().ok()) {
          ++failed;
          continue;
        }
        mine.push_back(static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count()));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));  // the measured interval
  stop = true;
  for (auto& t : ts) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<uint32_t> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[static_cast<size_t>(p * static_cast<double>(all.size() - 1))] / 1000.0; };
  std::printf("nodes=%d size=%zu clients=%d ops=%zu failed=%llu ops/s=%.0f p50_ms=%.2f p99_ms=%.2f\n", nodes, size,
              clients, all.size(), static_cast<unsigned long long>(failed.load()), static_cast<double>(all.size()) / elapsed,
              pct(0.50), pct(0.99));
  for (auto& n : ns) n->shutdown();
  std::filesystem::remove_all(dir);
  return 0;
}
