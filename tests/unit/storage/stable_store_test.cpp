// StableStore (stable_store.hpp): term and vote, and named values, each
// atomic and durable when the call returns; damage is reported, never
// replaced by an older value.
#include <gtest/gtest.h>

#include <random>

#include "storage/file_stable_store.hpp"
#include "storage/memory_file_system.hpp"
#include "storage_test_util.hpp"

namespace raft::storage {
namespace {

class StableStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { open(); }
  bool on_file() const { return GetParam(); }
  void open() {
    store_.reset();
    if (!on_file()) {
      store_ = std::make_unique<MemoryStableStore>();
      return;
    }
    FileStableStoreOptions o;
    o.fs = &fs_;
    auto s = FileStableStore::open("/data/stable", o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
  }
  MemoryFileSystem fs_;
  std::unique_ptr<StableStore> store_;
};

INSTANTIATE_TEST_SUITE_P(MemoryAndFile, StableStoreTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "File" : "Memory"; });

TEST_P(StableStoreTest, ANewStoreHasTermZeroAndNoVote) {
  auto hs = store_->load_hard_state();
  ASSERT_TRUE(hs.ok());
  EXPECT_EQ(*hs, (HardState{Term(0), kNoNode}));
  auto v = store_->get("node-id");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->has_value());
}

TEST_P(StableStoreTest, SavedHardStateAndValuesReadBack) {
  ASSERT_TRUE(store_->save_hard_state({Term(5), NodeId(2)}).ok());
  ASSERT_TRUE(store_->set("node-id", "7").ok());
  ASSERT_TRUE(store_->set("cluster", std::string("\0binary\xff", 8)).ok());
  ASSERT_TRUE(store_->set("node-id", "8").ok());
  EXPECT_EQ(*store_->load_hard_state(), (HardState{Term(5), NodeId(2)}));
  EXPECT_EQ(**store_->get("node-id"), "8");
  EXPECT_EQ(**store_->get("cluster"), std::string("\0binary\xff", 8));
}

TEST(FileStableStoreTest, EverythingSurvivesReopen) {
  MemoryFileSystem fs;
  FileStableStoreOptions o;
  o.fs = &fs;
  {
    auto s = FileStableStore::open("/st", o);
    ASSERT_TRUE((*s)->save_hard_state({Term(9), NodeId(4)}).ok());
    ASSERT_TRUE((*s)->set("a", "b").ok());
  }
  auto s = FileStableStore::open("/st", o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*(*s)->load_hard_state(), (HardState{Term(9), NodeId(4)}));
  EXPECT_EQ(**(*s)->get("a"), "b");
}

TEST(FileStableStoreTest, ADamagedStateFileIsCorruptionNamingTheFile) {
  MemoryFileSystem fs;
  FileStableStoreOptions o;
  o.fs = &fs;
  {
    auto s = FileStableStore::open("/st", o);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->save_hard_state({Term(3), NodeId(1)}).ok());
  }
  testing::poke(&fs, "/st/state", 17, "\x42");
  auto s = FileStableStore::open("/st", o);
  EXPECT_EQ(s.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(s.status().message().find("/st/state"), std::string::npos) << s.status().to_string();
}

TEST(FileStableStoreTest, AnUnknownVersionIsUnsupported) {
  MemoryFileSystem fs;
  FileStableStoreOptions o;
  o.fs = &fs;
  {
    auto s = FileStableStore::open("/st", o);
    ASSERT_TRUE((*s)->save_hard_state({Term(3), NodeId(1)}).ok());
  }
  testing::poke(&fs, "/st/state", 4, "\x09");
  EXPECT_EQ(FileStableStore::open("/st", o).status().code(), ErrorCode::kUnsupported);
}

