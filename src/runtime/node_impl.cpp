#include "runtime/node_impl.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>
#include <string_view>

#include "runtime/config_convert.hpp"
#include "runtime/transport_factory.hpp"
#include "storage/file_snapshot_store.hpp"
#include "storage/file_stable_store.hpp"
#include "storage/memory_log_store.hpp"
#include "storage/wal_log_store.hpp"
#include "util/assert.hpp"
#include "util/thread_name.hpp"

namespace raft {

using core::Message;
using core::Ready;

namespace {

constexpr uint64_t kProtocolVersion = 1;

Status shutdown_error() { return Status(ErrorCode::kShutdown, "node is shut down"); }

Role public_role(core::Role r) {
  switch (r) {
    case core::Role::kFollower: return Role::kFollower;
    case core::Role::kPreCandidate:
    case core::Role::kCandidate: return Role::kCandidate;
    case core::Role::kLeader: return Role::kLeader;
  }
  return Role::kFollower;
}

// Storage warnings go to the node's logger.
storage::LogCallback storage_log(const Logger& logger) {
  return [logger](storage::LogLevel level, std::string_view m) {
    logger.log(level == storage::LogLevel::kWarning ? LogLevel::kWarn : LogLevel::kInfo, m);
  };
}

}  // namespace

Node::Impl::Impl(const Config& config, std::shared_ptr<Fsm> fsm, NodeHooks hooks)
    : config_(config),
      logger_(config.log_callback, config.log_level, "node " + std::to_string(config.id) + ": "),
      fsm_(std::move(fsm)),
      hooks_(std::move(hooks)) {}

Node::Impl::~Impl() { shutdown(); }

// ---------------------------------------------------------------------------
// Start and stop

Status Node::Impl::start() {
  // 1. Storage, and what it remembers.
  if (config_.store == "wal") {
    storage::WalOptions wo;
    wo.log = storage_log(logger_);
    wo.spare_segments = static_cast<size_t>(config_.wal_spare_segments);
    wo.prepare_spares = config_.wal_prepare_spares;
    auto log = storage::WalLogStore::open(config_.data_dir + "/wal", wo);
    if (!log.ok()) return log.status().with_context("opening the log in " + config_.data_dir);
    wal_ = log->get();
    log_store_ = std::move(*log);
    storage::FileStableStoreOptions so;
    so.log = storage_log(logger_);
    auto stable = storage::FileStableStore::open(config_.data_dir + "/meta", so);
    if (!stable.ok()) return stable.status().with_context("opening the state in " + config_.data_dir);
    stable_store_ = std::move(*stable);
  } else {
    log_store_ = std::make_unique<storage::MemoryLogStore>();
    stable_store_ = std::make_unique<storage::MemoryStableStore>();
  }
  if (hooks_.wrap_log_store) log_store_ = hooks_.wrap_log_store(std::move(log_store_));
  auto hs = stable_store_->load_hard_state();
  if (!hs.ok()) return hs.status();
  core::InitialState st;
  st.hard_state = *hs;
  runtime::ApplyWorker::AppliedMeta applied;
  RAFT_RETURN_IF_ERROR(open_snapshots(&st, &applied));
  Index first = log_store_->first_index();
  Index last = log_store_->last_index();
  if (first > st.snapshot.index + 1 && last >= first) {
    // Entries between the snapshot and the log are missing (a lost
    // segment): the node refuses to start rather than invent them.
    return Status(ErrorCode::kCorruption, "the log starts at index " + std::to_string(first.value) +
                                              " but the newest snapshot ends at " +
                                              std::to_string(st.snapshot.index.value) + ": entries in between are missing");
  }
  for (Index i = first; i <= last;) {
    std::vector<Entry> chunk;
    Status s = log_store_->read(i, last, 64 << 20, &chunk);
    if (!s.ok()) return s.with_context("reading the log");
    for (Entry& e : chunk) st.entries.push_back(std::move(e));
    i = st.entries.empty() ? last + 1 : st.entries.back().index + 1;
  }
  if (!core::Raft::log_continues_snapshot(st.snapshot, st.entries)) {
    if (st.snapshot.empty())
      return Status(ErrorCode::kCorruption, "the log starts at index " + std::to_string(first.value) +
                                                " and there is no snapshot: entries before it are missing");
    // The snapshot is durable beyond the log (it has its own store: a
    // crash after installing a snapshot, before the log was cut). The
    // snapshot is committed truth; the log restarts right after it.
    logger_.warn("the log (", first.value, "..", last.value, ") does not continue the newest snapshot (index ",
                 st.snapshot.index.value, ", term ", st.snapshot.term.value, "); dropping it");
    st.entries.clear();
    RAFT_RETURN_IF_ERROR(log_store_->reset(st.snapshot.index + 1));
  }
  auto hint = stable_store_->get("commit_index");
  if (hint.ok() && hint->has_value()) st.commit_hint = Index(std::strtoull((*hint)->c_str(), nullptr, 10));
  // The hint is stored only after the entries up to it are durable in the
  // log (disk_worker.cpp), so a log that ends before it has lost
  // committed entries in a way its checksums could not show (the tail of
  // the newest segment zeroed or cut at a record boundary). Starting would
  // let this node vote and ack as if they had never existed.
  Index log_end = st.entries.empty() ? st.snapshot.index : std::max(st.snapshot.index, st.entries.back().index);
  if (st.commit_hint > log_end) {
    return Status(ErrorCode::kCorruption,
                  "the log in " + config_.data_dir + " ends at index " + std::to_string(log_end.value) +
                      " but this node had stored commit index " + std::to_string(st.commit_hint.value) +
                      ": committed entries are missing from its log; restore the data directory, or "
                      "remove it whole and add the server back to the cluster as a new one");
  }

  // 2. The core.
  core::Config cc = runtime::core_config(config_);
  raft_ = std::make_unique<core::Raft>(cc, std::move(st), clock_.now());
  logger_.info("starting: term ", raft_->term(), ", log ", raft_->log().first_index(), "..",
               raft_->last_index(), ", commit ", raft_->commit_index(), ", configuration ",
               raft_->configuration().to_string());
  // What the getters show from the moment start() returns: the recovered
  // term, log and configuration (before the loop has run at all).
  publish_state();

  // 3. Transport.
  auto tr = runtime::make_transport(config_, io_, logger_);
  if (!tr.ok()) return tr.status();
  transport_ = std::move(*tr);
  Status ts = transport_->start([this](Message&& m) { on_message(std::move(m)); });
  if (!ts.ok()) return ts.with_context("starting the transport");
  address_ = config_.advertise_address.empty() ? transport_->local_address() : config_.advertise_address;

  // 4. Threads.
  runtime::DiskCallbacks cb;
  cb.hard_state_durable = [this](uint64_t seq) { post([this, seq] { on_hard_state_durable(seq); }); };
  cb.log_durable = [this](uint64_t seq, Index i, Term t) { post([this, seq, i, t] { on_log_durable(seq, i, t); }); };
  cb.failed = [this](Status s) { post([this, s] { on_disk_failed(s); }); };
  disk_ = std::make_unique<runtime::DiskWorker>(log_store_.get(), stable_store_.get(), &clock_, std::move(cb),
                                                logger_);
  apply_ = std::make_unique<runtime::ApplyWorker>(fsm_, logger_, [this](size_t bytes) { release(bytes); });
  disk_->start();
  apply_->start(applied);
  snapshot_thread_.start("raft-snapshot");
  work_.emplace(io_.get_executor());
  post([this] {
    update_peers();
    flush();
    monitor_disk();
    arm_snapshot_timer();
  });
  loop_thread_ = std::thread([this] {
    util::set_thread_name("raft-loop");
    io_.run();
  });
  return Status();
}

void Node::Impl::shutdown() {
  std::lock_guard<std::mutex> guard(shutdown_mu_);
  if (shut_down_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(bp_mu_);
    bp_closed_ = true;
  }
  bp_cv_.notify_all();
  if (loop_thread_.joinable()) {
    asio::post(io_, [this] { stop_on_loop(); });
    loop_thread_.join();
  }
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    accepting_ = false;
  }
  // Closures posted before `accepting_` fell: they see stopped_ and fail
  // their futures.
  io_.restart();
  io_.poll();
  {
    std::lock_guard<std::mutex> lock(prop_mu_);
    for (Submission& s : submissions_) fail_submission(s, shutdown_error());
    submissions_.clear();
  }
  snapshot_thread_.stop();
  if (disk_) disk_->stop();
  if (apply_) apply_->stop();
  transport_.reset();
  raft_.reset();
  log_store_.reset();
  stable_store_.reset();
  snapshot_store_.reset();
  logger_.info("shut down");
}

