// Recovery tells the truth (docs/disk-format.md, "Recovery"): a torn tail
// of the newest segment is cut with a warning naming file and offset;
// every other kind of damage stops open() with an error that names the
// file, the offset and what is wrong.
#include <gtest/gtest.h>

#include <algorithm>

#include "storage/framed_file.hpp"
#include "storage/memory_file_system.hpp"
#include "storage/wal_format.hpp"
#include "storage/wal_log_store.hpp"
#include "storage_test_util.hpp"
#include "util/coding.hpp"
#include "util/crc32c.hpp"

namespace raft::storage {
namespace {

using testing::cut;
using testing::make_entry;
using testing::poke;
using testing::same_entry;
using testing::slurp;

constexpr char kDir[] = "/wal";

class WalRecoveryTest : public ::testing::Test {
 protected:
  WalOptions options() {
    WalOptions o;
    o.fs = &fs_;
    o.segment_bytes = 4096;
    o.log = [this](LogLevel level, std::string_view m) {
      if (level == LogLevel::kWarning) warnings_.emplace_back(m);
    };
    return o;
  }
  Result<std::unique_ptr<WalLogStore>> open() { return WalLogStore::open(kDir, options()); }

  // Writes entries [1, n] (100-byte payloads, term 1) and syncs; with
  // 4 KiB segments that is about 30 entries a segment.
  void build(uint64_t n) {
    auto s = open();
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    std::vector<Entry> batch;
    for (uint64_t i = 1; i <= n; ++i) batch.push_back(make_entry(i, 1, 100));
    ASSERT_TRUE((*s)->append(batch).ok());
    ASSERT_TRUE((*s)->sync().ok());
  }
  std::vector<std::string> segments() {
    std::vector<std::string> out;
    auto names = fs_.list_dir(kDir);
    for (const auto& name : *names)
      if (name.size() > 4 && name.substr(name.size() - 4) == ".wal") out.push_back(join_path(kDir, name));
    std::sort(out.begin(), out.end());
    return out;
  }
  // File offset of the i-th record (0-based) of a segment of 100-byte entries.
  static uint64_t record_offset(size_t i) { return 32 + i * 128; }

  void expect_all(const WalLogStore& store, uint64_t last) {
    auto& s = const_cast<WalLogStore&>(store);
    std::vector<Entry> out;
    ASSERT_TRUE(s.read(Index(1), Index(last), SIZE_MAX, &out).ok());
    ASSERT_EQ(out.size(), last);
    for (uint64_t i = 1; i <= last; ++i) EXPECT_TRUE(same_entry(out[i - 1], make_entry(i, 1, 100)));
  }

  // Writes a segment file by hand.
  void craft(uint64_t seq, uint64_t first, const std::vector<Entry>& entries,
             bool seal = false, uint64_t zeros_after = 0) {
    uint8_t header[wal::kSegmentHeaderBytes];
    wal::encode_segment_header({seq, Index(first)}, header);
    std::string bytes(reinterpret_cast<char*>(header), sizeof header);
    for (const auto& e : entries) wal::append_entry_record(&bytes, e);
    if (seal) wal::append_seal_record(&bytes, Index(first + entries.size() - 1), seq + 1,
                                      Index(first + entries.size()));
    bytes.append(zeros_after, '\0');
    ASSERT_TRUE(create_dirs_durably(&fs_, kDir).ok());
    std::string path = join_path(kDir, wal::segment_name(seq, Index(first)));
    auto f = fs_.open_file(path, OpenMode::kCreate);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->write_at(0, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).ok());
    ASSERT_TRUE((*f)->sync().ok());
    ASSERT_TRUE(fs_.sync_dir(kDir).ok());
  }
  static std::vector<Entry> entries(uint64_t from, uint64_t to, uint64_t term = 1) {
    std::vector<Entry> v;
    for (uint64_t i = from; i <= to; ++i) v.push_back(make_entry(i, term, 100));
    return v;
  }

