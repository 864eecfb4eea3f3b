// raftkv's HTTP API (the contract is in README.md and `raftkv --help`).
//
// Writes (PUT, DELETE, POST ?cas=) become Commands given to Node::apply on
// the leader; a handler answers once the command is committed and applied,
// with its log index. Linearizable reads ask Node::read_index, then read
// the local state. Nothing is forwarded: a node that is not the leader
// answers 503 and names the leader, and the client retries there.
//
// Status codes a client must tell apart:
//   503  this node did not take the request (not the leader, or shut
//        down): certainly not applied; retry, on the leader if named.
//   504  the outcome is unknown: the command may or may not commit (the
//        leader changed or the request timed out after submission). Read
//        the key back before retrying anything that is not idempotent.
//
// Threads: httplib serves each request on one of a fixed pool of threads,
// which blocks on the Future of its command until commit or its deadline
// (--request-timeout-ms).
//
// HTTPS: with a CertificateStore in the settings the server speaks only
// TLS (a plain HTTP request is refused at the handshake), presenting the
// store's current certificate to each new connection (tls.hpp); it does
// not ask clients for certificates.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "kv_fsm.hpp"
#include "options.hpp"
#include "raft/raft.hpp"
#include "tls.hpp"

namespace raftkv {

struct ServerSettings {
  raft::ServerId id = 0;
  std::string http_address;  // this node's, as given by --http
  std::chrono::milliseconds request_timeout{5000};
  // Null: plain HTTP. Else HTTPS with this store's certificate (shared:
  // main.cpp reloads it on SIGHUP).
  std::shared_ptr<CertificateStore> tls;
};

class HttpServer {
 public:
  // `node` and `fsm` are borrowed and must outlive the server.
  HttpServer(raft::Node& node, KvFsm& fsm, ServerSettings settings);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Opens the listening socket; IoError naming the address if it cannot
  // (or InvalidArgument when the TLS context could not be set up).
  raft::Status bind(const HostPort& where);
  // Serves on a thread of its own until stop().
  void start();
  // Stops accepting, lets the requests being served finish (each within
  // its request timeout), and joins the threads. Idempotent.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace raftkv
