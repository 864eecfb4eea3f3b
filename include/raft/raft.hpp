// libraft: Raft consensus as a library. The C++ API.
//
// A program starts a Node with a Config and its state machine (an Fsm).
// Commands given to the leader's Node::apply() are replicated to a majority
// of the cluster, committed, and applied to the Fsm of every node in the
// same order. A node survives crashes and restarts (with the WAL store) and
// the cluster survives the loss of a minority of its servers.
//
//   auto node = raft::Node::start(config, std::make_shared<MyFsm>());
//   if (!node.ok()) die(node.status().to_string());
//   (*node)->bootstrap(cluster);              // once, on a brand-new cluster
//   auto f = (*node)->apply(raft::Buffer::copy_of("x=1"), 1s);
//   if (f.wait().ok()) use(f.value());        // the Fsm's result
//
// Conventions of this header:
//
// 1. Threads. Every Node method is thread-safe and may be called from any
//    thread except the Fsm's callbacks and the observer callbacks, which
//    run on the node's apply thread: calling a blocking Node method
//    (bootstrap, shutdown, or waiting on a Future) from there deadlocks.
//    Non-blocking calls (apply, state, stats, ...) are fine everywhere.
//    A node's threads are named for top -H, perf and gdb: raft-loop (the
//    event loop: consensus, network, timers), raft-disk (log writes and
//    syncs), raft-apply (the Fsm), raft-snapshot (snapshot I/O), and with
//    the WAL, once needed, raft-wal-prep and raft-reclaim.
// 2. Fsm. Its callbacks run on one thread (the apply thread), one at a
//    time, in log order, so an Fsm needs no locks of its own for apply and
//    restore. FsmSnapshot::persist runs on a thread of its own.
// 3. Ownership. Node::start shares ownership of the Fsm. Commands are
//    Buffers: the library keeps a reference, never a copy, until the entry
//    is durable and applied. A LogEntry's bytes are borrowed for the
//    duration of Fsm::apply (keep entry.buffer to hold them longer).
// 4. Errors. No exception leaves this API. Failures are a Status whose
//    code says what kind (status.hpp) and whose message says what and
//    where. Futures say whether a command may still commit (kTimeout,
//    kLeadershipLost) or certainly did not (kNotLeader, kShutdown).
// 5. Futures resolve exactly once.
#pragma once

#include <any>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "raft/buffer.hpp"
#include "raft/log.hpp"
#include "raft/status.hpp"

namespace raft {

using ServerId = uint64_t;

// ---------------------------------------------------------------------------
// Cluster membership

struct ServerInfo {
  ServerId id = 0;       // unique in the cluster, never reused, not 0
  std::string address;   // "host:port" of its Raft transport
  bool voter = true;     // false: a non-voter (learner) that only follows
  friend bool operator==(const ServerInfo&, const ServerInfo&) = default;
};

struct ClusterConfiguration {
  std::vector<ServerInfo> servers;
  friend bool operator==(const ClusterConfiguration&, const ClusterConfiguration&) = default;
};

// ---------------------------------------------------------------------------
// In-process network (transport "memory"): several nodes of one process
// talk through it, with fault hooks for tests. Thread-safe.

class InMemoryNetwork {
 public:
  static std::shared_ptr<InMemoryNetwork> create(uint64_t seed = 1);
  ~InMemoryNetwork();

  // Messages between the two groups are lost, both ways.
  void partition(const std::vector<ServerId>& a, const std::vector<ServerId>& b);
  // Cuts one server off from everyone.
  void isolate(ServerId id);
  void heal();
  // Each message is lost with this probability (0 by default).
  void set_drop_rate(double p);

  struct Impl;
  Impl* impl() const { return impl_.get(); }

 private:
  explicit InMemoryNetwork(uint64_t seed);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------
// Configuration

struct Config {
  // This server's id: not 0, unique in the cluster for ever.
  ServerId id = 0;
  // Peers refuse connections that name another cluster.
  std::string cluster_id = "libraft";

