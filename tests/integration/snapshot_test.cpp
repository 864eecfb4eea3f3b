// Snapshots through the runtime: taken automatically and on request, the
// log compacted, restored on restart, streamed to a follower that fell
// behind the log (thesis chapter 5), and restored from a user's snapshot.
#include <gtest/gtest.h>

#include "runtime/config_convert.hpp"
#include "storage/file_snapshot_store.hpp"
#include "test_cluster.hpp"

namespace raft::itest {
namespace {

Buffer cmd(const std::string& s) { return Buffer::from_string(s); }

int apply_many(Node* leader, int n, int concurrency, const std::string& prefix, size_t value_bytes = 8) {
  std::vector<Future<std::any>> inflight;
  int ok = 0;
  std::string pad(value_bytes, 'v');
  for (int i = 0; i < n; ++i) {
    inflight.push_back(leader->apply(cmd(prefix + std::to_string(i % 1000) + "=" + pad + std::to_string(i)), 10s));
    if (static_cast<int>(inflight.size()) >= concurrency) {
      ok += inflight.front().wait().ok();
      inflight.erase(inflight.begin());
    }
  }
  for (auto& f : inflight) ok += f.wait().ok();
  return ok;
}

uint64_t stat(Node* n, const std::string& k) { return std::stoull(n->stats()[k]); }

TEST(SnapshotTest, AutomaticSnapshotsCompactTheLogAndRestartRestoresThem) {
  TestCluster c({.nodes = 3, .tweak = [](Config& cfg) {
                   cfg.snapshot_threshold = 200;
                   cfg.snapshot_interval = 30ms;
                   cfg.trailing_logs = 50;
                 }});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_EQ(apply_many(c.node(leader), 2000, 64, "k"), 2000);
  ASSERT_TRUE(c.wait_converged(2000));
  for (ServerId id : c.ids())
    ASSERT_TRUE(eventually([&] { return stat(c.node(id), "last_snapshot_index") > 1000; })) << id;
  auto before = c.fsm(leader)->data();
  for (ServerId id : c.ids()) c.stop(id);
  for (ServerId id : c.ids()) c.restart(id);
  ASSERT_NE(c.wait_leader(), 0u);
  for (ServerId id : c.ids()) {
    EXPECT_EQ(c.fsm(id)->restores(), 1u) << "node " << id << " did not restore its snapshot";
    ASSERT_TRUE(eventually([&] { return c.fsm(id)->data() == before; })) << id;
  }
}

TEST(SnapshotTest, TheLogsBytesStartASnapshotLongBeforeTheInterval) {
  // An hour between checks of snapshot_threshold: only snapshot_log_bytes
  // can start a snapshot here. 3000 commands of about 70 bytes count 134
  // bytes each (64 for the entry): 400 KB, four times 100 KB. The first
  // snapshot starts after about 760 entries; how many follow depends on
  // how long each takes (one runs at a time).
  TestCluster c({.nodes = 3, .tweak = [](Config& cfg) {
                   cfg.snapshot_interval = std::chrono::hours(1);
                   cfg.snapshot_log_bytes = 100 << 10;
                   cfg.trailing_logs = 50;
                 }});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_EQ(apply_many(c.node(leader), 3000, 64, "k", 60), 3000);
  ASSERT_TRUE(c.wait_converged(3000));
  for (ServerId id : c.ids()) {
    ASSERT_TRUE(eventually([&] { return stat(c.node(id), "snapshots_taken") >= 1; })) << id;
    EXPECT_GT(stat(c.node(id), "last_snapshot_index"), 700u) << id;
  }
}

TEST(SnapshotTest, OnRequestAndNothingNew) {
  TestCluster c({.nodes = 1});
  c.start_all();
  ASSERT_EQ(c.wait_leader(), 1u);
  ASSERT_EQ(apply_many(c.node(1), 10, 4, "x"), 10);
  auto s = c.node(1)->snapshot();
  ASSERT_TRUE(s.wait().ok()) << s.status().to_string();
  EXPECT_GE(s.value(), 11u);
  auto again = c.node(1)->snapshot();
  EXPECT_EQ(again.wait().code(), ErrorCode::kAborted) << again.status().to_string();
}

// The bulk tests write tens of MiB; under a sanitizer on a busy machine a
// sync can take longer than the usual 200 ms test election timeout, which
// would (rightly) make the leader step down as a stalled disk.
TEST(SnapshotTest, FollowerDownFor100000EntriesCatchesUpBySnapshot) {
  TestCluster c({.nodes = 3, .election = 1000ms, .tweak = [](Config& cfg) {
                   cfg.snapshot_threshold = 20000;
                   cfg.snapshot_interval = 50ms;
                   cfg.trailing_logs = 1000;
                   cfg.max_pending_commands = 1 << 20;
                 }});
  c.start_all();
  ServerId leader = c.wait_leader();
  ServerId lagging = leader % 3 + 1;
  c.stop(lagging);
  ASSERT_EQ(apply_many(c.node(leader), 100000, 512, "big"), 100000);
  ASSERT_TRUE(eventually([&] { return stat(c.node(leader), "last_snapshot_index") > 50000; }, 20s));
  c.restart(lagging);
  ASSERT_TRUE(c.wait_converged(100000, 60s));
  EXPECT_GE(stat(c.node(lagging), "snapshots_installed"), 1u);
  EXPECT_EQ(c.fsm(lagging)->data(), c.fsm(leader)->data());
}

TEST(SnapshotTest, SnapshotLargerThanEveryBufferStreams) {
  // About 24 MiB of state, sent in 1 MiB chunks with 4 in flight, to a
  // follower that has none of the log.
  TestCluster c({.nodes = 3, .election = 1000ms, .tweak = [](Config& cfg) {
                   cfg.snapshot_threshold = 100;
                   cfg.snapshot_interval = 50ms;
                   cfg.trailing_logs = 10;
                 }});
  c.start_all();
  ServerId leader = c.wait_leader();
  ServerId lagging = leader % 3 + 1;
  c.stop(lagging);
  ASSERT_EQ(apply_many(c.node(leader), 400, 16, "blob", 60000), 400);
  ASSERT_TRUE(eventually([&] { return stat(c.node(leader), "last_snapshot_index") > 300; }, 20s));
  c.restart(lagging);
  ASSERT_TRUE(c.wait_converged(400, 60s));
  EXPECT_GE(stat(c.node(lagging), "snapshots_installed"), 1u);
  EXPECT_EQ(c.fsm(lagging)->data(), c.fsm(leader)->data());
}

// A user's snapshot: a KvFsm snapshot of another cluster's state.
class BytesReader : public SnapshotReader {
 public:
  explicit BytesReader(std::string b) : b_(std::move(b)) {}
  Result<size_t> read(std::span<uint8_t> out) override {
    size_t n = std::min(out.size(), b_.size() - off_);
    std::memcpy(out.data(), b_.data() + off_, n);
    off_ += n;
    return n;
  }

