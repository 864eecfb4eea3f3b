// End-to-end tests of running nodes: real threads, real WAL directories,
// real TCP on 127.0.0.1 (or the in-memory network where a test needs
// partitions).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "storage/file_system.hpp"
#include "storage/wal_format.hpp"
#include "test_cluster.hpp"

namespace raft::itest {
namespace {

Buffer cmd(const std::string& s) { return Buffer::from_string(s); }

// Applies n commands on the leader with `concurrency` in flight; returns
// how many succeeded.
int apply_many(Node* leader, int n, int concurrency, const std::string& prefix = "k") {
  std::vector<Future<std::any>> inflight;
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    inflight.push_back(leader->apply(cmd(prefix + std::to_string(i % 97) + "=" + std::to_string(i)), 5s));
    if (static_cast<int>(inflight.size()) >= concurrency) {
      ok += inflight.front().wait().ok();
      inflight.erase(inflight.begin());
    }
  }
  for (auto& f : inflight) ok += f.wait().ok();
  return ok;
}

TEST(ClusterTest, ThreeNodesElectReplicateAndAgree) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  ASSERT_EQ(apply_many(c.node(leader), 3000, 64), 3000);
  ASSERT_TRUE(c.wait_converged(3000));
  EXPECT_EQ(c.fsm(1)->data(), c.fsm(2)->data());
  EXPECT_EQ(c.fsm(1)->data(), c.fsm(3)->data());
  auto st = c.node(leader)->stats();
  EXPECT_EQ(st["state"], "Leader");
  EXPECT_EQ(st["num_peers"], "2");
}

// Every thread a node runs carries a name (util/thread_name.hpp), so that
// top -H, perf and gdb tell them apart.
TEST(ClusterTest, TheNodesThreadsAreNamed) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  ASSERT_EQ(apply_many(c.node(leader), 100, 16), 100);
  std::map<std::string, int> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "comm");
    std::string name;
    std::getline(in, name);
    ++names[name];
  }
  // The test cluster's nodes run on the WAL (which starts its preparer
  // and reclaimer threads only when it needs them).
  for (const char* name : {"raft-loop", "raft-disk", "raft-apply", "raft-snapshot"}) {
    EXPECT_EQ(names[name], 3) << name;
  }
}

TEST(ClusterTest, StatsShowTheOnDiskStoresFigures) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  ASSERT_EQ(apply_many(c.node(leader), 100, 16), 100);
  auto st = c.node(leader)->stats();
  EXPECT_EQ(st["wal_segments"], "1");
  EXPECT_EQ(st["wal_spare_segments"], "0");
  EXPECT_EQ(st["wal_trash_deleted"], "0");
  EXPECT_EQ(st["wal_trash_pending"], "0");
  EXPECT_EQ(st["wal_trash_pending_bytes"], "0");
  EXPECT_EQ(st["snapshot_trash_pending"], "0");
  EXPECT_EQ(st["snapshot_trash_pending_bytes"], "0");
}

TEST(ClusterTest, StatsOfTheMemoryStoresHaveNoDiskFigures) {
  TestCluster m({.nodes = 1, .durable = false});
  m.start_all();
  ASSERT_NE(m.wait_leader(), 0u);
  auto ms = m.node(1)->stats();
  EXPECT_EQ(ms.count("wal_segments"), 0u);
  EXPECT_EQ(ms.count("snapshot_trash_pending"), 0u);
  EXPECT_EQ(ms["state"], "Leader");
}

