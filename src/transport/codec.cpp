// Implements docs/wire-format.md, "Frames", "Handshake" and "Message
// frames". Each message type's body is one BodyCodec specialisation: to
// add a type (issue 5: InstallSnapshot), add its struct to
// core::MessageBody, a FrameType code and a BodyCodec; the dispatch below
// walks the variant, so nothing else changes (and a type without a
// BodyCodec does not compile).
#include "transport/codec.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>

#include "util/assert.hpp"
#include "util/coding.hpp"

namespace raft::transport {

namespace {

// docs/wire-format.md, "AppendEntries": the most entries one frame may
// carry, so a frame cannot make the receiver build a huge entry vector
// out of tiny table rows.
constexpr uint64_t kAppendEntriesCountMax = uint64_t{1} << 20;
// The smallest AppendEntries table row: index, term, type, length.
constexpr size_t kEntryRowBytesMin = 4;

// Builds the non-payload bytes of a frame and collects its payloads.
class FieldWriter {
 public:
  FieldWriter(std::string* head, std::vector<Buffer>* payloads)
      : head_(head), payloads_(payloads) {}

  void u8(uint8_t v) { put_u8(head_, v); }
  void u32(uint32_t v) { put_u32(head_, v); }
  void varint(uint64_t v) { put_varint(head_, v); }
  // Writes the payload's length among the fields; its bytes go to the
  // payload area, in the order of these calls.
  void payload(const Buffer& b) {
    put_varint(head_, b.size());
    if (!b.empty()) payloads_->push_back(b);
    payload_bytes_ += b.size();
  }
  uint64_t payload_bytes() const { return payload_bytes_; }

 private:
  std::string* head_;
  std::vector<Buffer>* payloads_;
  uint64_t payload_bytes_ = 0;
};

// Reads the fields of one body and remembers the first thing wrong with
// it. Once failed, every read returns 0 (see Reader), so a BodyCodec reads
// all its fields and the caller checks once.
class FieldReader {
 public:
  FieldReader(const Buffer& body, const char* what)
      : body_(body), r_(body.span()), what_(what) {}

  bool ok() const { return r_.ok() && why_.empty(); }
  size_t remaining() const { return r_.remaining(); }
  size_t offset() const { return static_cast<size_t>(r_.position() - body_.data()); }

  uint8_t u8() { return r_.u8(); }
  uint32_t u32() { return r_.u32(); }
  uint64_t varint() { return r_.varint(); }
  // A flags byte of which only the bits in `known` may be set.
  uint8_t flags(uint8_t known) {
    uint8_t f = r_.u8();
    if (r_.ok() && (f & ~known) != 0) {
      std::ostringstream os;
      os << "unknown flag bits 0x" << std::hex << int(f & ~known);
      fail(os.str());
    }
    return f;
  }
  // The next n bytes as a slice of the body (no copy).
  Buffer slice(size_t n) {
    size_t at = offset();
    if (!ok() || r_.bytes(n).size() != n) return Buffer();
    return body_.slice(at, n);
  }

  void fail(std::string why) {
    if (why_.empty()) why_ = std::move(why);
  }
  // The error for a failed read: the explicit reason, or a truncation.
  Status error() const {
    std::string m = std::string(what_) + ": ";
    m += why_.empty() ? "the body ends inside a field (truncated, or a length that lies)" : why_;
    return corruption(std::move(m));
  }

