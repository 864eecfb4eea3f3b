#include "util/status.hpp"

namespace raft {

std::string_view error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kOk: return "OK";
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotLeader: return "not leader";
    case ErrorCode::kLeadershipLost: return "leadership lost";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kShutdown: return "shut down";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kIoError: return "I/O error";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kBusy: return "busy";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kAlreadyExists: return "already exists";
    case ErrorCode::kAborted: return "aborted";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown error";
}

std::string Status::to_string() const {
  if (ok()) return "OK";
  std::string s(error_code_name(code_));
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

Status Status::with_context(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  if (!message_.empty()) {
    m += ": ";
    m += message_;
  }
  return Status(code_, std::move(m));
}

}  // namespace raft
