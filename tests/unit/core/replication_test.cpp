// Log replication and commitment: thesis 3.5, 3.6.2 (Figure 8), 10.2.1,
// and the durability rules of DESIGN.md.
#include <gtest/gtest.h>

#include "core/raft.hpp"
#include "test_net.hpp"

namespace raft::core::testing {
namespace {

Buffer bytes(const std::string& s) { return Buffer::from_string(s); }

TEST(ReplicationTest, CommandsReplicateAndCommitEverywhere_3_5) {
  TestNet net(3);
  net.elect(1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, bytes("x" + std::to_string(i))).ok());
  net.settle();
  net.advance(1, 10ms);  // a heartbeat carries the final commit index
  net.settle();
  for (uint64_t id = 1; id <= 3; ++id) {
    EXPECT_EQ(net.raft(id).commit_index(), Index(12)) << id;
    ASSERT_EQ(net.node(id).applied.size(), 12u) << id;
    EXPECT_EQ(net.node(id).applied.back().data.view(), "x9");
  }
}

TEST(ReplicationTest, ProposalOnFollowerNamesTheLeader) {
  TestNet net(3);
  net.elect(1);
  auto r = net.raft(2).propose(EntryType::kCommand, bytes("x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotLeader);
  EXPECT_NE(r.status().message().find("leader is 1"), std::string::npos) << r.status().message();
  TestNet lonely(3);
  auto u = lonely.raft(2).propose(EntryType::kCommand, bytes("x"));
  EXPECT_NE(u.status().message().find("leader unknown"), std::string::npos);
}

TEST(ReplicationTest, LeaderSendsBeforeItsOwnWriteIsDurable_10_2_1) {
  TestNet net(3);
  net.elect(1);
  net.auto_persist = false;
  Raft& r = net.raft(1);
  ASSERT_TRUE(r.propose(EntryType::kCommand, bytes("a")).ok());
  Ready rd = r.take_ready();
  ASSERT_EQ(rd.entries.size(), 1u);  // to write
  int appends = 0;
  for (const Message& m : rd.messages) appends += is<AppendEntries>(m);
  EXPECT_EQ(appends, 2) << "the append to followers goes out in the same Ready as the local write";
}

TEST(ReplicationTest, LeaderCountsItsOwnLogOnlyOnceDurable_10_2_1) {
  // Three voters: the leader plus one follower make a quorum. The follower
  // has acknowledged, but the leader's own write is not durable yet.
  TestNet net(3);
  net.elect(1);
  net.isolate(3);
  net.auto_persist = false;
  ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, bytes("a")).ok());
  net.flush();
  net.settle();
  net.persist(2);  // follower durable -> it acks
  net.settle();
  Index idx(3);
  EXPECT_EQ(net.raft(1).progress(NodeId(2))->match, idx);
  EXPECT_LT(net.raft(1).commit_index(), idx) << "a quorum counted a leader write that is not durable";
  net.persist(1);
  net.settle();
  EXPECT_EQ(net.raft(1).commit_index(), idx);
}

TEST(ReplicationTest, FollowerAcknowledgesOnlyDurableEntries) {
  TestNet net(3);
  net.elect(1);
  net.auto_persist = false;
  ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, bytes("a")).ok());
  net.flush();
  auto to2 = net.take([](const Message& m) { return is<AppendEntries>(m) && m.to == NodeId(2); });
  ASSERT_EQ(to2.size(), 1u);
  Raft& f = net.raft(2);
  f.receive(to2[0]);
  Ready rd = f.take_ready();
  EXPECT_EQ(rd.entries.size(), 1u);
  for (const Message& m : rd.messages) EXPECT_FALSE(is<AppendEntriesResponse>(m)) << "acknowledged before durable";
  f.persisted(rd.entries.back().index, rd.entries.back().term);
  Ready rd2 = f.take_ready();
  ASSERT_EQ(rd2.messages.size(), 1u);
  const auto& ack = std::get<AppendEntriesResponse>(rd2.messages[0].body);
  EXPECT_TRUE(ack.success);
  EXPECT_EQ(ack.match_index, rd.entries.back().index);
}

TEST(ReplicationTest, ConsistencyCheckRejectsAMissingPrevEntry_3_5) {
  TestNet net(3);
  Raft& f = net.raft(2);
  f.receive(Message{NodeId(1), NodeId(2), Term(2),
                    AppendEntries{Index(5), Term(2), {command(Index(6), Term(2))}, Index(0)}});
  Ready rd = f.take_ready();
  ASSERT_EQ(rd.messages.size(), 1u);
  const auto& r = std::get<AppendEntriesResponse>(rd.messages[0].body);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.rejected_index, Index(5));
  EXPECT_EQ(r.conflict_term, Term(0));
  EXPECT_EQ(r.conflict_index, Index(2)) << "the follower's log ends at 1";
  EXPECT_TRUE(rd.entries.empty());
}

