// SnapshotStore (snapshot_store.hpp): streamed writes and reads, commit as
// the only way a snapshot appears, newest-first listing, retention, and
// for the file store: durability, cleanup of interrupted writes and
// checksums that turn damage into errors instead of wrong bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "storage/file_snapshot_store.hpp"
#include "storage/memory_file_system.hpp"
#include "storage_test_util.hpp"

namespace raft::storage {
namespace {

std::string pattern(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

SnapshotMeta meta_at(uint64_t index, uint64_t term = 2) {
  SnapshotMeta m;
  m.index = Index(index);
  m.term = Term(term);
  m.configuration.servers = {{NodeId(1), "10.0.0.1:7000", ServerRole::kVoter},
                             {NodeId(2), "10.0.0.2:7000", ServerRole::kNonVoter}};
  m.configuration_index = Index(index > 3 ? index - 3 : 1);
  return m;
}

// Writes `data` in random-sized pieces and commits.
Result<SnapshotMeta> write_snapshot(SnapshotStore* store, const SnapshotMeta& meta,
                                    const std::string& data, uint64_t seed = 1) {
  auto w = store->create(meta);
  if (!w.ok()) return w.status();
  std::mt19937_64 rng(seed);
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = std::min<size_t>(data.size() - pos, 1 + rng() % 5000);
    Status st = (*w)->write({reinterpret_cast<const uint8_t*>(data.data() + pos), n});
    if (!st.ok()) return st;
    pos += n;
  }
  return (*w)->commit();
}

Result<std::string> read_snapshot(SnapshotReader* r, size_t chunk = 4096) {
  std::string out;
  std::vector<uint8_t> buf(chunk);
  for (;;) {
    auto n = r->read(buf);
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(reinterpret_cast<char*>(buf.data()), *n);
  }
}

class SnapshotStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { open(); }
  bool on_file() const { return GetParam(); }
  void open() {
    store_.reset();
    if (!on_file()) {
      store_ = std::make_unique<MemorySnapshotStore>();
      return;
    }
    FileSnapshotStoreOptions o;
    o.fs = &fs_;
    o.block_bytes = 4096;
    o.log = [](LogLevel, std::string_view) {};
    // Dropped snapshots are cut 64 bytes at a time, inside retain() (or
    // where their last reader goes): a file cut under an open reader
    // would show in its bytes.
    o.reclaim.background = false;
    o.reclaim.step_bytes = 64;
    auto s = FileSnapshotStore::open("/data/snapshots", o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
  }
  MemoryFileSystem fs_;
  std::unique_ptr<SnapshotStore> store_;
};

INSTANTIATE_TEST_SUITE_P(MemoryAndFile, SnapshotStoreTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "File" : "Memory"; });

TEST_P(SnapshotStoreTest, ACommittedSnapshotReadsBackWithItsMeta) {
  std::string data = pattern(50000, 1);
  auto meta = write_snapshot(store_.get(), meta_at(100), data);
  ASSERT_TRUE(meta.ok()) << meta.status().to_string();
  EXPECT_EQ(meta->size_bytes, data.size());
  EXPECT_FALSE(meta->id.empty());
  auto r = store_->open_latest();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->meta(), *meta);
  EXPECT_EQ((*r)->meta().configuration, meta_at(100).configuration);
  EXPECT_EQ((*r)->meta().configuration_index, Index(97));
  auto got = read_snapshot(r->get(), 333);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(*got, data);
}

TEST_P(SnapshotStoreTest, AnEmptySnapshotIsValid) {
  auto meta = write_snapshot(store_.get(), meta_at(5), "");
  ASSERT_TRUE(meta.ok());
  auto r = store_->open(meta->id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*read_snapshot(r->get()), "");
}

TEST_P(SnapshotStoreTest, NothingIsVisibleBeforeCommitAndAbortLeavesNothing) {
  EXPECT_EQ(store_->open_latest().status().code(), ErrorCode::kNotFound);
  {
    auto w = store_->create(meta_at(10));
    ASSERT_TRUE(w.ok());
    std::string d = pattern(10000, 2);
    ASSERT_TRUE((*w)->write({reinterpret_cast<const uint8_t*>(d.data()), d.size()}).ok());
    EXPECT_TRUE(store_->list()->empty());
    (*w)->abort();
    EXPECT_FALSE((*w)->commit().ok());
  }
  {
    auto w = store_->create(meta_at(11));
    ASSERT_TRUE(w.ok());
  }  // destroyed uncommitted: aborted
  EXPECT_TRUE(store_->list()->empty());
  if (on_file()) {
    auto names = *fs_.list_dir("/data/snapshots");
    EXPECT_EQ(names, std::vector<std::string>{"LOCK"});
  }
}