  MemoryFileSystem fs_;
  std::vector<std::string> warnings_;
};

void expect_error(const Status& st, ErrorCode code, std::initializer_list<std::string> parts) {
  EXPECT_EQ(st.code(), code) << st.to_string();
  for (const auto& p : parts) EXPECT_NE(st.message().find(p), std::string::npos) << st.to_string() << "\n  lacks: " << p;
}

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

TEST_F(WalRecoveryTest, ZeroedPreallocatedSpaceAfterTheLastRecordIsNotDamage) {
  build(10);
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->last_index(), Index(10));
  EXPECT_TRUE(warnings_.empty());
  expect_all(**s, 10);
}

TEST_F(WalRecoveryTest, ATornLastRecordIsCutWithAWarningNamingFileAndOffset) {
  build(10);
  std::string seg = segments().back();
  poke(&fs_, seg, record_offset(9) + 100, std::string(28, '\0'));  // the tail of record 10 never landed
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->last_index(), Index(9));
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find(base_name(seg)), std::string::npos) << warnings_[0];
  EXPECT_NE(warnings_[0].find("offset " + std::to_string(record_offset(9))), std::string::npos)
      << warnings_[0];
  expect_all(**s, 9);
  // The cut is clean: the log continues and reopens without complaint.
  std::vector<Entry> e{make_entry(10, 1, 100)};
  ASSERT_TRUE((*s)->append(e).ok());
  ASSERT_TRUE((*s)->sync().ok());
  s->reset();
  warnings_.clear();
  auto again = open();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(warnings_.empty());
  expect_all(**again, 10);
}

TEST_F(WalRecoveryTest, GarbageAfterTheLastRecordIsATornWrite) {
  build(10);
  std::string seg = segments().back();
  poke(&fs_, seg, record_offset(10) + 5, "\x13\x37garbage");
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->last_index(), Index(10));
  EXPECT_EQ(warnings_.size(), 1u);
  expect_all(**s, 10);
}

TEST_F(WalRecoveryTest, APartialRecordHeaderAtTheEndOfTheFileIsATornWrite) {
  build(10);
  std::string seg = segments().back();
  cut(&fs_, seg, record_offset(9) + 11);
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->last_index(), Index(9));
  EXPECT_EQ(warnings_.size(), 1u);
}

TEST_F(WalRecoveryTest, ABadChecksumFollowedByValidRecordsIsCorruptionNotATornTail) {
  build(10);
  std::string seg = segments().back();
  poke(&fs_, seg, record_offset(2) + 50, "X");
  auto s = open();
  expect_error(s.status(), ErrorCode::kCorruption,
               {base_name(seg), "offset " + std::to_string(record_offset(2)), "checksum",
                "valid record follows at offset " + std::to_string(record_offset(3))});
  EXPECT_TRUE(warnings_.empty()) << "nothing was cut";
  EXPECT_EQ(slurp(&fs_, seg)[record_offset(2) + 50], 'X') << "the file is left as found";
}

TEST_F(WalRecoveryTest, DamageInAnOlderSegmentIsCorruptionEvenAtItsLastRecord) {
  build(100);
  auto segs = segments();
  ASSERT_GE(segs.size(), 3u);
  // The last record of the first segment: just before its seal.
  std::string bytes = slurp(&fs_, segs[0]);
  uint64_t seal_at = bytes.size() - wal::kSealRecordBytes;
  poke(&fs_, segs[0], seal_at - 3, "?");
  expect_error(open().status(), ErrorCode::kCorruption,
               {base_name(segs[0]), "offset " + std::to_string(seal_at - 128)});
}

TEST_F(WalRecoveryTest, AnOlderSegmentCutShortIsCorruption) {
  build(100);
  auto segs = segments();
  cut(&fs_, segs[1], 32 + 5 * 128);
  expect_error(open().status(), ErrorCode::kCorruption, {base_name(segs[1]), "without a seal"});
}

TEST_F(WalRecoveryTest, AMissingMiddleSegmentIsCorruption) {
  build(120);
  auto segs = segments();
  ASSERT_GE(segs.size(), 4u);
  ASSERT_TRUE(fs_.remove_file(segs[1]).ok());
  expect_error(open().status(), ErrorCode::kCorruption, {"missing segment", base_name(segs[0])});
}

