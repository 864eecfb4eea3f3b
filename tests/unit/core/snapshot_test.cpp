// Snapshots, log compaction and InstallSnapshot (thesis chapter 5).
#include <gtest/gtest.h>

#include "core/raft.hpp"
#include "test_net.hpp"

namespace raft::core::testing {
namespace {

void elect_and_write(TestNet& net, int commands) {
  net.elect(1);
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  for (int i = 0; i < commands; ++i)
    ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, Buffer::from_string("c" + std::to_string(i))).ok());
  net.settle();
  net.advance(1, 10ms);
  net.settle();
}

TEST(SnapshotTest, CompactionKeepsTrailingEntries_5_1) {
  TestNet net(3, [](Config& c) { c.trailing_entries = 10; });
  elect_and_write(net, 50);
  Index last = net.raft(1).last_index();  // 52: config, noop, 50 commands
  SnapshotInfo s = net.take_snapshot(1);
  EXPECT_EQ(s.index, last);
  ASSERT_TRUE(net.node(1).last_compact.has_value());
  EXPECT_EQ(*net.node(1).last_compact, last - 10);
  EXPECT_EQ(net.raft(1).log().first_index(), last - 9);
  // The dropped entries come back in the Ready, for the runtime to free
  // off its event loop: every one of [1, last - 10], in order.
  const std::vector<Index>& released = net.node(1).released;
  ASSERT_EQ(released.size(), (last - 10).value);
  for (size_t k = 0; k < released.size(); ++k) EXPECT_EQ(released[k], Index(k + 1));
  EXPECT_EQ(net.raft(1).latest_snapshot().index, last);
}

TEST(SnapshotTest, FollowerBehindTheLogStartReceivesTheSnapshot_5_3) {
  TestNet net(3, [](Config& c) {
    c.trailing_entries = 5;
    c.snapshot_chunk_bytes = 16;  // many chunks
    c.snapshot_chunks_inflight = 2;
  });
  net.elect(1);
  net.isolate(3);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, Buffer::from_string("c" + std::to_string(i))).ok());
  net.settle();
  net.advance(1, 10ms);
  net.settle();
  SnapshotInfo s = net.take_snapshot(1);
  ASSERT_GT(net.raft(1).log().first_index(), net.raft(3).last_index() + 1);
  net.heal();
  for (int i = 0; i < 6; ++i) {
    net.advance(1, 10ms);
    net.settle();
  }
  ASSERT_TRUE(net.node(3).last_install.has_value()) << "no snapshot was installed";
  EXPECT_EQ(net.node(3).last_install->info.index, s.index);
  EXPECT_FALSE(net.node(3).last_install->keep_log);
  EXPECT_EQ(net.node(3).snapshots[net.node(3).last_install->info.id], net.node(1).snapshots[s.id])
      << "the bytes arrived changed";
  // It carries on from the log afterwards.
  ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, Buffer::from_string("after")).ok());
  net.settle();
  net.advance(1, 10ms);
  net.settle();
  EXPECT_EQ(net.raft(3).last_index(), net.raft(1).last_index());
  EXPECT_EQ(net.raft(3).commit_index(), net.raft(1).commit_index());
  EXPECT_EQ(net.raft(1).progress(NodeId(3))->match, net.raft(1).last_index());
}

TEST(SnapshotTest, LostChunksResumeAfterAStall_5_3) {
  TestNet net(3, [](Config& c) {
    c.trailing_entries = 0;
    c.snapshot_chunk_bytes = 8;
  });
  net.elect(1);
  net.isolate(3);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, Buffer::from_string("c" + std::to_string(i))).ok());
  net.settle();
  net.advance(1, 10ms);
  net.settle();
  net.take_snapshot(1);
  net.heal();
  net.node(3).drop_snapshot_chunks = true;  // a broken connection eats them
  net.advance(1, 10ms);
  net.settle();
  EXPECT_FALSE(net.node(3).last_install.has_value());
  net.node(3).drop_snapshot_chunks = false;
  for (int i = 0; i < 30; ++i) {  // past an election timeout: resend
    net.advance(1, 10ms);
    net.advance(3, 10ms);
    net.settle();
  }
  ASSERT_TRUE(net.node(3).last_install.has_value());
  EXPECT_EQ(net.raft(3).commit_index(), net.raft(1).commit_index());
}

TEST(SnapshotTest, InstallKeepsMatchingLogSuffix_5_3) {
  // Thesis Figure 5.3, step 6: an existing entry with the snapshot's index
  // and term means the log after it is kept.
  Configuration conf = voters({1, 2, 3});
  TestNet net;
  InitialState st;
  st.hard_state.term = Term(2);
  st.entries = log_with_terms(conf, {2, 2, 2, 2});  // 1..5
  net.add(2, st);
  Raft& f = net.raft(2);
  f.snapshot_chunk_written(NodeId(1), SnapshotInfo{"given", Index(3), Term(2), conf, Index(1), 0, 0}, 0, true, Status());
  Ready rd = f.take_ready();
  ASSERT_TRUE(rd.install.has_value());
  EXPECT_TRUE(rd.install->keep_log);
  EXPECT_EQ(f.log().first_index(), Index(4));
  EXPECT_EQ(f.last_index(), Index(5));
  EXPECT_EQ(f.commit_index(), Index(3));
}