TEST(ReplicationTest, ConflictingSuffixIsReplaced_3_5) {
  Configuration conf = voters({1, 2, 3});
  TestNet net;
  InitialState st;
  st.hard_state.term = Term(3);
  st.entries = log_with_terms(conf, {2, 2, 2});  // indexes 2..4 from term 2
  net.add(2, st);
  Raft& f = net.raft(2);
  // Leader of term 3 whose log diverged after index 2.
  f.receive(Message{NodeId(1), NodeId(2), Term(3),
                    AppendEntries{Index(2), Term(2), {command(Index(3), Term(3)), command(Index(4), Term(3))}, Index(0)}});
  Ready rd = f.take_ready();
  ASSERT_TRUE(rd.truncate_from.has_value());
  EXPECT_EQ(*rd.truncate_from, Index(3));
  EXPECT_EQ(rd.entries.size(), 2u);
  EXPECT_EQ(terms_of(f.log()), (std::vector<uint64_t>{1, 2, 3, 3}));
}

TEST(ReplicationTest, ReorderedOldAppendDoesNotCutTheLog_3_5) {
  TestNet net(3);
  Raft& f = net.raft(2);
  auto ae = [](Index prev, std::vector<Entry> es) {
    return Message{NodeId(1), NodeId(2), Term(2), AppendEntries{prev, prev == Index(1) ? Term(1) : Term(2), std::move(es), Index(0)}};
  };
  f.receive(ae(Index(1), {command(Index(2), Term(2)), command(Index(3), Term(2)), command(Index(4), Term(2))}));
  f.receive(ae(Index(1), {command(Index(2), Term(2))}));  // an older, delayed copy
  EXPECT_EQ(f.last_index(), Index(4));
}

// Thesis Figure 7: whatever a follower's log looks like, the leader of
// term 8 brings it to exactly its own.
TEST(ReplicationTest, Figure7FollowersConvergeToTheLeader_3_5) {
  Configuration conf = voters({1, 2, 3});
  // The thesis numbers entries from 1; here index 1 is the configuration,
  // so every log is shifted by one.
  std::vector<uint64_t> leader_terms = {1, 1, 4, 4, 5, 5, 6, 6, 6};
  std::vector<std::vector<uint64_t>> followers = {
      {1, 1, 4, 4, 5, 5, 6, 6},           // (a) missing entries
      {1, 1, 4},                          // (b) missing many
      {1, 1, 4, 4, 5, 5, 6, 6, 6, 6},     // (c) an extra uncommitted entry
      {1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},  // (d) extra entries of a later term
      {1, 1, 4, 4, 4, 4},                 // (e) missing, and extra of term 4
      {1, 1, 2, 2, 2, 3, 3, 3, 3, 3},     // (f) extra entries of terms 2 and 3
  };
  const char* names = "abcdef";
  for (size_t k = 0; k < followers.size(); ++k) {
    TestNet net;
    net.set_tweak([](Config& c) { c.pre_vote = false; });
    InitialState lead;
    lead.hard_state.term = Term(7);
    lead.entries = log_with_terms(conf, leader_terms);
    net.add(1, lead);
    net.add(3, lead);  // votes for the leader
    InitialState fol;
    fol.hard_state.term = Term(7);
    fol.entries = log_with_terms(conf, followers[k]);
    net.add(2, fol);
    net.elect(1);
    ASSERT_EQ(net.raft(1).role(), Role::kLeader) << names[k];
    ASSERT_EQ(net.raft(1).term(), Term(8));
    net.advance(1, 10ms);
    net.settle();
    EXPECT_EQ(terms_of(net.raft(2).log()), terms_of(net.raft(1).log())) << "follower (" << names[k] << ")";
    for (Index i(1); i <= net.raft(1).last_index(); ++i)
      EXPECT_EQ(net.raft(2).log().at(i).data, net.raft(1).log().at(i).data) << names[k] << " " << i;
  }
}

