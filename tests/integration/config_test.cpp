// Config::validate: nonsense gets a clear error.
#include <gtest/gtest.h>

#include "raft/raft.hpp"

namespace raft {
namespace {

Config good() {
  Config c;
  c.id = 1;
  c.data_dir = "/tmp/x";
  return c;
}

void expect_invalid(const Config& c, const std::string& words) {
  Status s = c.validate();
  ASSERT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find(words), std::string::npos) << s.message();
}

TEST(ConfigTest, DefaultsWithAnIdAndDirectoryAreValid) { EXPECT_TRUE(good().validate().ok()); }

TEST(ConfigTest, NonsenseIsRefusedWithAReason) {
  Config c = good();
  c.id = 0;
  expect_invalid(c, "id");
  c = good();
  c.heartbeat_interval = std::chrono::milliseconds(2000);
  expect_invalid(c, "heartbeat_interval");
  c = good();
  c.max_append_entries = 0;
  expect_invalid(c, "max_append_entries");
  c = good();
  c.max_append_bytes = 0;
  expect_invalid(c, "max_append_bytes");
  c = good();
  c.store = "boltdb2";
  expect_invalid(c, "unknown store");
  c = good();
  c.transport = "udp";
  expect_invalid(c, "unknown transport");
  c = good();
  c.bind_address = "localhost";
  expect_invalid(c, "bind_address");
  c = good();
  c.bind_address = "127.0.0.1:99999";
  expect_invalid(c, "bind_address");
  c = good();
  c.advertise_address = "host:0";
  expect_invalid(c, "advertise_address");
  c = good();
  c.store = "wal";
  c.data_dir = "";
  expect_invalid(c, "data_dir");
  c = good();
  c.transport = "memory";
  expect_invalid(c, "memory_network");
  c = good();
  c.leader_lease_timeout = std::chrono::milliseconds(5000);
  expect_invalid(c, "leader_lease_timeout");
}

TEST(ConfigTest, StartRefusesABadConfig) {
  Config c = good();
  c.id = 0;
  auto n = Node::start(c, nullptr);
  EXPECT_EQ(n.status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace raft