 private:
  const Buffer& body_;
  Reader r_;
  const char* what_;
  std::string why_;
};

std::string to_hex(uint64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

}  // namespace

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

namespace {

// ---- One BodyCodec per message type (docs/wire-format.md, "Message
// frames"). kSince is the first protocol version that has the type.

template <class T>
struct BodyCodec;

template <>
struct BodyCodec<core::RequestVote> {
  static constexpr FrameType kType = FrameType::kRequestVote;
  static constexpr uint8_t kSince = 1;
  static void encode(const core::RequestVote& b, FieldWriter& w) {
    w.u8(static_cast<uint8_t>((b.pre_vote ? 1 : 0) | (b.transfer ? 2 : 0)));
    w.varint(b.last_log_index.value);
    w.varint(b.last_log_term.value);
  }
  static void decode(FieldReader& r, Term, core::RequestVote* b) {
    uint8_t f = r.flags(0x3);
    b->pre_vote = f & 1;
    b->transfer = f & 2;
    b->last_log_index = Index(r.varint());
    b->last_log_term = Term(r.varint());
  }
};

template <>
struct BodyCodec<core::RequestVoteResponse> {
  static constexpr FrameType kType = FrameType::kRequestVoteResponse;
  static constexpr uint8_t kSince = 1;
  static void encode(const core::RequestVoteResponse& b, FieldWriter& w) {
    w.u8(static_cast<uint8_t>((b.pre_vote ? 1 : 0) | (b.granted ? 2 : 0)));
  }
  static void decode(FieldReader& r, Term, core::RequestVoteResponse* b) {
    uint8_t f = r.flags(0x3);
    b->pre_vote = f & 1;
    b->granted = f & 2;
  }
};

template <>
struct BodyCodec<core::AppendEntries> {
  static constexpr FrameType kType = FrameType::kAppendEntries;
  static constexpr uint8_t kSince = 1;

  static void encode(const core::AppendEntries& b, FieldWriter& w) {
    w.varint(b.prev_log_index.value);
    w.varint(b.prev_log_term.value);
    w.varint(b.leader_commit.value);
    w.varint(b.entries.size());
    for (const Entry& e : b.entries) {
      w.varint(e.index.value);
      w.varint(e.term.value);
      w.u8(static_cast<uint8_t>(e.type));
      w.payload(e.data);
    }
  }

