// Chaos histories on disk, so a failure can be re-checked (and studied)
// without rerunning the cluster: JSON lines, one operation per line, e.g.
//   {"client":3,"key":"k1","kind":"cas","expected":"c2-17","value":"c3-40",
//    "invoke_ns":123,"return_ns":456,"outcome":"ok","swapped":true}
// Absent values are null. The model is tests/common/linearizability.hpp.
#pragma once

#include <string>
#include <vector>

#include "common/linearizability.hpp"

namespace raft::chaos {

bool save_history(const std::string& path, const std::vector<testing::Operation>& ops, std::string* error);
// Replaces *ops with the file's operations; on failure *error names the line.
bool load_history(const std::string& path, std::vector<testing::Operation>* ops, std::string* error);

}  // namespace raft::chaos
