// Nodes over mutual TLS (docs/security.md), through the public API:
// certificates made at test time by scripts/make-certs.sh.
#include <gtest/gtest.h>

#include <cstdlib>

#include "test_cluster.hpp"

namespace raft::itest {
namespace {

Buffer cmd(const std::string& s) { return Buffer::from_string(s); }

// Makes a CA and certificates for nodes 1..n in `dir`; false on failure.
bool make_certs(const std::filesystem::path& dir, int n) {
  std::string cmd = std::string(RAFT_SOURCE_DIR) + "/scripts/make-certs.sh " + dir.string();
  for (int i = 1; i <= n; ++i) cmd += " " + std::to_string(i);
  return std::system(cmd.c_str()) == 0;
}

void use_certs(Config& c, const std::filesystem::path& dir, bool pin = true) {
  std::string node = (dir / ("node" + std::to_string(c.id))).string();
  c.tls_ca_file = (dir / "ca.pem").string();
  c.tls_cert_file = node + ".pem";
  c.tls_key_file = node + ".key";
  c.tls_verify_peer_id = pin;
}

std::filesystem::path cert_dir(const std::string& name) {
  auto dir = std::filesystem::path(RAFT_TEST_TMPDIR) / ("certs-" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(TlsTest, APinnedClusterElectsReplicatesAndGrows) {
  auto certs = cert_dir("pinned");
  ASSERT_TRUE(make_certs(certs, 4));
  TestCluster c({.nodes = 3, .tweak = [&](Config& cfg) { use_certs(cfg, certs); }});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(c.node(leader)->apply(cmd("k" + std::to_string(i) + "=v"), 5s).wait().ok());
  ServerId fresh = c.add_slot();
  c.start(fresh);
  Status st = c.node(leader)->add_voter(fresh, c.address_of(fresh), 10s).wait();
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_TRUE(eventually([&] { return c.fsm(fresh)->get("k199") == "v"; }));
  auto stats = c.node(leader)->stats();
  EXPECT_EQ(stats["transport.tls.enabled"], "1");
  EXPECT_EQ(stats["transport.inbound.tls_handshake_failures"], "0");
  EXPECT_TRUE(c.node(leader)->reload_tls().ok());
  EXPECT_EQ(c.node(leader)->stats()["transport.tls.reloads"], "1");
}

TEST(TlsTest, AServerWithACertificateFromAnotherCaCannotJoin) {
  auto certs = cert_dir("cluster");
  auto other = cert_dir("other");
  ASSERT_TRUE(make_certs(certs, 3));
  ASSERT_TRUE(make_certs(other, 4));
  TestCluster c({.nodes = 3, .tweak = [&](Config& cfg) { use_certs(cfg, cfg.id == 4 ? other : certs); }});
  c.start_all();
  ServerId leader = c.wait_leader();
  ASSERT_NE(leader, 0u);
  ServerId stranger = c.add_slot();
  c.start(stranger);
  auto refused_handshakes = [&] {
    return c.node(stranger)->stats()["transport.inbound.tls_handshake_failures"];
  };
  // The leader tries to catch it up and cannot reach it; ask again if
  // leadership moved before it tried.
  bool tried = false;
  for (int attempt = 0; attempt < 10 && !tried; ++attempt) {
    ServerId l = c.wait_leader();
    ASSERT_NE(l, 0u);
    Status st = c.node(l)->add_voter(stranger, c.address_of(stranger), 1500ms).wait();
    EXPECT_FALSE(st.ok());
    tried = eventually([&] { return refused_handshakes() != "0" && !refused_handshakes().empty(); }, 2s);
  }
  EXPECT_TRUE(tried) << "the stranger never saw a TLS handshake";
  EXPECT_EQ(c.node(stranger)->last_index(), 0u);
  EXPECT_EQ(c.node(stranger)->committed_configuration().servers.size(), 0u);
}

TEST(TlsTest, ConfigurationAndReloadErrors) {
  auto certs = cert_dir("errors");
  ASSERT_TRUE(make_certs(certs, 1));
  Config partial;
  partial.id = 1;
  partial.store = "memory";
  partial.tls_ca_file = (certs / "ca.pem").string();
  Status st = partial.validate();
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(st.message().find("tls_cert_file"), std::string::npos) << st.message();

  Config pin_only;
  pin_only.id = 1;
  pin_only.store = "memory";
  pin_only.tls_verify_peer_id = true;
  EXPECT_EQ(pin_only.validate().code(), ErrorCode::kInvalidArgument);

  // A key that is not the certificate's: start fails and names the file.
  Config bad;
  bad.id = 1;
  bad.store = "memory";
  use_certs(bad, certs);
  bad.tls_key_file = (certs / "ca.key").string();
  auto n = Node::start(bad, std::make_shared<KvFsm>());
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("ca.key"), std::string::npos) << n.status().to_string();

  // Reload: an error without TLS, kShutdown after shutdown.
  Config plain;
  plain.id = 1;
  plain.store = "memory";
  auto p = Node::start(plain, std::make_shared<KvFsm>());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_EQ((*p)->reload_tls().code(), ErrorCode::kInvalidArgument);
  (*p)->shutdown();
  EXPECT_EQ((*p)->reload_tls().code(), ErrorCode::kShutdown);
}

}  // namespace
}  // namespace raft::itest
