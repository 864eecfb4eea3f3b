#include "util/coding.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace raft {
namespace {

std::span<const uint8_t> as_span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(CodingTest, RoundTripsFixedAndVarint) {
  std::string out;
  put_u8(&out, 7);
  put_u16(&out, 0xbeef);
  put_u32(&out, 0xdeadbeef);
  put_u64(&out, 0x0123456789abcdefULL);
  for (uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 300ULL, ~0ULL}) put_varint(&out, v);
  put_bytes(&out, "abc");
  Reader r(as_span(out));
  EXPECT_EQ(r.u8(), 7);
  EXPECT_EQ(r.u16(), 0xbeef);
  EXPECT_EQ(r.u32(), 0xdeadbeefu);
  EXPECT_EQ(r.u64(), 0x0123456789abcdefULL);
  for (uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 300ULL, ~0ULL}) EXPECT_EQ(r.varint(), v);
  EXPECT_EQ(r.length_prefixed(10), "abc");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(CodingTest, ShortInputFailsAndStaysFailed) {
  std::string out;
  put_u32(&out, 1);
  Reader r(as_span(out));
  EXPECT_EQ(r.u64(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.u8(), 0u);
  EXPECT_FALSE(r.ok());
}

TEST(CodingTest, OverlongVarintFails) {
  std::string out(11, '\xff');
  Reader r(as_span(out));
  r.varint();
  EXPECT_FALSE(r.ok());
}

TEST(CodingTest, LengthThatLiesFails) {
  std::string out;
  put_varint(&out, 1000);
  out += "short";
  Reader r(as_span(out));
  r.length_prefixed(1u << 20);
  EXPECT_FALSE(r.ok());
}

TEST(CodingTest, LengthAboveBoundFails) {
  std::string out;
  put_bytes(&out, std::string(100, 'x'));
  Reader r(as_span(out));
  r.length_prefixed(99);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace raft
