// raftkv's log: one line per event on stderr, prefixed with the time and
// this node's id ("12:04:05.123 [n1] info: became leader in term 2"), so
// the output of several nodes run from one terminal stays readable.
//
// libraft's own log lines go through the same function (Config's
// log_callback), so both are filtered by --log-level and interleave in
// order.
//
// Thread safety: every function may be called from any thread, including
// libraft's (log_line never calls into libraft).
#pragma once

#include <sstream>
#include <string>
#include <string_view>

#include "raft/log.hpp"

namespace raftkv {

// Sets the prefix ("n1") and the lowest level written. Call once, early,
// before other threads log.
void log_init(std::string node_name, raft::LogLevel min_level);

// Writes one line if `level` is at least the configured level.
void log_line(raft::LogLevel level, std::string_view message);

// log(kInfo, "joined at index ", 12): formats with operator<<, only when
// the level is enabled.
bool log_enabled(raft::LogLevel level);
template <class... Args>
void log(raft::LogLevel level, const Args&... args) {
  if (!log_enabled(level)) return;
  std::ostringstream os;
  (os << ... << args);
  log_line(level, os.str());
}

}  // namespace raftkv
