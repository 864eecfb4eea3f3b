// How the storage layer reports what it did on its own: a torn WAL tail it
// cut, leftovers of an interrupted write it removed. Errors are not logged
// here; they are returned as a Status.
//
// Thread safety: a callback may be called from any thread that calls into
// a store; it must not call back into that store.
#pragma once

#include <functional>
#include <string_view>

namespace raft::storage {

enum class LogLevel { kInfo, kWarning };

using LogCallback = std::function<void(LogLevel level, std::string_view message)>;

// Writes "libraft storage: warning: <message>" to stderr.
void log_to_stderr(LogLevel level, std::string_view message);

// Calls `cb` if set, else log_to_stderr.
inline void log_message(const LogCallback& cb, LogLevel level, std::string_view message) {
  if (cb) {
    cb(level, message);
  } else {
    log_to_stderr(level, message);
  }
}

}  // namespace raft::storage
