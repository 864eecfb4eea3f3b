// A simulation scenario: everything about one run derives from its seed
// (cluster size, fault mix, timings), so `sim --seed N` replays it exactly.
//
// Timeline: clients run throughout; faults (crashes, partitions, loss,
// duplication, reordering, disk stalls, clock drift) are injected during
// the fault phase; then everything heals and the run checks liveness: a
// leader is elected and a new write commits within a bound, and every node
// catches up. The history is finally checked for linearizability.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "sim/sim_cluster.hpp"

namespace raft::sim {

struct ScenarioParams {
  uint64_t seed = 1;
  int nodes = 3;
  bool crashes = true;
  bool partitions = true;
  bool lossy_network = true;   // drops, duplicates, long delays
  bool disk_stalls = true;
  bool leader_churn = false;   // new leaders crash or are cut off moments after election
  int64_t drift_ppm_max = 20000;
  Nanos fault_phase = std::chrono::seconds(6);
  // After healing, a write must commit within this long.
  Nanos liveness_bound = std::chrono::seconds(6);
  int clients = 4;
  int keys = 3;
  // Flow control: small batches and windows open the windows in which
  // ordering bugs show (a follower holding some of a term's entries).
  size_t append_entries_max = 8;
  size_t inflight_appends_max = 4;

  static ScenarioParams for_seed(uint64_t seed);
  std::string to_string() const;
};

struct ScenarioResult {
  bool ok = true;
  std::string failure;  // the first violated property, when !ok
  SimCluster::Stats stats;
  uint64_t invariant_checks = 0;
  uint64_t committed_entries = 0;
  uint64_t ops_ok = 0, ops_failed = 0, ops_unknown = 0;
  std::string linearizability;  // verdict and statistics
  Nanos recovery{0};            // heal -> first new write committed
};

// Runs one scenario; with a trace stream, prints every event.
ScenarioResult run_scenario(const ScenarioParams& p, std::ostream* trace = nullptr);

}  // namespace raft::sim
