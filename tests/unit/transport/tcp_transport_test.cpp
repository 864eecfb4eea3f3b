// TcpTransport between real transports on 127.0.0.1: every message type,
// large appends, heartbeats beside a stuck append, reconnects, refusals,
// queue bounds, backoff, stop and destruction at awkward moments, and two
// loop threads.
#include "transport/tcp_transport.hpp"

#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <future>
#include <random>
#include <thread>

#include "tcp_test_util.hpp"

namespace raft::transport {
namespace {

using testing::heartbeat;
using testing::message;
using testing::run_until;
using testing::TcpNode;

// The samples split by connection: order holds within each.
void expect_same_per_channel(const std::vector<core::Message>& sent,
                             const std::vector<core::Message>& got) {
  std::vector<core::Message> want[2], have[2];
  for (const auto& m : sent) want[static_cast<int>(channel_of(m.body))].push_back(m);
  for (const auto& m : got) have[static_cast<int>(channel_of(m.body))].push_back(m);
  for (int c = 0; c < 2; ++c) {
    ASSERT_EQ(have[c].size(), want[c].size());
    for (size_t i = 0; i < want[c].size(); ++i) {
      EXPECT_TRUE(messages_equal(have[c][i], want[c][i])) << describe(want[c][i]);
    }
  }
}

TEST(TcpTransportTest, TwoNodesExchangeEveryMessageType) {
  asio::io_context io;
  TcpNode a(io, 1), b(io, 2);
  a.knows(b);
  b.knows(a);
  auto to_b = testing::sample_messages(1, 2);
  auto to_a = testing::sample_messages(2, 1);
  for (const auto& m : to_b) a.t->send(m);
  for (const auto& m : to_a) b.t->send(m);
  ASSERT_TRUE(run_until(io, [&] { return a.got.size() == to_a.size() && b.got.size() == to_b.size(); }))
      << a.logs.dump() << b.logs.dump();
  expect_same_per_channel(to_b, b.got);
  expect_same_per_channel(to_a, a.got);

  // The sender counts a message once its write completes, which may be
  // after the receiver has it.
  ASSERT_TRUE(run_until(io, [&] { return a.stat("peer.2.messages_sent") == to_b.size(); }));
  EXPECT_EQ(a.stat("peer.2.messages_sent"), to_b.size());
  EXPECT_EQ(b.stat("peer.1.messages_received"), to_b.size());
  EXPECT_EQ(a.stat("peer.2.bytes_sent"), b.stat("peer.1.bytes_received"));
  EXPECT_EQ(a.stat("peer.2.connects"), 2u);  // one bulk and one control connection
  EXPECT_EQ(b.stat("inbound.accepted"), 2u);
  EXPECT_EQ(a.stat("peer.2.queued_messages"), 0u);
}

TEST(TcpTransportTest, ThreeNodesAllPairs) {
  asio::io_context io;
  std::vector<std::unique_ptr<TcpNode>> n;
  for (int i = 1; i <= 3; ++i) n.push_back(std::make_unique<TcpNode>(io, i));
  for (auto& x : n)
    for (auto& y : n)
      if (x != y) x->knows(*y);
  for (auto& x : n) {
    for (auto& y : n) {
      if (x == y) continue;
      x->t->send(heartbeat(x->id(), y->id(), 7));
      core::AppendEntries ae;
      ae.entries.push_back(testing::make_entry(1, 1, EntryType::kCommand,
                                               "from " + std::to_string(x->id().value)));
      x->t->send(message(x->id().value, y->id().value, 1, ae));
    }
  }
  ASSERT_TRUE(run_until(io, [&] {
    for (auto& x : n)
      if (x->got.size() != 4) return false;
    return true;
  }));
  for (auto& x : n) {
    std::set<std::string> senders;
    for (const auto& m : x->got) {
      EXPECT_EQ(m.to, x->id());
      if (auto* ae = std::get_if<core::AppendEntries>(&m.body)) {
        EXPECT_EQ(ae->entries.at(0).data.to_string(), "from " + std::to_string(m.from.value));
        senders.insert(ae->entries[0].data.to_string());
      }
    }
    EXPECT_EQ(senders.size(), 2u);
    EXPECT_EQ(x->heartbeats_with_round(7), 2u);
  }
}

core::Message large_append(uint64_t from, uint64_t to, size_t entries, size_t bytes_each,
                           uint64_t seed) {
  std::mt19937_64 rng(seed);
  core::AppendEntries ae;
  ae.prev_log_index = Index(100);
  ae.prev_log_term = Term(3);
  ae.leader_commit = Index(100);
  for (size_t i = 0; i < entries; ++i) {
    std::string data(bytes_each + rng() % 64, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    ae.entries.push_back(testing::make_entry(101 + i, 4, EntryType::kCommand, std::move(data)));
  }
  Entry cfg;
  cfg.index = Index(101 + entries);
  cfg.term = Term(4);
  cfg.type = EntryType::kConfiguration;
  cfg.data = encode_configuration(testing::sample_configuration());
  ae.entries.push_back(cfg);
  return message(from, to, 4, ae);
}

TEST(TcpTransportTest, LargeAppendArrivesIntact) {
  asio::io_context io;
  TcpNode a(io, 1), b(io, 2);
  a.knows(b);
  core::Message big = large_append(1, 2, 2000, 4096, 1);  // about 8 MiB
  core::Message second = large_append(1, 2, 3, 100, 2);
  a.t->send(big);
  a.t->send(second);  // pipelined behind it on the same connection
  ASSERT_TRUE(run_until(io, [&] { return b.got.size() == 2; }));
  EXPECT_TRUE(messages_equal(b.got[0], big));
  EXPECT_TRUE(messages_equal(b.got[1], second));
  EXPECT_GT(b.stat("peer.1.bytes_received"), 2000u * 4096u);
}

// The heartbeat must get through while the append before it is stuck: the
// spying peer accepts both connections, answers both handshakes, reads the
// control connection and does not read the bulk connection at all, so
// the append (far bigger than the socket buffers) cannot complete.
TEST(TcpTransportTest, HeartbeatDoesNotWaitBehindALargeAppend) {
  asio::io_context io;
  testing::RawListener spy(io);
  TcpNode a(io, 1);
  a.t->set_peer(NodeId(2), spy.address());
  core::Message big = large_append(1, 2, 32, 1 << 20, 3);  // 32 MiB
  a.t->send(big);
  a.t->send(heartbeat(NodeId(1), NodeId(2), 42));

  std::unique_ptr<testing::RawSocket> conn[2];  // by Channel
  for (int i = 0; i < 2; ++i) {
    auto s = spy.accept();
    ASSERT_TRUE(s);
    auto f = s->read_frame(kHelloLengthMax);
    ASSERT_TRUE(f);
    auto hello = decode_hello(f->header, f->body.span());
    ASSERT_TRUE(hello.ok()) << hello.status().to_string();
    HelloReply reply = answer_hello(*hello, "test", NodeId(2));
    ASSERT_TRUE(reply.accepted());
    ASSERT_TRUE(s->write(encode_hello_reply(reply).to_string()));
    conn[static_cast<int>(hello->channel)] = std::move(s);
  }
  ASSERT_TRUE(conn[0] && conn[1]);

  auto f = conn[static_cast<int>(Channel::kControl)]->read_frame();
  ASSERT_TRUE(f);
  auto hb = decode_message(f->header, f->body, 1);
  ASSERT_TRUE(hb.ok()) << hb.status().to_string();
  EXPECT_EQ(std::get<core::Heartbeat>(hb->body).read_round, 42u);

  // Only now is the append read, and it is intact.
  auto g = conn[static_cast<int>(Channel::kBulk)]->read_frame();
  ASSERT_TRUE(g);
  auto ae = decode_message(g->header, g->body, 1);
  ASSERT_TRUE(ae.ok()) << ae.status().to_string();
  EXPECT_TRUE(messages_equal(*ae, big));
}

TEST(TcpTransportTest, ReconnectsAfterThePeerRestartsOnTheSamePort) {
  asio::io_context io;
  TcpNode a(io, 1);
  auto b = std::make_unique<TcpNode>(io, 2);
  std::string address = b->address();
  a.knows(*b);
  a.t->send(heartbeat(NodeId(1), NodeId(2), 1));
  ASSERT_TRUE(run_until(io, [&] { return b->heartbeats_with_round(1) == 1; }));

  b.reset();  // stops and closes everything
  auto b2 = std::make_unique<TcpNode>(io, 2, TcpNode::Tweak{}, address);
  ASSERT_EQ(b2->address(), address);
  // Raft keeps sending; so does the test, until one gets through.
  auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  ASSERT_TRUE(run_until(io, [&] {
    if (std::chrono::steady_clock::now() - last > std::chrono::milliseconds(20)) {
      a.t->send(heartbeat(NodeId(1), NodeId(2), 2));
      last = std::chrono::steady_clock::now();
    }
    return b2->heartbeats_with_round(2) > 0;
  })) << a.logs.dump();
  EXPECT_GE(a.stat("peer.2.reconnects"), 1u);
  EXPECT_GE(a.stat("peer.2.disconnects"), 1u);
  EXPECT_TRUE(a.logs.contains("lost the connection to node 2"));
}

TEST(TcpTransportTest, AnotherClusterIsRefusedAndLoggedOnBothSides) {
  asio::io_context io;
  TcpNode a(io, 1, [](TcpTransportOptions& o) {
    o.cluster_id = "alpha";
    o.reconnect_backoff_ms_max = 600000;  // a refusal backs off this long: no retry in this test
  });
  TcpNode b(io, 2, [](TcpTransportOptions& o) { o.cluster_id = "beta"; });
  a.knows(b);
  a.t->send(heartbeat(NodeId(1), NodeId(2), 1));
  ASSERT_TRUE(run_until(io, [&] { return a.stat("peer.2.refused.wrong_cluster") == 1; }))
      << a.logs.dump() << b.logs.dump();
  EXPECT_EQ(b.stat("handshake_refused.wrong_cluster"), 1u);
  EXPECT_TRUE(b.logs.contains("refused connection from 127.0.0.1:"));
  EXPECT_TRUE(b.logs.contains("wrong_cluster: cluster id \"alpha\" is not this cluster's \"beta\""))
      << b.logs.dump();
  EXPECT_TRUE(a.logs.contains("node 2 at " + b.address() + " (control) refused the connection (wrong_cluster)"))
      << a.logs.dump();
  EXPECT_TRUE(b.got.empty());
  // Messages during the backoff that follows are dropped and counted.
  a.t->send(heartbeat(NodeId(1), NodeId(2), 2));
  EXPECT_EQ(a.stat("peer.2.dropped_not_connected"), 2u);  // the queued one and this one
  // B still serves its own cluster.
  TcpNode c(io, 3, [](TcpTransportOptions& o) { o.cluster_id = "beta"; });
  testing::expect_still_works(io, c, b);
}

TEST(TcpTransportTest, QueueBoundsDropTheNewestAndCountIt) {
  asio::io_context io;
  testing::RawListener spy(io);  // accepts nothing: every connection stays in the connecting phase
  TcpNode a(io, 1, [](TcpTransportOptions& o) {
    o.queue_bytes_max = 1 << 20;
    o.queue_messages_max = 100;
  });
  a.t->set_peer(NodeId(2), spy.address());
  for (int i = 0; i < 10; ++i) {
    core::AppendEntries ae;
    ae.prev_log_index = Index(i);
    ae.entries.push_back(testing::make_entry(i + 1, 1, EntryType::kCommand, std::string(300 << 10, 'x')));
    a.t->send(message(1, 2, 1, ae));
  }
  EXPECT_EQ(a.stat("peer.2.queued_messages"), 3u);  // 3 x 300 KiB fit in 1 MiB, a fourth does not
  EXPECT_EQ(a.stat("peer.2.dropped_queue_full"), 7u);
  EXPECT_LE(a.stat("peer.2.queued_bytes"), 1u << 20);
  for (int i = 0; i < 150; ++i) a.t->send(heartbeat(NodeId(1), NodeId(2), i));
  EXPECT_EQ(a.stat("peer.2.dropped_queue_full"), 7u + 50u);  // the control queue holds 100
  EXPECT_EQ(a.stat("peer.2.queued_messages"), 103u);
}

TEST(TcpTransportTest, MessagesWithoutAnAddressOrBeforeStartAreCounted) {
  asio::io_context io;
  TcpNode a(io, 1);
  a.t->send(heartbeat(NodeId(1), NodeId(5), 1));
  EXPECT_EQ(a.stat("peer.5.dropped_no_address"), 1u);
  a.t->set_peer(NodeId(6), "not an address");
  a.t->send(heartbeat(NodeId(1), NodeId(6), 1));
  EXPECT_EQ(a.stat("peer.6.dropped_no_address"), 1u);
  EXPECT_TRUE(a.logs.contains("ignoring the address of node 6"));

  TcpTransportOptions o;
  o.node_id = NodeId(9);
  TcpTransport idle(io, o);
  idle.send(heartbeat(NodeId(9), NodeId(1), 1));
  EXPECT_EQ(testing::stat(idle.stats(), "dropped_not_started"), 1u);
}

TEST(TcpTransportTest, AMessageAboveTheFrameMaximumIsDroppedAndCounted) {
  asio::io_context io;
  TcpNode a(io, 1, [](TcpTransportOptions& o) { o.frame_bytes_max = 4096; });
  TcpNode b(io, 2);
  a.knows(b);
  core::AppendEntries ae;
  ae.entries.push_back(testing::make_entry(1, 1, EntryType::kCommand, std::string(5000, 'x')));
  a.t->send(message(1, 2, 1, ae));
  EXPECT_EQ(a.stat("peer.2.dropped_too_large"), 1u);
  EXPECT_TRUE(a.logs.contains("exceeds the maximum frame size"));
  testing::expect_still_works(io, a, b);
}

// A port nothing listens on any more.
std::string dead_address(asio::io_context& io) {
  asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  return "127.0.0.1:" + std::to_string(probe.local_endpoint().port());
}

TEST(TcpTransportTest, DropsWhileBackingOffFromAPeerThatIsDown) {
  asio::io_context io;
  std::string dead = dead_address(io);
  TcpNode a(io, 1, [](TcpTransportOptions& o) {
    o.reconnect_backoff_ms_initial = 300000;  // no retry within this test
    o.reconnect_backoff_ms_max = 600000;
  });
  a.t->set_peer(NodeId(2), dead);
  a.t->send(heartbeat(NodeId(1), NodeId(2), 1));
  ASSERT_TRUE(run_until(io, [&] { return a.stat("peer.2.connect_failures") == 1; }));
  EXPECT_EQ(a.stat("peer.2.dropped_not_connected"), 1u);  // queued while connecting
  a.t->send(heartbeat(NodeId(1), NodeId(2), 2));          // backing off: dropped
  EXPECT_EQ(a.stat("peer.2.dropped_not_connected"), 2u);
  EXPECT_EQ(a.stat("peer.2.connects"), 0u);
  EXPECT_TRUE(a.logs.contains("warn: node 1: transport: cannot connect to node 2 at " + dead +
                              " (control): connect: "))
      << a.logs.dump();
}

TEST(TcpTransportTest, RetriesAfterTheBackoffAndLogsRepeatsQuietly) {
  asio::io_context io;
  std::string dead = dead_address(io);
  TcpNode a(io, 1, [](TcpTransportOptions& o) {
    o.reconnect_backoff_ms_initial = 1;
    o.reconnect_backoff_ms_max = 4;
  });
  a.t->set_peer(NodeId(2), dead);
  ASSERT_TRUE(run_until(io, [&] {
    a.t->send(heartbeat(NodeId(1), NodeId(2), 3));
    return a.stat("peer.2.connect_failures") >= 4;
  }));
  EXPECT_EQ(a.stat("peer.2.connects"), 0u);
  EXPECT_TRUE(a.logs.contains("debug: node 1: transport: cannot connect to node 2")) << a.logs.dump();
}

TEST(TcpTransportTest, NoHandlerCallAfterStopFromInsideTheHandler) {
  asio::io_context io;
  TcpNode a(io, 1), b(io, 2);
  a.knows(b);
  int calls = 0;
  b.on_message = [&](const core::Message&) {
    ++calls;
    b.t->stop();
  };
  for (int i = 0; i < 50; ++i) a.t->send(heartbeat(NodeId(1), NodeId(2), i));
  ASSERT_TRUE(run_until(io, [&] { return calls > 0; }));
  // A notices that B went away; B's handler is never called again.
  ASSERT_TRUE(run_until(io, [&] { return a.stat("peer.2.disconnects") >= 1; }));
  for (int i = 0; i < 10; ++i) a.t->send(heartbeat(NodeId(1), NodeId(2), i));
  run_until(io, [&] { return a.stat("peer.2.connect_failures") >= 1; });
  EXPECT_EQ(calls, 1);
  b.t.reset();
}

TEST(TcpTransportTest, TheHandlerMayDestroyItsOwnTransport) {
  asio::io_context io;
  TcpNode a(io, 1), b(io, 2);
  a.knows(b);
  int calls = 0;
  b.on_message = [&](const core::Message&) {
    ++calls;
    b.t.reset();  // destroyed while its own read handler is on the stack
  };
  for (int i = 0; i < 20; ++i) a.t->send(heartbeat(NodeId(1), NodeId(2), i));
  ASSERT_TRUE(run_until(io, [&] { return calls > 0 && a.stat("peer.2.disconnects") >= 1; }));
  EXPECT_EQ(calls, 1);
}

TEST(TcpTransportTest, DestroyedWithWorkPendingAndTheLoopStopped) {
  auto io = std::make_unique<asio::io_context>();
  auto a = std::make_unique<TcpNode>(*io, 1);
  auto b = std::make_unique<TcpNode>(*io, 2);
  a->knows(*b);
  a->t->send(large_append(1, 2, 100, 10000, 5));
  a->t->send(heartbeat(NodeId(1), NodeId(2), 1));
  // Run a little: connections in every phase.
  for (int i = 0; i < 20; ++i) io->run_one_for(std::chrono::milliseconds(1));
  a.reset();  // without stop(): the destructor stops
  b.reset();
  io.reset();  // pending completions are destroyed with the loop (ASan/LSan check)
}

TEST(TcpTransportTest, StartErrors) {
  asio::io_context io;
  auto start = [&](const TcpNode::Tweak& tweak) {
    TcpTransportOptions o;
    o.node_id = NodeId(1);
    o.cluster_id = "c";
    tweak(o);
    TcpTransport t(io, o);
    return t.start([](core::Message&&) {});
  };
  EXPECT_EQ(start([](auto& o) { o.node_id = kNoNode; }).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(start([](auto& o) { o.cluster_id = std::string(65, 'c'); }).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(start([](auto& o) { o.listen_address = "127.0.0.1"; }).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(start([](auto& o) { o.frame_bytes_max = 10; }).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(start([](auto& o) { o.reconnect_backoff_ms_initial = 0; }).code(),
            ErrorCode::kInvalidArgument);
  TcpNode taken(io, 2);
  EXPECT_EQ(start([&](auto& o) { o.listen_address = taken.address(); }).code(), ErrorCode::kIoError);
  EXPECT_EQ(taken.t->start([](core::Message&&) {}).code(), ErrorCode::kInvalidArgument);
}

// Each transport on its own loop thread, as in the runtime; every call is
// made on the owning thread (run under TSan in CI).
TEST(TcpTransportTest, TwoLoopThreads) {
  struct Side {
    asio::io_context io;
    std::unique_ptr<TcpNode> node;
  };
  Side s[2];
  // Create each node on its own thread's loop.
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& side : s) {
    guards.push_back(asio::make_work_guard(side.io));
    threads.emplace_back([&io = side.io] { io.run(); });
  }
  auto on = [](Side& side, auto fn) {
    std::promise<void> done;
    asio::post(side.io, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  };
  for (int i = 0; i < 2; ++i) on(s[i], [&] { s[i].node = std::make_unique<TcpNode>(s[i].io, i + 1); });
  std::string addr[2];
  for (int i = 0; i < 2; ++i) on(s[i], [&] { addr[i] = s[i].node->address(); });
  for (int i = 0; i < 2; ++i) on(s[i], [&] { s[i].node->t->set_peer(NodeId(2 - i), addr[1 - i]); });

  constexpr int kCount = 300;
  std::promise<void> all_in[2];
  for (int i = 0; i < 2; ++i) {
    on(s[i], [&, i] {
      s[i].node->on_message = [&, i](const core::Message&) {
        if (s[i].node->got.size() == kCount) all_in[i].set_value();
      };
    });
  }
  for (int i = 0; i < 2; ++i) {
    on(s[i], [&, i] {
      for (int k = 0; k < kCount; ++k) {
        if (k % 10 == 0) {
          s[i].node->t->send(large_append(i + 1, 2 - i, 2, 1000, k));
        } else {
          s[i].node->t->send(heartbeat(NodeId(i + 1), NodeId(2 - i), k));
        }
      }
    });
  }
  for (auto& p : all_in) {
    EXPECT_EQ(p.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  }
  for (int i = 0; i < 2; ++i) on(s[i], [&] { s[i].node.reset(); });
  guards.clear();
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace raft::transport
