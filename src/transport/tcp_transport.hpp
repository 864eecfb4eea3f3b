// TcpTransport: Raft messages over TCP with Asio, in the wire format of
// docs/wire-format.md.
//
// Shape (docs/wire-format.md, "Connections"): the node dials two
// connections to each peer it sends to: "bulk" for AppendEntries and
// InstallSnapshot chunks, "control" for everything else, so heartbeats and
// votes never wait behind a large append or a snapshot transfer. Each has
// a queue written continuously (pipelined) with gathered writes: payload
// Buffers of 1 KiB or more (entry data, snapshot chunks) are written in
// place and stay referenced until the write completes; frame heads and
// smaller payloads are copied into one staging buffer first, because a
// writev of hundreds of 128-byte pieces costs the kernel more than the
// copy (raft_bench, memory store, 128 B: 1.7x the throughput). Inbound
// connections only receive; every reply goes out on the replier's own
// outbound connection.
//
// Connections are made when there is something to send. A failed attempt
// is retried, on the next send, after a capped exponential backoff with
// jitter; while backing off, messages to that peer are dropped (counted
// as dropped_not_connected): Raft retransmits, and stale messages should
// not pile up for a dead peer. A connection that breaks loses what it had
// queued (counted the same way).
//
// Hostile input (a frame too large, truncated, of an unknown type, with
// lying lengths, garbage before the handshake, another cluster, another
// protocol version, a spoofed sender, a failed TLS handshake, a
// certificate that does not name its holder's id) closes that connection
// with a log line and a counter; nothing else is affected. Memory per
// connection is bounded by the frame and queue limits below, and the
// number of inbound connections is bounded, in all and per remote address.
//
// TLS (docs/security.md): with TlsOptions set, every connection is mutual
// TLS from its first byte (tls.hpp, tcp_stream.hpp).
//
// Threads (transport.hpp): every method runs on the thread that runs `io`,
// including stats(); the handler is called there too.
//
// Lifetime: `io` must outlive the transport. After stop() returns no
// handler call happens; the transport may then be destroyed at once, with
// `io` still running or stopped (pending completions only see that their
// connection is closed). The destructor stops.
#pragma once

#include <asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "transport/codec.hpp"
#include "transport/transport.hpp"
#include "util/log.hpp"

namespace raft::transport {

// Mutual TLS (docs/security.md): on when all three files are set.
struct TlsOptions {
  std::string ca_file;    // PEM: the CA(s) whose certificates peers must present
  std::string cert_file;  // PEM: this node's certificate chain
  std::string key_file;   // PEM: its private key
  // The peer's certificate must name "node<id>" (subject CN or a DNS
  // subject alternative name) for the id it claims in the handshake.
  bool verify_peer_id = false;
  bool enabled() const { return !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

struct TcpTransportOptions {
  // This node's id (not 0) and cluster id (at most 64 bytes); a peer with
  // another cluster id is refused (docs/wire-format.md, "Hello").
  NodeId node_id;
  std::string cluster_id;
  // Where to listen, "host:port" or "[v6]:port"; port 0 picks a free port
  // (read it back with local_address()).
  std::string listen_address = "127.0.0.1:0";
  // How peers reach this node, sent in every Hello so that a node which
  // does not know this one yet (a server being added) can answer. Empty:
  // the bound address.
  std::string advertise_address;
  Logger logger;

  // The largest frame sent or accepted (length field), at least
  // kFrameBytesMaxMin. A message larger than this is dropped and counted
  // (dropped_too_large); keep the core's append_bytes_max well below it.
  size_t frame_bytes_max = kFrameBytesMaxDefault;
  // Per peer and connection: the bytes and messages queued or being
  // written. A message beyond either bound is dropped (the newest, never
  // one in the queue) and counted (dropped_queue_full); in practice the
  // bulk queue is the one that fills. A message is
  // always taken by an empty queue, whatever its size.
  size_t queue_bytes_max = size_t{64} << 20;
  size_t queue_messages_max = 4096;
  // Backoff after the n-th consecutive failed attempt: uniform in
  // [d/2, d] with d = min(max, initial * 2^(n-1)). A refusal by the peer
  // (wrong cluster, ...) backs off the maximum at once.
  uint32_t reconnect_backoff_ms_initial = 50;
  uint32_t reconnect_backoff_ms_max = 5000;
  // Connect plus handshake must finish within this (both directions).
  uint32_t handshake_timeout_ms = 5000;
  // Inbound connections open at once (handshaking or not); one more is
  // closed as soon as it is accepted. A peer uses two.
  size_t inbound_connections_max = 64;
  // Inbound connections open at once from one remote IP address, so one
  // host cannot take every inbound slot.
  size_t inbound_connections_per_address_max = 16;
  TlsOptions tls;
  // Seeds the backoff jitter; 0 seeds from std::random_device.
  uint64_t seed = 0;
};

namespace detail {
class TcpCore;
}

class TcpTransport final : public Transport {
 public:
  // `io` is borrowed (see Lifetime above). Does no I/O until start().
  TcpTransport(asio::io_context& io, TcpTransportOptions options);
  ~TcpTransport() override;

  // Validates the options, binds and listens. Errors: InvalidArgument
  // (bad options or address, started twice), IoError (cannot bind).
  Status start(MessageHandler handler) override;
  void set_peer(NodeId id, const std::string& address) override;
  void send(core::Message m) override;
  void stop() override;
  // "127.0.0.1:40123" once started (the bound port); "" before. For a
  // wildcard listen address (0.0.0.0, [::]) this is the wildcard too: the
  // runtime must advertise a dialable host itself.
  std::string local_address() const override;
  // Counters, as decimal strings:
  //   peer.<id>.messages_sent, bytes_sent          written to the socket
  //   peer.<id>.messages_received, bytes_received  delivered to the handler
  //   peer.<id>.dropped_queue_full, dropped_no_address,
  //     dropped_not_connected, dropped_too_large, dropped_unsupported
  //   peer.<id>.connects, reconnects, connect_failures, disconnects
  //   peer.<id>.refused.<reason>      the peer refused our handshake
  //   peer.<id>.decode_errors         bad frames on its inbound connections
  //   peer.<id>.tls_failures          TLS handshakes to it that failed, or
  //                                   whose certificate did not name it
  //   peer.<id>.queued_messages, queued_bytes   now (both connections)
  //   inbound.accepted, inbound.active, inbound.refused_limit,
  //     inbound.refused_address_limit, inbound.tls_handshake_failures,
  //     inbound.handshake_timeouts, inbound.bad_handshakes,
  //     inbound.decode_errors, inbound.truncated_frames (the stream ended
  //     inside a frame), inbound.spoofed_sender, inbound.replaced (an
  //     older connection of the same peer and channel closed)
  //   handshake_refused.<reason>      we refused a dialer's handshake
  //   dropped_not_started             send() before start() or after stop()
  //   tls.enabled (0 or 1), tls.reloads, tls.reload_failures
  // <reason> is wrong_cluster, unsupported_version, wrong_node,
  // wrong_identity or unknown.
  std::map<std::string, std::string> stats() const override;
  // Loads the TLS files again; later connections use them. Errors:
  // InvalidArgument (TLS off, bad file; the old context stays).
  Status reload_tls() override;

 private:
  std::shared_ptr<detail::TcpCore> core_;
};

}  // namespace raft::transport