TEST(ClusterTest, MetricsCountWhatHappened) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  ASSERT_EQ(apply_many(c.node(leader), 500, 64), 500);
  ASSERT_TRUE(c.wait_converged(500));
  Metrics m = c.node(leader)->metrics();
  EXPECT_GE(m.commands_applied, 500u);
  EXPECT_GE(m.entries_applied, m.commands_applied);
  EXPECT_GE(m.entries_committed, 500u);
  EXPECT_GE(m.leader_changes, 1u);
  for (const Histogram* h : {&m.append_latency, &m.fsync_latency}) {
    ASSERT_EQ(h->counts.size(), h->bounds.size() + 1);
    uint64_t total = 0;
    for (uint64_t n : h->counts) total += n;
    EXPECT_EQ(total, h->count);
    EXPECT_GT(h->count, 0u);  // the WAL synced
    EXPECT_GT(h->sum, 0.0);
  }
  // Group commit: never more syncs than rounds.
  EXPECT_LE(m.fsync_latency.count, m.append_latency.count);
  ASSERT_EQ(m.peers.size(), 2u);
  for (const Metrics::Peer& p : m.peers) {
    EXPECT_NE(p.id, leader);
    EXPECT_GT(p.bytes_sent, 500u * 5);  // every command (>= 5 bytes) went to every follower
    EXPECT_GT(p.messages_received, 0u);
  }
  // A follower that never campaigned started no election; someone did.
  uint64_t elections = 0;
  for (ServerId id : c.ids()) elections += c.node(id)->metrics().elections_started;
  EXPECT_GE(elections, 1u);
}

TEST(ClusterTest, RecoveredStateIsVisibleWhenStartReturns) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  ASSERT_EQ(apply_many(c.node(leader), 50, 8), 50);
  ServerId f = leader % 3 + 1;
  ASSERT_TRUE(c.wait_converged(50));
  uint64_t last = c.node(f)->last_index();
  c.stop(f);
  c.start(f);
  // No wait: an application deciding whether to bootstrap reads these at once.
  EXPECT_GE(c.node(f)->last_index(), last);
  EXPECT_EQ(c.node(f)->configuration().servers.size(), 3u);
  EXPECT_GE(c.node(f)->term(), 1u);
}

TEST(ClusterTest, ANodeWhoseLogLostCommittedEntriesRefusesToStart) {
  // Damage no checksum can show: the last records of the newest WAL
  // segment zeroed, as if never written. The commit index the node stored
  // (written at shutdown) is beyond its log now: it must refuse to start
  // rather than vote and acknowledge as if those entries never existed.
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  ASSERT_EQ(apply_many(c.node(leader), 50, 8), 50);
  ASSERT_TRUE(c.wait_converged(50));
  ServerId f = leader % 3 + 1;
  Config cfg = c.config_for(f);
  c.stop(f);

  std::string newest;
  for (const auto& e : std::filesystem::directory_iterator(cfg.data_dir + "/wal"))
    if (e.path().extension() == ".wal") newest = std::max(newest, e.path().string());
  ASSERT_FALSE(newest.empty());
  // Zero the last three records, from the first of them to the end of the
  // records, where the recovery scan would find them.
  {
    auto file = storage::default_file_system()->open_file(newest, storage::OpenMode::kReadWrite);
    ASSERT_TRUE(file.ok()) << file.status().to_string();
    auto scan = storage::wal::scan_segment(file->get(), {});
    ASSERT_TRUE(scan.ok()) << scan.status().to_string();
    ASSERT_GE(scan->offsets.size(), 3u);
    uint64_t from = scan->offsets[scan->offsets.size() - 3];
    std::string zeros(scan->end_offset - from, '\0');
    ASSERT_TRUE((*file)->write_at(from, {reinterpret_cast<const uint8_t*>(zeros.data()), zeros.size()}).ok());
    ASSERT_TRUE((*file)->sync().ok());
  }

  auto n = NodeFactory::start(cfg, std::make_shared<KvFsm>(), NodeHooks{});
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), ErrorCode::kCorruption) << n.status().to_string();
  EXPECT_NE(n.status().message().find("committed entries are missing"), std::string::npos) << n.status().to_string();
}

TEST(ClusterTest, FiveNodesReplicate) {
  TestCluster c({.nodes = 5});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  ASSERT_EQ(apply_many(c.node(leader), 2000, 128), 2000);
  ASSERT_TRUE(c.wait_converged(2000));
}

TEST(ClusterTest, ApplyResultComesFromTheFsm) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  auto f = c.node(leader)->apply(cmd("x=1"), 5s);
  ASSERT_TRUE(f.wait().ok()) << f.status().to_string();
  uint64_t index = std::any_cast<uint64_t>(f.value());
  EXPECT_GT(index, 1u);
  EXPECT_EQ(c.fsm(leader)->get("x"), "1");
}