  // Transport: "tcp" (default) or "memory" (with memory_network).
  std::string transport = "tcp";
  // Where to listen, "host:port" (port 0: any free port). TCP only.
  std::string bind_address = "127.0.0.1:0";
  // How peers reach this node; empty means the bound address.
  std::string advertise_address;
  std::shared_ptr<InMemoryNetwork> memory_network;

  // Transport security (docs/security.md): mutual TLS between nodes. Off
  // while all three files are empty (the default, for compatibility);
  // strongly recommended whenever the Raft port is reachable from other
  // machines. Set all three to turn it on (TCP only): PEM files, read at
  // start and again by Node::reload_tls(). Both sides of every connection
  // present a certificate signed by a CA in tls_ca_file and verify the
  // other's; a peer without one is refused.
  std::string tls_ca_file;    // the CA certificate(s) that sign the cluster's nodes
  std::string tls_cert_file;  // this node's certificate (chain)
  std::string tls_key_file;   // its private key
  // Also pin each peer's server id to its certificate: the certificate of
  // the node that claims id N must name "nodeN" as its subject common name
  // or as a DNS subject alternative name (scripts/make-certs.sh makes such
  // certificates). Without it, any certificate from the CA may claim any id.
  bool tls_verify_peer_id = false;

  // Storage: "wal" (default; durable, in data_dir) or "memory" (lost on
  // exit; for tests and a non-persistent single node).
  std::string store = "wal";
  std::string data_dir;
  // WAL segment files (64 MiB) that compaction frees and the log keeps for
  // reuse: writing over blocks written before makes each flush cheaper
  // (docs/disk-format.md, "Spare segments"). Costs that much disk space.
  uint64_t wal_spare_segments = 2;
  // Until compaction frees a segment, write a spare of zeros in the
  // background once the newest segment is an eighth full, so new segments
  // are written over blocks written before too. Costs a second write of
  // those bytes, so it is skipped while the log's flushes are large (the
  // disk's bandwidth is then the limit) (docs/configuration.md).
  bool wal_prepare_spares = true;

  // Timing (docs/configuration.md explains each trade).
  // How often a leader sends heartbeats.
  std::chrono::milliseconds heartbeat_interval{100};
  // A follower that hears nothing from a leader for a random time in
  // [election_timeout, 2 * election_timeout) starts an election.
  std::chrono::milliseconds election_timeout{1000};
  // A leader tells followers of a new commit index within this long, even
  // when there is nothing else to send.
  std::chrono::milliseconds commit_timeout{50};
  // A leader that has not heard from a quorum for this long steps down
  // (check-quorum). Between heartbeat_interval and election_timeout.
  std::chrono::milliseconds leader_lease_timeout{1000};

  // Replication flow control, per follower.
  size_t max_append_entries = 1024;      // entries in one AppendEntries
  size_t max_append_bytes = 1 << 20;     // payload bytes in one AppendEntries
  size_t max_inflight_appends = 64;      // pipelined AppendEntries in flight
  size_t max_inflight_bytes = 32 << 20;  // payload bytes in flight
  // Backpressure: commands submitted but not yet applied, in bytes and in
  // count. apply() waits (up to its timeout) while either is exceeded.
  size_t max_pending_bytes = 64 << 20;
  size_t max_pending_commands = 65536;

  // Snapshots and log compaction (see docs/snapshots.md).
  uint64_t trailing_logs = 10240;
  std::chrono::milliseconds snapshot_interval{120000};
  uint64_t snapshot_threshold = 8192;
  // Also snapshot, without waiting for snapshot_interval, once the entries
  // applied since the last snapshot hold more than this many bytes (each
  // counted as its payload plus 64 bytes). Every entry since the last
  // snapshot stays in memory, so this bounds what the log takes under a
  // sustained load: without it, 120 s of 128-byte commands at 130k/s held
  // 3.7 GiB per node. 0: no such bound.
  uint64_t snapshot_log_bytes = 256ull << 20;
  uint32_t retain_snapshots = 2;
  bool no_snapshot_restore_on_start = false;

