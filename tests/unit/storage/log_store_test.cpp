// The LogStore contract (log_store.hpp), checked on every implementation:
// the memory store, the WAL on the simulated disk and the WAL on the real
// one. Persistence tests run on the WAL kinds only.
#include <gtest/gtest.h>

#include "storage/memory_file_system.hpp"
#include "storage/memory_log_store.hpp"
#include "storage/wal_log_store.hpp"
#include "storage_test_util.hpp"

namespace raft::storage {
namespace {

using testing::make_entry;
using testing::same_entry;

enum class Kind { kMemory, kWalOnMemoryFs, kWalOnPosix };

std::ostream& operator<<(std::ostream& os, Kind k) {
  return os << (k == Kind::kMemory ? "memory" : k == Kind::kWalOnMemoryFs ? "wal on memory fs" : "wal on posix");
}

std::string kind_name(const ::testing::TestParamInfo<Kind>& info) {
  switch (info.param) {
    case Kind::kMemory: return "Memory";
    case Kind::kWalOnMemoryFs: return "WalOnMemoryFs";
    case Kind::kWalOnPosix: return "WalOnPosix";
  }
  return "?";
}

class LogStoreTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override { open(); }

  bool persistent() const { return GetParam() != Kind::kMemory; }
  std::string dir() const {
    return GetParam() == Kind::kWalOnPosix ? tmp_.sub("wal") : std::string("/data/wal");
  }
  WalOptions wal_options() {
    WalOptions o;
    o.fs = GetParam() == Kind::kWalOnPosix ? default_file_system() : &memfs_;
    o.segment_bytes = 4096;  // small, so tests cross segment boundaries
    o.log = [this](LogLevel, std::string_view m) { warnings_.emplace_back(m); };
    return o;
  }
  void open() {
    store_.reset();
    if (GetParam() == Kind::kMemory) {
      store_ = std::make_unique<MemoryLogStore>();
      return;
    }
    auto s = WalLogStore::open(dir(), wal_options());
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
  }
  // Closes and opens the store again (the WAL kinds).
  void reopen() {
    ASSERT_TRUE(persistent());
    open();
  }

