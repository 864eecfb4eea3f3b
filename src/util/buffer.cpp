#include "util/buffer.hpp"

#include "util/assert.hpp"

namespace raft {

Buffer Buffer::allocate(size_t n, uint8_t** out) {
  if (n == 0) {
    *out = nullptr;
    return Buffer();
  }
  // One allocation holds the control block and the bytes (uninitialised:
  // the caller fills them).
  std::shared_ptr<uint8_t[]> mem = std::make_shared_for_overwrite<uint8_t[]>(n);
  *out = mem.get();
  const uint8_t* p = mem.get();
  return Buffer(std::shared_ptr<const void>(std::move(mem), p), p, n);
}

Buffer Buffer::copy_of(const void* data, size_t n) {
  uint8_t* p = nullptr;
  Buffer b = allocate(n, &p);
  if (n) std::memcpy(p, data, n);
  return b;
}

Buffer Buffer::from_string(std::string s) {
  if (s.empty()) return Buffer();
  auto owner = std::make_shared<const std::string>(std::move(s));
  const auto* p = reinterpret_cast<const uint8_t*>(owner->data());
  size_t n = owner->size();
  return Buffer(std::move(owner), p, n);
}

Buffer Buffer::slice(size_t offset, size_t n) const {
  RAFT_ASSERT(offset <= size_ && n <= size_ - offset);
  if (n == 0) return Buffer();
  return Buffer(owner_, data_ + offset, n);
}

}  // namespace raft
