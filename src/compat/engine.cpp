// The 2015 API's implicit node over the C API (engine.hpp).
//
// How the 2015 concepts map onto raft.h:
//   raft_init            raft_config_* from the NodePlan (plan.hpp: the RaftConfig
//                        and the options beside it, extension.hpp), raft_fsm_create,
//                        raft_node_start, raft_node_bootstrap (RAFT_EEXISTS on a
//                        restart is expected and ignored)
//   raft_apply           raft_node_apply_async: the completion callback resolves
//                        the 2015 future, so no thread waits per command
//   barrier, verify_leader, snapshot, add/remove peer
//                        the C API's future backs the 2015 future: waiting and
//                        polling one waits on and polls the other
//   raft_shutdown        raft_node_shutdown on a thread of its own (it blocks)
//   FSM apply            the 2015 apply on a private copy of the command; its
//                        void* reply travels as the C API's result, never freed
//                        by the library (it is the caller's, convention 4)
//   FSM snapshot         begin_snapshot(path, req) on the apply thread; persist,
//                        on the snapshot thread, waits for the FSM to finish the
//                        request (raft_fsm_snapshot_complete: it wrote the file;
//                        raft_fsm_take_snapshot: persist calls its function with
//                        the file as sink) and streams the file to the writer
//   FSM restore          the snapshot's bytes into a file, then restore(path)
// Files pass through a private temporary folder, removed by raft_cleanup.
#include "compat/engine.hpp"

#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include "compat/address.hpp"
#include "compat/extension.hpp"
#include "compat/plan.hpp"
#include "raft/raft.h"
#include "util/thread_name.hpp"

namespace raft::compat {

// ---------------------------------------------------------------------------
// Futures

void Future::resolve(RaftError code, std::string message, void* reply, std::string stats) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return;
    done_ = true;
    code_ = code;
    message_ = std::move(message);
    reply_ = reply;
    stats_ = std::move(stats);
  }
  cv_.notify_all();
}

void Future::resolve_from_source() {
  std::string message;
  RaftError code = source_->outcome(&message);
  resolve(code, std::move(message));
}

RaftError Future::wait() {
  if (source_ != nullptr && !poll()) resolve_from_source();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return done_; });
  return code_;
}

bool Future::poll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_ || source_ == nullptr) return done_;
  }
  if (!source_->ready()) return false;
  resolve_from_source();
  return true;
}

bool Future::wait_for(uint64_t ms) {
  // Bounded (at 24 days) so that a huge wait cannot overflow a clock's
  // arithmetic; "not resolved yet" is then still the truth.
  ms = std::min<uint64_t>(ms, uint64_t{1} << 31);
  if (source_ != nullptr) {
    if (poll()) return true;
    if (!source_->wait_for(ms)) return false;
    resolve_from_source();
    return true;
  }
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return done_; });
}

void* Future::reply() {
  wait();
  std::lock_guard<std::mutex> lock(mu_);
  return reply_;
}

const char* Future::stats() {
  wait();
  std::lock_guard<std::mutex> lock(mu_);
  return code_ == RAFT_SUCCESS ? stats_.c_str() : nullptr;
}

FutureHandle* new_handle(std::shared_ptr<Future> f) {
  auto* h = new (std::nothrow) FutureHandle;
  if (h != nullptr) h->future = std::move(f);
  return h;
}

Future* future_of(void* handle) {
  auto* h = static_cast<FutureHandle*>(handle);
  if (h == nullptr || h->magic != FutureHandle::kMagic) return nullptr;
  return h->future.get();
}

void dispose(void* handle) {
  auto* h = static_cast<FutureHandle*>(handle);
  if (h == nullptr || h->magic != FutureHandle::kMagic) return;
  h->magic = 0;  // a second dispose of the same handle is then ignored while the memory is not reused
  delete h;
}

