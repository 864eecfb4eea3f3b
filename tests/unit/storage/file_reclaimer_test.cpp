// FileReclaimer (file_reclaimer.hpp): files and folders handed to it are
// deleted, large files cut from the end one step at a time first; errors
// are logged and leave the file; stopping leaves what is not done.
#include "storage/file_reclaimer.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "storage/memory_file_system.hpp"
#include "storage_test_util.hpp"

namespace raft::storage {
namespace {

using namespace std::chrono_literals;
using testing::FaultFileSystem;
using testing::RecordingFileSystem;
using testing::TempDir;

std::chrono::steady_clock::time_point soon() { return std::chrono::steady_clock::now() + 30s; }

void make_file(FileSystem* fs, const std::string& path, size_t bytes) {
  auto f = fs->open_file(path, OpenMode::kCreateNew);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  std::vector<uint8_t> data(bytes, 0xab);
  ASSERT_TRUE((*f)->write_at(0, data).ok());
  ASSERT_TRUE((*f)->sync().ok());
}

bool exists(FileSystem* fs, const std::string& path) {
  auto e = fs->exists(path);
  EXPECT_TRUE(e.ok()) << e.status().to_string();
  return e.ok() && *e;
}

struct Warnings {
  std::mutex mu;
  std::vector<std::string> seen;
  LogCallback callback() {
    return [this](LogLevel level, std::string_view m) {
      std::lock_guard lock(mu);
      if (level == LogLevel::kWarning) seen.emplace_back(m);
    };
  }
  size_t count() {
    std::lock_guard lock(mu);
    return seen.size();
  }
};

TEST(FileReclaimerTest, CutsALargeFileFromTheEndInStepsThenUnlinksIt) {
  MemoryFileSystem mem;
  RecordingFileSystem fs(&mem);
  ASSERT_TRUE(fs.create_dir("/d").ok());
  make_file(&fs, "/d/big", 10 * 1000 + 10);
  ReclaimOptions o;
  o.step_bytes = 1000;
  o.bytes_per_second = 100 << 20;
  Warnings w;
  FileReclaimer r(&fs, o, w.callback());
  r.add_file("/d/big");
  ASSERT_TRUE(r.wait_idle(soon()));
  EXPECT_FALSE(exists(&fs, "/d/big"));
  std::vector<std::string> want;
  for (uint64_t left = 10010; left > 1000;) {
    left -= 1000;
    want.push_back("truncate /d/big " + std::to_string(left));
  }
  want.push_back("unlink /d/big");
  EXPECT_EQ(fs.calls(), want);
  EXPECT_EQ(r.steps_cut(), 10u);
  EXPECT_EQ(r.files_reclaimed(), 1u);
  EXPECT_EQ(w.count(), 0u);
}

TEST(FileReclaimerTest, DeletesAFolderTreeAndTakesWorkAfterItWasIdle) {
  MemoryFileSystem fs;
  ASSERT_TRUE(create_dirs_durably(&fs, "/d/snap/inner").ok());
  make_file(&fs, "/d/snap/data", 5000);
  make_file(&fs, "/d/snap/meta", 10);
  make_file(&fs, "/d/snap/inner/x", 3000);
  make_file(&fs, "/d/later", 2500);
  ReclaimOptions o;
  o.step_bytes = 1024;
  o.bytes_per_second = 0;  // no limit
  Warnings w;
  FileReclaimer r(&fs, o, w.callback());
  r.add_tree("/d/snap");
  ASSERT_TRUE(r.wait_idle(soon()));
  EXPECT_FALSE(exists(&fs, "/d/snap"));
  EXPECT_EQ(r.files_reclaimed(), 3u);
  EXPECT_EQ(r.steps_cut(), 4u + 0u + 2u);  // 5000: 4 cuts, 10: none, 3000: 2
  r.add_file("/d/later");
  ASSERT_TRUE(r.wait_idle(soon()));
  EXPECT_FALSE(exists(&fs, "/d/later"));
  EXPECT_EQ(*fs.list_dir("/d"), std::vector<std::string>{});
  EXPECT_EQ(w.count(), 0u);
}

TEST(FileReclaimerTest, InlineModeIsDoneWhenAddReturnsAndStepZeroUnlinksAtOnce) {
  MemoryFileSystem mem;
  RecordingFileSystem fs(&mem);
  make_file(&fs, "/a", 4096);
  make_file(&fs, "/b", 4096);
  {
    ReclaimOptions o;
    o.background = false;
    o.step_bytes = 1024;
    o.bytes_per_second = 1;  // never waited for inline
    FileReclaimer r(&fs, o, {});
    r.add_file("/a");
    EXPECT_FALSE(exists(&fs, "/a"));
    EXPECT_EQ(r.steps_cut(), 3u);
  }
  {
    ReclaimOptions o;
    o.background = false;
    o.step_bytes = 0;
    FileReclaimer r(&fs, o, {});
    r.add_file("/b");
    EXPECT_FALSE(exists(&fs, "/b"));
    EXPECT_EQ(r.steps_cut(), 0u);
  }
  auto calls = fs.calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), "unlink /b");
  EXPECT_EQ(calls[calls.size() - 2], "unlink /a");
}

