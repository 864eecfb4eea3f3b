// Node::Impl: one running node. It owns three threads (DESIGN.md, "Threads
// of one node"):
//
//   loop   an asio::io_context: the consensus core, its timer, the
//          transport, and the core's Ready contract (ready.hpp), which is
//          implemented here once: hard state durable before messages leave;
//          log writes handed to the disk thread while the leader's appends go
//          out at once; Raft::persisted() when the disk says so; committed
//          entries handed to the apply thread in order.
//   disk   DiskWorker: group-committed log and hard-state writes.
//   apply  ApplyWorker: FSM calls in log order; futures resolved.
//
// API threads never touch the core: they post closures onto the loop (or,
// for commands, push onto a queue the loop drains in batches) and wait on
// futures.
//
// Lock order: prop_mu_ and post_mu_ are leaves; pub_mu_ is a leaf; bp_mu_
// is a leaf. No lock is held while calling the FSM or user callbacks.
#pragma once

#include <asio.hpp>

#include <any>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "core/raft.hpp"
#include "raft/raft.hpp"
#include "runtime/apply_worker.hpp"
#include "runtime/clock.hpp"
#include "runtime/disk_worker.hpp"
#include "runtime/task_thread.hpp"
#include "storage/snapshot_store.hpp"
#include "storage/log_store.hpp"
#include "storage/stable_store.hpp"
#include "transport/transport.hpp"
#include "util/index_ring.hpp"
#include "util/log.hpp"

namespace raft::storage {
class WalLogStore;
class FileSnapshotStore;
}  // namespace raft::storage

namespace raft {

// Fault-injection points for the library's own tests (never global flags):
// wrap a store so that a test can stall or fail one of its methods.
struct NodeHooks {
  std::function<std::unique_ptr<storage::LogStore>(std::unique_ptr<storage::LogStore>)> wrap_log_store;
};

struct NodeFactory {
  static Result<std::unique_ptr<Node>> start(const Config& config, std::shared_ptr<Fsm> fsm, NodeHooks hooks);
};

struct Node::Impl {
  Impl(const Config& config, std::shared_ptr<Fsm> fsm, NodeHooks hooks = {});
  ~Impl();

  // Opens stores, restores state, starts transport and threads.
  Status start();
  void shutdown();

  Status bootstrap(const ClusterConfiguration& configuration);
  Future<std::any> apply(Buffer command, std::chrono::milliseconds timeout);
  Future<void> barrier(std::chrono::milliseconds timeout);
  Future<void> verify_leader();
  Future<uint64_t> read_index(std::chrono::milliseconds timeout);
  Future<uint64_t> change_membership(core::ConfChange change, std::chrono::milliseconds timeout);
  Future<uint64_t> change_configuration(const ClusterConfiguration& target, std::chrono::milliseconds timeout);
  // Runs start(request id) on the event loop; a request the core accepts
  // resolves when the core reports it done (handle_done) or at the deadline.
  Future<uint64_t> submit_change(std::function<Status(uint64_t id)> start, std::chrono::milliseconds timeout);
  Future<void> transfer_leadership(std::optional<ServerId> target);
  Future<uint64_t> snapshot();
  Status restore(SnapshotReader& reader, std::chrono::milliseconds timeout);

  Role state() const;
  std::optional<LeaderInfo> leader() const;
  uint64_t term() const;
  uint64_t last_index() const;
  uint64_t commit_index() const;
  uint64_t applied_index() const;
  std::chrono::steady_clock::time_point last_contact() const;
  std::map<std::string, std::string> stats() const;
  Metrics metrics() const;
  Status reload_tls();
  static std::vector<Metrics::Peer> peer_traffic(const std::map<std::string, std::string>& stats);
  ClusterConfiguration configuration(bool committed) const;
  std::string address() const;
  void on_leader_change(LeaderObserver observer);

  Config config_;
  Logger logger_;