namespace {

FutureHandle* resolved(RaftError code, std::string message = {}) {
  auto f = std::make_shared<Future>();
  f->resolve(code, std::move(message));
  return new_handle(std::move(f));
}

// Which call an error code came from: the same C API code means different
// 2015 codes for different calls.
enum class Op { kApply, kMembership, kSnapshot, kOther };

RaftError from_capi(int code, Op op) {
  switch (code) {
    case RAFT_OK: return RAFT_SUCCESS;
    case RAFT_ENOTLEADER: return RAFT_E_NOT_LEADER;
    case RAFT_ELEADERSHIPLOST: return RAFT_E_LEADERSHIP_LOST;
    case RAFT_ETIMEOUT: return RAFT_E_ENQUEUE_TIMEOUT;
    case RAFT_ESHUTDOWN: return RAFT_E_SHUTDOWN;
    case RAFT_EINVAL: return RAFT_E_INVALID_OP;
    case RAFT_EUNSUPPORTED: return RAFT_E_INVALID_OP;
    case RAFT_EEXISTS: return op == Op::kMembership ? RAFT_E_KNOWN_PEER : RAFT_E_OTHER;
    case RAFT_ENOTFOUND: return op == Op::kMembership ? RAFT_E_UNKNOWN_PEER : RAFT_E_LOG_NOT_FOUND;
    // "Nothing applied since the last snapshot": the newest snapshot already
    // holds every entry, which is what the caller asked for.
    case RAFT_EABORTED: return op == Op::kSnapshot ? RAFT_SUCCESS : RAFT_E_OTHER;
    default: return RAFT_E_OTHER;
  }
}

// A C API message, taken and freed.
std::string take_message(char* msg) {
  std::string s = msg != nullptr ? msg : "";
  raft_free(msg);
  return s;
}

// Nanoseconds to the C API's milliseconds, rounding up (0 stays "none").
uint64_t ms_from_ns(uint64_t ns) { return ns == 0 ? 0 : ns / 1000000 + (ns % 1000000 != 0 ? 1 : 0); }

// ---------------------------------------------------------------------------
// Shutdown threads: raft_shutdown() returns a future while the node stops
// on a thread of its own. Counted, so that raft_cleanup can wait for them.

struct ShutdownThreads {
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
};
ShutdownThreads& shutdown_threads() {
  static ShutdownThreads* w = new ShutdownThreads;  // never destroyed: threads may outlive static destructors
  return *w;
}

void start_shutdown_thread(std::function<void()> body) {
  ShutdownThreads& w = shutdown_threads();
  {
    std::lock_guard<std::mutex> lock(w.mu);
    ++w.running;
  }
  try {
    std::thread([body = std::move(body)] {
      util::set_thread_name("raft-shutdown");
      body();
      ShutdownThreads& ww = shutdown_threads();
      std::lock_guard<std::mutex> lock(ww.mu);
      if (--ww.running == 0) ww.cv.notify_all();
    }).detach();
  } catch (...) {
    std::lock_guard<std::mutex> lock(w.mu);
    --w.running;
    throw;
  }
}

void wait_for_shutdown_threads() {
  ShutdownThreads& w = shutdown_threads();
  std::unique_lock<std::mutex> lock(w.mu);
  w.cv.wait(lock, [&] { return w.running == 0; });
}

// A C API future as the source of a 2015 future.
class CFuture : public Future::Source {
 public:
  CFuture(raft_future* f, Op op) : f_(f), op_(op) {}
  ~CFuture() override { raft_future_free(f_); }
  bool ready() override {
    int done = 0;
    return raft_future_ready(f_, &done, nullptr) == RAFT_OK && done != 0;
  }
  bool wait_for(uint64_t ms) override {
    int done = 0;
    return raft_future_await_for(f_, ms, &done, nullptr) == RAFT_OK && done != 0;
  }
  RaftError outcome(std::string* message) override {
    char* msg = nullptr;
    int code = raft_future_status(f_, &msg);
    *message = take_message(msg);
    return from_capi(code, op_);
  }

 private:
  raft_future* const f_;
  const Op op_;
};

// ---------------------------------------------------------------------------
// Snapshot requests (raft_snapshot_req)

struct SnapshotRequest {
  enum class State { kPending, kWritten, kFailed, kHandedOver, kAbandoned };

  std::string path;
  std::mutex mu;
  std::condition_variable cv;
  State state = State::kPending;
  // Set by raft_fsm_take_snapshot; called exactly once (func_called).
  void* handle = nullptr;
  int (*func)(void*, FILE*) = nullptr;
  bool func_called = false;
  bool released = false;  // the library is done with the request
};

// The FSM's reference to a request, which is what raft_snapshot_req points
// to; deleted when the FSM completes or hands over the request.
struct FsmRequestRef {
  static constexpr uint32_t kMagic = 0x52534e50;  // "RSNP"
  uint32_t magic = kMagic;
  std::shared_ptr<SnapshotRequest> request;
};

// Calls the FSM's snapshot function with a sink whose bytes are thrown
// away, so that it can free its handle (it is called exactly once).
void drain_func(void* handle, int (*func)(void*, FILE*)) {
  FILE* sink = std::tmpfile();
  if (sink == nullptr) sink = std::fopen("/dev/null", "w");
  if (sink == nullptr) return;  // cannot honour the call; the FSM's handle leaks
  func(handle, sink);
  std::fclose(sink);
}

// ---------------------------------------------------------------------------
// The node

// What the callbacks need; lives as long as the node.
struct Context {
  LegacyFsm fsm{};
  std::string tmp_dir;
  std::atomic<uint64_t> next_file{1};
  FILE* log = nullptr;  // LogOutput, or null for stderr
  std::mutex log_mu;