TEST_P(SnapshotStoreTest, ListIsNewestFirstAndRetainKeepsTheNewest) {
  std::vector<SnapshotMeta> metas;
  for (uint64_t i : {10, 20, 30, 40}) metas.push_back(*write_snapshot(store_.get(), meta_at(i), pattern(100, i)));
  auto list = store_->list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ((*list)[0].index, Index(40));
  EXPECT_EQ((*list)[3].index, Index(10));
  auto old_reader = store_->open(metas[0].id);
  ASSERT_TRUE(old_reader.ok());
  ASSERT_TRUE(store_->retain(2).ok());
  list = store_->list();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].index, Index(30));
  EXPECT_EQ(store_->open(metas[0].id).status().code(), ErrorCode::kNotFound);
  // A reader opened before retain() keeps its data.
  EXPECT_EQ(*read_snapshot(old_reader->get()), pattern(100, 10));
  EXPECT_EQ((*store_->open_latest())->meta().index, Index(40));
  if (on_file()) {
    // The dropped snapshot that had no reader is gone; the read one
    // waits for its reader.
    auto deleted = [&] {
      size_t n = 0;
      auto names = fs_.list_dir("/data/snapshots");
      for (const auto& name : *names) n += name.rfind("deleted-", 0) == 0;
      return n;
    };
    EXPECT_EQ(deleted(), 1u);
    old_reader->reset();
    EXPECT_EQ(deleted(), 0u);
    EXPECT_GE(static_cast<FileSnapshotStore*>(store_.get())->files_reclaimed(), 4u);
  }
}

TEST_P(SnapshotStoreTest, AReaderOfADroppedSnapshotReadsItAllWhileOthersGo) {
  // Two readers of the oldest, opened before it is dropped, one of them
  // half way through; the folder goes only with the second.
  std::string data = pattern(20000, 7);
  auto old_meta = write_snapshot(store_.get(), meta_at(10), data);
  ASSERT_TRUE(old_meta.ok());
  auto a = store_->open(old_meta->id);
  auto b = store_->open_latest();
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<uint8_t> half(10000);
  ASSERT_EQ(*(*a)->read(half), half.size());
  ASSERT_TRUE(write_snapshot(store_.get(), meta_at(20), "newer").ok());
  ASSERT_TRUE(store_->retain(1).ok());
  auto rest = read_snapshot(a->get());
  ASSERT_TRUE(rest.ok()) << rest.status().to_string();
  EXPECT_EQ(std::string(half.begin(), half.end()) + *rest, data);
  a->reset();
  auto whole = read_snapshot(b->get());
  ASSERT_TRUE(whole.ok()) << whole.status().to_string();
  EXPECT_EQ(*whole, data);
  b->reset();
  if (on_file()) {
    auto names = *fs_.list_dir("/data/snapshots");
    std::sort(names.begin(), names.end());
    std::vector<std::string> want{"LOCK", (*store_->list())[0].id};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(names, want);
  }
}

TEST_P(SnapshotStoreTest, TwoSnapshotsAtOneIndexAreOrderedByCreation) {
  auto a = write_snapshot(store_.get(), meta_at(10, 1), "first");
  auto b = write_snapshot(store_.get(), meta_at(10, 2), "second");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(*read_snapshot(store_->open_latest()->get()), "second");
}

TEST(FileSnapshotStoreTest, SnapshotsSurviveReopenAndIdsKeepGrowing) {
  MemoryFileSystem fs;
  FileSnapshotStoreOptions o;
  o.fs = &fs;
  o.block_bytes = 4096;
  std::string data = pattern(20000, 3);
  Result<SnapshotMeta> meta = invalid_argument("unset");
  {
    auto s = FileSnapshotStore::open("/snaps", o);
    ASSERT_TRUE(s.ok());
    meta = write_snapshot(s->get(), meta_at(100), data);
    ASSERT_TRUE(meta.ok());
  }
  auto s = FileSnapshotStore::open("/snaps", o);
  ASSERT_TRUE(s.ok());
  auto r = (*s)->open_latest();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ((*r)->meta(), *meta);
  EXPECT_EQ(*read_snapshot(r->get()), data);
  auto next = write_snapshot(s->get(), meta_at(100), "x");
  EXPECT_GT(next->id, meta->id);
}