  // One pass over the entry table checks every row, builds the entries
  // without their payloads and adds up the payload lengths; once those add
  // up to the bytes after the table, the payloads are attached as slices
  // of the body. (Reading the table twice instead was 6% of a command's
  // instructions.) No allocation depends on a length before it has been
  // checked: the count is bounded by the bytes left, just below.
  static void decode(FieldReader& r, Term term, core::AppendEntries* b) {
    b->prev_log_index = Index(r.varint());
    b->prev_log_term = Term(r.varint());
    b->leader_commit = Index(r.varint());
    uint64_t count = r.varint();
    if (!r.ok()) return;
    if (count > kAppendEntriesCountMax) {
      return r.fail("entry count " + std::to_string(count) + " exceeds the maximum " +
                    std::to_string(kAppendEntriesCountMax));
    }
    if (count > r.remaining() / kEntryRowBytesMin) {
      return r.fail("entry count " + std::to_string(count) + " cannot fit in the " +
                    std::to_string(r.remaining()) + " bytes left");
    }
    if (count > 0 && b->prev_log_index.value > std::numeric_limits<uint64_t>::max() - count) {
      return r.fail("entry indexes overflow 64 bits");
    }

    b->entries.reserve(static_cast<size_t>(count));
    std::vector<uint32_t> lengths;
    lengths.reserve(static_cast<size_t>(count));
    uint64_t payload_total = 0;
    Term last_term = b->prev_log_term;
    for (uint64_t i = 0; i < count && r.ok(); ++i) {
      uint64_t index = r.varint();
      uint64_t entry_term = r.varint();
      uint8_t type = r.u8();
      uint64_t len = r.varint();
      if (!r.ok()) return;
      // Named only when something is wrong: building it for every entry
      // was most of the decoder's time.
      auto at = [&] { return "entry " + std::to_string(i) + " (index " + std::to_string(index) + ")"; };
      // The core appends entries one after another and asserts that they
      // follow the previous one with a term at least as high
      // (core/log_view.cpp): check it here, where bad input is an error.
      uint64_t want = b->prev_log_index.value + 1 + i;
      if (index != want) return r.fail(at() + ": expected index " + std::to_string(want));
      if (Term(entry_term) < last_term) {
        return r.fail(at() + ": term " + std::to_string(entry_term) + " is below the term " +
                      std::to_string(last_term.value) + " before it");
      }
      if (Term(entry_term) > term) {
        return r.fail(at() + ": term " + std::to_string(entry_term) +
                      " is above the message's term " + std::to_string(term.value));
      }
      if (!entry_type_valid(type)) return r.fail(at() + ": unknown entry type " + std::to_string(type));
      // Each length is below the body size (< 4 GiB) and there are at
      // most 2^20 of them, so the total cannot overflow.
      if (len > r.remaining()) {
        return r.fail(at() + ": payload length " + std::to_string(len) + " exceeds the " +
                      std::to_string(r.remaining()) + " bytes left");
      }
      payload_total += len;
      last_term = Term(entry_term);
      b->entries.push_back(Entry{Index(index), Term(entry_term), static_cast<EntryType>(type), Buffer()});
      lengths.push_back(static_cast<uint32_t>(len));
    }
    if (!r.ok()) return;
    if (payload_total != r.remaining()) {
      return r.fail("payload lengths add up to " + std::to_string(payload_total) +
                    " bytes but " + std::to_string(r.remaining()) + " follow the entry table");
    }

    for (size_t i = 0; i < b->entries.size(); ++i) {
      Entry& e = b->entries[i];
      e.data = r.slice(lengths[i]);
      if (e.type == EntryType::kConfiguration) {
        Configuration c;
        if (!decode_configuration(e.data.span(), &c)) {
          return r.fail("entry " + std::to_string(i) + " (index " + std::to_string(e.index.value) +
                        "): configuration payload does not decode");
        }
      }
    }
  }
};

template <>
struct BodyCodec<core::AppendEntriesResponse> {
  static constexpr FrameType kType = FrameType::kAppendEntriesResponse;
  static constexpr uint8_t kSince = 1;
  static void encode(const core::AppendEntriesResponse& b, FieldWriter& w) {
    w.u8(b.success ? 1 : 0);
    w.varint(b.match_index.value);
    w.varint(b.rejected_index.value);
    w.varint(b.conflict_term.value);
    w.varint(b.conflict_index.value);
    w.varint(b.last_log_index.value);
  }
  static void decode(FieldReader& r, Term, core::AppendEntriesResponse* b) {
    b->success = r.flags(0x1) & 1;
    b->match_index = Index(r.varint());
    b->rejected_index = Index(r.varint());
    b->conflict_term = Term(r.varint());
    b->conflict_index = Index(r.varint());
    b->last_log_index = Index(r.varint());
  }
};

template <>
struct BodyCodec<core::Heartbeat> {
  static constexpr FrameType kType = FrameType::kHeartbeat;
  static constexpr uint8_t kSince = 1;
  static void encode(const core::Heartbeat& b, FieldWriter& w) {
    w.varint(b.commit.value);
    w.varint(b.read_round);
  }
  static void decode(FieldReader& r, Term, core::Heartbeat* b) {
    b->commit = Index(r.varint());
    b->read_round = r.varint();
  }
};

template <>
struct BodyCodec<core::HeartbeatResponse> {
  static constexpr FrameType kType = FrameType::kHeartbeatResponse;
  static constexpr uint8_t kSince = 1;
  static void encode(const core::HeartbeatResponse& b, FieldWriter& w) {
    w.varint(b.read_round);
    w.varint(b.last_log_index.value);
  }
  static void decode(FieldReader& r, Term, core::HeartbeatResponse* b) {
    b->read_round = r.varint();
    b->last_log_index = Index(r.varint());
  }
};

template <>
struct BodyCodec<core::TimeoutNow> {
  static constexpr FrameType kType = FrameType::kTimeoutNow;
  static constexpr uint8_t kSince = 1;
  static void encode(const core::TimeoutNow&, FieldWriter&) {}
  static void decode(FieldReader&, Term, core::TimeoutNow*) {}
};

template <>
struct BodyCodec<core::InstallSnapshot> {
  static constexpr FrameType kType = FrameType::kInstallSnapshot;
  static constexpr uint8_t kSince = 1;
  static void encode(const core::InstallSnapshot& b, FieldWriter& w) {
    w.varint(b.last_index.value);
    w.varint(b.last_term.value);
    w.varint(b.configuration_index.value);
    w.varint(b.size_bytes);
    w.u32(b.crc32c);
    w.varint(b.offset);
    w.u8(b.last ? 1 : 0);
    w.payload(encode_configuration(b.configuration));
    w.payload(b.data);
  }
  static void decode(FieldReader& r, Term, core::InstallSnapshot* b) {
    b->last_index = Index(r.varint());
    b->last_term = Term(r.varint());
    b->configuration_index = Index(r.varint());
    b->size_bytes = r.varint();
    b->crc32c = r.u32();
    b->offset = r.varint();
    b->last = r.flags(0x1) & 1;
    uint64_t configuration_bytes = r.varint();
    uint64_t data_bytes = r.varint();
    if (!r.ok()) return;
    if (configuration_bytes > r.remaining() || data_bytes != r.remaining() - configuration_bytes) {
      return r.fail("payload lengths " + std::to_string(configuration_bytes) + " + " +
                    std::to_string(data_bytes) + " do not add up to the " +
                    std::to_string(r.remaining()) + " bytes that follow");
    }
    if (b->offset > b->size_bytes || data_bytes > b->size_bytes - b->offset) {
      return r.fail("chunk [" + std::to_string(b->offset) + ", +" + std::to_string(data_bytes) +
                    ") lies outside the snapshot's " + std::to_string(b->size_bytes) + " bytes");
    }
    Buffer configuration = r.slice(static_cast<size_t>(configuration_bytes));
    if (!decode_configuration(configuration.span(), &b->configuration)) {
      return r.fail("configuration does not decode");
    }
    b->data = r.slice(static_cast<size_t>(data_bytes));
  }
};

template <>
struct BodyCodec<core::InstallSnapshotResponse> {
  static constexpr FrameType kType = FrameType::kInstallSnapshotResponse;
  static constexpr uint8_t kSince = 1;
  static void encode(const core::InstallSnapshotResponse& b, FieldWriter& w) {
    w.varint(b.last_index.value);
    w.varint(b.next_offset);
    w.u8(b.installed ? 1 : 0);
  }
  static void decode(FieldReader& r, Term, core::InstallSnapshotResponse* b) {
    b->last_index = Index(r.varint());
    b->next_offset = r.varint();
    b->installed = r.flags(0x1) & 1;
  }
};

// ---- Dispatch over the alternatives of core::MessageBody.

constexpr size_t kBodyTypes = std::variant_size_v<core::MessageBody>;

template <size_t I = 0>
constexpr FrameType type_at(size_t index) {
  if constexpr (I == kBodyTypes) {
    return FrameType::kHello;  // unreachable: index < kBodyTypes
  } else {
    using T = std::variant_alternative_t<I, core::MessageBody>;
    return index == I ? BodyCodec<T>::kType : type_at<I + 1>(index);
  }
}

template <size_t I = 0>
constexpr uint8_t since_at(size_t index) {
  if constexpr (I == kBodyTypes) {
    return 0;
  } else {
    using T = std::variant_alternative_t<I, core::MessageBody>;
    return index == I ? BodyCodec<T>::kSince : since_at<I + 1>(index);
  }
}

// The variant index of a frame type, or kBodyTypes when it is not one.
template <size_t I = 0>
constexpr size_t index_of_type(uint8_t type) {
  if constexpr (I == kBodyTypes) {
    return kBodyTypes;
  } else {
    using T = std::variant_alternative_t<I, core::MessageBody>;
    return type == static_cast<uint8_t>(BodyCodec<T>::kType) ? I : index_of_type<I + 1>(type);
  }
}

template <size_t I = 0>
void decode_body_at(size_t index, FieldReader& r, Term term, core::MessageBody* out) {
  if constexpr (I < kBodyTypes) {
    if (index != I) return decode_body_at<I + 1>(index, r, term, out);
    using T = std::variant_alternative_t<I, core::MessageBody>;
    T body;
    BodyCodec<T>::decode(r, term, &body);
    *out = std::move(body);
  }
}

void write_header(std::string* head, FrameType type, uint8_t version) {
  put_u32(head, 0);  // the length, stored once known
  put_u8(head, static_cast<uint8_t>(type));
  put_u8(head, version);
}

void store_length(std::string* head, uint64_t length) {
  store_u32(reinterpret_cast<uint8_t*>(head->data()), static_cast<uint32_t>(length));
}

bool version_spoken(uint8_t v) { return v >= kProtocolVersionMin && v <= kProtocolVersionMax; }

}  // namespace

const char* frame_type_name(uint8_t type) {
  switch (type) {
    case static_cast<uint8_t>(FrameType::kHello): return "Hello";
    case static_cast<uint8_t>(FrameType::kHelloReply): return "HelloReply";
    default: break;
  }
  size_t i = index_of_type(type);
  if (i == kBodyTypes) return "unknown";
  // message_type_name only looks at the index; build a body of that kind.
  static const core::MessageBody kSamples[] = {
      core::RequestVote{},   core::RequestVoteResponse{}, core::AppendEntries{},
      core::AppendEntriesResponse{}, core::Heartbeat{},  core::HeartbeatResponse{},
      core::TimeoutNow{},    core::InstallSnapshot{},     core::InstallSnapshotResponse{}};
  static_assert(std::size(kSamples) == kBodyTypes, "add the new message type here");
  return core::message_type_name(kSamples[i]);
}

FrameType frame_type_of(const core::MessageBody& body) { return type_at(body.index()); }

bool message_type_known(uint8_t type, uint8_t version) {
  size_t i = index_of_type(type);
  return i < kBodyTypes && since_at(i) <= version && version_spoken(version);
}

Result<FrameHeader> decode_frame_header(std::span<const uint8_t> bytes, size_t length_max) {
  RAFT_ASSERT(bytes.size() >= kFrameHeaderBytes);
  FrameHeader h;
  h.length = load_u32(bytes.data());
  h.type = bytes[4];
  h.version = bytes[5];
  if (h.length < 2) {
    return corruption("frame length " + std::to_string(h.length) + " is below the minimum 2");
  }
  if (h.length > length_max) {
    return corruption("frame length " + std::to_string(h.length) + " exceeds the maximum " +
                      std::to_string(length_max) + " (type " + std::to_string(h.type) + ")");
  }
  return h;
}

Result<EncodedFrame> encode_message(const core::Message& m, uint8_t version,
                                    size_t frame_bytes_max) {
  size_t i = m.body.index();
  if (!version_spoken(version) || since_at(i) > version) {
    return Status(ErrorCode::kUnsupported, std::string(core::message_type_name(m.body)) +
                                               " cannot be sent in protocol version " +
                                               std::to_string(version));
  }
  std::string head;
  EncodedFrame f;
  size_t entries = 0;
  if (auto* ae = std::get_if<core::AppendEntries>(&m.body)) entries = ae->entries.size();
  if (std::holds_alternative<core::InstallSnapshot>(m.body)) entries = 2;  // its two payloads
  if (entries > kAppendEntriesCountMax) {
    return invalid_argument("AppendEntries with " + std::to_string(entries) +
                            " entries exceeds the maximum " +
                            std::to_string(kAppendEntriesCountMax));
  }
  head.reserve(kFrameHeaderBytes + 32 + 24 * entries);
  f.payloads.reserve(entries);
  write_header(&head, type_at(i), version);
  put_varint(&head, m.from.value);
  put_varint(&head, m.to.value);
  put_varint(&head, m.term.value);
  FieldWriter w(&head, &f.payloads);
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        BodyCodec<T>::encode(body, w);
      },
      m.body);
  uint64_t length = head.size() - 4 + w.payload_bytes();
  if (length > frame_bytes_max || length > std::numeric_limits<uint32_t>::max()) {
    return invalid_argument(std::string(core::message_type_name(m.body)) + " frame of " +
                            std::to_string(length + 4) + " bytes exceeds the maximum frame size " +
                            std::to_string(frame_bytes_max));
  }
  store_length(&head, length);
  f.bytes = head.size() + w.payload_bytes();
  f.head = Buffer::from_string(std::move(head));
  return f;
}

