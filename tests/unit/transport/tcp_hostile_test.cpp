// TcpTransport against hostile input (docs/wire-format.md): a raw socket
// plays the attacker. Each case checks that the victim closes that
// connection, logs why, counts it, delivers nothing from it, and still
// serves a well-behaved peer afterwards.
#include <gtest/gtest.h>

#include <random>

#include "tcp_test_util.hpp"
#include "util/coding.hpp"

namespace raft::transport {
namespace {

using testing::heartbeat;
using testing::RawSocket;
using testing::run_until;
using testing::TcpNode;

class TcpHostileTest : public ::testing::Test {
 protected:
  void SetUp() override { make_victim({}); }

  void make_victim(const TcpNode::Tweak& tweak) {
    victim.reset();
    victim = std::make_unique<TcpNode>(io, 2, tweak);
    friendly = std::make_unique<TcpNode>(io, 1);
  }

  std::unique_ptr<RawSocket> raw() {
    auto s = std::make_unique<RawSocket>(io);
    s->connect(victim->address());
    return s;
  }

  static Hello hello(uint64_t from = 9, Channel channel = Channel::kControl) {
    Hello h;
    h.channel = channel;
    h.cluster_id = "test";
    h.from = NodeId(from);
    h.to = NodeId(2);
    return h;
  }

  // A raw connection past an accepted handshake, as node `from`.
  std::unique_ptr<RawSocket> handshaken(uint64_t from = 9, Channel channel = Channel::kControl) {
    auto s = raw();
    auto reply = s->handshake(hello(from, channel));
    EXPECT_TRUE(reply && reply->accepted());
    EXPECT_EQ(reply ? reply->version : 0, kProtocolVersionMax);
    return s;
  }

  // The victim closed `s`, logged `needle`, counted `counter` once, and
  // still works. After a refusal the victim waits for the dialer to
  // close; `s` does, as a real dialer would.
  void expect_rejected(RawSocket& s, const std::string& needle, const std::string& counter,
                       size_t delivered = 0, bool refused = false) {
    if (refused) s.socket().shutdown(asio::ip::tcp::socket::shutdown_send);
    EXPECT_TRUE(s.wait_closed()) << "the victim kept the connection open";
    EXPECT_TRUE(run_until(io, [&] { return victim->stat(counter) == 1; }))
        << counter << " = " << victim->stat(counter) << "\n" << victim->logs.dump();
    EXPECT_TRUE(victim->logs.contains(needle)) << "no log line with: " << needle << "\n"
                                               << victim->logs.dump();
    EXPECT_EQ(victim->got.size(), delivered);
    testing::expect_still_works(io, *friendly, *victim);
    EXPECT_TRUE(run_until(io, [&] { return victim->stat("inbound.active") == 1; }))
        << "only the friendly peer's connection should remain";
  }

  asio::io_context io;
  std::unique_ptr<TcpNode> victim;
  std::unique_ptr<TcpNode> friendly;
};

std::string frame(uint8_t type, uint8_t version, const std::string& body) {
  std::string f;
  put_u32(&f, static_cast<uint32_t>(body.size() + 2));
  put_u8(&f, type);
  put_u8(&f, version);
  return f + body;
}

TEST_F(TcpHostileTest, HttpBeforeTheHandshake) {
  auto s = raw();
  s->write("GET / HTTP/1.1\r\nHost: raft\r\n\r\n");
  expect_rejected(*s, "not a libraft handshake: frame length", "inbound.bad_handshakes");
}

TEST_F(TcpHostileTest, RandomBytesBeforeTheHandshake) {
  std::mt19937_64 rng(11);
  std::string junk(4096, '\0');
  for (auto& c : junk) c = static_cast<char>(rng());
  auto s = raw();
  s->write(junk);
  expect_rejected(*s, "not a libraft handshake", "inbound.bad_handshakes");
}

TEST_F(TcpHostileTest, AHelloWithTheWrongMagic) {
  std::string bytes = encode_hello(hello()).to_string();
  bytes[6] = 'X';
  auto s = raw();
  s->write(bytes);
  expect_rejected(*s, "not a libraft handshake: bad magic", "inbound.bad_handshakes");
}

TEST_F(TcpHostileTest, AnUnknownProtocolVersionIsRefusedWithAReason) {
  Hello h = hello();
  h.version_min = h.version_max = 99;
  auto s = raw();
  auto reply = s->handshake(h);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->result, static_cast<uint8_t>(HandshakeResult::kUnsupportedVersion));
  EXPECT_EQ(reply->node, NodeId(2));
  EXPECT_NE(reply->reason.find("protocol versions 99-99 offered"), std::string::npos);
  expect_rejected(*s, "refused connection from 127.0.0.1:", "handshake_refused.unsupported_version",
                  0, true);
  EXPECT_TRUE(victim->logs.contains("(node 9, control): unsupported_version: protocol versions 99-99"))
      << victim->logs.dump();
}

TEST_F(TcpHostileTest, AnotherClusterIsRefusedWithAReason) {
  Hello h = hello();
  h.cluster_id = "intruders";
  auto s = raw();
  auto reply = s->handshake(h);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->result, static_cast<uint8_t>(HandshakeResult::kWrongCluster));
  expect_rejected(*s, "cluster id \"intruders\" is not this cluster's \"test\"",
                  "handshake_refused.wrong_cluster", 0, true);
}