TEST(FileSnapshotStoreTest, LeftoversOfInterruptedWritesAndRemovalsAreCleanedAtOpen) {
  MemoryFileSystem fs;
  FileSnapshotStoreOptions o;
  o.fs = &fs;
  o.log = [](LogLevel, std::string_view) {};
  {
    auto s = FileSnapshotStore::open("/snaps", o);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(write_snapshot(s->get(), meta_at(9), "keep").ok());
    auto w = (*s)->create(meta_at(10));
    ASSERT_TRUE((*w)->write({reinterpret_cast<const uint8_t*>("abc"), 3}).ok());
    // The process dies here: the writer's folder stays behind.
    fs.crash(MemoryFileSystem::CrashMode::kKeepAll, 1);
  }
  ASSERT_TRUE(create_dirs_durably(&fs, "/snaps/deleted-x").ok());
  auto s = FileSnapshotStore::open("/snaps", o);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  // Deleted by the store's reclaimer thread.
  ASSERT_TRUE((*s)->wait_reclaimed(std::chrono::steady_clock::now() + std::chrono::seconds(30)));
  auto names = *fs.list_dir("/snaps");
  for (const auto& n : names) {
    EXPECT_NE(n.rfind("tmp-", 0), 0u) << n;
    EXPECT_NE(n.rfind("deleted-", 0), 0u) << n;
  }
  ASSERT_EQ((*s)->list()->size(), 1u);
  EXPECT_EQ(*read_snapshot((*s)->open_latest()->get()), "keep");
}

TEST(FileSnapshotStoreTest, ADroppedSnapshotIsCutOnlyOnceItsNewNameIsDurable) {
  MemoryFileSystem mem;
  testing::RecordingFileSystem fs(&mem);
  FileSnapshotStoreOptions o;
  o.fs = &fs;
  o.block_bytes = 4096;
  o.reclaim.background = false;
  o.reclaim.step_bytes = 4096;
  auto s = FileSnapshotStore::open("/snaps", o);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto old = write_snapshot(s->get(), meta_at(10), pattern(20000, 1));
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE(write_snapshot(s->get(), meta_at(20), "new").ok());
  ASSERT_TRUE((*s)->retain(1).ok());
  auto calls = fs.calls();
  std::string folder = "/snaps/deleted-" + old->id;
  auto at = [&](const std::string& c) { return std::find(calls.begin(), calls.end(), c) - calls.begin(); };
  size_t renamed = at("rename /snaps/" + old->id + " " + folder);
  size_t first_cut = calls.size();
  for (size_t k = 0; k < calls.size(); ++k)
    if (calls[k].rfind("truncate " + folder + "/", 0) == 0) first_cut = std::min(first_cut, k);
  ASSERT_LT(renamed, calls.size());
  ASSERT_LT(first_cut, calls.size()) << "the data file was not cut";
  size_t synced = renamed + 1;
  while (synced < calls.size() && calls[synced] != "sync_dir /snaps") ++synced;
  EXPECT_LT(synced, first_cut);
  EXPECT_LT(first_cut, at("unlink " + folder + "/data"));
  EXPECT_FALSE(*mem.exists(folder));
}

TEST(FileSnapshotStoreTest, DamagedDataIsCorruptionBeforeAnyBadByteIsHandedOut) {
  MemoryFileSystem fs;
  FileSnapshotStoreOptions o;
  o.fs = &fs;
  o.block_bytes = 1000;
  std::string data = pattern(5000, 4);
  std::string id;
  {
    auto s = FileSnapshotStore::open("/snaps", o);
    id = write_snapshot(s->get(), meta_at(9), data)->id;
  }
  // Block 2 (payload bytes 2000..2999) sits at file offset 2 * 1008.
  testing::poke(&fs, "/snaps/" + id + "/data", 2 * 1008 + 8 + 500, "\xee");
  auto s = FileSnapshotStore::open("/snaps", o);
  ASSERT_TRUE(s.ok());
  auto r = (*s)->open(id);
  ASSERT_TRUE(r.ok());
  std::string got;
  uint8_t buf[100];
  Status st;
  for (;;) {
    auto n = (*r)->read(buf);
    if (!n.ok()) {
      st = n.status();
      break;
    }
    ASSERT_NE(*n, 0u) << "read to the end of a damaged snapshot";
    got.append(reinterpret_cast<char*>(buf), *n);
  }
  EXPECT_EQ(st.code(), ErrorCode::kCorruption);
  EXPECT_NE(st.message().find("offset 2016"), std::string::npos) << st.to_string();
  EXPECT_EQ(got, data.substr(0, 2000)) << "only the good blocks were handed out";
}

