// Implements docs/disk-format.md, "WAL: segments".
#include "storage/wal_format.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "util/coding.hpp"
#include "util/crc32c.hpp"

namespace raft::storage::wal {

std::string segment_name(uint64_t seq, Index first) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%020" PRIu64 "-%020" PRIu64 ".wal", seq, first.value);
  return buf;
}

namespace {

// The 20 decimal digits at name[at, at + 20) as a number; false if they
// are not all digits or overflow.
bool parse_digits20(const std::string& name, size_t at, uint64_t* out) {
  uint64_t x = 0;
  for (size_t i = at; i < at + 20; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (x > (UINT64_MAX - d) / 10) return false;
    x = x * 10 + d;
  }
  *out = x;
  return true;
}

// "<prefix><20 digits>", the names of spares and trash.
std::string numbered_name(std::string_view prefix, uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020" PRIu64, n);
  return std::string(prefix) + buf;
}

bool parse_numbered_name(const std::string& name, std::string_view prefix, uint64_t* n) {
  if (name.size() != prefix.size() + 20 || name.compare(0, prefix.size(), prefix) != 0) return false;
  return parse_digits20(name, prefix.size(), n);
}

}  // namespace

bool parse_segment_name(const std::string& name, uint64_t* seq, Index* first) {
  if (name.size() != 45 || name[20] != '-' || name.compare(41, 4, ".wal") != 0) return false;
  uint64_t s, f;
  if (!parse_digits20(name, 0, &s) || !parse_digits20(name, 21, &f)) return false;
  *seq = s;
  *first = Index(f);
  return true;
}

std::string spare_name(uint64_t seq) { return numbered_name("spare-", seq); }

bool parse_spare_name(const std::string& name, uint64_t* seq) {
  return parse_numbered_name(name, "spare-", seq);
}

std::string trash_name(uint64_t n) { return numbered_name("trash-", n); }

bool parse_trash_name(const std::string& name, uint64_t* n) { return parse_numbered_name(name, "trash-", n); }

void encode_segment_header(const SegmentHeader& h, uint8_t out[kSegmentHeaderBytes]) {
  std::memset(out, 0, kSegmentHeaderBytes);
  store_u32(out, kSegmentMagic);
  out[4] = static_cast<uint8_t>(h.version);
  out[5] = static_cast<uint8_t>(h.version >> 8);
  out[6] = static_cast<uint8_t>(h.flags);
  out[7] = static_cast<uint8_t>(h.flags >> 8);
  store_u64(out + 8, h.seq);
  store_u64(out + 16, h.first.value);
  store_u32(out + 24, crc32c(out, 24));
}

Status decode_segment_header(const uint8_t in[kSegmentHeaderBytes], const std::string& path,
                             SegmentHeader* out) {
  if (load_u32(in) != kSegmentMagic)
    return corruption(path + ": offset 0: not a WAL segment (bad magic number)");
  uint16_t version = static_cast<uint16_t>(in[4] | (in[5] << 8));
  if (crc32c(in, 24) != load_u32(in + 24))
    return corruption(path + ": offset 24: segment header checksum mismatch");
  if (version < kFormatVersionOldest || version > kFormatVersion) {
    return Status(ErrorCode::kUnsupported, path + ": offset 4: WAL format version " +
                                               std::to_string(version) +
                                               ", this build reads versions 1 and 2");
  }
  uint16_t flags = static_cast<uint16_t>(in[6] | (in[7] << 8));
  uint16_t known_flags = version >= 2 ? kFlagRecycled : 0;
  if ((flags & ~known_flags) != 0 || load_u32(in + 28) != 0)
    return corruption(path + ": segment header has non-zero reserved fields");
  out->version = version;
  out->flags = flags;
  out->seq = load_u64(in + 8);
  out->first = Index(load_u64(in + 16));
  if (out->first < Index(1)) return corruption(path + ": offset 16: first index 0");
  return Status();
}

