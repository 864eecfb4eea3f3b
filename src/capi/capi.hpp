// Internals of the C API (include/raft/raft.h): the structs behind the
// opaque handles, and the one guard every entry point goes through.
//
// Each C handle wraps one C++ object (LevelDB's rule). Every entry point
// runs its body inside guarded(), which clears *errmsg, refuses calls from
// the log callback, and turns any exception into an error code, so nothing
// C++ ever unwinds into C.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "raft/raft.h"
#include "raft/raft.hpp"

namespace raft::capi {

// ---- errors ----

// A malloc'd, NUL-terminated copy (the C side frees it with raft_free).
// Throws std::bad_alloc when malloc fails.
char* dup_string(std::string_view s);

// Writes *errmsg (when errmsg is not NULL) and returns code. Never throws:
// when the message cannot be allocated, *errmsg is NULL.
int fail(char** errmsg, int code, std::string_view message) noexcept;
int fail(char** errmsg, const Status& status) noexcept;

// The RAFT_E* code of a status (the numbers are raft::ErrorCode's).
inline int code_of(const Status& s) noexcept { return static_cast<int>(s.code()); }

// A Status from a code a user callback returned plus its optional
// malloc'd message (taken and freed). A code that is not a RAFT_E* code
// becomes kIoError. `what` says which callback failed.
Status status_from_callback(int code, char* message, std::string_view what);

// ---- threads ----

// Which library callback, if any, the current thread is inside. Blocking
// calls from a callback would wait for the thread that is running it.
enum class CallbackKind { kNone, kUser, kLog };
CallbackKind current_callback() noexcept;

// Marks the current thread as running a user callback for its lifetime.
class CallbackScope {
 public:
  explicit CallbackScope(CallbackKind kind = CallbackKind::kUser) noexcept;
  ~CallbackScope();
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

