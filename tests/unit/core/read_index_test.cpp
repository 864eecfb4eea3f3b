// Linearizable reads with ReadIndex: thesis 6.4.
#include <gtest/gtest.h>

#include "core/raft.hpp"
#include "test_net.hpp"

namespace raft::core::testing {
namespace {

TEST(ReadIndexTest, SingleVoterAnswersAtOnce_6_4) {
  TestNet net(1);
  net.elect(1);
  net.raft(1).read_index(7);
  net.flush();
  ASSERT_EQ(net.node(1).reads.size(), 1u);
  EXPECT_TRUE(net.node(1).reads[0].ok());
  EXPECT_EQ(net.node(1).reads[0].id, 7u);
  EXPECT_EQ(net.node(1).reads[0].index, net.raft(1).commit_index());
}

TEST(ReadIndexTest, WaitsForAQuorumToConfirmLeadership_6_4) {
  TestNet net(3);
  net.elect(1);
  net.raft(1).read_index(1);
  net.flush();
  EXPECT_TRUE(net.node(1).reads.empty()) << "answered before confirming leadership";
  auto hbs = net.take([](const Message& m) { return is<Heartbeat>(m); });
  ASSERT_EQ(hbs.size(), 2u) << "one heartbeat round for the read";
  net.deliver(hbs[0]);  // one follower answers: with the leader, a quorum
  net.settle();
  ASSERT_EQ(net.node(1).reads.size(), 1u);
  EXPECT_TRUE(net.node(1).reads[0].ok());
  EXPECT_EQ(net.node(1).reads[0].index, net.raft(1).commit_index());
}

TEST(ReadIndexTest, ReadsArrivingTogetherShareOneRound_6_4) {
  TestNet net(3);
  net.elect(1);
  for (uint64_t id = 1; id <= 5; ++id) net.raft(1).read_index(id);
  net.flush();
  EXPECT_EQ(net.take([](const Message& m) { return is<Heartbeat>(m); }).size(), 2u);
}

TEST(ReadIndexTest, StaleHeartbeatAnswersDoNotConfirmANewerRead_6_4) {
  TestNet net(3);
  net.elect(1);
  net.raft(1).read_index(1);
  net.flush();
  auto round1 = net.take([](const Message& m) { return is<Heartbeat>(m); });
  net.raft(1).read_index(2);
  net.flush();
  auto round2 = net.take([](const Message& m) { return is<Heartbeat>(m); });
  ASSERT_EQ(round1.size(), 2u);
  ASSERT_EQ(round2.size(), 2u);
  net.deliver(round1[0]);
  net.settle();
  ASSERT_EQ(net.node(1).reads.size(), 1u);
  EXPECT_EQ(net.node(1).reads[0].id, 1u);
  net.deliver(round2[1]);
  net.settle();
  ASSERT_EQ(net.node(1).reads.size(), 2u);
  EXPECT_EQ(net.node(1).reads[1].id, 2u);
}

TEST(ReadIndexTest, WaitsUntilTheLeaderCommittedAnEntryOfItsTerm_6_4) {
  TestNet net(3);
  net.advance(1, 250ms);  // campaigns; the test delivers each step by hand
  for (int round = 0; round < 2; ++round) {  // pre-vote, then vote
    for (const Message& m : net.take([](const Message& m) { return is<RequestVote>(m); })) net.deliver(m);
    for (const Message& m : net.take([](const Message& m) { return is<RequestVoteResponse>(m); })) net.deliver(m);
  }
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  ASSERT_LT(net.raft(1).commit_index(), Index(2)) << "the noop must not be committed yet";
  net.take([](const Message&) { return true; });  // hold back the noop's appends
  net.raft(1).read_index(1);
  net.flush();
  EXPECT_TRUE(net.take([](const Message& m) { return is<Heartbeat>(m); }).empty());
  // Let replication run: the noop commits, then the read's round happens.
  net.advance(1, 10ms);
  net.settle();
  ASSERT_EQ(net.node(1).reads.size(), 1u);
  EXPECT_TRUE(net.node(1).reads[0].ok());
  EXPECT_GE(net.node(1).reads[0].index, Index(2));
}

TEST(ReadIndexTest, FollowerIsToldNotLeader) {
  TestNet net(3);
  net.elect(1);
  net.raft(2).read_index(9);
  net.flush();
  ASSERT_EQ(net.node(2).reads.size(), 1u);
  EXPECT_EQ(net.node(2).reads[0].error, ErrorCode::kNotLeader);
}

TEST(ReadIndexTest, ReadAcrossALeaderChange_6_4) {
  // A leader cut off from the others cannot confirm a read: when it loses
  // leadership the read fails. The new leader serves a later read at an
  // index that includes the writes committed meanwhile.
  TestNet net(3);
  net.elect(1);
  net.isolate(1);
  net.raft(1).read_index(1);
  net.flush();
  EXPECT_TRUE(net.node(1).reads.empty());
  net.advance(3, 100ms);  // node 3's lease on leader 1 runs out
  net.elect(2);
  ASSERT_EQ(net.raft(2).role(), Role::kLeader);
  ASSERT_TRUE(net.raft(2).propose(EntryType::kCommand, Buffer::from_string("w")).ok());
  net.settle();
  Index written = net.raft(2).last_index();
  // The old leader steps down (check-quorum) and fails its pending read.
  for (int i = 0; i < 25; ++i) net.advance(1, 10ms);
  ASSERT_EQ(net.node(1).reads.size(), 1u);
  EXPECT_EQ(net.node(1).reads[0].error, ErrorCode::kLeadershipLost);
  net.raft(2).read_index(2);
  net.settle();
  ASSERT_EQ(net.node(2).reads.size(), 1u);
  EXPECT_TRUE(net.node(2).reads[0].ok());
  EXPECT_GE(net.node(2).reads[0].index, written);
}

}  // namespace
}  // namespace raft::core::testing
