// What raft_init makes of a 2015 RaftConfig: the node to start, in the
// terms of the new C API (ids, addresses, store, milliseconds).
//
// Thread safety: pure function (it may query the resolver).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compat/extension.hpp"
#include "raft/raft_defs.h"

namespace raft::compat {

struct PlannedServer {
  uint64_t id = 0;
  std::string address;  // normalized "127.0.0.1:9001"
};

struct NodePlan {
  PlannedServer self;
  std::string bind_address;            // "127.0.0.1:9001", or "0.0.0.0:9001" for remote peers
  std::vector<PlannedServer> servers;  // bootstrap configuration: self first, then the peers
  bool durable = false;                // WAL store in data_dir; else memory
  std::string data_dir;

  uint64_t heartbeat_interval_ms = 0;
  uint64_t election_timeout_ms = 0;
  uint64_t commit_timeout_ms = 0;
  uint64_t leader_lease_timeout_ms = 0;
  uint64_t max_append_entries = 0;
  uint64_t trailing_logs = 0;
  uint64_t snapshot_interval_ms = 0;
  uint64_t snapshot_threshold = 0;
  uint64_t retain_snapshots = 0;
  bool shutdown_on_remove = true;

  bool verbose = false;
  std::string log_file;  // empty: stderr

  // Mutual TLS (all three files or none), from the ConfigExtension.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_verify_peer_id = false;
};

// Error values of make_plan, as RaftError.
struct PlanError {
  RaftError code = RAFT_SUCCESS;
  std::string message;
};

// Translates cfg and the options that live beside it (docs/migrating-from-2015.md
// has the rules). Returns false with *error set when they make no sense:
// unknown backend, bad peers, a name that does not resolve, peers on this
// host mixed with peers elsewhere, some but not all of the TLS files,
// --tls-verify-peer-id without them (RAFT_E_INVALID_OP, naming the flags).
bool make_plan(const RaftConfig& cfg, const ConfigExtension& extension, NodePlan* plan, PlanError* error);
// The same without any post-2015 option.
inline bool make_plan(const RaftConfig& cfg, NodePlan* plan, PlanError* error) {
  return make_plan(cfg, ConfigExtension(), plan, error);
}

}  // namespace raft::compat
