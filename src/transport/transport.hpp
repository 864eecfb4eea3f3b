// Transport: carries Raft messages between the nodes of a cluster.
//
// Implementations: TcpTransport (tcp_transport.hpp, the wire format of
// docs/wire-format.md on Asio) and MemoryTransport (memory_transport.hpp,
// in-process, with fault hooks for tests). A transport knows message
// formats and peer addresses, never Raft roles: it does not decide what to
// send, only moves bytes, and may lose messages (Raft retransmits).
//
// Threads: a transport is bound to one node's event loop (an
// asio::io_context run by one thread, the runtime's loop thread). Every
// method, stats() included, is called on that thread, and the message
// handler is called on it too, so neither side needs locks. The handler
// may call any method, stop() included. (MemoryTransport hands messages
// across nodes' loops with asio::post.)
//
// Lifetime: the io_context must outlive the transport. The transport may
// be destroyed right after stop() returns (its destructor stops too),
// while the io_context still runs or after it stopped.
//
// Ownership: send() takes the message; entry payloads (and snapshot
// chunks) are shared Buffers, written to the socket by scatter-gather I/O
// (large ones without a copy) and released once written or dropped. A received
// message's payloads are slices of the buffer its frame was read into.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "core/message.hpp"
#include "util/status.hpp"
#include "util/types.hpp"

namespace raft::transport {

// Receives each message that arrived, on the loop thread. The sender id
// (m.from) has been checked against the connection's handshake.
using MessageHandler = std::function<void(core::Message&& m)>;

class Transport {
 public:
  virtual ~Transport() = default;

  // Starts listening (TCP) or registering (memory) and delivering messages
  // to `handler`. Errors: IoError (cannot bind), InvalidArgument (bad
  // options or address, called twice), AlreadyExists (memory: the address
  // is taken). Call once.
  virtual Status start(MessageHandler handler) = 0;

  // Sets or changes where a peer listens ("host:port"). Messages for a
  // peer with no address are dropped. An empty address forgets the peer;
  // a changed one closes its connections (what they had queued is lost).
  // (TCP: an address that does not parse is logged and treated as none.)
  virtual void set_peer(NodeId id, const std::string& address) = 0;

  // Queues a message for m.to. Never blocks. Drops it (and counts the
  // drop) when the peer is unknown, unreachable, or its queue is full.
  virtual void send(core::Message m) = 0;

  // Closes every connection and stops accepting; no handler call happens
  // after it returns. Idempotent.
  virtual void stop() = 0;

  // Where this node listens, as peers should dial it (the bound port when
  // the configuration asked for port 0).
  virtual std::string local_address() const = 0;

  // Counters for Node::stats(): messages and bytes sent and received per
  // peer, drops, connection attempts, refusals and their reasons.
  virtual std::map<std::string, std::string> stats() const = 0;

  // Reads the TLS files again (certificate rotation); connections made
  // afterwards use them. Errors: InvalidArgument (TLS is off, a file is
  // bad: the old files stay in use). Default: TLS is not supported.
  virtual Status reload_tls() { return invalid_argument("this transport has no TLS"); }
};

}  // namespace raft::transport