void Node::Impl::stop_on_loop() {
  if (stopped_) return;
  stopped_ = true;
  fail_all_pending(shutdown_error());
  if (bootstrap_done_) {
    bootstrap_done_->set_error(shutdown_error());
    bootstrap_done_.reset();
  }
  fail_requests(shutdown_error());
  if (transport_) transport_->stop();
  tick_timer_.cancel();
  monitor_timer_.cancel();
  deadline_timer_.cancel();
  snapshot_timer_.cancel();
  work_.reset();
  {
    std::lock_guard<std::mutex> lock(pub_mu_);
    pub_.role = Role::kShutdown;
  }
  io_.stop();
}

bool Node::Impl::post(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(post_mu_);
  if (!accepting_) return false;
  asio::post(io_, std::move(fn));
  return true;
}

core::Nanos Node::Impl::deadline_after(std::chrono::milliseconds timeout) const {
  if (timeout.count() <= 0) return core::Nanos(0);
  return clock_.now() + timeout;
}

// ---------------------------------------------------------------------------
// Backpressure (DESIGN.md: a bound on what is queued; apply waits)

bool Node::Impl::reserve(size_t bytes, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(bp_mu_);
  auto fits = [&] {
    return bp_closed_ || pending_commands_ == 0 ||
           (pending_bytes_ + bytes <= config_.max_pending_bytes && pending_commands_ < config_.max_pending_commands);
  };
  if (!bp_cv_.wait_until(lock, deadline, fits)) return false;
  if (bp_closed_) return false;
  pending_bytes_ += bytes;
  ++pending_commands_;
  return true;
}