  // Snapshot requests the FSM has not finished, so that a shutdown can
  // fail them rather than wait for an FSM that may never answer.
  std::mutex requests_mu;
  bool stopping = false;  // guarded by requests_mu; no new request once set
  std::set<std::shared_ptr<SnapshotRequest>> requests;  // guarded by requests_mu

  // Fails every unfinished request, and every later one.
  void abandon_requests() {
    std::lock_guard<std::mutex> lock(requests_mu);
    stopping = true;
    for (const auto& r : requests) {
      std::lock_guard<std::mutex> rl(r->mu);
      if (r->state == SnapshotRequest::State::kPending) r->state = SnapshotRequest::State::kAbandoned;
      r->cv.notify_all();
    }
  }

  std::string next_path(const char* kind) {
    return tmp_dir + "/" + kind + "-" + std::to_string(next_file.fetch_add(1)) + ".tmp";
  }
  ~Context() {
    if (log != nullptr) std::fclose(log);
    if (!tmp_dir.empty()) remove_tree(tmp_dir);
  }
  static void remove_tree(const std::string& dir) {
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d)) {
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
          ::unlink((dir + "/" + e->d_name).c_str());
      }
      closedir(d);
    }
    ::rmdir(dir.c_str());
  }
};

struct NodeRef {
  std::shared_ptr<Context> context;  // outlives `node`: destroyed after it
  raft_node* node = nullptr;
  ~NodeRef() { raft_node_free(node); }
};

std::mutex g_mu;
std::shared_ptr<NodeRef> g_node;  // guarded by g_mu

std::shared_ptr<NodeRef> current() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_node;
}

const char* const kNoNode = "no node: call raft_init first";

// ---- FSM callbacks (apply thread, snapshot thread) ----

void log_line(Context* ctx, const char* level, const std::string& message) {
  std::lock_guard<std::mutex> lock(ctx->log_mu);
  FILE* out = ctx->log != nullptr ? ctx->log : stderr;
  std::fprintf(out, "libraft %s: %s\n", level, message.c_str());
  std::fflush(out);
}

void on_log(void* user, int level, const char* message) {
  static const char* const kLevels[] = {"debug", "info", "warn", "error"};
  log_line(static_cast<Context*>(user), level >= 0 && level < 4 ? kLevels[level] : "log", message);
}

void on_apply(void* user, uint64_t index, uint64_t term, const void* data, size_t len, void** result,
              size_t* result_len) {
  auto* ctx = static_cast<Context*>(user);
  // The 2015 FSM receives a mutable char*, while the C API's bytes are
  // shared with the log and the network: hand it a private copy, with a
  // NUL after the last byte for FSMs that treat commands as strings.
  thread_local std::vector<char> scratch;
  scratch.assign(static_cast<const char*>(data), static_cast<const char*>(data) + len);
  scratch.push_back('\0');
  void* reply = ctx->fsm.apply(index, term, RAFT_LOG_COMMAND, scratch.data(), len);
  // The reply pointer itself is the result; the library never frees it
  // (no result destructor is set).
  *result = reply;
  *result_len = reply != nullptr ? 1 : 0;
}

int fail_with(char** errmsg, int code, const std::string& message);

int on_snapshot(void* user, void** snapshot, char** errmsg) {
  auto* ctx = static_cast<Context*>(user);
  auto request = std::make_shared<SnapshotRequest>();
  request->path = ctx->next_path("snapshot");
  {
    std::lock_guard<std::mutex> lock(ctx->requests_mu);
    if (ctx->stopping) return fail_with(errmsg, RAFT_ESHUTDOWN, "shutting down");
    ctx->requests.insert(request);
  }
  *snapshot = new std::shared_ptr<SnapshotRequest>(request);
  ctx->fsm.begin_snapshot(request->path.c_str(), new FsmRequestRef{FsmRequestRef::kMagic, request});
  return RAFT_OK;
}

