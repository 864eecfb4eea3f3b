// docs/wire-format.md, "Frames": the receiver checks a header before it
// reads or allocates the body, and grows a big frame's buffer with the
// bytes that arrived.
#include "transport/frame_reader.hpp"

#include <algorithm>
#include <cstring>

#include "util/assert.hpp"

namespace raft::transport {

FrameReader::FrameReader(size_t length_max) : length_max_(length_max), stage_(kStageBytes) {}

std::span<uint8_t> FrameReader::prepare() {
  if (big_) {
    if (big_have_ == big_capacity_) {
      // Grow x4 (at least 1 MiB), capped at the frame, so the buffer is
      // at most about 4 times what arrived and the last one is exact.
      size_t cap = std::min(big_need_, std::max(kBigChunkBytes, big_capacity_ * 4));
      std::shared_ptr<uint8_t[]> grown(new uint8_t[cap]);
      if (big_have_) std::memcpy(grown.get(), big_.get(), big_have_);
      big_ = std::move(grown);
      big_capacity_ = cap;
    }
    return {big_.get() + big_have_, big_capacity_ - big_have_};
  }
  if (start_ > 0) {
    // Move the unparsed tail (at most one partial frame) to the front.
    std::memmove(stage_.data(), stage_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  RAFT_ASSERT(end_ < stage_.size());  // a full stage holds a whole frame or went big
  return {stage_.data() + end_, stage_.size() - end_};
}

void FrameReader::commit(size_t n) {
  if (big_) {
    RAFT_ASSERT(n <= big_capacity_ - big_have_);
    big_have_ += n;
  } else {
    RAFT_ASSERT(n <= stage_.size() - end_);
    end_ += n;
  }
}

size_t FrameReader::buffered_bytes() const { return (end_ - start_) + big_have_; }

Result<std::optional<Frame>> FrameReader::next() {
  if (big_) {
    if (big_have_ < big_need_) return std::optional<Frame>();
    Frame f;
    f.header = big_header_;
    const uint8_t* p = big_.get();
    f.body = Buffer::wrap(p, big_need_, std::shared_ptr<const void>(std::move(big_), p));
    big_ = nullptr;
    big_need_ = big_have_ = big_capacity_ = 0;
    return std::optional<Frame>(std::move(f));
  }
  size_t avail = end_ - start_;
  if (avail < kFrameHeaderBytes) return std::optional<Frame>();
  auto h = decode_frame_header(std::span<const uint8_t>(stage_.data() + start_, avail), length_max_);
  if (!h.ok()) return h.status();
  size_t frame_bytes = 4 + size_t{h->length};
  if (frame_bytes <= avail) {
    Frame f;
    f.header = *h;
    f.body = Buffer::copy_of(stage_.data() + start_ + kFrameHeaderBytes, h->body_bytes());
    start_ += frame_bytes;
    return std::optional<Frame>(std::move(f));
  }
  if (frame_bytes <= stage_.size()) return std::optional<Frame>();  // fits: wait in the stage
  // Too big for the stage: continue in a buffer of its own, starting with
  // the part of the body already staged (less than the stage, so less
  // than the first chunk).
  big_header_ = *h;
  big_need_ = h->body_bytes();
  big_have_ = avail - kFrameHeaderBytes;
  big_capacity_ = std::min(big_need_, std::max(kBigChunkBytes, big_have_));
  big_.reset(new uint8_t[big_capacity_]);
  if (big_have_) std::memcpy(big_.get(), stage_.data() + start_ + kFrameHeaderBytes, big_have_);
  start_ = end_ = 0;
  return std::optional<Frame>();
}

}  // namespace raft::transport
