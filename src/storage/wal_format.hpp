// The WAL's on-disk format: segment names and headers, record framing, and
// the scanner that reads a segment back and says exactly what it found.
// The format itself is specified in docs/disk-format.md ("WAL"); this file
// implements it and must agree with it byte for byte.
//
// The scanner is shared by recovery (WalLogStore::open), raft_dump and the
// fuzz target, so all three classify damage the same way. It never
// changes a file; the caller decides what to do with a torn tail.
//
// Thread safety: free functions over values; scan_segment reads the File
// it is given and must not race with writers of that file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/file_system.hpp"
#include "util/types.hpp"

namespace raft::storage::wal {

inline constexpr uint32_t kSegmentMagic = 0x4c415752;  // "RWAL"
// Version 2 (written by this build) binds every record's checksum to its
// segment's sequence number, so that a recycled file's stale records can
// never pass for new ones. Version 1 segments are still read and appended
// to (with version 1 records) until they fill up.
inline constexpr uint16_t kFormatVersion = 2;
inline constexpr uint16_t kFormatVersionOldest = 1;
// Segment header flag (version 2): the file was recycled, so bytes after
// its records may be left from its earlier use rather than zeros.
inline constexpr uint16_t kFlagRecycled = 1;
inline constexpr size_t kSegmentHeaderBytes = 32;
inline constexpr size_t kRecordHeaderBytes = 28;
inline constexpr size_t kSealPayloadBytes = 16;
inline constexpr size_t kSealRecordBytes = kRecordHeaderBytes + kSealPayloadBytes;
inline constexpr uint32_t kPayloadBytesMax = 1u << 30;

inline constexpr uint8_t kKindEntry = 1;
inline constexpr uint8_t kKindSeal = 2;

// "<seq>-<first>.wal", both 20 decimal digits.
std::string segment_name(uint64_t seq, Index first);
bool parse_segment_name(const std::string& name, uint64_t* seq, Index* first);
// "spare-<seq>" (20 decimal digits): a segment file kept for reuse; <seq>
// is the seq it last had.
std::string spare_name(uint64_t seq);
bool parse_spare_name(const std::string& name, uint64_t* seq);
// "trash-<n>" (20 decimal digits): a file that left the log and waits to
// be deleted a little at a time (FileReclaimer); <n> only keeps the names
// apart. Never read.
std::string trash_name(uint64_t n);
bool parse_trash_name(const std::string& name, uint64_t* n);

struct SegmentHeader {
  uint64_t seq = 0;
  Index first;
  uint16_t version = kFormatVersion;
  uint16_t flags = 0;  // version 2 only
};
void encode_segment_header(const SegmentHeader& h, uint8_t out[kSegmentHeaderBytes]);
// Corruption or Unsupported naming `path` and the offset.
Status decode_segment_header(const uint8_t in[kSegmentHeaderBytes], const std::string& path,
                             SegmentHeader* out);

// The value every record checksum of a segment starts from: 0 in version
// 1, the CRC-32C of the segment's seq (u64, little endian) in version 2.
uint32_t record_seed(const SegmentHeader& h);

// Appends one framed entry record to *out, for a segment whose records
// start from `seed`.
void append_entry_record(std::string* out, const Entry& e, uint32_t seed);
// Appends a seal record: the segment's last index and its successor.
void append_seal_record(std::string* out, Index last, uint64_t next_seq, Index next_first,
                        uint32_t seed);

struct RecordHeader {
  uint32_t crc = 0;
  uint32_t length = 0;
  uint8_t kind = 0;
  uint8_t entry_type = 0;
  uint16_t reserved = 0;
  uint64_t index = 0;
  uint64_t term = 0;
};
RecordHeader parse_record_header(const uint8_t* p);
// The CRC a record with this header and payload must carry in a segment
// whose records start from `seed`.
uint32_t record_crc(uint32_t seed, const uint8_t* header, const uint8_t* payload, size_t length);

// What scan_segment found at the end of a segment's records.
enum class Tail {
  kClean,    // the records end at a seal, at the end of the file, or
             // before bytes that are all zero (preallocated space)
  kTorn,     // a bad record with no valid record after it: an interrupted
             // write, or (in a recycled segment) bytes left from the file's
             // earlier use
  kCorrupt,  // damage that no interrupted write explains
};

struct ScanOptions {
  // The term of the entry before this segment (0 for none): terms never go down.
  Term prev_term;
  // Entries with index >= stop_at end the scan as if the file ended there
  // (re-applying a truncation intent); end_offset is then their offset.
  Index stop_at{UINT64_MAX};
  // A seal ends the scan as if the file ended there (its successors were
  // removed by a truncation intent).
  bool drop_seal = false;
  // Window for sequential reads; records larger than it are checked in
  // pieces, so memory stays bounded by this.
  size_t read_bytes = 1 << 20;
};

struct SegmentScan {
  std::string path;
  SegmentHeader header;
  uint64_t file_size = 0;
  // offsets[i] is the file offset of entry header.first + i.
  std::vector<uint32_t> offsets;
  // (first index, term) at each change of term, in index order.
  std::vector<std::pair<Index, Term>> term_runs;
  Term last_term;
  // The byte after the last good entry record: where the next record goes,
  // or where a torn tail is cut.
  uint64_t end_offset = kSegmentHeaderBytes;
  bool stopped = false;  // hit ScanOptions::stop_at or drop_seal
  bool sealed = false;
  uint64_t next_seq = 0;  // from the seal
  Index next_first;       // from the seal
  Tail tail = Tail::kClean;
  // For kTorn and kCorrupt: where and what. For kCorrupt caused by a
  // valid record after a bad one, valid_after_offset says where that one is.
  uint64_t bad_offset = 0;
  std::string bad_reason;
  uint64_t valid_after_offset = 0;

  Index last_index() const { return header.first + offsets.size() - 1; }
  // "file: offset N: reason" for kTorn and kCorrupt.
  std::string damage() const;
};

// Reads a whole segment, checking the header, every record's framing and
// checksum, index order and terms. Returns an error only for I/O failures
// and a bad header (Corruption / Unsupported naming the file); damage
// after the header is described in the result.
Result<SegmentScan> scan_segment(File* file, const ScanOptions& options);

}  // namespace raft::storage::wal