int fail_with(char** errmsg, int code, const std::string& message) {
  *errmsg = static_cast<char*>(std::malloc(message.size() + 1));
  if (*errmsg != nullptr) std::memcpy(*errmsg, message.c_str(), message.size() + 1);
  return code;
}

// Copies `in` to the writer in pieces.
int stream_file(FILE* in, raft_snapshot_writer* writer, const std::string& path, char** errmsg) {
  std::vector<char> buf(64 << 10);
  while (true) {
    size_t n = std::fread(buf.data(), 1, buf.size(), in);
    if (n > 0) {
      int rc = raft_snapshot_writer_write(writer, buf.data(), n, errmsg);
      if (rc != RAFT_OK) return rc;
    }
    if (n < buf.size()) break;
  }
  if (std::ferror(in)) return fail_with(errmsg, RAFT_EIO, "reading the FSM's snapshot file " + path + " failed");
  return RAFT_OK;
}

int on_persist(void* /*user*/, void* snapshot, raft_snapshot_writer* writer, char** errmsg) {
  std::shared_ptr<SnapshotRequest> r = *static_cast<std::shared_ptr<SnapshotRequest>*>(snapshot);
  using State = SnapshotRequest::State;
  void* handle = nullptr;
  int (*func)(void*, FILE*) = nullptr;
  {
    std::unique_lock<std::mutex> lock(r->mu);
    r->cv.wait(lock, [&] { return r->state != State::kPending; });
    switch (r->state) {
      case State::kFailed:
        return fail_with(errmsg, RAFT_EIO, "the FSM reported that its snapshot failed");
      case State::kAbandoned:
        return fail_with(errmsg, RAFT_ESHUTDOWN, "shut down before the FSM finished its snapshot");
      case State::kHandedOver:
        handle = r->handle;
        func = r->func;
        r->func_called = true;
        break;
      default:
        break;
    }
  }
  if (func != nullptr) {
    FILE* sink = std::fopen(r->path.c_str(), "w+b");
    if (sink == nullptr) {
      std::string why = std::strerror(errno);
      drain_func(handle, func);
      return fail_with(errmsg, RAFT_EIO, "cannot create " + r->path + ": " + why);
    }
    int rc = func(handle, sink);
    if (rc != 0 || std::fflush(sink) != 0 || std::ferror(sink)) {
      std::fclose(sink);
      return fail_with(errmsg, RAFT_EIO, "the FSM's snapshot function failed (returned " + std::to_string(rc) + ")");
    }
    std::rewind(sink);
    rc = stream_file(sink, writer, r->path, errmsg);
    std::fclose(sink);
    return rc;
  }
  FILE* in = std::fopen(r->path.c_str(), "rb");
  if (in == nullptr)
    return fail_with(errmsg, RAFT_EIO, "cannot open the FSM's snapshot file " + r->path + ": " + std::strerror(errno));
  int rc = stream_file(in, writer, r->path, errmsg);
  std::fclose(in);
  return rc;
}

void on_release(void* user, void* snapshot) {
  auto* ctx = static_cast<Context*>(user);
  auto* ref = static_cast<std::shared_ptr<SnapshotRequest>*>(snapshot);
  std::shared_ptr<SnapshotRequest> r = *ref;
  delete ref;
  {
    std::lock_guard<std::mutex> lock(ctx->requests_mu);
    ctx->requests.erase(r);
  }
  void* handle = nullptr;
  int (*func)(void*, FILE*) = nullptr;
  {
    std::lock_guard<std::mutex> lock(r->mu);
    r->released = true;
    if (r->state == SnapshotRequest::State::kHandedOver && !r->func_called) {
      r->func_called = true;
      handle = r->handle;
      func = r->func;
    }
  }
  if (func != nullptr) drain_func(handle, func);
  ::unlink(r->path.c_str());
}

int on_restore(void* user, raft_snapshot_reader* reader, char** errmsg) {
  auto* ctx = static_cast<Context*>(user);
  if (ctx->fsm.restore == nullptr) return fail_with(errmsg, RAFT_EUNSUPPORTED, "the FSM has no restore callback");
  std::string path = ctx->next_path("restore");
  FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) return fail_with(errmsg, RAFT_EIO, "cannot create " + path + ": " + std::strerror(errno));
  std::vector<char> buf(64 << 10);
  int rc = RAFT_OK;
  while (true) {
    size_t n = 0;
    rc = raft_snapshot_reader_read(reader, buf.data(), buf.size(), &n, errmsg);
    if (rc != RAFT_OK || n == 0) break;
    if (std::fwrite(buf.data(), 1, n, out) != n) {
      rc = fail_with(errmsg, RAFT_EIO, "writing " + path + " failed: " + std::strerror(errno));
      break;
    }
  }
  if (std::fclose(out) != 0 && rc == RAFT_OK)
    rc = fail_with(errmsg, RAFT_EIO, "writing " + path + " failed: " + std::strerror(errno));
  if (rc == RAFT_OK) {
    int fsm_rc = ctx->fsm.restore(path.c_str());
    if (fsm_rc != 0) rc = fail_with(errmsg, RAFT_EIO, "the FSM's restore returned " + std::to_string(fsm_rc));
  }
  ::unlink(path.c_str());
  return rc;
}

