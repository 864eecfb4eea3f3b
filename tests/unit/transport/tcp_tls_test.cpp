// TcpTransport over TLS (docs/security.md): mutual authentication against
// the cluster's CA, optional pinning of server ids to certificates,
// reloading the files, and hostile peers. Certificates are made at test
// time by scripts/make-certs.sh (no key is committed): one CA ("a") that
// the victims trust, and another ("b") that they do not.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <asio/ssl.hpp>
#include <filesystem>
#include <fstream>

#include "tcp_test_util.hpp"
#include "transport/tls.hpp"
#include "util/coding.hpp"

namespace raft::transport {
namespace {

namespace fs = std::filesystem;
using testing::heartbeat;
using testing::RawSocket;
using testing::run_until;
using testing::TcpNode;

// Two CAs with certificates for nodes 1, 2 and 3 each, made once.
class Pki {
 public:
  static const Pki& get() {
    static Pki pki;
    return pki;
  }
  TlsOptions tls(const std::string& ca, uint64_t id) const {
    TlsOptions o;
    o.ca_file = (root / ca / "ca.pem").string();
    o.cert_file = (root / ca / ("node" + std::to_string(id) + ".pem")).string();
    o.key_file = (root / ca / ("node" + std::to_string(id) + ".key")).string();
    return o;
  }
  bool ok = false;
  fs::path root;

 private:
  Pki() {
    char tmpl[] = "/tmp/raft-tls-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    root = tmpl;
    for (const char* ca : {"a", "b"}) {
      std::string cmd = std::string(RAFT_SOURCE_DIR) + "/scripts/make-certs.sh " +
                        (root / ca).string() + " 1 2 3";
      if (std::system(cmd.c_str()) != 0) return;
    }
    ok = true;
  }
  ~Pki() {
    std::error_code ec;
    if (!root.empty()) fs::remove_all(root, ec);
  }
};

TcpNode::Tweak with_tls(const std::string& ca, uint64_t cert_of, bool pin = false) {
  return [ca, cert_of, pin](TcpTransportOptions& o) {
    o.tls = Pki::get().tls(ca, cert_of);
    o.tls.verify_peer_id = pin;
    o.handshake_timeout_ms = 2000;
  };
}

// A TLS client the test drives by hand, with a certificate of its own.
class RawTls {
 public:
  RawTls(asio::io_context& io, const TlsOptions& tls) : io_(io) {
    auto ctx = detail::load_tls_context(tls);
    EXPECT_TRUE(ctx.ok()) << ctx.status().to_string();
    ctx_ = *ctx;
    s_.emplace(io, *ctx_);
  }

  // TCP connect then the TLS handshake; false if either failed.
  bool connect(const std::string& address) {
    std::string host;
    uint16_t port = 0;
    EXPECT_TRUE(detail::parse_host_port(address, &host, &port).ok());
    bool done = false;
    std::error_code err;
    s_->next_layer().async_connect({asio::ip::make_address(host), port},
                                   [&](const std::error_code& ec) {
                                     err = ec;
                                     done = true;
                                   });
    if (!run_until(io_, [&] { return done; }) || err) return false;
    done = false;
    s_->async_handshake(asio::ssl::stream_base::client, [&](const std::error_code& ec) {
      err = ec;
      done = true;
    });
    return run_until(io_, [&] { return done; }) && !err;
  }

  bool write(const std::string& bytes) {
    bool done = false;
    std::error_code err;
    asio::async_write(*s_, asio::buffer(bytes), [&](const std::error_code& ec, size_t) {
      err = ec;
      done = true;
    });
    return run_until(io_, [&] { return done; }) && !err;
  }

  // Reads until `n` bytes arrived; false if the stream ended first.
  bool read(size_t n, std::string* out) {
    out->assign(n, '\0');
    bool done = false;
    std::error_code err;
    asio::async_read(*s_, asio::buffer(out->data(), n), [&](const std::error_code& ec, size_t) {
      err = ec;
      done = true;
    });
    return run_until(io_, [&] { return done; }) && !err;
  }

