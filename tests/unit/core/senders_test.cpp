// Messages from servers outside the configuration (senders.cpp): refused
// unless they prove a log ahead of ours.
#include <gtest/gtest.h>

#include "core/raft.hpp"
#include "test_net.hpp"

namespace raft::core::testing {
namespace {

Message request_vote(uint64_t from, uint64_t to, Term term, bool pre_vote, Index last_index, Term last_term) {
  return Message{NodeId(from), NodeId(to), term, RequestVote{pre_vote, false, last_index, last_term}};
}

// A node of {1, 2, 3} whose log holds the configuration and then entries
// of `terms`, at term `term`.
Raft& lagging_node(TestNet& net, uint64_t id, std::vector<uint64_t> terms, Term term) {
  InitialState st;
  st.hard_state.term = term;
  st.entries = log_with_terms(voters({1, 2, 3}), std::move(terms));
  return net.add(id, st);
}

// What a refused message must leave alone: term, vote, leader, election
// timer; and nothing goes out.
struct Before {
  explicit Before(const Raft& r)
      : term(r.term()), vote(r.voted_for()), leader(r.leader()), role(r.role()), deadline(r.next_deadline()) {}
  void expect_unchanged(Raft& r) const {
    EXPECT_EQ(r.term(), term);
    EXPECT_EQ(r.voted_for(), vote);
    EXPECT_EQ(r.leader(), leader);
    EXPECT_EQ(r.role(), role);
    EXPECT_EQ(r.next_deadline(), deadline) << "the election timer moved";
    EXPECT_FALSE(r.has_ready()) << "a refused message had an effect";
  }
  Term term;
  NodeId vote;
  NodeId leader;
  Role role;
  Nanos deadline;
};

TEST(SendersTest, AVoteRequestFromAnUnknownServerDoesNotMoveTermOrVote) {
  TestNet net(3);
  Raft& r = net.raft(1);
  net.flush();
  Before before(r);
  // Server 9 is in no configuration node 1 holds, and its log is no
  // better than node 1's (1, 1).
  EXPECT_EQ(r.receive(request_vote(9, 1, Term(5), false, Index(1), Term(1))), Receipt::kUnknownSender);
  before.expect_unchanged(r);
  EXPECT_EQ(r.receive(request_vote(9, 1, Term(5), true, Index(1), Term(1))), Receipt::kUnknownSender);
  before.expect_unchanged(r);
  // A longer log of an older term is not ahead either (3.6.1 order).
  EXPECT_EQ(r.receive(request_vote(9, 1, Term(5), false, Index(7), Term(0))), Receipt::kUnknownSender);
  before.expect_unchanged(r);
}

TEST(SendersTest, AnUnknownCandidateWhoseLogIsAheadIsHeard) {
  // Node 1 lags: it lacks the entry that added server 4, whose log is ahead
  // (a later last term, or the same last term and a longer log).
  {
    TestNet net;
    Raft& r = lagging_node(net, 1, {2, 2}, Term(2));
    EXPECT_EQ(r.receive(request_vote(4, 1, Term(5), false, Index(3), Term(3))), Receipt::kProcessed);
    EXPECT_EQ(r.term(), Term(5));
    EXPECT_EQ(r.voted_for(), NodeId(4));
  }
  {
    TestNet net;
    Raft& r = lagging_node(net, 1, {2, 2}, Term(2));
    EXPECT_EQ(r.receive(request_vote(4, 1, Term(5), false, Index(4), Term(2))), Receipt::kProcessed);
    EXPECT_EQ(r.voted_for(), NodeId(4));
  }
  {
    TestNet net;
    Raft& r = lagging_node(net, 1, {2, 2}, Term(2));
    EXPECT_EQ(r.receive(request_vote(4, 1, Term(3), true, Index(4), Term(2))), Receipt::kProcessed);
    Ready rd = r.take_ready();
    ASSERT_EQ(rd.messages.size(), 1u);
    EXPECT_TRUE(std::get<RequestVoteResponse>(rd.messages[0].body).granted) << "pre-vote refused";
  }
  {
    // Equal logs are not ahead: a server we do not know whose log is ours
    // cannot have been added by an entry we lack.
    TestNet net;
    Raft& r = lagging_node(net, 1, {2, 2}, Term(2));
    Before before(r);
    EXPECT_EQ(r.receive(request_vote(4, 1, Term(5), false, Index(3), Term(2))), Receipt::kUnknownSender);
    before.expect_unchanged(r);
  }
}

TEST(SendersTest, AnEmptyJoiningNodeFollowsAnyLeader) {
  TestNet net;
  Raft& r = net.add(4, InitialState{});  // started empty, to be added
  EXPECT_EQ(r.receive(Message{NodeId(1), NodeId(4), Term(2), Heartbeat{Index(0), 0}}), Receipt::kProcessed);
  EXPECT_EQ(r.leader(), NodeId(1));
  EXPECT_EQ(r.term(), Term(2));
  Configuration conf = voters({1, 2, 3});
  EXPECT_EQ(r.receive(Message{NodeId(1), NodeId(4), Term(2),
                              AppendEntries{Index(0), Term(0), {config_entry(Index(1), Term(1), conf)}, Index(1)}}),
            Receipt::kProcessed);
  EXPECT_EQ(r.last_index(), Index(1));
  EXPECT_EQ(r.configuration(), conf);
}

TEST(SendersTest, ALaggingNodeFollowsAnUnknownLeaderOfALaterTermOnly) {
  // Node 2 holds {1, 2, 3} and entries of term 2; server 4, added by an
  // entry node 2 lacks, leads term 3.
  TestNet net;
  Raft& r = lagging_node(net, 2, {2, 2}, Term(2));
  Before before(r);
  // Term 2: had server 4 led term 2, node 2 would hold the entry that added
  // it. Refused, whatever the message.
  EXPECT_EQ(r.receive(Message{NodeId(4), NodeId(2), Term(2), Heartbeat{Index(0), 0}}), Receipt::kUnknownSender);
  EXPECT_EQ(r.receive(Message{NodeId(4), NodeId(2), Term(2), AppendEntries{Index(3), Term(2), {}, Index(0)}}),
            Receipt::kUnknownSender);
  InstallSnapshot is;
  is.last_index = Index(9);
  is.last_term = Term(2);
  is.configuration = voters({2, 3, 4});
  is.configuration_index = Index(5);
  is.size_bytes = 1;
  EXPECT_EQ(r.receive(Message{NodeId(4), NodeId(2), Term(2), is}), Receipt::kUnknownSender);
  before.expect_unchanged(r);
  // Term 3: above node 2's last log term. Followed.
  AppendEntries ae{Index(3), Term(2), {command(Index(4), Term(3))}, Index(0)};
  EXPECT_EQ(r.receive(Message{NodeId(4), NodeId(2), Term(3), ae}), Receipt::kProcessed);
  EXPECT_EQ(r.leader(), NodeId(4));
  EXPECT_EQ(r.term(), Term(3));
  EXPECT_EQ(r.last_index(), Index(4));
}

TEST(SendersTest, AnUnknownLeaderBelowOurTermIsToldOurTerm) {
  // Node 2's term (5) ran ahead of its last log term (2). A leader of term
  // 3 it does not know may be legitimate (added by an entry node 2 lacks):
  // like a known one, it gets a rejection carrying term 5, so that it steps
  // down and a leader of a term node 2 can follow is elected. Nothing
  // changes on node 2.
  TestNet net;
  Raft& r = lagging_node(net, 2, {2, 2}, Term(5));
  Before before(r);
  EXPECT_EQ(r.receive(Message{NodeId(4), NodeId(2), Term(3), Heartbeat{Index(0), 0}}), Receipt::kProcessed);
  Ready rd = r.take_ready();
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_EQ(rd.messages[0].to, NodeId(4));
  EXPECT_EQ(rd.messages[0].term, Term(5));
  EXPECT_FALSE(std::get<AppendEntriesResponse>(rd.messages[0].body).success);
  before.expect_unchanged(r);
  // At or below node 2's last log term, it is refused outright.
  EXPECT_EQ(r.receive(Message{NodeId(4), NodeId(2), Term(2), Heartbeat{Index(0), 0}}), Receipt::kUnknownSender);
  before.expect_unchanged(r);
  EXPECT_EQ(r.receive(Message{NodeId(4), NodeId(2), Term(5), Heartbeat{Index(0), 0}}), Receipt::kProcessed);
  EXPECT_EQ(r.leader(), NodeId(4));
}

// The reason for the rule above. Without pre-vote, node 3, cut off while
// server 4 was added and took over, campaigns alone and its term runs
// ahead of 4's. Had it ignored 4's stale heartbeats, 4 would never step
// down, the others (in 4's lease) would ignore 3's vote requests, and 3
// would never catch up.
TEST(SendersTest, ALaggingNodeWhoseTermRanAheadCatchesUp) {
  TestNet net(3, [](Config& c) { c.pre_vote = false; });
  net.elect(1);
  net.advance(1, 10ms);
  net.settle();
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  net.isolate(3);
  net.add(4, InitialState{});
  ASSERT_TRUE(net.raft(1).change_membership(1, {ConfChangeType::kAddVoter, NodeId(4), "n4"}).ok());
  for (int i = 0; i < 20; ++i) {
    net.advance(1, 10ms);
    net.settle();
  }
  ASSERT_TRUE(net.raft(1).configuration().is_voter(NodeId(4)));
  ASSERT_TRUE(net.raft(1).transfer_leadership(2, NodeId(4)).ok());
  net.settle();
  ASSERT_EQ(net.raft(4).role(), Role::kLeader);
  for (int i = 0; i < 5; ++i) net.advance(3, 250ms);  // elections nobody hears
  ASSERT_GT(net.raft(3).term(), net.raft(4).term());
  ASSERT_FALSE(net.raft(3).configuration().is_member(NodeId(4)));
  net.heal();
  for (int i = 0; i < 100 && net.raft(3).last_index() < net.raft(1).last_index(); ++i) {
    net.advance_all(10ms);
    net.settle();
  }
  EXPECT_EQ(net.raft(3).last_index(), net.raft(1).last_index()) << "node 3 never caught up";
  EXPECT_TRUE(net.raft(3).configuration().is_member(NodeId(4)));
}

TEST(SendersTest, ARemovedServerCannotDeposeTheLeader) {
  // Without check-quorum (so no leader stickiness) and without pre-vote,
  // only the sender check stands between a removed server that campaigns
  // and the cluster it left.
  TestNet net(3, [](Config& c) {
    c.check_quorum = false;
    c.pre_vote = false;
    c.trailing_entries = 0;
  });
  net.elect(1);
  net.advance(1, 10ms);
  net.settle();
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  ASSERT_TRUE(net.raft(1).change_membership(1, {ConfChangeType::kRemoveServer, NodeId(3), ""}).ok());
  net.settle();
  net.advance(1, 10ms);
  net.settle();
  ASSERT_EQ(net.raft(2).commit_index(), net.raft(1).configuration_index());
  ASSERT_EQ(net.raft(1).progress(NodeId(3)), nullptr) << "the leader still replicates to server 3";
  // While their logs hold {1, 2, 3}, nodes 1 and 2 still know server 3;
  // a snapshot compacts that configuration away.
  net.take_snapshot(1);
  net.take_snapshot(2);
  ASSERT_EQ(net.raft(1).log().snapshot_index(), net.raft(1).last_index());

  Raft& leader = net.raft(1);
  Term term = leader.term();
  // Server 3's log ends with the entry that removed it; a removed server
  // that never got that entry has a shorter one. Neither is ahead.
  for (Index last : {net.raft(3).last_index(), net.raft(3).last_index() - 1}) {
    Term last_term = *net.raft(3).log().term_at(last);
    Before before(leader);
    EXPECT_EQ(leader.receive(request_vote(3, 1, term + 5, false, last, last_term)), Receipt::kUnknownSender);
    before.expect_unchanged(leader);
    EXPECT_EQ(leader.role(), Role::kLeader);
    Before before2(net.raft(2));
    EXPECT_EQ(net.raft(2).receive(request_vote(3, 2, term + 5, false, last, last_term)), Receipt::kUnknownSender);
    before2.expect_unchanged(net.raft(2));
  }
  ASSERT_TRUE(leader.propose(EntryType::kCommand, Buffer::from_string("still leading")).ok());
  net.settle();
  EXPECT_EQ(leader.commit_index(), leader.last_index());
}

TEST(SendersTest, ResponsesAndTimeoutNowFromUnknownServersAreRefused) {
  TestNet net(3);
  net.elect(1);
  Raft& leader = net.raft(1);
  ASSERT_EQ(leader.role(), Role::kLeader);
  Term higher = leader.term() + 1;  // would depose a leader, from a known server
  AppendEntriesResponse aer;
  aer.success = true;
  aer.match_index = leader.last_index();
  const std::vector<MessageBody> responses = {
      RequestVoteResponse{false, true}, aer, HeartbeatResponse{0, Index(0)},
      InstallSnapshotResponse{Index(1), 0, true}};
  for (const MessageBody& body : responses) {
    Before before(leader);
    EXPECT_EQ(leader.receive(Message{NodeId(9), NodeId(1), higher, body}), Receipt::kUnknownSender)
        << message_type_name(body);
    before.expect_unchanged(leader);
  }
  EXPECT_EQ(leader.role(), Role::kLeader);

  Raft& follower = net.raft(2);
  Before before(follower);
  EXPECT_EQ(follower.receive(Message{NodeId(9), NodeId(2), leader.term(), TimeoutNow{}}), Receipt::kUnknownSender);
  before.expect_unchanged(follower);
  EXPECT_EQ(follower.role(), Role::kFollower);
  // From its leader, the same message starts an election at once.
  EXPECT_EQ(follower.receive(Message{NodeId(1), NodeId(2), leader.term(), TimeoutNow{}}), Receipt::kProcessed);
  EXPECT_EQ(follower.role(), Role::kCandidate);
}

TEST(SendersTest, ALeaderHearsAServerBeingRemovedWhileItStillReplicatesToIt) {
  TestNet net(3, [](Config& c) { c.trailing_entries = 0; });
  net.elect(1);
  net.advance(1, 10ms);
  net.settle();
  Raft& leader = net.raft(1);
  ASSERT_EQ(leader.role(), Role::kLeader);
  // Server 3 stops hearing from the leader and misses its removal.
  net.cut(1, 3);
  ASSERT_TRUE(leader.change_membership(1, {ConfChangeType::kRemoveServer, NodeId(3), ""}).ok());
  net.settle();
  net.advance(1, 10ms);
  net.settle();
  ASSERT_EQ(leader.commit_index(), leader.configuration_index());
  // Compaction drops {1, 2, 3}: the leader knows server 3 only through the
  // Progress it keeps to tell server 3 of its removal.
  net.take_snapshot(1);
  ASSERT_FALSE(leader.configuration().is_member(NodeId(3)));
  ASSERT_NE(leader.progress(NodeId(3)), nullptr);
  Term term = leader.term();
  size_t sent = net.sent().size();
  EXPECT_EQ(leader.receive(Message{NodeId(3), NodeId(1), term, HeartbeatResponse{0, Index(1)}}), Receipt::kProcessed);
  AppendEntriesResponse rejected;
  rejected.rejected_index = leader.progress(NodeId(3))->next - 1;
  rejected.conflict_index = Index(2);
  rejected.last_log_index = Index(1);
  EXPECT_EQ(leader.receive(Message{NodeId(3), NodeId(1), term, rejected}), Receipt::kProcessed);
  // The leader acts on them: it sends server 3 what it lacks (the log is
  // compacted: its snapshot).
  net.flush();
  bool repaired = false;
  for (size_t k = sent; k < net.sent().size(); ++k) repaired |= net.sent()[k].to == NodeId(3);
  EXPECT_TRUE(repaired);
  // Node 2, a follower that compacted too, refuses the same server.
  net.take_snapshot(2);
  ASSERT_EQ(net.raft(2).receive(Message{NodeId(3), NodeId(2), term, HeartbeatResponse{0, Index(1)}}),
            Receipt::kUnknownSender);
}

}  // namespace
}  // namespace raft::core::testing
