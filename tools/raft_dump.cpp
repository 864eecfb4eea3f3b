// raft_dump: prints a libraft data directory (WAL segments and record
// ranges, term and vote, snapshots) and any damage found. Read only.
//
//   raft_dump [--records] [--no-verify] <data-dir | wal-dir | stable-dir | snapshots-dir>
//
// Exit status: 0 clean (leftovers of interrupted writes are not damage),
// 1 damage found, 2 usage or I/O error.
#include <cstring>
#include <iostream>

#include "raft_dump_report.hpp"

int main(int argc, char** argv) {
  raft::tools::DumpOptions options;
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--records") == 0) {
      options.records = true;
    } else if (std::strcmp(argv[i], "--no-verify") == 0) {
      options.verify_snapshots = false;
    } else if (argv[i][0] == '-' || path != nullptr) {
      std::cerr << "usage: raft_dump [--records] [--no-verify] <data-dir>\n";
      return 2;
    } else {
      path = argv[i];
    }
  }
  if (path == nullptr) {
    std::cerr << "usage: raft_dump [--records] [--no-verify] <data-dir>\n";
    return 2;
  }
  auto sum = raft::tools::dump(raft::storage::default_file_system(), path, options, std::cout);
  if (!sum.ok()) {
    std::cerr << "raft_dump: " << sum.status().to_string() << "\n";
    return 2;
  }
  return sum->damage ? 1 : 0;
}