TEST(ReplicationTest, FastBacktrackingSkipsAWholeTermPerRoundTrip_3_5) {
  // Follower (f) of Figure 7 holds 8 entries the leader lacks, in two
  // terms: one rejection per conflicting term, not per entry.
  Configuration conf = voters({1, 2, 3});
  TestNet net;
  net.set_tweak([](Config& c) { c.pre_vote = false; });
  InitialState lead;
  lead.hard_state.term = Term(7);
  lead.entries = log_with_terms(conf, {1, 1, 4, 4, 5, 5, 6, 6, 6});
  net.add(1, lead);
  net.add(3, lead);
  InitialState fol;
  fol.hard_state.term = Term(7);
  fol.entries = log_with_terms(conf, {1, 1, 2, 2, 2, 3, 3, 3, 3, 3});
  net.add(2, fol);
  net.elect(1);
  net.advance(1, 10ms);
  net.settle();
  int rejections = 0;
  for (const Message& m : net.sent())
    if (m.from == NodeId(2) && is<AppendEntriesResponse>(m) && !std::get<AppendEntriesResponse>(m.body).success)
      ++rejections;
  EXPECT_LE(rejections, 3) << "backtracking went entry by entry";
  EXPECT_EQ(terms_of(net.raft(2).log()), terms_of(net.raft(1).log()));
}

// Thesis Figure 8 / 3.6.2: a leader does not commit an entry of an earlier
// term by counting replicas, even on a majority; it commits once an entry
// of its own term is replicated on a majority.
TEST(ReplicationTest, Figure8LeaderOnlyCommitsEntriesOfItsOwnTerm_3_6_2) {
  Configuration conf = voters({1, 2, 3, 4, 5});
  TestNet net;
  net.set_tweak([](Config& c) { c.pre_vote = false; });
  // S1 was leader of term 2 and replicated index 2 to S2 only; it is now
  // elected in term 4 (with S2 and S3).
  InitialState s1;
  s1.hard_state.term = Term(3);
  s1.entries = log_with_terms(conf, {2});
  net.add(1, s1);
  net.add(2, s1);
  InitialState other;
  other.hard_state.term = Term(3);
  other.entries = log_with_terms(conf, {});
  for (uint64_t id = 3; id <= 5; ++id) net.add(id, other);
  net.isolate(4);
  net.isolate(5);
  // Win the election but hold back every append.
  net.advance(1, 250ms);
  net.settle(/*limit=*/0);
  for (const Message& m : net.take([](const Message& m) { return is<RequestVote>(m); })) net.deliver(m);
  for (const Message& m : net.take([](const Message& m) { return is<RequestVoteResponse>(m); })) net.deliver(m);
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  ASSERT_EQ(net.raft(1).term(), Term(4));
  // S3 acknowledges index 2 (term 2) only: S1, S2, S3 hold it, a majority.
  net.take([](const Message&) { return true; });
  net.deliver(Message{NodeId(3), NodeId(1), Term(4), AppendEntriesResponse{true, Index(2), {}, {}, {}, Index(2)}});
  net.deliver(Message{NodeId(2), NodeId(1), Term(4), AppendEntriesResponse{true, Index(2), {}, {}, {}, Index(2)}});
  EXPECT_LT(net.raft(1).commit_index(), Index(2)) << "committed a term-2 entry by counting replicas (Figure 8)";
  // Once the noop of term 4 (index 3) is on a majority, both commit.
  net.deliver(Message{NodeId(3), NodeId(1), Term(4), AppendEntriesResponse{true, Index(3), {}, {}, {}, Index(3)}});
  net.deliver(Message{NodeId(2), NodeId(1), Term(4), AppendEntriesResponse{true, Index(3), {}, {}, {}, Index(3)}});
  EXPECT_EQ(net.raft(1).commit_index(), Index(3));
}

TEST(ReplicationTest, AppendsAreBatchedByCountAndBytes) {
  TestNet net(2, [](Config& c) {
    c.append_entries_max = 4;
    c.append_bytes_max = 100;
  });
  net.elect(1);
  net.auto_persist = false;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, bytes(std::string(10, 'a'))).ok());
  ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, bytes(std::string(150, 'b'))).ok());
  net.flush();
  auto appends = net.take([](const Message& m) { return is<AppendEntries>(m); });
  ASSERT_FALSE(appends.empty());
  size_t total = 0;
  for (const Message& m : appends) {
    const auto& ae = std::get<AppendEntries>(m.body);
    EXPECT_LE(ae.entries.size(), 4u);
    size_t b = 0;
    for (const Entry& e : ae.entries) b += e.data.size();
    // An entry larger than the bound still travels, alone.
    EXPECT_TRUE(b <= 100 || ae.entries.size() == 1) << b;
    total += ae.entries.size();
  }
  EXPECT_EQ(total, 11u);
}