TEST(FileStableStoreTest, ALeftoverTemporaryFileIsRemovedAndTheOldStateKept) {
  MemoryFileSystem fs;
  FileStableStoreOptions o;
  o.fs = &fs;
  {
    auto s = FileStableStore::open("/st", o);
    ASSERT_TRUE((*s)->save_hard_state({Term(3), NodeId(1)}).ok());
  }
  ASSERT_TRUE(write_file_atomically(&fs, "/st/state.tmp", "half a new state").ok());
  std::vector<std::string> infos;
  o.log = [&](LogLevel, std::string_view m) { infos.emplace_back(m); };
  auto s = FileStableStore::open("/st", o);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(*(*s)->load_hard_state(), (HardState{Term(3), NodeId(1)}));
  EXPECT_FALSE(*fs.exists("/st/state.tmp"));
  EXPECT_EQ(infos.size(), 1u);
}

TEST(FileStableStoreTest, ASecondOpenIsBusy) {
  MemoryFileSystem fs;
  FileStableStoreOptions o;
  o.fs = &fs;
  auto a = FileStableStore::open("/st", o);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(FileStableStore::open("/st", o).status().code(), ErrorCode::kBusy);
}

// Saves with crashes at random calls: after recovery the state is the
// last acknowledged one or the one whose save was interrupted.
TEST(FileStableStoreTest, CrashesLeaveTheAcknowledgedOrTheInterruptedStateNeverAMix) {
  for (uint64_t seed : testing::seeds(400, 555)) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: RAFT_STORAGE_SEED)");
    std::mt19937_64 rng(seed);
    MemoryFileSystem disk;
    testing::FaultFileSystem fs(&disk);
    FileStableStoreOptions o;
    o.fs = &fs;
    o.log = [](LogLevel, std::string_view) {};
    HardState acked;
    std::string acked_value;
    for (int round = 0; round < 4; ++round) {
      std::optional<HardState> pending_hs;
      std::optional<std::string> pending_value;
      fs.fail_after(rng() % 40);
      {
        auto s = FileStableStore::open("/st", o);
        if (s.ok()) {
          for (int k = 0; k < 10; ++k) {
            if (rng() % 2) {
              HardState hs{Term(acked.term.value + 1 + rng() % 3), NodeId(rng() % 4)};
              if (!(*s)->save_hard_state(hs).ok()) {
                pending_hs = hs;
                break;
              }
              acked = hs;
            } else {
              std::string v = "v" + std::to_string(rng());
              if (!(*s)->set("key", v).ok()) {
                pending_value = v;
                break;
              }
              acked_value = v;
            }
          }
        }
      }
      disk.crash(static_cast<MemoryFileSystem::CrashMode>(rng() % 3), rng());
      fs.heal();
      auto s = FileStableStore::open("/st", o);
      ASSERT_TRUE(s.ok()) << s.status().to_string();
      HardState got = *(*s)->load_hard_state();
      ASSERT_TRUE(got == acked || (pending_hs && got == *pending_hs))
          << "term " << got.term << " vote " << got.vote;
      acked = got;
      auto v = (*s)->get("key");
      std::string got_value = v->value_or("");
      ASSERT_TRUE(got_value == acked_value || (pending_value && got_value == *pending_value));
      acked_value = got_value;
    }
  }
}

class FailingSave : public StableStoreWrapper {
 public:
  using StableStoreWrapper::StableStoreWrapper;
  Status save_hard_state(const HardState&) override { return io_error("no"); }
};

TEST(StableStoreWrapperTest, ForwardsEveryCallButTheOneOverridden) {
  MemoryStableStore inner;
  FailingSave store(&inner);
  EXPECT_FALSE(store.save_hard_state({Term(1), NodeId(1)}).ok());
  ASSERT_TRUE(store.set("k", "v").ok());
  EXPECT_EQ(**inner.get("k"), "v");
  EXPECT_EQ(**store.get("k"), "v");
  EXPECT_EQ(*store.load_hard_state(), HardState{});
}

}  // namespace
}  // namespace raft::storage