TEST(ClusterTest, ApplyOnAFollowerNamesTheLeader) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ServerId follower = leader % 3 + 1;
  auto f = c.node(follower)->apply(cmd("x=1"), 5s);
  ASSERT_FALSE(f.wait().ok());
  EXPECT_EQ(f.status().code(), ErrorCode::kNotLeader);
  EXPECT_NE(f.status().message().find("leader is " + std::to_string(leader)), std::string::npos)
      << f.status().message();
  auto l = c.node(follower)->leader();
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->id, leader);
  EXPECT_EQ(l->address, c.node(leader)->address());
}

TEST(ClusterTest, LeaderShutdownFailsOver) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId old = c.wait_leader();
  ASSERT_EQ(apply_many(c.node(old), 500, 32), 500);
  c.stop(old);
  ServerId now = c.wait_leader();
  ASSERT_NE(now, 0u);
  ASSERT_NE(now, old);
  ASSERT_EQ(apply_many(c.node(now), 500, 32, "after"), 500);
  ASSERT_TRUE(c.wait_converged(1000));
  // The old leader comes back and catches up from its log and the leader.
  c.restart(old);
  ASSERT_TRUE(c.wait_converged(1000));
}

TEST(ClusterTest, FollowerRestartCatchesUpFromItsLog) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_EQ(apply_many(c.node(leader), 1000, 64), 1000);
  ASSERT_TRUE(c.wait_converged(1000));
  ServerId follower = leader % 3 + 1;
  c.stop(follower);
  ASSERT_EQ(apply_many(c.node(leader), 1000, 64, "more"), 1000);
  c.restart(follower);
  ASSERT_TRUE(c.wait_converged(2000));
  EXPECT_EQ(c.fsm(follower)->data(), c.fsm(leader)->data());
}

TEST(ClusterTest, WholeClusterRestartRecoversEverything) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_EQ(apply_many(c.node(leader), 800, 64), 800);
  ASSERT_TRUE(c.wait_converged(800));
  auto before = c.fsm(leader)->data();
  for (ServerId id : c.ids()) c.stop(id);
  for (ServerId id : c.ids()) c.restart(id);
  ASSERT_NE(c.wait_leader(), 0u);
  ASSERT_TRUE(c.wait_converged(800));
  EXPECT_EQ(c.fsm(1)->data(), before);
}

TEST(ClusterTest, PartitionedOldLeaderStepsDownAndLosesItsUncommittedEntries) {
  TestCluster c({.nodes = 3, .tcp = false});
  c.start_all();
  ServerId old = c.wait_leader();
  ASSERT_EQ(apply_many(c.node(old), 100, 16), 100);
  ASSERT_TRUE(c.wait_converged(100));
  c.network()->isolate(old);
  // Accepted by the cut-off leader, never committable.
  auto lost = c.node(old)->apply(cmd("lost=1"), 20s);
  ServerId now = 0;
  ASSERT_TRUE(eventually([&] {
    for (ServerId id : c.ids())
      if (id != old && c.node(id)->state() == Role::kLeader) now = id;
    return now != 0;
  }));
  ASSERT_EQ(apply_many(c.node(now), 100, 16, "new"), 100);
  // Check-quorum: the old leader steps down on its own.
  ASSERT_TRUE(eventually([&] { return c.node(old)->state() != Role::kLeader; }));
  ASSERT_FALSE(lost.wait().ok());
  EXPECT_TRUE(lost.status().code() == ErrorCode::kLeadershipLost || lost.status().code() == ErrorCode::kTimeout)
      << lost.status().to_string();
  c.network()->heal();
  ASSERT_TRUE(c.wait_converged(200));
  EXPECT_FALSE(c.fsm(old)->get("lost").has_value()) << "an uncommitted entry of the old leader survived";
}

