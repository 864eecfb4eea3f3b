#include "util/crc32c.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace raft {
namespace {

// Vectors from RFC 3720 (iSCSI), appendix B.4, and the usual check value.
TEST(Crc32cTest, MatchesPublishedVectors) {
  EXPECT_EQ(crc32c("123456789"), 0xe3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  std::vector<uint8_t> b(32, 0);
  EXPECT_EQ(crc32c(b), 0x8a9136aau);
  std::fill(b.begin(), b.end(), 0xff);
  EXPECT_EQ(crc32c(b), 0x62a8ab43u);
  for (int i = 0; i < 32; ++i) b[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(crc32c(b), 0x46dd794eu);
  for (int i = 0; i < 32; ++i) b[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(crc32c(b), 0x113fdb5cu);
}

TEST(Crc32cTest, PortableMatchesPublishedVectors) {
  EXPECT_EQ(detail::crc32c_extend_portable(0, "123456789", 9), 0xe3069283u);
}

TEST(Crc32cTest, ExtendingInPiecesEqualsOneShot) {
  std::string s = "the quick brown fox jumps over the lazy dog, twice over";
  uint32_t whole = crc32c(s);
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t c = crc32c_extend(0, s.data(), cut);
    c = crc32c_extend(c, s.data() + cut, s.size() - cut);
    EXPECT_EQ(c, whole) << "cut at " << cut;
  }
}

TEST(Crc32cTest, HardwareAndPortablePathsAgreeOnEveryLengthAndAlignment) {
  if (!detail::crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937_64 rng(42);
  std::vector<uint8_t> buf(4096 + 16);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t align = 0; align < 8; ++align) {
    for (size_t n = 0; n < 300; ++n) {
      const uint8_t* p = buf.data() + align;
      uint32_t seed = static_cast<uint32_t>(rng());
      ASSERT_EQ(detail::crc32c_extend_hardware(seed, p, n),
                detail::crc32c_extend_portable(seed, p, n))
          << "align " << align << " n " << n;
    }
  }
  EXPECT_EQ(detail::crc32c_extend_hardware(0, buf.data(), 4096),
            detail::crc32c_extend_portable(0, buf.data(), 4096));
}

TEST(Crc32cTest, SingleBitFlipChangesTheChecksum) {
  std::vector<uint8_t> b(64, 0x5a);
  uint32_t base = crc32c(b);
  for (size_t bit = 0; bit < b.size() * 8; ++bit) {
    b[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_NE(crc32c(b), base);
    b[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  }
}

}  // namespace
}  // namespace raft