TEST(ReplicationTest, PipelineIsBoundedByTheInflightWindow_10_2_2) {
  TestNet net(2, [](Config& c) {
    c.append_entries_max = 1;
    c.inflight_appends_max = 3;
  });
  net.elect(1);
  ASSERT_EQ(net.raft(1).progress(NodeId(2))->state, Progress::State::kReplicate);
  net.auto_persist = false;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, bytes("x")).ok());
  net.flush();
  auto appends = net.take([](const Message& m) { return is<AppendEntries>(m); });
  EXPECT_EQ(appends.size(), 3u) << "pipelined up to the window, no further";
  // An acknowledgement opens the window again.
  Index acked = std::get<AppendEntries>(appends[0].body).entries.back().index;
  net.deliver(Message{NodeId(2), NodeId(1), net.raft(1).term(), AppendEntriesResponse{true, acked, {}, {}, {}, acked}});
  EXPECT_EQ(net.take([](const Message& m) { return is<AppendEntries>(m); }).size(), 1u);
}

TEST(ReplicationTest, LostAppendIsResentAfterHeartbeats) {
  TestNet net(3);
  net.elect(1);
  ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, bytes("lost")).ok());
  net.flush();
  auto lost = net.take([](const Message& m) { return is<AppendEntries>(m) && m.to == NodeId(3); });
  ASSERT_EQ(lost.size(), 1u);
  net.settle();
  Index last = net.raft(1).last_index();
  EXPECT_LT(net.raft(3).last_index(), last);
  for (int i = 0; i < 4; ++i) {
    net.advance(1, 10ms);
    net.settle();
  }
  EXPECT_EQ(net.raft(3).last_index(), last);
  EXPECT_EQ(net.raft(1).progress(NodeId(3))->match, last);
}

TEST(ReplicationTest, StaleDurabilityNoticeIsIgnored) {
  Configuration conf = voters({1, 2, 3});
  TestNet net;
  InitialState st;
  st.hard_state.term = Term(2);
  st.entries = log_with_terms(conf, {});
  net.add(2, st);
  net.auto_persist = false;
  Raft& f = net.raft(2);
  f.receive(Message{NodeId(1), NodeId(2), Term(2), AppendEntries{Index(1), Term(1), {command(Index(2), Term(2)), command(Index(3), Term(2))}, Index(0)}});
  (void)f.take_ready();
  // A new leader of term 3 replaces index 3 before the write completed.
  f.receive(Message{NodeId(3), NodeId(2), Term(3), AppendEntries{Index(2), Term(2), {command(Index(3), Term(3))}, Index(0)}});
  (void)f.take_ready();
  f.persisted(Index(3), Term(2));  // the notice of the old write
  EXPECT_EQ(f.durable_index(), Index(1));
  f.persisted(Index(3), Term(3));
  EXPECT_EQ(f.durable_index(), Index(3));
}

TEST(ReplicationTest, CommitHintNeverExceedsTheDurableLog) {
  TestNet net(3);
  net.elect(1);
  net.auto_persist = false;
  Raft& f = net.raft(2);
  f.receive(Message{NodeId(1), NodeId(2), net.raft(1).term(),
                    AppendEntries{Index(2), net.raft(1).term(), {command(Index(3), net.raft(1).term())}, Index(3)}});
  Ready rd = f.take_ready();
  EXPECT_EQ(f.commit_index(), Index(3));
  ASSERT_TRUE(!rd.commit_hint || *rd.commit_hint <= f.durable_index());
  f.persisted(Index(3), net.raft(1).term());
  Ready rd2 = f.take_ready();
  ASSERT_TRUE(rd2.commit_hint.has_value());
  EXPECT_EQ(*rd2.commit_hint, Index(3));
}

TEST(ReplicationTest, RestartAppliesUpToTheCommitHintWithoutALeader) {
  TestNet net(3);
  net.elect(1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, bytes("c")).ok());
  net.settle();
  Index commit = net.raft(1).commit_index();
  Raft& r = net.restart(1, commit);
  Ready rd = r.take_ready();
  EXPECT_EQ(rd.committed.size(), commit.value);
  EXPECT_EQ(r.role(), Role::kFollower);
}

