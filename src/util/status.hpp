// Status and Result<T> (public: include/raft/status.hpp) plus the helpers
// the library uses to build and pass them on.
#pragma once

#include <string>
#include <utility>

#include "raft/status.hpp"
#include "util/assert.hpp"

namespace raft {

inline Status invalid_argument(std::string m) {
  return Status(ErrorCode::kInvalidArgument, std::move(m));
}
inline Status corruption(std::string m) {
  return Status(ErrorCode::kCorruption, std::move(m));
}
inline Status io_error(std::string m) {
  return Status(ErrorCode::kIoError, std::move(m));
}
inline Status not_found(std::string m) {
  return Status(ErrorCode::kNotFound, std::move(m));
}

}  // namespace raft

// Returns early from the enclosing function with the status when not OK.
#define RAFT_RETURN_IF_ERROR(expr)        \
  do {                                    \
    ::raft::Status _st = (expr);          \
    if (!_st.ok()) return _st;            \
  } while (0)
