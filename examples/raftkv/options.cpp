#include "options.hpp"

#include <charconv>
#include <set>

namespace raftkv {
namespace {

// Parses all of `s` as a decimal number in [min, max].
std::optional<uint64_t> parse_number(std::string_view s, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < min || v > max) return std::nullopt;
  return v;
}

std::optional<raft::LogLevel> parse_level(std::string_view s) {
  if (s == "error") return raft::LogLevel::kError;
  if (s == "warn") return raft::LogLevel::kWarn;
  if (s == "info") return raft::LogLevel::kInfo;
  if (s == "debug") return raft::LogLevel::kDebug;
  return std::nullopt;
}

// "n1=127.0.0.1:7001,n2=127.0.0.1:7002": every one a voter.
bool parse_peers(std::string_view s, std::vector<raft::ServerInfo>* out, std::string* why) {
  std::set<raft::ServerId> ids;
  std::set<std::string> addresses;
  while (true) {
    size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      *why = "\"" + std::string(item) + "\" is not ID=HOST:PORT";
      return false;
    }
    auto id = parse_server_id(item.substr(0, eq));
    if (!id) {
      *why = "\"" + std::string(item.substr(0, eq)) + "\" is not a server id (nN or N, N > 0)";
      return false;
    }
    std::string address(item.substr(eq + 1));
    std::string bad_address;
    if (!parse_host_port(address, &bad_address)) {
      *why = server_name(*id) + ": " + bad_address;
      return false;
    }
    if (!ids.insert(*id).second) {
      *why = server_name(*id) + " is listed twice";
      return false;
    }
    if (!addresses.insert(address).second) {
      *why = "address " + address + " is listed twice";
      return false;
    }
    out->push_back({*id, address, true});
    if (comma == std::string_view::npos) return true;
    s.remove_prefix(comma + 1);
  }
}

}  // namespace

std::optional<raft::ServerId> parse_server_id(std::string_view s) {
  if (!s.empty() && s.front() == 'n') s.remove_prefix(1);
  auto v = parse_number(s, 1, UINT64_MAX);
  if (!v) return std::nullopt;
  return *v;
}

std::string server_name(raft::ServerId id) { return "n" + std::to_string(id); }

std::optional<HostPort> parse_host_port(std::string_view s, std::string* why) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) {
    *why = "\"" + std::string(s) + "\" has no port (want HOST:PORT)";
    return std::nullopt;
  }
  std::string_view host = s.substr(0, colon);
  std::string_view port = s.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:8001
  } else if (host.find(':') != std::string_view::npos) {
    *why = "\"" + std::string(s) + "\": write an IPv6 host in brackets, as [::1]:8001";
    return std::nullopt;
  }
  if (host.empty() || host.find_first_of(" ,=/[]") != std::string_view::npos) {
    *why = "\"" + std::string(s) + "\" has no valid host (want HOST:PORT)";
    return std::nullopt;
  }
  auto p = parse_number(port, 1, 65535);
  if (!p) {
    *why = "\"" + std::string(s) + "\": the port must be a number from 1 to 65535";
    return std::nullopt;
  }
  return HostPort{std::string(host), static_cast<int>(*p)};
}

