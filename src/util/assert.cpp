#include "util/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace raft::detail {

void assert_failed(const char* expr, const char* file, int line,
                   const char* msg) noexcept {
  std::fprintf(stderr, "libraft: assertion failed at %s:%d: %s%s%s\n", file,
               line, expr, msg ? ": " : "", msg ? msg : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace raft::detail