 private:
  std::string b_;
  size_t off_ = 0;
};

class StringSink : public SnapshotSink {
 public:
  Status write(std::span<const uint8_t> b) override {
    s.append(reinterpret_cast<const char*>(b.data()), b.size());
    return Status();
  }
  std::string s;
};

TEST(SnapshotTest, UserRestoreReplacesTheClusterState) {
  KvFsm donor;
  std::string bytes;
  {
    LogEntry e;
    std::string a = "restored=yes";
    e.index = 1;
    e.data = {reinterpret_cast<const uint8_t*>(a.data()), a.size()};
    donor.apply(e);
    auto snap = donor.snapshot();
    ASSERT_TRUE(snap.ok());
    StringSink sink;
    ASSERT_TRUE((*snap)->persist(sink).ok());
    bytes = sink.s;
  }
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_EQ(apply_many(c.node(leader), 50, 8, "old"), 50);
  BytesReader reader(bytes);
  Status s = c.node(leader)->restore(reader, 10s);
  ASSERT_TRUE(s.ok()) << s.to_string();
  for (ServerId id : c.ids()) {
    ASSERT_TRUE(eventually([&] { return c.fsm(id)->get("restored") == "yes"; })) << id;
    EXPECT_FALSE(c.fsm(id)->get("old0").has_value()) << id;
  }
  ServerId follower = leader % 3 + 1;
  EXPECT_EQ(c.node(follower)->restore(reader, 1s).code(), ErrorCode::kNotLeader);
}

// A node that crashed after a snapshot from the leader was durable but
// before its log was cut: at start the snapshot wins, the stale log is
// dropped, and the log store restarts after the snapshot.
TEST(SnapshotTest, ASnapshotBeyondTheLogWinsAtStart) {
  TestCluster c({.nodes = 1});
  c.start_all();
  ASSERT_EQ(c.wait_leader(), 1u);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.node(1)->apply(cmd("old" + std::to_string(i) + "=1"), 5s).wait().ok());
  uint64_t term = c.node(1)->term();
  ClusterConfiguration conf = c.node(1)->committed_configuration();
  c.stop(1);

  KvFsm donor;
  std::string x = "x=42";
  LogEntry e;
  e.index = 100;
  e.term = term;
  e.data = {reinterpret_cast<const uint8_t*>(x.data()), x.size()};
  donor.apply(e);
  {
    auto store = storage::FileSnapshotStore::open(c.config_for(1).data_dir + "/snapshots", {});
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    storage::SnapshotMeta meta;
    meta.index = Index(100);
    meta.term = Term(term);
    meta.configuration = runtime::internal_configuration(conf);
    meta.configuration_index = Index(1);
    auto w = (*store)->create(meta);
    ASSERT_TRUE(w.ok()) << w.status().to_string();
    auto snap = donor.snapshot();
    ASSERT_TRUE(snap.ok());
    struct Sink : SnapshotSink {
      storage::SnapshotWriter* w;
      Status write(std::span<const uint8_t> b) override { return w->write(b); }
    } sink;
    sink.w = w->get();
    ASSERT_TRUE((*snap)->persist(sink).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }

  c.restart(1);
  ASSERT_EQ(c.wait_leader(), 1u);
  EXPECT_EQ(c.fsm(1)->get("x"), "42");
  EXPECT_EQ(c.fsm(1)->get("old0"), std::nullopt);  // the snapshot is the state now
  ASSERT_TRUE(c.node(1)->apply(cmd("after=1"), 5s).wait().ok());
  EXPECT_GT(c.node(1)->last_index(), 100u);
  // And again from disk: the reset log continues the snapshot.
  c.stop(1);
  c.restart(1);
  ASSERT_EQ(c.wait_leader(), 1u);
  EXPECT_TRUE(eventually([&] { return c.fsm(1)->get("after") == "1" && c.fsm(1)->get("x") == "42"; }));
}

}  // namespace
}  // namespace raft::itest