TEST_F(WalRecoveryTest, AMissingNewestSegmentIsCorruptionThanksToTheSeal) {
  build(120);
  auto segs = segments();
  ASSERT_TRUE(fs_.remove_file(segs.back()).ok());
  expect_error(open().status(), ErrorCode::kCorruption,
               {"missing segment", base_name(segs[segs.size() - 2]), base_name(segs.back())});
}

TEST_F(WalRecoveryTest, AnUnknownFormatVersionIsUnsupported) {
  build(5);
  std::string seg = segments().back();
  std::string header = slurp(&fs_, seg).substr(0, 32);
  header[4] = 2;
  uint8_t crc[4];
  store_u32(crc, crc32c(header.data(), 24));
  header.replace(24, 4, reinterpret_cast<char*>(crc), 4);
  poke(&fs_, seg, 0, header);
  expect_error(open().status(), ErrorCode::kUnsupported, {base_name(seg), "version 2"});
}

TEST_F(WalRecoveryTest, ADamagedSegmentHeaderIsCorruption) {
  build(5);
  std::string seg = segments().back();
  poke(&fs_, seg, 17, "\x7f");
  expect_error(open().status(), ErrorCode::kCorruption, {base_name(seg), "header checksum"});
}

TEST_F(WalRecoveryTest, AHeaderThatDisagreesWithItsFileNameIsCorruption) {
  craft(1, 1, entries(1, 3));
  ASSERT_TRUE(fs_.rename(join_path(kDir, wal::segment_name(1, Index(1))),
                         join_path(kDir, wal::segment_name(1, Index(2)))).ok());
  expect_error(open().status(), ErrorCode::kCorruption, {"disagrees with the file name"});
}

TEST_F(WalRecoveryTest, AGapInIndexesBetweenSegmentsIsCorruption) {
  craft(1, 1, entries(1, 5), /*seal=*/true);
  craft(2, 7, entries(7, 9));
  expect_error(open().status(), ErrorCode::kCorruption,
               {wal::segment_name(1, Index(1)), "which starts at 7", "gap"});
}

TEST_F(WalRecoveryTest, ADecreasingTermIsCorruption) {
  auto e = entries(1, 5, 3);
  auto tail = entries(6, 6, 2);
  e.insert(e.end(), tail.begin(), tail.end());
  craft(1, 1, e, false, 1000);
  expect_error(open().status(), ErrorCode::kCorruption,
               {"term 2 after term 3", "offset " + std::to_string(record_offset(5))});
}

TEST_F(WalRecoveryTest, AnInterruptedRollOverDropsTheEmptyNewSegment) {
  craft(1, 1, entries(1, 5), /*seal=*/false, 500);
  craft(2, 6, {}, false, 4000);
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->last_index(), Index(5));
  EXPECT_EQ(segments().size(), 1u);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find(wal::segment_name(2, Index(6))), std::string::npos);
  std::vector<Entry> more = entries(6, 40);
  ASSERT_TRUE((*s)->append(more).ok());
  ASSERT_TRUE((*s)->sync().ok());
  s->reset();
  auto again = open();
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  expect_all(**again, 40);
}

TEST_F(WalRecoveryTest, LeftoversOfInterruptedWritesAreRemovedAtOpen) {
  build(5);
  ASSERT_TRUE(write_file_atomically(&fs_, join_path(kDir, "00000000000000000009-00000000000000000100.wal.tmp"), "x").ok());
  ASSERT_TRUE(write_file_atomically(&fs_, join_path(kDir, "INTENT.tmp"), "half").ok());
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto names = *fs_.list_dir(kDir);
  for (const auto& n : names) EXPECT_EQ(n.find(".tmp"), std::string::npos) << n;
  expect_all(**s, 5);
}

std::string intent(uint8_t kind, uint64_t index) {
  std::string body;
  put_u8(&body, kind);
  put_varint(&body, index);
  return encode_framed(kIntentMagic, body);
}

