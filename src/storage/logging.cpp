#include "storage/logging.hpp"

#include <cstdio>

namespace raft::storage {

void log_to_stderr(LogLevel level, std::string_view message) {
  std::fprintf(stderr, "libraft storage: %s: %.*s\n", level == LogLevel::kWarning ? "warning" : "info",
               static_cast<int>(message.size()), message.data());
}

}  // namespace raft::storage