void Node::Impl::release(size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(bp_mu_);
    RAFT_ASSERT(pending_commands_ > 0 && pending_bytes_ >= bytes);
    pending_bytes_ -= bytes;
    --pending_commands_;
  }
  bp_cv_.notify_all();
}

// ---------------------------------------------------------------------------
// API entry points (any thread)

Status Node::Impl::bootstrap(const ClusterConfiguration& configuration) {
  Configuration c = runtime::internal_configuration(configuration);
  detail::Promise<void> done;
  Future<void> f = done.future();
  bool posted = post([this, c, done]() mutable {
    if (stopped_) {
      done.set_error(shutdown_error());
      return;
    }
    advance_time();
    Status s = raft_->bootstrap(c);
    if (!s.ok()) {
      done.set_error(s);
      return;
    }
    logger_.info("bootstrapped with ", c.to_string());
    bootstrap_index_ = raft_->last_index();
    bootstrap_done_ = done;
    flush();
  });
  if (!posted) return shutdown_error();
  return f.wait();
}

Future<std::any> Node::Impl::apply(Buffer command, std::chrono::milliseconds timeout) {
  if (shut_down_) return failed_future<std::any>(shutdown_error());
  auto limit = timeout.count() > 0 ? std::chrono::steady_clock::now() + timeout
                                   : std::chrono::steady_clock::time_point::max();
  size_t bytes = command.size();
  if (!reserve(bytes, limit)) {
    if (shut_down_) return failed_future<std::any>(shutdown_error());
    return failed_future<std::any>(Status(ErrorCode::kTimeout,
                                          "enqueue timeout: too many commands in flight; the command was not submitted"));
  }
  Submission s;
  s.type = EntryType::kCommand;
  s.data = std::move(command);
  s.command.emplace();
  s.deadline = deadline_after(timeout);
  Future<std::any> f = s.command->future();
  enqueue(std::move(s));
  return f;
}

// Queues a submission for the event loop. Submissions from any thread are
// batched: only the first since the last drain posts a drain, so a burst
// of apply() calls costs one wake-up of the loop.
void Node::Impl::enqueue(Submission s) {
  bool post_drain = false;
  {
    std::lock_guard<std::mutex> lock(prop_mu_);
    submissions_.push_back(std::move(s));
    if (!drain_posted_) drain_posted_ = post_drain = true;
  }
  if (post_drain && !post([this] { drain_submissions(); })) {
    std::lock_guard<std::mutex> lock(prop_mu_);
    for (Submission& x : submissions_) fail_submission(x, shutdown_error());
    submissions_.clear();
  }
}

Future<void> Node::Impl::barrier(std::chrono::milliseconds timeout) {
  if (shut_down_) return failed_future<void>(shutdown_error());
  Submission s;
  s.type = EntryType::kBarrier;
  s.barrier.emplace();
  s.deadline = deadline_after(timeout);
  Future<void> f = s.barrier->future();
  enqueue(std::move(s));
  return f;
}

void Node::Impl::start_read(PendingRead r) {
  auto fail = [verify = r.verify, read = r.read]() mutable {
    if (verify) verify->set_error(shutdown_error());
    if (read) read->set_error(shutdown_error());
  };
  if (!post([this, r = std::move(r), fail]() mutable {
        if (stopped_) {
          fail();
          return;
        }
        uint64_t id = next_read_id_++;
        reads_.emplace(id, std::move(r));
        advance_time();
        raft_->read_index(id);
        expire_deadlines();  // arms the timer for this read's deadline
        schedule_flush();
      })) {
    fail();
  }
}

Future<void> Node::Impl::verify_leader() {
  detail::Promise<void> p;
  PendingRead r;
  r.verify_only = true;
  r.verify = p;
  r.deadline = deadline_after(config_.election_timeout);
  start_read(std::move(r));
  return p.future();
}

Future<uint64_t> Node::Impl::read_index(std::chrono::milliseconds timeout) {
  detail::Promise<uint64_t> p;
  PendingRead r;
  r.read = p;
  r.deadline = deadline_after(timeout);
  start_read(std::move(r));
  return p.future();
}

void Node::Impl::on_leader_change(LeaderObserver observer) {
  std::lock_guard<std::mutex> lock(observer_mu_);
  observer_ = std::move(observer);
}

// ---------------------------------------------------------------------------
// Queries (any thread)

Role Node::Impl::state() const {
  if (shut_down_) return Role::kShutdown;
  std::lock_guard<std::mutex> lock(pub_mu_);
  return pub_.role;
}

std::optional<LeaderInfo> Node::Impl::leader() const {
  std::lock_guard<std::mutex> lock(pub_mu_);
  if (pub_.leader == kNoNode || pub_.role == Role::kShutdown) return std::nullopt;
  LeaderInfo li;
  li.id = pub_.leader.value;
  if (const Server* s = pub_.latest.find(pub_.leader)) li.address = s->address;
  return li;
}

