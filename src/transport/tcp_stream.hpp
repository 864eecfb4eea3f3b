// Stream: the byte stream under one TCP transport connection, plain TCP
// or TLS over it (docs/security.md), and every call that reads or writes
// it. The connection classes in tcp_transport.cpp touch a socket only
// through this class.
//
// Also: "host:port" parsing, shared by listening and dialing.
//
// Thread safety: none; a Stream lives on its transport's loop thread.
// Internal to src/transport.
#pragma once

#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "util/status.hpp"

namespace raft::transport::detail {

class Stream {
 public:
  // A dialing stream; TLS when `tls` is set.
  Stream(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls)
      : socket_(io), tls_ctx_(std::move(tls)) {
    if (tls_ctx_) tls_.emplace(std::move(socket_), *tls_ctx_);
  }
  // An accepted stream; TLS when `tls` is set.
  Stream(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> tls)
      : socket_(std::move(socket)), tls_ctx_(std::move(tls)) {
    if (tls_ctx_) tls_.emplace(std::move(socket_), *tls_ctx_);
  }

  bool tls() const { return tls_.has_value(); }

  // The TCP socket under the stream, for connect and socket options.
  asio::ip::tcp::socket& lowest_layer() { return tls_ ? tls_->next_layer() : socket_; }
  const asio::ip::tcp::socket& lowest_layer() const { return tls_ ? tls_->next_layer() : socket_; }

  // TLS only: the handshake, as the dialer (client) or the acceptor
  // (server). handler(ec).
  template <class Handler>
  void async_handshake(bool client, Handler&& handler) {
    tls_->async_handshake(client ? asio::ssl::stream_base::client : asio::ssl::stream_base::server,
                          std::forward<Handler>(handler));
  }

  // TLS only: the OpenSSL connection, to inspect the peer's certificate.
  SSL* ssl() { return tls_->native_handle(); }

  // Low latency for small frames (no Nagle), and keepalive so a peer that
  // vanished without a FIN is noticed eventually. Errors are ignored: a
  // socket that cannot take them still works.
  void set_options() {
    std::error_code ec;
    lowest_layer().set_option(asio::ip::tcp::no_delay(true), ec);
    lowest_layer().set_option(asio::socket_base::keep_alive(true), ec);
  }

  // Reads what is available, up to into.size() bytes. handler(ec, n).
  template <class Handler>
  void async_read_some(std::span<uint8_t> into, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(asio::buffer(into.data(), into.size()), std::forward<Handler>(handler));
    } else {
      socket_.async_read_some(asio::buffer(into.data(), into.size()), std::forward<Handler>(handler));
    }
  }

  // Writes all of a buffer sequence (plain TCP: gathered, writev). The
  // buffers must stay valid until handler(ec, n) runs. One write at a time.
  template <class ConstBufferSequence, class Handler>
  void async_write(const ConstBufferSequence& buffers, Handler&& handler) {
    if (!tls_) {
      asio::async_write(socket_, buffers, std::forward<Handler>(handler));
      return;
    }
    // Asio's SSL stream writes one buffer of a sequence per record, so
    // many small buffers would make many records and system calls. The
    // bytes are encrypted (copied) anyway: gather them first. (The
    // transport's batches already come as one buffer over TLS; this keeps
    // any other sequence correct.)
    auto first = asio::buffer_sequence_begin(buffers);
    if (std::next(first) == asio::buffer_sequence_end(buffers)) {
      asio::async_write(*tls_, asio::const_buffer(*first), std::forward<Handler>(handler));
      return;
    }
    staging_.resize(asio::buffer_size(buffers));
    asio::buffer_copy(asio::buffer(staging_), buffers);
    asio::async_write(*tls_, asio::buffer(staging_), std::forward<Handler>(handler));
  }

  // Half-closes the sending side (FIN) so the peer reads what was written,
  // then sees the end. (TLS: without a close_notify; the peer sees the
  // stream end after the last record.)
  void shutdown_send() {
    std::error_code ec;
    lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  }

  // Cancels pending operations (their handlers see operation_aborted) and
  // closes the socket. Idempotent.
  void close() {
    std::error_code ec;
    lowest_layer().close(ec);
  }

  // "127.0.0.1:41234" for log lines, or "?" when unknown.
  std::string remote() const {
    std::error_code ec;
    auto ep = lowest_layer().remote_endpoint(ec);
    if (ec) return "?";
    return endpoint_string(ep);
  }

  static std::string endpoint_string(const asio::ip::tcp::endpoint& ep) {
    std::string host = ep.address().to_string();
    if (ep.address().is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(ep.port());
  }

 private:
  asio::ip::tcp::socket socket_;  // plain TCP; moved into tls_ when TLS
  std::shared_ptr<asio::ssl::context> tls_ctx_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
  std::vector<uint8_t> staging_;  // TLS: a gathered write's bytes
};

// Splits "host:port" or "[v6 host]:port". Errors: InvalidArgument.
inline Status parse_host_port(const std::string& address, std::string* host, uint16_t* port) {
  auto bad = [&](const char* why) {
    return invalid_argument("address \"" + address + "\": " + why + " (want host:port)");
  };
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  std::string h = address.substr(0, colon);
  std::string p = address.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) return bad("no host");
  if (p.empty() || p.size() > 5) return bad("bad port");
  uint32_t v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return bad("bad port");
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return bad("port above 65535");
  *host = std::move(h);
  *port = static_cast<uint16_t>(v);
  return Status();
}

}  // namespace raft::transport::detail