Result<core::Message> decode_message(const FrameHeader& header, const Buffer& body,
                                     uint8_t version) {
  RAFT_ASSERT(body.size() == header.body_bytes());
  if (!version_spoken(version)) {
    return Status(ErrorCode::kUnsupported,
                  "protocol version " + std::to_string(version) + " is not spoken by this build");
  }
  if (header.version != version) {
    return corruption(std::string(frame_type_name(header.type)) + " frame labelled version " +
                      std::to_string(header.version) + " on a connection of protocol version " +
                      std::to_string(version));
  }
  size_t i = index_of_type(header.type);
  if (i == kBodyTypes || since_at(i) > version) {
    return corruption("unknown message frame type " + std::to_string(header.type) +
                      " in protocol version " + std::to_string(version));
  }
  FieldReader r(body, frame_type_name(header.type));
  core::Message m;
  m.from = NodeId(r.varint());
  m.to = NodeId(r.varint());
  m.term = Term(r.varint());
  if (r.ok() && (m.from == kNoNode || m.to == kNoNode)) r.fail("sender or receiver id is 0");
  if (r.ok()) decode_body_at(i, r, m.term, &m.body);
  if (!r.ok()) return r.error();
  if (r.remaining() != 0) {
    r.fail(std::to_string(r.remaining()) + " trailing bytes after the last field");
    return r.error();
  }
  return m;
}

