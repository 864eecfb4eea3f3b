// Runs the wire fuzz harness on seeded inputs, so the properties the
// fuzzer checks (no crash, bounded memory, round trips) are also checked
// in every CI run, not only by `make fuzz`: random bytes, and valid frames
// and streams with random bytes flipped, cut or inserted.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "transport_test_util.hpp"
#include "wire_fuzz_harness.hpp"

namespace raft::transport {
namespace {

void run(const std::string& s) {
  fuzz::wire_decode_one(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string mutate(std::string s, std::mt19937_64& rng) {
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits && !s.empty(); ++i) {
    size_t at = rng() % s.size();
    switch (rng() % 4) {
      case 0: s[at] = static_cast<char>(rng()); break;             // flip a byte
      case 1: s.resize(at); break;                                 // cut
      case 2: s.insert(at, 1, static_cast<char>(rng())); break;    // insert
      case 3: s[at] = static_cast<char>(s[at] ^ (1 << (rng() % 8))); break;  // flip a bit
    }
  }
  return s;
}

TEST(WireFuzzHarnessTest, RandomBytes) {
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    std::string s(rng() % 300, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    run(s);
  }
}

TEST(WireFuzzHarnessTest, MutatedValidFramesAndStreams) {
  std::vector<std::string> frames;
  for (const auto& m : testing::sample_messages()) frames.push_back(testing::encode_to_string(m));
  Hello h;
  h.cluster_id = "fuzz";
  h.from = NodeId(1);
  h.to = NodeId(2);
  std::string hello = encode_hello(h).to_string();
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const std::string& f = frames[rng() % frames.size()];
    run(f);
    run(mutate(f, rng));
    // A connection's stream: Hello, then a few messages.
    std::string stream = hello;
    for (int i = 0; i < 3; ++i) stream += frames[rng() % frames.size()];
    run(stream);
    run(mutate(stream, rng));
  }
}

}  // namespace
}  // namespace raft::transport
