// End-to-end throughput and latency of a cluster in one process: N nodes
// over TCP on 127.0.0.1 with the WAL on disk, C clients each submitting
// one command at a time to the leader for D seconds.
//
//   node_bench [--nodes 3] [--size 128] [--clients 32] [--seconds 5] [--dir DIR]
//              [--add-voter --state-mb 64]
//
// Prints one line: nodes, entry size, concurrency, ops/s, p50 and p99
// latency (submit to applied on the leader). With --add-voter, halfway
// through the run (under load) it takes a snapshot of a state machine
// holding --state-mb MiB, starts an empty server and adds it as a voter,
// and prints how long the snapshot transfer and the whole add took. The
// first figures of docs/BENCHMARKS.md come from it; raft_bench will
// supersede it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "raft/raft.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Counts commands; its snapshot is `state_bytes` of filler, so that the
// transfer of a state of a chosen size can be timed.
class BenchFsm : public raft::Fsm {
 public:
  explicit BenchFsm(size_t state_bytes) : state_bytes_(state_bytes) {}
  std::any apply(const raft::LogEntry& e) override { return e.index; }
  raft::Result<std::unique_ptr<raft::FsmSnapshot>> snapshot() override {
    return std::unique_ptr<raft::FsmSnapshot>(new Filler(state_bytes_));
  }
  raft::Status restore(raft::SnapshotReader& r) override {
    std::vector<uint8_t> buf(1 << 16);
    for (;;) {
      auto n = r.read(buf);
      if (!n.ok()) return n.status();
      if (*n == 0) return raft::Status();
    }
  }

 private:
  class Filler : public raft::FsmSnapshot {
   public:
    explicit Filler(size_t n) : n_(n) {}
    raft::Status persist(raft::SnapshotSink& sink) override {
      std::vector<uint8_t> piece(1 << 16, 0x5a);
      for (size_t left = n_; left > 0;) {
        size_t k = std::min(left, piece.size());
        raft::Status s = sink.write(std::span<const uint8_t>(piece.data(), k));
        if (!s.ok()) return s;
        left -= k;
      }
      return raft::Status();
    }

   private:
    size_t n_;
  };
  size_t state_bytes_;
};

int usage() {
  std::fprintf(stderr,
               "usage: node_bench [--nodes N] [--size BYTES] [--clients C] [--seconds S] [--dir DIR]\n"
               "                  [--add-voter [--state-mb MIB]]\n");
  return 2;
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  int nodes = 3, clients = 32;
  size_t size = 128;
  double seconds = 5;
  std::string dir = "node-bench-data";
  bool add_voter = false;
  size_t state_mb = 64;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--add-voter") {
      add_voter = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    try {
      if (a == "--nodes") nodes = std::stoi(v);
      else if (a == "--size") size = std::stoul(v);
      else if (a == "--clients") clients = std::stoi(v);
      else if (a == "--seconds") seconds = std::stod(v);
      else if (a == "--dir") dir = v;
      else if (a == "--state-mb") state_mb = std::stoul(v);
      else return usage();
    } catch (const std::exception&) {
      return usage();
    }
  }
  if (nodes < 1 || nodes > 9 || clients < 1 || seconds <= 0) return usage();
  std::filesystem::remove_all(dir);

  auto config_for = [&](int id) {
    raft::Config c;
    c.id = static_cast<raft::ServerId>(id);
    c.data_dir = dir + "/n" + std::to_string(id);
    c.log_level = raft::LogLevel::kWarn;
    c.snapshot_threshold = 1ull << 40;  // only the snapshot asked for below
    c.trailing_logs = 1000;             // so the new server needs the snapshot
    return c;
  };
  std::vector<std::unique_ptr<raft::Node>> ns;
  raft::ClusterConfiguration members;
  for (int id = 1; id <= nodes; ++id) {
    raft::Config c = config_for(id);
    auto n = raft::Node::start(c, std::make_shared<BenchFsm>(state_mb << 20));
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
  std::string add_report;
  std::unique_ptr<raft::Node> added;
  if (add_voter) {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds / 2));  // load first
    auto snap = leader->snapshot();
    if (!snap.wait().ok()) {
      std::fprintf(stderr, "snapshot: %s\n", snap.status().to_string().c_str());
      return 1;
    }
    auto n = raft::Node::start(config_for(nodes + 1), std::make_shared<BenchFsm>(state_mb << 20));
    if (!n.ok()) {
      std::fprintf(stderr, "new node: %s\n", n.status().to_string().c_str());
      return 1;
    }
    added = std::move(*n);
    auto t0 = Clock::now();
    auto f = leader->add_voter(added->id(), added->address(), 60s);
    double installed_ms = -1;
    while (!f.ready()) {
      if (installed_ms < 0 && added->stats()["snapshots_installed"] != "0") installed_ms = ms_since(t0);
      std::this_thread::sleep_for(1ms);  // sampling the new node's progress
    }
    double add_ms = ms_since(t0);
    if (installed_ms < 0 && added->stats()["snapshots_installed"] != "0") installed_ms = add_ms;
    char line[256];
    std::snprintf(line, sizeof line, " add_voter=%s add_voter_ms=%.0f snapshot_mib=%zu snapshot_installed_ms=%.0f snapshot_mib_per_s=%.0f",
                  f.status().ok() ? "ok" : f.status().to_string().c_str(), add_ms, state_mb, installed_ms,
                  installed_ms > 0 ? static_cast<double>(state_mb) / (installed_ms / 1000.0) : 0.0);
    add_report = line;
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds / 2));  // the rest of the interval
  } else {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));  // the measured interval
  }
  stop = true;
  for (auto& t : ts) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<uint32_t> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[static_cast<size_t>(p * static_cast<double>(all.size() - 1))] / 1000.0; };
  std::printf("nodes=%d size=%zu clients=%d ops=%zu failed=%llu ops/s=%.0f p50_ms=%.2f p99_ms=%.2f%s\n", nodes, size,
              clients, all.size(), static_cast<unsigned long long>(failed.load()), static_cast<double>(all.size()) / elapsed,
              pct(0.50), pct(0.99), add_report.c_str());
  if (added) added->shutdown();
  for (auto& n : ns) n->shutdown();
  std::filesystem::remove_all(dir);
  return 0;
}
