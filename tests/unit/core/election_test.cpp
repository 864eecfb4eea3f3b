// Leader election: thesis 3.4, 3.6.1, 4.2.3, 6.2 and 9.6.
#include <gtest/gtest.h>

#include "core/raft.hpp"
#include "test_net.hpp"

namespace raft::core::testing {
namespace {

TEST(ElectionTest, SingleNodeElectsItselfAfterTimeout_3_4) {
  TestNet net(1);
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  net.elect(1);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).term(), Term(2));
}

TEST(ElectionTest, FollowerWaitsAtLeastTheElectionTimeout_3_4) {
  TestNet net(3, [](Config& c) { c.pre_vote = false; });
  net.advance(1, 99ms);  // election timeout is 100 ms
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_TRUE(net.queue().empty());
}

TEST(ElectionTest, ElectionTimeoutIsRandomizedInTAnd2T_3_4) {
  // Thesis 3.4: timeouts are drawn from [T, 2T] so that split votes are
  // rare. Different seeds must spread over the range.
  std::set<int64_t> seen;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Config c = test_config(1);
    c.seed = seed;
    InitialState st;
    st.hard_state.term = Term(1);
    st.entries = {config_entry(Index(1), Term(1), voters({1, 2, 3}))};
    Raft r(c, st, Nanos(0));
    Nanos d = r.next_deadline();
    EXPECT_GE(d, c.election_timeout);
    EXPECT_LT(d, 2 * c.election_timeout);
    seen.insert(d.count() / 10'000'000);  // 10 ms buckets
  }
  EXPECT_GE(seen.size(), 5u);
}

TEST(ElectionTest, CandidateWinsWithMajorityAndSendsNoop_3_4) {
  TestNet net(3, [](Config& c) { c.pre_vote = false; });
  net.elect(1);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(2).leader(), NodeId(1));
  EXPECT_EQ(net.raft(3).leader(), NodeId(1));
  // Thesis 3.6.2 / 6.4: the new leader's first entry is a noop of its term.
  const Entry& e = net.raft(1).log().at(Index(2));
  EXPECT_EQ(e.type, EntryType::kNoop);
  EXPECT_EQ(e.term, net.raft(1).term());
  EXPECT_EQ(net.raft(1).commit_index(), Index(2));
}

TEST(ElectionTest, CandidateLosesWhenMajorityRejects_3_4) {
  // Node 1's log is behind both others: both reject, and it goes back to
  // being a follower without waiting for its timeout.
  Configuration conf = voters({1, 2, 3});
  TestNet net;
  net.set_tweak([](Config& c) { c.pre_vote = false; });
  for (uint64_t id = 1; id <= 3; ++id) {
    InitialState st;
    st.hard_state.term = Term(2);
    st.entries = id == 1 ? log_with_terms(conf, {}) : log_with_terms(conf, {2});
    net.add(id, st);
  }
  net.elect(1);
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).term(), Term(3));
}

TEST(ElectionTest, AtMostOneVotePerTerm_3_4) {
  TestNet net(3, [](Config& c) { c.pre_vote = false; });
  Message req{NodeId(2), NodeId(1), Term(2), RequestVote{false, false, Index(1), Term(1)}};
  net.deliver(req);
  Message req3{NodeId(3), NodeId(1), Term(2), RequestVote{false, false, Index(1), Term(1)}};
  net.deliver(req3);
  auto replies = net.take([](const Message& m) { return is<RequestVoteResponse>(m); });
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_TRUE(std::get<RequestVoteResponse>(replies[0].body).granted);
  EXPECT_EQ(replies[0].to, NodeId(2));
  EXPECT_FALSE(std::get<RequestVoteResponse>(replies[1].body).granted);
  EXPECT_EQ(net.raft(1).voted_for(), NodeId(2));
}

TEST(ElectionTest, VoteIsDurableBeforeTheGrantLeaves_3_8) {
  // The grant and the hard state recording it come in one Ready; the
  // contract (ready.hpp rule 1) makes the write precede the send.
  TestNet net(3, [](Config& c) { c.pre_vote = false; });
  Raft& r = net.raft(1);
  r.receive(Message{NodeId(2), NodeId(1), Term(5), RequestVote{false, false, Index(1), Term(1)}});
  Ready rd = r.take_ready();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term, Term(5));
  EXPECT_EQ(rd.hard_state->vote, NodeId(2));
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_TRUE(std::get<RequestVoteResponse>(rd.messages[0].body).granted);
}

TEST(ElectionTest, StaleLogVoteRejected_3_6_1) {
  // Thesis 3.6.1: up-to-date means a later last term, or the same last
  // term and a log at least as long.
  Configuration conf = voters({1, 2, 3});
  struct Case {
    uint64_t cand_last_index, cand_last_term;
    bool granted;
  } cases[] = {
      {3, 2, true},   // same last term, same length
      {4, 2, true},   // same last term, longer
      {2, 2, false},  // same last term, shorter
      {9, 1, false},  // longer but older last term
      {2, 3, true},   // shorter but newer last term
  };
  for (const Case& c : cases) {
    TestNet net;
    net.set_tweak([](Config& cfg) { cfg.pre_vote = false; });
    InitialState st;
    st.hard_state.term = Term(2);
    st.entries = log_with_terms(conf, {2, 2});  // last = 3 @ term 2
    net.add(1, st);
    net.deliver(Message{NodeId(2), NodeId(1), Term(4),
                        RequestVote{false, false, Index(c.cand_last_index), Term(c.cand_last_term)}});
    auto replies = net.take([](const Message& m) { return is<RequestVoteResponse>(m); });
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(std::get<RequestVoteResponse>(replies[0].body).granted, c.granted)
        << "candidate last " << c.cand_last_index << "@" << c.cand_last_term;
    // Either way the voter adopts the higher term (thesis 3.3).
    EXPECT_EQ(net.raft(1).term(), Term(4));
  }
}