Result<core::Message> decode_message_frame(const Buffer& frame, uint8_t version,
                                           size_t frame_bytes_max) {
  if (frame.size() < kFrameHeaderBytes) {
    return corruption("frame of " + std::to_string(frame.size()) +
                      " bytes is shorter than a frame header");
  }
  auto h = decode_frame_header(frame.span(), frame_bytes_max);
  if (!h.ok()) return h.status();
  size_t have = frame.size() - 4;
  if (h->length != have) {
    return corruption("frame length " + std::to_string(h->length) + " but " +
                      std::to_string(have) + " bytes follow the length field");
  }
  return decode_message(*h, frame.slice(kFrameHeaderBytes, h->body_bytes()), version);
}

Channel channel_of(const core::MessageBody& body) {
  return std::holds_alternative<core::AppendEntries>(body) ||
                 std::holds_alternative<core::InstallSnapshot>(body)
             ? Channel::kBulk
             : Channel::kControl;
}

const char* channel_name(Channel c) {
  return c == Channel::kBulk ? "bulk" : "control";
}

const char* handshake_result_name(uint8_t result) {
  switch (result) {
    case static_cast<uint8_t>(HandshakeResult::kAccepted): return "accepted";
    case static_cast<uint8_t>(HandshakeResult::kWrongCluster): return "wrong_cluster";
    case static_cast<uint8_t>(HandshakeResult::kUnsupportedVersion): return "unsupported_version";
    case static_cast<uint8_t>(HandshakeResult::kWrongNode): return "wrong_node";
    case static_cast<uint8_t>(HandshakeResult::kWrongIdentity): return "wrong_identity";
  }
  return "unknown";
}

