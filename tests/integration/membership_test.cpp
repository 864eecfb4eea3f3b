// Membership changes and leadership transfer on running nodes over TCP
// with the WAL (thesis chapter 4 and 3.10).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "test_cluster.hpp"

namespace raft::itest {
namespace {

Buffer cmd(const std::string& s) { return Buffer::from_string(s); }

// Writes continuously to whoever leads until stopped; counts successes.
class Writer {
 public:
  explicit Writer(TestCluster& c) : c_(c) {
    t_ = std::thread([this] {
      int i = 0;
      while (!stop_) {
        std::shared_ptr<Node> leader;
        for (ServerId id : c_.ids())
          if (auto n = c_.node_ptr(id); n && n->state() == Role::kLeader) leader = n;
        if (!leader) {
          std::this_thread::sleep_for(2ms);  // no leader this instant: poll
          continue;
        }
        if (leader->apply(cmd("w" + std::to_string(i % 50) + "=" + std::to_string(i)), 2s).wait().ok()) ++ok_;
        ++i;
      }
    });
  }
  ~Writer() { stop(); }
  int stop() {
    stop_ = true;
    if (t_.joinable()) t_.join();
    return ok_;
  }
  int ok() const { return ok_; }

 private:
  TestCluster& c_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::thread t_;
};

// A change is retried while the cluster is busy with a previous one or a
// leader change; returns the final status.
Status change(TestCluster& c, const std::function<Future<uint64_t>(Node*)>& op) {
  Status last;
  for (int attempt = 0; attempt < 200; ++attempt) {
    ServerId l = c.wait_leader(10s);
    if (l == 0) return Status(ErrorCode::kTimeout, "no leader");
    auto f = op(c.node(l));
    last = f.wait();
    if (last.ok()) return last;
    if (last.code() != ErrorCode::kBusy && last.code() != ErrorCode::kNotLeader &&
        last.code() != ErrorCode::kLeadershipLost && last.code() != ErrorCode::kTimeout)
      return last;
    std::this_thread::sleep_for(10ms);  // retry after a moment
  }
  return last;
}

TEST(MembershipTest, GrowFromOneToFiveAndShrinkBackUnderLoad) {
  TestCluster c({.nodes = 1});
  c.start_all();
  ASSERT_EQ(c.wait_leader(), 1u);
  Writer w(c);
  for (int k = 2; k <= 5; ++k) {
    ServerId id = c.add_slot();
    c.start(id);  // empty: no bootstrap
    Status s = change(c, [&](Node* l) { return l->add_voter(id, c.address_of(id), 10s); });
    ASSERT_TRUE(s.ok()) << "adding " << id << ": " << s.to_string();
  }
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  EXPECT_EQ(c.node(leader)->configuration().servers.size(), 5u);
  for (const ServerInfo& s : c.node(leader)->committed_configuration().servers) EXPECT_TRUE(s.voter) << s.id;
  // Shrink back to one, removing the leader on the way if it is picked.
  for (ServerId id = 5; id >= 2; --id) {
    Status s = change(c, [&](Node* l) { return l->remove_server(id, 10s); });
    ASSERT_TRUE(s.ok()) << "removing " << id << ": " << s.to_string();
    // shutdown_on_remove: the removed node stops by itself.
    ASSERT_TRUE(eventually([&] { return c.node(id)->state() == Role::kShutdown; })) << id;
    c.stop(id);
  }
  int ok = w.stop();
  EXPECT_GT(ok, 0);
  EXPECT_EQ(c.wait_leader(), 1u);
  EXPECT_EQ(c.node(1)->configuration().servers.size(), 1u);
  ASSERT_TRUE(c.node(1)->apply(cmd("final=1"), 5s).wait().ok());
}

TEST(MembershipTest, ReplaceADeadNode) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ServerId dead = leader % 3 + 1;
  ASSERT_TRUE(c.node(leader)->apply(cmd("before=1"), 5s).wait().ok());
  c.stop(dead);
  ASSERT_TRUE(change(c, [&](Node* l) { return l->remove_server(dead, 10s); }).ok());
  ServerId fresh = c.add_slot();
  c.start(fresh);
  ASSERT_TRUE(change(c, [&](Node* l) { return l->add_voter(fresh, c.address_of(fresh), 10s); }).ok());
  ASSERT_TRUE(eventually([&] { return c.fsm(fresh)->get("before") == "1"; }));
  ClusterConfiguration conf = c.node(c.wait_leader())->committed_configuration();
  EXPECT_EQ(conf.servers.size(), 3u);
  for (const ServerInfo& s : conf.servers) EXPECT_NE(s.id, dead);
}

TEST(MembershipTest, JointConsensusReplacesTwoOfFive) {
  TestCluster c({.nodes = 5});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_TRUE(c.node(leader)->apply(cmd("x=1"), 5s).wait().ok());
  ServerId a = c.add_slot(), b = c.add_slot();
  c.start(a);
  c.start(b);
  // Keep the leader, drop two others.
  ClusterConfiguration target;
  std::vector<ServerId> dropped;
  for (ServerId id = 1; id <= 5; ++id) {
    if (id != leader && dropped.size() < 2) {
      dropped.push_back(id);
      continue;
    }
    target.servers.push_back({id, c.address_of(id), true});
  }
  target.servers.push_back({a, c.address_of(a), true});
  target.servers.push_back({b, c.address_of(b), true});
  Status s = change(c, [&](Node* l) { return l->change_configuration(target, 10s); });
  ASSERT_TRUE(s.ok()) << s.to_string();
  ServerId now = c.wait_leader();
  EXPECT_EQ(c.node(now)->committed_configuration().servers.size(), 5u);
  for (ServerId d : dropped) ASSERT_TRUE(eventually([&] { return c.node(d)->state() == Role::kShutdown; })) << d;
  ASSERT_TRUE(eventually([&] { return c.fsm(a)->get("x") == "1" && c.fsm(b)->get("x") == "1"; }));
}

// A server outside the configuration (bootstrapped on its own, with a
// configuration naming node 1) campaigns at node 1, whose log is ahead of
// its: node 1 refuses and counts its messages (docs/membership.md).
TEST(MembershipTest, AServerOutsideTheConfigurationIsRefusedAndCounted) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  ASSERT_TRUE(c.node(leader)->apply(cmd("a=1"), 2s).wait().ok());
  ServerId rogue = c.add_slot();
  c.start(rogue);
  ClusterConfiguration conf;
  conf.servers.push_back({rogue, c.address_of(rogue), true});
  conf.servers.push_back({1, c.address_of(1), true});
  ASSERT_TRUE(c.node(rogue)->bootstrap(conf).ok());
  ASSERT_TRUE(eventually([&] { return c.node(1)->metrics().messages_refused_unknown_sender > 0; }))
      << "node 1 never refused the outsider";
  auto st = c.node(1)->stats();
  std::string key = "messages_refused_unknown_sender." + std::to_string(rogue);
  ASSERT_TRUE(st.count(key)) << "no per-sender count";
  EXPECT_GE(std::stoull(st[key]), 1u);
  EXPECT_GE(std::stoull(st["messages_refused_unknown_sender"]), std::stoull(st[key]));
  c.stop(rogue);
}