namespace {

void put_record_header(std::string* out, uint32_t length, uint8_t kind, uint8_t entry_type,
                       uint64_t index, uint64_t term) {
  // Built on the stack and appended whole.
  uint8_t p[kRecordHeaderBytes];
  store_u32(p, 0);  // the CRC, filled in by finish_record
  store_u32(p + 4, length);
  p[8] = kind;
  p[9] = entry_type;
  p[10] = 0;
  p[11] = 0;
  store_u64(p + 12, index);
  store_u64(p + 20, term);
  out->append(reinterpret_cast<const char*>(p), sizeof p);
}

// Fills in the CRC of the record that starts at `at` and runs to the end of *out.
void finish_record(std::string* out, size_t at, uint32_t seed) {
  auto* p = reinterpret_cast<uint8_t*>(out->data() + at);
  store_u32(p, crc32c_extend(seed, p + 4, out->size() - at - 4));
}

}  // namespace

uint32_t record_seed(const SegmentHeader& h) {
  if (h.version < 2) return 0;
  uint8_t seq[8];
  store_u64(seq, h.seq);
  return crc32c(seq, sizeof seq);
}

void append_entry_record(std::string* out, const Entry& e, uint32_t seed) {
  size_t at = out->size();
  put_record_header(out, static_cast<uint32_t>(e.data.size()), kKindEntry,
                    static_cast<uint8_t>(e.type), e.index.value, e.term.value);
  out->append(reinterpret_cast<const char*>(e.data.data()), e.data.size());
  finish_record(out, at, seed);
}

void append_seal_record(std::string* out, Index last, uint64_t next_seq, Index next_first,
                        uint32_t seed) {
  size_t at = out->size();
  put_record_header(out, kSealPayloadBytes, kKindSeal, 0, last.value, 0);
  put_u64(out, next_seq);
  put_u64(out, next_first.value);
  finish_record(out, at, seed);
}

RecordHeader parse_record_header(const uint8_t* p) {
  RecordHeader h;
  h.crc = load_u32(p);
  h.length = load_u32(p + 4);
  h.kind = p[8];
  h.entry_type = p[9];
  h.reserved = static_cast<uint16_t>(p[10] | (p[11] << 8));
  h.index = load_u64(p + 12);
  h.term = load_u64(p + 20);
  return h;
}

uint32_t record_crc(uint32_t seed, const uint8_t* header, const uint8_t* payload, size_t length) {
  return crc32c_extend(crc32c_extend(seed, header + 4, kRecordHeaderBytes - 4), payload, length);
}

std::string SegmentScan::damage() const {
  return path + ": offset " + std::to_string(bad_offset) + ": " + bad_reason;
}

namespace {

// Sequential reads through one reusable window, so scanning a segment of
// any size holds at most max(window, one record header) bytes.
class WindowReader {
 public:
  WindowReader(File* file, uint64_t size, size_t window)
      : file_(file), size_(size), window_(std::max<size_t>(window, 4096)) {}

  // Bytes [off, off + n); n <= window and off + n <= size. Valid until the
  // next call.
  Result<const uint8_t*> at(uint64_t off, size_t n) {
    if (off >= start_ && off + n <= start_ + len_) return buf_.data() + (off - start_);
    size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(window_, n), size_ - off));
    buf_.resize(want);
    RAFT_RETURN_IF_ERROR(read_exact(file_, off, {buf_.data(), want}));
    start_ = off;
    len_ = want;
    return buf_.data();
  }

  size_t window() const { return window_; }
  File* file() const { return file_; }

 private:
  File* file_;
  uint64_t size_;
  size_t window_;
  std::vector<uint8_t> buf_;
  uint64_t start_ = 0;
  size_t len_ = 0;
};

// Why a header cannot start a record at `pos`, or nullptr if it can.
const char* check_fields(const RecordHeader& h, uint64_t pos, uint64_t size, std::string* why) {
  if (h.kind != kKindEntry && h.kind != kKindSeal) {
    *why = "unknown record kind " + std::to_string(h.kind);
    return why->c_str();
  }
  if (h.reserved != 0) {
    *why = "reserved record field is not zero";
    return why->c_str();
  }
  if (h.kind == kKindEntry && !entry_type_valid(h.entry_type)) {
    *why = "unknown entry type " + std::to_string(h.entry_type);
    return why->c_str();
  }
  if (h.kind == kKindSeal && (h.entry_type != 0 || h.length != kSealPayloadBytes)) {
    *why = "malformed seal record";
    return why->c_str();
  }
  if (h.length > kPayloadBytesMax) {
    *why = "record length " + std::to_string(h.length) + " exceeds the 1 GiB limit";
    return why->c_str();
  }
  uint64_t left = size - pos - kRecordHeaderBytes;
  if (h.length > left) {
    *why = "record of " + std::to_string(h.length) + " payload bytes runs past the end of the file (" +
           std::to_string(left) + " bytes left)";
    return why->c_str();
  }
  return nullptr;
}

