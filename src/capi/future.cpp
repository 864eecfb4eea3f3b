// raft_future: the C face of raft::Future<T>. Each C future has its own
// state (FutureCore) filled by a continuation of the C++ future, so the
// outcome's message can be completed (a not-leader error gains the
// leader's address) before any waiter reads it.
#include <functional>

#include "capi/capi.hpp"

namespace raft::capi {

Status complete_message(const Status& s, const Node* node) {
  if (s.code() != ErrorCode::kNotLeader || !node) return s;
  std::optional<LeaderInfo> leader = node->leader();
  if (!leader || leader->address.empty()) return s;
  const std::string suffix = "leader is " + std::to_string(leader->id);
  const std::string& m = s.message();
  if (m.size() < suffix.size() || m.compare(m.size() - suffix.size(), suffix.size(), suffix) != 0) return s;
  return Status(s.code(), m + " at " + leader->address);
}

namespace {

// Runs `fn` on the outcome of `f`, never letting an exception escape into
// the thread that resolves it (a libraft thread).
template <class T>
void on_resolved(const Future<T>& f, std::function<void(const Future<T>&, const Status&)> fn,
                 const std::shared_ptr<FutureCore>& core) {
  f.then([f, fn = std::move(fn), core](const Status& s) {
    try {
      fn(f, s);
    } catch (...) {
      if (core) core->resolve(Status(ErrorCode::kInternal, "out of memory"), 0, nullptr);
    }
  });
}

std::shared_ptr<ApplyResult> result_of(const Future<std::any>& f) {
  std::any& value = f.value();
  auto* r = std::any_cast<std::shared_ptr<ApplyResult>>(&value);
  return r ? *r : nullptr;
}

}  // namespace

raft_future* wrap_apply(const Future<std::any>& f, const Node* node) {
  auto out = std::make_unique<raft_future>();
  out->core = std::make_shared<FutureCore>(FutureCore::Kind::kApply);
  on_resolved<std::any>(
      f,
      [core = out->core, node](const Future<std::any>& fut, const Status& s) {
        if (!s.ok()) return core->resolve(complete_message(s, node), 0, nullptr);
        std::shared_ptr<ApplyResult> r = result_of(fut);
        uint64_t index = r ? r->index : 0;
        core->resolve(Status(), index, std::move(r));
      },
      out->core);
  return out.release();
}

raft_future* wrap_void(const Future<void>& f, const Node* node) {
  auto out = std::make_unique<raft_future>();
  out->core = std::make_shared<FutureCore>(FutureCore::Kind::kVoid);
  on_resolved<void>(
      f,
      [core = out->core, node](const Future<void>&, const Status& s) {
        core->resolve(complete_message(s, node), 0, nullptr);
      },
      out->core);
  return out.release();
}

raft_future* wrap_index(const Future<uint64_t>& f, const Node* node) {
  auto out = std::make_unique<raft_future>();
  out->core = std::make_shared<FutureCore>(FutureCore::Kind::kIndex);
  on_resolved<uint64_t>(
      f,
      [core = out->core, node](const Future<uint64_t>& fut, const Status& s) {
        if (!s.ok()) return core->resolve(complete_message(s, node), 0, nullptr);
        core->resolve(Status(), fut.value(), nullptr);
      },
      out->core);
  return out.release();
}

void on_apply_done(const Future<std::any>& f, const Node* node, raft_apply_done_fn done, void* user) {
  // Not through on_resolved: `done` must be called even when preparing its
  // arguments fails. Everything that may throw happens before the call.
  f.then([f, node, done, user](const Status& s) {
    Status full;
    std::shared_ptr<ApplyResult> r;
    bool prepared = false;
    try {
      if (!s.ok()) {
        full = complete_message(s, node);
      } else {
        r = result_of(f);
      }
      prepared = true;
    } catch (...) {
      prepared = false;
    }
    CallbackScope scope;
    if (!prepared) {
      done(user, RAFT_EINTERNAL, "out of memory", 0, nullptr, 0);
    } else if (!full.ok()) {
      done(user, code_of(full), full.message().c_str(), 0, nullptr, 0);
    } else if (r) {
      done(user, RAFT_OK, nullptr, r->index, r->data, r->len);
    } else {
      done(user, RAFT_OK, nullptr, 0, nullptr, 0);
    }
  });
}

}  // namespace raft::capi

using raft::capi::FutureCore;
using raft::capi::fail;
using raft::capi::guarded;
using raft::capi::null_argument;

