// Little-endian fixed-width and varint encoding, and a bounds-checked
// reader that never reads past its input (bad bytes from disk or network
// give an error, never undefined behaviour).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace raft {

// Little-endian whatever the machine. On a little-endian one, a plain copy:
// GCC at -O2 does not merge a loop of byte stores by shifts into one store
// for 64-bit values (8 stores and 8 shifts per value, in every WAL record
// header and wire field).
inline void store_u32(uint8_t* p, uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &v, 4);
  } else {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
  }
}
inline void store_u64(uint8_t* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &v, 8);
  } else {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
  }
}
inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, 4);
  } else {
    for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  }
  return v;
}
inline uint64_t load_u64(const uint8_t* p) {
  uint64_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, 8);
  } else {
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  }
  return v;
}

inline void put_u8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
inline void put_u16(std::string* out, uint16_t v) {
  char b[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
  out->append(b, 2);
}
inline void put_u32(std::string* out, uint32_t v) {
  uint8_t b[4];
  store_u32(b, v);
  out->append(reinterpret_cast<const char*>(b), 4);
}
inline void put_u64(std::string* out, uint64_t v) {
  uint8_t b[8];
  store_u64(b, v);
  out->append(reinterpret_cast<const char*>(b), 8);
}
inline void put_varint(std::string* out, uint64_t v) {
  char b[10];  // one append, not a push_back per byte
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<char>(v);
  out->append(b, n);
}
inline void put_bytes(std::string* out, std::string_view s) {
  put_varint(out, s.size());
  out->append(s);
}

// Reads values off a byte span. Once a read fails, every later read fails
// too and ok() is false, so a decoder can read a whole record and check
// once at the end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : p_(in.data()), end_(in.data() + in.size()) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* position() const { return p_; }

  uint8_t u8() { return static_cast<uint8_t>(fixed(1)); }
  uint16_t u16() { return static_cast<uint16_t>(fixed(2)); }
  uint32_t u32() { return static_cast<uint32_t>(fixed(4)); }
  uint64_t u64() { return fixed(8); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!ok_ || p_ == end_) return fail();
      uint8_t b = *p_++;
      if (shift == 63 && b > 1) return fail();  // would overflow 64 bits
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail();
  }
  // A view of the next n bytes (valid as long as the input is).
  std::span<const uint8_t> bytes(size_t n) {
    if (!ok_ || remaining() < n) {
      fail();
      return {};
    }
    std::span<const uint8_t> s(p_, n);
    p_ += n;
    return s;
  }
  // A varint length followed by that many bytes; `max` bounds the length.
  std::string_view length_prefixed(size_t max) {
    uint64_t n = varint();
    if (!ok_ || n > max || n > remaining()) {
      fail();
      return {};
    }
    auto s = bytes(static_cast<size_t>(n));
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }

 private:
  uint64_t fixed(int n) {
    if (!ok_ || remaining() < static_cast<size_t>(n)) return fail();
    uint64_t v = 0;
    if (n == 4) v = load_u32(p_);
    else if (n == 8) v = load_u64(p_);
    else for (int i = n - 1; i >= 0; --i) v = (v << 8) | p_[i];
    p_ += n;
    return v;
  }
  uint64_t fail() {
    ok_ = false;
    p_ = end_;
    return 0;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

}  // namespace raft