// Whether the record at `pos` (fields already checked) has a good CRC.
Result<bool> crc_matches(WindowReader* r, uint64_t pos, const RecordHeader& h, uint32_t seed) {
  size_t total = kRecordHeaderBytes + h.length;
  if (total <= r->window()) {
    auto p = r->at(pos, total);
    if (!p.ok()) return p.status();
    return record_crc(seed, *p, *p + kRecordHeaderBytes, h.length) == h.crc;
  }
  // A record larger than the window: checksum it piece by piece.
  auto hp = r->at(pos, kRecordHeaderBytes);
  if (!hp.ok()) return hp.status();
  uint32_t crc = crc32c_extend(seed, *hp + 4, kRecordHeaderBytes - 4);
  uint64_t off = pos + kRecordHeaderBytes;
  uint64_t left = h.length;
  while (left > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, r->window()));
    auto p = r->at(off, n);
    if (!p.ok()) return p.status();
    crc = crc32c_extend(crc, *p, n);
    off += n;
    left -= n;
  }
  return crc == h.crc;
}

bool all_zero(const uint8_t* p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    if (v) return false;
  }
  for (; i < n; ++i)
    if (p[i]) return false;
  return true;
}

Result<bool> range_is_zero(WindowReader* r, uint64_t from, uint64_t to) {
  while (from < to) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(to - from, r->window()));
    auto p = r->at(from, n);
    if (!p.ok()) return p.status();
    if (!all_zero(*p, n)) return false;
    from += n;
  }
  return true;
}

// Looks for a record with a good checksum that starts after `bad` and
// carries an index no lower than `expected`: proof that the damage at
// `bad` is not the end of an interrupted write. Returns its offset or 0.
Result<uint64_t> find_valid_record_after(WindowReader* r, uint64_t bad, uint64_t size,
                                         Index expected, uint32_t seed) {
  uint64_t q = bad + 1;
  // More records than this cannot fit in the file; a larger index is noise.
  uint64_t index_span = size / kRecordHeaderBytes + 2;
  std::string why;
  while (q + kRecordHeaderBytes <= size) {
    uint64_t end = std::min<uint64_t>(size, q + r->window());
    if (end - q < kRecordHeaderBytes) break;
    for (uint64_t k = q; k + kRecordHeaderBytes <= end; ++k) {
      auto w = r->at(k, kRecordHeaderBytes);
      if (!w.ok()) return w.status();
      const uint8_t* b = *w;
      if (b[8] != kKindEntry && b[8] != kKindSeal) continue;
      RecordHeader h = parse_record_header(b);
      uint64_t low = h.kind == kKindSeal ? expected.value - 1 : expected.value;
      if (h.index < low || h.index - low > index_span) continue;
      if (check_fields(h, k, size, &why) != nullptr) continue;
      auto good = crc_matches(r, k, h, seed);
      if (!good.ok()) return good.status();
      if (*good) return k;
    }
    if (end == size) break;
    q = end - kRecordHeaderBytes + 1;
  }
  return uint64_t{0};
}

}  // namespace

