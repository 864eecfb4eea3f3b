// Recovery tells the truth (docs/disk-format.md, "Recovery"): a torn tail
// of the newest segment is cut with a warning naming file and offset;
// every other kind of damage stops open() with an error that names the
// file, the offset and what is wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

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
             bool seal = false, uint64_t zeros_after = 0, uint16_t version = wal::kFormatVersion) {
    uint8_t header[wal::kSegmentHeaderBytes];
    wal::SegmentHeader h{seq, Index(first), version};
    wal::encode_segment_header(h, header);
    std::string bytes(reinterpret_cast<char*>(header), sizeof header);
    for (const auto& e : entries) wal::append_entry_record(&bytes, e, wal::record_seed(h));
    if (seal) wal::append_seal_record(&bytes, Index(first + entries.size() - 1), seq + 1,
                                      Index(first + entries.size()), wal::record_seed(h));
    bytes.append(zeros_after, '\0');
    ASSERT_TRUE(create_dirs_durably(&fs_, kDir).ok());
    std::string path = join_path(kDir, wal::segment_name(seq, Index(first)));
    auto f = fs_.open_file(path, OpenMode::kCreate);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->write_at(0, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).ok());
    ASSERT_TRUE((*f)->sync().ok());
    ASSERT_TRUE(fs_.sync_dir(kDir).ok());
  }
  // A spare (docs/disk-format.md, "Spare segments"): a sealed segment of
  // entries [first, last] that had seq `seq`, renamed as drop_prefix does.
  void craft_spare(uint64_t seq, uint64_t first, uint64_t last) {
    craft(seq, first, entries(first, last), /*seal=*/true);
    ASSERT_TRUE(fs_.rename(join_path(kDir, wal::segment_name(seq, Index(first))),
                           join_path(kDir, wal::spare_name(seq)))
                    .ok());
  }
  // The recovered log goes on: entry last + 1 is appended and synced, and
  // a reopen finds [1, last + 1].
  void expect_goes_on(std::unique_ptr<WalLogStore> s, uint64_t last) {
    std::vector<Entry> e{make_entry(last + 1, 1, 100)};
    ASSERT_TRUE(s->append(e).ok());
    ASSERT_TRUE(s->sync().ok());
    s.reset();
    auto again = open();
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    expect_all(**again, last + 1);
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

TEST_F(WalRecoveryTest, ANewestSegmentCutAtARecordBoundaryIsReportedNotSilent) {
  // No torn record is left, so nothing in the file shows the cut; only its
  // size, short of the preallocated segment size, does.
  build(10);
  std::string seg = segments().back();
  cut(&fs_, seg, record_offset(5));
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->last_index(), Index(5));
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find(base_name(seg)), std::string::npos) << warnings_[0];
  EXPECT_NE(warnings_[0].find("entry 5"), std::string::npos) << warnings_[0];
  EXPECT_NE(warnings_[0].find("cut"), std::string::npos) << warnings_[0];
  // Preallocated again: the next open is quiet.
  s->reset();
  warnings_.clear();
  auto again = open();
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_TRUE(warnings_.empty()) << warnings_[0];
  expect_all(**again, 5);
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
  header[4] = 3;
  uint8_t crc[4];
  store_u32(crc, crc32c(header.data(), 24));
  header.replace(24, 4, reinterpret_cast<char*>(crc), 4);
  poke(&fs_, seg, 0, header);
  expect_error(open().status(), ErrorCode::kUnsupported, {base_name(seg), "version 3"});
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
  ASSERT_TRUE(write_file_atomically(&fs_, join_path(kDir, wal::spare_name(0) + ".tmp"), "zeros, half").ok());
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


// ---------------------------------------------------------------------------
// Spare segments (docs/disk-format.md, "Spare segments")

