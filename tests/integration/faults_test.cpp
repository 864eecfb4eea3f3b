// The runtime under gray failures and overload: a stalled disk, a full
// pipeline.
#include <gtest/gtest.h>

#include <condition_variable>

#include "storage/log_store.hpp"
#include "test_cluster.hpp"

namespace raft::itest {
namespace {

Buffer cmd(const std::string& s) { return Buffer::from_string(s); }

// A log store whose sync() can be held: a disk that stops answering.
class StallableLog : public storage::LogStoreWrapper {
 public:
  struct Control {
    std::mutex mu;
    std::condition_variable cv;
    bool stalled = false;
    void set(bool s) {
      {
        std::lock_guard<std::mutex> lock(mu);
        stalled = s;
      }
      cv.notify_all();
    }
  };
  StallableLog(std::unique_ptr<storage::LogStore> target, std::shared_ptr<Control> c)
      : LogStoreWrapper(target.get()), owned_(std::move(target)), c_(std::move(c)) {}
  Result<Index> sync() override {
    std::unique_lock<std::mutex> lock(c_->mu);
    c_->cv.wait(lock, [&] { return !c_->stalled; });
    lock.unlock();
    return LogStoreWrapper::sync();
  }

 private:
  std::unique_ptr<storage::LogStore> owned_;
  std::shared_ptr<Control> c_;
};

TEST(FaultsTest, LeaderWithAStalledDiskStepsDownAndTheClusterGoesOn) {
  TestCluster c({.nodes = 3});
  std::map<ServerId, std::shared_ptr<StallableLog::Control>> disks;
  for (ServerId id : c.ids()) {
    disks[id] = std::make_shared<StallableLog::Control>();
    auto ctl = disks[id];
    c.hooks[id].wrap_log_store = [ctl](std::unique_ptr<storage::LogStore> s) {
      return std::unique_ptr<storage::LogStore>(std::make_unique<StallableLog>(std::move(s), ctl));
    };
  }
  c.start_all();
  ServerId old = c.wait_leader();
  ASSERT_NE(old, 0u);
  ASSERT_TRUE(c.node(old)->apply(cmd("a=1"), 5s).wait().ok());
  disks[old]->set(true);
  c.node(old)->apply(cmd("b=1"), 30s);  // its write hangs
  // Within an election timeout or so the stalled leader gives up, and
  // the others elect a leader that takes writes.
  ASSERT_TRUE(eventually([&] { return c.node(old)->state() != Role::kLeader; }, 10s));
  auto st = c.node(old)->stats();
  EXPECT_EQ(st["disk_stalled"], "true");
  EXPECT_NE(st["last_step_down_reason"].find("disk"), std::string::npos) << st["last_step_down_reason"];
  ServerId now = 0;
  ASSERT_TRUE(eventually([&] {
    for (ServerId id : c.ids())
      if (id != old && c.node(id)->state() == Role::kLeader) now = id;
    return now != 0;
  }));
  ASSERT_TRUE(c.node(now)->apply(cmd("c=1"), 5s).wait().ok());
  disks[old]->set(false);
  ASSERT_TRUE(eventually([&] { return c.fsm(old)->get("c") == "1"; }, 10s));
}

TEST(FaultsTest, ApplyWaitsWhenThePipelineIsFullThenTimesOut) {
  TestCluster c({.nodes = 3, .tcp = false, .election = 2000ms, .tweak = [](Config& cfg) {
                   cfg.max_pending_commands = 8;
                 }});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  ASSERT_TRUE(c.node(leader)->apply(cmd("warm=1"), 5s).wait().ok());
  // Cut the followers off: nothing commits, commands pile up.
  for (ServerId id : c.ids())
    if (id != leader) c.network()->isolate(id);
  std::vector<Future<std::any>> held;
  for (int i = 0; i < 8; ++i) held.push_back(c.node(leader)->apply(cmd("h=" + std::to_string(i)), 30s));
  auto extra = c.node(leader)->apply(cmd("extra=1"), 100ms);
  ASSERT_FALSE(extra.wait().ok());
  EXPECT_EQ(extra.status().code(), ErrorCode::kTimeout);
  EXPECT_NE(extra.status().message().find("not submitted"), std::string::npos) << extra.status().message();
  EXPECT_EQ(c.node(leader)->stats()["pending_commands"], "8");
  // Once the followers are back, everything held commits.
  c.network()->heal();
  for (auto& f : held) EXPECT_TRUE(f.wait().ok()) << f.status().to_string();
  // Stats are published by the event loop, a moment after the futures.
  EXPECT_TRUE(eventually([&] { return c.node(leader)->stats()["pending_commands"] == "0"; }))
      << c.node(leader)->stats()["pending_commands"];
}

// A closed loop at the limit: each completion submits the next command
// from the apply thread. The completed command's room must be free by then,
// or every resubmission waits out its timeout (the apply thread that would
// free room is the one waiting).
TEST(FaultsTest, ACompletionCallbackFindsTheRoomItsCommandHeld) {
  constexpr int kLimit = 4, kTotal = 400;
  // Declared before the cluster, so they outlive callbacks run at shutdown.
  std::mutex mu;
  std::condition_variable cv;
  int submitted = 0, ok = 0, failed = 0;
  std::string first_error;
  Node* node = nullptr;
  TestCluster c({.nodes = 3, .tcp = false, .tweak = [](Config& cfg) { cfg.max_pending_commands = kLimit; }});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  node = c.node(leader);
  std::function<void()> submit = [&] {
    node->apply(cmd("loop=1"), 200ms).then([&](const Status& s) {
      bool again = false;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (s.ok()) ++ok;
        else if (failed++ == 0) first_error = s.to_string();
        if (submitted < kTotal) {
          ++submitted;
          again = true;
        }
      }
      cv.notify_all();
      if (again) submit();
    });
  };
  {
    std::lock_guard<std::mutex> lock(mu);
    submitted = kLimit;
  }
  for (int i = 0; i < kLimit; ++i) submit();
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return ok + failed == kTotal; }))
      << ok << " ok, " << failed << " failed";
  EXPECT_EQ(failed, 0) << first_error;
}

}  // namespace
}  // namespace raft::itest
