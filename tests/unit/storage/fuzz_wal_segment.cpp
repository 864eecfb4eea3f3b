// libFuzzer target over WAL recovery (RAFT_FUZZ=ON; run by scripts/fuzz.sh).
// The logic lives in wal_fuzz_harness.cpp so that ctest runs it too.
#include <cstddef>
#include <cstdint>

#include "wal_fuzz_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return raft::storage::fuzz::wal_segment_one(data, size);
}
