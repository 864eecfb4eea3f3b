// FrameReader: cuts a byte stream into frames (docs/wire-format.md,
// "Frames") without trusting any length, and without doing I/O itself: a
// connection reads into prepare(), reports what arrived with commit(), and
// takes whole frames with next(). Keeping the I/O out makes the exact code
// that parses hostile streams testable and fuzzable.
//
// Memory: small frames are cut out of one 64 KiB staging buffer (and
// copied into a Buffer of their own). A frame too big for it gets a
// buffer that grows with the bytes that actually arrived (1 MiB, then x4,
// capped at the frame's length, so the last step allocates exactly the
// frame), never with what its header promised. A header whose length is
// above the current maximum is an error before any of its body is read.
//
// Thread safety: none; one connection's reader lives on its loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "transport/codec.hpp"
#include "util/buffer.hpp"
#include "util/status.hpp"

namespace raft::transport {

struct Frame {
  FrameHeader header;
  Buffer body;  // exactly header.body_bytes() bytes
};

class FrameReader {
 public:
  static constexpr size_t kStageBytes = size_t{64} << 10;
  static constexpr size_t kBigChunkBytes = size_t{1} << 20;

  // `length_max` bounds every frame's length field (see codec.hpp).
  explicit FrameReader(size_t length_max);

  // Changes the bound for the frames not yet started (the handshake uses
  // a tiny one, the messages the configured maximum).
  void set_length_max(size_t length_max) { length_max_ = length_max; }

  // Where the next bytes of the stream go. Never empty.
  std::span<uint8_t> prepare();
  // Records that the first n bytes of the last prepare() span were filled.
  void commit(size_t n);

  // The next whole frame; nullopt when more bytes are needed; an error
  // (Corruption) when a header is bad. After an error the stream is
  // beyond repair: close the connection.
  Result<std::optional<Frame>> next();

  // Bytes received and not yet returned by next().
  size_t buffered_bytes() const;
  // Bytes of memory the reader holds now (staging plus any big frame).
  size_t allocated_bytes() const { return stage_.size() + big_capacity_; }

 private:
  size_t length_max_;
  // Staging: bytes [start_, end_) of stage_ are received and unparsed.
  std::vector<uint8_t> stage_;
  size_t start_ = 0;
  size_t end_ = 0;
  // A big frame in progress (big_ non-null): its header, and its body's
  // first big_have_ of big_need_ bytes in a buffer of big_capacity_.
  std::shared_ptr<uint8_t[]> big_;
  FrameHeader big_header_;
  size_t big_need_ = 0;
  size_t big_have_ = 0;
  size_t big_capacity_ = 0;
};

}  // namespace raft::transport