  // Appends entries [from, to] with the given term and payload size.
  void append(uint64_t from, uint64_t to, uint64_t term, size_t size = 100, uint64_t nonce = 0) {
    std::vector<Entry> batch;
    for (uint64_t i = from; i <= to; ++i) batch.push_back(make_entry(i, term, size, nonce));
    Status st = store_->append(batch);
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  std::vector<Entry> read_all() {
    std::vector<Entry> out;
    if (store_->last_index() < store_->first_index()) return out;
    Status st = store_->read(store_->first_index(), store_->last_index(), SIZE_MAX, &out);
    EXPECT_TRUE(st.ok()) << st.to_string();
    return out;
  }
  void expect_entries(uint64_t from, uint64_t to, uint64_t term, size_t size = 100,
                      uint64_t nonce = 0) {
    std::vector<Entry> out;
    ASSERT_TRUE(store_->read(Index(from), Index(to), SIZE_MAX, &out).ok());
    ASSERT_EQ(out.size(), to - from + 1);
    for (uint64_t i = from; i <= to; ++i)
      EXPECT_TRUE(same_entry(out[i - from], make_entry(i, term, size, nonce))) << "entry " << i;
  }

  testing::TempDir tmp_;
  MemoryFileSystem memfs_;
  std::vector<std::string> warnings_;
  std::unique_ptr<LogStore> store_;
};

INSTANTIATE_TEST_SUITE_P(AllStores, LogStoreTest,
                         ::testing::Values(Kind::kMemory, Kind::kWalOnMemoryFs, Kind::kWalOnPosix),
                         kind_name);

// The same fixture on the stores that persist: the WAL on both disks.
class PersistentLogStoreTest : public LogStoreTest {};
INSTANTIATE_TEST_SUITE_P(Wal, PersistentLogStoreTest,
                         ::testing::Values(Kind::kWalOnMemoryFs, Kind::kWalOnPosix), kind_name);

TEST_P(LogStoreTest, NewStoreIsEmptyWithFirstIndexOneAndLastIndexZero) {
  EXPECT_EQ(store_->first_index(), Index(1));
  EXPECT_EQ(store_->last_index(), Index(0));
  auto synced = store_->sync();
  ASSERT_TRUE(synced.ok());
  EXPECT_EQ(*synced, Index(0));
  std::vector<Entry> out;
  EXPECT_EQ(store_->read(Index(1), Index(1), SIZE_MAX, &out).code(), ErrorCode::kNotFound);
}

TEST_P(LogStoreTest, AppendedEntriesReadBackIdentically) {
  append(1, 50, 1);
  append(51, 120, 2, 33);
  EXPECT_EQ(store_->first_index(), Index(1));
  EXPECT_EQ(store_->last_index(), Index(120));
  expect_entries(1, 50, 1);
  expect_entries(51, 120, 2, 33);
}

TEST_P(LogStoreTest, ReadAcrossTermsAndSegmentsKeepsEveryField) {
  append(1, 50, 1);
  append(51, 120, 2, 33);
  std::vector<Entry> out;
  ASSERT_TRUE(store_->read(Index(40), Index(60), SIZE_MAX, &out).ok());
  ASSERT_EQ(out.size(), 21u);
  for (uint64_t i = 40; i <= 60; ++i) {
    Entry want = i <= 50 ? make_entry(i, 1, 100) : make_entry(i, 2, 33);
    EXPECT_TRUE(same_entry(out[i - 40], want)) << i;
  }
}

TEST_P(LogStoreTest, EmptyPayloadsAndEveryEntryTypeRoundTrip) {
  std::vector<Entry> batch;
  for (uint64_t i = 1; i <= 4; ++i)
    batch.push_back(Entry{Index(i), Term(1), static_cast<EntryType>(i), Buffer()});
  ASSERT_TRUE(store_->append(batch).ok());
  std::vector<Entry> out;
  ASSERT_TRUE(store_->read(Index(1), Index(4), SIZE_MAX, &out).ok());
  ASSERT_EQ(out.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(same_entry(out[i], batch[i]));
}

TEST_P(LogStoreTest, AppendRejectsAGapAWrongStartAndADecreasingTerm) {
  append(1, 5, 3);
  std::vector<Entry> gap{make_entry(7, 3, 10)};
  EXPECT_EQ(store_->append(gap).code(), ErrorCode::kInvalidArgument);
  std::vector<Entry> overlap{make_entry(5, 3, 10)};
  EXPECT_EQ(store_->append(overlap).code(), ErrorCode::kInvalidArgument);
  std::vector<Entry> lower{make_entry(6, 2, 10)};
  EXPECT_EQ(store_->append(lower).code(), ErrorCode::kInvalidArgument);
  std::vector<Entry> holey{make_entry(6, 3, 10), make_entry(8, 3, 10)};
  EXPECT_EQ(store_->append(holey).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->last_index(), Index(5));
  append(6, 6, 3);  // still usable
}

TEST_P(LogStoreTest, ReadOutsideTheLogIsNotFoundAndAReversedRangeIsInvalid) {
  append(1, 10, 1);
  std::vector<Entry> out;
  EXPECT_EQ(store_->read(Index(0), Index(3), SIZE_MAX, &out).code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->read(Index(5), Index(11), SIZE_MAX, &out).code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->read(Index(5), Index(4), SIZE_MAX, &out).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(out.empty());
}

TEST_P(LogStoreTest, ReadStopsOnceBytesMaxWouldBeExceededButReturnsAtLeastOneEntry) {
  append(1, 20, 1, 100);
  std::vector<Entry> out;
  ASSERT_TRUE(store_->read(Index(1), Index(20), 350, &out).ok());
  EXPECT_EQ(out.size(), 3u);  // 300 bytes; a fourth would make 400
  out.clear();
  ASSERT_TRUE(store_->read(Index(5), Index(20), 10, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].index, Index(5));
  out.clear();
  ASSERT_TRUE(store_->read(Index(1), Index(20), 0, &out).ok());
  EXPECT_EQ(out.size(), 1u);
}

TEST_P(LogStoreTest, ReadAppendsToTheOutputWithoutClearingIt) {
  append(1, 3, 1);
  std::vector<Entry> out;
  ASSERT_TRUE(store_->read(Index(1), Index(1), SIZE_MAX, &out).ok());
  ASSERT_TRUE(store_->read(Index(2), Index(3), SIZE_MAX, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].index, Index(3));
}

TEST_P(LogStoreTest, SyncReturnsTheLastAppendedIndex) {
  append(1, 10, 1);
  auto synced = store_->sync();
  ASSERT_TRUE(synced.ok());
  EXPECT_EQ(*synced, Index(10));
  append(11, 12, 1);
  synced = store_->sync();
  ASSERT_TRUE(synced.ok());
  EXPECT_EQ(*synced, Index(12));
}

TEST_P(LogStoreTest, TermAtGivesEachEntrysTermAndNotFoundOutside) {
  append(1, 30, 1);
  append(31, 31, 4);
  append(32, 90, 7);
  for (uint64_t i = 1; i <= 90; ++i) {
    auto t = store_->term_at(Index(i));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t, Term(i <= 30 ? 1 : i == 31 ? 4 : 7)) << i;
  }
  EXPECT_EQ(store_->term_at(Index(0)).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->term_at(Index(91)).status().code(), ErrorCode::kNotFound);
}

TEST_P(LogStoreTest, TruncateSuffixRemovesTheConflictAndNewEntriesTakeItsPlace) {
  append(1, 100, 1);
  ASSERT_TRUE(store_->truncate_suffix(Index(61)).ok());
  EXPECT_EQ(store_->last_index(), Index(60));
  std::vector<Entry> out;
  EXPECT_EQ(store_->read(Index(61), Index(61), SIZE_MAX, &out).code(), ErrorCode::kNotFound);
  append(61, 80, 2, 100, 99);
  expect_entries(1, 60, 1);
  expect_entries(61, 80, 2, 100, 99);
  EXPECT_EQ(*store_->term_at(Index(61)), Term(2));
}

TEST_P(LogStoreTest, TruncateSuffixAfterTheLastIsANoopAndBeforeTheFirstIsInvalid) {
  append(1, 10, 1);
  EXPECT_TRUE(store_->truncate_suffix(Index(11)).ok());
  EXPECT_EQ(store_->last_index(), Index(10));
  ASSERT_TRUE(store_->reset(Index(50)).ok());
  append(50, 60, 2);
  EXPECT_EQ(store_->truncate_suffix(Index(49)).code(), ErrorCode::kInvalidArgument);
}

TEST_P(LogStoreTest, TruncateSuffixOfEverythingLeavesAnEmptyLogThatAppendsAtTheCut) {
  append(1, 100, 1);
  ASSERT_TRUE(store_->truncate_suffix(Index(1)).ok());
  EXPECT_EQ(store_->first_index(), Index(1));
  EXPECT_EQ(store_->last_index(), Index(0));
  append(1, 5, 3);
  expect_entries(1, 5, 3);
}

TEST_P(LogStoreTest, DropPrefixKeepsEveryEntryAfterUpTo) {
  append(1, 300, 1);
  ASSERT_TRUE(store_->drop_prefix(Index(200)).ok());
  Index first = store_->first_index();
  EXPECT_GT(first, Index(1)) << "the WAL has many segments below 200, some must go";
  EXPECT_LE(first, Index(201));
  expect_entries(201, 300, 1);
  std::vector<Entry> out;
  EXPECT_EQ(store_->read(first - 1, first, SIZE_MAX, &out).code(), ErrorCode::kNotFound);
  append(301, 310, 1);
  expect_entries(first.value, 310, 1);
}

TEST_P(LogStoreTest, DropPrefixOfEverythingKeepsTheLogAppendable) {
  append(1, 100, 1);
  ASSERT_TRUE(store_->drop_prefix(Index(1000)).ok());
  EXPECT_EQ(store_->last_index(), Index(100));
  append(101, 110, 1);
  expect_entries(store_->first_index().value, 110, 1);
}

TEST_P(LogStoreTest, ResetDiscardsEverythingAndTheNextAppendStartsAtNext) {
  append(1, 100, 5);
  ASSERT_TRUE(store_->reset(Index(500)).ok());
  EXPECT_EQ(store_->first_index(), Index(500));
  EXPECT_EQ(store_->last_index(), Index(499));
  std::vector<Entry> bad{make_entry(501, 6, 10)};
  EXPECT_EQ(store_->append(bad).code(), ErrorCode::kInvalidArgument);
  append(500, 520, 2);  // a lower term than before: the old log is gone
  expect_entries(500, 520, 2);
  EXPECT_EQ(store_->reset(Index(0)).code(), ErrorCode::kInvalidArgument);
}

TEST_P(LogStoreTest, AnEntryLargerThanASegmentIsStoredWhole) {
  append(1, 3, 1, 100);
  append(4, 4, 1, 10000);
  append(5, 6, 1, 100);
  std::vector<Entry> out;
  ASSERT_TRUE(store_->read(Index(1), Index(6), SIZE_MAX, &out).ok());
  ASSERT_EQ(out.size(), 6u);
  EXPECT_TRUE(same_entry(out[3], make_entry(4, 1, 10000)));
  EXPECT_TRUE(same_entry(out[5], make_entry(6, 1, 100)));
}

TEST_P(PersistentLogStoreTest, SyncedEntriesSurviveReopen) {
  append(1, 150, 1);
  append(151, 200, 3, 7);
  ASSERT_TRUE(store_->sync().ok());
  reopen();
  EXPECT_EQ(store_->first_index(), Index(1));
  EXPECT_EQ(store_->last_index(), Index(200));
  expect_entries(1, 150, 1);
  expect_entries(151, 200, 3, 7);
  EXPECT_EQ(*store_->term_at(Index(200)), Term(3));
  // The reopened log keeps growing where it stopped.
  append(201, 260, 3);
  ASSERT_TRUE(store_->sync().ok());
  reopen();
  expect_entries(201, 260, 3);
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
}

TEST_P(PersistentLogStoreTest, TruncationDropPrefixAndResetSurviveReopen) {
  append(1, 200, 1);
  ASSERT_TRUE(store_->truncate_suffix(Index(101)).ok());
  reopen();
  EXPECT_EQ(store_->last_index(), Index(100));
  append(101, 120, 2, 100, 5);
  ASSERT_TRUE(store_->drop_prefix(Index(90)).ok());
  Index first = store_->first_index();
  ASSERT_TRUE(store_->sync().ok());
  reopen();
  EXPECT_EQ(store_->first_index(), first);
  expect_entries(101, 120, 2, 100, 5);
  ASSERT_TRUE(store_->reset(Index(1000)).ok());
  reopen();
  EXPECT_EQ(store_->first_index(), Index(1000));
  EXPECT_EQ(store_->last_index(), Index(999));
  append(1000, 1001, 1);
  ASSERT_TRUE(store_->sync().ok());
  reopen();
  expect_entries(1000, 1001, 1);
}

TEST_P(PersistentLogStoreTest, ASecondOpenOfTheSameDirectoryIsBusy) {
  auto second = WalLogStore::open(dir(), wal_options());
  EXPECT_EQ(second.status().code(), ErrorCode::kBusy);
}

TEST(WalLogStoreTest, ManyAppendsShareOneFlush) {
  MemoryFileSystem fs;
  WalOptions o;
  o.fs = &fs;
  auto store = WalLogStore::open("/wal", o);
  ASSERT_TRUE(store.ok());
  for (uint64_t i = 1; i <= 50; ++i) {
    std::vector<Entry> e{make_entry(i, 1, 64)};
    ASSERT_TRUE((*store)->append(e).ok());
  }
  uint64_t before = fs.sync_count();
  auto synced = (*store)->sync();
  ASSERT_TRUE(synced.ok());
  EXPECT_EQ(*synced, Index(50));
  EXPECT_EQ(fs.sync_count(), before + 1) << "group commit: one flush for fifty appends";
  synced = (*store)->sync();
  EXPECT_EQ(fs.sync_count(), before + 1) << "nothing new to flush";
}

TEST(WalLogStoreTest, IndexCostsAboutFourBytesAnEntry) {
  MemoryFileSystem fs;
  WalOptions o;
  o.fs = &fs;
  o.segment_bytes = 1 << 20;
  auto store = WalLogStore::open("/wal", o);
  ASSERT_TRUE(store.ok());
  std::vector<Entry> batch;
  for (uint64_t i = 1; i <= 20000; ++i) batch.push_back(make_entry(i, 1, 16));
  ASSERT_TRUE((*store)->append(batch).ok());
  ASSERT_TRUE((*store)->sync().ok());
  store->reset();
  auto reopened = WalLogStore::open("/wal", o);
  ASSERT_TRUE(reopened.ok());
  auto stats = (*reopened)->stats();
  EXPECT_EQ(stats.entries, 20000u);
  EXPECT_LE(stats.index_bytes, 20000u * 4 + 4096) << stats.index_bytes;
}

TEST(WalLogStoreTest, RejectsSegmentSizesOutsideTheFormatsLimits) {
  MemoryFileSystem fs;
  WalOptions o;
  o.fs = &fs;
  o.segment_bytes = 100;
  EXPECT_EQ(WalLogStore::open("/wal", o).status().code(), ErrorCode::kInvalidArgument);
  o.segment_bytes = 2ull << 30;
  EXPECT_EQ(WalLogStore::open("/wal", o).status().code(), ErrorCode::kInvalidArgument);
}

// A wrapper that overrides one method: the shape fault tests use.
class FailingSync : public LogStoreWrapper {
 public:
  using LogStoreWrapper::LogStoreWrapper;
  Result<Index> sync() override { return io_error("disk on fire"); }
};

TEST(LogStoreWrapperTest, ForwardsEveryCallButTheOneOverridden) {
  MemoryLogStore inner;
  FailingSync store(&inner);
  std::vector<Entry> batch{make_entry(1, 1, 8), make_entry(2, 1, 8)};
  ASSERT_TRUE(store.append(batch).ok());
  EXPECT_EQ(store.last_index(), Index(2));
  EXPECT_EQ(store.first_index(), Index(1));
  EXPECT_EQ(*store.term_at(Index(2)), Term(1));
  std::vector<Entry> out;
  ASSERT_TRUE(store.read(Index(1), Index(2), SIZE_MAX, &out).ok());
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(store.sync().status().code(), ErrorCode::kIoError);
  ASSERT_TRUE(store.truncate_suffix(Index(2)).ok());
  EXPECT_EQ(inner.last_index(), Index(1));
  ASSERT_TRUE(store.drop_prefix(Index(1)).ok());
  ASSERT_TRUE(store.reset(Index(9)).ok());
  EXPECT_EQ(inner.first_index(), Index(9));
}

}  // namespace
}  // namespace raft::storage