 private:
  struct Submission {
    EntryType type = EntryType::kCommand;
    Buffer data;
    std::optional<detail::Promise<std::any>> command;
    std::optional<detail::Promise<void>> barrier;
    core::Nanos deadline{0};  // 0: none
  };
  struct Pending {
    Term term;
    std::optional<detail::Promise<std::any>> command;
    std::optional<detail::Promise<void>> barrier;
    size_t bytes = 0;
    core::Nanos deadline{0};
  };
  // A membership change or transfer in the core (by request id).
  struct PendingRequest {
    std::optional<detail::Promise<uint64_t>> index;
    std::optional<detail::Promise<void>> done;
    core::Nanos deadline{0};
  };
  struct PendingRead {
    bool verify_only = false;
    std::optional<detail::Promise<void>> verify;
    std::optional<detail::Promise<uint64_t>> read;
    core::Nanos deadline{0};
  };
  // Hands a read (or a leadership check) to the core on the event loop.
  void start_read(PendingRead r);
  // What API threads may read without asking the loop.
  struct Published {
    Role role = Role::kFollower;
    NodeId leader;
    Term term;
    Index last_index;
    Term last_term;
    Index commit_index;
    Configuration latest;
    Configuration committed;
    Index latest_index;
    std::chrono::steady_clock::time_point last_contact;
    Index snapshot_index;
    Term snapshot_term;
    uint64_t snapshots_taken = 0;
    uint64_t snapshots_installed = 0;
    uint64_t snapshot_bytes_written = 0;
    uint64_t last_snapshot_bytes = 0;
    uint64_t entries_committed = 0;
    uint64_t elections_started = 0;
    uint64_t leader_changes = 0;
    uint64_t step_downs = 0;
    uint64_t messages_refused_unknown_sender = 0;
  };
  // Snapshot thread only: streams to and from peers.
  struct Outgoing {
    std::string id;
    std::unique_ptr<storage::SnapshotReader> reader;
    uint64_t offset = 0;
  };
  std::map<NodeId, Outgoing> outgoing_;
  struct Incoming {
    NodeId from;
    Index index;
    Term term;
    std::unique_ptr<storage::SnapshotWriter> writer;
    uint64_t received = 0;
    uint32_t crc = 0;
  };
  std::optional<Incoming> incoming_;

  // ---- loop thread ----
  // Hands the core the time before every input: its timers and leader
  // leases are measured from the time it was last given.
  void advance_time() { raft_->tick(clock_.now()); }
  void on_message(core::Message&& m);
  // Counts and logs (rate-limited) a message the core refused because its
  // sender is outside every configuration it holds (core/senders.cpp).
  void refused_unknown_sender(const core::Message& m);
  void schedule_flush();
  void flush();
  void handle_ready(core::Ready& rd);
  void send_messages(std::vector<core::Message>& msgs);
  void arm_tick_timer();
  void on_tick();
  // Queues a submission (any thread) and makes sure a drain is posted.
  void enqueue(Submission s);
  void drain_submissions();
  void fail_submission(Submission& s, const Status& why);
  void expire_deadlines();
  void after_state_change();
  void publish_state();
  void fail_all_pending(const Status& why);  // commands and reads
  void fail_requests(const Status& why);     // membership, transfers, snapshots
  void monitor_disk();
  void update_peers();
  void on_hard_state_durable(uint64_t seq);
  void on_log_durable(uint64_t seq, Index index, Term term);
  void on_disk_failed(const Status& s);
  void stop_on_loop();
  void handle_done(std::vector<core::RequestResult>& done);
  bool check_removed();

  // Snapshots (node_snapshots.cpp).
  Status open_snapshots(core::InitialState* st, runtime::ApplyWorker::AppliedMeta* applied);
  void arm_snapshot_timer();
  void start_snapshot(std::optional<detail::Promise<uint64_t>> waiter);
  void maybe_snapshot_for_log_bytes();
  void snapshot_done(Result<storage::SnapshotMeta> meta);
  void handle_snapshot_output(core::Ready& rd, runtime::DiskRequest* req);
  void read_snapshot_chunk(const core::SnapshotRead& r);        // snapshot thread
  void receive_snapshot_chunk(const core::SnapshotChunk& c);    // snapshot thread

  // Posts fn onto the loop unless the node is shutting down.
  bool post(std::function<void()> fn);
  // Backpressure: waits until a command of `bytes` fits or the deadline.
  bool reserve(size_t bytes, std::chrono::steady_clock::time_point deadline);
  void release(size_t bytes);
  core::Nanos deadline_after(std::chrono::milliseconds timeout) const;