// The names in kDir that `parse` accepts.
std::vector<std::string> names_of(MemoryFileSystem* fs, bool (*parse)(const std::string&, uint64_t*)) {
  std::vector<std::string> out;
  uint64_t n;
  auto names = fs->list_dir(kDir);
  EXPECT_TRUE(names.ok());
  if (!names.ok()) return out;
  for (const auto& name : *names)
    if (parse(name, &n)) out.push_back(name);
  return out;
}
std::vector<std::string> spares(MemoryFileSystem* fs) { return names_of(fs, wal::parse_spare_name); }
std::vector<std::string> trash(MemoryFileSystem* fs) { return names_of(fs, wal::parse_trash_name); }
uint16_t header_flags(MemoryFileSystem* fs, const std::string& path) {
  std::string h = slurp(fs, path).substr(0, wal::kSegmentHeaderBytes);
  return static_cast<uint16_t>(static_cast<uint8_t>(h[6]) | (static_cast<uint8_t>(h[7]) << 8));
}
Index first_of(const std::string& path) {
  uint64_t seq;
  Index first;
  EXPECT_TRUE(wal::parse_segment_name(base_name(path), &seq, &first)) << path;
  return first;
}

TEST_F(WalRecoveryTest, SegmentsLeavingTheLogAreTrashedAndDeletedByTheReclaimerEvenAfterAReopen) {
  build(200);  // about 7 segments of 31 entries
  auto before = segments();
  ASSERT_GE(before.size(), 7u);
  Index up_to = first_of(before[4]) - 1;  // the first four segments go
  WalOptions slow = options();
  slow.spare_segments = 0;
  slow.reclaim.step_bytes = 1024;
  slow.reclaim.bytes_per_second = 1;  // stuck after its first cut,
  slow.reclaim.drain = std::chrono::milliseconds(0);  // whatever the backlog
  {
    auto s = WalLogStore::open(kDir, slow);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    ASSERT_TRUE((*s)->drop_prefix(up_to).ok());
    EXPECT_EQ(segments().size(), before.size() - 4);
    EXPECT_EQ(trash(&fs_).size(), 4u);  // renamed at once; deleting them waits
    EXPECT_FALSE((*s)->wait_reclaimed(std::chrono::steady_clock::now() + std::chrono::milliseconds(20)));
  }  // closed with its trash not deleted
  {
    // Reopened, still slow: the old trash is queued again, and the next
    // segments that leave take new names rather than the old ones.
    auto s = WalLogStore::open(kDir, slow);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_EQ((*s)->first_index(), up_to + 1);
    ASSERT_TRUE((*s)->drop_prefix(first_of(before[6]) - 1).ok());
    EXPECT_EQ(trash(&fs_).size(), 6u);
  }
  WalOptions fast = options();
  fast.spare_segments = 0;
  fast.reclaim.bytes_per_second = 0;  // no limit
  auto s = WalLogStore::open(kDir, fast);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  ASSERT_TRUE((*s)->wait_reclaimed(std::chrono::steady_clock::now() + std::chrono::seconds(30)));
  EXPECT_TRUE(trash(&fs_).empty());
  EXPECT_EQ((*s)->stats().trash_deleted, 6u);
  EXPECT_EQ((*s)->first_index(), first_of(before[6]));
  std::vector<Entry> out;
  ASSERT_TRUE((*s)->read(first_of(before[6]), Index(200), SIZE_MAX, &out).ok());
  for (const Entry& e : out) EXPECT_TRUE(same_entry(e, make_entry(e.index.value, 1, 100)));
  EXPECT_TRUE(warnings_.empty()) << warnings_[0];
}

// Each trash file must be renamed, then its directory synced, and only
// then cut or unlinked: cut before the rename is durable, a power loss
// could bring the shortened file back under its segment name.
void expect_trash_cut_after_durable_rename(const std::vector<std::string>& calls, size_t want) {
  size_t renamed = 0;
  for (size_t r = 0; r < calls.size(); ++r) {
    std::string prefix = "rename ";
    size_t to = calls[r].find(" /wal/trash-");
    if (calls[r].rfind(prefix, 0) != 0 || to == std::string::npos) continue;
    ++renamed;
    std::string trash = calls[r].substr(to + 1);
    size_t synced = calls.size(), cut = calls.size();
    for (size_t k = r + 1; k < calls.size(); ++k) {
      if (synced == calls.size() && calls[k] == "sync_dir /wal") synced = k;
      if (cut == calls.size() && (calls[k].rfind("truncate " + trash + " ", 0) == 0 ||
                                  calls[k] == "unlink " + trash))
        cut = k;
    }
    EXPECT_LT(cut, calls.size()) << trash << " never deleted";
    EXPECT_LT(synced, cut) << trash << " cut before the directory was synced";
  }
  EXPECT_EQ(renamed, want);
}