TEST(ElectionTest, PreVoteDoesNotChangeTerms_9_6) {
  TestNet net(3);
  net.isolate(3);
  net.elect(3);  // pre-candidate, nobody hears it
  EXPECT_EQ(net.raft(3).role(), Role::kPreCandidate);
  EXPECT_EQ(net.raft(3).term(), Term(1));
  for (int i = 0; i < 20; ++i) net.advance(3, 250ms);
  EXPECT_EQ(net.raft(3).term(), Term(1)) << "a partitioned node must not inflate its term";
}

TEST(ElectionTest, PreVoteStopsARejoiningNodeFromDeposingTheLeader_9_6) {
  TestNet net(3);
  net.elect(1);
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  Term term = net.raft(1).term();
  net.isolate(3);
  for (int i = 0; i < 20; ++i) {
    net.advance(3, 250ms);
    // Keep the leader and node 2 in touch.
    net.advance(1, 10ms);
    net.advance(2, 10ms);
    net.settle();
  }
  net.heal();
  net.advance(3, 250ms);  // it tries once more, now connected
  for (int i = 0; i < 5; ++i) {
    net.advance(1, 10ms);
    net.settle();
  }
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).term(), term);
  EXPECT_EQ(net.raft(3).leader(), NodeId(1));
}

TEST(ElectionTest, WithoutPreVoteARejoiningNodeDeposesTheLeader_9_6) {
  // The failure pre-vote exists to prevent, shown with it off.
  TestNet net(3, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  net.elect(1);
  Term term = net.raft(1).term();
  net.isolate(3);
  for (int i = 0; i < 5; ++i) net.advance(3, 250ms);
  EXPECT_GT(net.raft(3).term(), term + 3);
  net.heal();
  net.advance(1, 10ms);  // a heartbeat reaches node 3, which answers with its higher term
  net.settle();
  EXPECT_NE(net.raft(1).role(), Role::kLeader);
}

TEST(ElectionTest, LeaderStickinessIgnoresVotesWithinLease_4_2_3) {
  TestNet net(3, [](Config& c) { c.pre_vote = false; });
  net.elect(1);
  Term term = net.raft(1).term();
  // Node 2 just heard from the leader; a vote request for a higher term
  // is ignored: no reply and no term change.
  net.deliver(Message{NodeId(3), NodeId(2), term + 1, RequestVote{false, false, Index(100), term}});
  EXPECT_TRUE(net.take([](const Message& m) { return is<RequestVoteResponse>(m); }).empty());
  EXPECT_EQ(net.raft(2).term(), term);
  // A transfer (TimeoutNow) vote is not ignored (thesis 3.10).
  net.deliver(Message{NodeId(3), NodeId(2), term + 1, RequestVote{false, true, Index(100), term}});
  auto replies = net.take([](const Message& m) { return is<RequestVoteResponse>(m); });
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(std::get<RequestVoteResponse>(replies[0].body).granted);
}

TEST(ElectionTest, CheckQuorumLeaderStepsDownWhenCutOff_6_2) {
  TestNet net(3);
  net.elect(1);
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  net.isolate(1);
  for (int i = 0; i < 25; ++i) net.advance(1, 10ms);  // 2.5 election timeouts
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).leader(), kNoNode);
}

TEST(ElectionTest, CheckQuorumLeaderStaysWhileAMajorityAnswers_6_2) {
  TestNet net(3);
  net.elect(1);
  net.isolate(3);
  for (int i = 0; i < 50; ++i) {
    net.advance(1, 10ms);
    net.advance(2, 10ms);
    net.settle();
  }
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
}

TEST(ElectionTest, LeaderStepsDownOnHigherTerm_3_3) {
  TestNet net(3, [](Config& c) { c.check_quorum = false; });
  net.elect(1);
  Term t = net.raft(1).term();
  net.deliver(Message{NodeId(2), NodeId(1), t + 5, AppendEntriesResponse{}});
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).term(), t + 5);
}

TEST(ElectionTest, NonVoterNeverCampaigns_4_2_1) {
  Configuration conf = voters({1, 2});
  conf.servers.push_back({NodeId(3), "n3", ServerRole::kNonVoter});
  TestNet net;
  InitialState st;
  st.hard_state.term = Term(1);
  st.entries = {config_entry(Index(1), Term(1), conf)};
  net.add(3, st);
  for (int i = 0; i < 10; ++i) net.advance(3, 300ms);
  EXPECT_EQ(net.raft(3).role(), Role::kFollower);
  EXPECT_TRUE(net.queue().empty());
}

TEST(ElectionTest, NodeWithoutConfigurationWaitsForALeader) {
  TestNet net;
  net.add(9, InitialState{});
  for (int i = 0; i < 10; ++i) net.advance(9, 300ms);
  EXPECT_EQ(net.raft(9).role(), Role::kFollower);
  EXPECT_TRUE(net.queue().empty());
}

}  // namespace
}  // namespace raft::core::testing