  std::shared_ptr<Fsm> fsm_;
  NodeHooks hooks_;
  runtime::SteadyClock clock_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread loop_thread_;
  asio::steady_timer tick_timer_{io_};
  asio::steady_timer monitor_timer_{io_};
  asio::steady_timer deadline_timer_{io_};
  std::optional<core::Nanos> tick_armed_;

  std::unique_ptr<storage::LogStore> log_store_;
  std::unique_ptr<storage::StableStore> stable_store_;
  std::unique_ptr<transport::Transport> transport_;
  std::unique_ptr<storage::SnapshotStore> snapshot_store_;
  // The same stores when they are the on-disk ones, for stats(); read
  // only in closures run by io_ (on the loop, or by shutdown() before it
  // resets the stores).
  storage::WalLogStore* wal_ = nullptr;
  storage::FileSnapshotStore* file_snapshots_ = nullptr;
  std::unique_ptr<runtime::DiskWorker> disk_;
  std::unique_ptr<runtime::ApplyWorker> apply_;
  runtime::TaskThread snapshot_thread_;
  asio::steady_timer snapshot_timer_{io_};

  // Loop thread only.
  std::unique_ptr<core::Raft> raft_;
  bool flush_posted_ = false;
  bool stopped_ = false;
  Status fatal_;
  IndexRing<Pending> pending_;                     // by log index
  // Command deadlines, earliest on top: (deadline, log index). An entry
  // stays until its deadline passes even if the command completed first
  // (expire_deadlines skips those), which costs no heap node per command.
  using Deadline = std::pair<core::Nanos, uint64_t>;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  // When the deadline timer is set to fire (INT64_MAX: not set).
  core::Nanos armed_deadline_{INT64_MAX};
  std::map<uint64_t, PendingRead> reads_;          // by read id
  uint64_t next_read_id_ = 1;
  std::map<uint64_t, PendingRequest> requests_;    // membership changes, transfers
  uint64_t next_request_id_ = 1;
  bool snapshot_running_ = false;
  // ApplyWorker::bytes_applied() when the last snapshot started
  // (Config::snapshot_log_bytes). Loop only.
  uint64_t snapshot_bytes_mark_ = 0;
  std::vector<detail::Promise<uint64_t>> snapshot_waiters_;
  bool removed_ = false;
  uint64_t hs_issued_ = 0;   // seq of the last disk request carrying a hard state
  uint64_t hs_durable_ = 0;  // seq up to which the hard state is durable
  std::deque<std::pair<uint64_t, std::vector<core::Message>>> held_;
  Index bootstrap_index_;  // bootstrap waits for this index to be durable
  std::optional<detail::Promise<void>> bootstrap_done_;
  Index peers_config_index_{UINT64_MAX};
  NodeId last_leader_;
  Term last_term_;
  core::Role last_role_ = core::Role::kFollower;
  bool disk_stalled_ = false;
  uint64_t leader_changes_ = 0;
  uint64_t step_downs_ = 0;
  uint64_t elections_started_ = 0;
  // Refusals of unknown senders, per sender id: at most kRefusedSendersMax
  // ids; refusals from further ids share the row of id 0 (kNoNode), so a
  // peer forging ids cannot grow this map or the log.
  struct RefusedSender {
    uint64_t count = 0;
    uint64_t unlogged = 0;  // refusals since a log line last named the sender
    core::Nanos logged{0};  // when that line went out
  };
  static constexpr size_t kRefusedSendersMax = 64;
  std::map<NodeId, RefusedSender> refused_senders_;
  uint64_t refused_unknown_sender_ = 0;
  std::optional<Index> commit_seen_;  // for Metrics::entries_committed

  // Submissions from API threads.
  std::mutex prop_mu_;
  std::vector<Submission> submissions_;
  bool drain_posted_ = false;

  std::mutex post_mu_;
  bool accepting_ = true;

  mutable std::mutex pub_mu_;
  Published pub_;
  std::string address_;

  mutable std::mutex bp_mu_;
  std::condition_variable bp_cv_;
  size_t pending_bytes_ = 0;
  size_t pending_commands_ = 0;
  bool bp_closed_ = false;

  std::mutex observer_mu_;
  LeaderObserver observer_;

  std::atomic<bool> shut_down_{false};
  std::mutex shutdown_mu_;
};

}  // namespace raft
