// A simulation scenario: everything about one run derives from its seed
// (cluster size, fault mix, timings), so `sim --seed N` replays it exactly.
//
// Timeline: clients run throughout; faults (crashes, partitions, loss,
// duplication, reordering, disk stalls, clock drift) are injected during
// the fault phase; then everything heals and the run checks liveness: a
// leader is elected and a new write commits within a bound, and every
// member of the final configuration catches up. The history is finally
// checked for linearizability.
//
// Alongside the faults, per seed: snapshots at random moments and
// thresholds (small trailing_entries, so that followers need
// InstallSnapshot; small chunks, so that transfers span many messages that
// crashes and partitions break); a membership workload (grow 1 -> 5,
// shrink 5 -> 1, replace every member one by one or through joint
// consensus, non-voters and demotions, random joint changes, random
// single-server changes), proposed at whoever leads and retried while
// busy; leadership transfers; and, rarely, a user's snapshot restore.
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

  // Snapshots (thesis chapter 5).
  bool snapshots = false;
  uint64_t snapshot_threshold = 64;  // entries applied past the newest snapshot
  double snapshot_chance = 0;        // per Ready: a snapshot at a random moment
  uint64_t trailing_entries = 10240;
  size_t snapshot_chunk_bytes = 1 << 20;
  size_t snapshot_chunks_inflight = 4;
  int snapshot_retain = 2;
  bool snapshot_stalls = false;      // snapshot I/O sometimes takes long
  bool user_restores = false;        // Raft::restore_snapshot now and then

  // Membership changes (thesis chapter 4).
  enum class Membership : uint8_t {
    kNone,
    kGrow,          // 1 -> 5 voters, one at a time (catch-up, then promotion)
    kShrink,        // 5 -> 1 voter, one at a time
    kReplace,       // every member replaced by a new id, one change at a time
    kReplaceJoint,  // every member replaced in one joint change
    kNonVoters,     // non-voters added, promoted, demoted, removed
    kJoint,         // random joint changes
    kRandom,        // random single-server changes
  };
  Membership membership = Membership::kNone;
  bool shutdown_on_remove = false;   // removed nodes shut down for good
  bool transfers = false;            // random leadership transfers

  static ScenarioParams for_seed(uint64_t seed);
  std::string to_string() const;
};

const char* membership_name(ScenarioParams::Membership m);

struct ScenarioResult {
  bool ok = true;
  std::string failure;  // the first violated property, when !ok
  SimCluster::Stats stats;
  uint64_t invariant_checks = 0;
  uint64_t committed_entries = 0;
  uint64_t ops_ok = 0, ops_failed = 0, ops_unknown = 0;
  std::string linearizability;  // verdict and statistics
  Nanos recovery{0};            // heal -> first new write committed
  uint64_t membership_ok = 0, membership_failed = 0;  // requests' outcomes
  uint64_t transfers_ok = 0, transfers_failed = 0;
  std::string final_configuration;
};


// Runs one scenario; with a trace stream, prints every event.
ScenarioResult run_scenario(const ScenarioParams& p, std::ostream* trace = nullptr);

}  // namespace raft::sim
