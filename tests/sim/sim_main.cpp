// sim: runs simulation scenarios.
//
//   sim --seed N [--trace] [--summary] [--nodes K]   one seed (replay)
//   sim --seeds A-B [--jobs J]                        a range of seeds
//   sim --seed-file FILE                              seeds that once failed
//   sim --soak SECONDS [--jobs J]                     random seeds until time is up
//
// Exit status 0 when every seed passed. A failure prints the seed and the
// one-line command that replays it.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sim/scenario.hpp"

namespace {

using raft::sim::ScenarioParams;
using raft::sim::ScenarioResult;

// For the abort handler: the seed each worker is running.
constexpr int kMaxJobs = 64;
std::atomic<uint64_t> g_running[kMaxJobs];

void on_abort(int) {
  char buf[128];
  for (int i = 0; i < kMaxJobs; ++i) {
    uint64_t s = g_running[i].load();
    if (s == 0) continue;
    int n = std::snprintf(buf, sizeof buf, "\nsim: aborted while running seed %llu; replay: sim --seed %llu --trace\n",
                          static_cast<unsigned long long>(s), static_cast<unsigned long long>(s));
    if (n > 0) (void)!write(2, buf, static_cast<size_t>(n));
  }
  std::signal(SIGABRT, SIG_DFL);
}

void usage() {
  std::cerr << "usage: sim --seed N [--trace] [--summary] [--nodes K]\n"
               "       sim --seeds A-B [--jobs J] [--stop-on-failure]\n"
               "       sim --seed-file FILE\n"
               "       sim --soak SECONDS [--jobs J]\n";
}

void print_summary(const ScenarioParams& p, const ScenarioResult& r) {
  std::cout << "scenario: " << p.to_string() << "\n";
  std::cout << "simulated: " << r.stats.events << " events, " << r.stats.messages_sent << " messages\n";
  std::cout << "leaders per term:";
  int shown = 0;
  for (const auto& [term, node] : r.stats.leader_of_term) {
    if (shown++ == 24) {
      std::cout << " ...";
      break;
    }
    std::cout << " t" << term << "=n" << node;
  }
  std::cout << "  (" << r.stats.leader_of_term.size() << " terms with a leader)\n";
  std::cout << "entries committed: " << r.committed_entries << "\n";
  std::cout << "faults injected: " << r.stats.crashes << " crashes, " << r.stats.restarts << " restarts, "
            << r.stats.partitions << " partitions, " << r.stats.messages_dropped << " messages lost, "
            << r.stats.messages_duplicated << " duplicated, " << r.stats.torn_writes << " torn writes\n";
  const auto& s = r.stats;
  std::cout << "snapshots: " << s.snapshots_taken << " taken, " << s.snapshots_lost
            << " lost in a crash while written or received, " << s.snapshots_installed << " installed, "
            << s.snapshot_restarts << " restarts from a snapshot, " << s.compactions << " compactions, "
            << s.snapshot_chunks_sent << " chunks read / " << s.snapshot_chunks_received << " written, "
            << s.user_restores << " user restores\n";
  std::cout << "membership: " << s.membership_proposed << " changes accepted, " << r.membership_ok << " done, "
            << r.membership_failed << " failed; " << s.nodes_added << " nodes added, " << s.nodes_retired
            << " retired; final configuration " << (r.final_configuration.empty() ? "?" : r.final_configuration)
            << "\n";
  std::cout << "leadership transfers: " << s.transfers_proposed << " started, " << r.transfers_ok << " succeeded, "
            << r.transfers_failed << " failed\n";
  std::cout << "client operations: " << r.ops_ok << " ok, " << r.ops_failed << " failed, " << r.ops_unknown
            << " unknown outcome\n";
  std::cout << "linearizability: " << r.linearizability << "\n";
  std::cout << "recovery after healing: " << r.recovery.count() / 1000000 << " ms to the first new commit\n";
  std::cout << "invariants checked: " << r.invariant_checks
            << " times (election safety, leader append-only, log matching, leader completeness,\n"
               "  state machine safety, monotonic term and commit, durability before send, commit quorum,\n"
               "  one configuration change at a time, overlapping majorities, snapshot state = log state,\n"
               "  compaction within the snapshot)\n";
  std::cout << "verdict: " << (r.ok ? "PASS" : "FAIL: " + r.failure) << "\n";
}

struct Totals {
  std::mutex mu;
  std::atomic<bool> any_failed{false};
  uint64_t passed = 0;
  std::vector<std::string> failures;
};

void run_one(uint64_t seed, int nodes_override, int slot, Totals* totals) {
  g_running[slot].store(seed);
  ScenarioParams p = ScenarioParams::for_seed(seed);
  if (nodes_override > 0) p.nodes = nodes_override;
  ScenarioResult r = raft::sim::run_scenario(p);
  g_running[slot].store(0);
  std::lock_guard<std::mutex> lock(totals->mu);
  if (r.ok) {
    ++totals->passed;
  } else {
    std::ostringstream os;
    os << "seed " << seed << " FAILED (" << p.to_string() << "): " << r.failure
       << "\n  replay: sim --seed " << seed << (nodes_override > 0 ? " --nodes " + std::to_string(nodes_override) : "")
       << " --trace";
    totals->failures.push_back(os.str());
    totals->any_failed = true;
    std::cerr << os.str() << std::endl;
  }
}

// Runs seeds from `next` until `done` says stop; `jobs` threads.
bool g_stop_on_failure = false;

template <class NextSeed>
int run_many(NextSeed next_seed, int jobs, int nodes_override) {
  Totals totals;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) {
    threads.emplace_back([&, j] {
      uint64_t seed;
      while (!(g_stop_on_failure && totals.any_failed) && next_seed(&seed))
        run_one(seed, nodes_override, j, &totals);
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t total = totals.passed + totals.failures.size();
  std::printf("sim: %llu seeds, %llu passed, %zu failed in %.1f s (%.1f seeds/s with %d jobs)\n",
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(totals.passed),
              totals.failures.size(), secs, secs > 0 ? static_cast<double>(total) / secs : 0.0, jobs);
  return totals.failures.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGABRT, on_abort);
  uint64_t seed = 0, from = 0, to = 0;
  int nodes = 0, jobs = 1;
  double soak_seconds = 0;
  bool trace = false, summary = false;
  std::string seed_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "sim: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--seed") seed = std::stoull(value());
      else if (a == "--seeds") {
        std::string v = value();
        auto dash = v.find('-');
        if (dash == std::string::npos) throw std::invalid_argument(v);
        from = std::stoull(v.substr(0, dash));
        to = std::stoull(v.substr(dash + 1));
      } else if (a == "--seed-file") seed_file = value();
      else if (a == "--nodes") nodes = std::stoi(value());
      else if (a == "--jobs") jobs = std::stoi(value());
      else if (a == "--soak") soak_seconds = std::stod(value());
      else if (a == "--trace") trace = true;
      else if (a == "--summary") summary = true;
      else if (a == "--stop-on-failure") g_stop_on_failure = true;
      else if (a == "--help" || a == "-h") {
        usage();
        return 0;
      } else {
        std::cerr << "sim: unknown argument " << a << "\n";
        usage();
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "sim: bad value for " << a << "\n";
      return 2;
    }
  }
  if (jobs < 1 || jobs > kMaxJobs) {
    std::cerr << "sim: --jobs must be in 1.." << kMaxJobs << "\n";
    return 2;
  }
  if (nodes < 0 || nodes > 9) {
    std::cerr << "sim: --nodes must be in 1..9\n";
    return 2;
  }

