// Stream: the byte stream under one TCP transport connection, and every
// call that reads or writes it. The connection classes in tcp_transport.cpp
// touch a socket only through this class, so that TLS (a later issue) is a
// change here: hold an asio::ssl::stream<asio::ip::tcp::socket>, add an
// async handshake step after connect/accept, forward the same calls.
//
// Also: "host:port" parsing, shared by listening and dialing.
//
// Thread safety: none; a Stream lives on its transport's loop thread.
// Internal to src/transport.
#pragma once

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include "util/status.hpp"

namespace raft::transport::detail {

class Stream {
 public:
  explicit Stream(asio::io_context& io) : socket_(io) {}
  explicit Stream(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

  // The TCP socket under the stream, for connect and socket options.
  asio::ip::tcp::socket& lowest_layer() { return socket_; }

  // Low latency for small frames (no Nagle), and keepalive so a peer that
  // vanished without a FIN is noticed eventually. Errors are ignored: a
  // socket that cannot take them still works.
  void set_options() {
    std::error_code ec;
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    socket_.set_option(asio::socket_base::keep_alive(true), ec);
  }

  // Reads what is available, up to into.size() bytes. handler(ec, n).
  template <class Handler>
  void async_read_some(std::span<uint8_t> into, Handler&& handler) {
    socket_.async_read_some(asio::buffer(into.data(), into.size()),
                            std::forward<Handler>(handler));
  }

  // Writes all of a buffer sequence (gathered: writev). The buffers must
  // stay valid until handler(ec, n) runs.
  template <class ConstBufferSequence, class Handler>
  void async_write(const ConstBufferSequence& buffers, Handler&& handler) {
    asio::async_write(socket_, buffers, std::forward<Handler>(handler));
  }

  // Half-closes the sending side (FIN) so the peer reads what was written,
  // then sees the end.
  void shutdown_send() {
    std::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  }

  // Cancels pending operations (their handlers see operation_aborted) and
  // closes the socket. Idempotent.
  void close() {
    std::error_code ec;
    socket_.close(ec);
  }

  // "127.0.0.1:41234" for log lines, or "?" when unknown.
  std::string remote() const {
    std::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    if (ec) return "?";
    return endpoint_string(ep);
  }

  static std::string endpoint_string(const asio::ip::tcp::endpoint& ep) {
    std::string host = ep.address().to_string();
    if (ep.address().is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(ep.port());
  }

 private:
  asio::ip::tcp::socket socket_;
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