uint64_t Node::Impl::term() const {
  std::lock_guard<std::mutex> lock(pub_mu_);
  return pub_.term.value;
}
uint64_t Node::Impl::last_index() const {
  std::lock_guard<std::mutex> lock(pub_mu_);
  return pub_.last_index.value;
}
uint64_t Node::Impl::commit_index() const {
  std::lock_guard<std::mutex> lock(pub_mu_);
  return pub_.commit_index.value;
}
uint64_t Node::Impl::applied_index() const { return apply_ ? apply_->applied().value : 0; }

std::chrono::steady_clock::time_point Node::Impl::last_contact() const {
  std::lock_guard<std::mutex> lock(pub_mu_);
  if (pub_.role == Role::kLeader) return std::chrono::steady_clock::now();
  return pub_.last_contact;
}

ClusterConfiguration Node::Impl::configuration(bool committed) const {
  std::lock_guard<std::mutex> lock(pub_mu_);
  return runtime::public_configuration(committed ? pub_.committed : pub_.latest);
}

std::string Node::Impl::address() const { return address_; }

std::map<std::string, std::string> Node::Impl::stats() const {
  std::map<std::string, std::string> out;
  Published p;
  {
    std::lock_guard<std::mutex> lock(pub_mu_);
    p = pub_;
  }
  Role role = shut_down_ ? Role::kShutdown : p.role;
  out["state"] = role_name(role);
  out["term"] = std::to_string(p.term.value);
  out["last_log_index"] = std::to_string(p.last_index.value);
  out["last_log_term"] = std::to_string(p.last_term.value);
  out["commit_index"] = std::to_string(p.commit_index.value);
  out["applied_index"] = std::to_string(applied_index());
  out["fsm_pending"] = std::to_string(apply_ ? apply_->queued() : 0);
  out["last_snapshot_index"] = std::to_string(p.snapshot_index.value);
  out["last_snapshot_term"] = std::to_string(p.snapshot_term.value);
  out["snapshots_taken"] = std::to_string(p.snapshots_taken);
  out["snapshots_installed"] = std::to_string(p.snapshots_installed);
  out["messages_refused_unknown_sender"] = std::to_string(p.messages_refused_unknown_sender);
  out["latest_configuration"] = p.latest.to_string();
  out["latest_configuration_index"] = std::to_string(p.latest_index.value);
  size_t peers = 0;
  for (const Server& s : p.latest.servers)
    if (s.id.value != config_.id && s.role == ServerRole::kVoter) ++peers;
  out["num_peers"] = std::to_string(peers);
  if (role == Role::kLeader) {
    out["last_contact"] = "0";
  } else if (p.last_contact == std::chrono::steady_clock::time_point()) {
    out["last_contact"] = "never";
  } else {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - p.last_contact);
    out["last_contact"] = std::to_string(ms.count()) + "ms";
  }
  out["protocol_version"] = std::to_string(kProtocolVersion);
  out["id"] = std::to_string(config_.id);
  out["address"] = address_;
  out["leader"] = p.leader == kNoNode ? "" : std::to_string(p.leader.value);
  {
    std::lock_guard<std::mutex> lock(bp_mu_);
    out["pending_commands"] = std::to_string(pending_commands_);
    out["pending_bytes"] = std::to_string(pending_bytes_);
  }
  if (disk_) {
    out["disk_syncs"] = std::to_string(disk_->syncs());
    out["disk_rounds"] = std::to_string(disk_->rounds());
    auto since = disk_->oldest_outstanding();
    bool stalled = since && clock_.now() - *since > config_.election_timeout;
    out["disk_stalled"] = stalled ? "true" : "false";
  }
  // Loop-thread state: ask the loop (bounded wait, so a wedged loop still
  // answers with what it can).
  if (!shut_down_) {
    auto extra = std::make_shared<std::map<std::string, std::string>>();
    detail::Promise<void> done;
    Future<void> f = done.future();
    auto* self = const_cast<Impl*>(this);
    if (self->post([self, extra, done]() mutable {
          if (!self->stopped_ && self->transport_) {
            for (auto& [k, v] : self->transport_->stats()) (*extra)["transport." + k] = v;
          }
          if (self->wal_) {
            storage::WalLogStore::Stats w = self->wal_->stats();
            (*extra)["wal_segments"] = std::to_string(w.segments);
            (*extra)["wal_spare_segments"] = std::to_string(w.spare_segments);
            (*extra)["wal_trash_deleted"] = std::to_string(w.trash_deleted);
            (*extra)["wal_trash_pending"] = std::to_string(w.trash_pending);
            (*extra)["wal_trash_pending_bytes"] = std::to_string(w.trash_pending_bytes);
          }
          if (self->file_snapshots_) {
            storage::FileReclaimer::Backlog b = self->file_snapshots_->reclaim_backlog();
            (*extra)["snapshot_trash_pending"] = std::to_string(b.items);
            (*extra)["snapshot_trash_pending_bytes"] = std::to_string(b.bytes);
          }
          (*extra)["leader_changes"] = std::to_string(self->leader_changes_);
          (*extra)["step_downs"] = std::to_string(self->step_downs_);
          if (self->raft_) (*extra)["last_step_down_reason"] = core::step_down_reason_name(self->raft_->last_step_down_reason());
          for (const auto& [id, r] : self->refused_senders_) {
            if (id != kNoNode)
              (*extra)["messages_refused_unknown_sender." + std::to_string(id.value)] = std::to_string(r.count);
          }
          if (!self->fatal_.ok()) (*extra)["fatal_error"] = self->fatal_.to_string();
          done.set_ok();
        }) &&
        f.wait_for(std::chrono::seconds(1))) {
      for (auto& [k, v] : *extra) out[k] = v;
    }
  }
  return out;
}

