// Checks a simulated KV history for linearizability (per key, with the
// project's checker in tests/common).
#pragma once

#include <string>
#include <vector>

#include "sim/kv.hpp"

namespace raft::sim {

struct LinVerdict {
  enum Result { kLinearizable, kViolation, kUnknown } result = kUnknown;
  std::string summary;
};

LinVerdict check_linearizable(const std::vector<ClientOp>& history);

}  // namespace raft::sim
