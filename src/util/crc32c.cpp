#include "util/crc32c.hpp"

#include <array>
#include <cstring>

#include "util/coding.hpp"

namespace raft {
namespace detail {
namespace {

constexpr uint32_t kPolynomial = 0x82f63b78;  // reflected Castagnoli

// Slicing-by-8 tables: kTables[k][b] is the CRC of byte b followed by k
// zero bytes, so eight bytes are folded with eight lookups instead of a
// dependent chain of eight.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1) ? kPolynomial : 0);
    t[0][b] = c;
  }
  for (size_t k = 1; k < 8; ++k)
    for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  return t;
}

constexpr Tables kTables = make_tables();

}  // namespace

uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    uint64_t v = load_u64(p) ^ c;
    c = kTables[7][v & 0xff] ^ kTables[6][(v >> 8) & 0xff] ^ kTables[5][(v >> 16) & 0xff] ^
        kTables[4][(v >> 24) & 0xff] ^ kTables[3][(v >> 32) & 0xff] ^
        kTables[2][(v >> 40) & 0xff] ^ kTables[1][(v >> 48) & 0xff] ^ kTables[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xff];
  return ~c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

// The crc32 instruction computes exactly this CRC (same polynomial, same
// bit order); the target attribute lets this one function use SSE4.2
// while the rest of the library stays baseline x86-64.
__attribute__((target("sse4.2"))) uint32_t crc32c_extend_hardware(uint32_t crc,
                                                                   const void* data,
                                                                   size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = ~crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);  // x86 is little endian, as the CRC expects
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return ~c32;
}

bool crc32c_hardware_available() {
  static const bool available = __builtin_cpu_supports("sse4.2");
  return available;
}

#else

uint32_t crc32c_extend_hardware(uint32_t crc, const void* data, size_t n) {
  return crc32c_extend_portable(crc, data, n);
}
bool crc32c_hardware_available() { return false; }

#endif

}  // namespace detail

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) {
  return detail::crc32c_hardware_available() ? detail::crc32c_extend_hardware(crc, data, n)
                                              : detail::crc32c_extend_portable(crc, data, n);
}

}  // namespace raft