TEST_F(TcpHostileTest, ADialerLookingForAnotherNodeIsRefused) {
  Hello h = hello();
  h.to = NodeId(7);
  auto s = raw();
  auto reply = s->handshake(h);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->result, static_cast<uint8_t>(HandshakeResult::kWrongNode));
  expect_rejected(*s, "this is node 2, not node 7", "handshake_refused.wrong_node", 0, true);
}

TEST_F(TcpHostileTest, AFrameHeaderPromisingTooMuch) {
  auto s = handshaken();
  std::string h;
  put_u32(&h, 0xfffffff0u);
  put_u8(&h, static_cast<uint8_t>(FrameType::kAppendEntries));
  put_u8(&h, 1);
  s->write(h + std::string(1000, 'x'));
  expect_rejected(*s, "bad frame: frame length 4294967280 exceeds the maximum",
                  "inbound.decode_errors");
  EXPECT_EQ(victim->stat("peer.9.decode_errors"), 1u);
}

TEST_F(TcpHostileTest, ATruncatedFrameThenEndOfStream) {
  auto s = handshaken();
  std::string hb = testing::encode_to_string(heartbeat(NodeId(9), NodeId(2), 1));
  s->write(hb.substr(0, hb.size() - 2));
  s->socket().shutdown(asio::ip::tcp::socket::shutdown_send);
  expect_rejected(*s, "closed by the peer in the middle of a frame", "inbound.truncated_frames");
}

TEST_F(TcpHostileTest, ABigFrameCutShortThenEndOfStream) {
  auto s = handshaken();
  std::string h;
  put_u32(&h, 10u << 20);  // allowed size, 10 MiB promised
  put_u8(&h, static_cast<uint8_t>(FrameType::kAppendEntries));
  put_u8(&h, 1);
  s->write(h + std::string(300 << 10, 'x'));
  s->socket().shutdown(asio::ip::tcp::socket::shutdown_send);
  expect_rejected(*s, "in the middle of a frame (307200 bytes of it received)",
                  "inbound.truncated_frames");
}

TEST_F(TcpHostileTest, AnUnknownFrameType) {
  auto s = handshaken();
  std::string body;
  put_varint(&body, 9);
  put_varint(&body, 2);
  put_varint(&body, 1);
  s->write(frame(99, 1, body));
  expect_rejected(*s, "unknown message frame type 99", "inbound.decode_errors");
}

TEST_F(TcpHostileTest, ALengthThatLies) {
  auto s = handshaken();
  std::string body;
  for (uint64_t v : {9, 2, 5, /*prev*/ 0, 0, /*commit*/ 0, /*count*/ 1, /*index*/ 1, /*term*/ 1}) {
    put_varint(&body, v);
  }
  put_u8(&body, 1);          // command
  put_varint(&body, 50000);  // payload length: far more than follows
  body += "only this";
  s->write(frame(static_cast<uint8_t>(FrameType::kAppendEntries), 1, body));
  expect_rejected(*s, "payload length 50000 exceeds", "inbound.decode_errors");
}

TEST_F(TcpHostileTest, ValidFramesBeforeABadOneAreDelivered) {
  auto s = handshaken();
  std::string bytes = testing::encode_to_string(heartbeat(NodeId(9), NodeId(2), 5));
  bytes += frame(99, 1, "junk");
  s->write(bytes);
  expect_rejected(*s, "unknown message frame type 99", "inbound.decode_errors", 1);
  EXPECT_EQ(victim->heartbeats_with_round(5), 1u);
}

