#include "util/log.hpp"

#include <unistd.h>

#include <cctype>

namespace raft {

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "unknown";
}

bool parse_log_level(std::string_view s, LogLevel* out) {
  std::string l;
  for (char c : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (LogLevel v : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError, LogLevel::kOff}) {
    if (l == log_level_name(v)) {
      *out = v;
      return true;
    }
  }
  if (l == "warning") {
    *out = LogLevel::kWarn;
    return true;
  }
  return false;
}

void log_to_stderr(LogLevel level, std::string_view message) {
  std::string line = "libraft ";
  line += log_level_name(level);
  line += ": ";
  line += message;
  line += '\n';
  // One write(2) per line so that lines of concurrent threads never mix.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(2, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace raft