  // Hello, then the HelloReply's result (or -1 if the stream ended).
  int handshake(uint64_t from, uint64_t to) {
    Hello h;
    h.cluster_id = "test";
    h.from = NodeId(from);
    h.to = NodeId(to);
    if (!write(std::string(encode_hello(h).view()))) return -1;
    std::string head;
    if (!read(6, &head)) return -1;
    std::string body;
    if (!read(load_u32(reinterpret_cast<const uint8_t*>(head.data())) - 2, &body)) return -1;
    return static_cast<uint8_t>(body[0]);
  }

  // Reads and discards until the peer closes; false if it does not
  // within 20 s.
  bool wait_closed() {
    auto buf = std::make_shared<std::array<char, 4096>>();
    for (;;) {
      bool done = false;
      std::error_code err;
      s_->async_read_some(asio::buffer(*buf), [&, buf](const std::error_code& ec, size_t) {
        err = ec;
        done = true;
      });
      if (!run_until(io_, [&] { return done; }, std::chrono::seconds(20))) return false;
      if (err) return true;
    }
  }

 private:
  asio::io_context& io_;
  std::shared_ptr<asio::ssl::context> ctx_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket>> s_;
};

class TcpTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Pki::get().ok) << "scripts/make-certs.sh failed"; }

  // Sends a heartbeat from `a` to `b`; true if b got it within 10 s.
  bool reaches(TcpNode& a, TcpNode& b) {
    static uint64_t round = 1;
    uint64_t r = ++round;
    a.knows(b);
    // The first attempts may be dropped while connecting: resend.
    return run_until(
        io,
        [&] {
          if (b.heartbeats_with_round(r) > 0) return true;
          a.t->send(heartbeat(a.id(), b.id(), r));
          io.run_for(std::chrono::milliseconds(20));
          return b.heartbeats_with_round(r) > 0;
        },
        std::chrono::seconds(10));
  }

  // A peer with a valid certificate completes the TLS and libraft
  // handshakes, then sends `bytes`: the victim closes that connection, logs
  // `needle`, counts a decode error, delivers nothing, and still serves a
  // well-behaved peer.
  void expect_disconnected_after_handshake(const std::string& bytes, const std::string& needle) {
    TcpNode victim(io, 2, with_tls("a", 2));
    RawTls s(io, Pki::get().tls("a", 1));
    ASSERT_TRUE(s.connect(victim.address()));
    ASSERT_EQ(s.handshake(1, 2), 0) << victim.logs.dump();
    s.write(bytes);
    EXPECT_TRUE(s.wait_closed());
    EXPECT_TRUE(run_until(io, [&] { return victim.stat("inbound.decode_errors") == 1; }))
        << victim.logs.dump();
    EXPECT_TRUE(victim.logs.contains(needle)) << victim.logs.dump();
    EXPECT_TRUE(victim.got.empty());
    TcpNode friendly(io, 1, with_tls("a", 1));
    EXPECT_TRUE(reaches(friendly, victim));
  }

  asio::io_context io;
};

TEST_F(TcpTlsTest, PeersOfOneCaExchangeMessages) {
  TcpNode n1(io, 1, with_tls("a", 1, true));
  TcpNode n2(io, 2, with_tls("a", 2, true));
  EXPECT_TRUE(reaches(n1, n2)) << n1.logs.dump() << n2.logs.dump();
  EXPECT_TRUE(reaches(n2, n1)) << n1.logs.dump() << n2.logs.dump();
  EXPECT_EQ(n1.stat("tls.enabled"), 1u);
  EXPECT_EQ(n2.stat("inbound.tls_handshake_failures"), 0u);
  EXPECT_TRUE(n1.logs.contains("TLS with pinned peer ids")) << n1.logs.dump();
  // A payload larger than one TLS record, through the gathered write.
  core::AppendEntries ae;
  ae.prev_log_index = Index(0);
  for (uint64_t i = 1; i <= 50; ++i) {
    ae.entries.push_back(Entry{Index(i), Term(1), EntryType::kCommand,
                                     Buffer::copy_of(std::string(3000, char('a' + i % 26)))});
  }
  n1.t->send(testing::message(1, 2, 1, ae));
  ASSERT_TRUE(run_until(io, [&] {
    for (const auto& m : n2.got)
      if (std::holds_alternative<core::AppendEntries>(m.body)) return true;
    return false;
  }));
  for (const auto& m : n2.got) {
    if (auto* got = std::get_if<core::AppendEntries>(&m.body)) {
      ASSERT_EQ(got->entries.size(), 50u);
      EXPECT_EQ(got->entries[49].data.to_string(), std::string(3000, char('a' + 50 % 26)));
    }
  }
}

