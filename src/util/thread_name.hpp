#pragma once

// Names the calling thread, so that `top -H`, `perf`, gdb and
// /proc/<pid>/task/<tid>/comm show which of a node's threads is which
// (raft-loop, raft-disk, raft-apply, raft-snapshot, raft-reclaim,
// raft-wal-prep; raft-shutdown in the 2015 C API). Linux keeps 15 bytes; a longer name is cut. Failing to
// name a thread is not an error: the name is only for people.

#include <string_view>

namespace raft::util {

void set_thread_name(std::string_view name);

}  // namespace raft::util