  bool pre_vote = true;       // thesis 9.6
  bool check_quorum = true;   // thesis 6.2 and leader stickiness (4.2.3)
  // A node removed from the configuration shuts itself down.
  bool shutdown_on_remove = true;

  LogLevel log_level = LogLevel::kInfo;
  LogSink log_callback;  // default: stderr

  // OK, or InvalidArgument explaining the first thing that is wrong.
  Status validate() const;
};

// ---------------------------------------------------------------------------
// The state machine

enum class EntryKind : uint8_t { kCommand = 1, kNoop = 2, kConfiguration = 3, kBarrier = 4 };

struct LogEntry {
  uint64_t index = 0;
  uint64_t term = 0;
  EntryKind kind = EntryKind::kCommand;
  std::span<const uint8_t> data;  // borrowed for the duration of the call
  Buffer buffer;                  // the same bytes, shared: keep it to keep them
};

// Where a snapshot's bytes go; streamed, so any size fits in constant memory.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual Status write(std::span<const uint8_t> bytes) = 0;
};

// Where a snapshot's bytes come from.
class SnapshotReader {
 public:
  virtual ~SnapshotReader() = default;
  // Fills up to out.size() bytes; 0 at the end. Corruption when the
  // stored snapshot fails its checksum.
  virtual Result<size_t> read(std::span<uint8_t> out) = 0;
};

// A point-in-time view of the state machine, taken quickly on the apply
// thread by Fsm::snapshot(); persist() then runs on a thread of its own
// while applying continues; release() is called last, in every case.
class FsmSnapshot {
 public:
  virtual ~FsmSnapshot() = default;
  virtual Status persist(SnapshotSink& sink) = 0;
  virtual void release() {}
};

class Fsm {
 public:
  virtual ~Fsm() = default;
  // Applies a committed entry, in log order, once per index per process
  // lifetime. Called for commands only (noops, barriers and configuration
  // entries are handled by the library). The result is handed to the
  // future of the apply() that submitted it, on that node.
  virtual std::any apply(const LogEntry& entry) = 0;
  // A point-in-time view of the state, returned quickly.
  virtual Result<std::unique_ptr<FsmSnapshot>> snapshot() = 0;
  // Replaces the whole state with the snapshot's.
  virtual Status restore(SnapshotReader& reader) = 0;
};

// ---------------------------------------------------------------------------
// Futures

namespace detail {

template <class T>
using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
struct FutureState {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  std::optional<Stored<T>> value;
  // The callbacks of then(), in order: the first in place (most futures
  // get one, and a vector would cost a heap allocation per command), any
  // more after it.
  std::function<void(const Status&)> first;
  std::vector<std::function<void(const Status&)>> more;

  // Called with mu held, before done.
  void add_callback(std::function<void(const Status&)> cb) {
    if (!first) first = std::move(cb);
    else more.push_back(std::move(cb));
  }

  // Returns false if already resolved (the second resolution is ignored).
  bool resolve(Status s, std::optional<Stored<T>> v) {
    std::function<void(const Status&)> cb;
    std::vector<std::function<void(const Status&)>> cbs;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (done) return false;
      done = true;
      status = std::move(s);
      value = std::move(v);
      cb.swap(first);
      cbs.swap(more);
    }
    cv.notify_all();
    if (cb) cb(status);
    for (auto& c : cbs) c(status);
    return true;
  }
};

}  // namespace detail

// The outcome of an asynchronous call. Copyable handle; all copies see the
// same result.
template <class T>
class Future {
 public:
  Future() = default;
  explicit Future(std::shared_ptr<detail::FutureState<T>> s) : s_(std::move(s)) {}