TEST_F(TcpTlsTest, TlsAndPlaintextNodesDoNotTalk) {
  TcpNode tls(io, 1, with_tls("a", 1));
  TcpNode plain(io, 2);
  tls.knows(plain);
  plain.knows(tls);
  tls.t->send(heartbeat(tls.id(), plain.id(), 7));
  plain.t->send(heartbeat(plain.id(), tls.id(), 8));
  // The plaintext node sees a TLS ClientHello: not a libraft handshake.
  EXPECT_TRUE(run_until(io, [&] { return plain.stat("inbound.bad_handshakes") >= 1; }))
      << plain.logs.dump();
  // The TLS node sees a libraft Hello where a ClientHello belongs.
  EXPECT_TRUE(run_until(io, [&] { return tls.stat("inbound.tls_handshake_failures") >= 1; }))
      << tls.logs.dump();
  EXPECT_TRUE(run_until(io, [&] { return tls.stat("peer.2.tls_failures") >= 1; }));
  EXPECT_TRUE(tls.got.empty());
  EXPECT_TRUE(plain.got.empty());
}

TEST_F(TcpTlsTest, ACertificateFromAnotherCaIsRefused) {
  TcpNode victim(io, 2, with_tls("a", 2));
  // Trusts nothing the victim has, and presents a certificate of CA b.
  TcpNode stranger(io, 3, with_tls("b", 3));
  stranger.knows(victim);
  stranger.t->send(heartbeat(stranger.id(), victim.id(), 1));
  EXPECT_TRUE(run_until(io, [&] { return victim.stat("inbound.tls_handshake_failures") >= 1; }))
      << victim.logs.dump();
  EXPECT_TRUE(run_until(io, [&] { return stranger.stat("peer.2.tls_failures") >= 1; }));
  EXPECT_TRUE(victim.logs.contains("TLS handshake failed")) << victim.logs.dump();
  EXPECT_TRUE(victim.got.empty());

  // Trusts the victim (CA a) but its own certificate is from CA b: the
  // victim still refuses it.
  TcpNode impostor(io, 1, [](TcpTransportOptions& o) {
    o.tls = Pki::get().tls("b", 1);
    o.tls.ca_file = Pki::get().tls("a", 1).ca_file;
  });
  uint64_t before = victim.stat("inbound.tls_handshake_failures");
  impostor.knows(victim);
  impostor.t->send(heartbeat(impostor.id(), victim.id(), 2));
  EXPECT_TRUE(run_until(io, [&] { return victim.stat("inbound.tls_handshake_failures") > before; }))
      << victim.logs.dump();
  EXPECT_TRUE(victim.got.empty());

  TcpNode friendly(io, 1, with_tls("a", 1));
  EXPECT_TRUE(reaches(friendly, victim)) << victim.logs.dump();
}

TEST_F(TcpTlsTest, APlaintextClientOnATlsPortIsRefused) {
  TcpNode victim(io, 2, with_tls("a", 2));
  RawSocket s(io);
  s.connect(victim.address());
  Hello h;
  h.cluster_id = "test";
  h.from = NodeId(1);
  h.to = NodeId(2);
  s.write(std::string(encode_hello(h).view()));
  EXPECT_TRUE(s.wait_closed());
  EXPECT_TRUE(run_until(io, [&] { return victim.stat("inbound.tls_handshake_failures") == 1; }));
  EXPECT_TRUE(victim.got.empty());
  TcpNode friendly(io, 1, with_tls("a", 1));
  EXPECT_TRUE(reaches(friendly, victim));
}

