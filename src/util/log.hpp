// Logging: how libraft reports what happened on its own (a peer refused, a
// leader stepping down and why, a torn WAL tail cut). Errors a caller can
// act on are returned as Status; the log is for operators.
//
// A Logger is a sink (a callback) plus a minimum level and a prefix such
// as "node 3: ". The default sink writes one line to stderr.
//
// Thread safety: a Logger may be used from any thread; the sink must be
// thread-safe itself (the default is) and must not call back into libraft.
#pragma once

#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include "raft/log.hpp"

namespace raft {

const char* log_level_name(LogLevel level);
// Parses "debug", "info", "warn", "error", "off" (any case).
bool parse_log_level(std::string_view s, LogLevel* out);


// Writes "libraft <level>: <message>" to stderr, one write per line.
void log_to_stderr(LogLevel level, std::string_view message);

class Logger {
 public:
  Logger() : sink_(std::make_shared<LogSink>(log_to_stderr)) {}
  Logger(LogSink sink, LogLevel min_level, std::string prefix = "")
      : sink_(std::make_shared<LogSink>(sink ? std::move(sink) : LogSink(log_to_stderr))),
        min_level_(min_level),
        prefix_(std::move(prefix)) {}

  // A logger with the same sink and level and a longer prefix.
  Logger with_prefix(std::string_view more) const {
    Logger l = *this;
    l.prefix_ += more;
    return l;
  }

  bool enabled(LogLevel level) const { return level >= min_level_ && min_level_ != LogLevel::kOff; }
  LogLevel min_level() const { return min_level_; }

  void log(LogLevel level, std::string_view message) const {
    if (!enabled(level)) return;
    if (prefix_.empty()) {
      (*sink_)(level, message);
    } else {
      std::string line = prefix_;
      line += message;
      (*sink_)(level, line);
    }
  }

  // Formats its arguments with operator<< only when the level is on.
  template <class... Args>
  void logf(LogLevel level, const Args&... args) const {
    if (!enabled(level)) return;
    std::ostringstream os;
    (os << ... << args);
    log(level, os.str());
  }
  template <class... Args> void debug(const Args&... a) const { logf(LogLevel::kDebug, a...); }
  template <class... Args> void info(const Args&... a) const { logf(LogLevel::kInfo, a...); }
  template <class... Args> void warn(const Args&... a) const { logf(LogLevel::kWarn, a...); }
  template <class... Args> void error(const Args&... a) const { logf(LogLevel::kError, a...); }

 private:
  std::shared_ptr<LogSink> sink_;
  LogLevel min_level_ = LogLevel::kInfo;
  std::string prefix_;
};

}  // namespace raft
