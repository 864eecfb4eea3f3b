#include "util/buffer.hpp"

#include <gtest/gtest.h>

namespace raft {
namespace {

TEST(BufferTest, CopyOfOwnsItsBytes) {
  std::string s = "hello";
  Buffer b = Buffer::copy_of(s);
  s[0] = 'j';
  EXPECT_EQ(b.view(), "hello");
}

TEST(BufferTest, SliceSharesStorage) {
  Buffer b = Buffer::from_string("abcdef");
  Buffer s = b.slice(2, 3);
  EXPECT_EQ(s.view(), "cde");
  EXPECT_EQ(s.data(), b.data() + 2);
}

TEST(BufferTest, SliceOutlivesParent) {
  Buffer s;
  {
    Buffer b = Buffer::from_string(std::string(1000, 'x'));
    s = b.slice(10, 5);
  }
  EXPECT_EQ(s.view(), "xxxxx");
}

TEST(BufferTest, EmptyBuffersCompareEqual) {
  EXPECT_EQ(Buffer(), Buffer::copy_of("", 0));
  uint8_t* p = nullptr;
  EXPECT_TRUE(Buffer::allocate(0, &p).empty());
}

}  // namespace
}  // namespace raft