TEST_F(TcpHostileTest, ASpoofedSender) {
  auto s = handshaken(9);
  s->write(testing::encode_to_string(heartbeat(NodeId(1), NodeId(2), 1)));  // claims to be node 1
  expect_rejected(*s, "Heartbeat claims to be from node 1 to node 2 on a connection from node 9",
                  "inbound.spoofed_sender");
}

TEST_F(TcpHostileTest, AMessageForAnotherReceiver) {
  auto s = handshaken(9);
  s->write(testing::encode_to_string(heartbeat(NodeId(9), NodeId(3), 1)));
  expect_rejected(*s, "claims to be from node 9 to node 3", "inbound.spoofed_sender");
}

TEST_F(TcpHostileTest, NoHandshakeWithinTheTimeout) {
  make_victim([](TcpTransportOptions& o) { o.handshake_timeout_ms = 200; });
  auto silent = raw();
  auto partial = raw();
  partial->write(encode_hello(hello()).to_string().substr(0, 5));
  EXPECT_TRUE(silent->wait_closed());
  EXPECT_TRUE(partial->wait_closed());
  EXPECT_TRUE(run_until(io, [&] { return victim->stat("inbound.handshake_timeouts") == 2; }));
  EXPECT_TRUE(victim->logs.contains("no handshake within 200 ms")) << victim->logs.dump();
  testing::expect_still_works(io, *friendly, *victim);
}

TEST_F(TcpHostileTest, InboundConnectionsAreLimited) {
  make_victim([](TcpTransportOptions& o) { o.inbound_connections_max = 2; });
  auto first = raw();
  auto second = raw();
  auto third = raw();
  EXPECT_TRUE(third->wait_closed());
  EXPECT_EQ(victim->stat("inbound.refused_limit"), 1u);
  EXPECT_TRUE(victim->logs.contains("2 inbound connections are open (inbound_connections_max)"))
      << victim->logs.dump();
  first.reset();
  second.reset();
  ASSERT_TRUE(run_until(io, [&] { return victim->stat("inbound.active") == 0; }));
  testing::expect_still_works(io, *friendly, *victim);
}

TEST_F(TcpHostileTest, ANewerConnectionFromTheSamePeerReplacesTheOlder) {
  auto old_conn = handshaken(9, Channel::kBulk);
  auto new_conn = handshaken(9, Channel::kBulk);
  EXPECT_TRUE(old_conn->wait_closed());
  EXPECT_EQ(victim->stat("inbound.replaced"), 1u);
  // The newer one works.
  new_conn->write(testing::encode_to_string(heartbeat(NodeId(9), NodeId(2), 77)));
  EXPECT_TRUE(run_until(io, [&] { return victim->heartbeats_with_round(77) == 1; }));
}

// The other direction: a hostile acceptor. The dialer gives up on that
// connection, logs, counts, and backs off.
TEST_F(TcpHostileTest, AnAcceptorThatAnswersGarbage) {
  testing::RawListener spy(io);
  friendly->t->set_peer(NodeId(2), spy.address());
  friendly->t->send(heartbeat(NodeId(1), NodeId(2), 1));
  auto s = spy.accept();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->read_frame(kHelloLengthMax));
  s->write("HTTP/1.1 400 Bad Request\r\n\r\n");
  EXPECT_TRUE(run_until(io, [&] { return friendly->stat("peer.2.connect_failures") == 1; }));
  EXPECT_TRUE(friendly->logs.contains("bad handshake reply")) << friendly->logs.dump();
  EXPECT_TRUE(s->wait_closed());
}

TEST_F(TcpHostileTest, AnAcceptorThatTalksAfterItsReply) {
  testing::RawListener spy(io);
  friendly->t->set_peer(NodeId(2), spy.address());
  friendly->t->send(heartbeat(NodeId(1), NodeId(2), 1));
  auto s = spy.accept();
  ASSERT_TRUE(s);
  auto f = s->read_frame(kHelloLengthMax);
  ASSERT_TRUE(f);
  auto h = decode_hello(f->header, f->body.span());
  ASSERT_TRUE(h.ok());
  s->write(encode_hello_reply(answer_hello(*h, "test", NodeId(2))).to_string());
  ASSERT_TRUE(s->read_frame());  // the heartbeat
  s->write("unexpected");
  EXPECT_TRUE(run_until(io, [&] { return friendly->stat("peer.2.disconnects") == 1; }));
  EXPECT_TRUE(friendly->logs.contains("the peer sent bytes after its handshake reply"))
      << friendly->logs.dump();
}

}  // namespace
}  // namespace raft::transport
