// Damage at random offsets of every file type the storage layer writes
// (WAL segments, the stable state, snapshot meta and data): each gives a
// clear error naming the damaged file, or a clean cut of the WAL's torn
// tail with a warning; never a crash, never a wrong entry or byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "storage/file_snapshot_store.hpp"
#include "storage/file_stable_store.hpp"
#include "storage/memory_file_system.hpp"
#include "storage/wal_format.hpp"
#include "storage/wal_log_store.hpp"
#include "storage_test_util.hpp"

namespace raft::storage {
namespace {

using testing::make_entry;
using testing::same_entry;

constexpr uint64_t kEntries = 120;
constexpr char kWal[] = "/data/wal";
constexpr char kStable[] = "/data/stable";
constexpr char kSnapshots[] = "/data/snapshots";

std::string snapshot_bytes(int k, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + static_cast<size_t>(k) * 7) ^ (i >> 8));
  return s;
}

void build(MemoryFileSystem* fs) {
  auto quiet = [](LogLevel, std::string_view) {};
  WalOptions wo;
  wo.fs = fs;
  wo.segment_bytes = 4096;
  wo.log = quiet;
  auto wal = WalLogStore::open(kWal, wo);
  ASSERT_TRUE(wal.ok());
  std::vector<Entry> batch;
  for (uint64_t i = 1; i <= kEntries; ++i) batch.push_back(make_entry(i, 1 + i / 50, 100));
  ASSERT_TRUE((*wal)->append(batch).ok());
  ASSERT_TRUE((*wal)->sync().ok());

  FileStableStoreOptions so;
  so.fs = fs;
  auto stable = FileStableStore::open(kStable, so);
  ASSERT_TRUE(stable.ok());
  ASSERT_TRUE((*stable)->save_hard_state({Term(7), NodeId(3)}).ok());
  ASSERT_TRUE((*stable)->set("cluster", "c-123").ok());

  FileSnapshotStoreOptions po;
  po.fs = fs;
  po.block_bytes = 1000;
  po.log = quiet;
  auto snaps = FileSnapshotStore::open(kSnapshots, po);
  ASSERT_TRUE(snaps.ok());
  for (int k = 0; k < 2; ++k) {
    SnapshotMeta meta;
    meta.index = Index(50 + static_cast<uint64_t>(k) * 10);
    meta.term = Term(2);
    meta.configuration.servers.push_back({NodeId(1), "a:1", ServerRole::kVoter});
    meta.configuration_index = Index(1);
    auto w = (*snaps)->create(meta);
    ASSERT_TRUE(w.ok());
    std::string data = snapshot_bytes(k, 3500);
    ASSERT_TRUE((*w)->write({reinterpret_cast<const uint8_t*>(data.data()), data.size()}).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
}

void list_files(FileSystem* fs, const std::string& dir, std::vector<std::string>* out) {
  auto names = fs->list_dir(dir);
  ASSERT_TRUE(names.ok());
  for (const auto& name : *names) {
    std::string p = join_path(dir, name);
    if (*fs->is_dir(p)) list_files(fs, p, out);
    else if (name != "LOCK") out->push_back(p);
  }
}

std::string base_name(const std::string& p) { return p.substr(p.rfind('/') + 1); }

TEST(CorruptionTest, RandomDamageToAnyFileGivesAClearErrorOrACleanTailCutNeverWrongData) {
  MemoryFileSystem pristine_probe;
  build(&pristine_probe);
  if (HasFatalFailure()) return;
  std::vector<std::string> files;
  list_files(&pristine_probe, "/data", &files);
  std::sort(files.begin(), files.end());
  std::vector<std::string> segments;
  for (const auto& f : files)
    if (f.find("/wal/") != std::string::npos) segments.push_back(f);
  ASSERT_GE(segments.size(), 3u);

  int errors = 0, cuts = 0, harmless = 0, invisible = 0;
  for (uint64_t seed : testing::seeds(600, 4242)) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: RAFT_STORAGE_SEED)");
    std::mt19937_64 rng(seed);
    MemoryFileSystem fs;
    build(&fs);
    const std::string& victim = files[rng() % files.size()];
    SCOPED_TRACE("damaged " + victim);
    std::string bytes = testing::slurp(&fs, victim);
    ASSERT_FALSE(bytes.empty());
    int how = static_cast<int>(rng() % 4);
    uint64_t at = rng() % bytes.size();
    switch (how) {
      case 0: bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8))); break;
      case 1: {
        size_t n = std::min<size_t>(1 + rng() % 16, bytes.size() - at);
        for (size_t i = 0; i < n; ++i) bytes[at + i] = static_cast<char>(rng());
        break;
      }
      case 2: bytes.resize(at); break;
      case 3: {
        size_t n = std::min<size_t>(1 + rng() % 300, bytes.size() - at);
        std::fill_n(bytes.begin() + static_cast<ptrdiff_t>(at), n, '\0');
        break;
      }
    }
    testing::cut(&fs, victim, 0);
    testing::poke(&fs, victim, 0, bytes);
    bool changed = bytes != testing::slurp(&pristine_probe, victim);

    auto named = [&](const Status& st) {
      EXPECT_TRUE(st.code() == ErrorCode::kCorruption || st.code() == ErrorCode::kUnsupported)
          << st.to_string();
      EXPECT_NE(st.message().find(base_name(victim)), std::string::npos)
          << "the error does not name the damaged file: " << st.to_string();
    };

    // The WAL.
    std::vector<std::string> warnings;
    WalOptions wo;
    wo.fs = &fs;
    wo.segment_bytes = 4096;
    wo.log = [&](LogLevel l, std::string_view m) {
      if (l == LogLevel::kWarning) warnings.emplace_back(m);
    };
    auto wal = WalLogStore::open(kWal, wo);
    bool in_wal = victim.find("/wal/") != std::string::npos;
    if (!wal.ok()) {
      ASSERT_TRUE(in_wal) << wal.status().to_string();
      named(wal.status());
      ++errors;
    } else {
      ASSERT_EQ((*wal)->first_index(), Index(1));
      uint64_t last = (*wal)->last_index().value;
      ASSERT_LE(last, kEntries);
      std::vector<Entry> out;
      ASSERT_TRUE((*wal)->read(Index(1), Index(last), SIZE_MAX, &out).ok());
      for (const Entry& e : out)
        ASSERT_TRUE(same_entry(e, make_entry(e.index.value, 1 + e.index.value / 50, 100)))
            << "wrong entry " << e.index;
      if (last < kEntries) {
        ASSERT_EQ(victim, segments.back()) << "entries lost outside the newest segment";
        if (warnings.empty()) {
          // Only a loss that nothing in the file can show: every byte from
          // the first lost record on is zero, as preallocated space is.
          // (A node catches it at start when its commit-index hint is
          // beyond the log: ClusterTest.ANodeWhoseLogLostCommittedEntries...)
          uint64_t seq;
          Index first;
          ASSERT_TRUE(wal::parse_segment_name(base_name(victim), &seq, &first));
          size_t from = 32 + (last + 1 - first.value) * 128;
          ASSERT_LE(from, bytes.size()) << "entries cut without a warning";
          ASSERT_EQ(bytes.find_first_not_of('\0', from), std::string::npos) << "entries cut without a warning";
          ++invisible;
        } else {
          ++cuts;
        }
      } else if (in_wal && changed) {
        ++harmless;  // preallocated space of the newest segment
      }
    }

    // The stable store.
    FileStableStoreOptions so;
    so.fs = &fs;
    auto stable = FileStableStore::open(kStable, so);
    if (victim.find("/stable/") != std::string::npos && changed) {
      ASSERT_FALSE(stable.ok()) << "damage to the state file went unnoticed";
      named(stable.status());
    } else {
      ASSERT_TRUE(stable.ok()) << stable.status().to_string();
      EXPECT_EQ(*(*stable)->load_hard_state(), (HardState{Term(7), NodeId(3)}));
    }

    // The snapshot store: open, then stream every snapshot.
    FileSnapshotStoreOptions po;
    po.fs = &fs;
    po.log = [](LogLevel, std::string_view) {};
    auto snaps = FileSnapshotStore::open(kSnapshots, po);
    bool in_snaps = victim.find("/snapshots/") != std::string::npos;
    if (!snaps.ok()) {
      ASSERT_TRUE(in_snaps) << snaps.status().to_string();
      named(snaps.status());
      continue;
    }
    auto metas = (*snaps)->list();
    ASSERT_TRUE(metas.ok());
    ASSERT_EQ(metas->size(), 2u);
    for (const auto& meta : *metas) {
      auto reader = (*snaps)->open(meta.id);
      ASSERT_TRUE(reader.ok()) << reader.status().to_string();
      int k = meta.index == Index(50) ? 0 : 1;
      std::string want = snapshot_bytes(k, 3500);
      std::string got;
      Status st;
      for (;;) {
        uint8_t buf[777];
        auto n = (*reader)->read({buf, sizeof buf});
        if (!n.ok()) {
          st = n.status();
          break;
        }
        if (*n == 0) break;
        got.append(reinterpret_cast<char*>(buf), *n);
      }
      // Whatever was handed out is a prefix of the true data.
      ASSERT_EQ(got, want.substr(0, got.size())) << "wrong snapshot bytes";
      if (!st.ok()) {
        named(st);
      } else {
        ASSERT_EQ(got, want);
      }
    }
  }
  // The damage hit each kind of outcome at least once (not when replaying
  // one seed).
  if (testing::seeds(600, 4242).size() >= 600) {
    EXPECT_GT(errors, 0);
    EXPECT_GT(cuts + harmless, 0);
  }
  // Rare: the zeros must cover whole records to the end of the file.
  EXPECT_LE(invisible * 100, errors + cuts + harmless + invisible);
}

}  // namespace
}  // namespace raft::storage