 private:
  CallbackKind saved_;
};

// RAFT_EINVAL when the caller is inside a callback (a blocking call there
// would deadlock), else RAFT_OK.
int refuse_in_callback(char** errmsg, const char* function) noexcept;

// Runs body() (which returns a RAFT_* code) with the conventions of
// raft.h: *errmsg cleared first, no call from the log callback, every
// exception turned into an error.
template <class Body>
int guarded(char** errmsg, const char* function, Body&& body) noexcept {
  if (errmsg) *errmsg = nullptr;
  try {
    if (current_callback() == CallbackKind::kLog)
      return fail(errmsg, RAFT_EINVAL,
                  std::string(function) + ": called from the log callback, which must not call into libraft");
    return body();
  } catch (const std::bad_alloc&) {
    return fail(errmsg, RAFT_EINTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(errmsg, RAFT_EINTERNAL, std::string(function) + ": " + e.what());
  } catch (...) {
    return fail(errmsg, RAFT_EINTERNAL, std::string(function) + ": unknown exception");
  }
}

// RAFT_EINVAL naming the NULL argument.
int null_argument(char** errmsg, const char* function, const char* argument) noexcept;

// Milliseconds from the C API (0: no deadline) as the C++ API's duration.
// Values too large to add to a clock also mean no deadline.
std::chrono::milliseconds timeout_of(uint64_t timeout_ms) noexcept;

// ---- the FSM ----

struct FsmCallbacks {
  void* user = nullptr;
  raft_fsm_apply_fn apply = nullptr;
  raft_fsm_snapshot_fn snapshot = nullptr;
  raft_fsm_persist_fn persist = nullptr;
  raft_fsm_release_fn release = nullptr;
  raft_fsm_restore_fn restore = nullptr;
  raft_destroy_fn result_destroy = nullptr;  // null: results are not freed
};

// What an FSM's apply returned, with the index it was applied at. Shared
// by the C++ future's std::any and the C future; the last owner frees the
// bytes with the FSM's result destructor.
struct ApplyResult {
  uint64_t index = 0;
  void* data = nullptr;
  size_t len = 0;
  raft_destroy_fn destroy = nullptr;
  ApplyResult() = default;
  ApplyResult(const ApplyResult&) = delete;
  ApplyResult& operator=(const ApplyResult&) = delete;
  ~ApplyResult() {
    if (data && destroy) destroy(data);
  }
};

// The C++ Fsm over the C callbacks.
std::shared_ptr<Fsm> make_fsm(const FsmCallbacks& callbacks);
// free() as a raft_destroy_fn: the default for apply results.
raft_destroy_fn default_result_destroy() noexcept;

// ---- futures ----

// The C future's own state, resolved by a continuation of the C++ future
// (so the message can be completed before any waiter sees it).
struct FutureCore {
  enum class Kind { kApply, kVoid, kIndex };
  explicit FutureCore(Kind k) : kind(k) {}

  const Kind kind;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;                    // guarded by mu; set once
  Status status;                        // guarded by mu; the outcome
  uint64_t index = 0;                   // apply, index kinds; valid when ok
  std::shared_ptr<ApplyResult> result;  // apply kind; valid when ok

  void resolve(Status s, uint64_t idx, std::shared_ptr<ApplyResult> r) noexcept;
};

// A not-leader error's message completed with the leader's address when
// the node knows it ("not leader; leader is 2 at 127.0.0.1:4242").
Status complete_message(const Status& s, const Node* node);

}  // namespace raft::capi

// ---- the handles (global names: they complete raft.h's declarations) ----

struct raft_config {
  raft::Config config;
  raft_log_fn log_fn = nullptr;
  void* log_user = nullptr;
};

struct raft_configuration {
  raft::ClusterConfiguration configuration;
};

struct raft_network {
  std::shared_ptr<raft::InMemoryNetwork> network;
};

// raft_fsm is not defined here: raft_if.h (the 2015 API, in the same
// library) defines a public `struct raft_fsm` of its own, and one program
// may hold only one definition of a class. The handle points to an FsmHandle.
namespace raft::capi {
struct FsmHandle {
  FsmCallbacks callbacks;
};
inline FsmHandle* fsm_handle(raft_fsm* f) noexcept { return reinterpret_cast<FsmHandle*>(f); }
inline const FsmHandle* fsm_handle(const raft_fsm* f) noexcept { return reinterpret_cast<const FsmHandle*>(f); }
}  // namespace raft::capi

struct raft_snapshot_writer {
  raft::SnapshotSink* sink;
};

struct raft_snapshot_reader {
  raft::SnapshotReader* reader;
};

struct raft_future {
  std::shared_ptr<raft::capi::FutureCore> core;
};

// The leader-change callback slot; a recursive mutex so that the callback
// may replace itself, and so that nothing calls an old callback once
// raft_node_set_leader_callback has returned.
struct LeaderCallbackSlot {
  std::recursive_mutex mu;
  raft_leader_fn fn = nullptr;  // guarded by mu
  void* user = nullptr;         // guarded by mu
};

struct raft_node {
  std::unique_ptr<raft::Node> node;  // never null while the handle lives
  uint64_t id = 0;
  std::shared_ptr<LeaderCallbackSlot> leader_slot;
  // Set by raft_node_shutdown: from then on, calls answer RAFT_ESHUTDOWN.
  std::atomic<bool> shut_down{false};
};

namespace raft::capi {

// New C futures over C++ ones (node: for complete_message; it outlives
// every not-leader resolution, which happens while the node runs).
raft_future* wrap_apply(const Future<std::any>& f, const Node* node);
raft_future* wrap_void(const Future<void>& f, const Node* node);
raft_future* wrap_index(const Future<uint64_t>& f, const Node* node);
// Calls done exactly once with the outcome of f (raft_node_apply_async).
void on_apply_done(const Future<std::any>& f, const Node* node, raft_apply_done_fn done, void* user);

}  // namespace raft::capi