// ---- raft_init ----

// Whether `id` is a voter of the node's latest configuration.
bool is_voter(raft_node* node, uint64_t id) {
  raft_configuration* conf = nullptr;
  if (raft_node_configuration(node, &conf, nullptr) != RAFT_OK) return false;
  size_t count = 0;
  raft_configuration_count(conf, &count, nullptr);
  bool found = false;
  for (size_t i = 0; i < count && !found; ++i) {
    uint64_t sid = 0;
    int voter = 0;
    if (raft_configuration_get(conf, i, &sid, nullptr, &voter, nullptr) == RAFT_OK) found = sid == id && voter != 0;
  }
  raft_configuration_free(conf);
  return found;
}


// Prints why raft_init failed and returns -1.
pid_t init_failed(const std::string& message) {
  std::fprintf(stderr, "raft_init: %s\n", message.c_str());
  return -1;
}

// Runs the C API setter calls in order, stopping at the first failure.
class Setup {
 public:
  template <class F, class... A>
  Setup& set(F f, raft_config* c, A... args) {
    if (rc_ == RAFT_OK) rc_ = f(c, args..., &msg_);
    return *this;
  }
  bool ok() const { return rc_ == RAFT_OK; }
  std::string message() { return take_message(msg_); }
  ~Setup() { raft_free(msg_); }

 private:
  int rc_ = RAFT_OK;
  char* msg_ = nullptr;
};

std::string make_tmp_dir(std::string* error) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/libraft-compat-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    *error = "cannot create a temporary folder " + tmpl + ": " + std::strerror(errno);
    return "";
  }
  return buf.data();
}

void shutdown_node(const std::shared_ptr<NodeRef>& n, char** msg) {
  n->context->abandon_requests();
  raft_node_shutdown(n->node, msg);
}

}  // namespace

