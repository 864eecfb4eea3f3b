// MemoryTransport and MemoryNetwork: delivery (also across threads) and
// each fault hook.
#include "transport/memory_transport.hpp"

#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <set>
#include <thread>

#include "transport_test_util.hpp"

namespace raft::transport {
namespace {

using testing::message;
using testing::run_until;
using testing::stat;

core::Message heartbeat(uint64_t from, uint64_t to, uint64_t round) {
  core::Heartbeat hb;
  hb.read_round = round;
  return message(from, to, 1, hb);
}

// Nodes 1..n on one io_context, each knowing every other's address.
struct Cluster {
  explicit Cluster(int n, uint64_t seed = 1) : net(seed) {
    for (int i = 1; i <= n; ++i) {
      nodes.push_back(std::make_unique<MemoryTransport>(net, NodeId(i), io));
      received.emplace_back();
    }
    for (int i = 1; i <= n; ++i) {
      auto* got = &received[i - 1];
      EXPECT_TRUE(node(i).start([got](core::Message&& m) { got->push_back(std::move(m)); }).ok());
      for (int j = 1; j <= n; ++j) node(i).set_peer(NodeId(j), "mem:" + std::to_string(j));
    }
  }
  MemoryTransport& node(int i) { return *nodes[i - 1]; }
  std::vector<core::Message>& got(int i) { return received[i - 1]; }
  // Runs until nothing is left to do (all posts and timers done).
  void settle() {
    io.restart();
    io.run();
  }

