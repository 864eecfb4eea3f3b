// CRC-32C (Castagnoli): the checksum of every record and file libraft
// writes (docs/disk-format.md). Uses the SSE4.2 crc32 instruction when the
// CPU has it (checked once at run time) and a table otherwise; both give
// the same answer.
//
// Thread safety: pure functions, callable from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace raft {

// The CRC-32C of `n` bytes appended to data whose CRC-32C is `crc`
// (crc32c_extend(0, ...) starts a new checksum). Unmasked.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);

inline uint32_t crc32c(const void* data, size_t n) { return crc32c_extend(0, data, n); }
inline uint32_t crc32c(std::span<const uint8_t> s) { return crc32c(s.data(), s.size()); }
inline uint32_t crc32c(std::string_view s) { return crc32c(s.data(), s.size()); }

namespace detail {
// The two implementations behind crc32c_extend, exposed so a test can
// check that they agree. crc32c_extend_hardware must only be called when
// crc32c_hardware_available() is true.
uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t n);
uint32_t crc32c_extend_hardware(uint32_t crc, const void* data, size_t n);
bool crc32c_hardware_available();
}  // namespace detail

}  // namespace raft