TEST_F(TcpTlsTest, AValidPeerSendingGarbageAfterTheHandshakeIsDisconnected) {
  // A frame of an unknown type (99), then bytes that mean nothing.
  std::string bad;
  put_u32(&bad, 16);
  put_u8(&bad, 99);
  put_u8(&bad, 1);
  expect_disconnected_after_handshake(bad + "garbage garbage!", "unknown message frame type 99");
}

TEST_F(TcpTlsTest, AFrameHeaderPromisingGigabytesIsRefusedBeforeAnyAllocation) {
  std::string head;
  put_u32(&head, 0xFFFFFFF0u);
  put_u8(&head, 18);  // AppendEntries
  put_u8(&head, 1);
  expect_disconnected_after_handshake(head, "frame length");
}

TEST_F(TcpTlsTest, ThousandsOfConnectionsFromOneHostTakeABoundedShare) {
  TcpNode victim(io, 2, [](TcpTransportOptions& o) {
    with_tls("a", 2)(o);
    o.handshake_timeout_ms = 500;
    o.inbound_connections_per_address_max = 8;
  });
  // The attacker dials from 127.0.0.2 (still loopback) and says nothing.
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> conns;
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(detail::parse_host_port(victim.address(), &host, &port).ok());
  size_t connected = 0;
  for (int i = 0; i < 2000; ++i) {
    auto c = std::make_unique<asio::ip::tcp::socket>(io);
    c->open(asio::ip::tcp::v4());
    c->bind({asio::ip::make_address("127.0.0.2"), 0});
    c->async_connect({asio::ip::make_address(host), port},
                     [&](const std::error_code& ec) { connected += !ec; });
    conns.push_back(std::move(c));
    if (i % 100 == 99) io.poll();
  }
  EXPECT_TRUE(run_until(io, [&] {
    return victim.stat("inbound.refused_address_limit") + victim.stat("inbound.accepted") >= 2000;
  })) << victim.stat("inbound.accepted") << " accepted, " << connected << " connected";
  EXPECT_LE(victim.stat("inbound.active"), 8u);
  EXPECT_TRUE(victim.logs.contains("inbound_connections_per_address_max")) << victim.logs.dump();
  // A real peer on another address still gets in and is heard.
  TcpNode friendly(io, 1, with_tls("a", 1));
  EXPECT_TRUE(reaches(friendly, victim)) << victim.logs.dump();
  // The silent ones are closed at the handshake deadline.
  EXPECT_TRUE(run_until(io, [&] { return victim.stat("inbound.handshake_timeouts") >= 8; }))
      << victim.stat("inbound.handshake_timeouts");
  EXPECT_TRUE(run_until(io, [&] { return victim.stat("inbound.active") <= 2; }));
}

TEST_F(TcpTlsTest, PinnedIdsRefuseAnotherNodesCertificate) {
  // Node 1 presents node 3's certificate (same CA).
  auto wearing_3 = [](TcpTransportOptions& o) {
    o.tls = Pki::get().tls("a", 3);
    o.handshake_timeout_ms = 2000;
  };
  {
    TcpNode victim(io, 2, with_tls("a", 2, true));
    TcpNode liar(io, 1, wearing_3);
    liar.knows(victim);
    liar.t->send(heartbeat(liar.id(), victim.id(), 1));
    EXPECT_TRUE(run_until(io, [&] { return victim.stat("handshake_refused.wrong_identity") >= 1; }))
        << victim.logs.dump();
    EXPECT_TRUE(run_until(io, [&] { return liar.stat("peer.2.refused.wrong_identity") >= 1; }));
    EXPECT_TRUE(victim.logs.contains("does not name \"node1\"")) << victim.logs.dump();
    EXPECT_TRUE(victim.got.empty());
  }
  {
    // The dialer pins too: an acceptor presenting node 3's certificate
    // at node 2's address is not node 2.
    TcpNode impostor(io, 2, wearing_3);
    TcpNode dialer(io, 1, with_tls("a", 1, true));
    dialer.knows(impostor);
    dialer.t->send(heartbeat(dialer.id(), impostor.id(), 1));
    EXPECT_TRUE(run_until(io, [&] { return dialer.stat("peer.2.tls_failures") >= 1; }));
    EXPECT_TRUE(dialer.logs.contains("its certificate does not name \"node2\"")) << dialer.logs.dump();
    EXPECT_TRUE(impostor.got.empty());
  }
  {
    // Without pinning, any certificate of the CA may claim any id (the
    // documented trade).
    TcpNode victim(io, 2, with_tls("a", 2));
    TcpNode liar(io, 1, wearing_3);
    EXPECT_TRUE(reaches(liar, victim)) << victim.logs.dump();
  }
}

