#include "transport/memory_transport.hpp"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>

#include "util/assert.hpp"

namespace raft::transport {

namespace detail {

// The receiving side of one MemoryTransport. Shared by the transport, the
// network's address table and every message in flight to it, so a
// delivery never touches a destroyed transport.
struct MemoryEndpoint {
  MemoryEndpoint(NodeId id_, asio::io_context& io_) : id(id_), io(io_) {}

  const NodeId id;
  asio::io_context& io;
  // The fields below are only touched on io's thread (the node's loop).
  bool open = true;
  int delivering = 0;  // depth of handler calls in progress
  MessageHandler handler;
  std::map<NodeId, uint64_t> received;  // messages delivered, by sender
  // Senders' addresses, for answering a node the configuration does not
  // name yet (as TCP learns them from the handshake).
  std::map<NodeId, std::string> learned;

  void deliver(core::Message&& m, const std::string& from_address) {
    if (!open) return;
    ++received[m.from];
    learned.try_emplace(m.from, from_address);
    ++delivering;
    handler(std::move(m));
    --delivering;
    // stop() from inside the handler leaves the handler to be released
    // here, once it has returned.
    if (!open && delivering == 0) handler = nullptr;
  }
};

}  // namespace detail

// ---- MemoryNetwork

MemoryNetwork::MemoryNetwork(uint64_t seed) : rng_(seed) {}

MemoryNetwork::~MemoryNetwork() = default;

void MemoryNetwork::set_drop_probability(double p) {
  RAFT_ASSERT(p >= 0 && p <= 1);
  std::lock_guard lock(mu_);
  drop_probability_ = p;
}

void MemoryNetwork::set_delay_ms(uint32_t min, uint32_t max) {
  RAFT_ASSERT(min <= max);
  std::lock_guard lock(mu_);
  delay_ms_min_ = min;
  delay_ms_max_ = max;
}

void MemoryNetwork::partition(const std::vector<NodeId>& a, const std::vector<NodeId>& b) {
  std::lock_guard lock(mu_);
  for (NodeId x : a) {
    for (NodeId y : b) {
      cuts_.insert({x, y});
      cuts_.insert({y, x});
    }
  }
}

void MemoryNetwork::isolate(NodeId id) {
  std::lock_guard lock(mu_);
  isolated_.insert(id);
}

void MemoryNetwork::cut(NodeId from, NodeId to) {
  std::lock_guard lock(mu_);
  cuts_.insert({from, to});
}

void MemoryNetwork::heal() {
  std::lock_guard lock(mu_);
  cuts_.clear();
  isolated_.clear();
}

bool MemoryNetwork::reachable(NodeId from, NodeId to) const {
  std::lock_guard lock(mu_);
  return reachable_locked(from, to);
}

bool MemoryNetwork::reachable_locked(NodeId from, NodeId to) const {
  return !isolated_.count(from) && !isolated_.count(to) && !cuts_.count({from, to});
}

uint64_t MemoryNetwork::dropped_by_faults() const {
  std::lock_guard lock(mu_);
  return dropped_by_faults_;
}

Status MemoryNetwork::attach(const std::string& address,
                             std::shared_ptr<detail::MemoryEndpoint> e) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = endpoints_.emplace(address, std::move(e));
  if (!inserted) {
    return Status(ErrorCode::kAlreadyExists,
                  "memory address \"" + address + "\" is already registered");
  }
  return Status();
}

void MemoryNetwork::detach(const std::string& address, const detail::MemoryEndpoint* e) {
  std::lock_guard lock(mu_);
  auto it = endpoints_.find(address);
  if (it != endpoints_.end() && it->second.get() == e) endpoints_.erase(it);
}

MemoryNetwork::Route MemoryNetwork::route(NodeId from, const std::string& address) {
  std::lock_guard lock(mu_);
  Route r;
  auto it = endpoints_.find(address);
  if (it == endpoints_.end()) return r;
  r.to = it->second;
  // Draw the random numbers in a fixed pattern, so a seed replays the
  // same faults for the same sequence of sends.
  double u = std::uniform_real_distribution<double>(0, 1)(rng_);
  uint32_t delay = delay_ms_min_;
  if (delay_ms_max_ > delay_ms_min_) {
    delay = std::uniform_int_distribution<uint32_t>(delay_ms_min_, delay_ms_max_)(rng_);
  }
  if (!reachable_locked(from, r.to->id) || u < drop_probability_) {
    r.lost = true;
    ++dropped_by_faults_;
  }
  r.delay_ms = delay;
  return r;
}

