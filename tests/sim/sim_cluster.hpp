// SimCluster: a Raft cluster in one thread, under a simulated network, disk
// and clock, all driven by one seed (in the manner of TigerBeetle's VOPR).
//
// It runs real consensus cores (src/core) and implements their Ready
// contract the way the runtime does, against simulated devices:
//   network  drops, delays, duplicates and reorders messages; symmetric and
//            one-way partitions
//   disk     writes complete after a random latency, one sync for all that
//            is pending (group commit); a crash keeps what was synced plus a
//            random prefix of what was not, possibly tearing the last append
//   clock    each node's clock runs at its own rate (drift)
//
// A StateMachine of the caller's choosing runs on every node. Invariants
// (invariants.hpp) are checked after every event; the first violation
// stops the run and is reported with the simulated time.
//
// The same seed always produces the same run, event for event: a failing
// seed is a one-line reproduction (`sim --seed N --trace`).
//
// Thread safety: none; one thread drives a cluster.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "core/raft.hpp"
#include "core/random.hpp"
#include "sim/invariants.hpp"

namespace raft::sim {

using core::Nanos;
using namespace std::chrono_literals;

// What a user's FSM looks like to the simulator.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies a committed entry (commands, noops, barriers and configuration
  // entries all come through here, in log order) and returns its result.
  virtual std::string apply(const Entry& e) = 0;
};

struct NetworkFaults {
  Nanos delay_min = 100us;
  Nanos delay_max = 2ms;
  double drop = 0;         // probability a message is lost
  double duplicate = 0;    // probability a message is delivered twice
  double long_delay = 0;   // probability of a delay up to long_delay_max (reordering)
  Nanos long_delay_max = 200ms;
};

struct DiskFaults {
  Nanos sync_min = 50us;
  Nanos sync_max = 2ms;
  double stall = 0;        // probability a sync takes up to stall_max
  Nanos stall_max = 500ms;
};

struct SimOptions {
  uint64_t seed = 1;
  int nodes = 3;
  core::Config core;                // id and seed are set per node
  NetworkFaults network;
  DiskFaults disk;
  int64_t drift_ppm_max = 20000;    // each clock runs up to 2% fast or slow
  std::function<std::unique_ptr<StateMachine>()> make_state_machine;
  std::ostream* trace = nullptr;    // every event, when set
};

class SimCluster {
 public:
  explicit SimCluster(SimOptions options);
  ~SimCluster();

  // ---- running ----

  Nanos now() const { return now_; }
  // Processes events until the queue is empty, `until` is reached, or an
  // invariant fails. Returns false once an invariant has failed.
  bool run_until(Nanos until);
  // Schedules fn at the given simulated time (faults, client actions).
  void at(Nanos when, std::function<void()> fn);
  bool failed() const { return invariants_.failed(); }
  const std::string& failure() const { return invariants_.failure(); }
  Invariants& invariants() { return invariants_; }
  core::Random& rng() { return rng_; }

  // ---- the nodes ----

  int size() const { return static_cast<int>(nodes_.size()); }
  std::vector<NodeId> ids() const;
  bool up(NodeId id) const;
  core::Raft* raft(NodeId id);  // nullptr while crashed
  StateMachine* state_machine(NodeId id);
  Index applied(NodeId id) const;
  uint64_t incarnation(NodeId id) const;
  // The node that is leader in the highest term among live nodes, if any.
  std::optional<NodeId> leader() const;

  // Client entry points: call the node's core and process its output.
  Result<core::LogPosition> propose(NodeId at, Buffer command);
  void read_index(NodeId at, uint64_t read_id);

  // ---- faults ----

  void crash(NodeId id);
  void restart(NodeId id);
  // Nodes in different groups cannot talk; nodes not named keep talking
  // to everyone.
  void partition(const std::vector<std::vector<NodeId>>& groups);
  // Messages from `from` to `to` are lost (one direction only).
  void block(NodeId from, NodeId to);
  void heal();
  NetworkFaults& network() { return options_.network; }
  DiskFaults& disk() { return options_.disk; }

  // ---- observers (for workloads) ----

  std::function<void(NodeId, const Entry&, const std::string& result)> on_apply;
  std::function<void(NodeId, const core::ReadState&)> on_read;
  std::function<void(NodeId)> on_crash;
  // A node became leader of a term (once per term).
  std::function<void(NodeId, Term)> on_leader;
  // A leader's commit index advanced.
  std::function<void(NodeId, Index)> on_leader_commit;

  // ---- statistics ----

  struct Stats {
    uint64_t events = 0;
    uint64_t messages_sent = 0;
    uint64_t messages_dropped = 0;
    uint64_t messages_duplicated = 0;
    uint64_t crashes = 0;
    uint64_t restarts = 0;
    uint64_t partitions = 0;
    uint64_t syncs = 0;
    uint64_t torn_writes = 0;
    std::map<uint64_t, uint64_t> leader_of_term;  // term -> node id
  };
  const Stats& stats() const { return stats_; }

 private:
  struct DiskOp {
    enum Kind { kHardState, kTruncate, kAppend, kCommitHint } kind;
    HardState hs;
    Index index;
    std::vector<Entry> entries;
  };
  struct Disk {
    // What survives a crash.
    HardState hs;
    std::vector<Entry> log;  // log[k] has index k + 1
    Index commit_hint;
    // Written but not yet synced, oldest first.
    std::deque<DiskOp> pending;
    size_t syncing = 0;  // pending.front() .. this many are in the current sync
    uint64_t hs_issued = 0;
    uint64_t hs_durable = 0;
  };
  struct Held {
    uint64_t hs_seq;
    std::vector<core::Message> messages;
  };
  struct Node {
    NodeId id;
    std::unique_ptr<core::Raft> raft;
    std::unique_ptr<StateMachine> fsm;
    Index applied;
    uint64_t incarnation = 0;
    int64_t drift_ppm = 0;
    Disk disk;
    std::deque<Held> held;
    uint64_t tick_token = 0;
    bool tick_scheduled = false;
    Nanos tick_deadline{0};
    Index seen_commit;
    uint64_t sync_token = 0;
  };
  struct Event {
    Nanos when;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const {
      return when != o.when ? when > o.when : seq > o.seq;
    }
  };

  Node& node(NodeId id);
  const Node& node(NodeId id) const;
  Nanos local_time(const Node& n, Nanos global) const;
  Nanos global_time(const Node& n, Nanos local) const;
  void start_node(Node& n);
  void process_ready(Node& n);
  void stepped(Node& n);  // after every input: invariants and statistics
  void send(Node& n, std::vector<core::Message> msgs);
  void deliver(const core::Message& m);
  void schedule_tick(Node& n, Nanos local_deadline);
  void maybe_start_sync(Node& n);
  void finish_sync(NodeId id, uint64_t token);
  bool can_reach(NodeId from, NodeId to) const;
  Nanos random_between(Nanos lo, Nanos hi);
  bool chance(double p);
  void trace(const std::string& line);

  SimOptions options_;
  core::Random rng_;
  Nanos now_{0};
  uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  Invariants invariants_;
  Stats stats_;
};

std::string describe(const core::Message& m);

}  // namespace raft::sim
