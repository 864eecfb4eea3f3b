// Unit tests of the compatibility layer's translation of a 2015 RaftConfig
// (src/compat/plan.hpp), its address rules (address.hpp) and the stats
// formatting of raft_print_stats (stats.hpp). The rules are the ones
// docs/migrating-from-2015.md states; each test names the one it checks.
#include <gtest/gtest.h>

#include <cstring>

#include "compat/address.hpp"
#include "compat/plan.hpp"
#include "compat/stats.hpp"
#include "raft/raft_if.h"

namespace raft::compat {
namespace {

RaftConfig defaults() {
  RaftConfig c;
  raft_default_config(&c);
  return c;
}

NodePlan plan_of(const RaftConfig& c) {
  NodePlan p;
  PlanError e;
  EXPECT_TRUE(make_plan(c, &p, &e)) << e.message;
  return p;
}

PlanError error_of(const RaftConfig& c) {
  NodePlan p;
  PlanError e;
  EXPECT_FALSE(make_plan(c, &p, &e));
  return e;
}

TEST(AddressTest, PortsAreDecimalOneTo65535) {
  uint16_t p = 0;
  EXPECT_TRUE(parse_port("9001", &p));
  EXPECT_EQ(p, 9001);
  EXPECT_TRUE(parse_port("65535", &p));
  EXPECT_FALSE(parse_port("0", &p));
  EXPECT_FALSE(parse_port("65536", &p));
  EXPECT_FALSE(parse_port("", &p));
  EXPECT_FALSE(parse_port("9x", &p));
  EXPECT_FALSE(parse_port("-1", &p));
  EXPECT_FALSE(parse_port("000009001", &p));
}

TEST(AddressTest, PeerListsAreCommaSeparatedHostPort) {
  PeerList peers;
  std::string error;
  ASSERT_TRUE(parse_peer_list(" localhost:9002 ,127.0.0.1:9003,,[::1]:9004 ", &peers, &error)) << error;
  ASSERT_EQ(peers.size(), 3u);
  EXPECT_EQ(peers[0].host, "localhost");
  EXPECT_EQ(peers[0].port, 9002);
  EXPECT_EQ(peers[2].host, "::1");
  EXPECT_EQ(peers[2].port, 9004);
  EXPECT_TRUE(parse_peer_list("", &peers, &error));
  EXPECT_TRUE(peers.empty());
  EXPECT_FALSE(parse_peer_list("localhost", &peers, &error));
  EXPECT_FALSE(parse_peer_list(":9001", &peers, &error));
  EXPECT_FALSE(parse_peer_list("::1:9001", &peers, &error));
  EXPECT_NE(error.find("[address]:port"), std::string::npos) << error;
  EXPECT_FALSE(parse_peer_list("a:1,b:x", &peers, &error));
}

TEST(AddressTest, LocalhostAnd127001AreOneNode) {
  Endpoint a, b, c;
  std::string error;
  ASSERT_EQ(normalize("localhost", 9001, &a, &error), NormalizeResult::kOk);
  ASSERT_EQ(normalize("127.0.0.1", 9001, &b, &error), NormalizeResult::kOk);
  ASSERT_EQ(normalize("LocalHost", 9001, &c, &error), NormalizeResult::kOk);
  EXPECT_EQ(a.str(), "127.0.0.1:9001");
  EXPECT_EQ(b.str(), a.str());
  EXPECT_EQ(c.str(), a.str());
  EXPECT_TRUE(a.loopback);
  EXPECT_EQ(server_id(a), server_id(b));
}

TEST(AddressTest, IdsAreTheIpv4AddressAndPortSideBySide) {
  Endpoint e;
  std::string error;
  ASSERT_EQ(normalize("127.0.0.1", 9001, &e, &error), NormalizeResult::kOk);
  EXPECT_EQ(server_id(e), 0x7f0000012329u);
  ASSERT_EQ(normalize("10.1.2.3", 1, &e, &error), NormalizeResult::kOk);
  EXPECT_EQ(server_id(e), 0x0a0102030001u);
  EXPECT_FALSE(e.loopback);
}

TEST(AddressTest, Ipv6IdsHaveTheTopBitSet) {
  Endpoint a, b;
  std::string error;
  ASSERT_EQ(normalize("[::1]", 9001, &a, &error), NormalizeResult::kOk);
  ASSERT_EQ(normalize("0:0:0:0:0:0:0:1", 9001, &b, &error), NormalizeResult::kOk);
  EXPECT_TRUE(a.ipv6);
  EXPECT_TRUE(a.loopback);
  EXPECT_EQ(a.str(), "[::1]:9001");
  EXPECT_EQ(server_id(a), server_id(b));
  EXPECT_NE(server_id(a) & (uint64_t{1} << 63), 0u);
  ASSERT_EQ(normalize("::1", 9002, &b, &error), NormalizeResult::kOk);
  EXPECT_NE(server_id(a), server_id(b));
}

TEST(AddressTest, UnresolvableNamesAreResolveErrors) {
  Endpoint e;
  std::string error;
  EXPECT_EQ(normalize("no-such-host.invalid", 9001, &e, &error), NormalizeResult::kUnresolved);
  EXPECT_NE(error.find("no-such-host.invalid"), std::string::npos);
  EXPECT_EQ(normalize("", 9001, &e, &error), NormalizeResult::kInvalid);
  EXPECT_EQ(normalize("localhost", 0, &e, &error), NormalizeResult::kInvalid);
}

TEST(PlanTest, DefaultsGiveAStandaloneNodeInMemoryOn9001) {
  NodePlan p = plan_of(defaults());
  EXPECT_EQ(p.self.address, "127.0.0.1:9001");
  EXPECT_EQ(p.self.id, 0x7f0000012329u);
  EXPECT_EQ(p.bind_address, "127.0.0.1:9001");
  ASSERT_EQ(p.servers.size(), 1u);
  EXPECT_EQ(p.servers[0].address, p.self.address);
  EXPECT_FALSE(p.durable);  // no base_dir: nothing can persist
}

TEST(PlanTest, DurableBackendsUseTheWalInBaseDir) {
  RaftConfig c = defaults();
  std::strcpy(c.base_dir, "/data/raft");
  for (const char* backend : {"boltdb", "wal"}) {
    std::strcpy(c.backend_type, backend);
    NodePlan p = plan_of(c);
    EXPECT_TRUE(p.durable) << backend;
    EXPECT_EQ(p.data_dir, "/data/raft");
  }
  for (const char* backend : {"inmem", "memory"}) {
    std::strcpy(c.backend_type, backend);
    EXPECT_FALSE(plan_of(c).durable) << backend;
  }
  std::strcpy(c.backend_type, "lmdb");
  EXPECT_EQ(error_of(c).code, RAFT_E_INVALID_OP);
}

TEST(PlanTest, EveryNodeBootstrapsItselfPlusItsPeersOnce) {
  RaftConfig c = defaults();
  c.listen_port = 9001;
  // This node itself and repeats (named either way) are dropped.
  std::strcpy(c.peers, "localhost:9002,127.0.0.1:9003,localhost:9001,127.0.0.1:9002");
  NodePlan p = plan_of(c);
  ASSERT_EQ(p.servers.size(), 3u);
  EXPECT_EQ(p.servers[0].address, "127.0.0.1:9001");
  EXPECT_EQ(p.servers[1].address, "127.0.0.1:9002");
  EXPECT_EQ(p.servers[2].address, "127.0.0.1:9003");
  EXPECT_EQ(p.servers[1].id, 0x7f000001232au);
  EXPECT_EQ(p.servers[2].id, 0x7f000001232bu);
  EXPECT_EQ(p.bind_address, "127.0.0.1:9001");
}

TEST(PlanTest, PeersOnThisHostAndElsewhereDoNotMix) {
  RaftConfig c = defaults();
  std::strcpy(c.peers, "10.1.2.3:9002,localhost:9003");
  PlanError e = error_of(c);
  EXPECT_EQ(e.code, RAFT_E_INVALID_ADDRESS);
  EXPECT_NE(e.message.find("mix"), std::string::npos) << e.message;
}

TEST(PlanTest, BadPeersAreAddressOrResolveErrors) {
  RaftConfig c = defaults();
  std::strcpy(c.peers, "localhost");
  EXPECT_EQ(error_of(c).code, RAFT_E_INVALID_ADDRESS);
  std::strcpy(c.peers, "no-such-host.invalid:9002");
  EXPECT_EQ(error_of(c).code, RAFT_E_RESOLVE);
  c = defaults();
  c.listen_port = 0;
  EXPECT_EQ(error_of(c).code, RAFT_E_INVALID_ADDRESS);
}

TEST(PlanTest, HashicorpTimeoutsMapOntoTheElectionTimeoutAndHeartbeats) {
  // Defaults: HeartbeatTimeout 1 s -> election timeout 1 s, heartbeats
  // every 100 ms; lease 500 ms; commit 50 ms.
  NodePlan p = plan_of(defaults());
  EXPECT_EQ(p.election_timeout_ms, 1000u);
  EXPECT_EQ(p.heartbeat_interval_ms, 100u);
  EXPECT_EQ(p.leader_lease_timeout_ms, 500u);
  EXPECT_EQ(p.commit_timeout_ms, 50u);
  EXPECT_EQ(p.max_append_entries, 64u);
  EXPECT_EQ(p.trailing_logs, 10240u);
  EXPECT_EQ(p.snapshot_interval_ms, 120000u);
  EXPECT_EQ(p.snapshot_threshold, 8192u);
  EXPECT_EQ(p.retain_snapshots, 8u);
  EXPECT_TRUE(p.shutdown_on_remove);

  RaftConfig c = defaults();
  c.HeartbeatTimeout = 300'000'000;
  c.ElectionTimeout = 200'000'000;  // the larger of the two wins
  c.CommitTimeout = 1;              // rounded up, never 0
  NodePlan q = plan_of(c);
  EXPECT_EQ(q.election_timeout_ms, 300u);
  EXPECT_EQ(q.heartbeat_interval_ms, 30u);
  EXPECT_EQ(q.leader_lease_timeout_ms, 300u);  // clamped to the election timeout
  EXPECT_EQ(q.commit_timeout_ms, 1u);

  // 0 means the default.
  c = defaults();
  c.HeartbeatTimeout = c.ElectionTimeout = c.TrailingLogs = 0;
  c.RetainSnapshots = 0;
  NodePlan r = plan_of(c);
  EXPECT_EQ(r.election_timeout_ms, 1000u);
  EXPECT_EQ(r.trailing_logs, 10240u);
  EXPECT_EQ(r.retain_snapshots, 8u);
}

TEST(PlanTest, FullFixedSizeFieldsAreReadWithinTheirBounds) {
  RaftConfig c = defaults();
  std::memset(c.base_dir, 'd', sizeof c.base_dir);  // no NUL at all
  NodePlan p = plan_of(c);
  EXPECT_EQ(p.data_dir.size(), sizeof c.base_dir);
}

TEST(PlanTest, TlsFilesComeFromBesideTheConfigAndGoTogether) {
  ConfigExtension x;
  NodePlan p;
  PlanError e;
  ASSERT_TRUE(make_plan(defaults(), x, &p, &e)) << e.message;
  EXPECT_TRUE(p.tls_ca_file.empty() && p.tls_cert_file.empty() && p.tls_key_file.empty());
  EXPECT_FALSE(p.tls_verify_peer_id);

  x.tls_ca_file = "ca.pem";
  x.tls_cert_file = "node1.pem";
  x.tls_key_file = "node1.key";
  x.tls_verify_peer_id = true;
  ASSERT_TRUE(make_plan(defaults(), x, &p, &e)) << e.message;
  EXPECT_EQ(p.tls_ca_file, "ca.pem");
  EXPECT_EQ(p.tls_cert_file, "node1.pem");
  EXPECT_EQ(p.tls_key_file, "node1.key");
  EXPECT_TRUE(p.tls_verify_peer_id);

  // Some files but not all: the message names the missing flags.
  x.tls_cert_file.clear();
  EXPECT_FALSE(make_plan(defaults(), x, &p, &e));
  EXPECT_EQ(e.code, RAFT_E_INVALID_OP);
  EXPECT_NE(e.message.find("missing --tls-cert"), std::string::npos) << e.message;
  x.tls_ca_file.clear();
  EXPECT_FALSE(make_plan(defaults(), x, &p, &e));
  EXPECT_NE(e.message.find("missing --tls-ca, --tls-cert"), std::string::npos) << e.message;

  // Pinning peer ids needs TLS.
  x.tls_key_file.clear();
  EXPECT_FALSE(make_plan(defaults(), x, &p, &e));
  EXPECT_EQ(e.code, RAFT_E_INVALID_OP);
  EXPECT_NE(e.message.find("--tls-verify-peer-id needs TLS"), std::string::npos) << e.message;
  x.tls_verify_peer_id = false;
  EXPECT_TRUE(make_plan(defaults(), x, &p, &e)) << e.message;
}

TEST(StatsTest, FlatObjectsPrintSortedAndAligned) {
  std::string text = format_stats(R"({"term":"3","state":"Leader","a \"q\"":"x\ty","n":12})");
  EXPECT_EQ(text,
            "Raft stats:\n"
            "  a \"q\"  x\ty\n"
            "  n      12\n"
            "  state  Leader\n"
            "  term   3\n");
  EXPECT_EQ(format_stats("{}"), "Raft stats:\n");
}

TEST(StatsTest, OtherTextPrintsAsItIs) {
  EXPECT_NE(format_stats("not json").find("not json"), std::string::npos);
  EXPECT_FALSE(parse_flat_json("{\"a\":{\"b\":\"c\"}}").has_value());
  EXPECT_FALSE(parse_flat_json("{\"a\":\"b\"} trailing").has_value());
  EXPECT_FALSE(parse_flat_json("{\"a\":\"unterminated}").has_value());
  auto u = parse_flat_json(R"({"u":"\u00e9\u0041"})");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ((*u)[0].second, "\xc3\xa9" "A");
}

}  // namespace
}  // namespace raft::compat