pid_t init(const LegacyFsm* fsm, const RaftConfig* cfg_in) {
  if (fsm == nullptr || fsm->apply == nullptr) return init_failed("the FSM (and its apply callback) must not be NULL");
  RaftConfig defaults;
  if (cfg_in == nullptr) {
    std::memset(&defaults, 0, sizeof defaults);
    cfg_in = &defaults;  // every 0 means "the default" (plan.cpp)
    std::memcpy(defaults.backend_type, "boltdb", 7);
    defaults.listen_port = 9001;
    defaults.ShutdownOnRemove = true;
  }
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_node != nullptr) {
      int state = RAFT_STATE_SHUTDOWN;
      raft_node_state(g_node->node, &state, nullptr);
      if (state != RAFT_STATE_SHUTDOWN)
        return init_failed("a node is already running in this process (call raft_shutdown and raft_cleanup first)");
    }
  }
  cleanup();  // of a node shut down but not cleaned up

  NodePlan plan;
  PlanError plan_error;
  if (!make_plan(*cfg_in, config_extension(), &plan, &plan_error)) return init_failed(plan_error.message);

  auto ctx = std::make_shared<Context>();
  ctx->fsm = *fsm;
  std::string error;
  ctx->tmp_dir = make_tmp_dir(&error);
  if (ctx->tmp_dir.empty()) return init_failed(error);
  if (!plan.log_file.empty()) {
    ctx->log = std::fopen(plan.log_file.c_str(), "a");
    if (ctx->log == nullptr) return init_failed("cannot open LogOutput " + plan.log_file + ": " + std::strerror(errno));
  }

  std::unique_ptr<raft_config, void (*)(raft_config*)> config(raft_config_create(), raft_config_free);
  if (config == nullptr) return init_failed("out of memory");
  Setup s;
  raft_config* c = config.get();
  s.set(raft_config_set_id, c, plan.self.id)
      .set(raft_config_set_transport, c, "tcp")
      .set(raft_config_set_bind_address, c, plan.bind_address.c_str())
      .set(raft_config_set_advertise_address, c, plan.self.address.c_str())
      .set(raft_config_set_store, c, plan.durable ? "wal" : "memory")
      .set(raft_config_set_heartbeat_interval_ms, c, plan.heartbeat_interval_ms)
      .set(raft_config_set_election_timeout_ms, c, plan.election_timeout_ms)
      .set(raft_config_set_commit_timeout_ms, c, plan.commit_timeout_ms)
      .set(raft_config_set_leader_lease_timeout_ms, c, plan.leader_lease_timeout_ms)
      .set(raft_config_set_max_append_entries, c, plan.max_append_entries)
      .set(raft_config_set_trailing_logs, c, plan.trailing_logs)
      .set(raft_config_set_snapshot_interval_ms, c, plan.snapshot_interval_ms)
      .set(raft_config_set_snapshot_threshold, c, plan.snapshot_threshold)
      .set(raft_config_set_retain_snapshots, c, plan.retain_snapshots)
      .set(raft_config_set_shutdown_on_remove, c, plan.shutdown_on_remove ? 1 : 0)
      .set(raft_config_set_log_level, c, plan.verbose ? RAFT_LOG_INFO : RAFT_LOG_WARN)
      .set(raft_config_set_log_callback, c, on_log, static_cast<void*>(ctx.get()))
      .set(raft_config_set_tls, c, plan.tls_ca_file.c_str(), plan.tls_cert_file.c_str(), plan.tls_key_file.c_str())
      .set(raft_config_set_tls_verify_peer_id, c, plan.tls_verify_peer_id ? 1 : 0);
  if (plan.durable) s.set(raft_config_set_data_dir, c, plan.data_dir.c_str());
  if (!s.ok()) return init_failed(s.message());

  bool snapshots = fsm->begin_snapshot != nullptr;
  std::unique_ptr<raft_fsm, void (*)(raft_fsm*)> cfsm(
      raft_fsm_create(ctx.get(), on_apply, snapshots ? on_snapshot : nullptr, snapshots ? on_persist : nullptr,
                      snapshots ? on_release : nullptr, on_restore),
      raft_fsm_free);
  if (cfsm == nullptr) return init_failed("out of memory");
  // The 2015 reply belongs to the caller: no destructor.
  char* msg = nullptr;
  if (raft_fsm_set_result_destructor(cfsm.get(), nullptr, &msg) != RAFT_OK) return init_failed(take_message(msg));

  auto n = std::make_shared<NodeRef>();
  n->context = ctx;
  if (raft_node_start(config.get(), cfsm.get(), &n->node, &msg) != RAFT_OK) {
    n->node = nullptr;
    return init_failed("cannot start the node at " + plan.self.address + ": " + take_message(msg));
  }

  // Every node bootstraps the same configuration (itself plus its peers),
  // once: on a restart the store already has state and refuses.
  std::unique_ptr<raft_configuration, void (*)(raft_configuration*)> conf(raft_configuration_create(),
                                                                          raft_configuration_free);
  if (conf == nullptr) return init_failed("out of memory");
  for (const PlannedServer& server : plan.servers) {
    if (raft_configuration_add(conf.get(), server.id, server.address.c_str(), 1, &msg) != RAFT_OK)
      return init_failed("bad peer " + server.address + ": " + take_message(msg));
  }
  int rc = raft_node_bootstrap(n->node, conf.get(), &msg);
  std::string why = take_message(msg);
  if (rc != RAFT_OK && rc != RAFT_EEXISTS) {
    raft_node_shutdown(n->node, nullptr);
    return init_failed("cannot bootstrap the cluster: " + why);
  }
  if (rc == RAFT_EEXISTS && !is_voter(n->node, plan.self.id)) {
    // The id is the address: a node restarted on another port (or host)
    // is a stranger to the cluster its store remembers.
    log_line(ctx.get(), "warn",
             "this node (" + plan.self.address + ") is not a voter of the cluster stored in " + plan.data_dir +
                 "; was it started before with another --port?");
  }
  if (plan.verbose) {
    std::string members;
    for (const PlannedServer& server : plan.servers) members += " " + server.address;
    log_line(ctx.get(), "info",
             "node " + plan.self.address + (plan.durable ? " (state in " + plan.data_dir + ")" : " (state in memory)") +
                 (rc == RAFT_EEXISTS ? ", restarted from its store" : ", cluster:" + members));
  }

  std::lock_guard<std::mutex> lock(g_mu);
  g_node = std::move(n);
  return getpid();
}