TEST(SnapshotTest, ConflictingLogIsDiscardedOnInstall_5_3) {
  Configuration conf = voters({1, 2, 3});
  TestNet net;
  InitialState st;
  st.hard_state.term = Term(3);
  st.entries = log_with_terms(conf, {2, 2});  // 1..3
  net.add(2, st);
  Raft& f = net.raft(2);
  f.snapshot_chunk_written(NodeId(1), SnapshotInfo{"given", Index(9), Term(3), conf, Index(1), 0, 0}, 0, true, Status());
  Ready rd = f.take_ready();
  ASSERT_TRUE(rd.install.has_value());
  EXPECT_FALSE(rd.install->keep_log);
  EXPECT_EQ(f.log().first_index(), Index(10));
  EXPECT_EQ(f.commit_index(), Index(9));
  EXPECT_TRUE(rd.committed.empty()) << "entries the snapshot covers are not applied again";
}

TEST(SnapshotTest, UnreadableSnapshotRestartsTheTransfer) {
  TestNet net(3, [](Config& c) { c.trailing_entries = 0; });
  net.elect(1);
  net.isolate(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, Buffer::from_string("x")).ok());
  net.settle();
  net.advance(1, 10ms);
  net.settle();
  net.take_snapshot(1);
  net.heal();
  net.node(1).fail_snapshot_reads = true;
  net.advance(1, 10ms);
  net.settle();
  EXPECT_NE(net.raft(1).progress(NodeId(3))->state, Progress::State::kSnapshot) << "stuck on a snapshot it cannot read";
  net.node(1).fail_snapshot_reads = false;
  for (int i = 0; i < 3; ++i) {
    net.advance(1, 10ms);
    net.settle();
  }
  EXPECT_TRUE(net.node(3).last_install.has_value());
}

TEST(SnapshotTest, RestartFromSnapshotAndTrailingLog) {
  TestNet net(3, [](Config& c) { c.trailing_entries = 3; });
  elect_and_write(net, 10);
  SnapshotInfo s = net.take_snapshot(1);
  ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, Buffer::from_string("tail")).ok());
  net.settle();
  Raft& r = net.restart(1, net.raft(1).commit_index());
  EXPECT_EQ(r.latest_snapshot().index, s.index);
  EXPECT_LE(r.log().first_index(), s.index + 1);
  Ready rd = r.take_ready();
  ASSERT_FALSE(rd.committed.empty());
  EXPECT_EQ(rd.committed.front().index, s.index + 1) << "only what follows the snapshot is applied again";
}

}  // namespace
}  // namespace raft::core::testing

namespace raft::core::testing {
namespace {

// Found by the simulator (tests/sim, seed 131): a follower whose durable
// log ran past the snapshot's index but disagreed with it discarded that
// log on install, yet still took it as durable up to its old end, and so
// acknowledged the next entry the leader sent before storage held it.
TEST(SnapshotTest, ADiscardedLogIsNoLongerDurable_5_3) {
  Configuration conf = voters({1, 2, 3});
  TestNet net;
  net.auto_persist = false;
  InitialState st;
  st.hard_state.term = Term(3);
  st.entries = log_with_terms(conf, {2, 2, 2, 2, 2});  // 1..6, durable
  net.add(2, st);
  Raft& f = net.raft(2);
  f.snapshot_chunk_written(NodeId(1), SnapshotInfo{"given", Index(4), Term(3), conf, Index(1), 0, 0}, 0, true, Status());
  Ready rd = f.take_ready();
  ASSERT_TRUE(rd.install.has_value());
  ASSERT_FALSE(rd.install->keep_log);
  f.receive(Message{NodeId(1), NodeId(2), Term(3), AppendEntries{Index(4), Term(3), {command(Index(5), Term(3))}, Index(4)}});
  rd = f.take_ready();
  ASSERT_EQ(rd.entries.size(), 1u);
  for (const Message& m : rd.messages) {
    const auto* r = std::get_if<AppendEntriesResponse>(&m.body);
    EXPECT_FALSE(r && r->success && r->match_index >= Index(5)) << "acknowledged entry 5 before it was durable";
  }
  f.persisted(Index(5), Term(3));
  rd = f.take_ready();
  bool acked = false;
  for (const Message& m : rd.messages) {
    const auto* r = std::get_if<AppendEntriesResponse>(&m.body);
    acked |= r && r->success && r->match_index == Index(5);
  }
  EXPECT_TRUE(acked) << "no acknowledgement once durable";
}

}  // namespace
}  // namespace raft::core::testing
