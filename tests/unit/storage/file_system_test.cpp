// The FileSystem interface on the real disk and on MemoryFileSystem, and
// the crash model of MemoryFileSystem that the crash tests rely on.
#include <gtest/gtest.h>

#include "storage/file_system.hpp"
#include "storage/memory_file_system.hpp"
#include "storage_test_util.hpp"

namespace raft::storage {
namespace {

using testing::slurp;

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class FileSystemTest : public ::testing::TestWithParam<bool> {
 protected:
  FileSystem* fs() { return GetParam() ? default_file_system() : &memfs_; }
  std::string root() { return GetParam() ? tmp_.path() : std::string("/root"); }
  void SetUp() override {
    if (!GetParam()) {
      ASSERT_TRUE(memfs_.create_dir("/root").ok());
    }
  }
  testing::TempDir tmp_;
  MemoryFileSystem memfs_;
};

INSTANTIATE_TEST_SUITE_P(PosixAndMemory, FileSystemTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Posix" : "Memory"; });

TEST_P(FileSystemTest, WritesReadBackAtTheirOffsetsAndHolesReadAsZeros) {
  std::string p = join_path(root(), "f");
  auto f = fs()->open_file(p, OpenMode::kCreateNew);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  ASSERT_TRUE((*f)->write_at(0, bytes("hello")).ok());
  ASSERT_TRUE((*f)->write_at(10, bytes("world")).ok());
  EXPECT_EQ(*(*f)->size(), 15u);
  std::string got = slurp(fs(), p);
  EXPECT_EQ(got, std::string("hello\0\0\0\0\0world", 15));
  uint8_t buf[8];
  auto n = (*f)->read_at(12, {buf, sizeof buf});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u) << "a read past the end returns what there is";
  ASSERT_TRUE((*f)->sync_data().ok());
}

TEST_P(FileSystemTest, TruncateAndAllocateSetTheSize) {
  std::string p = join_path(root(), "f");
  auto f = fs()->open_file(p, OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->write_at(0, bytes("abcdef")).ok());
  ASSERT_TRUE((*f)->truncate(3).ok());
  EXPECT_EQ(slurp(fs(), p), "abc");
  ASSERT_TRUE((*f)->allocate(4096).ok());
  EXPECT_EQ(*(*f)->size(), 4096u);
  std::string got = slurp(fs(), p);
  EXPECT_EQ(got.substr(0, 3), "abc");
  EXPECT_EQ(got.find_first_not_of('\0', 3), std::string::npos);
  ASSERT_TRUE((*f)->allocate(10).ok());
  EXPECT_EQ(*(*f)->size(), 4096u) << "allocate never shrinks";
}

TEST_P(FileSystemTest, OpenModesReportMissingAndExistingFiles) {
  std::string p = join_path(root(), "f");
  EXPECT_EQ(fs()->open_file(p, OpenMode::kRead).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(fs()->open_file(p, OpenMode::kReadWrite).status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(fs()->open_file(p, OpenMode::kCreateNew).ok());
  EXPECT_EQ(fs()->open_file(p, OpenMode::kCreateNew).status().code(), ErrorCode::kAlreadyExists);
  EXPECT_TRUE(fs()->open_file(p, OpenMode::kCreate).ok());
}

TEST_P(FileSystemTest, DirectoriesListRenameAndRemove) {
  std::string d = join_path(root(), "d");
  ASSERT_TRUE(fs()->create_dir(d).ok());
  ASSERT_TRUE(fs()->create_dir(d).ok()) << "creating an existing directory is fine";
  EXPECT_TRUE(*fs()->is_dir(d));
  ASSERT_TRUE(fs()->open_file(join_path(d, "a"), OpenMode::kCreate).ok());
  ASSERT_TRUE(fs()->rename(join_path(d, "a"), join_path(d, "b")).ok());
  auto names = fs()->list_dir(d);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"b"});
  EXPECT_FALSE(*fs()->exists(join_path(d, "a")));
  ASSERT_TRUE(fs()->sync_dir(d).ok());
  EXPECT_FALSE(fs()->remove_dir(d).ok()) << "not empty";
  ASSERT_TRUE(fs()->remove_file(join_path(d, "b")).ok());
  EXPECT_EQ(fs()->remove_file(join_path(d, "b")).code(), ErrorCode::kNotFound);
  ASSERT_TRUE(fs()->remove_dir(d).ok());
  EXPECT_FALSE(*fs()->exists(d));
}

TEST_P(FileSystemTest, WriteFileAtomicallyReplacesTheWholeFile) {
  std::string p = join_path(root(), "state");
  ASSERT_TRUE(write_file_atomically(fs(), p, "first version, long").ok());
  ASSERT_TRUE(write_file_atomically(fs(), p, "second").ok());
  EXPECT_EQ(slurp(fs(), p), "second");
  EXPECT_FALSE(*fs()->exists(p + ".tmp"));
}

TEST_P(FileSystemTest, ALockIsExclusiveUntilReleased) {
  std::string p = join_path(root(), "LOCK");
  auto a = fs()->lock_file(p);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(fs()->lock_file(p).status().code(), ErrorCode::kBusy);
  a->reset();
  EXPECT_TRUE(fs()->lock_file(p).ok());
}

TEST_P(FileSystemTest, CreateDirsDurablyAndRemoveTreeHandleNesting) {
  std::string d = join_path(root(), "a/b/c");
  ASSERT_TRUE(create_dirs_durably(fs(), d).ok());
  ASSERT_TRUE(fs()->open_file(join_path(d, "f"), OpenMode::kCreate).ok());
  ASSERT_TRUE(remove_tree(fs(), join_path(root(), "a")).ok());
  EXPECT_FALSE(*fs()->exists(join_path(root(), "a")));
}

TEST(PathTest, JoinAndParent) {
  EXPECT_EQ(join_path("a", "b"), "a/b");
  EXPECT_EQ(join_path("a/", "b"), "a/b");
  EXPECT_EQ(parent_dir("/x/y/z"), "/x/y");
  EXPECT_EQ(parent_dir("/x"), "/");
  EXPECT_EQ(parent_dir("x"), ".");
  EXPECT_EQ(parent_dir("x/y/"), "x");
}

// The crash model (memory_file_system.hpp).

TEST(MemoryFileSystemTest, ACrashKeepsSyncedBytesAndLosesUnsyncedOnes) {
  MemoryFileSystem fs;
  ASSERT_TRUE(fs.create_dir("/d").ok());
  ASSERT_TRUE(fs.sync_dir("/").ok());
  auto f = fs.open_file("/d/f", OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(fs.sync_dir("/d").ok());
  ASSERT_TRUE((*f)->write_at(0, bytes("durable")).ok());
  ASSERT_TRUE((*f)->sync_data().ok());
  ASSERT_TRUE((*f)->write_at(7, bytes(" and not")).ok());
  fs.crash(MemoryFileSystem::CrashMode::kLoseUnsynced, 1);
  EXPECT_EQ(slurp(&fs, "/d/f"), "durable");
  EXPECT_EQ((*f)->write_at(0, bytes("x")).code(), ErrorCode::kIoError)
      << "a handle from before the crash is dead";
}

TEST(MemoryFileSystemTest, ACrashForgetsNamesWhoseDirectoryWasNotSynced) {
  MemoryFileSystem fs;
  ASSERT_TRUE(fs.create_dir("/d").ok());
  ASSERT_TRUE(fs.sync_dir("/").ok());
  {
    auto f = fs.open_file("/d/new", OpenMode::kCreate);
    ASSERT_TRUE((*f)->write_at(0, bytes("data")).ok());
    ASSERT_TRUE((*f)->sync().ok());  // the bytes, not the name
  }
  fs.crash(MemoryFileSystem::CrashMode::kLoseUnsynced, 1);
  EXPECT_FALSE(*fs.exists("/d/new"));
}

TEST(MemoryFileSystemTest, AnUnsyncedRenameRevertsAndASyncedOneStays) {
  MemoryFileSystem fs;
  ASSERT_TRUE(write_file_atomically(&fs, "/a", "one").ok());
  ASSERT_TRUE(fs.rename("/a", "/b").ok());
  fs.crash(MemoryFileSystem::CrashMode::kLoseUnsynced, 1);
  EXPECT_TRUE(*fs.exists("/a"));
  EXPECT_FALSE(*fs.exists("/b"));
  ASSERT_TRUE(fs.rename("/a", "/b").ok());
  ASSERT_TRUE(fs.sync_dir("/").ok());
  fs.crash(MemoryFileSystem::CrashMode::kLoseUnsynced, 1);
  EXPECT_EQ(slurp(&fs, "/b"), "one");
}

TEST(MemoryFileSystemTest, KeepPrefixKeepsAnInOrderPrefixOfUnsyncedWrites) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    MemoryFileSystem fs;
    {
      auto f = fs.open_file("/f", OpenMode::kCreate);
      ASSERT_TRUE(fs.sync_dir("/").ok());
      for (int i = 0; i < 5; ++i) ASSERT_TRUE((*f)->write_at(i * 4, bytes("abcd")).ok());
    }
    fs.crash(MemoryFileSystem::CrashMode::kKeepPrefix, seed);
    std::string got = slurp(&fs, "/f");
    // Whatever survived is a prefix of "abcdabcd...", possibly cut mid-write.
    EXPECT_LE(got.size(), 20u);
    EXPECT_EQ(got, std::string("abcdabcdabcdabcdabcd").substr(0, got.size())) << "seed " << seed;
  }
}

TEST(MemoryFileSystemTest, KeepAllIsAProcessCrash) {
  MemoryFileSystem fs;
  {
    auto f = fs.open_file("/f", OpenMode::kCreate);
    ASSERT_TRUE((*f)->write_at(0, bytes("kept")).ok());
  }
  auto lock = fs.lock_file("/LOCK");
  ASSERT_TRUE(lock.ok());
  fs.crash(MemoryFileSystem::CrashMode::kKeepAll, 1);
  EXPECT_EQ(slurp(&fs, "/f"), "kept");
  EXPECT_TRUE(fs.lock_file("/LOCK").ok()) << "a crash releases locks";
}

}  // namespace
}  // namespace raft::storage
