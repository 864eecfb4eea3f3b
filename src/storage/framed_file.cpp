#include "storage/framed_file.hpp"

#include "util/coding.hpp"
#include "util/crc32c.hpp"

namespace raft::storage {

std::string encode_framed(uint32_t magic, std::string_view body) {
  std::string out;
  put_u32(&out, magic);
  put_u16(&out, kFramedVersion);
  put_u16(&out, 0);
  put_u32(&out, static_cast<uint32_t>(body.size()));
  uint32_t crc = crc32c_extend(crc32c(out), body.data(), body.size());
  put_u32(&out, crc);
  out.append(body);
  return out;
}

Result<std::string_view> decode_framed(std::string_view bytes, uint32_t magic,
                                       const std::string& path) {
  if (bytes.size() < kFramedHeaderBytes) {
    return corruption(path + ": offset 0: file is " + std::to_string(bytes.size()) +
                      " bytes, shorter than its 16-byte header");
  }
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (load_u32(p) != magic) return corruption(path + ": offset 0: bad magic number");
  uint16_t version = static_cast<uint16_t>(p[4] | (p[5] << 8));
  if (version != kFramedVersion) {
    return Status(ErrorCode::kUnsupported, path + ": offset 4: format version " +
                                               std::to_string(version) +
                                               ", this build reads version 1");
  }
  uint32_t length = load_u32(p + 8);
  if (bytes.size() - kFramedHeaderBytes != length) {
    return corruption(path + ": offset 8: header says " + std::to_string(length) +
                      " body bytes, the file has " +
                      std::to_string(bytes.size() - kFramedHeaderBytes));
  }
  uint32_t crc = crc32c_extend(crc32c(p, 12), p + kFramedHeaderBytes, length);
  if (crc != load_u32(p + 12)) return corruption(path + ": offset 12: checksum mismatch");
  return bytes.substr(kFramedHeaderBytes);
}

}  // namespace raft::storage