Buffer encode_hello(const Hello& h) {
  RAFT_ASSERT(h.cluster_id.size() <= kClusterIdBytesMax);
  std::string out;
  write_header(&out, FrameType::kHello, kHandshakeFrameVersion);
  put_u32(&out, kMagic);
  put_u8(&out, h.version_min);
  put_u8(&out, h.version_max);
  put_u8(&out, static_cast<uint8_t>(h.channel));
  put_bytes(&out, h.cluster_id);
  put_varint(&out, h.from.value);
  put_varint(&out, h.to.value);
  put_bytes(&out, std::string_view(h.address).substr(0, kHelloAddressBytesMax));
  store_length(&out, out.size() - 4);
  return Buffer::from_string(std::move(out));
}

Buffer encode_hello_reply(const HelloReply& r) {
  std::string out;
  write_header(&out, FrameType::kHelloReply, kHandshakeFrameVersion);
  put_u8(&out, r.result);
  put_u8(&out, r.version);
  put_varint(&out, r.node.value);
  put_bytes(&out, std::string_view(r.reason).substr(0, kRefusalReasonBytesMax));
  store_length(&out, out.size() - 4);
  return Buffer::from_string(std::move(out));
}

namespace {

Status not_a_handshake(const FrameHeader& h, FrameType want, size_t length_max) {
  if (h.type != static_cast<uint8_t>(want) || h.version != kHandshakeFrameVersion ||
      h.length > length_max) {
    return corruption(std::string("not a libraft handshake: expected ") +
                      frame_type_name(static_cast<uint8_t>(want)) + " (type " +
                      std::to_string(static_cast<int>(want)) + " version 1), got type " +
                      std::to_string(h.type) + " version " + std::to_string(h.version) +
                      " length " + std::to_string(h.length));
  }
  return Status();
}

}  // namespace

