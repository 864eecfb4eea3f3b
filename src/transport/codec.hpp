// The wire codec: Raft messages and handshake frames to bytes and back, as
// specified in docs/wire-format.md (the spec; this is its implementation).
//
// Encoding produces an EncodedFrame: one small buffer with every byte
// that is not an entry payload, plus the entries' own payload Buffers, so
// a sender writes the frame with one gathered write and never copies a
// command's bytes. Decoding takes a frame's body as one Buffer and hands
// out entry payloads as slices of it (no per-entry copy).
//
// The decoder trusts nothing: every length is checked against what is
// left and against the configured maximum before anything is allocated,
// and any malformed input gives an error Status naming what was wrong,
// never a crash, an exception or undefined behaviour.
//
// Thread safety: pure functions over values; call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/message.hpp"
#include "util/buffer.hpp"
#include "util/status.hpp"
#include "util/types.hpp"

namespace raft::transport {

// docs/wire-format.md, "Frames".
inline constexpr size_t kFrameHeaderBytes = 6;
inline constexpr size_t kFrameBytesMaxDefault = size_t{64} << 20;
// The smallest frame_bytes_max a transport accepts: room for any
// non-AppendEntries message with every varint at its longest.
inline constexpr size_t kFrameBytesMaxMin = 1024;

// docs/wire-format.md, "Handshake".
inline constexpr uint32_t kMagic = 0x54454e52;  // "RNET" as stored
inline constexpr uint8_t kHandshakeFrameVersion = 1;
inline constexpr size_t kHelloLengthMax = 512;
// The dialer's own address in a Hello, so that a node that does not know
// it yet (a server joining the cluster) can answer.
inline constexpr size_t kHelloAddressBytesMax = 255;
inline constexpr size_t kHelloReplyLengthMax = 256;
inline constexpr size_t kClusterIdBytesMax = 64;
inline constexpr size_t kRefusalReasonBytesMax = 200;

// docs/wire-format.md, "Versioning": the protocol versions this build
// speaks.
inline constexpr uint8_t kProtocolVersionMin = 1;
inline constexpr uint8_t kProtocolVersionMax = 1;

enum class FrameType : uint8_t {
  kHello = 1,
  kHelloReply = 2,
  kRequestVote = 16,
  kRequestVoteResponse = 17,
  kAppendEntries = 18,
  kAppendEntriesResponse = 19,
  kHeartbeat = 20,
  kHeartbeatResponse = 21,
  kTimeoutNow = 22,
  kInstallSnapshot = 23,
  kInstallSnapshotResponse = 24,
};

// "Hello", "AppendEntries", ..., or "unknown".
const char* frame_type_name(uint8_t type);

// The frame type a message is sent as.
FrameType frame_type_of(const core::MessageBody& body);

// Whether `type` is a message frame type of protocol `version`.
bool message_type_known(uint8_t type, uint8_t version);

struct FrameHeader {
  uint32_t length = 0;  // bytes after the length field: 2 + body bytes
  uint8_t type = 0;
  uint8_t version = 0;
  size_t body_bytes() const { return length - 2; }
};

// Parses the kFrameHeaderBytes bytes at the start of `bytes` (which must
// hold at least that many; asserted) and checks 2 <= length <=
// length_max. Errors: Corruption, with the length in the message.
Result<FrameHeader> decode_frame_header(std::span<const uint8_t> bytes, size_t length_max);

// A frame ready for a gathered write: `head` then `payloads`, in order,
// are the frame's bytes. `head` holds the frame header and every field;
// `payloads` are the message's payload Buffers themselves (shared, not
// copied; empty payloads are left out).
struct EncodedFrame {
  Buffer head;
  std::vector<Buffer> payloads;
  size_t bytes = 0;  // head.size() + every payload's size
};

// Encodes `m` as a frame of protocol `version`. Errors: InvalidArgument
// when the frame would be longer than frame_bytes_max; Unsupported when
// `version` has no frame type for the message.
Result<EncodedFrame> encode_message(const core::Message& m, uint8_t version,
                                    size_t frame_bytes_max);

// Decodes a message frame whose header was already checked by
// decode_frame_header; `body` is exactly its body_bytes() bytes. Entry
// payloads in the result are slices of `body`. `version` is the
// connection's protocol version; a frame labelled otherwise is an error.
// Errors: Corruption (with what was wrong and where), Unsupported (a
// version this build does not speak).
Result<core::Message> decode_message(const FrameHeader& header, const Buffer& body,
                                     uint8_t version);

// Decodes one whole message frame (header and body, nothing else): the
// two calls above, plus a check that the header's length is the length
// of `frame`. For tests, tools and the fuzzer.
Result<core::Message> decode_message_frame(const Buffer& frame, uint8_t version,
                                           size_t frame_bytes_max);

// The two kinds of connection to a peer; docs/wire-format.md,
// "Connections".
enum class Channel : uint8_t {
  kControl = 0,  // everything small: heartbeats, votes, responses, TimeoutNow
  kBulk = 1,     // AppendEntries and InstallSnapshot chunks
};
// The channel a message travels on.
Channel channel_of(const core::MessageBody& body);
const char* channel_name(Channel c);

struct Hello {
  uint8_t version_min = kProtocolVersionMin;
  uint8_t version_max = kProtocolVersionMax;
  Channel channel = Channel::kControl;
  std::string cluster_id;
  NodeId from;
  NodeId to;
  std::string address;  // where `from` listens; may be empty
};

enum class HandshakeResult : uint8_t {
  kAccepted = 0,
  kWrongCluster = 1,
  kUnsupportedVersion = 2,
  kWrongNode = 3,
  // TLS with peer ids pinned: the dialer's certificate does not name the
  // node its Hello claims to be (docs/security.md).
  kWrongIdentity = 4,
};
// "accepted", "wrong_cluster", "unsupported_version", "wrong_node",
// "wrong_identity", "unknown" (the form used in stats keys).
const char* handshake_result_name(uint8_t result);

struct HelloReply {
  // A raw code: a reply from a newer build may carry one this build does
  // not know, which counts as a refusal.
  uint8_t result = static_cast<uint8_t>(HandshakeResult::kAccepted);
  uint8_t version = 0;  // the connection's protocol version when accepted
  NodeId node;          // the acceptor's id
  // Why it refused, in words; empty when accepted. Bytes from the network:
  // log them through printable().
  std::string reason;
  bool accepted() const { return result == static_cast<uint8_t>(HandshakeResult::kAccepted); }
};

// Whole frames (header included). encode_hello asserts the cluster id
// fits; encode_hello_reply cuts a long reason to kRefusalReasonBytesMax.
Buffer encode_hello(const Hello& h);
Buffer encode_hello_reply(const HelloReply& r);

// Decode a handshake frame from its checked header and body. A frame of
// another type or version is an error ("not a libraft handshake").
// Errors: Corruption.
Result<Hello> decode_hello(const FrameHeader& header, std::span<const uint8_t> body);
Result<HelloReply> decode_hello_reply(const FrameHeader& header, std::span<const uint8_t> body);

// The acceptor's decision on a Hello (docs/wire-format.md, "Hello"): the
// reply to send, with the refusal reason in words. `self` is the
// acceptor's id.
HelloReply answer_hello(const Hello& h, const std::string& cluster_id, NodeId self);

// `s` with every byte outside printable ASCII (and '"', '\\') written as
// \xNN: for log lines that quote bytes from the network.
std::string printable(std::string_view s);

// Field by field equality (payload bytes compared), for tests and the
// fuzzer's round-trip check.
bool messages_equal(const core::Message& a, const core::Message& b);

// "AppendEntries 1->2 term 3 prev 4/2 entries [5,9] commit 3" for logs.
std::string describe(const core::Message& m);

}  // namespace raft::transport