namespace {

// Waits for the outcome, unless that would block a libraft callback.
// Returns RAFT_OK when resolved (the outcome is then in core), or the
// refusal.
int wait_resolved(FutureCore& core, const char* function, char** errmsg) {
  std::unique_lock<std::mutex> lock(core.mu);
  if (core.done) return RAFT_OK;
  if (raft::capi::current_callback() != raft::capi::CallbackKind::kNone)
    return raft::capi::refuse_in_callback(errmsg, function);
  core.cv.wait(lock, [&] { return core.done; });
  return RAFT_OK;
}

// The outcome of a resolved future as a code and message.
int outcome(FutureCore& core, char** errmsg) {
  std::lock_guard<std::mutex> lock(core.mu);
  return core.status.ok() ? RAFT_OK : fail(errmsg, core.status);
}

}  // namespace

extern "C" {

int raft_future_await(raft_future* future, char** errmsg) {
  return guarded(errmsg, "raft_future_await", [&] {
    if (!future) return null_argument(errmsg, "raft_future_await", "future");
    int rc = wait_resolved(*future->core, "raft_future_await", errmsg);
    return rc != RAFT_OK ? rc : outcome(*future->core, errmsg);
  });
}

int raft_future_status(raft_future* future, char** errmsg) {
  return guarded(errmsg, "raft_future_status", [&] {
    if (!future) return null_argument(errmsg, "raft_future_status", "future");
    int rc = wait_resolved(*future->core, "raft_future_status", errmsg);
    return rc != RAFT_OK ? rc : outcome(*future->core, errmsg);
  });
}

int raft_future_await_for(raft_future* future, uint64_t timeout_ms, int* done, char** errmsg) {
  return guarded(errmsg, "raft_future_await_for", [&] {
    if (!future) return null_argument(errmsg, "raft_future_await_for", "future");
    if (!done) return null_argument(errmsg, "raft_future_await_for", "done");
    FutureCore& core = *future->core;
    std::unique_lock<std::mutex> lock(core.mu);
    if (timeout_ms > 0) {
      // A bounded wait cannot deadlock; timeout_of caps what a clock can add.
      std::chrono::milliseconds d = raft::capi::timeout_of(timeout_ms);
      if (d.count() == 0) d = std::chrono::hours(24 * 366 * 10);
      core.cv.wait_for(lock, d, [&] { return core.done; });
    }
    *done = core.done ? 1 : 0;
    return RAFT_OK;
  });
}

int raft_future_ready(raft_future* future, int* done, char** errmsg) {
  return guarded(errmsg, "raft_future_ready", [&] {
    if (!future) return null_argument(errmsg, "raft_future_ready", "future");
    if (!done) return null_argument(errmsg, "raft_future_ready", "done");
    std::lock_guard<std::mutex> lock(future->core->mu);
    *done = future->core->done ? 1 : 0;
    return RAFT_OK;
  });
}

int raft_future_index(raft_future* future, uint64_t* index, char** errmsg) {
  return guarded(errmsg, "raft_future_index", [&] {
    if (!future) return null_argument(errmsg, "raft_future_index", "future");
    if (!index) return null_argument(errmsg, "raft_future_index", "index");
    FutureCore& core = *future->core;
    if (core.kind == FutureCore::Kind::kVoid)
      return fail(errmsg, RAFT_EINVAL, "raft_future_index: this future carries no index (barrier, verify_leader or transfer)");
    int rc = wait_resolved(core, "raft_future_index", errmsg);
    if (rc != RAFT_OK) return rc;
    rc = outcome(core, errmsg);
    if (rc != RAFT_OK) return rc;
    std::lock_guard<std::mutex> lock(core.mu);
    *index = core.index;
    return RAFT_OK;
  });
}

int raft_future_result(raft_future* future, const void** data, size_t* len, char** errmsg) {
  return guarded(errmsg, "raft_future_result", [&] {
    if (!future) return null_argument(errmsg, "raft_future_result", "future");
    FutureCore& core = *future->core;
    if (core.kind != FutureCore::Kind::kApply)
      return fail(errmsg, RAFT_EINVAL, "raft_future_result: only the future of an apply carries an FSM result");
    int rc = wait_resolved(core, "raft_future_result", errmsg);
    if (rc != RAFT_OK) return rc;
    rc = outcome(core, errmsg);
    if (rc != RAFT_OK) return rc;
    std::lock_guard<std::mutex> lock(core.mu);
    if (data) *data = core.result ? core.result->data : nullptr;
    if (len) *len = core.result ? core.result->len : 0;
    return RAFT_OK;
  });
}

void raft_future_free(raft_future* future) { delete future; }

}  // extern "C"