Result<Hello> decode_hello(const FrameHeader& header, std::span<const uint8_t> body) {
  RAFT_RETURN_IF_ERROR(not_a_handshake(header, FrameType::kHello, kHelloLengthMax));
  Reader r(body);
  uint32_t magic = r.u32();
  if (r.ok() && magic != kMagic) {
    return corruption("not a libraft handshake: bad magic " + to_hex(magic));
  }
  Hello h;
  h.version_min = r.u8();
  h.version_max = r.u8();
  uint8_t channel = r.u8();
  h.cluster_id = std::string(r.length_prefixed(kClusterIdBytesMax));
  h.from = NodeId(r.varint());
  h.to = NodeId(r.varint());
  h.address = std::string(r.length_prefixed(kHelloAddressBytesMax));
  if (!r.ok()) return corruption("bad handshake: Hello truncated or a field too long");
  if (r.remaining() != 0) {
    return corruption("bad handshake: " + std::to_string(r.remaining()) +
                      " trailing bytes in Hello");
  }
  if (channel > 1) return corruption("bad handshake: unknown channel " + std::to_string(channel));
  h.channel = static_cast<Channel>(channel);
  if (h.version_min > h.version_max) {
    return corruption("bad handshake: version range " + std::to_string(h.version_min) + "-" +
                      std::to_string(h.version_max) + " is empty");
  }
  if (h.from == kNoNode || h.to == kNoNode) {
    return corruption("bad handshake: sender or receiver id is 0");
  }
  return h;
}

Result<HelloReply> decode_hello_reply(const FrameHeader& header, std::span<const uint8_t> body) {
  RAFT_RETURN_IF_ERROR(not_a_handshake(header, FrameType::kHelloReply, kHelloReplyLengthMax));
  Reader r(body);
  HelloReply reply;
  reply.result = r.u8();
  reply.version = r.u8();
  reply.node = NodeId(r.varint());
  reply.reason = std::string(r.length_prefixed(kRefusalReasonBytesMax));
  if (!r.ok()) return corruption("bad handshake reply: truncated or a field too long");
  if (r.remaining() != 0) {
    return corruption("bad handshake reply: " + std::to_string(r.remaining()) +
                      " trailing bytes");
  }
  if (reply.accepted() && !version_spoken(reply.version)) {
    return corruption("bad handshake reply: accepted with protocol version " +
                      std::to_string(reply.version) + ", which this node did not offer");
  }
  return reply;
}

HelloReply answer_hello(const Hello& h, const std::string& cluster_id, NodeId self) {
  HelloReply r;
  r.node = self;
  if (h.cluster_id != cluster_id) {
    r.result = static_cast<uint8_t>(HandshakeResult::kWrongCluster);
    r.reason = "cluster id \"" + printable(h.cluster_id) + "\" is not this cluster's \"" +
               printable(cluster_id) + "\"";
    return r;
  }
  uint8_t common = std::min(h.version_max, kProtocolVersionMax);
  if (common < h.version_min || common < kProtocolVersionMin) {
    r.result = static_cast<uint8_t>(HandshakeResult::kUnsupportedVersion);
    r.reason = "protocol versions " + std::to_string(h.version_min) + "-" +
               std::to_string(h.version_max) + " offered; this node speaks " +
               std::to_string(kProtocolVersionMin) + "-" + std::to_string(kProtocolVersionMax);
    return r;
  }
  if (h.to != self) {
    r.result = static_cast<uint8_t>(HandshakeResult::kWrongNode);
    r.reason = "this is node " + std::to_string(self.value) + ", not node " +
               std::to_string(h.to.value);
    return r;
  }
  r.version = common;
  return r;
}