Metrics Node::Impl::metrics() const {
  Metrics m;
  {
    std::lock_guard<std::mutex> lock(pub_mu_);
    m.entries_committed = pub_.entries_committed;
    m.elections_started = pub_.elections_started;
    m.leader_changes = pub_.leader_changes;
    m.step_downs = pub_.step_downs;
    m.messages_refused_unknown_sender = pub_.messages_refused_unknown_sender;
    m.snapshots_taken = pub_.snapshots_taken;
    m.snapshots_installed = pub_.snapshots_installed;
    m.snapshot_bytes_written = pub_.snapshot_bytes_written;
    m.last_snapshot_bytes = pub_.last_snapshot_bytes;
  }
  if (apply_) {
    m.entries_applied = apply_->entries_applied();
    m.commands_applied = apply_->commands_applied();
  }
  if (disk_) {
    m.append_latency = disk_->append_latency();
    m.fsync_latency = disk_->fsync_latency();
  } else {
    m.append_latency = runtime::LatencyHistogram().snapshot();
    m.fsync_latency = m.append_latency;
  }
  // Peer traffic lives on the loop thread, in the transport's counters.
  if (!shut_down_) {
    auto peers = std::make_shared<std::vector<Metrics::Peer>>();
    detail::Promise<void> done;
    Future<void> f = done.future();
    auto* self = const_cast<Impl*>(this);
    if (self->post([self, peers, done]() mutable {
          if (!self->stopped_ && self->transport_) *peers = peer_traffic(self->transport_->stats());
          done.set_ok();
        }) &&
        f.wait_for(std::chrono::seconds(1))) {
      m.peers = std::move(*peers);
    }
  }
  return m;
}

Status Node::Impl::reload_tls() {
  if (shut_down_) return shutdown_error();
  detail::Promise<void> done;
  Future<void> f = done.future();
  if (!post([this, done]() mutable {
        if (stopped_ || !transport_) {
          done.set_error(shutdown_error());
          return;
        }
        Status st = transport_->reload_tls();
        if (st.ok()) {
          done.set_ok();
        } else {
          done.set_error(std::move(st));
        }
      })) {
    return shutdown_error();
  }
  return f.wait();
}

// The transport reports "peer.<id>.<counter>"; the metrics want a row per peer.
std::vector<Metrics::Peer> Node::Impl::peer_traffic(const std::map<std::string, std::string>& stats) {
  std::map<ServerId, Metrics::Peer> by_id;
  for (const auto& [key, value] : stats) {
    if (key.rfind("peer.", 0) != 0) continue;
    size_t dot = key.find('.', 5);
    if (dot == std::string::npos) continue;
    ServerId id = 0;
    std::string_view digits(key.data() + 5, dot - 5);
    if (std::from_chars(digits.data(), digits.data() + digits.size(), id).ec != std::errc()) continue;
    std::string_view counter(key.data() + dot + 1, key.size() - dot - 1);
    uint64_t v = 0;
    std::from_chars(value.data(), value.data() + value.size(), v);
    Metrics::Peer& p = by_id[id];
    p.id = id;
    if (counter == "bytes_sent") p.bytes_sent = v;
    else if (counter == "bytes_received") p.bytes_received = v;
    else if (counter == "messages_sent") p.messages_sent = v;
    else if (counter == "messages_received") p.messages_received = v;
  }
  std::vector<Metrics::Peer> out;
  for (auto& [id, p] : by_id) out.push_back(p);
  return out;
}

// ---------------------------------------------------------------------------
// The event loop

void Node::Impl::on_message(Message&& m) {
  if (stopped_) return;
  advance_time();
  if (raft_->receive(m) == core::Receipt::kUnknownSender) refused_unknown_sender(m);
  if (m.from == raft_->leader() && m.from != NodeId(config_.id)) {
    std::lock_guard<std::mutex> lock(pub_mu_);
    pub_.last_contact = std::chrono::steady_clock::now();
  }
  schedule_flush();
}

