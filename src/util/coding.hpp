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
template <class T>
inline void store_le(uint8_t* p, T v) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &v, sizeof v);
  } else {
    for (size_t i = 0; i < sizeof v; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
  }
}
template <class T>
inline T load_le(const uint8_t* p) {
  T v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, sizeof v);
  } else {
    for (size_t i = sizeof v; i-- > 0;) v = static_cast<T>((v << 8) | p[i]);
  }
  return v;
}
inline void store_u32(uint8_t* p, uint32_t v) { store_le(p, v); }
inline void store_u64(uint8_t* p, uint64_t v) { store_le(p, v); }
inline uint32_t load_u32(const uint8_t* p) { return load_le<uint32_t>(p); }
inline uint64_t load_u64(const uint8_t* p) { return load_le<uint64_t>(p); }

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

  uint8_t u8() { return fixed<uint8_t>(); }
  uint16_t u16() { return fixed<uint16_t>(); }
  uint32_t u32() { return fixed<uint32_t>(); }
  uint64_t u64() { return fixed<uint64_t>(); }
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
  template <class T>
  T fixed() {
    if (!ok_ || remaining() < sizeof(T)) return static_cast<T>(fail());
    T v = load_le<T>(p_);
    p_ += sizeof(T);
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
