// SimCluster: a Raft cluster in one thread, under a simulated network, disk
// and clock, all driven by one seed (in the manner of TigerBeetle's VOPR).
//
// It runs real consensus cores (src/core) and implements their Ready
// contract the way the runtime does (src/runtime), against simulated
// devices:
//   network  drops, delays, duplicates and reorders messages; symmetric and
//            one-way partitions
//   disk     writes complete after a random latency, one sync for all that
//            is pending (group commit); a crash keeps what was synced plus a
//            random prefix of what was not, possibly tearing the last append
//   snapshots a store per node: committed snapshots survive a crash; one
//            being written (taken locally, or received chunk by chunk from a
//            leader) is lost with it. Snapshot I/O runs on a simulated
//            "snapshot thread" per node, one task at a time, each with its
//            own latency, as node_snapshots.cpp does
//   clock    each node's clock runs at its own rate (drift)
//
// Nodes can be added while the cluster runs (they start empty, without a
// bootstrap, and wait to be added to the configuration) and retired once
// their removal has committed (as the runtime's shutdown_on_remove does).
//
// A StateMachine of the caller's choosing runs on every node, plus one
// reference copy fed with the committed log in index order: every node's
// state is compared with it after each apply and each snapshot restore.
// Invariants (invariants.hpp) are checked after every event; the first
// violation stops the run and is reported with the simulated time.
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
#include <string_view>
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
  // The whole state as bytes (thesis 5.1: a point-in-time copy), and its
  // inverse: restore() replaces the state with the one snapshot() gave
  // (false: the bytes are not a snapshot).
  virtual std::string snapshot() const = 0;
  virtual bool restore(std::string_view bytes) = 0;
  // Equal states give equal digests. Default: a hash of snapshot().
  virtual uint64_t digest() const;
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

// When nodes take snapshots, and how their store behaves.
struct SnapshotPolicy {
  bool enabled = false;
  // A node snapshots once it applied this many entries past its newest
  // snapshot, and at any apply with probability `chance` (random moments).
  uint64_t threshold = 64;
  double chance = 0;
  // Each snapshot-thread task (write a snapshot, read or write a chunk)
  // takes this long; `stall` of them take up to stall_max more.
  Nanos io_min = 100us;
  Nanos io_max = 3ms;
  double stall = 0;
  Nanos stall_max = 300ms;
  // Committed snapshots kept per node (the newest by index; never the one
  // the core currently serves from).
  int retain = 2;
};

struct SimOptions {
  uint64_t seed = 1;
  // Nodes bootstrapped with one configuration naming them all.
  int nodes = 3;
  core::Config core;                // id and seed are set per node
  NetworkFaults network;
  DiskFaults disk;
  int64_t drift_ppm_max = 20000;    // each clock runs up to 2% fast or slow
  SnapshotPolicy snapshots;
  // A node whose removal committed shuts down for good (thesis 4.2.2).
  bool shutdown_on_remove = false;
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
  // Shut down for good after its removal committed.
  bool retired(NodeId id) const;
  // Starts a new, empty node (no bootstrap: it waits to be added to the
  // configuration); returns its id, the next unused one.
  NodeId add_node();
  core::Raft* raft(NodeId id);  // nullptr while crashed
  StateMachine* state_machine(NodeId id);
  Index applied(NodeId id) const;
  uint64_t incarnation(NodeId id) const;
  // The node that is leader in the highest term among live nodes, if any.
  std::optional<NodeId> leader() const;

