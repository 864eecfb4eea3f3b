// The wire decoder fuzz harness: one input in, every decoder run on it,
// the process aborted if one crashes, breaks its memory bound, or accepts
// a message that does not survive a re-encode. Shared by the libFuzzer
// target fuzz_wire_decode (RAFT_FUZZ) and by transport_test, which runs
// it on seeded random and mutated inputs in every CI run.
#pragma once

#include <cstddef>
#include <cstdint>

namespace raft::transport::fuzz {

// Interprets `data` (see the .cpp) and runs the decoders on it. Returns 0.
int wire_decode_one(const uint8_t* data, size_t size);

}  // namespace raft::transport::fuzz