Result<SegmentScan> scan_segment(File* file, const ScanOptions& options) {
  SegmentScan s;
  s.path = file->path();
  auto size = file->size();
  if (!size.ok()) return size.status();
  s.file_size = *size;
  if (s.file_size < kSegmentHeaderBytes) {
    return corruption(s.path + ": offset 0: file is " + std::to_string(s.file_size) +
                      " bytes, shorter than the 32-byte segment header");
  }
  WindowReader r(file, s.file_size, options.read_bytes);
  {
    auto p = r.at(0, kSegmentHeaderBytes);
    if (!p.ok()) return p.status();
    RAFT_RETURN_IF_ERROR(decode_segment_header(*p, s.path, &s.header));
  }

  const uint32_t seed = record_seed(s.header);
  uint64_t pos = kSegmentHeaderBytes;
  Index expected = s.header.first;
  Term prev_term = options.prev_term;
  std::string why;
  const char* bad = nullptr;  // the reason the record at pos is not one
  for (;;) {
    if (pos == s.file_size) break;
    uint64_t left = s.file_size - pos;
    if (left < kRecordHeaderBytes) {
      why = "partial record header (" + std::to_string(left) + " bytes before the end of the file)";
      bad = why.c_str();
      break;
    }
    auto p = r.at(pos, kRecordHeaderBytes);
    if (!p.ok()) return p.status();
    if (all_zero(*p, kRecordHeaderBytes)) {
      bad = "zero bytes where a record header should be";
      break;
    }
    RecordHeader h = parse_record_header(*p);
    if ((bad = check_fields(h, pos, s.file_size, &why)) != nullptr) break;
    auto good = crc_matches(&r, pos, h, seed);
    if (!good.ok()) return good.status();
    if (!*good) {
      bad = "record checksum mismatch";
      break;
    }
    // A record with a good checksum was written this way: anything wrong
    // with it from here on is corruption, never a torn write.
    if (h.kind == kKindSeal) {
      if (options.drop_seal) {
        s.stopped = true;
        break;
      }
      if (s.offsets.empty() || h.index != expected.value - 1) {
        s.tail = Tail::kCorrupt;
        s.bad_offset = pos;
        s.bad_reason = "seal names last index " + std::to_string(h.index) + ", expected " +
                       std::to_string(expected.value - 1);
        break;
      }
      auto sp = r.at(pos + kRecordHeaderBytes, kSealPayloadBytes);
      if (!sp.ok()) return sp.status();
      s.next_seq = load_u64(*sp);
      s.next_first = Index(load_u64(*sp + 8));
      if (s.next_first != expected || s.next_seq != s.header.seq + 1) {
        s.tail = Tail::kCorrupt;
        s.bad_offset = pos;
        s.bad_reason = "seal names a successor (seq " + std::to_string(s.next_seq) +
                       ", first index " + std::to_string(s.next_first.value) +
                       ") that does not follow this segment";
        break;
      }
      s.sealed = true;
      auto rest_zero = range_is_zero(&r, pos + kSealRecordBytes, s.file_size);
      if (!rest_zero.ok()) return rest_zero.status();
      if (!*rest_zero) {
        s.tail = Tail::kCorrupt;
        s.bad_offset = pos + kSealRecordBytes;
        s.bad_reason = "non-zero bytes after the seal";
      }
      break;
    }
    if (Index(h.index) >= options.stop_at) {
      s.stopped = true;
      break;
    }
    if (h.index != expected.value || Term(h.term) < prev_term || pos > UINT32_MAX) {
      s.tail = Tail::kCorrupt;
      s.bad_offset = pos;
      if (h.index != expected.value) {
        s.bad_reason = "record has index " + std::to_string(h.index) + ", expected " +
                       std::to_string(expected.value);
      } else if (Term(h.term) < prev_term) {
        s.bad_reason = "record has term " + std::to_string(h.term) + " after term " +
                       std::to_string(prev_term.value);
      } else {
        s.bad_reason = "record starts beyond 4 GiB";
      }
      break;
    }
    if (s.term_runs.empty() || s.term_runs.back().second != Term(h.term))
      s.term_runs.emplace_back(Index(h.index), Term(h.term));
    s.offsets.push_back(static_cast<uint32_t>(pos));
    prev_term = Term(h.term);
    ++expected;
    pos += kRecordHeaderBytes + h.length;
  }
  s.end_offset = pos;
  s.last_term = prev_term;
  if (bad == nullptr) return s;

  // The records end at `pos`. Zeros from here on are preallocated space;
  // anything else is a torn write, unless a valid record follows, which
  // no interrupted append could have left behind.
  auto zero = range_is_zero(&r, pos, s.file_size);
  if (!zero.ok()) return zero.status();
  if (*zero) return s;
  s.bad_offset = pos;
  s.bad_reason = bad;
  auto later = find_valid_record_after(&r, pos, s.file_size, expected, seed);
  if (!later.ok()) return later.status();
  if (*later != 0) {
    s.tail = Tail::kCorrupt;
    s.valid_after_offset = *later;
    s.bad_reason += "; a valid record follows at offset " + std::to_string(*later) +
                    ", so this is damage, not an interrupted write";
  } else {
    s.tail = Tail::kTorn;
  }
  return s;
}

}  // namespace raft::storage::wal
