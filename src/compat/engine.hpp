// The 2015 API's one implicit node, over the handle-based C API.
//
// api.cpp defines the extern "C" functions of raft_if.h as one-line
// forwards to the functions below; engine.cpp implements them with
// raft/raft.h. The split exists because the two public headers cannot meet
// in one file: both name a `struct raft_fsm` and a `raft_future` (as
// different types), and declare raft_future_wait, raft_future_poll and
// raft_future_wait_for with different signatures. This header includes
// neither, only raft_defs.h, whose names raft.h does not use.
//
// Thread safety: every function may be called from any thread; the engine
// serializes what needs it.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "raft/raft_defs.h"

namespace raft::compat {

// struct raft_fsm of raft_if.h, field for field.
struct LegacyFsm {
  void* (*apply)(uint64_t index, uint64_t term, RaftLogType type, char* cmd, size_t len);
  void (*begin_snapshot)(const char* path, void* req);
  int (*restore)(const char* path);
};

// The outcome of a 2015 call, resolved exactly once: directly, by
// whichever thread learns it (the apply thread for commands, the caller
// for what fails at once), or from a Source, a C API future that the
// 2015 calls wait on and poll.
class Future {
 public:
  class Source {
   public:
    virtual ~Source() = default;
    virtual bool ready() = 0;                  // non-blocking
    virtual bool wait_for(uint64_t ms) = 0;    // whether resolved within ms
    virtual RaftError outcome(std::string* message) = 0;  // blocks until resolved
  };

  Future() = default;
  explicit Future(std::unique_ptr<Source> source) : source_(std::move(source)) {}

  // Later resolutions are ignored.
  void resolve(RaftError code, std::string message = {}, void* reply = nullptr, std::string stats = {});
  RaftError wait();
  bool poll();
  bool wait_for(uint64_t ms);
  // After wait(): the FSM's reply, the statistics JSON.
  void* reply();
  const char* stats();

 private:
  void resolve_from_source();

  const std::unique_ptr<Source> source_;  // set once, at construction
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // Invariant: the fields below change only while !done_
  RaftError code_ = RAFT_SUCCESS;
  std::string message_;  // the C API's message, kept for debugging
  void* reply_ = nullptr;
  std::string stats_;
};

// What a raft_future points to: one reference to a Future.
struct FutureHandle {
  static constexpr uint32_t kMagic = 0x52465554;  // "RFUT"
  uint32_t magic = kMagic;
  std::shared_ptr<Future> future;
};

// A handle to `f`, or NULL when memory is exhausted.
FutureHandle* new_handle(std::shared_ptr<Future> f);
// The Future of a handle; null for NULL or a pointer that is no handle.
Future* future_of(void* handle);
void dispose(void* handle);

pid_t init(const LegacyFsm* fsm, const RaftConfig* cfg);
void cleanup();

bool is_leader();
FutureHandle* apply(const char* cmd, size_t len, uint64_t timeout_ns);
FutureHandle* barrier(uint64_t timeout_ns);
FutureHandle* verify_leader();
RaftState state();
time_t last_contact();
RaftIndex last_index();
RaftError leader(char** buf);
FutureHandle* snapshot();
FutureHandle* add_peer(const char* host, uint16_t port);
FutureHandle* remove_peer(const char* host, uint16_t port);
FutureHandle* stats();
FutureHandle* shutdown();

// The FSM's side of a snapshot request (void* raft_snapshot_req).
void snapshot_complete(void* req, bool success);
void take_snapshot(void* req, void* handle, int (*func)(void* handle, FILE* sink));

}  // namespace raft::compat