namespace {

bool entries_equal(const std::vector<Entry>& a, const std::vector<Entry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].index != b[i].index || a[i].term != b[i].term || a[i].type != b[i].type ||
        !(a[i].data == b[i].data)) {
      return false;
    }
  }
  return true;
}

struct BodyEqual {
  bool operator()(const core::RequestVote& a, const core::RequestVote& b) const {
    return a.pre_vote == b.pre_vote && a.transfer == b.transfer &&
           a.last_log_index == b.last_log_index && a.last_log_term == b.last_log_term;
  }
  bool operator()(const core::RequestVoteResponse& a, const core::RequestVoteResponse& b) const {
    return a.pre_vote == b.pre_vote && a.granted == b.granted;
  }
  bool operator()(const core::AppendEntries& a, const core::AppendEntries& b) const {
    return a.prev_log_index == b.prev_log_index && a.prev_log_term == b.prev_log_term &&
           a.leader_commit == b.leader_commit && entries_equal(a.entries, b.entries);
  }
  bool operator()(const core::AppendEntriesResponse& a,
                  const core::AppendEntriesResponse& b) const {
    return a.success == b.success && a.match_index == b.match_index &&
           a.rejected_index == b.rejected_index && a.conflict_term == b.conflict_term &&
           a.conflict_index == b.conflict_index && a.last_log_index == b.last_log_index;
  }
  bool operator()(const core::Heartbeat& a, const core::Heartbeat& b) const {
    return a.commit == b.commit && a.read_round == b.read_round;
  }
  bool operator()(const core::HeartbeatResponse& a, const core::HeartbeatResponse& b) const {
    return a.read_round == b.read_round && a.last_log_index == b.last_log_index;
  }
  bool operator()(const core::TimeoutNow&, const core::TimeoutNow&) const { return true; }
  bool operator()(const core::InstallSnapshot& a, const core::InstallSnapshot& b) const {
    return a.last_index == b.last_index && a.last_term == b.last_term &&
           a.configuration == b.configuration && a.configuration_index == b.configuration_index &&
           a.size_bytes == b.size_bytes && a.crc32c == b.crc32c && a.offset == b.offset &&
           a.data == b.data && a.last == b.last;
  }
  bool operator()(const core::InstallSnapshotResponse& a,
                  const core::InstallSnapshotResponse& b) const {
    return a.last_index == b.last_index && a.next_offset == b.next_offset &&
           a.installed == b.installed;
  }
  template <class A, class B>
  bool operator()(const A&, const B&) const {
    return false;
  }
};

}  // namespace

bool messages_equal(const core::Message& a, const core::Message& b) {
  return a.from == b.from && a.to == b.to && a.term == b.term &&
         std::visit(BodyEqual{}, a.body, b.body);
}

std::string describe(const core::Message& m) {
  std::ostringstream os;
  os << core::message_type_name(m.body) << " " << m.from << "->" << m.to << " term " << m.term;
  if (auto* ae = std::get_if<core::AppendEntries>(&m.body)) {
    os << " prev " << ae->prev_log_index << "/" << ae->prev_log_term;
    if (!ae->entries.empty()) {
      os << " entries [" << ae->entries.front().index << "," << ae->entries.back().index << "]";
    }
    os << " commit " << ae->leader_commit;
  }
  if (auto* is = std::get_if<core::InstallSnapshot>(&m.body)) {
    os << " snapshot " << is->last_index << "/" << is->last_term << " bytes [" << is->offset
       << ",+" << is->data.size() << ") of " << is->size_bytes << (is->last ? " last" : "");
  }
  return os.str();
}

}  // namespace raft::transport