  bool valid() const { return s_ != nullptr; }
  // Non-blocking: whether the result is there.
  bool ready() const {
    std::lock_guard<std::mutex> lock(s_->mu);
    return s_->done;
  }
  // Blocks until resolved; returns the outcome.
  const Status& wait() const {
    std::unique_lock<std::mutex> lock(s_->mu);
    s_->cv.wait(lock, [&] { return s_->done; });
    return s_->status;
  }
  // Blocks at most `d`; true when resolved.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) const {
    std::unique_lock<std::mutex> lock(s_->mu);
    return s_->cv.wait_for(lock, d, [&] { return s_->done; });
  }
  template <class Clock, class Duration>
  bool wait_until(std::chrono::time_point<Clock, Duration> t) const {
    std::unique_lock<std::mutex> lock(s_->mu);
    return s_->cv.wait_until(lock, t, [&] { return s_->done; });
  }
  // The outcome; only meaningful once ready().
  const Status& status() const { return wait(); }
  // The value of a successful future (waits first). Aborts if not ok.
  template <class U = T, class = std::enable_if_t<!std::is_void_v<U>>>
  U& value() const {
    wait();
    if (!s_->status.ok()) detail::assert_failed("status().ok()", __FILE__, __LINE__, "value() of a failed Future");
    return *s_->value;
  }
  // Calls `cb` once with the outcome: at once (on this thread) if already
  // resolved, else on the thread that resolves it (a libraft thread: keep
  // it short and do not block there). Callbacks run in the order they were
  // added; an empty `cb` is ignored.
  void then(std::function<void(const Status&)> cb) const {
    if (!cb) return;
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      if (!s_->done) {
        s_->add_callback(std::move(cb));
        return;
      }
    }
    cb(s_->status);
  }

 private:
  std::shared_ptr<detail::FutureState<T>> s_;
};

namespace detail {
// The resolving side (used inside the library).
template <class T>
class Promise {
 public:
  Promise() : s_(std::make_shared<FutureState<T>>()) {}
  Future<T> future() const { return Future<T>(s_); }
  template <class U = T, class = std::enable_if_t<!std::is_void_v<U>>>
  bool set_value(U v) {
    return s_->resolve(Status(), std::optional<Stored<T>>(std::move(v)));
  }
  template <class U = T, class = std::enable_if_t<std::is_void_v<U>>>
  bool set_ok() {
    return s_->resolve(Status(), std::optional<Stored<T>>(std::monostate{}));
  }
  bool set_error(Status s) { return s_->resolve(std::move(s), std::nullopt); }

 private:
  std::shared_ptr<FutureState<T>> s_;
};
}  // namespace detail

// A future already resolved with an error.
template <class T>
Future<T> failed_future(Status s) {
  detail::Promise<T> p;
  p.set_error(std::move(s));
  return p.future();
}

// ---------------------------------------------------------------------------
// The node

enum class Role : uint8_t { kFollower, kCandidate, kLeader, kShutdown };
const char* role_name(Role r);

struct LeaderInfo {
  ServerId id = 0;
  std::string address;
};

// A latency distribution with fixed buckets (Prometheus-style: `bounds`
// are upper bounds in seconds, ascending; counts[i] holds the samples in
// (bounds[i-1], bounds[i]], and counts.back() those above the last bound).
struct Histogram {
  std::vector<double> bounds;
  std::vector<uint64_t> counts;  // bounds.size() + 1 entries
  uint64_t count = 0;
  double sum = 0;  // seconds
};

