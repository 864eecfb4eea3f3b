// A TcpTransport node for tests: loopback, ephemeral port, short backoff,
// captured log lines, received messages collected on the loop thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "transport/tcp_transport.hpp"
#include "transport_test_util.hpp"

namespace raft::transport::testing {

class TcpNode {
 public:
  using Tweak = std::function<void(TcpTransportOptions&)>;

  TcpNode(asio::io_context& io, uint64_t id, const Tweak& tweak = {},
          const std::string& listen = "127.0.0.1:0")
      : id_(id) {
    TcpTransportOptions o;
    o.node_id = NodeId(id);
    o.cluster_id = "test";
    o.listen_address = listen;
    o.logger = logs.logger("node " + std::to_string(id) + ": ");
    o.seed = id;
    o.reconnect_backoff_ms_initial = 10;
    o.reconnect_backoff_ms_max = 200;
    if (tweak) tweak(o);
    t = std::make_unique<TcpTransport>(io, o);
    Status st = t->start([this](core::Message&& m) {
      got.push_back(std::move(m));
      if (on_message) on_message(got.back());
    });
    EXPECT_TRUE(st.ok()) << st.to_string();
  }
  TcpNode(const TcpNode&) = delete;
  TcpNode& operator=(const TcpNode&) = delete;

  NodeId id() const { return NodeId(id_); }
  std::string address() const { return t->local_address(); }
  std::map<std::string, std::string> stats() const { return t->stats(); }
  uint64_t stat(const std::string& key) const { return testing::stat(t->stats(), key); }
  void knows(const TcpNode& peer) { t->set_peer(peer.id(), peer.address()); }

  // Heartbeats received with this read round.
  size_t heartbeats_with_round(uint64_t round) const {
    size_t n = 0;
    for (const auto& m : got) {
      if (auto* hb = std::get_if<core::Heartbeat>(&m.body); hb && hb->read_round == round) ++n;
    }
    return n;
  }

  LogCapture logs;
  std::unique_ptr<TcpTransport> t;
  std::vector<core::Message> got;
  std::function<void(const core::Message&)> on_message;

 private:
  uint64_t id_;
};

inline core::Message heartbeat(NodeId from, NodeId to, uint64_t round) {
  core::Heartbeat hb;
  hb.read_round = round;
  hb.commit = Index(round);
  core::Message m;
  m.from = from;
  m.to = to;
  m.term = Term(1);
  m.body = hb;
  return m;
}

// Checks that `victim` still takes messages from a well-behaved peer.
inline void expect_still_works(asio::io_context& io, TcpNode& sender, TcpNode& victim) {
  static uint64_t round = 1000000;
  uint64_t r = ++round;
  sender.knows(victim);
  sender.t->send(heartbeat(sender.id(), victim.id(), r));
  EXPECT_TRUE(run_until(io, [&] { return victim.heartbeats_with_round(r) == 1; }))
      << "victim no longer receives; victim log:\n"
      << victim.logs.dump() << "sender log:\n"
      << sender.logs.dump();
}

}  // namespace raft::transport::testing