void Node::Impl::refused_unknown_sender(const Message& m) {
  // A few late messages from a server just removed are harmless; many
  // from one id mean a server running outside the cluster (it missed its
  // removal and campaigns, or it is misconfigured). So the first refusal
  // from each id is logged, then at most one line per id every 10 s.
  constexpr core::Nanos kLogInterval = std::chrono::seconds(10);
  ++refused_unknown_sender_;
  {
    std::lock_guard<std::mutex> lock(pub_mu_);
    pub_.messages_refused_unknown_sender = refused_unknown_sender_;
  }
  NodeId key = m.from;
  if (!refused_senders_.count(key) && refused_senders_.size() >= kRefusedSendersMax) key = kNoNode;
  RefusedSender& s = refused_senders_[key];
  ++s.count;
  ++s.unlogged;
  core::Nanos now = clock_.now();
  if (s.count > 1 && now - s.logged < kLogInterval) return;
  std::string repeats;
  if (s.unlogged > 1) repeats = " (" + std::to_string(s.unlogged) + " refused from it since the last line)";
  const auto* rv = std::get_if<core::RequestVote>(&m.body);
  logger_.warn("refused ", core::message_type_name(m.body), rv && rv->pre_vote ? " (pre-vote)" : "", " from server ",
               m.from.value, " in term ", m.term.value, ": it is in no configuration this node holds", repeats);
  s.logged = now;
  s.unlogged = 0;
}

void Node::Impl::schedule_flush() {
  if (flush_posted_ || stopped_) return;
  flush_posted_ = true;
  asio::post(io_, [this] {
    flush_posted_ = false;
    flush();
  });
}

void Node::Impl::flush() {
  if (stopped_) return;
  while (raft_->has_ready()) {
    Ready rd = raft_->take_ready();
    handle_ready(rd);
  }
  after_state_change();
  maybe_snapshot_for_log_bytes();
  arm_tick_timer();
}

void Node::Impl::handle_ready(Ready& rd) {
  // Rule 8 first: a snapshot install comes before this Ready's log writes
  // and committed entries.
  runtime::DiskRequest req;
  handle_snapshot_output(rd, &req);
  // Rule 2: log writes go to the disk thread, in order.
  bool has_disk_work = rd.hard_state || rd.truncate_from || !rd.entries.empty() || rd.commit_hint ||
                       req.install || req.compact_to;
  if (has_disk_work) {
    req.hard_state = rd.hard_state;
    req.truncate_from = rd.truncate_from;
    req.entries = std::move(rd.entries);
    req.commit_hint = rd.commit_hint;
    uint64_t seq = disk_->submit(std::move(req));
    if (rd.hard_state) hs_issued_ = seq;
  }
  // Rule 1: messages wait for every hard state written before them.
  if (!rd.messages.empty()) {
    if (hs_issued_ > hs_durable_) held_.emplace_back(hs_issued_, std::move(rd.messages));
    else send_messages(rd.messages);
  }
  // Rule 4: committed entries to the apply thread, with their futures.
  if (!rd.committed.empty()) {
    std::vector<runtime::ApplyItem> items;
    items.reserve(rd.committed.size());
    for (Entry& e : rd.committed) {
      runtime::ApplyItem it;
      if (Pending* p = pending_.find(e.index.value)) {
        if (p->term == e.term) {
          it.command_promise = std::move(p->command);
          it.barrier_promise = std::move(p->barrier);
        } else {
          // Another entry committed at our index: ours never will.
          Status lost(ErrorCode::kLeadershipLost, "leadership changed; the command did not commit");
          if (p->command) {
            release(p->bytes);
            p->command->set_error(lost);
          }
          if (p->barrier) p->barrier->set_error(lost);
        }
        pending_.erase(e.index.value);
      }
      it.entry = std::move(e);
      items.push_back(std::move(it));
    }
    apply_->enqueue(std::move(items));
  }
  if (!rd.done.empty()) {
    publish_state();
    handle_done(rd.done);
  }
  // Rule 5: reads.
  for (const core::ReadState& rs : rd.reads) {
    auto it = reads_.find(rs.id);
    if (it == reads_.end()) continue;
    PendingRead r = std::move(it->second);
    reads_.erase(it);
    if (!rs.ok()) {
      Status s(rs.error, rs.error == ErrorCode::kNotLeader
                             ? (raft_->leader() == kNoNode ? std::string("not leader; leader unknown")
                                                           : "not leader; leader is " + std::to_string(raft_->leader().value))
                             : std::string("leadership lost before the read was confirmed"));
      if (r.verify) r.verify->set_error(s);
      if (r.read) r.read->set_error(s);
    } else if (r.verify) {
      r.verify->set_ok();
    } else {
      apply_->wait_applied(rs.index, std::move(*r.read));
    }
  }
}

void Node::Impl::send_messages(std::vector<Message>& msgs) {
  for (Message& m : msgs) transport_->send(std::move(m));
}

void Node::Impl::on_hard_state_durable(uint64_t seq) {
  if (stopped_) return;
  hs_durable_ = std::max(hs_durable_, seq);
  while (!held_.empty() && held_.front().first <= hs_durable_) {
    send_messages(held_.front().second);
    held_.pop_front();
  }
}

void Node::Impl::on_log_durable(uint64_t /*seq*/, Index index, Term term) {
  if (stopped_) return;
  advance_time();
  raft_->persisted(index, term);
  if (bootstrap_done_ && raft_->durable_index() >= bootstrap_index_) {
    bootstrap_done_->set_ok();
    bootstrap_done_.reset();
  }
  flush();
}

