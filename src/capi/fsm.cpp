// The FSM: raft_fsm bundles the C callbacks; make_fsm() turns them into a
// raft::Fsm (the snapshot view into a raft::FsmSnapshot); the writer and
// reader handles wrap the sink and reader the library passes to persist
// and restore.
#include <cstdlib>

#include "capi/capi.hpp"

namespace raft::capi {

namespace {

// A free() with the signature of raft_destroy_fn (the default result
// destructor: apply results come from malloc).
void free_result(void* p) { std::free(p); }

// The view an FSM's snapshot callback returned. release() runs exactly
// once: after persist, or from the destructor when the library drops the
// snapshot without persisting it (a node shut down first).
class CFsmSnapshot : public FsmSnapshot {
 public:
  CFsmSnapshot(const FsmCallbacks& cb, void* view) : cb_(cb), view_(view) {}
  ~CFsmSnapshot() override { release(); }

  Status persist(SnapshotSink& sink) override {
    raft_snapshot_writer writer{&sink};
    char* message = nullptr;
    int rc;
    {
      CallbackScope scope;
      rc = cb_.persist(cb_.user, view_, &writer, &message);
    }
    if (rc != RAFT_OK) return status_from_callback(rc, message, "the FSM's persist callback failed");
    std::free(message);
    return Status();
  }

  void release() override {
    if (released_) return;
    released_ = true;
    if (!cb_.release) return;
    CallbackScope scope;
    cb_.release(cb_.user, view_);
  }

 private:
  FsmCallbacks cb_;
  void* view_;
  bool released_ = false;  // release() is called by one thread at a time
};

class CFsm : public Fsm {
 public:
  explicit CFsm(const FsmCallbacks& cb) : cb_(cb) {}

  std::any apply(const LogEntry& entry) override {
    // Allocated before the callback, so that a result it hands over is
    // never lost to a failed allocation.
    auto result = std::make_shared<ApplyResult>();
    result->index = entry.index;
    result->destroy = cb_.result_destroy;
    static const uint8_t kEmpty = 0;
    const void* data = entry.data.empty() ? &kEmpty : entry.data.data();
    {
      CallbackScope scope;
      cb_.apply(cb_.user, entry.index, entry.term, data, entry.data.size(), &result->data, &result->len);
    }
    if (!result->data) result->len = 0;
    return result;
  }

  Result<std::unique_ptr<FsmSnapshot>> snapshot() override {
    if (!cb_.snapshot) return Status(ErrorCode::kUnsupported, "the FSM has no snapshot callback");
    void* view = nullptr;
    char* message = nullptr;
    int rc;
    {
      CallbackScope scope;
      rc = cb_.snapshot(cb_.user, &view, &message);
    }
    if (rc != RAFT_OK) return status_from_callback(rc, message, "the FSM's snapshot callback failed");
    std::free(message);
    std::unique_ptr<FsmSnapshot> snap;
    try {
      snap = std::make_unique<CFsmSnapshot>(cb_, view);
    } catch (...) {
      // The view must still be released exactly once.
      if (cb_.release) {
        CallbackScope scope;
        cb_.release(cb_.user, view);
      }
      throw;
    }
    return snap;
  }

  Status restore(SnapshotReader& reader) override {
    if (!cb_.restore) return Status(ErrorCode::kUnsupported, "the FSM has no restore callback");
    raft_snapshot_reader r{&reader};
    char* message = nullptr;
    int rc;
    {
      CallbackScope scope;
      rc = cb_.restore(cb_.user, &r, &message);
    }
    if (rc != RAFT_OK) return status_from_callback(rc, message, "the FSM's restore callback failed");
    std::free(message);
    return Status();
  }

 private:
  const FsmCallbacks cb_;
};

}  // namespace

std::shared_ptr<Fsm> make_fsm(const FsmCallbacks& callbacks) { return std::make_shared<CFsm>(callbacks); }

raft_destroy_fn default_result_destroy() noexcept { return &free_result; }

}  // namespace raft::capi

using raft::capi::fail;
using raft::capi::guarded;
using raft::capi::null_argument;

extern "C" {

raft_fsm* raft_fsm_create(void* user, raft_fsm_apply_fn apply, raft_fsm_snapshot_fn snapshot,
                          raft_fsm_persist_fn persist, raft_fsm_release_fn release, raft_fsm_restore_fn restore) {
  try {
    auto* f = new raft::capi::FsmHandle();
    f->callbacks.user = user;
    f->callbacks.apply = apply;
    f->callbacks.snapshot = snapshot;
    f->callbacks.persist = persist;
    f->callbacks.release = release;
    f->callbacks.restore = restore;
    f->callbacks.result_destroy = raft::capi::default_result_destroy();
    return reinterpret_cast<raft_fsm*>(f);
  } catch (...) {
    return nullptr;
  }
}

void raft_fsm_free(raft_fsm* fsm) { delete raft::capi::fsm_handle(fsm); }

int raft_fsm_set_result_destructor(raft_fsm* fsm, raft_destroy_fn destroy, char** errmsg) {
  return guarded(errmsg, "raft_fsm_set_result_destructor", [&] {
    if (!fsm) return null_argument(errmsg, "raft_fsm_set_result_destructor", "fsm");
    raft::capi::fsm_handle(fsm)->callbacks.result_destroy = destroy;
    return RAFT_OK;
  });
}

int raft_snapshot_writer_write(raft_snapshot_writer* writer, const void* data, size_t len, char** errmsg) {
  return guarded(errmsg, "raft_snapshot_writer_write", [&] {
    if (!writer || !writer->sink) return null_argument(errmsg, "raft_snapshot_writer_write", "writer");
    if (!data && len > 0) return null_argument(errmsg, "raft_snapshot_writer_write", "data");
    if (len == 0) return RAFT_OK;
    raft::Status s = writer->sink->write({static_cast<const uint8_t*>(data), len});
    return s.ok() ? RAFT_OK : fail(errmsg, s);
  });
}

int raft_snapshot_reader_read(raft_snapshot_reader* reader, void* buf, size_t cap, size_t* n, char** errmsg) {
  return guarded(errmsg, "raft_snapshot_reader_read", [&] {
    if (!reader || !reader->reader) return null_argument(errmsg, "raft_snapshot_reader_read", "reader");
    if (!n) return null_argument(errmsg, "raft_snapshot_reader_read", "n");
    if (!buf && cap > 0) return null_argument(errmsg, "raft_snapshot_reader_read", "buf");
    // A read of 0 bytes would look like the end of the snapshot.
    if (cap == 0) return fail(errmsg, RAFT_EINVAL, "raft_snapshot_reader_read: cap is 0");
    raft::Result<size_t> r = reader->reader->read({static_cast<uint8_t*>(buf), cap});
    if (!r.ok()) return fail(errmsg, r.status());
    *n = *r;
    return RAFT_OK;
  });
}

}  // extern "C"