  asio::io_context io;
  MemoryNetwork net;
  std::vector<std::unique_ptr<MemoryTransport>> nodes;
  std::deque<std::vector<core::Message>> received;
};

TEST(MemoryTransportTest, DeliversEveryMessageTypeIntact) {
  Cluster c(2);
  auto samples = testing::sample_messages(1, 2);
  for (const auto& m : samples) c.node(1).send(m);
  c.settle();
  ASSERT_EQ(c.got(2).size(), samples.size());
  for (size_t i = 0; i < samples.size(); ++i) EXPECT_TRUE(messages_equal(c.got(2)[i], samples[i]));
  auto s1 = c.node(1).stats();
  auto s2 = c.node(2).stats();
  EXPECT_EQ(stat(s1, "peer.2.messages_sent"), samples.size());
  EXPECT_EQ(stat(s2, "peer.1.messages_received"), samples.size());
  EXPECT_EQ(c.node(1).local_address(), "mem:1");
}

TEST(MemoryTransportTest, PayloadsAreSharedNotCopied) {
  Cluster c(2);
  core::AppendEntries ae;
  ae.entries.push_back(testing::make_entry(1, 1, EntryType::kCommand, "shared bytes"));
  const uint8_t* bytes = ae.entries[0].data.data();
  c.node(1).send(message(1, 2, 1, ae));
  c.settle();
  ASSERT_EQ(c.got(2).size(), 1u);
  EXPECT_EQ(std::get<core::AppendEntries>(c.got(2)[0].body).entries[0].data.data(), bytes);
}

TEST(MemoryTransportTest, DropsWithoutAnAddressOrReceiverAndCounts) {
  Cluster c(2);
  c.node(1).set_peer(NodeId(2), "");  // forgotten
  c.node(1).send(heartbeat(1, 2, 1));
  c.node(1).set_peer(NodeId(3), "mem:nobody");
  c.node(1).send(heartbeat(1, 3, 1));
  c.node(1).set_peer(NodeId(4), "mem:2");  // a stale address: node 2 is there
  c.node(1).send(heartbeat(1, 4, 1));
  c.settle();
  EXPECT_TRUE(c.got(2).empty());
  auto s = c.node(1).stats();
  EXPECT_EQ(stat(s, "peer.2.dropped_no_address"), 1u);
  EXPECT_EQ(stat(s, "peer.3.dropped_unreachable"), 1u);
  EXPECT_EQ(stat(s, "peer.4.dropped_unreachable"), 1u);
}

TEST(MemoryTransportTest, DropProbabilityLosesMessagesAndCountsThem) {
  Cluster c(2, 42);
  c.net.set_drop_probability(1.0);
  for (int i = 0; i < 10; ++i) c.node(1).send(heartbeat(1, 2, i));
  c.settle();
  EXPECT_TRUE(c.got(2).empty());
  EXPECT_EQ(stat(c.node(1).stats(), "peer.2.dropped_fault"), 10u);

  c.net.set_drop_probability(0.5);
  for (int i = 0; i < 200; ++i) c.node(1).send(heartbeat(1, 2, i));
  c.settle();
  uint64_t dropped = stat(c.node(1).stats(), "peer.2.dropped_fault") - 10;
  EXPECT_EQ(c.got(2).size() + dropped, 200u);
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(c.got(2).size(), 0u);
  EXPECT_EQ(c.net.dropped_by_faults(), 10 + dropped);
}

TEST(MemoryTransportTest, TheSameSeedDropsTheSameMessages) {
  auto run = [](uint64_t seed) {
    Cluster c(2, seed);
    c.net.set_drop_probability(0.3);
    for (int i = 0; i < 100; ++i) c.node(1).send(heartbeat(1, 2, i));
    c.settle();
    std::vector<uint64_t> rounds;
    for (const auto& m : c.got(2)) rounds.push_back(std::get<core::Heartbeat>(m.body).read_round);
    return rounds;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(MemoryTransportTest, DelayedMessagesStillArrive) {
  Cluster c(2);
  c.net.set_delay_ms(1, 20);
  for (int i = 0; i < 20; ++i) c.node(1).send(heartbeat(1, 2, i));
  EXPECT_TRUE(run_until(c.io, [&] { return c.got(2).size() == 20; }));
  std::set<uint64_t> rounds;
  for (const auto& m : c.got(2)) rounds.insert(std::get<core::Heartbeat>(m.body).read_round);
  EXPECT_EQ(rounds.size(), 20u);  // each exactly once, in whatever order
}

TEST(MemoryTransportTest, PartitionSeparatesGroupsUntilHealed) {
  Cluster c(3);
  c.net.partition({NodeId(1)}, {NodeId(2), NodeId(3)});
  EXPECT_FALSE(c.net.reachable(NodeId(1), NodeId(2)));
  c.node(1).send(heartbeat(1, 2, 1));
  c.node(2).send(heartbeat(2, 1, 1));
  c.node(2).send(heartbeat(2, 3, 1));  // same side
  c.settle();
  EXPECT_TRUE(c.got(1).empty());
  EXPECT_EQ(c.got(2).size(), 0u);
  EXPECT_EQ(c.got(3).size(), 1u);
  c.net.heal();
  c.node(1).send(heartbeat(1, 2, 2));
  c.settle();
  EXPECT_EQ(c.got(2).size(), 1u);
}

TEST(MemoryTransportTest, IsolateCutsANodeOffBothWays) {
  Cluster c(3);
  c.net.isolate(NodeId(3));
  c.node(3).send(heartbeat(3, 1, 1));
  c.node(1).send(heartbeat(1, 3, 1));
  c.node(1).send(heartbeat(1, 2, 1));
  c.settle();
  EXPECT_TRUE(c.got(1).empty());
  EXPECT_TRUE(c.got(3).empty());
  EXPECT_EQ(c.got(2).size(), 1u);
  EXPECT_EQ(stat(c.node(3).stats(), "peer.1.dropped_fault"), 1u);
  c.net.heal();
  c.node(3).send(heartbeat(3, 1, 2));
  c.settle();
  EXPECT_EQ(c.got(1).size(), 1u);
}

TEST(MemoryTransportTest, CutIsOneWay) {
  Cluster c(2);
  c.net.cut(NodeId(1), NodeId(2));
  c.node(1).send(heartbeat(1, 2, 1));
  c.node(2).send(heartbeat(2, 1, 1));
  c.settle();
  EXPECT_TRUE(c.got(2).empty());
  EXPECT_EQ(c.got(1).size(), 1u);
}

TEST(MemoryTransportTest, NoHandlerCallAfterStopAndSafeDestructionWithMessagesInFlight) {
  Cluster c(2);
  c.net.set_delay_ms(5, 5);
  c.node(1).send(heartbeat(1, 2, 1));  // delayed
  c.net.set_delay_ms(0, 0);
  c.node(1).send(heartbeat(1, 2, 2));  // posted
  c.node(2).stop();
  c.nodes[1].reset();  // destroyed with both in flight
  c.settle();
  EXPECT_TRUE(c.got(2).empty());
  // Sending to a stopped node: nobody is registered there any more.
  c.node(1).send(heartbeat(1, 2, 3));
  EXPECT_EQ(stat(c.node(1).stats(), "peer.2.dropped_unreachable"), 1u);
}

TEST(MemoryTransportTest, StopFromInsideTheHandler) {
  asio::io_context io;
  MemoryNetwork net;
  MemoryTransport a(net, NodeId(1), io), b(net, NodeId(2), io);
  int calls = 0;
  ASSERT_TRUE(a.start([](core::Message&&) {}).ok());
  ASSERT_TRUE(b.start([&](core::Message&&) {
                 ++calls;
                 b.stop();
               }).ok());
  a.set_peer(NodeId(2), b.local_address());
  a.send(heartbeat(1, 2, 1));
  a.send(heartbeat(1, 2, 2));
  io.run();
  EXPECT_EQ(calls, 1);
}

TEST(MemoryTransportTest, AnAddressCanBeRegisteredOnce) {
  asio::io_context io;
  MemoryNetwork net;
  MemoryTransport a(net, NodeId(1), io, {.address = "shared", .logger = {}});
  MemoryTransport b(net, NodeId(2), io, {.address = "shared", .logger = {}});
  ASSERT_TRUE(a.start([](core::Message&&) {}).ok());
  Status st = b.start([](core::Message&&) {});
  EXPECT_EQ(st.code(), ErrorCode::kAlreadyExists);
  a.stop();
  EXPECT_TRUE(b.start([](core::Message&&) {}).ok());  // free again
}

// Three nodes, each on its own loop thread, all sending to all: the
// network is shared across threads (run under TSan in CI).
TEST(MemoryTransportTest, NodesOnSeparateThreads) {
  constexpr int kNodes = 3;
  constexpr int kPerPeer = 500;
  MemoryNetwork net(3);
  net.set_delay_ms(0, 2);
  struct Node {
    asio::io_context io;
    std::unique_ptr<MemoryTransport> t;
    int received = 0;  // on the node's thread
  };
  std::vector<std::unique_ptr<Node>> nodes;
  std::mutex mu;
  std::condition_variable cv;
  int total = 0;
  for (int i = 1; i <= kNodes; ++i) {
    auto n = std::make_unique<Node>();
    n->t = std::make_unique<MemoryTransport>(net, NodeId(i), n->io);
    Node* raw = n.get();
    ASSERT_TRUE(n->t->start([&, raw](core::Message&&) {
                     ++raw->received;
                     std::lock_guard lock(mu);
                     ++total;
                     cv.notify_all();
                   }).ok());
    for (int j = 1; j <= kNodes; ++j) n->t->set_peer(NodeId(j), "mem:" + std::to_string(j));
    nodes.push_back(std::move(n));
  }
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& n : nodes) {
    guards.push_back(asio::make_work_guard(n->io));
    threads.emplace_back([&io = n->io] { io.run(); });
  }
  for (int i = 1; i <= kNodes; ++i) {
    Node* n = nodes[i - 1].get();
    asio::post(n->io, [n, i] {
      for (int k = 0; k < kPerPeer; ++k) {
        for (int j = 1; j <= kNodes; ++j) {
          if (j != i) n->t->send(heartbeat(i, j, k));
        }
      }
    });
  }
  const int want = kNodes * (kNodes - 1) * kPerPeer;
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return total == want; }))
        << total << " of " << want;
  }
  // Stop each node on its own thread, then let the loops finish.
  for (auto& n : nodes) {
    std::promise<void> done;
    asio::post(n->io, [&] {
      n->t->stop();
      done.set_value();
    });
    done.get_future().wait();
  }
  guards.clear();
  for (auto& t : threads) t.join();
  for (auto& n : nodes) EXPECT_EQ(n->received, (kNodes - 1) * kPerPeer);
}

}  // namespace
}  // namespace raft::transport