void Node::Impl::on_disk_failed(const Status& s) {
  if (stopped_) return;
  // The store's state is unknown: going on could lose acknowledged data.
  fatal_ = s;
  logger_.error("stopping: ", s.to_string());
  fail_all_pending(Status(s.code(), "the node stopped after a disk failure: " + s.message()));
  if (bootstrap_done_) {
    bootstrap_done_->set_error(s);
    bootstrap_done_.reset();
  }
  stopped_ = true;
  transport_->stop();
  tick_timer_.cancel();
  monitor_timer_.cancel();
  deadline_timer_.cancel();
  std::lock_guard<std::mutex> lock(pub_mu_);
  pub_.role = Role::kShutdown;
}

void Node::Impl::arm_tick_timer() {
  core::Nanos d = raft_->next_deadline();
  if (tick_armed_ && *tick_armed_ == d) return;
  tick_armed_ = d;
  tick_timer_.expires_at(clock_.to_steady(d));
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_) return;
    tick_armed_.reset();
    on_tick();
  });
}

void Node::Impl::on_tick() {
  raft_->tick(clock_.now());
  flush();
}

void Node::Impl::drain_submissions() {
  std::vector<Submission> batch;
  {
    std::lock_guard<std::mutex> lock(prop_mu_);
    batch.swap(submissions_);
    drain_posted_ = false;
  }
  if (stopped_) {
    for (Submission& s : batch) fail_submission(s, shutdown_error());
    return;
  }
  raft_->tick(clock_.now());
  // Runs of commands go in as one batch (one append to every follower).
  std::vector<Buffer> run;
  size_t k = 0;
  auto propose_run = [&](size_t end) {
    if (run.empty()) return;
    auto r = raft_->propose_batch(run);
    size_t n = run.size();
    for (size_t j = end - n; j < end; ++j) {
      Submission& s = batch[j];
      if (!r.ok()) {
        fail_submission(s, r.status());
        continue;
      }
      uint64_t index = r->index.value + (j - (end - n));
      Pending p{r->term, std::move(s.command), std::nullopt, s.data.size(), s.deadline};
      if (s.deadline.count() > 0) deadlines_.emplace(s.deadline, index);
      pending_.insert(index, std::move(p));
    }
    run.clear();
  };
  for (k = 0; k < batch.size(); ++k) {
    Submission& s = batch[k];
    if (s.type == EntryType::kCommand) {
      run.push_back(s.data);
      continue;
    }
    propose_run(k);
    auto r = raft_->propose(s.type, Buffer());
    if (!r.ok()) {
      fail_submission(s, r.status());
      continue;
    }
    Pending p{r->term, std::nullopt, std::move(s.barrier), 0, s.deadline};
    if (s.deadline.count() > 0) deadlines_.emplace(s.deadline, r->index.value);
    pending_.insert(r->index.value, std::move(p));
  }
  propose_run(batch.size());
  // Completed commands leave their deadlines behind in the heap; once the
  // leftovers outnumber what is pending, rebuild it from pending_, so its
  // size stays bounded whatever the timeouts (amortised O(1) per command).
  if (deadlines_.size() > 2 * pending_.size() + 1024) {
    std::vector<Deadline> live;
    live.reserve(pending_.size());
    pending_.for_each([&](uint64_t index, const Pending& p) {
      if (p.deadline.count() > 0) live.emplace_back(p.deadline, index);
    });
    deadlines_ = decltype(deadlines_)(std::greater<>(), std::move(live));
  }
  // Re-arm the timer only for a deadline earlier than the armed one:
  // re-arming on every drain cost a timerfd update and a cancelled
  // handler per batch.
  if (!deadlines_.empty() && deadlines_.top().first < armed_deadline_) expire_deadlines();
  flush();
}

void Node::Impl::fail_submission(Submission& s, const Status& why) {
  if (s.command) {
    release(s.data.size());
    s.command->set_error(why);
  }
  if (s.barrier) s.barrier->set_error(why);
}

void Node::Impl::expire_deadlines() {
  core::Nanos now = clock_.now();
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    uint64_t index = deadlines_.top().second;
    deadlines_.pop();
    Pending* p = pending_.find(index);
    if (p == nullptr || p->deadline > now) continue;
    Status t(ErrorCode::kTimeout, "timed out before the command was applied; it may still commit");
    if (p->command) {
      release(p->bytes);
      p->command->set_error(t);
    }
    if (p->barrier) p->barrier->set_error(t);
    pending_.erase(index);
  }
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.deadline.count() > 0 && it->second.deadline <= now) {
      Status t(ErrorCode::kTimeout, "timed out before leadership was confirmed");
      if (it->second.verify) it->second.verify->set_error(t);
      if (it->second.read) it->second.read->set_error(t);
      it = reads_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = requests_.begin(); it != requests_.end();) {
    if (it->second.deadline.count() > 0 && it->second.deadline <= now) {
      Status t(ErrorCode::kTimeout, "timed out; the change may still take effect");
      if (it->second.index) it->second.index->set_error(t);
      if (it->second.done) it->second.done->set_error(t);
      it = requests_.erase(it);
    } else {
      ++it;
    }
  }
  // Next check: the earliest remaining deadline.
  core::Nanos next{INT64_MAX};
  for (auto& [id, r] : requests_)
    if (r.deadline.count() > 0) next = std::min(next, r.deadline);
  if (!deadlines_.empty()) next = std::min(next, deadlines_.top().first);
  for (auto& [id, r] : reads_)
    if (r.deadline.count() > 0) next = std::min(next, r.deadline);
  armed_deadline_ = next;
  if (next.count() != INT64_MAX) {
    deadline_timer_.expires_at(clock_.to_steady(next));
    deadline_timer_.async_wait([this](const asio::error_code& ec) {
      if (!ec && !stopped_) expire_deadlines();
    });
  }
}

