// raftkv's command line: what each flag means, how it is checked, and the
// small parsers (server ids, host:port addresses) the HTTP API reuses.
//
//   raftkv --id n1 --raft 127.0.0.1:7001 --http 127.0.0.1:8001 --dir /tmp/n1
//          --peers n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003
//
// `raftkv --help` prints usage_text(), which documents every flag.
// Thread safety: plain functions on values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raft/raft.hpp"

namespace raftkv {

// Everything the command line sets. Defaults are the documented ones.
struct Options {
  raft::ServerId id = 0;
  std::string raft_address;  // --raft: where peers reach this node
  std::string http_address;  // --http: where clients reach this node
  std::string dir;           // --dir: the node's log, snapshots and term
  // --peers: every voter of a new cluster, this node included; empty
  // when not given. Used only when --dir holds no state yet.
  std::vector<raft::ServerInfo> peers;
  // --join: the HTTP URL of a member to ask for admission; empty if none.
  std::string join_url;

  std::chrono::milliseconds heartbeat_ms{100};
  std::chrono::milliseconds election_ms{1000};
  uint64_t snapshot_threshold = 8192;  // entries applied since the last snapshot
  std::chrono::milliseconds snapshot_interval_ms{10000};
  uint64_t trailing_logs = 10240;  // entries kept behind a snapshot
  raft::LogLevel log_level = raft::LogLevel::kInfo;
  std::chrono::milliseconds request_timeout_ms{5000};

  // --tls-ca, --tls-cert, --tls-key (all three or none): PEM files. With
  // them the Raft transport uses mutual TLS and the HTTP API is HTTPS with
  // the same certificate and key (tls.hpp).
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_verify_peer_id = false;  // --tls-verify-peer-id
  bool tls() const { return !tls_cert_file.empty(); }
  // "https" with TLS, else "http": the scheme of every node's HTTP address.
  const char* scheme() const { return tls() ? "https" : "http"; }
};

// What parse_options found: options to run with, a request for --help, or
// a one-line error that names the offending flag.
struct ParsedOptions {
  enum class Kind { kRun, kHelp, kError } kind = Kind::kError;
  Options options;
  std::string error;
};

ParsedOptions parse_options(int argc, const char* const* argv);
std::string usage_text();

// "n3" or "3" -> 3. nullopt for anything else, including 0.
std::optional<raft::ServerId> parse_server_id(std::string_view s);
// 3 -> "n3": how raftkv prints every server id.
std::string server_name(raft::ServerId id);

// "host:port" or "[v6]:port" with a port in 1..65535.
struct HostPort {
  std::string host;  // without brackets; what bind() and connect() take
  int port = 0;
};
// nullopt and a reason in *why when `s` is not a usable address.
std::optional<HostPort> parse_host_port(std::string_view s, std::string* why);

}  // namespace raftkv
