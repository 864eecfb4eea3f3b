// RaftConfig -> NodePlan (plan.hpp).
#include "compat/plan.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <utility>

#include "compat/address.hpp"
#include "compat/defaults.hpp"

namespace raft::compat {
namespace {

// A fixed-size field as a string, even when the caller filled all of it.
template <size_t N>
std::string field(const char (&f)[N]) {
  return std::string(f, strnlen(f, N));
}

uint64_t or_default(uint64_t v, uint64_t d) { return v != 0 ? v : d; }

// Nanoseconds to milliseconds, rounding up so that no duration becomes 0.
uint64_t ms_from_ns(uint64_t ns) { return std::max<uint64_t>(1, ns / kNsPerMs + (ns % kNsPerMs != 0 ? 1 : 0)); }

bool fail(PlanError* error, RaftError code, std::string message) {
  error->code = code;
  error->message = std::move(message);
  return false;
}

RaftError code_of(NormalizeResult r) { return r == NormalizeResult::kUnresolved ? RAFT_E_RESOLVE : RAFT_E_INVALID_ADDRESS; }

}  // namespace

bool make_plan(const RaftConfig& cfg, const ConfigExtension& extension, NodePlan* plan, PlanError* error) {
  *plan = NodePlan();

  // Storage. Without a directory nothing can persist, whatever the backend
  // (the 2015 library likewise kept nothing across runs without --dir).
  std::string backend = field(cfg.backend_type);
  if (backend.empty()) backend = kDefaultBackend;
  if (!backend_known(backend.c_str()))
    return fail(error, RAFT_E_INVALID_OP, "unknown backend_type \"" + backend + "\" (" + kBackendChoices + ")");
  plan->data_dir = field(cfg.base_dir);
  plan->durable = backend_durable(backend.c_str()) && !plan->data_dir.empty();

  // Peers, normalized; this node itself and repeats are dropped.
  if (cfg.listen_port == 0) return fail(error, RAFT_E_INVALID_ADDRESS, "listen_port must not be 0");
  PeerList listed;
  std::string why;
  if (!parse_peer_list(field(cfg.peers), &listed, &why)) return fail(error, RAFT_E_INVALID_ADDRESS, "peers: " + why);
  std::vector<Endpoint> peers;
  for (const PeerAddress& p : listed) {
    Endpoint e;
    NormalizeResult r = normalize(p.host, p.port, &e, &why);
    if (r != NormalizeResult::kOk) return fail(error, code_of(r), "peers: " + why);
    bool seen = std::any_of(peers.begin(), peers.end(), [&](const Endpoint& q) { return q.str() == e.str(); });
    if (!seen) peers.push_back(e);
  }

  // This node's own address: 127.0.0.1 when every peer is on this host
  // (or there are none); otherwise the address this host uses to reach
  // them, listening on every interface.
  size_t remote = static_cast<size_t>(std::count_if(peers.begin(), peers.end(), [](const Endpoint& e) { return !e.loopback; }));
  Endpoint self;
  if (remote == 0) {
    normalize("127.0.0.1", cfg.listen_port, &self, &why);
    plan->bind_address = self.str();
  } else {
    if (remote != peers.size())
      return fail(error, RAFT_E_INVALID_ADDRESS,
                  "peers mix this host (127.0.0.1, localhost) with other hosts; name every node by an address "
                  "all of them can reach");
    const Endpoint& first = *std::find_if(peers.begin(), peers.end(), [](const Endpoint& e) { return !e.loopback; });
    if (!local_address_towards(first, &self, &why)) return fail(error, RAFT_E_INVALID_ADDRESS, why);
    self.port = cfg.listen_port;
    plan->bind_address = (self.ipv6 ? "[::]:" : "0.0.0.0:") + std::to_string(cfg.listen_port);
  }
  plan->self = {server_id(self), self.str()};
  plan->servers.push_back(plan->self);
  for (const Endpoint& e : peers)
    if (e.str() != self.str()) plan->servers.push_back({server_id(e), e.str()});

  // Timing. Hashicorp's HeartbeatTimeout is what this project calls the
  // election timeout (how long a follower waits for a leader); its leaders
  // send heartbeats ten times per HeartbeatTimeout; ElectionTimeout (a
  // candidate's wait) is at least as long in any valid 2015 config.
  uint64_t heartbeat_timeout_ms = ms_from_ns(or_default(cfg.HeartbeatTimeout, kDefaultHeartbeatTimeoutNs));
  uint64_t election_timeout_ms = ms_from_ns(or_default(cfg.ElectionTimeout, kDefaultElectionTimeoutNs));
  plan->election_timeout_ms = std::max(heartbeat_timeout_ms, election_timeout_ms);
  plan->heartbeat_interval_ms = std::max<uint64_t>(1, heartbeat_timeout_ms / 10);
  plan->commit_timeout_ms = ms_from_ns(or_default(cfg.CommitTimeout, kDefaultCommitTimeoutNs));
  uint64_t lease_ms = ms_from_ns(or_default(cfg.LeaderLeaseTimeout, kDefaultLeaderLeaseTimeoutNs));
  // The lease must exceed the heartbeat interval and fit in the election
  // timeout (raft::Config::validate); clamp rather than refuse a 2015
  // config that Hashicorp accepted.
  lease_ms = std::min(std::max(lease_ms, plan->heartbeat_interval_ms + 1), plan->election_timeout_ms);
  plan->leader_lease_timeout_ms = lease_ms;

  plan->max_append_entries = or_default(cfg.MaxAppendEntries, kDefaultMaxAppendEntries);
  plan->trailing_logs = or_default(cfg.TrailingLogs, kDefaultTrailingLogs);
  plan->snapshot_interval_ms = ms_from_ns(or_default(cfg.SnapshotInterval, kDefaultSnapshotIntervalNs));
  plan->snapshot_threshold = or_default(cfg.SnapshotThreshold, kDefaultSnapshotThreshold);
  plan->retain_snapshots = or_default(cfg.RetainSnapshots, kDefaultRetainSnapshots);
  plan->shutdown_on_remove = cfg.ShutdownOnRemove;

  plan->verbose = cfg.verbose;
  plan->log_file = field(cfg.LogOutput);

  // TLS: checked here too (raft::Config::validate would refuse the same),
  // so that the message names the flags a 2015 program's user typed.
  const ConfigExtension& x = extension;
  const std::pair<const std::string*, const char*> files[] = {
      {&x.tls_ca_file, "--tls-ca"}, {&x.tls_cert_file, "--tls-cert"}, {&x.tls_key_file, "--tls-key"}};
  size_t given = 0;
  std::string missing;
  for (const auto& [file, flag] : files) {
    if (!file->empty()) {
      ++given;
    } else {
      missing += (missing.empty() ? "" : ", ") + std::string(flag);
    }
  }
  if (given > 0 && given < std::size(files))
    return fail(error, RAFT_E_INVALID_OP, "--tls-ca, --tls-cert and --tls-key go together; missing " + missing);
  if (x.tls_verify_peer_id && given == 0)
    return fail(error, RAFT_E_INVALID_OP, "--tls-verify-peer-id needs TLS (--tls-ca, --tls-cert and --tls-key)");
  plan->tls_ca_file = x.tls_ca_file;
  plan->tls_cert_file = x.tls_cert_file;
  plan->tls_key_file = x.tls_key_file;
  plan->tls_verify_peer_id = x.tls_verify_peer_id;
  return true;
}

}  // namespace raft::compat