ParsedOptions parse_options(int argc, const char* const* argv) {
  ParsedOptions r;
  Options& o = r.options;
  auto fail = [&](std::string message) {
    r.kind = ParsedOptions::Kind::kError;
    r.error = std::move(message);
    return r;
  };
  std::set<std::string> seen;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      r.kind = ParsedOptions::Kind::kHelp;
      return r;
    }
    if (arg.substr(0, 2) != "--") return fail("unexpected argument \"" + std::string(arg) + "\" (see --help)");
    // Both "--flag value" and "--flag=value"; a switch takes no value.
    std::string flag;
    std::string value;
    size_t eq = arg.find('=');
    const bool is_switch = arg.substr(0, eq) == "--tls-verify-peer-id";
    if (eq != std::string_view::npos) {
      flag = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
      if (is_switch) return fail(flag + " takes no value");
    } else {
      flag = std::string(arg);
      if (!is_switch) {
        if (i + 1 >= argc) return fail(flag + " needs a value (see --help)");
        value = argv[++i];
      }
    }
    if (!seen.insert(flag).second) return fail(flag + " is given twice");

    auto bad = [&](const std::string& what) { return fail(flag + " \"" + value + "\": " + what); };
    auto millis = [&](std::chrono::milliseconds* out) {
      auto v = parse_number(value, 1, 24ull * 3600 * 1000);
      if (v) *out = std::chrono::milliseconds(*v);
      return v.has_value();
    };
    std::string why;
    if (flag == "--id") {
      auto id = parse_server_id(value);
      if (!id) return bad("not a server id (nN or N, with N a positive integer)");
      o.id = *id;
    } else if (flag == "--raft" || flag == "--http") {
      if (!parse_host_port(value, &why)) return fail(flag + ": " + why);
      (flag == "--raft" ? o.raft_address : o.http_address) = value;
    } else if (flag == "--dir") {
      if (value.empty()) return fail("--dir must not be empty");
      o.dir = value;
    } else if (flag == "--peers") {
      // An empty list is the same as no --peers.
      if (!value.empty() && !parse_peers(value, &o.peers, &why)) return fail("--peers: " + why);
    } else if (flag == "--join") {
      o.join_url = value;
    } else if (flag == "--heartbeat-ms") {
      if (!millis(&o.heartbeat_ms)) return bad("want a positive number of milliseconds");
    } else if (flag == "--election-ms") {
      if (!millis(&o.election_ms)) return bad("want a positive number of milliseconds");
    } else if (flag == "--snapshot-interval-ms") {
      if (!millis(&o.snapshot_interval_ms)) return bad("want a positive number of milliseconds");
    } else if (flag == "--request-timeout-ms") {
      if (!millis(&o.request_timeout_ms)) return bad("want a positive number of milliseconds");
    } else if (flag == "--snapshot-threshold") {
      auto v = parse_number(value, 1, UINT64_MAX);
      if (!v) return bad("want a positive number of entries");
      o.snapshot_threshold = *v;
    } else if (flag == "--trailing-logs") {
      auto v = parse_number(value, 0, UINT64_MAX);
      if (!v) return bad("want a number of entries");
      o.trailing_logs = *v;
    } else if (flag == "--log-level") {
      auto level = parse_level(value);
      if (!level) return bad("want error, warn, info or debug");
      o.log_level = *level;
    } else if (flag == "--tls-ca" || flag == "--tls-cert" || flag == "--tls-key") {
      if (value.empty()) return fail(flag + " must not be empty");
      (flag == "--tls-ca" ? o.tls_ca_file : flag == "--tls-cert" ? o.tls_cert_file : o.tls_key_file) = value;
    } else if (flag == "--tls-verify-peer-id") {
      o.tls_verify_peer_id = true;
    } else {
      return fail("unknown flag " + flag + " (see --help)");
    }
  }

  for (const char* required : {"--id", "--raft", "--http", "--dir"})
    if (!seen.count(required)) return fail(std::string("missing ") + required + " (see --help)");
  if (o.heartbeat_ms >= o.election_ms)
    return fail("--heartbeat-ms (" + std::to_string(o.heartbeat_ms.count()) + ") must be below --election-ms (" +
                std::to_string(o.election_ms.count()) + ")");
  const int tls_files = static_cast<int>(seen.count("--tls-ca") + seen.count("--tls-cert") + seen.count("--tls-key"));
  if (tls_files != 0 && tls_files != 3) {
    std::string missing;
    for (const char* f : {"--tls-ca", "--tls-cert", "--tls-key"})
      if (!seen.count(f)) missing += std::string(missing.empty() ? "" : ", ") + f;
    return fail("--tls-ca, --tls-cert and --tls-key go together; missing " + missing);
  }
  if (o.tls_verify_peer_id && tls_files == 0)
    return fail("--tls-verify-peer-id needs --tls-ca, --tls-cert and --tls-key");
  if (!o.join_url.empty() && !o.peers.empty())
    return fail("--join and --peers exclude each other: --peers bootstraps a new cluster, --join enters one");
  if (!o.peers.empty()) {
    bool self_listed = false;
    for (const raft::ServerInfo& s : o.peers) {
      if (s.id != o.id) continue;
      self_listed = true;
      if (s.address != o.raft_address)
        return fail("--peers gives " + server_name(o.id) + " the address " + s.address + " but --raft is " +
                    o.raft_address);
    }
    if (!self_listed) return fail("--peers must list this node too (" + server_name(o.id) + "=" + o.raft_address + ")");
  }
  r.kind = ParsedOptions::Kind::kRun;
  return r;
}