TEST_F(WalRecoveryTest, TrashIsCutOnlyOnceItsNewNameIsDurable) {
  build(200);
  size_t n = segments().size();
  ASSERT_GE(n, 7u);
  testing::RecordingFileSystem rec(&fs_);
  WalOptions o = options();
  o.fs = &rec;
  o.spare_segments = 0;
  o.reclaim.background = false;
  o.reclaim.step_bytes = 1024;  // segments of 4 KiB: three cuts each
  {
    auto s = WalLogStore::open(kDir, o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    ASSERT_TRUE((*s)->drop_prefix(first_of(segments()[3]) - 1).ok());           // 3 go
    ASSERT_TRUE((*s)->truncate_suffix(first_of(segments()[n - 6]) + 1).ok());  // the 2 newest go
    ASSERT_TRUE((*s)->reset(Index(1000)).ok());                                // the other n - 5
  }
  expect_trash_cut_after_durable_rename(rec.calls(), n);
  EXPECT_EQ(rec.calls_starting("truncate /wal/trash-").size(), 3 * n);

  // Trash found at open (a crash, or a close before the reclaimer was
  // done): the directory is synced before it is cut.
  ASSERT_TRUE(write_file_atomically(&fs_, join_path(kDir, wal::trash_name(77)), std::string(3000, 'x')).ok());
  testing::RecordingFileSystem rec2(&fs_);
  o.fs = &rec2;
  auto s = WalLogStore::open(kDir, o);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto calls = rec2.calls();
  auto at = [&](const std::string& c) { return std::find(calls.begin(), calls.end(), c) - calls.begin(); };
  EXPECT_LT(at("sync_dir /wal"), at("truncate /wal/" + wal::trash_name(77) + " 1976"));
  EXPECT_LT(at("truncate /wal/" + wal::trash_name(77) + " 952"), at("unlink /wal/" + wal::trash_name(77)));
  EXPECT_TRUE(trash(&fs_).empty());
}

TEST_F(WalRecoveryTest, ResetAndTruncationTrashTheSegmentsTheyRemove) {
  build(200);
  size_t n = segments().size();
  ASSERT_GE(n, 7u);
  WalOptions o = options();
  o.reclaim.background = false;
  auto s = WalLogStore::open(kDir, o);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  ASSERT_TRUE((*s)->truncate_suffix(first_of(segments()[n - 2]) + 1).ok());  // the newest goes
  EXPECT_EQ((*s)->stats().trash_deleted, 1u);
  ASSERT_TRUE((*s)->reset(Index(1000)).ok());
  EXPECT_EQ((*s)->stats().trash_deleted, n);
  EXPECT_EQ(segments().size(), 1u);
  EXPECT_TRUE(trash(&fs_).empty());
  EXPECT_EQ((*s)->first_index(), Index(1000));
}

TEST_F(WalRecoveryTest, SegmentsThatDropPrefixRemovesAreReusedAsNewSegments) {
  build(200);  // about 7 segments of 31 entries
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto before = segments();
  ASSERT_GE(before.size(), 6u);
  Index up_to = first_of(before[4]) - 1;  // the first four segments go
  ASSERT_TRUE((*s)->drop_prefix(up_to).ok());
  EXPECT_EQ(segments().size(), before.size() - 4);
  EXPECT_EQ(spares(&fs_).size(), 2u);  // the default keeps two; the others are deleted
  EXPECT_EQ((*s)->stats().spare_segments, 2u);

  // The next two new segments take the spares; the third is a new file.
  std::vector<Entry> more;
  for (uint64_t i = 201; i <= 300; ++i) more.push_back(make_entry(i, 1, 100));
  ASSERT_TRUE((*s)->append(more).ok());
  ASSERT_TRUE((*s)->sync().ok());
  EXPECT_TRUE(spares(&fs_).empty());
  EXPECT_EQ((*s)->stats().spare_segments, 0u);
  int recycled = 0;
  for (const auto& seg : segments()) recycled += (header_flags(&fs_, seg) & wal::kFlagRecycled) ? 1 : 0;
  EXPECT_EQ(recycled, 2);

  // Everything reads back, before and after a reopen, without a warning:
  // the stale bytes after the newest segment's records are no damage.
  auto check = [&](WalLogStore* store) {
    std::vector<Entry> out;
    ASSERT_TRUE(store->read(up_to + 1, Index(300), SIZE_MAX, &out).ok());
    ASSERT_EQ(out.size(), 300 - up_to.value);
    for (const Entry& e : out) EXPECT_TRUE(same_entry(e, make_entry(e.index.value, 1, 100)));
  };
  check(s->get());
  s->reset();
  auto again = open();
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ((*again)->first_index(), up_to + 1);
  EXPECT_EQ((*again)->last_index(), Index(300));
  check(again->get());
  EXPECT_TRUE(warnings_.empty()) << warnings_[0];
}

TEST_F(WalRecoveryTest, ARecycledFilesOldRecordsAreNeverTakenForNewEntries) {
  // The hardest case for a reused file: its old records sit exactly where
  // the new segment's next records go, with the very indexes, terms and
  // bytes the scan expects there. Only the checksum, which starts from
  // the segment's seq, tells them apart.
  craft_spare(3, 32, 51);  // 31 entries fill a 4 KiB segment
  craft(4, 1, entries(1, 31), false, 4096 - 32 - 31 * 128);  // as preallocated
  {
    auto s = open();
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    ASSERT_EQ((*s)->stats().spare_segments, 1u);
    std::vector<Entry> e{make_entry(32, 1, 100)};  // rolls over into the spare
    ASSERT_TRUE((*s)->append(e).ok());
    ASSERT_TRUE((*s)->sync().ok());
    ASSERT_TRUE(spares(&fs_).empty());
    std::string seg = join_path(kDir, wal::segment_name(5, Index(32)));
    ASSERT_EQ(header_flags(&fs_, seg), wal::kFlagRecycled);
    // The old entry 33 is still there, byte for byte, right after entry 32.
    std::string bytes = slurp(&fs_, seg);
    wal::RecordHeader next = wal::parse_record_header(
        reinterpret_cast<const uint8_t*>(bytes.data()) + record_offset(1));
    ASSERT_EQ(next.index, 33u);
  }
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->last_index(), Index(32));
  expect_all(**s, 32);
  std::vector<Entry> out;
  EXPECT_EQ((*s)->read(Index(33), Index(33), SIZE_MAX, &out).code(), ErrorCode::kNotFound);
  EXPECT_TRUE(warnings_.empty()) << warnings_[0];
}

