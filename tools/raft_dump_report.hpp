// raft_dump's report: prints what a libraft data directory holds (WAL
// segments and their record ranges, term and vote, snapshots) and every
// piece of damage found, without changing a byte. Used by the raft_dump
// tool and by its test.
//
// Thread safety: call from one thread; the directory must not be in use
// by a running node (the report would race with its writes).
#pragma once

#include <ostream>
#include <string>

#include "storage/file_system.hpp"

namespace raft::tools {

struct DumpOptions {
  bool records = false;          // one line per WAL record
  bool verify_snapshots = true;  // read every snapshot to check its checksums
};

struct DumpSummary {
  int damage = 0;     // problems that would stop a node from opening or reading
  int leftovers = 0;  // interrupted writes a node would clean up at open
};

// `path` is a data directory (with wal/, stable/, snapshots/) or one of
// those folders. Returns an error only when nothing could be read.
Result<DumpSummary> dump(storage::FileSystem* fs, const std::string& path,
                         const DumpOptions& options, std::ostream& out);

}  // namespace raft::tools
