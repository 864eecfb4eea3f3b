// RAFT_ASSERT: checks a programmer's invariant, always on (release builds
// included). A broken invariant means the process can no longer promise
// anything about the data it holds, so it aborts with the file and line.
// Operating errors (bad bytes, I/O failures, not leader) are never
// asserted: they are a Status (see status.hpp).
#pragma once

namespace raft::detail {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line,
                                const char* msg) noexcept;
}  // namespace raft::detail

#define RAFT_ASSERT(cond)                                                  \
  do {                                                                     \
    if (!(cond)) [[unlikely]]                                              \
      ::raft::detail::assert_failed(#cond, __FILE__, __LINE__, nullptr);   \
  } while (0)

#define RAFT_ASSERT_MSG(cond, msg)                                         \
  do {                                                                     \
    if (!(cond)) [[unlikely]]                                              \
      ::raft::detail::assert_failed(#cond, __FILE__, __LINE__, (msg));     \
  } while (0)