TEST(FileSnapshotStoreTest, BlocksSwappedWithinTheFileAreCorruption) {
  MemoryFileSystem fs;
  FileSnapshotStoreOptions o;
  o.fs = &fs;
  o.block_bytes = 1000;
  std::string data = pattern(3000, 5);
  std::string id;
  {
    auto s = FileSnapshotStore::open("/snaps", o);
    id = write_snapshot(s->get(), meta_at(9), data)->id;
  }
  std::string path = "/snaps/" + id + "/data";
  std::string bytes = testing::slurp(&fs, path);
  std::string swapped = bytes.substr(1008, 1008) + bytes.substr(0, 1008) + bytes.substr(2016);
  testing::poke(&fs, path, 0, swapped);
  auto s = FileSnapshotStore::open("/snaps", o);
  auto r = (*s)->open(id);
  EXPECT_EQ(read_snapshot(r->get()).status().code(), ErrorCode::kCorruption);
}

TEST(FileSnapshotStoreTest, ATruncatedDataFileOrAMissingMetaStopsOpenNamingTheFile) {
  MemoryFileSystem fs;
  FileSnapshotStoreOptions o;
  o.fs = &fs;
  std::string id;
  {
    auto s = FileSnapshotStore::open("/snaps", o);
    id = write_snapshot(s->get(), meta_at(9), pattern(3000, 6))->id;
  }
  testing::cut(&fs, "/snaps/" + id + "/data", 100);
  auto s = FileSnapshotStore::open("/snaps", o);
  EXPECT_EQ(s.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(s.status().message().find(id + "/data"), std::string::npos) << s.status().to_string();
  ASSERT_TRUE(fs.remove_file("/snaps/" + id + "/meta").ok());
  s = FileSnapshotStore::open("/snaps", o);
  EXPECT_EQ(s.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(s.status().message().find(id + "/meta"), std::string::npos) << s.status().to_string();
}

TEST(FileSnapshotStoreTest, MetaEncodingRoundTrips) {
  SnapshotMeta m = meta_at(77, 5);
  m.id = snapshot_id(m.index, m.term, 3);
  m.size_bytes = 123456789;
  m.crc32c = 0xdeadbeef;
  m.configuration.old_voters = {NodeId(1)};
  SnapshotMeta back;
  uint64_t block = 0;
  ASSERT_TRUE(FileSnapshotStore::decode_meta(FileSnapshotStore::encode_meta(m, 4096), "meta", &back, &block).ok());
  EXPECT_EQ(back, m);
  EXPECT_EQ(block, 4096u);
  Index i;
  Term t;
  uint64_t seq;
  ASSERT_TRUE(parse_snapshot_id(m.id, &i, &t, &seq));
  EXPECT_EQ(i, Index(77));
  EXPECT_EQ(seq, 3u);
  EXPECT_FALSE(parse_snapshot_id("nonsense", &i, &t, &seq));
}

// Snapshots committed while the process dies at random calls: after the
// crash every snapshot whose commit returned is there, intact; the one
// interrupted is there whole or not at all; nothing else appears.
TEST(FileSnapshotStoreTest, CrashesNeverLoseACommittedSnapshotOrExposeAPartialOne) {
  for (uint64_t seed : testing::seeds(300, 808)) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: RAFT_STORAGE_SEED)");
    std::mt19937_64 rng(seed);
    MemoryFileSystem disk;
    testing::FaultFileSystem fs(&disk);
    FileSnapshotStoreOptions o;
    o.fs = &fs;
    o.block_bytes = 512;
    o.log = [](LogLevel, std::string_view) {};
    std::map<std::string, std::string> committed;  // id -> data
    std::map<std::string, std::string> maybe;      // interrupted commits or retains
    for (int round = 0; round < 3; ++round) {
      fs.fail_after(rng() % 80);
      {
        auto s = FileSnapshotStore::open("/snaps", o);
        if (s.ok()) {
          for (int k = 0; k < 4; ++k) {
            if (rng() % 4 == 0) {
              auto before = *(*s)->list();
              size_t n = rng() % 3;
              if (!(*s)->retain(n).ok()) {
                for (size_t i = n; i < before.size(); ++i) {
                  maybe[before[i].id] = committed[before[i].id];
                  committed.erase(before[i].id);
                }
                break;
              }
              for (size_t i = n; i < before.size(); ++i) committed.erase(before[i].id);
              continue;
            }
            std::string data = pattern(rng() % 3000, rng());
            auto w = (*s)->create(meta_at(10 + rng() % 100));
            if (!w.ok()) break;
            Status st = (*w)->write({reinterpret_cast<const uint8_t*>(data.data()), data.size()});
            if (st.ok()) {
              auto m = (*w)->commit();
              if (m.ok()) {
                committed[m->id] = data;
                continue;
              }
            }
            // Interrupted: its id is known only if it lands; record by data.
            maybe["pending"] = data;
            break;
          }
        }
      }
      disk.crash(static_cast<MemoryFileSystem::CrashMode>(rng() % 3), rng());
      fs.heal();
      auto s = FileSnapshotStore::open("/snaps", o);
      ASSERT_TRUE(s.ok()) << s.status().to_string();
      auto list = *(*s)->list();
      std::map<std::string, std::string> now;
      for (const auto& m : list) {
        auto r = (*s)->open(m.id);
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        auto data = read_snapshot(r->get());
        ASSERT_TRUE(data.ok()) << data.status().to_string();
        if (committed.count(m.id)) {
          ASSERT_EQ(*data, committed[m.id]);
        } else if (maybe.count(m.id)) {
          ASSERT_EQ(*data, maybe[m.id]);
        } else {
          ASSERT_TRUE(maybe.count("pending")) << "snapshot " << m.id << " came from nowhere";
          ASSERT_EQ(*data, maybe["pending"]) << "a partial snapshot became visible";
        }
        now[m.id] = *data;
      }
      for (const auto& [id, data] : committed) ASSERT_TRUE(now.count(id)) << "lost committed snapshot " << id;
      committed = now;
      maybe.clear();
    }
  }
}

