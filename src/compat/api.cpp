// The extern "C" functions of the 2015 API (raft_if.h), each a forward to
// the engine (engine.hpp). Including raft_if.h here makes the compiler
// check every definition against the 2015 declaration. No exception leaves
// these functions: the engine's calls report failures as codes, and the
// remaining ones (allocation) are caught here.
#include <cstdio>
#include <string>

#include "compat/engine.hpp"
#include "compat/stats.hpp"
#include "raft/raft_if.h"

namespace {

using namespace raft::compat;

static_assert(sizeof(LegacyFsm) == sizeof(RaftFSM), "LegacyFsm mirrors struct raft_fsm");

// Runs body; on an exception (out of memory) returns `fallback`.
template <class T, class Body>
T guarded(T fallback, Body body) noexcept {
  try {
    return body();
  } catch (...) {
    return fallback;
  }
}

}  // namespace

extern "C" {

pid_t raft_init(RaftFSM* fsm, const RaftConfig* cfg) {
  return guarded<pid_t>(-1, [&] {
    if (fsm == nullptr) return init(nullptr, cfg);
    LegacyFsm legacy{fsm->apply, fsm->begin_snapshot, fsm->restore};
    return init(&legacy, cfg);
  });
}

void raft_cleanup(void) {
  guarded<int>(0, [] {
    cleanup();
    return 0;
  });
}

bool raft_is_leader(void) { return guarded<bool>(false, [] { return is_leader(); }); }

RaftError raft_apply_sync(char* cmd, size_t cmd_len, uint64_t timeout_ns, void** res) {
  return guarded<RaftError>(RAFT_E_OTHER, [&] {
    FutureHandle* f = apply(cmd, cmd_len, timeout_ns);
    if (f == nullptr) return RAFT_E_OTHER;
    RaftError err = f->future->wait();
    if (res != nullptr) *res = f->future->reply();
    dispose(f);
    return err;
  });
}

raft_future raft_apply(char* cmd, size_t cmd_len, uint64_t timeout_ns) {
  return guarded<raft_future>(nullptr, [&] { return apply(cmd, cmd_len, timeout_ns); });
}

raft_future raft_barrier(uint64_t timeout_ns) {
  return guarded<raft_future>(nullptr, [&] { return barrier(timeout_ns); });
}

raft_future raft_verify_leader(void) {
  return guarded<raft_future>(nullptr, [] { return verify_leader(); });
}

RaftState raft_state(void) { return guarded<RaftState>(RAFT_INVALID_STATE, [] { return state(); }); }

time_t raft_last_contact(void) { return guarded<time_t>(0, [] { return last_contact(); }); }

RaftIndex raft_last_index(void) { return guarded<RaftIndex>(0, [] { return last_index(); }); }

RaftError raft_leader(char** buf) { return guarded<RaftError>(RAFT_E_OTHER, [&] { return leader(buf); }); }

raft_future raft_snapshot(void) { return guarded<raft_future>(nullptr, [] { return snapshot(); }); }

raft_future raft_add_peer(const char* host, uint16_t port) {
  return guarded<raft_future>(nullptr, [&] { return add_peer(host, port); });
}

raft_future raft_remove_peer(const char* host, uint16_t port) {
  return guarded<raft_future>(nullptr, [&] { return remove_peer(host, port); });
}

raft_future raft_stats(void) { return guarded<raft_future>(nullptr, [] { return stats(); }); }

raft_future raft_shutdown(void) { return guarded<raft_future>(nullptr, [] { return shutdown(); }); }

RaftError raft_future_wait(raft_future f) {
  Future* fut = future_of(f);
  return fut != nullptr ? fut->wait() : RAFT_E_INVALID_OP;
}

bool raft_future_poll(raft_future f) {
  Future* fut = future_of(f);
  return fut != nullptr && fut->poll();
}

bool raft_future_wait_for(raft_future f, uint64_t wait_ms) {
  Future* fut = future_of(f);
  return fut != nullptr && fut->wait_for(wait_ms);
}

RaftError raft_future_get_fsm_reply(raft_future f, void** value_ptr) {
  Future* fut = future_of(f);
  if (fut == nullptr) return RAFT_E_INVALID_OP;
  RaftError err = fut->wait();
  if (value_ptr != nullptr) *value_ptr = fut->reply();
  return err;
}

RaftError raft_future_get_stats(raft_future f, const char** value_ptr) {
  Future* fut = future_of(f);
  if (fut == nullptr) return RAFT_E_INVALID_OP;
  RaftError err = fut->wait();
  if (value_ptr != nullptr) *value_ptr = fut->stats();
  return err;
}

void raft_print_stats(const char* stats) {
  guarded<int>(0, [&] {
    std::string text = stats != nullptr ? format_stats(stats) : "Raft stats: none\n";
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    return 0;
  });
}

void raft_future_dispose(raft_future f) { dispose(f); }

void raft_fsm_snapshot_complete(raft_snapshot_req s, bool success) {
  guarded<int>(0, [&] {
    snapshot_complete(s, success);
    return 0;
  });
}

void raft_fsm_take_snapshot(raft_snapshot_req req, raft_fsm_snapshot_handle h, raft_fsm_snapshot_func f) {
  guarded<int>(0, [&] {
    take_snapshot(req, h, f);
    return 0;
  });
}

}  // extern "C"