TEST_F(WalRecoveryTest, AnInterruptedRollOverIntoASpareDropsTheNewSegment) {
  // The crash came after the new segment (a reused file, its old records
  // still in it) was created, before the old one's seal was durable.
  craft(3, 32, entries(32, 51), /*seal=*/true);
  std::string path = join_path(kDir, wal::segment_name(3, Index(32)));
  std::string bytes = slurp(&fs_, path);
  uint8_t header[wal::kSegmentHeaderBytes];
  wal::SegmentHeader h{5, Index(32)};
  h.flags = wal::kFlagRecycled;
  wal::encode_segment_header(h, header);
  bytes.replace(0, sizeof header, reinterpret_cast<char*>(header), sizeof header);
  ASSERT_TRUE(fs_.remove_file(path).ok());
  craft(4, 1, entries(1, 31), false, 4096 - 32 - 31 * 128);  // as preallocated
  auto f = fs_.open_file(join_path(kDir, wal::segment_name(5, Index(32))), OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->write_at(0, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).ok());
  ASSERT_TRUE((*f)->sync().ok());
  f->reset();

  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->last_index(), Index(31));
  expect_all(**s, 31);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("never sealed"), std::string::npos) << warnings_[0];
  expect_goes_on(std::move(*s), 31);
}

TEST_F(WalRecoveryTest, ASpareIsReusedOnlyUnderAHigherSeq) {
  // spare-7 held records checksummed from seq 7; the next segment is seq 5.
  craft_spare(7, 32, 51);
  craft(4, 1, entries(1, 31), false, 4096 - 32 - 31 * 128);  // as preallocated
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  expect_goes_on(std::move(*s), 31);  // entry 32 rolls over into segment 5
  EXPECT_TRUE(spares(&fs_).empty());  // deleted, not used
  EXPECT_EQ(header_flags(&fs_, join_path(kDir, wal::segment_name(5, Index(32)))), 0);
}

