// The WAL recovery fuzz harness: one input in, recovery run on it, the
// process aborted if recovery crashes or returns an entry that is not the
// one written. Shared by the libFuzzer target fuzz_wal_segment (RAFT_FUZZ)
// and by storage_test, which runs it on seeded random inputs in CI.
#pragma once

#include <cstddef>
#include <cstdint>

namespace raft::storage::fuzz {

// Interprets `data` (see the .cpp) and runs WAL recovery on it. Returns 0.
int wal_segment_one(const uint8_t* data, size_t size);

}  // namespace raft::storage::fuzz