// Counters since this Node started, for monitoring (Node::metrics()).
struct Metrics {
  uint64_t entries_applied = 0;     // entries handed to the Fsm (commands, no-ops, ...)
  uint64_t commands_applied = 0;    // of which commands
  uint64_t entries_committed = 0;   // commit index advances seen by this node, in entries
  uint64_t elections_started = 0;   // times this node became a candidate (after a won pre-vote)
  uint64_t leader_changes = 0;      // times the known leader changed
  uint64_t step_downs = 0;          // times this node stopped leading
  // Raft messages refused because their sender is in no configuration
  // this node holds (docs/membership.md); per sender in stats().
  uint64_t messages_refused_unknown_sender = 0;
  uint64_t snapshots_taken = 0;
  uint64_t snapshots_installed = 0;  // received from a leader
  uint64_t snapshot_bytes_written = 0;  // total size of the snapshots taken
  uint64_t last_snapshot_bytes = 0;
  // One disk round of the log: every append pending, then one sync (group
  // commit), from the start of the writes to the end of the sync.
  Histogram append_latency;
  // The sync (fdatasync) of the log alone.
  Histogram fsync_latency;
  struct Peer {
    ServerId id = 0;
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    uint64_t messages_sent = 0;
    uint64_t messages_received = 0;
  };
  std::vector<Peer> peers;  // by id; traffic over the transport
};

class Node {
 public:
  // Opens the store, restores state, starts listening and starts the
  // node's threads (event loop, disk, apply). The Fsm is shared with the
  // caller. Errors: InvalidArgument (bad config), IoError (cannot bind or
  // open the store), Corruption (damaged store: the node refuses to start
  // rather than lose or invent data).
  static Result<std::unique_ptr<Node>> start(const Config& config, std::shared_ptr<Fsm> fsm);

  // Shuts down if still running.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Writes the first configuration of a brand-new cluster. Blocks until it
  // is durable. AlreadyExists when this node has any state (bootstrap once,
  // on every initial member with the same configuration, or on one).
  Status bootstrap(const ClusterConfiguration& configuration);

  // Submits a command. Resolves with the Fsm's result once the command is
  // committed and applied on this node. Errors: kNotLeader (certainly not
  // applied; the message names the leader when known), kLeadershipLost or
  // kTimeout (may still commit), kShutdown. When more than
  // max_pending_bytes / max_pending_commands are in flight, waits up to
  // `timeout` for room before giving up with kTimeout (not submitted).
  Future<std::any> apply(Buffer command, std::chrono::milliseconds timeout);
  // Resolves once every command submitted before it is applied.
  Future<void> barrier(std::chrono::milliseconds timeout);
  // Resolves OK once a quorum has confirmed this node is still the leader.
  Future<void> verify_leader();
  // A linearizable read point (thesis 6.4): resolves with an index once
  // this node has applied everything committed before the call, so the
  // Fsm's state may then be read locally. kNotLeader on followers.
  Future<uint64_t> read_index(std::chrono::milliseconds timeout);

  Role state() const;
  std::optional<LeaderInfo> leader() const;
  uint64_t term() const;
  uint64_t last_index() const;
  uint64_t commit_index() const;
  uint64_t applied_index() const;
  // When this node last heard from a leader (now, on the leader itself).
  std::chrono::steady_clock::time_point last_contact() const;
  // Like Hashicorp's Stats(): state, term, last_log_index, last_log_term,
  // commit_index, applied_index, fsm_pending, last_snapshot_index,
  // last_snapshot_term, latest_configuration, num_peers, last_contact,
  // protocol_version, and transport and disk counters;
  // messages_refused_unknown_sender and, per sender id N,
  // messages_refused_unknown_sender.N (docs/membership.md); with the
  // on-disk stores, wal_segments, wal_spare_segments, wal_trash_deleted,
  // and the deletions still to do, wal_trash_pending(_bytes) and
  // snapshot_trash_pending(_bytes) (docs/disk-format.md, "Trash").
  std::map<std::string, std::string> stats() const;