void cleanup() {
  std::shared_ptr<NodeRef> n;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    n.swap(g_node);
  }
  if (n != nullptr) shutdown_node(n, nullptr);
  wait_for_shutdown_threads();
  n.reset();  // frees the node (if no other call still holds it), then the context
}

bool is_leader() { return state() == RAFT_LEADER; }

FutureHandle* apply(const char* cmd, size_t len, uint64_t timeout_ns) {
  auto n = current();
  if (n == nullptr) return resolved(RAFT_E_INVALID_OP, kNoNode);
  if (cmd == nullptr && len > 0) return resolved(RAFT_E_INVALID_OP, "cmd is NULL");
  auto f = std::make_shared<Future>();
  FutureHandle* handle = new_handle(f);
  if (handle == nullptr) return nullptr;
  auto* user = new std::shared_ptr<Future>(f);
  auto done = [](void* u, int code, const char* message, uint64_t, const void* result, size_t) {
    auto* fp = static_cast<std::shared_ptr<Future>*>(u);
    (*fp)->resolve(from_capi(code, Op::kApply), message != nullptr ? message : "", const_cast<void*>(result));
    delete fp;
  };
  char* msg = nullptr;
  int rc = raft_node_apply_async(n->node, cmd, len, ms_from_ns(timeout_ns), done, user, &msg);
  if (rc != RAFT_OK) {
    delete user;
    f->resolve(from_capi(rc, Op::kApply), take_message(msg));
  }
  return handle;
}

namespace {

// A call that gives a C API future, which then backs the 2015 future.
template <class Call>
FutureHandle* backed(Op op, Call call) {
  auto n = current();
  if (n == nullptr) return resolved(RAFT_E_INVALID_OP, kNoNode);
  raft_future* cf = nullptr;
  char* msg = nullptr;
  int rc = call(n->node, &cf, &msg);
  if (rc != RAFT_OK) return resolved(from_capi(rc, op), take_message(msg));
  return new_handle(std::make_shared<Future>(std::make_unique<CFuture>(cf, op)));
}

// The normalized address and id of host:port for membership calls.
FutureHandle* with_peer(const char* host, uint16_t port, Endpoint* e) {
  if (host == nullptr || port == 0) return resolved(RAFT_E_INVALID_ADDRESS, "host is NULL or port is 0");
  std::string why;
  NormalizeResult r = normalize(host, port, e, &why);
  if (r == NormalizeResult::kOk) return nullptr;
  return resolved(r == NormalizeResult::kUnresolved ? RAFT_E_RESOLVE : RAFT_E_INVALID_ADDRESS, why);
}

// Membership changes wait this long for the change to commit (Hashicorp's
// AddPeer had no deadline, but a peer that never comes up must not leave a
// future pending for ever).
constexpr uint64_t kMembershipTimeoutMs = 60000;

}  // namespace

FutureHandle* barrier(uint64_t timeout_ns) {
  uint64_t ms = ms_from_ns(timeout_ns);
  return backed(Op::kOther, [ms](raft_node* node, raft_future** cf, char** msg) {
    return raft_node_barrier(node, ms, cf, msg);
  });
}

FutureHandle* verify_leader() {
  return backed(Op::kOther, [](raft_node* node, raft_future** cf, char** msg) {
    return raft_node_verify_leader(node, cf, msg);
  });
}

RaftState state() {
  auto n = current();
  if (n == nullptr) return RAFT_INVALID_STATE;
  int s = 0;
  if (raft_node_state(n->node, &s, nullptr) != RAFT_OK) return RAFT_INVALID_STATE;
  switch (s) {
    case RAFT_STATE_FOLLOWER: return RAFT_FOLLOWER;
    case RAFT_STATE_CANDIDATE: return RAFT_CANDIDATE;
    case RAFT_STATE_LEADER: return RAFT_LEADER;
    case RAFT_STATE_SHUTDOWN: return RAFT_SHUTDOWN;
    default: return RAFT_INVALID_STATE;
  }
}

time_t last_contact() {
  auto n = current();
  if (n == nullptr) return 0;
  uint64_t ms = 0;
  if (raft_node_last_contact_ms(n->node, &ms, nullptr) != RAFT_OK || ms == UINT64_MAX) return 0;
  return std::time(nullptr) - static_cast<time_t>(ms / 1000);
}

RaftIndex last_index() {
  auto n = current();
  uint64_t index = 0;
  if (n == nullptr || raft_node_last_index(n->node, &index, nullptr) != RAFT_OK) return 0;
  return index;
}