std::string usage_text() {
  return R"(raftkv: a replicated key-value store over HTTP, built on libraft.

Usage:
  raftkv --id ID --raft HOST:PORT --http HOST:PORT --dir DIR
         [--peers ID=HOST:PORT,... | --join URL] [options]

Required:
  --id ID                  this server's id: nN or N, N a positive integer,
                           unique in the cluster for ever (printed as nN)
  --raft HOST:PORT         where the Raft peers reach this node (and where it
                           listens for them)
  --http HOST:PORT         where clients reach the HTTP API
  --dir DIR                the node's data (log, snapshots); created if absent

Cluster:
  --peers ID=HOST:PORT,... every voter of a new cluster, this node included
                           (Raft addresses). Used when DIR holds no state: the
                           node bootstraps the cluster with them (start every
                           initial node the same way). Ignored once DIR has
                           state: a restart needs nothing but --dir.
  --join URL               start empty and ask the member at URL (its HTTP
                           address, e.g. http://127.0.0.1:8001, or https://...
                           with TLS, checked against --tls-ca) to add this node;
                           follows redirects to the leader and retries for
                           about 30 s. Skipped when DIR shows this node is
                           already a member.
  (Neither given and DIR empty: the node waits until a member adds it with
  POST /members.)

Tuning:
  --heartbeat-ms N         leader heartbeat interval (default 100)
  --election-ms N          election timeout (default 1000)
  --snapshot-threshold N   snapshot after N applied entries (default 8192)
  --snapshot-interval-ms N how often to check whether to snapshot (default 10000)
  --trailing-logs N        log entries kept behind a snapshot (default 10240)
  --request-timeout-ms N   how long a request waits for its commit before
                           answering 504 (default 5000)
  --log-level LEVEL        error, warn, info or debug (default info); to stderr

Security (all three files or none; scripts/make-certs.sh makes a test set):
  --tls-ca FILE            PEM: the CA that signs every node's certificate
  --tls-cert FILE          PEM: this node's certificate (chain)
  --tls-key FILE           PEM: its private key
                           With them, Raft traffic uses mutual TLS (each node
                           presents its certificate and checks the peer's
                           against --tls-ca), and the HTTP API is served over
                           HTTPS with the same certificate and key; clients
                           need no certificate of their own. Every node of a
                           cluster must use them. SIGHUP reloads the three
                           files (certificate rotation without a restart).
  --tls-verify-peer-id     also require a peer's certificate to name
                           "node<N>" for the id nN it claims (subject CN or
                           a DNS name)

HTTP API (JSON answers; errors are {"error": "..."}):
  PUT    /kv/KEY             body = value; 200 {"index": N} once committed
  GET    /kv/KEY             linearizable read; 200 raw value, or 404
  GET    /kv/KEY?stale=true  this node's local copy (no leader needed)
  DELETE /kv/KEY             200 {"index": N, "existed": true|false}
  POST   /kv/KEY?cas=OLD     body = NEW; 200 {"index": N} if the value was OLD,
                             else 409 {"error": ..., "current": VALUE|null}
  GET    /status             this node's view: role, term, leader, members
  POST   /members            {"id": "n4", "raft": "H:P", "http": "H:P", "voter": true}
  DELETE /members/ID         remove a server
  GET    /metrics            Prometheus text format
On a node that is not the leader, writes and linearizable reads answer 503
with headers X-Raft-Leader (nN) and X-Raft-Leader-Http (host:port) when
known: retry there, with the scheme of the node that answered (https with
TLS: every node of a cluster uses the same). 504 means the outcome is
unknown (the write may or may not have happened). SIGINT or SIGTERM stop
the node cleanly; SIGHUP reloads the TLS files.
)";
}

}  // namespace raftkv