  // Reads tls_cert_file, tls_key_file and tls_ca_file again (certificate
  // rotation without a restart). Connections made afterwards use the new
  // files; connections already open keep the identity they were made
  // with. On any error (a file missing, a key that does not match its
  // certificate) the old files stay in use and nothing changes. Errors:
  // InvalidArgument (TLS is off, or a file is bad), Shutdown. Blocks
  // until the event loop has loaded them; not from a callback.
  Status reload_tls();
  // Counters and latency histograms since start (for /metrics endpoints).
  // Any thread but the apply thread: the peer traffic is read on the event
  // loop, so the call waits for it (at most 1 s; a wedged loop leaves
  // `peers` empty). The histograms are copies; cheap enough to scrape every
  // few seconds, not for a hot path.
  Metrics metrics() const;
  // The latest configuration in the log (in effect) and the committed one.
  ClusterConfiguration configuration() const;
  ClusterConfiguration committed_configuration() const;
  // Where peers reach this node.
  std::string address() const;
  ServerId id() const;

  // ---- Membership (docs/membership.md) ----
  //
  // Each resolves with the log index of the configuration entry that
  // completed the change, once it is committed. Leader only (kNotLeader
  // elsewhere); kBusy while another change is uncommitted, during a
  // leadership transfer, or before a new leader has committed an entry of
  // its own term; kTimeout or kLeadershipLost: the change may still happen.
  //
  // add_voter: the server first joins as a non-voter and is promoted once
  // it has caught up (within an election timeout of the leader's log), so
  // an empty or slow server never stalls commits. A brand-new server needs
  // no bootstrap: start it empty and add it here.
  Future<uint64_t> add_voter(ServerId id, const std::string& address, std::chrono::milliseconds timeout);
  Future<uint64_t> add_nonvoter(ServerId id, const std::string& address, std::chrono::milliseconds timeout);
  Future<uint64_t> remove_server(ServerId id, std::chrono::milliseconds timeout);
  Future<uint64_t> demote_voter(ServerId id, std::chrono::milliseconds timeout);
  // Any number of servers at once, through joint consensus (thesis 4.3).
  Future<uint64_t> change_configuration(const ClusterConfiguration& target, std::chrono::milliseconds timeout);

  // ---- Leadership ----
  //
  // Hands leadership to `target` (nullopt: the most up-to-date voter).
  // New commands are refused (kBusy) meanwhile. Resolves OK once another
  // leader is known; kTimeout after an election timeout without one, after
  // which this node leads on.
  Future<void> transfer_leadership(std::optional<ServerId> target);

  // ---- Snapshots (docs/snapshots.md) ----
  //
  // Takes a snapshot now; resolves with its last index. kBusy while one is
  // being taken; kAborted when nothing was applied since the last one.
  Future<uint64_t> snapshot();
  // Leader only: replaces the state of the whole cluster with a snapshot
  // the caller provides (like Hashicorp's Restore): this node's Fsm
  // restores it, and every follower receives it. Blocks until done.
  // For disaster recovery into an idle cluster only: until followers hold
  // it, a leader crash can make replicas diverge (docs/snapshots.md).
  Status restore(SnapshotReader& reader, std::chrono::milliseconds timeout);

  // DANGER: offline recovery for a cluster that lost a majority for good.
  // Run on each surviving server's data directory while no node runs there:
  // it rewrites the configuration to `configuration` without consensus.
  // Used wrongly (while the lost servers may come back, or with different
  // configurations on different servers) it causes split brain and data
  // loss. See docs/membership.md, "Recovering from the loss of a majority".
  static Status recover_cluster(const Config& config, const ClusterConfiguration& configuration);

  // Called on the apply thread whenever the known leader changes (nullopt:
  // none known), in order. Replaces any previous observer.
  using LeaderObserver = std::function<void(std::optional<ServerId> leader, uint64_t term)>;
  void on_leader_change(LeaderObserver observer);

  // Resolves every pending future with kShutdown, stops the threads and
  // closes the store. Returns once all threads have stopped. Idempotent.
  void shutdown();

  struct Impl;

 private:
  friend struct NodeFactory;  // the library's own tests start nodes with fault hooks
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace raft