TEST(FileReclaimerTest, AMissingPathIsAlreadyDone) {
  MemoryFileSystem fs;
  Warnings w;
  ReclaimOptions o;
  o.background = false;
  FileReclaimer r(&fs, o, w.callback());
  r.add_file("/nothing");
  r.add_tree("/no/folder");
  EXPECT_EQ(w.count(), 0u);
  EXPECT_EQ(r.files_reclaimed(), 0u);
}

TEST(FileReclaimerTest, AnErrorIsLoggedLeavesTheFileAndTheNextOneIsStillDone) {
  MemoryFileSystem mem;
  FaultFileSystem fs(&mem);
  make_file(&fs, "/bad", 4000);
  make_file(&fs, "/good", 4000);
  ReclaimOptions o;
  o.step_bytes = 1000;
  o.bytes_per_second = 0;  // no limit
  Warnings w;
  FileReclaimer r(&fs, o, w.callback());
  fs.fail_once_at(1);  // the second cut of /bad
  r.add_file("/bad");
  ASSERT_TRUE(r.wait_idle(soon()));
  r.add_file("/good");
  ASSERT_TRUE(r.wait_idle(soon()));
  EXPECT_TRUE(exists(&fs, "/bad"));
  EXPECT_EQ(*mem.open_file("/bad", OpenMode::kRead).value()->size(), 3000u);
  EXPECT_FALSE(exists(&fs, "/good"));
  ASSERT_EQ(w.count(), 1u);
  EXPECT_NE(w.seen[0].find("could not delete /bad"), std::string::npos) << w.seen[0];
  EXPECT_NE(w.seen[0].find("injected fault"), std::string::npos) << w.seen[0];
}

TEST(FileReclaimerTest, ABacklogRaisesThePaceAboveTheBaseRate) {
  // At the base rate alone (1 byte a second) the first cut would hold the
  // thread for 1000 s; the backlog, 100 KB to be gone within 50 ms, sets
  // the pace instead.
  MemoryFileSystem fs;
  ReclaimOptions o;
  o.step_bytes = 1000;
  o.bytes_per_second = 1;
  o.drain = 50ms;
  FileReclaimer r(&fs, o, {});
  for (int i = 0; i < 10; ++i) {
    std::string path = "/f" + std::to_string(i);
    make_file(&fs, path, 10000);
    r.add_file(path, 10000);
  }
  ASSERT_TRUE(r.wait_idle(std::chrono::steady_clock::now() + 20s));
  EXPECT_EQ(r.files_reclaimed(), 10u);
  EXPECT_EQ(r.steps_cut(), 90u);
  EXPECT_EQ(*fs.list_dir("/"), std::vector<std::string>{});
}

TEST(FileReclaimerTest, DestroyingItStopsBetweenStepsAndLeavesTheRest) {
  MemoryFileSystem fs;
  make_file(&fs, "/first", 4000);
  make_file(&fs, "/second", 4000);
  Warnings w;
  auto start = std::chrono::steady_clock::now();
  {
    ReclaimOptions o;
    o.step_bytes = 1000;
    o.bytes_per_second = 1;  // the thread waits 1000 s after its first cut, until stopped
    o.drain = 0ms;           // whatever the backlog
    FileReclaimer r(&fs, o, w.callback());
    r.add_file("/first");
    r.add_file("/second");
    EXPECT_FALSE(r.wait_idle(std::chrono::steady_clock::now() + 50ms));
  }
  // Stopped in its wait, not after it.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10min);
  EXPECT_TRUE(exists(&fs, "/first"));
  EXPECT_TRUE(exists(&fs, "/second"));
  EXPECT_EQ(*fs.open_file("/second", OpenMode::kRead).value()->size(), 4000u);
  EXPECT_EQ(w.count(), 0u);  // stopping is not an error
}

TEST(FileReclaimerTest, TheBacklogCountsWhatIsQueuedAndWhatIsLeftOfTheFileInHand) {
  MemoryFileSystem fs;
  make_file(&fs, "/first", 4000);
  make_file(&fs, "/second", 4000);
  ReclaimOptions o;
  o.step_bytes = 1000;
  o.bytes_per_second = 1;  // after its first cut the thread waits 1000 s, until stopped
  o.drain = 0ms;
  FileReclaimer r(&fs, o, {});
  EXPECT_EQ(r.backlog().items, 0u);
  EXPECT_EQ(r.backlog().bytes, 0u);
  r.add_file("/first", 4000);
  r.add_file("/second", 4000);
  auto deadline = soon();
  while (r.steps_cut() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(r.steps_cut(), 1u);
  FileReclaimer::Backlog b = r.backlog();
  EXPECT_EQ(b.items, 2u);            // the file in hand and the one queued
  EXPECT_EQ(b.bytes, 3000u + 4000u);  // what is left of the first, the second's hint
}

TEST(FileReclaimerTest, CutsAndDeletesARealFile) {
  TempDir dir;
  FileSystem* fs = default_file_system();
  make_file(fs, dir.sub("f"), 3 << 20);
  ReclaimOptions o;
  o.step_bytes = 1 << 20;
  o.bytes_per_second = 100 << 20;
  FileReclaimer r(fs, o, {});
  r.add_file(dir.sub("f"));
  ASSERT_TRUE(r.wait_idle(soon()));
  EXPECT_FALSE(exists(fs, dir.sub("f")));
  EXPECT_EQ(r.steps_cut(), 2u);
}

}  // namespace
}  // namespace raft::storage
