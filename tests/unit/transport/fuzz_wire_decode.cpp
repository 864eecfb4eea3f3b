// libFuzzer target over the wire decoders (RAFT_FUZZ=ON; run by
// scripts/fuzz.sh). The logic lives in wire_fuzz_harness.cpp so that
// ctest runs it too.
#include <cstddef>
#include <cstdint>

#include "wire_fuzz_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return raft::transport::fuzz::wire_decode_one(data, size);
}
