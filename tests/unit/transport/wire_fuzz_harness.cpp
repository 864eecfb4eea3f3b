// What one input is run through (docs/wire-format.md is the spec):
//
// 1. As one whole message frame (decode_message_frame), as it is and with
//    its length field corrected to the input's size (so the fuzzer reaches
//    the bodies without having to guess a matching length).
// 2. As one Hello and one HelloReply frame.
// 3. As a byte stream cut into chunks (sizes drawn from the input) and fed
//    to a FrameReader, the way a connection reads it: the first frame as
//    a Hello, the rest as messages, until the first error.
//
// Properties checked (abort on violation): nothing crashes; a decoded
// message re-encodes and decodes to an equal message; decoded payloads
// are slices of the input frame; the reader's memory stays within its
// bound (64 KiB staging + max(1 MiB, 4 x bytes buffered)).
#include "wire_fuzz_harness.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "transport/codec.hpp"
#include "transport/frame_reader.hpp"
#include "util/buffer.hpp"
#include "util/coding.hpp"

namespace raft::transport::fuzz {

namespace {

// Small, so a fuzzer reaches the limit; big enough for real frames.
constexpr size_t kLengthMax = size_t{1} << 20;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "wire fuzz harness: property violated: %s\n", what);
  std::abort();
}

std::string flatten(const EncodedFrame& f) {
  std::string s(f.head.view());
  for (const Buffer& p : f.payloads) s += p.view();
  return s;
}

// `frame` holds the decoded bytes (the payloads' source); `frame_bytes` is
// the size of the whole frame they came from.
void check_round_trip(const core::Message& m, const Buffer& frame, size_t frame_bytes) {
  // Payloads are views of the frame, not copies.
  if (const auto* ae = std::get_if<core::AppendEntries>(&m.body)) {
    for (const Entry& e : ae->entries) {
      if (e.data.empty()) continue;
      if (e.data.data() < frame.data() || e.data.data() + e.data.size() > frame.data() + frame.size()) {
        violated("an entry payload is not a slice of the frame");
      }
    }
  }
  auto again = encode_message(m, kProtocolVersionMax, kLengthMax + 4);
  if (!again.ok()) violated("a decoded message does not encode");
  std::string bytes = flatten(*again);
  // Canonical varints are the shortest, so a re-encoding never grows.
  if (bytes.size() > frame_bytes) violated("re-encoding grew the frame");
  auto back = decode_message_frame(Buffer::from_string(bytes), kProtocolVersionMax, kLengthMax);
  if (!back.ok()) violated("a re-encoded message does not decode");
  if (!messages_equal(m, *back)) violated("a message changed in a round trip");
}

void decode_whole(const Buffer& frame) {
  auto m = decode_message_frame(frame, kProtocolVersionMax, kLengthMax);
  if (m.ok()) check_round_trip(*m, frame, frame.size());
  if (m.ok() == false && m.status().message().empty()) violated("an error without a message");
}

void decode_handshakes(const Buffer& frame) {
  if (frame.size() < kFrameHeaderBytes) return;
  auto h = decode_frame_header(frame.span(), kHelloReplyLengthMax);
  if (!h.ok() || h->length != frame.size() - 4) return;
  auto body = frame.span().subspan(kFrameHeaderBytes);
  if (auto hello = decode_hello(*h, body); hello.ok()) {
    Buffer again = encode_hello(*hello);
    auto h2 = decode_frame_header(again.span(), kHelloLengthMax);
    if (!h2.ok()) violated("a decoded Hello does not re-encode");
    auto back = decode_hello(*h2, again.span().subspan(kFrameHeaderBytes));
    if (!back.ok() || back->cluster_id != hello->cluster_id || back->from != hello->from ||
        back->to != hello->to || back->channel != hello->channel ||
        back->version_min != hello->version_min || back->version_max != hello->version_max) {
      violated("a Hello changed in a round trip");
    }
    (void)answer_hello(*hello, "fuzz", NodeId(1));
  }
  if (auto reply = decode_hello_reply(*h, body); reply.ok()) {
    Buffer again = encode_hello_reply(*reply);
    auto h2 = decode_frame_header(again.span(), kHelloReplyLengthMax);
    if (!h2.ok()) violated("a decoded HelloReply does not re-encode");
    auto back = decode_hello_reply(*h2, again.span().subspan(kFrameHeaderBytes));
    if (!back.ok() || back->result != reply->result || back->version != reply->version ||
        back->node != reply->node || back->reason != reply->reason) {
      violated("a HelloReply changed in a round trip");
    }
  }
}

void decode_stream(const uint8_t* data, size_t size) {
  FrameReader reader(kHelloLengthMax);
  bool hello_seen = false;
  size_t at = 0;
  uint32_t rng = static_cast<uint32_t>(size) * 2654435761u + 1;
  while (at < size) {
    rng = rng * 1103515245u + 12345u;
    size_t chunk = 1 + (rng >> 16) % 4096;
    std::span<uint8_t> into = reader.prepare();
    if (into.empty()) violated("prepare() gave no room");
    size_t n = std::min({chunk, into.size(), size - at});
    std::copy(data + at, data + at + n, into.begin());
    reader.commit(n);
    at += n;
    size_t bound = FrameReader::kStageBytes +
                   std::max(FrameReader::kBigChunkBytes, 4 * reader.buffered_bytes());
    if (reader.allocated_bytes() > bound) violated("the frame reader holds too much memory");
    for (;;) {
      auto f = reader.next();
      if (!f.ok()) return;  // the connection would be closed here
      if (!f->has_value()) break;
      const Frame& fr = **f;
      if (fr.body.size() != fr.header.body_bytes()) violated("a frame body of the wrong size");
      if (!hello_seen) {
        if (!decode_hello(fr.header, fr.body.span()).ok()) return;
        hello_seen = true;
        reader.set_length_max(kLengthMax);
        continue;
      }
      auto m = decode_message(fr.header, fr.body, kProtocolVersionMax);
      if (!m.ok()) return;
      check_round_trip(*m, fr.body, kFrameHeaderBytes + fr.body.size());
    }
  }
}

}  // namespace

int wire_decode_one(const uint8_t* data, size_t size) {
  Buffer frame = Buffer::copy_of(data, size);
  decode_whole(frame);
  if (size >= 4) {
    std::string fixed(reinterpret_cast<const char*>(data), size);
    store_u32(reinterpret_cast<uint8_t*>(fixed.data()), static_cast<uint32_t>(size - 4));
    Buffer fixed_frame = Buffer::from_string(std::move(fixed));
    decode_whole(fixed_frame);
    decode_handshakes(fixed_frame);
  }
  decode_stream(data, size);
  return 0;
}

}  // namespace raft::transport::fuzz
