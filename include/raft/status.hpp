// Status and Result<T>: how libraft reports operating errors, in the C++
// API and inside the library.
//
// A Status is OK or an error code plus a human-readable message that says
// what went wrong and where (a file and offset, a peer address, ...).
// Result<T> holds either a T or a non-OK Status. Neither throws; callers
// check ok() and a value is only read from a Result that is ok (asserted).
//
// Thread safety: values, safe to copy and move between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace raft {

namespace detail {
// Aborts with file and line: a broken invariant (see src/util/assert.hpp).
[[noreturn]] void assert_failed(const char* expr, const char* file, int line, const char* msg) noexcept;
}  // namespace detail

// Error codes shared by every layer. The C API maps them one to one onto
// RAFT_E* codes, so append only; never renumber.
enum class ErrorCode : int {
  kOk = 0,
  kInvalidArgument,   // the caller passed something meaningless
  kNotLeader,         // certainly not applied: this node is not the leader
  kLeadershipLost,    // may still commit: leadership changed mid-flight
  kTimeout,           // may still commit: the deadline passed first
  kShutdown,          // certainly not applied: the node is shut down
  kCorruption,        // stored or received bytes are damaged
  kIoError,           // the operating system refused an I/O call
  kNotFound,          // the requested thing does not exist
  kBusy,              // try again: another operation of this kind is running
  kUnsupported,       // a version or feature this build does not know
  kAlreadyExists,     // e.g. bootstrap on a node that has state
  kAborted,           // the operation was cancelled before completion
  kInternal,          // a bug; the message says which
};

std::string_view error_code_name(ErrorCode code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;
  Status(ErrorCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status ok_status() noexcept { return Status(); }

  bool ok() const noexcept { return code_ == ErrorCode::kOk; }
  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

  // "Corruption: segment 0000000001.wal offset 4096: bad checksum"
  std::string to_string() const;

  // Prefixes the message with context, keeping the code. No-op when OK.
  Status with_context(std::string_view context) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) detail::assert_failed("!status.ok()", __FILE__, __LINE__, "Result built from OK status");
  }

  bool ok() const noexcept { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & {
    if (!ok()) detail::assert_failed("ok()", __FILE__, __LINE__, "value() of an error Result");
    return std::get<T>(v_);
  }
  const T& value() const& {
    if (!ok()) detail::assert_failed("ok()", __FILE__, __LINE__, "value() of an error Result");
    return std::get<T>(v_);
  }
  T&& value() && {
    if (!ok()) detail::assert_failed("ok()", __FILE__, __LINE__, "value() of an error Result");
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace raft
