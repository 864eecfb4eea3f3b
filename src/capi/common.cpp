// The C API's common pieces: error reporting, memory, the callback-thread
// marker, version and names (include/raft/raft.h, conventions 2, 3 and 5).
#include <cstdlib>
#include <cstring>

#include "capi/capi.hpp"

namespace raft::capi {

// raft.h promises the numbers of raft::ErrorCode.
static_assert(RAFT_OK == static_cast<int>(ErrorCode::kOk));
static_assert(RAFT_EINVAL == static_cast<int>(ErrorCode::kInvalidArgument));
static_assert(RAFT_ENOTLEADER == static_cast<int>(ErrorCode::kNotLeader));
static_assert(RAFT_ELEADERSHIPLOST == static_cast<int>(ErrorCode::kLeadershipLost));
static_assert(RAFT_ETIMEOUT == static_cast<int>(ErrorCode::kTimeout));
static_assert(RAFT_ESHUTDOWN == static_cast<int>(ErrorCode::kShutdown));
static_assert(RAFT_ECORRUPTION == static_cast<int>(ErrorCode::kCorruption));
static_assert(RAFT_EIO == static_cast<int>(ErrorCode::kIoError));
static_assert(RAFT_ENOTFOUND == static_cast<int>(ErrorCode::kNotFound));
static_assert(RAFT_EBUSY == static_cast<int>(ErrorCode::kBusy));
static_assert(RAFT_EUNSUPPORTED == static_cast<int>(ErrorCode::kUnsupported));
static_assert(RAFT_EEXISTS == static_cast<int>(ErrorCode::kAlreadyExists));
static_assert(RAFT_EABORTED == static_cast<int>(ErrorCode::kAborted));
static_assert(RAFT_EINTERNAL == static_cast<int>(ErrorCode::kInternal));
// And the levels those of raft::LogLevel, the states those of raft::Role.
static_assert(RAFT_LOG_DEBUG == static_cast<int>(LogLevel::kDebug));
static_assert(RAFT_LOG_OFF == static_cast<int>(LogLevel::kOff));

namespace {
// Which callback this thread is running (CallbackKind::kNone outside).
thread_local CallbackKind tl_callback = CallbackKind::kNone;
}  // namespace

char* dup_string(std::string_view s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) throw std::bad_alloc();
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

int fail(char** errmsg, int code, std::string_view message) noexcept {
  if (errmsg) {
    *errmsg = nullptr;
    if (message.empty()) message = raft_strerror(code);
    char* p = static_cast<char*>(std::malloc(message.size() + 1));
    if (p) {
      std::memcpy(p, message.data(), message.size());
      p[message.size()] = '\0';
      *errmsg = p;
    }
  }
  return code;
}

int fail(char** errmsg, const Status& status) noexcept {
  if (status.ok()) return fail(errmsg, RAFT_EINTERNAL, "an error without a code");
  return fail(errmsg, code_of(status), status.message());
}

Status status_from_callback(int code, char* message, std::string_view what) {
  std::string text(what);
  if (message) {
    text += ": ";
    text += message;
    std::free(message);
  }
  if (code <= RAFT_OK || code > RAFT_EINTERNAL) {
    text += " (code " + std::to_string(code) + ")";
    code = RAFT_EIO;
  }
  return Status(static_cast<ErrorCode>(code), std::move(text));
}

CallbackKind current_callback() noexcept { return tl_callback; }

CallbackScope::CallbackScope(CallbackKind kind) noexcept : saved_(tl_callback) { tl_callback = kind; }
CallbackScope::~CallbackScope() { tl_callback = saved_; }

int refuse_in_callback(char** errmsg, const char* function) noexcept {
  if (tl_callback == CallbackKind::kNone) return RAFT_OK;
  try {
    return fail(errmsg, RAFT_EINVAL,
                std::string(function) + ": would block inside a libraft callback (a deadlock); call it from another thread");
  } catch (...) {
    return fail(errmsg, RAFT_EINVAL, "blocking call inside a libraft callback");
  }
}

int null_argument(char** errmsg, const char* function, const char* argument) noexcept {
  try {
    return fail(errmsg, RAFT_EINVAL, std::string(function) + ": " + argument + " is NULL");
  } catch (...) {
    return fail(errmsg, RAFT_EINVAL, "NULL argument");
  }
}

std::chrono::milliseconds timeout_of(uint64_t timeout_ms) noexcept {
  // Ten years: far beyond any real deadline, far below what a steady clock
  // in nanoseconds can add without overflowing.
  constexpr uint64_t kNoDeadlineAbove = 10ULL * 366 * 24 * 3600 * 1000;
  if (timeout_ms > kNoDeadlineAbove) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(static_cast<int64_t>(timeout_ms));
}

void FutureCore::resolve(Status s, uint64_t idx, std::shared_ptr<ApplyResult> r) noexcept {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (done) return;
    done = true;
    status = std::move(s);
    index = idx;
    result = std::move(r);
  }
  cv.notify_all();
}

}  // namespace raft::capi

extern "C" {

#define RAFT_CAPI_STR2(x) #x
#define RAFT_CAPI_STR(x) RAFT_CAPI_STR2(x)

const char* raft_version(void) {
  return RAFT_CAPI_STR(RAFT_VERSION_MAJOR) "." RAFT_CAPI_STR(RAFT_VERSION_MINOR) "." RAFT_CAPI_STR(RAFT_VERSION_PATCH);
}

const char* raft_strerror(int code) {
  if (code < RAFT_OK || code > RAFT_EINTERNAL) return "unknown error";
  return raft::error_code_name(static_cast<raft::ErrorCode>(code)).data();
}

void raft_free(void* ptr) { std::free(ptr); }

const char* raft_state_name(int state) {
  switch (state) {
    case RAFT_STATE_FOLLOWER: return "Follower";
    case RAFT_STATE_CANDIDATE: return "Candidate";
    case RAFT_STATE_LEADER: return "Leader";
    case RAFT_STATE_SHUTDOWN: return "Shutdown";
    default: return "Unknown";
  }
}

}  // extern "C"