TEST(ReplicationTest, ConfigurationTakesEffectWhenAppendedAndRevertsWhenTruncated_4_1) {
  Configuration conf = voters({1, 2, 3});
  Configuration bigger = voters({1, 2, 3, 4});
  TestNet net;
  InitialState st;
  st.hard_state.term = Term(2);
  st.entries = log_with_terms(conf, {});
  st.commit_hint = Index(1);
  net.add(2, st);
  Raft& f = net.raft(2);
  f.receive(Message{NodeId(1), NodeId(2), Term(2), AppendEntries{Index(1), Term(1), {config_entry(Index(2), Term(2), bigger)}, Index(0)}});
  EXPECT_EQ(f.configuration(), bigger) << "in effect as soon as appended, before commit";
  EXPECT_EQ(f.committed_configuration(), conf);
  f.receive(Message{NodeId(3), NodeId(2), Term(3), AppendEntries{Index(1), Term(1), {command(Index(2), Term(3))}, Index(0)}});
  EXPECT_EQ(f.configuration(), conf) << "the uncommitted change was truncated away";
}

TEST(ReplicationTest, MalformedAppendIsDropped) {
  TestNet net(3);
  Raft& f = net.raft(2);
  // Entry indexes that do not follow prev: a broken or hostile peer.
  f.receive(Message{NodeId(1), NodeId(2), Term(2), AppendEntries{Index(1), Term(1), {command(Index(5), Term(2))}, Index(0)}});
  // An entry from a term later than the message's.
  f.receive(Message{NodeId(1), NodeId(2), Term(2), AppendEntries{Index(1), Term(1), {command(Index(2), Term(9))}, Index(0)}});
  // A configuration entry that does not decode.
  f.receive(Message{NodeId(1), NodeId(2), Term(2), AppendEntries{Index(1), Term(1), {Entry{Index(2), Term(2), EntryType::kConfiguration, bytes("junk")}}, Index(0)}});
  EXPECT_EQ(f.last_index(), Index(1));
  EXPECT_EQ(f.term(), Term(1));
}

}  // namespace
}  // namespace raft::core::testing

namespace raft::core::testing {
namespace {

TEST(BootstrapTest, WritesTheFirstConfigurationOnce) {
  TestNet net;
  net.add(1, InitialState{});
  Raft& r = net.raft(1);
  Configuration conf = voters({1, 2, 3});
  ASSERT_TRUE(r.bootstrap(conf).ok());
  Ready rd = r.take_ready();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term, Term(1));
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_EQ(rd.entries[0].index, Index(1));
  EXPECT_EQ(rd.entries[0].type, EntryType::kConfiguration);
  EXPECT_EQ(r.configuration(), conf);
  Status again = r.bootstrap(conf);
  EXPECT_EQ(again.code(), ErrorCode::kAlreadyExists);
  Configuration none;
  TestNet other;
  other.add(2, InitialState{});
  EXPECT_EQ(other.raft(2).bootstrap(none).code(), ErrorCode::kInvalidArgument);
}

TEST(BootstrapTest, SingleBootstrappedNodeElectsItself) {
  TestNet net;
  net.add(1, InitialState{});
  ASSERT_TRUE(net.raft(1).bootstrap(voters({1})).ok());
  net.elect(1);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
}

TEST(ReplicationTest, CommitReachesFollowersWithinCommitTimeout) {
  TestNet net(3);
  net.elect(1);
  net.advance_all(10ms);
  net.settle();
  ASSERT_TRUE(net.raft(1).propose(EntryType::kCommand, Buffer::from_string("x")).ok());
  net.settle();
  Index idx = net.raft(1).last_index();
  ASSERT_EQ(net.raft(1).commit_index(), idx);
  EXPECT_LT(net.raft(2).commit_index(), idx) << "nothing told the follower yet";
  net.advance(1, 5ms);  // commit_timeout, well before the next heartbeat is due
  net.settle();
  EXPECT_EQ(net.raft(2).commit_index(), idx);
}

TEST(ElectionTest, StepDownOnRequestKeepsTheTerm) {
  TestNet net(3);
  net.elect(1);
  Term t = net.raft(1).term();
  net.raft(1).step_down(StepDownReason::kRequested);
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).term(), t);
  EXPECT_EQ(net.raft(1).last_step_down_reason(), StepDownReason::kRequested);
}

TEST(ElectionTest, CheckQuorumStepDownIsReported_6_2) {
  TestNet net(3);
  net.elect(1);
  net.isolate(1);
  for (int i = 0; i < 25; ++i) net.advance(1, 10ms);
  EXPECT_EQ(net.raft(1).last_step_down_reason(), StepDownReason::kLostQuorum);
}

}  // namespace
}  // namespace raft::core::testing
