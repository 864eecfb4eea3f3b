// Config::validate and the mapping of the public configuration onto the
// core's (docs/configuration.md documents every option).
#include <random>
#include <string>

#include "runtime/config_convert.hpp"

namespace raft {

const char* role_name(Role r) {
  switch (r) {
    case Role::kFollower: return "Follower";
    case Role::kCandidate: return "Candidate";
    case Role::kLeader: return "Leader";
    case Role::kShutdown: return "Shutdown";
  }
  return "Unknown";
}

namespace {

// "host:port" with a non-empty host and a port in 0..65535 (or 1..65535
// when a real port is required).
bool valid_address(const std::string& a, bool port_zero_ok) {
  auto colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) return false;
  std::string host = a.substr(0, colon);
  if (host.front() == '[' && host.back() != ']') return false;
  std::string port = a.substr(colon + 1);
  if (port.size() > 5) return false;
  for (char ch : port)
    if (ch < '0' || ch > '9') return false;
  unsigned long p = std::stoul(port);
  return p <= 65535 && (port_zero_ok || p > 0);
}

Status bad(const std::string& m) { return Status(ErrorCode::kInvalidArgument, "invalid config: " + m); }

}  // namespace

Status Config::validate() const {
  using std::chrono::milliseconds;
  if (id == 0) return bad("id must not be 0");
  if (cluster_id.empty() || cluster_id.size() > 64) return bad("cluster_id must be 1 to 64 bytes");
  if (transport == "tcp") {
    if (!valid_address(bind_address, true))
      return bad("bind_address \"" + bind_address + "\" is not host:port");
    if (!advertise_address.empty() && !valid_address(advertise_address, false))
      return bad("advertise_address \"" + advertise_address + "\" is not host:port with a non-zero port");
  } else if (transport == "memory") {
    if (!memory_network) return bad("transport \"memory\" needs memory_network");
  } else {
    return bad("unknown transport \"" + transport + "\" (use \"tcp\" or \"memory\")");
  }
  bool tls_any = !tls_ca_file.empty() || !tls_cert_file.empty() || !tls_key_file.empty();
  bool tls_all = !tls_ca_file.empty() && !tls_cert_file.empty() && !tls_key_file.empty();
  if (tls_any && !tls_all) {
    std::string missing;
    for (auto [name, value] : {std::pair<const char*, const std::string*>{"tls_ca_file", &tls_ca_file},
                               {"tls_cert_file", &tls_cert_file},
                               {"tls_key_file", &tls_key_file}}) {
      if (value->empty()) missing += std::string(missing.empty() ? "" : ", ") + name;
    }
    return bad("TLS needs all three of tls_ca_file, tls_cert_file and tls_key_file (or none); missing: " +
               missing);
  }
  if (tls_any && transport != "tcp") return bad("TLS needs transport \"tcp\"");
  if (tls_verify_peer_id && !tls_any) return bad("tls_verify_peer_id needs TLS (tls_ca_file, tls_cert_file, tls_key_file)");
  if (store == "wal") {
    if (data_dir.empty()) return bad("store \"wal\" needs data_dir");
  } else if (store != "memory") {
    return bad("unknown store \"" + store + "\" (use \"wal\" or \"memory\")");
  }
  if (heartbeat_interval <= milliseconds(0)) return bad("heartbeat_interval must be positive");
  if (election_timeout <= milliseconds(0)) return bad("election_timeout must be positive");
  if (heartbeat_interval >= election_timeout)
    return bad("heartbeat_interval (" + std::to_string(heartbeat_interval.count()) +
               " ms) must be below election_timeout (" + std::to_string(election_timeout.count()) + " ms)");
  if (commit_timeout <= milliseconds(0)) return bad("commit_timeout must be positive");
  if (leader_lease_timeout <= heartbeat_interval || leader_lease_timeout > election_timeout)
    return bad("leader_lease_timeout must be above heartbeat_interval and at most election_timeout");
  if (max_append_entries == 0) return bad("max_append_entries must be at least 1");
  if (max_append_bytes == 0) return bad("max_append_bytes must be at least 1");
  if (max_inflight_appends == 0) return bad("max_inflight_appends must be at least 1");
  if (max_inflight_bytes == 0) return bad("max_inflight_bytes must be at least 1");
  if (max_pending_bytes == 0 || max_pending_commands == 0)
    return bad("max_pending_bytes and max_pending_commands must be at least 1");
  if (snapshot_interval <= milliseconds(0)) return bad("snapshot_interval must be positive");
  if (retain_snapshots == 0) return bad("retain_snapshots must be at least 1");
  return Status();
}

namespace runtime {

core::Config core_config(const Config& c) {
  core::Config cc;
  cc.id = NodeId(c.id);
  cc.election_timeout = c.election_timeout;
  cc.heartbeat_interval = c.heartbeat_interval;
  cc.commit_timeout = std::min(c.commit_timeout, c.heartbeat_interval);
  cc.quorum_check_interval = c.leader_lease_timeout;
  cc.pre_vote = c.pre_vote;
  cc.check_quorum = c.check_quorum;
  cc.append_entries_max = c.max_append_entries;
  cc.append_bytes_max = c.max_append_bytes;
  cc.inflight_appends_max = c.max_inflight_appends;
  cc.inflight_bytes_max = c.max_inflight_bytes;
  cc.trailing_entries = c.trailing_logs;
  cc.seed = std::random_device()() ^ (static_cast<uint64_t>(std::random_device()()) << 32);
  return cc;
}

Configuration internal_configuration(const ClusterConfiguration& c) {
  Configuration out;
  for (const ServerInfo& s : c.servers)
    out.servers.push_back({NodeId(s.id), s.address, s.voter ? ServerRole::kVoter : ServerRole::kNonVoter});
  return out;
}

ClusterConfiguration public_configuration(const Configuration& c) {
  ClusterConfiguration out;
  for (const Server& s : c.servers) out.servers.push_back({s.id.value, s.address, s.role == ServerRole::kVoter});
  return out;
}

}  // namespace runtime
}  // namespace raft
