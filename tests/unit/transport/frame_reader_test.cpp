// FrameReader: cutting a stream into frames whatever the read sizes, big
// frames in their own buffer, and memory that follows the bytes that
// arrived rather than the lengths that were promised.
#include "transport/frame_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "transport_test_util.hpp"
#include "util/coding.hpp"

namespace raft::transport {
namespace {

using testing::encode_to_string;
using testing::make_entry;
using testing::message;

// Feeds `bytes` to the reader in pieces of at most `chunk` bytes and
// collects every frame.
std::vector<Frame> feed(FrameReader& r, const std::string& bytes, size_t chunk) {
  std::vector<Frame> out;
  size_t at = 0;
  while (at < bytes.size()) {
    auto into = r.prepare();
    size_t n = std::min({chunk, into.size(), bytes.size() - at});
    std::copy(bytes.data() + at, bytes.data() + at + n, into.begin());
    r.commit(n);
    at += n;
    for (;;) {
      auto f = r.next();
      EXPECT_TRUE(f.ok()) << f.status().to_string();
      if (!f.ok() || !f->has_value()) break;
      out.push_back(std::move(**f));
    }
  }
  return out;
}

std::string big_append(size_t entries, size_t payload) {
  core::AppendEntries ae;
  for (size_t i = 1; i <= entries; ++i) {
    ae.entries.push_back(make_entry(i, 1, EntryType::kCommand, std::string(payload, char('a' + i % 26))));
  }
  return encode_to_string(message(1, 2, 1, ae));
}

TEST(FrameReaderTest, CutsAStreamIntoFramesWhateverTheReadSizes) {
  std::string stream;
  auto samples = testing::sample_messages();
  for (const auto& m : samples) stream += encode_to_string(m);
  stream += big_append(40, 5000);  // bigger than the staging buffer
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{100}, size_t{4096}, size_t{1} << 20}) {
    SCOPED_TRACE(chunk);
    FrameReader r(kFrameBytesMaxDefault);
    auto frames = feed(r, stream, chunk);
    ASSERT_EQ(frames.size(), samples.size() + 1);
    for (size_t i = 0; i < samples.size(); ++i) {
      auto m = decode_message(frames[i].header, frames[i].body, 1);
      ASSERT_TRUE(m.ok()) << m.status().to_string();
      EXPECT_TRUE(messages_equal(*m, samples[i])) << describe(samples[i]);
    }
    EXPECT_GT(frames.back().body.size(), FrameReader::kStageBytes);
    EXPECT_TRUE(decode_message(frames.back().header, frames.back().body, 1).ok());
    EXPECT_EQ(r.buffered_bytes(), 0u);
  }
}

TEST(FrameReaderTest, AHeaderAboveTheMaximumIsAnErrorBeforeItsBody) {
  FrameReader r(kHelloLengthMax);
  std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  auto into = r.prepare();
  std::copy(http.begin(), http.end(), into.begin());
  r.commit(http.size());
  auto f = r.next();
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("exceeds the maximum " + std::to_string(kHelloLengthMax)), std::string::npos);
}

TEST(FrameReaderTest, MemoryFollowsTheBytesThatArrivedNotTheLengthPromised) {
  FrameReader r(kFrameBytesMaxDefault);
  std::string h;
  put_u32(&h, static_cast<uint32_t>(kFrameBytesMaxDefault));  // promises 64 MiB
  put_u8(&h, static_cast<uint8_t>(FrameType::kAppendEntries));
  put_u8(&h, 1);
  h += std::string(70000, 'x');  // then sends a little
  auto frames = feed(r, h, 1 << 16);
  EXPECT_TRUE(frames.empty());
  EXPECT_LE(r.allocated_bytes(), FrameReader::kStageBytes + FrameReader::kBigChunkBytes);
  // More bytes grow the buffer by steps, never beyond 4x what arrived.
  std::string more(3 << 20, 'y');
  size_t at = 0;
  while (at < more.size()) {
    auto into = r.prepare();
    size_t n = std::min(into.size(), more.size() - at);
    r.commit(n);
    at += n;
    EXPECT_LE(r.allocated_bytes(), FrameReader::kStageBytes +
                                       std::max(FrameReader::kBigChunkBytes, 4 * r.buffered_bytes()));
    auto f = r.next();
    ASSERT_TRUE(f.ok());
    EXPECT_FALSE(f->has_value());
  }
}

TEST(FrameReaderTest, TheLastGrowthOfABigFrameIsExact) {
  std::string bytes = big_append(3, 2 << 20);  // about 6 MiB
  FrameReader r(kFrameBytesMaxDefault);
  auto frames = feed(r, bytes, 1 << 16);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].body.size(), bytes.size() - kFrameHeaderBytes);
  EXPECT_EQ(r.allocated_bytes(), FrameReader::kStageBytes);  // handed over, nothing kept
}

TEST(FrameReaderTest, RaisingTheMaximumAfterTheHandshakeKeepsBufferedBytes) {
  Hello h;
  h.cluster_id = "c";
  h.from = NodeId(1);
  h.to = NodeId(2);
  std::string stream = encode_hello(h).to_string() + big_append(2, 100);
  FrameReader r(kHelloLengthMax);
  auto into = r.prepare();
  std::copy(stream.begin(), stream.end(), into.begin());
  r.commit(stream.size());
  auto f = r.next();
  ASSERT_TRUE(f.ok() && f->has_value());
  EXPECT_TRUE(decode_hello((*f)->header, (*f)->body.span()).ok());
  // The append (longer than a Hello may be) is already buffered.
  r.set_length_max(kFrameBytesMaxDefault);
  auto g = r.next();
  ASSERT_TRUE(g.ok() && g->has_value()) << (g.ok() ? "" : g.status().to_string());
  EXPECT_TRUE(decode_message((*g)->header, (*g)->body, 1).ok());
}

}  // namespace
}  // namespace raft::transport
