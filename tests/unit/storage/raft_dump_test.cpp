// raft_dump's report (tools/raft_dump_report.hpp) on a healthy data
// directory and on damaged ones: it names what is there and every problem,
// and never changes a byte.
#include <gtest/gtest.h>

#include <sstream>

#include "raft_dump_report.hpp"
#include "storage/file_snapshot_store.hpp"
#include "storage/file_stable_store.hpp"
#include "storage/memory_file_system.hpp"
#include "storage/framed_file.hpp"
#include "storage/wal_format.hpp"
#include "storage/wal_log_store.hpp"
#include "storage_test_util.hpp"

namespace raft::storage {
namespace {

void build(MemoryFileSystem* fs) {
  WalOptions wo;
  wo.fs = fs;
  wo.segment_bytes = 4096;
  auto wal = WalLogStore::open("/data/wal", wo);
  ASSERT_TRUE(wal.ok());
  std::vector<Entry> batch;
  for (uint64_t i = 1; i <= 80; ++i) batch.push_back(testing::make_entry(i, 1 + i / 40, 100));
  ASSERT_TRUE((*wal)->append(batch).ok());
  ASSERT_TRUE((*wal)->sync().ok());
  FileStableStoreOptions so;
  so.fs = fs;
  auto st = FileStableStore::open("/data/stable", so);
  ASSERT_TRUE((*st)->save_hard_state({Term(3), NodeId(2)}).ok());
  ASSERT_TRUE((*st)->set("node-id", "2").ok());
  FileSnapshotStoreOptions po;
  po.fs = fs;
  auto sn = FileSnapshotStore::open("/data/snapshots", po);
  SnapshotMeta m;
  m.index = Index(40);
  m.term = Term(2);
  m.configuration.servers.push_back({NodeId(2), "b:2", ServerRole::kVoter});
  auto w = (*sn)->create(m);
  ASSERT_TRUE((*w)->write({reinterpret_cast<const uint8_t*>("state!"), 6}).ok());
  ASSERT_TRUE((*w)->commit().ok());
}

std::string report(FileSystem* fs, const std::string& path, tools::DumpSummary* sum,
                   tools::DumpOptions options = {}) {
  std::ostringstream out;
  auto r = tools::dump(fs, path, options, out);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  if (r.ok()) *sum = *r;
  return out.str();
}

TEST(RaftDumpTest, AHealthyDirectoryShowsSegmentsTermVoteAndSnapshots) {
  MemoryFileSystem fs;
  build(&fs);
  tools::DumpSummary sum;
  tools::DumpOptions o;
  o.records = true;
  std::string text = report(&fs, "/data", &sum, o);
  EXPECT_EQ(sum.damage, 0) << text;
  EXPECT_NE(text.find("entries 1.."), std::string::npos) << text;
  EXPECT_NE(text.find("80 entries"), std::string::npos) << text;
  EXPECT_NE(text.find("sealed"), std::string::npos) << text;
  EXPECT_NE(text.find("term 3, vote 2"), std::string::npos) << text;
  EXPECT_NE(text.find("node-id = \"2\""), std::string::npos) << text;
  EXPECT_NE(text.find("index 40, term 2, 6 bytes"), std::string::npos) << text;
  EXPECT_NE(text.find("data checksum verified"), std::string::npos) << text;
  EXPECT_NE(text.find("index 80 term 3 command 100 bytes"), std::string::npos) << text;
  EXPECT_NE(text.find("OK: 0 problem(s)"), std::string::npos) << text;
}

TEST(RaftDumpTest, DamageIsReportedWithFileAndOffsetAndNothingIsChanged) {
  MemoryFileSystem fs;
  build(&fs);
  auto names = fs.list_dir("/data/wal");
  std::vector<std::string> segs;
  for (const auto& n : *names)
    if (n.size() > 4 && n.substr(n.size() - 4) == ".wal") segs.push_back(n);
  std::sort(segs.begin(), segs.end());
  std::string victim = "/data/wal/" + segs[1];
  testing::poke(&fs, victim, 32 + 128 + 60, "!");
  testing::poke(&fs, "/data/stable/state", 20, "?");
  std::string before = testing::slurp(&fs, victim);
  tools::DumpSummary sum;
  std::string text = report(&fs, "/data", &sum);
  EXPECT_EQ(sum.damage, 2) << text;
  EXPECT_NE(text.find("DAMAGE: " + victim + ": offset 160"), std::string::npos) << text;
  EXPECT_NE(text.find("/data/stable/state"), std::string::npos) << text;
  EXPECT_NE(text.find("DAMAGE FOUND"), std::string::npos) << text;
  EXPECT_EQ(testing::slurp(&fs, victim), before);
}

TEST(RaftDumpTest, ATornTailIsALeftoverNotDamage) {
  MemoryFileSystem fs;
  build(&fs);
  auto names = fs.list_dir("/data/wal");
  std::string newest;
  for (const auto& n : *names)
    if (n.size() > 4 && n.substr(n.size() - 4) == ".wal") newest = std::max(newest, n);
  std::string bytes = testing::slurp(&fs, "/data/wal/" + newest);
  size_t end = bytes.find_last_not_of('\0') + 1;
  testing::poke(&fs, "/data/wal/" + newest, end + 3, "torn");
  tools::DumpSummary sum;
  std::string text = report(&fs, "/data/wal", &sum);
  EXPECT_EQ(sum.damage, 0) << text;
  EXPECT_EQ(sum.leftovers, 1) << text;
  EXPECT_NE(text.find("torn tail"), std::string::npos) << text;
}

TEST(RaftDumpTest, SpareAndRecycledSegmentsAreShownAsSuchNotAsDamage) {
  MemoryFileSystem fs;
  WalOptions wo;
  wo.fs = &fs;
  wo.segment_bytes = 4096;  // 31 entries of 100 bytes a segment
  {
    auto wal = WalLogStore::open("/data/wal", wo);
    ASSERT_TRUE(wal.ok());
    std::vector<Entry> batch;
    for (uint64_t i = 1; i <= 100; ++i) batch.push_back(testing::make_entry(i, 1, 100));
    ASSERT_TRUE((*wal)->append(batch).ok());
    ASSERT_TRUE((*wal)->sync().ok());
    ASSERT_TRUE((*wal)->drop_prefix(Index(62)).ok());  // two spares
    batch.clear();
    for (uint64_t i = 101; i <= 130; ++i) batch.push_back(testing::make_entry(i, 1, 100));
    ASSERT_TRUE((*wal)->append(batch).ok());  // the newest segment reuses one
    ASSERT_TRUE((*wal)->sync().ok());
  }
  // A spare written with zeros (WalOptions::prepare_spares).
  ASSERT_TRUE(write_file_atomically(&fs, "/data/wal/" + wal::spare_name(0), std::string(4096, '\0')).ok());
  // A segment that left the log, not deleted yet (FileReclaimer).
  ASSERT_TRUE(write_file_atomically(&fs, "/data/wal/" + wal::trash_name(3), "stale bytes").ok());
  tools::DumpSummary sum;
  std::string text = report(&fs, "/data/wal", &sum);
  EXPECT_EQ(sum.damage, 0) << text;
  EXPECT_NE(text.find("spare spare-"), std::string::npos) << text;
  EXPECT_NE(text.find(wal::spare_name(0) + " (written with zeros"), std::string::npos) << text;
  EXPECT_NE(text.find("trash " + wal::trash_name(3) + " (a segment that left the log"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("format 2, recycled file"), std::string::npos) << text;
  EXPECT_NE(text.find("the log ends at offset"), std::string::npos) << text;
  EXPECT_NE(text.find("entries 125..130"), std::string::npos) << text;
}

}  // namespace
}  // namespace raft::storage