TEST_F(WalRecoveryTest, AVersion1SegmentIsReadAndAppendedToButNotRecycled) {
  craft(1, 1, entries(1, 20), false, 4096 - 32 - 20 * 128, /*version=*/1);
  {
    auto s = open();
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    expect_all(**s, 20);
    std::vector<Entry> more = entries(21, 40);  // fills it, then a version 2 segment follows
    ASSERT_TRUE((*s)->append(more).ok());
    ASSERT_TRUE((*s)->sync().ok());
  }
  auto segs = segments();
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(slurp(&fs_, segs[0])[4], 1);
  EXPECT_EQ(slurp(&fs_, segs[1])[4], 2);
  auto s = open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  expect_all(**s, 40);
  ASSERT_TRUE((*s)->drop_prefix(first_of(segs[1]) - 1).ok());
  EXPECT_TRUE(spares(&fs_).empty());  // its records' checksums carry no seq
  EXPECT_TRUE(warnings_.empty()) << warnings_[0];
}

TEST_F(WalRecoveryTest, SparesFollowTheOption) {
  build(200);
  auto up_to = first_of(segments()[4]) - 1;
  {
    WalOptions o = options();
    o.spare_segments = 0;
    auto s = WalLogStore::open(kDir, o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    ASSERT_TRUE((*s)->drop_prefix(Index(first_of(segments()[1]) - 1)).ok());
    EXPECT_TRUE(spares(&fs_).empty());
  }
  {
    auto s = open();  // the default, two
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    ASSERT_TRUE((*s)->drop_prefix(up_to).ok());
    EXPECT_EQ(spares(&fs_).size(), 2u);
  }
  WalOptions o = options();
  o.spare_segments = 1;  // lowered: the extra one goes at open
  auto s = WalLogStore::open(kDir, o);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(spares(&fs_).size(), 1u);
  EXPECT_EQ((*s)->stats().spare_segments, 1u);
}

// ---------------------------------------------------------------------------
// Spares written with zeros (WalOptions::prepare_spares)

class PreparedSpareTest : public WalRecoveryTest {
 protected:
  static constexpr uint64_t kSegment = 1 << 20;  // four 256 KiB chunks of zeros
  WalOptions prepared() {
    WalOptions o = options();
    o.segment_bytes = kSegment;
    o.prepare_spares = true;
    return o;
  }
  // Appends entries next.. in batches of `batch`, a sync after each, until
  // `done` or the log holds `max` entries; returns the next index.
  template <class Done>
  uint64_t write(WalLogStore* s, uint64_t next, size_t batch, uint64_t max, Done done) {
    while (next <= max && !done()) {
      std::vector<Entry> b = entries(next, std::min(max, next + batch - 1));
      EXPECT_TRUE(s->append(b).ok());
      EXPECT_TRUE(s->sync().ok());
      next += b.size();
    }
    return next;
  }
  // Waits, with a deadline, for the preparer to finish a spare.
  static bool wait_prepared(WalLogStore* s, uint64_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (s->stats().spares_prepared < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }
  // 100-byte entries (128-byte records) that fit in one segment.
  static constexpr uint64_t kPerSegment =
      (kSegment - wal::kSegmentHeaderBytes - wal::kSealRecordBytes) / 128;
};

TEST_F(PreparedSpareTest, ASpareOfZerosIsWrittenWhileTheLogFillsAndTheNextSegmentReusesIt) {
  auto s = WalLogStore::open(kDir, prepared());
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  // Almost to the end of the first segment: the zeros are paced by what
  // the log writes, so all of them are due by now.
  uint64_t next = write(s->get(), 1, 10, kPerSegment - 5, [] { return false; });
  ASSERT_TRUE(wait_prepared(s->get(), 1)) << "no spare was prepared";
  ASSERT_EQ(segments().size(), 1u);
  EXPECT_EQ(spares(&fs_), std::vector<std::string>{wal::spare_name(0)});
  std::string zeros = slurp(&fs_, join_path(kDir, wal::spare_name(0)));
  EXPECT_EQ(zeros.size(), kSegment);
  EXPECT_EQ(zeros.find_first_not_of('\0'), std::string::npos);

  // The next segment takes it.
  next = write(s->get(), next, 10, 2 * kPerSegment, [&] { return segments().size() == 2; });
  auto segs = segments();
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(header_flags(&fs_, segs[1]), wal::kFlagRecycled);
  EXPECT_TRUE(spares(&fs_).empty());
  s->reset();
  auto again = open();
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  expect_all(**again, next - 1);
  EXPECT_TRUE(warnings_.empty()) << warnings_[0];
}

TEST_F(PreparedSpareTest, NoSpareIsPreparedWhileTheLogsFlushesAreLarge) {
  auto s = WalLogStore::open(kDir, prepared());
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  // 600 entries a flush: 76,800 bytes, above the 64 KiB the zeros pay for.
  uint64_t next = write(s->get(), 1, 600, 3 * kPerSegment, [] { return false; });
  EXPECT_GE(segments().size(), 3u);
  EXPECT_EQ((*s)->stats().spares_prepared, 0u);
  EXPECT_TRUE(spares(&fs_).empty());
  expect_all(**s, next - 1);
}

TEST_F(PreparedSpareTest, ClosingWhileASpareIsHalfWrittenLeavesNothingBehind) {
  {
    auto s = WalLogStore::open(kDir, prepared());
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    // Past an eighth of the segment: the preparer starts, and waits for
    // the log to write more before its later chunks.
    write(s->get(), 1, 10, kPerSegment / 4, [] { return false; });
    std::string tmp = join_path(kDir, wal::spare_name(0) + ".tmp");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!*fs_.exists(tmp) && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    ASSERT_TRUE(*fs_.exists(tmp)) << "the preparer never started";
    EXPECT_EQ((*s)->stats().spares_prepared, 0u);
  }  // must not hang
  auto names = *fs_.list_dir(kDir);
  for (const auto& n : names) EXPECT_EQ(n.find(".tmp"), std::string::npos) << n;
  EXPECT_TRUE(spares(&fs_).empty());
  auto again = open();
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  expect_all(**again, kPerSegment / 4);
}

// Fails opening the spare being prepared, and nothing else.
class NoSpareFileSystem : public FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override {
    if (path.find(wal::spare_name(0)) != std::string::npos) return io_error(path + ": injected fault");
    return FileSystemWrapper::open_file(path, mode);
  }
};

TEST_F(PreparedSpareTest, AFailureToPrepareASpareIsAWarningAndTheLogGoesOn) {
  NoSpareFileSystem fs(&fs_);
  WalOptions o = prepared();
  o.fs = &fs;
  auto s = WalLogStore::open(kDir, o);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  uint64_t next = write(s->get(), 1, 10, 3 * kPerSegment, [&] {
    return !warnings_.empty() || std::chrono::steady_clock::now() > deadline;
  });
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("no longer preparing spare segments"), std::string::npos) << warnings_[0];
  EXPECT_NE(warnings_[0].find("injected fault"), std::string::npos) << warnings_[0];
  next = write(s->get(), next, 10, 3 * kPerSegment, [] { return false; });  // two roll overs
  EXPECT_EQ(warnings_.size(), 1u);  // once
  EXPECT_EQ((*s)->stats().spares_prepared, 0u);
  expect_all(**s, next - 1);
}

}  // namespace
}  // namespace raft::storage
