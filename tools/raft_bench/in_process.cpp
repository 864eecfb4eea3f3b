// raft_bench, default mode: every node in this process, each with its own
// data directory and TCP listener on 127.0.0.1.
#include <cstdio>
#include <thread>

#include "bench.hpp"

namespace raft_bench {

using namespace std::chrono_literals;

namespace {

// The one node that leads, once every node knows it as leader in its term.
raft::Node* wait_for_leader(const std::vector<std::unique_ptr<raft::Node>>& nodes) {
  for (auto deadline = Clock::now() + kElectionDeadline; Clock::now() < deadline;) {
    raft::Node* leader = nullptr;
    for (auto& n : nodes)
      if (n->state() == raft::Role::kLeader) leader = n.get();
    bool agreed = leader != nullptr;
    for (auto& n : nodes) {
      if (!agreed) break;
      auto l = n->leader();
      agreed = l && l->id == leader->id() && n->term() == leader->term();
    }
    if (agreed) return leader;
    std::this_thread::sleep_for(5ms);  // polling: the API has no "wait for leader"
  }
  return nullptr;
}

}  // namespace

int run_in_process(const Options& o, const std::string& run_dir, Report* out) {
  std::vector<std::unique_ptr<raft::Node>> nodes;
  raft::ClusterConfiguration members;
  for (int i = 1; i <= o.nodes; ++i) {
    auto id = static_cast<raft::ServerId>(i);
    // bind_address defaults to 127.0.0.1:0: the OS picks the port.
    auto n = raft::Node::start(node_config(o, id, run_dir + "/n" + std::to_string(i)), make_bench_fsm());
    if (!n.ok()) {
      std::fprintf(stderr, "raft_bench: node %d: %s\n", i, n.status().to_string().c_str());
      return 1;
    }
    members.servers.push_back({id, (*n)->address(), true});
    nodes.push_back(std::move(*n));
  }
  for (auto& n : nodes) {
    raft::Status s = n->bootstrap(members);
    if (!s.ok()) {
      std::fprintf(stderr, "raft_bench: bootstrap of node %llu: %s\n", static_cast<unsigned long long>(n->id()),
                   s.to_string().c_str());
      return 1;
    }
  }
  raft::Node* leader = wait_for_leader(nodes);
  if (!leader) {
    std::fprintf(stderr, "raft_bench: no leader within %lld s\n", static_cast<long long>(kElectionDeadline.count()));
    return 1;
  }
  const uint64_t term = leader->term();

  double cpu_start = 0;
  LoadParams p{o.size_bytes, o.concurrency, o.duration_s, o.progress};
  LoadResult r = run_load(*leader, term, p, [&](bool start) {
    if (start) cpu_start = process_cpu_s();
    else out->cpu_s = process_cpu_s() - cpu_start;
  });
  // A follower that moved to a later term saw an election the leader may
  // not have noticed yet.
  for (auto& n : nodes) {
    if (!r.error.empty()) break;
    if (n->term() != term)
      r.error = "leadership changed during the run (node " + std::to_string(n->id()) + " is in term " +
                std::to_string(n->term()) + ", the run began in " + std::to_string(term) + ")";
  }
  if (o.store == "wal") out->leader_fsync = leader->metrics().fsync_latency;
  mute_library_logs();
  for (auto& n : nodes) n->shutdown();
  if (!r.error.empty()) {
    std::fprintf(stderr, "raft_bench: run invalid: %s\n", r.error.c_str());
    return 1;
  }
  out->ops = r.ops;
  out->seconds = r.seconds;
  out->counts = std::move(r.counts);
  out->max_ns = r.max_ns;
  return 0;
}

}  // namespace raft_bench