TEST(MembershipTest, NonVoterFollowsButDoesNotVote) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  ServerId learner = c.add_slot();
  c.start(learner);
  ASSERT_TRUE(change(c, [&](Node* l) { return l->add_nonvoter(learner, c.address_of(learner), 10s); }).ok());
  ASSERT_TRUE(c.node(leader)->apply(cmd("l=1"), 5s).wait().ok());
  ASSERT_TRUE(eventually([&] { return c.fsm(learner)->get("l") == "1"; }));
  for (const ServerInfo& s : c.node(leader)->configuration().servers)
    if (s.id == learner) {
      EXPECT_FALSE(s.voter);
    }
  EXPECT_EQ(c.node(leader)->stats()["num_peers"], "2");
}

TEST(TransferTest, LeadershipMovesToTheChosenServer) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId old = c.wait_leader();
  ServerId target = old % 3 + 1;
  ASSERT_TRUE(c.node(old)->apply(cmd("t=1"), 5s).wait().ok());
  auto f = c.node(old)->transfer_leadership(target);
  ASSERT_TRUE(f.wait().ok()) << f.status().to_string();
  ASSERT_EQ(c.wait_leader(), target);
  ASSERT_TRUE(c.node(target)->apply(cmd("t=2"), 5s).wait().ok());
  EXPECT_EQ(c.node(old)->transfer_leadership(std::nullopt).wait().code(), ErrorCode::kNotLeader);
}

TEST(RecoverTest, OneSurvivorOfThreeIsRecoveredAndTakesWritesAgain) {
  TestCluster c({.nodes = 3});
  c.start_all();
  ServerId leader = c.wait_leader();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c.node(leader)->apply(cmd("r" + std::to_string(i) + "=1"), 5s).wait().ok());
  ASSERT_TRUE(c.wait_converged(20));
  for (ServerId id : c.ids()) c.stop(id);
  // Servers 2 and 3 are gone for good. Server 1 alone cannot elect itself
  // (it needs 2 of 3 votes)...
  ServerId survivor = 1;
  ClusterConfiguration alone;
  alone.servers.push_back({survivor, c.address_of(survivor), true});
  // ...until an operator rewrites its configuration, offline.
  Config cfg = c.config_for(survivor);
  ASSERT_TRUE(Node::recover_cluster(cfg, alone).ok());
  c.restart(survivor);
  ASSERT_EQ(c.wait_leader(), survivor);
  EXPECT_EQ(c.fsm(survivor)->get("r19"), "1");
  EXPECT_EQ(c.node(survivor)->configuration().servers.size(), 1u);
  ASSERT_TRUE(c.node(survivor)->apply(cmd("after=1"), 5s).wait().ok());
  // Refused while the node runs (its stores are locked) and for nonsense.
  EXPECT_FALSE(Node::recover_cluster(cfg, alone).ok());
  EXPECT_FALSE(Node::recover_cluster(cfg, ClusterConfiguration{}).ok());
}

}  // namespace
}  // namespace raft::itest