void Node::Impl::fail_all_pending(const Status& why) {
  pending_.for_each([&](uint64_t, Pending& p) {
    if (p.command) {
      release(p.bytes);
      p.command->set_error(why);
    }
    if (p.barrier) p.barrier->set_error(why);
  });
  pending_.clear();
  deadlines_ = {};
  for (auto& [id, r] : reads_) {
    if (r.verify) r.verify->set_error(why);
    if (r.read) r.read->set_error(why);
  }
  reads_.clear();
}

void Node::Impl::fail_requests(const Status& why) {
  for (auto& [id, r] : requests_) {
    if (r.index) r.index->set_error(why);
    if (r.done) r.done->set_error(why);
  }
  requests_.clear();
  for (auto& w : snapshot_waiters_) w.set_error(why);
  snapshot_waiters_.clear();
}

void Node::Impl::after_state_change() {
  core::Role role = raft_->role();
  NodeId leader = raft_->leader();
  Term term = raft_->term();
  if (last_role_ == core::Role::kLeader && role != core::Role::kLeader) {
    ++step_downs_;
    logger_.info("stepped down in term ", term, ": ", core::step_down_reason_name(raft_->last_step_down_reason()));
    // Commands this leader accepted may still commit under the next one.
    fail_all_pending(Status(ErrorCode::kLeadershipLost,
                            "leadership lost; the command may still commit under the new leader"));
  }
  if (role == core::Role::kCandidate && (last_role_ != core::Role::kCandidate || term != last_term_))
    ++elections_started_;
  if (role == core::Role::kLeader && last_role_ != core::Role::kLeader)
    logger_.info("became leader in term ", term);
  last_role_ = role;
  if (leader != last_leader_ || term != last_term_) {
    bool leader_changed = leader != last_leader_;
    last_leader_ = leader;
    last_term_ = term;
    if (leader_changed) {
      ++leader_changes_;
      LeaderObserver obs;
      {
        std::lock_guard<std::mutex> lock(observer_mu_);
        obs = observer_;
      }
      if (obs) {
        std::optional<ServerId> l;
        if (leader != kNoNode) l = leader.value;
        uint64_t t = term.value;
        apply_->run_in_order([obs, l, t] { obs(l, t); });
      }
    }
  }
  if (raft_->configuration_index() != peers_config_index_) update_peers();
  if (check_removed()) {
    stop_on_loop();
    return;
  }
  publish_state();
}

// What the public getters read. Called before futures resolve too, so a
// caller woken by a finished change already sees it in configuration().
void Node::Impl::publish_state() {
  std::lock_guard<std::mutex> lock(pub_mu_);
  pub_.role = public_role(raft_->role());
  pub_.leader = raft_->leader();
  pub_.term = raft_->term();
  pub_.last_index = raft_->last_index();
  pub_.last_term = raft_->last_term();
  Index commit = raft_->commit_index();
  if (commit_seen_ && commit > *commit_seen_) pub_.entries_committed += commit.value - commit_seen_->value;
  if (!commit_seen_ || commit > *commit_seen_) commit_seen_ = commit;
  pub_.commit_index = commit;
  pub_.elections_started = elections_started_;
  pub_.leader_changes = leader_changes_;
  pub_.step_downs = step_downs_;
  if (pub_.latest_index != raft_->configuration_index() || pub_.latest.servers.empty()) {
    pub_.latest = raft_->configuration();
    pub_.latest_index = raft_->configuration_index();
  }
  pub_.committed = raft_->committed_configuration();
}

void Node::Impl::update_peers() {
  peers_config_index_ = raft_->configuration_index();
  const Configuration& c = raft_->configuration();
  for (const Server& s : c.servers)
    if (s.id.value != config_.id) transport_->set_peer(s.id, s.address);
}

void Node::Impl::monitor_disk() {
  if (stopped_) return;
  // Gray failure: a leader whose own disk has not finished a write within
  // an election timeout cannot commit anything; let another node lead.
  auto since = disk_->oldest_outstanding();
  bool stalled = since && clock_.now() - *since > config_.election_timeout;
  if (stalled && !disk_stalled_) {
    logger_.warn("disk: a write has not completed for ",
                 std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - *since).count(), " ms");
  }
  disk_stalled_ = stalled;
  if (stalled && raft_->role() == core::Role::kLeader) {
    logger_.warn("stepping down: this leader's own disk is stalled");
    advance_time();
    raft_->step_down(core::StepDownReason::kRequested);
    flush();
  }
  monitor_timer_.expires_after(config_.heartbeat_interval);
  monitor_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) monitor_disk();
  });
}

}  // namespace raft
