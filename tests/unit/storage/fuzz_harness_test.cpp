// Runs the WAL recovery fuzz harness on seeded random inputs, so the
// properties the fuzzer checks (no crash, no entry that was never written)
// are also checked in every CI run, not only by `make fuzz`.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "storage_test_util.hpp"
#include "wal_fuzz_harness.hpp"

namespace raft::storage {
namespace {

TEST(WalFuzzHarnessTest, RandomInputsNeitherCrashNorYieldUnwrittenEntries) {
  for (uint64_t seed : testing::seeds(2000, 9000)) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: RAFT_STORAGE_SEED)");
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> input(1 + rng() % 600);
    for (auto& b : input) b = static_cast<uint8_t>(rng());
    // Mostly structured: mode 2, with and without preallocation and spares.
    if (rng() % 2) input[0] = static_cast<uint8_t>(2 + 3 * (rng() % 4));
    fuzz::wal_segment_one(input.data(), input.size());  // aborts on a violation
  }
}

}  // namespace
}  // namespace raft::storage
