// MemoryTransport: the Transport of in-process clusters (integration tests,
// examples), with fault hooks. A MemoryNetwork is the wire: the nodes of
// one process share it, each registered under an address string; a node's
// send() hands the message to the receiver's event loop with asio::post,
// after an optional delay. No bytes are encoded: a Message is moved to the
// receiver as it is. That is safe across threads because a Message is a
// plain value whose only shared parts are entry payload Buffers, which are
// immutable with an atomic reference count (util/buffer.hpp).
//
// Faults (set on the MemoryNetwork, from any thread, seeded):
//   set_drop_probability(p)   each message lost with probability p
//   set_delay_ms(min, max)    each message delayed by a uniform [min, max] ms
//                             (so messages may be reordered)
//   partition(A, B)           nothing passes between group A and group B
//   isolate(n)                nothing passes to or from n
//   cut(from, to)             nothing passes from `from` to `to` (one way)
//   heal()                    undoes partition, isolate and cut
// Reachability is decided when a message is sent; the message is lost if
// its receiver has stopped by the time it is delivered.
//
// Thread safety: MemoryNetwork is thread safe. A MemoryTransport follows
// transport.hpp: every method on its own node's loop thread; its handler
// is called on that thread.
//
// Lifetime: the MemoryNetwork must outlive its transports; a transport's
// io_context must outlive the transport. A transport may be destroyed
// right after stop() (or instead of it), with messages to it in flight.
#pragma once

#include <asio/io_context.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "transport/transport.hpp"
#include "util/log.hpp"

namespace raft::transport {

namespace detail {
struct MemoryEndpoint;
}

class MemoryNetwork {
 public:
  explicit MemoryNetwork(uint64_t seed = 1);
  MemoryNetwork(const MemoryNetwork&) = delete;
  MemoryNetwork& operator=(const MemoryNetwork&) = delete;
  ~MemoryNetwork();

  // Fault hooks; see the file comment. p in [0, 1]; min <= max.
  void set_drop_probability(double p);
  void set_delay_ms(uint32_t min, uint32_t max);
  void partition(const std::vector<NodeId>& a, const std::vector<NodeId>& b);
  void isolate(NodeId id);
  void cut(NodeId from, NodeId to);
  void heal();

  // Whether a message from `from` to `to` would pass the partitions, cuts
  // and isolations now (drops and delays aside).
  bool reachable(NodeId from, NodeId to) const;

  // Messages lost to faults so far (drop probability or unreachable).
  uint64_t dropped_by_faults() const;

 private:
  friend class MemoryTransport;

  // What send() needs to know about one message.
  struct Route {
    std::shared_ptr<detail::MemoryEndpoint> to;  // null: no one at the address
    bool lost = false;                           // a fault ate it
    uint32_t delay_ms = 0;
  };

  Status attach(const std::string& address, std::shared_ptr<detail::MemoryEndpoint> e);
  void detach(const std::string& address, const detail::MemoryEndpoint* e);
  Route route(NodeId from, const std::string& address);
  bool reachable_locked(NodeId from, NodeId to) const;

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<detail::MemoryEndpoint>> endpoints_;
  std::mt19937_64 rng_;
  double drop_probability_ = 0;
  uint32_t delay_ms_min_ = 0;
  uint32_t delay_ms_max_ = 0;
  std::set<std::pair<NodeId, NodeId>> cuts_;  // (from, to) pairs that lose messages
  std::set<NodeId> isolated_;
  uint64_t dropped_by_faults_ = 0;
};

struct MemoryTransportOptions {
  // Where this node registers on the network; empty means "mem:<node id>".
  std::string address;
  Logger logger;
};

class MemoryTransport final : public Transport {
 public:
  // `network` and `io` are borrowed and must outlive the transport; `io`
  // is the node's event loop (the thread every method is called on).
  MemoryTransport(MemoryNetwork& network, NodeId self, asio::io_context& io,
                  MemoryTransportOptions options = {});
  ~MemoryTransport() override;  // stops

  // Registers the address. Errors: AlreadyExists (the address is taken),
  // InvalidArgument (started twice, or node id 0).
  Status start(MessageHandler handler) override;
  void set_peer(NodeId id, const std::string& address) override;
  void send(core::Message m) override;
  void stop() override;
  std::string local_address() const override { return address_; }
  // peer.<id>.messages_sent, .messages_received, .dropped_no_address
  // (no set_peer address), .dropped_unreachable (nobody registered
  // there), .dropped_fault (a fault hook), and dropped_not_started (send
  // before start or after stop). A message whose receiver stops before
  // it is delivered is lost without a count.
  std::map<std::string, std::string> stats() const override;

 private:
  struct PeerStats {
    uint64_t messages_sent = 0;
    uint64_t dropped_no_address = 0;
    uint64_t dropped_unreachable = 0;
    uint64_t dropped_fault = 0;
  };

  MemoryNetwork& network_;
  NodeId self_;
  asio::io_context& io_;
  Logger log_;
  std::string address_;
  std::shared_ptr<detail::MemoryEndpoint> endpoint_;  // set by start()
  std::unordered_map<NodeId, std::string> peers_;
  std::map<NodeId, PeerStats> stats_;
  uint64_t dropped_not_started_ = 0;
};

}  // namespace raft::transport