  // Client entry points: call the node's core and process its output.
  Result<core::LogPosition> propose(NodeId at, Buffer command);
  void read_index(NodeId at, uint64_t read_id);
  Status change_membership(NodeId at, uint64_t request_id, const core::ConfChange& change);
  Status change_configuration(NodeId at, uint64_t request_id, const Configuration& target);
  Status transfer_leadership(NodeId at, uint64_t request_id, NodeId target);
  // A user's restore (Raft::restore_snapshot) at a leader whose whole log
  // is committed and applied, with its own current state: the cluster's
  // state does not change, but every follower must take the snapshot.
  Status restore_snapshot(NodeId at);
  // Starts a snapshot of the node's state machine now (unless one is being
  // written).
  void take_snapshot(NodeId id);

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
  // A request (membership change, transfer) finished.
  std::function<void(NodeId, const core::RequestResult&)> on_done;
  // The node's state machine became a snapshot's (entries up to `index`
  // were never applied there one by one).
  std::function<void(NodeId, Index)> on_install;
  // Snapshot I/O started on a node: a write of its own snapshot, or the
  // first chunk of one it receives (fault injection aims here).
  std::function<void(NodeId)> on_snapshot_io;

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
    uint64_t snapshots_taken = 0;
    uint64_t snapshots_lost = 0;           // crashed while being written or received
    uint64_t snapshots_installed = 0;
    uint64_t snapshot_chunks_sent = 0;
    uint64_t snapshot_chunks_received = 0;
    uint64_t snapshot_restarts = 0;        // restarts that restored a snapshot
    uint64_t compactions = 0;
    uint64_t user_restores = 0;
    uint64_t nodes_added = 0;
    uint64_t nodes_retired = 0;
    uint64_t membership_proposed = 0;      // changes a leader accepted
    uint64_t transfers_proposed = 0;       // transfers a leader accepted
    std::map<uint64_t, uint64_t> leader_of_term;  // term -> node id
  };
  const Stats& stats() const { return stats_; }

 private:
  struct DiskOp {
    // kInstall: the log follows an installed snapshot ending at (index,
    // term): drop the prefix (keep_log) or everything. kCompact: drop the
    // prefix up to index (a snapshot covers it).
    enum Kind { kHardState, kTruncate, kAppend, kCommitHint, kInstall, kCompact } kind;
    HardState hs;
    Index index;
    std::vector<Entry> entries;
    Term term;
    bool keep_log = false;
  };
  struct StoredSnapshot {
    core::SnapshotInfo info;
    std::string bytes;
  };
  // A snapshot being received from a leader (lost on a crash).
  struct Incoming {
    NodeId from;
    Index index;
    Term term;
    std::string bytes;
    uint32_t crc = 0;
  };
  struct Disk {
    // What survives a crash.
    HardState hs;
    DiskLog log;
    Index commit_hint;
    std::vector<StoredSnapshot> snapshots;  // committed, by increasing index
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
    // What the state machine holds: entries up to `applied`, and the
    // configuration as of there (a snapshot's metadata).
    Index applied;
    Term applied_term;
    Configuration applied_config;
    Index applied_config_index;
    bool retired = false;
    uint64_t incarnation = 0;
    int64_t drift_ppm = 0;
    Disk disk;
    std::deque<Held> held;
    uint64_t tick_token = 0;
    bool tick_scheduled = false;
    Nanos tick_deadline{0};
    Index seen_commit;
    uint64_t sync_token = 0;
    // The configuration index and commit index after the previous input
    // (the commit quorum check uses the configuration a leader decided with).
    Index config_index_before;
    Index commit_checked;
    bool commit_unchecked = false;  // a user's restore committed without a quorum
    // Snapshot thread: the time its queue drains; what is in progress.
    Nanos snapshot_busy_until{0};
    bool taking_snapshot = false;
    std::optional<Incoming> incoming;
    uint64_t snapshot_seq = 0;  // names this node's snapshots
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
  Node& new_node();
  // One input to a node's core: hands in the time, runs `fn`, checks and
  // processes the output.
  template <class Fn>
  auto input(Node& n, Fn&& fn);
  Nanos local_time(const Node& n, Nanos global) const;
  Nanos global_time(const Node& n, Nanos local) const;
  void start_node(Node& n);
  // Drops everything a node holds in memory (its disk stays).
  void teardown(Node& n);
  void process_ready(Node& n);
  void stepped(Node& n);  // after every input: invariants and statistics
  void send(Node& n, std::vector<core::Message> msgs);
  void deliver(const core::Message& m);
  void schedule_tick(Node& n, Nanos local_deadline);
  void maybe_start_sync(Node& n);
  void finish_sync(NodeId id, uint64_t token);
  bool can_reach(NodeId from, NodeId to) const;
  // Applies one write to the durable disk (at a sync, or in a crash).
  void apply_disk_op(Node& n, DiskOp& op, bool torn_allowed, std::optional<std::pair<Index, Term>>* appended);
  // Snapshots.
  void install(Node& n, const core::Ready::Install& ins);
  void maybe_snapshot(Node& n);
  void on_snapshot_thread(Node& n, std::function<void(Node&)> task);
  void read_snapshot_chunk(Node& n, const core::SnapshotRead& r);
  void receive_snapshot_chunk(Node& n, const core::SnapshotChunk& c);
  void commit_snapshot(Node& n, StoredSnapshot s);
  const StoredSnapshot* find_snapshot(const Node& n, const std::string& id) const;
  Index durable_snapshot_index(const Node& n) const;
  bool holds_durably(NodeId id, Index index, Term term) const;
  void check_commit(Node& n);
  void feed_reference(const Entry& e);
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
  // The committed log applied in order (Invariants compares digests).
  std::unique_ptr<StateMachine> reference_;
  Invariants invariants_;
  Stats stats_;
};

std::string describe(const core::Message& m);

}  // namespace raft::sim
