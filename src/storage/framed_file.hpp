// The framing of libraft's small checksummed files (WAL INTENT, the stable
// state, snapshot meta): a 16-byte header with magic, version, body length
// and CRC-32C, then the body (docs/disk-format.md, "Checksummed small
// files"). Internal to the storage layer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.hpp"

namespace raft::storage {

inline constexpr uint32_t kIntentMagic = 0x544e4952;        // "RINT"
inline constexpr uint32_t kStableStateMagic = 0x41545352;   // "RSTA"
inline constexpr uint32_t kSnapshotMetaMagic = 0x504e5352;  // "RSNP"
inline constexpr uint16_t kFramedVersion = 1;
inline constexpr size_t kFramedHeaderBytes = 16;

std::string encode_framed(uint32_t magic, std::string_view body);

// The body of a framed file, or Corruption / Unsupported naming `path`
// and what is wrong. The view points into `bytes`.
Result<std::string_view> decode_framed(std::string_view bytes, uint32_t magic,
                                       const std::string& path);

}  // namespace raft::storage