  if (seed != 0) {
    ScenarioParams p = ScenarioParams::for_seed(seed);
    if (nodes > 0) p.nodes = nodes;
    g_running[0].store(seed);
    ScenarioResult r = raft::sim::run_scenario(p, trace ? &std::cout : nullptr);
    g_running[0].store(0);
    if (summary || trace) print_summary(p, r);
    else std::cout << "seed " << seed << ": " << (r.ok ? "PASS" : "FAIL: " + r.failure) << "\n";
    return r.ok ? 0 : 1;
  }
  if (!seed_file.empty()) {
    std::ifstream in(seed_file);
    if (!in) {
      std::cerr << "sim: cannot read " << seed_file << "\n";
      return 2;
    }
    std::vector<uint64_t> seeds;
    std::string line;
    while (std::getline(in, line)) {
      auto hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      std::istringstream ls(line);
      uint64_t s;
      if (ls >> s) seeds.push_back(s);
    }
    std::mutex mu;
    size_t k = 0;
    return run_many([&](uint64_t* s) {
      std::lock_guard<std::mutex> l(mu);
      if (k >= seeds.size()) return false;
      *s = seeds[k++];
      return true;
    }, jobs, nodes);
  }
  if (from != 0 && to >= from) {
    std::atomic<uint64_t> next{from};
    return run_many([&](uint64_t* s) {
      *s = next.fetch_add(1);
      return *s <= to;
    }, jobs, nodes);
  }
  if (soak_seconds > 0) {
    uint64_t base = (std::random_device()() | 1ULL) << 20;
    std::printf("sim: soak from seed %llu for %.0f s\n", static_cast<unsigned long long>(base), soak_seconds);
    std::atomic<uint64_t> next{base};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(soak_seconds);
    return run_many([&](uint64_t* s) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      *s = next.fetch_add(1);
      return true;
    }, jobs, nodes);
  }
  usage();
  return 2;
}