// ---- MemoryTransport

MemoryTransport::MemoryTransport(MemoryNetwork& network, NodeId self, asio::io_context& io,
                                 MemoryTransportOptions options)
    : network_(network),
      self_(self),
      io_(io),
      log_(options.logger),
      address_(options.address.empty() ? "mem:" + std::to_string(self.value)
                                       : std::move(options.address)) {}

MemoryTransport::~MemoryTransport() { stop(); }

Status MemoryTransport::start(MessageHandler handler) {
  if (self_ == kNoNode) return invalid_argument("memory transport: node id 0 is reserved");
  if (endpoint_) return invalid_argument("memory transport: start called twice");
  RAFT_ASSERT(handler);
  auto e = std::make_shared<detail::MemoryEndpoint>(self_, io_);
  e->handler = std::move(handler);
  RAFT_RETURN_IF_ERROR(network_.attach(address_, e));
  endpoint_ = std::move(e);
  return Status();
}

void MemoryTransport::set_peer(NodeId id, const std::string& address) {
  if (address.empty()) {
    peers_.erase(id);
  } else {
    peers_[id] = address;
  }
}

void MemoryTransport::send(core::Message m) {
  if (!endpoint_ || !endpoint_->open) {
    ++dropped_not_started_;
    return;
  }
  PeerStats& ps = stats_[m.to];
  const std::string* address = nullptr;
  if (auto p = peers_.find(m.to); p != peers_.end()) {
    address = &p->second;
  } else if (auto l = endpoint_->learned.find(m.to); l != endpoint_->learned.end()) {
    address = &l->second;
  } else {
    ++ps.dropped_no_address;
    return;
  }
  MemoryNetwork::Route r = network_.route(self_, *address);
  if (!r.to || r.to->id != m.to) {  // nobody there, or the wrong node (a stale address)
    ++ps.dropped_unreachable;
    return;
  }
  if (r.lost) {
    ++ps.dropped_fault;
    return;
  }
  ++ps.messages_sent;
  auto to = std::move(r.to);
  asio::io_context& io = to->io;
  if (r.delay_ms == 0) {
    asio::post(io, [to = std::move(to), m = std::move(m), from = address_]() mutable {
      to->deliver(std::move(m), from);
    });
    return;
  }
  // The timer lives on the receiver's loop, like the delivery.
  asio::post(io, [to = std::move(to), m = std::move(m), delay = r.delay_ms, from = address_]() mutable {
    auto timer = std::make_shared<asio::steady_timer>(to->io, std::chrono::milliseconds(delay));
    timer->async_wait([timer, to = std::move(to), m = std::move(m), from](const std::error_code&) mutable {
      to->deliver(std::move(m), from);
    });
  });
}

void MemoryTransport::stop() {
  if (!endpoint_ || !endpoint_->open) return;
  network_.detach(address_, endpoint_.get());
  endpoint_->open = false;
  if (endpoint_->delivering == 0) endpoint_->handler = nullptr;
}

std::map<std::string, std::string> MemoryTransport::stats() const {
  std::map<std::string, std::string> out;
  auto put = [&](NodeId id, const char* name, uint64_t v) {
    out["peer." + std::to_string(id.value) + "." + name] = std::to_string(v);
  };
  for (const auto& [id, s] : stats_) {
    put(id, "messages_sent", s.messages_sent);
    put(id, "dropped_no_address", s.dropped_no_address);
    put(id, "dropped_unreachable", s.dropped_unreachable);
    put(id, "dropped_fault", s.dropped_fault);
  }
  if (endpoint_) {
    for (const auto& [id, n] : endpoint_->received) put(id, "messages_received", n);
  }
  out["dropped_not_started"] = std::to_string(dropped_not_started_);
  return out;
}

}  // namespace raft::transport