TEST_F(TcpTlsTest, ReloadPutsNewFilesInUseForNewConnections) {
  // The victim's files live where the test can replace them.
  fs::path dir = Pki::get().root / "reload";
  fs::create_directories(dir);
  auto put = [&](const std::string& ca, uint64_t id) {
    TlsOptions src = Pki::get().tls(ca, id);
    fs::copy_file(src.ca_file, dir / "ca.pem", fs::copy_options::overwrite_existing);
    fs::copy_file(src.cert_file, dir / "node.pem", fs::copy_options::overwrite_existing);
    fs::copy_file(src.key_file, dir / "node.key", fs::copy_options::overwrite_existing);
  };
  put("a", 2);
  TcpNode victim(io, 2, [&](TcpTransportOptions& o) {
    o.tls.ca_file = (dir / "ca.pem").string();
    o.tls.cert_file = (dir / "node.pem").string();
    o.tls.key_file = (dir / "node.key").string();
  });
  TcpNode from_b(io, 1, with_tls("b", 1));
  from_b.knows(victim);
  from_b.t->send(heartbeat(from_b.id(), victim.id(), 1));
  ASSERT_TRUE(run_until(io, [&] { return victim.stat("inbound.tls_handshake_failures") >= 1; }));

  // The cluster moves to CA b.
  put("b", 2);
  Status st = victim.t->reload_tls();
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(victim.stat("tls.reloads"), 1u);
  EXPECT_TRUE(reaches(from_b, victim)) << victim.logs.dump() << from_b.logs.dump();

  // A bad key: the reload fails, says why, and the files in use stay.
  { std::ofstream(dir / "node.key") << "not a key\n"; }
  st = victim.t->reload_tls();
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(st.message().find("node.key"), std::string::npos) << st.message();
  EXPECT_EQ(victim.stat("tls.reload_failures"), 1u);
  TcpNode another_b(io, 3, with_tls("b", 3));
  EXPECT_TRUE(reaches(another_b, victim)) << victim.logs.dump();
}

TEST_F(TcpTlsTest, StartRefusesBadFilesWithTheFileNamed) {
  struct Case {
    std::string name;
    std::function<void(TlsOptions&)> spoil;
    std::string needle;
  };
  std::vector<Case> cases = {
      {"missing certificate", [](TlsOptions& o) { o.cert_file += ".missing"; }, "node1.pem.missing"},
      {"key of another certificate",
       [](TlsOptions& o) { o.key_file = Pki::get().tls("a", 2).key_file; }, "does not match"},
      {"CA file that is a key", [](TlsOptions& o) { o.ca_file = o.key_file; }, "CA file"},
      {"certificate file that is a key", [](TlsOptions& o) { o.cert_file = o.key_file; },
       "certificate file"},
  };
  for (const Case& c : cases) {
    TcpTransportOptions o;
    o.node_id = NodeId(1);
    o.cluster_id = "test";
    o.tls = Pki::get().tls("a", 1);
    c.spoil(o.tls);
    TcpTransport t(io, o);
    Status st = t.start([](core::Message&&) {});
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << c.name;
    EXPECT_NE(st.message().find(c.needle), std::string::npos) << c.name << ": " << st.message();
  }
}

}  // namespace
}  // namespace raft::transport