TEST(ClusterTest, ReadIndexIsLinearizableAcrossALeaderChange) {
  TestCluster c({.nodes = 3, .tcp = false});
  c.start_all();
  ServerId old = c.wait_leader();
  ASSERT_TRUE(c.node(old)->apply(cmd("r=1"), 5s).wait().ok());
  auto r1 = c.node(old)->read_index(5s);
  ASSERT_TRUE(r1.wait().ok()) << r1.status().to_string();
  EXPECT_EQ(c.fsm(old)->get("r"), "1");
  // Depose the leader; write through the new one.
  c.network()->isolate(old);
  ServerId now = 0;
  ASSERT_TRUE(eventually([&] {
    for (ServerId id : c.ids())
      if (id != old && c.node(id)->state() == Role::kLeader) now = id;
    return now != 0;
  }));
  ASSERT_TRUE(c.node(now)->apply(cmd("r=2"), 5s).wait().ok());
  // The old leader must not serve a read: it cannot confirm leadership.
  auto stale = c.node(old)->read_index(3s);
  ASSERT_FALSE(stale.wait().ok());
  // The new leader serves the new value.
  auto r2 = c.node(now)->read_index(5s);
  ASSERT_TRUE(r2.wait().ok()) << r2.status().to_string();
  EXPECT_EQ(c.fsm(now)->get("r"), "2");
  c.network()->heal();
}

TEST(ClusterTest, ShutdownUnderLoadResolvesEveryFuture) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  std::vector<Future<std::any>> futures;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 20000 && !stop; ++i) futures.push_back(c.node(leader)->apply(cmd("w=" + std::to_string(i)), 10s));
  });
  ASSERT_TRUE(eventually([&] { return c.node(leader)->applied_index() > 50; }));
  c.node(leader)->shutdown();
  stop = true;
  writer.join();
  int ok = 0, down = 0;
  for (auto& f : futures) {
    ASSERT_TRUE(f.wait_for(5s)) << "a future was left unresolved";
    if (f.status().ok()) ++ok;
    else if (f.status().code() == ErrorCode::kShutdown || f.status().code() == ErrorCode::kLeadershipLost) ++down;
    else ADD_FAILURE() << f.status().to_string();
  }
  EXPECT_GT(ok, 0);
  EXPECT_EQ(c.node(leader)->state(), Role::kShutdown);
  auto late = c.node(leader)->apply(cmd("late=1"), 1s);
  EXPECT_EQ(late.wait().code(), ErrorCode::kShutdown);
}

TEST(ClusterTest, BarrierAndVerifyLeader) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  for (int i = 0; i < 100; ++i) c.node(leader)->apply(cmd("b=" + std::to_string(i)), 5s);
  ASSERT_TRUE(c.node(leader)->barrier(5s).wait().ok());
  EXPECT_EQ(c.fsm(leader)->get("b"), "99");
  EXPECT_TRUE(c.node(leader)->verify_leader().wait().ok());
  ServerId follower = leader % 3 + 1;
  EXPECT_EQ(c.node(follower)->verify_leader().wait().code(), ErrorCode::kNotLeader);
}

TEST(ClusterTest, BootstrapTwiceIsRefused) {
  TestCluster c({.nodes = 1});
  c.start_all();
  ClusterConfiguration conf{{{1, c.node(1)->address(), true}}};
  Status s = c.node(1)->bootstrap(conf);
  EXPECT_EQ(s.code(), ErrorCode::kAlreadyExists) << s.to_string();
}

TEST(ClusterTest, LeaderChangeObserverSeesEveryLeader) {
  TestCluster c({.nodes = 3});
  for (ServerId id : c.ids()) c.start(id);
  std::mutex mu;
  std::vector<std::optional<ServerId>> seen;
  c.node(1)->on_leader_change([&](std::optional<ServerId> l, uint64_t) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(l);
  });
  ClusterConfiguration conf;
  for (ServerId id : c.ids()) conf.servers.push_back({id, c.node(id)->address(), true});
  for (ServerId id : c.ids()) ASSERT_TRUE(c.node(id)->bootstrap(conf).ok());
  ServerId leader = c.wait_leader();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return !seen.empty() && seen.back() == leader;
  }));
}

}  // namespace
}  // namespace raft::itest