RaftError leader(char** buf) {
  if (buf == nullptr) return RAFT_E_INVALID_OP;
  auto n = current();
  if (n == nullptr) return RAFT_E_INVALID_OP;
  char* address = nullptr;
  int rc = raft_node_leader(n->node, nullptr, &address, nullptr);
  if (rc != RAFT_OK) return from_capi(rc, Op::kOther);
  if (address == nullptr) return RAFT_E_UNKNOWN_PEER;
  size_t len = std::strlen(address);
  char* out = static_cast<char*>(std::malloc(len + 1));  // what alloc_raft_buffer gives
  if (out == nullptr) {
    raft_free(address);
    return RAFT_E_OTHER;
  }
  std::memcpy(out, address, len + 1);
  raft_free(address);
  *buf = out;
  return RAFT_SUCCESS;
}

FutureHandle* snapshot() {
  return backed(Op::kSnapshot, [](raft_node* node, raft_future** cf, char** msg) {
    return raft_node_snapshot(node, cf, msg);
  });
}

FutureHandle* add_peer(const char* host, uint16_t port) {
  Endpoint e;
  if (FutureHandle* bad = with_peer(host, port, &e)) return bad;
  uint64_t id = server_id(e);
  std::string address = e.str();
  auto n = current();
  if (n != nullptr && is_voter(n->node, id)) return resolved(RAFT_E_KNOWN_PEER, address + " is already a member");
  return backed(Op::kMembership, [id, address](raft_node* node, raft_future** cf, char** msg) {
    return raft_node_add_voter(node, id, address.c_str(), kMembershipTimeoutMs, cf, msg);
  });
}

FutureHandle* remove_peer(const char* host, uint16_t port) {
  Endpoint e;
  if (FutureHandle* bad = with_peer(host, port, &e)) return bad;
  uint64_t id = server_id(e);
  return backed(Op::kMembership, [id](raft_node* node, raft_future** cf, char** msg) {
    return raft_node_remove_server(node, id, kMembershipTimeoutMs, cf, msg);
  });
}

FutureHandle* stats() {
  auto n = current();
  if (n == nullptr) return resolved(RAFT_E_INVALID_OP, kNoNode);
  char* json = nullptr;
  char* msg = nullptr;
  int rc = raft_node_stats(n->node, &json, &msg);
  auto f = std::make_shared<Future>();
  if (rc != RAFT_OK) f->resolve(from_capi(rc, Op::kOther), take_message(msg));
  else f->resolve(RAFT_SUCCESS, {}, nullptr, take_message(json));
  return new_handle(std::move(f));
}

FutureHandle* shutdown() {
  auto n = current();
  if (n == nullptr) return resolved(RAFT_E_INVALID_OP, kNoNode);
  auto f = std::make_shared<Future>();
  FutureHandle* handle = new_handle(f);
  auto body = [n, f] {
    char* msg = nullptr;
    shutdown_node(n, &msg);
    f->resolve(RAFT_SUCCESS, take_message(msg));
  };
  try {
    start_shutdown_thread(body);
  } catch (...) {
    body();
  }
  return handle;
}

void snapshot_complete(void* req, bool success) {
  auto* ref = static_cast<FsmRequestRef*>(req);
  if (ref == nullptr || ref->magic != FsmRequestRef::kMagic) return;
  std::shared_ptr<SnapshotRequest> r = std::move(ref->request);
  ref->magic = 0;
  delete ref;
  std::lock_guard<std::mutex> lock(r->mu);
  if (r->state == SnapshotRequest::State::kPending)
    r->state = success ? SnapshotRequest::State::kWritten : SnapshotRequest::State::kFailed;
  r->cv.notify_all();
}

void take_snapshot(void* req, void* handle, int (*func)(void*, FILE*)) {
  auto* ref = static_cast<FsmRequestRef*>(req);
  if (ref == nullptr || ref->magic != FsmRequestRef::kMagic) return;
  std::shared_ptr<SnapshotRequest> r = std::move(ref->request);
  ref->magic = 0;
  delete ref;
  if (func == nullptr) {
    snapshot_complete(new FsmRequestRef{FsmRequestRef::kMagic, r}, false);
    return;
  }
  bool drain = false;
  {
    std::lock_guard<std::mutex> lock(r->mu);
    if (r->state == SnapshotRequest::State::kPending && !r->released) {
      r->state = SnapshotRequest::State::kHandedOver;
      r->handle = handle;
      r->func = func;
    } else {
      drain = true;  // the library gave up on this request: f still runs once
    }
    r->cv.notify_all();
  }
  if (drain) drain_func(handle, func);
}

}  // namespace raft::compat