TEST_F(WalRecoveryTest, ATruncationIntentFoundAtOpenIsCompleted) {
  build(100);
  auto before = segments();
  ASSERT_GE(before.size(), 4u);
  // As if truncate_suffix(40) crashed right after making its intent durable.
  ASSERT_TRUE(write_file_atomically(&fs_, join_path(kDir, "INTENT"), intent(1, 40)).ok());
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->last_index(), Index(39));
  EXPECT_FALSE(*fs_.exists(join_path(kDir, "INTENT")));
  expect_all(**s, 39);
  std::vector<Entry> more{make_entry(40, 2, 10)};
  ASSERT_TRUE((*s)->append(more).ok());
  ASSERT_TRUE((*s)->sync().ok());
  s->reset();
  auto again = open();
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(*(*again)->term_at(Index(40)), Term(2));
}

TEST_F(WalRecoveryTest, ATruncationIntentAtASegmentBoundaryUnsealsTheSegmentBefore) {
  build(100);
  auto segs = segments();
  uint64_t seq;
  Index second_first;
  ASSERT_TRUE(wal::parse_segment_name(base_name(segs[1]), &seq, &second_first));
  // Half done: the segments from the cut on are gone, the seal is not.
  ASSERT_TRUE(write_file_atomically(&fs_, join_path(kDir, "INTENT"), intent(1, second_first.value)).ok());
  for (size_t i = segs.size(); i-- > 1;) ASSERT_TRUE(fs_.remove_file(segs[i]).ok());
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->last_index(), second_first - 1);
}

TEST_F(WalRecoveryTest, AResetIntentFoundAtOpenIsCompleted) {
  build(100);
  ASSERT_TRUE(write_file_atomically(&fs_, join_path(kDir, "INTENT"), intent(2, 5000)).ok());
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->first_index(), Index(5000));
  EXPECT_EQ((*s)->last_index(), Index(4999));
  EXPECT_EQ(segments().size(), 1u);
}

TEST_F(WalRecoveryTest, ADamagedIntentIsCorruption) {
  build(10);
  std::string bytes = intent(1, 5);
  bytes[17] ^= 1;
  ASSERT_TRUE(write_file_atomically(&fs_, join_path(kDir, "INTENT"), bytes).ok());
  expect_error(open().status(), ErrorCode::kCorruption, {"INTENT", "checksum"});
}

TEST_F(WalRecoveryTest, BytesAfterASealAreCorruption) {
  craft(1, 1, entries(1, 5), /*seal=*/true, 0);
  craft(2, 6, entries(6, 8), false, 100);
  poke(&fs_, join_path(kDir, wal::segment_name(1, Index(1))),
       32 + 5 * 128 + wal::kSealRecordBytes, "junk");
  expect_error(open().status(), ErrorCode::kCorruption, {"after the seal"});
}

TEST_F(WalRecoveryTest, TheScannerDescribesDamageWithoutChangingTheFile) {
  build(10);
  std::string seg = segments().back();
  poke(&fs_, seg, record_offset(9) + 40, "\x01");
  std::string before = slurp(&fs_, seg);
  auto f = fs_.open_file(seg, OpenMode::kRead);
  ASSERT_TRUE(f.ok());
  auto scan = wal::scan_segment(f->get(), {});
  ASSERT_TRUE(scan.ok()) << scan.status().to_string();
  EXPECT_EQ(scan->tail, wal::Tail::kTorn);
  EXPECT_EQ(scan->bad_offset, record_offset(9));
  EXPECT_EQ(scan->offsets.size(), 9u);
  EXPECT_EQ(slurp(&fs_, seg), before);
}

TEST_F(WalRecoveryTest, AReadOfARecordDamagedAfterOpenIsCorruptionNotWrongBytes) {
  build(10);
  auto s = open();
  ASSERT_TRUE(s.ok());
  poke(&fs_, segments().back(), record_offset(4) + 60, "!");
  std::vector<Entry> out;
  Status st = (*s)->read(Index(1), Index(10), SIZE_MAX, &out);
  expect_error(st, ErrorCode::kCorruption, {"offset " + std::to_string(record_offset(4))});
}

}  // namespace
}  // namespace raft::storage
