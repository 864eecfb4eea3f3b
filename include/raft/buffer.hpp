// Buffer: an immutable, reference-counted run of bytes (public: the C++
// API takes commands as Buffers so that they are never copied).
//
// A command's bytes are written once into a Buffer; the log, the wire
// encoder (scatter-gather writes) and the FSM all share that one
// allocation (DESIGN.md, "Zero copy"). Copying a Buffer copies a pointer
// and bumps a reference count; slice() shares the same storage.
//
// Thread safety: a Buffer may be copied and read from any thread; the
// bytes never change after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace raft {

class Buffer {
 public:
  Buffer() noexcept = default;

  // Copies n bytes from data.
  static Buffer copy_of(const void* data, size_t n);
  static Buffer copy_of(std::string_view s) { return copy_of(s.data(), s.size()); }
  // A buffer of n bytes the caller fills through `out` before sharing it.
  static Buffer allocate(size_t n, uint8_t** out);
  // Takes ownership of a string's storage (no copy of the bytes).
  static Buffer from_string(std::string s);
  // Wraps bytes kept alive by `owner` (no copy). The bytes must not change
  // while any Buffer refers to them.
  static Buffer wrap(const void* data, size_t n, std::shared_ptr<const void> owner) {
    return Buffer(std::move(owner), static_cast<const uint8_t*>(data), n);
  }

  const uint8_t* data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const uint8_t> span() const noexcept { return {data_, size_}; }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(data_), size_};
  }
  std::string to_string() const { return std::string(view()); }

  // A view of bytes [offset, offset + n) sharing this buffer's storage.
  Buffer slice(size_t offset, size_t n) const;

  friend bool operator==(const Buffer& a, const Buffer& b) noexcept {
    return a.size_ == b.size_ &&
           (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_) == 0);
  }

 private:
  Buffer(std::shared_ptr<const void> owner, const uint8_t* data, size_t n)
      : owner_(std::move(owner)), data_(data), size_(n) {}

  std::shared_ptr<const void> owner_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace raft