class FailingRetain : public SnapshotStoreWrapper {
 public:
  using SnapshotStoreWrapper::SnapshotStoreWrapper;
  Status retain(size_t) override { return io_error("no"); }
};

TEST(SnapshotStoreWrapperTest, ForwardsEveryCallButTheOneOverridden) {
  MemorySnapshotStore inner;
  FailingRetain store(&inner);
  auto m = write_snapshot(&store, meta_at(3), "abc");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(store.list()->size(), 1u);
  EXPECT_TRUE(store.open(m->id).ok());
  EXPECT_TRUE(store.open_latest().ok());
  EXPECT_FALSE(store.retain(0).ok());
  EXPECT_EQ(inner.list()->size(), 1u);
}

TEST(FileSnapshotStoreTest, AMultiMegabyteSnapshotStreamsThroughTheRealDisk) {
  testing::TempDir tmp;
  auto s = FileSnapshotStore::open(tmp.sub("snapshots"), {});
  ASSERT_TRUE(s.ok());
  auto w = (*s)->create(meta_at(1000));
  ASSERT_TRUE(w.ok());
  std::string chunk = pattern(1 << 20, 9);
  for (int i = 0; i < 24; ++i)
    ASSERT_TRUE((*w)->write({reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()}).ok());
  auto meta = (*w)->commit();
  ASSERT_TRUE(meta.ok()) << meta.status().to_string();
  EXPECT_EQ(meta->size_bytes, 24u << 20);
  auto r = (*s)->open_latest();
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> buf(300000);
  uint64_t total = 0;
  for (;;) {
    auto n = (*r)->read(buf);
    ASSERT_TRUE(n.ok()) << n.status().to_string();
    if (*n == 0) break;
    ASSERT_EQ(std::memcmp(buf.data(), chunk.data() + total % chunk.size(),
                          std::min<size_t>(*n, chunk.size() - total % chunk.size())), 0);
    total += *n;
  }
  EXPECT_EQ(total, 24u << 20);
}

}  // namespace
}  // namespace raft::storage
