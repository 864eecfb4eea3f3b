// A small key-value state machine and the client workload that drives it in
// the simulator. Every client operation is recorded with its invocation and
// completion times and its outcome (ok, certainly failed, or unknown), so
// the whole history can be checked for linearizability.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/sim_cluster.hpp"

namespace raft::sim {

struct KvCommand {
  enum class Op : uint8_t { kPut = 1, kDelete = 2, kCas = 3 };
  Op op = Op::kPut;
  uint64_t client = 0;
  uint64_t seq = 0;  // makes every command's bytes unique
  std::string key;
  std::string value;     // kPut, kCas: the new value
  std::string expected;  // kCas: the value it must replace
};

Buffer encode_kv(const KvCommand& c);
bool decode_kv(std::span<const uint8_t> bytes, KvCommand* out);

// The whole state is the map and the count of applied commands; there is
// no per-client session table (commands are not deduplicated: a retried
// command is a new command), so a snapshot needs nothing else.
class KvStateMachine : public StateMachine {
 public:
  // Results: "ok" for put and delete; "swapped" or "kept" for cas.
  std::string apply(const Entry& e) override;
  std::string snapshot() const override;
  bool restore(std::string_view bytes) override;
  uint64_t digest() const override;
  std::optional<std::string> get(const std::string& key) const;
  uint64_t applied_commands() const { return applied_commands_; }

 private:
  std::map<std::string, std::string> data_;
  uint64_t applied_commands_ = 0;
};

struct WorkloadOptions {
  int clients = 4;
  int keys = 3;
  Nanos think_max = std::chrono::milliseconds(30);
  Nanos op_timeout = std::chrono::seconds(2);
  double read_ratio = 0.4;
  double cas_ratio = 0.2;
  double delete_ratio = 0.05;
};

// One client operation as observed by its client.
struct ClientOp {
  enum class Kind : uint8_t { kRead, kPut, kDelete, kCas };
  enum class Outcome : uint8_t { kPending, kOk, kFailed, kUnknown };
  uint64_t client = 0;
  Kind kind = Kind::kRead;
  std::string key;
  std::string value;     // put/cas: new value
  std::string expected;  // cas
  Nanos invoked{0};
  Nanos returned{0};
  Outcome outcome = Outcome::kPending;
  std::optional<std::string> read_value;  // read: what it saw
  bool swapped = false;                   // cas: whether it swapped
};

class KvWorkload {
 public:
  KvWorkload(SimCluster& cluster, WorkloadOptions options);

  // Clients start issuing operations at `when`; stop() makes them finish
  // their current operation and issue no more.
  void start(Nanos when);
  void stop() { stopped_ = true; }
  // Marks every operation still pending as unknown (call at the end).
  void finish();

  const std::vector<ClientOp>& history() const { return ops_; }
  // The earliest completion of a successful write invoked at or after t.
  std::optional<Nanos> first_write_ok_invoked_after(Nanos t) const;
  uint64_t count(ClientOp::Outcome o) const;

 private:
  struct Client {
    uint64_t id = 0;
    uint64_t seq = 0;
    NodeId leader_hint;
    bool busy = false;
  };
  struct PendingWrite {
    size_t op;
    NodeId node;
    uint64_t incarnation;
    core::LogPosition pos;
  };
  struct PendingRead {
    size_t op;
    NodeId node;
    uint64_t incarnation;
    std::optional<Index> index;  // known once the read index is confirmed
  };

  void issue(Client& c);
  void complete(size_t op, ClientOp::Outcome outcome);
  void schedule_next(Client& c);
  void on_apply(NodeId node, const Entry& e, const std::string& result);
  void on_read(NodeId node, const core::ReadState& rs);
  void on_crash(NodeId node);
  void on_install(NodeId node, Index index);
  void serve_reads(NodeId node);
  NodeId pick_node(Client& c);

  SimCluster& cluster_;
  WorkloadOptions options_;
  std::vector<Client> clients_;
  std::vector<ClientOp> ops_;
  std::map<std::pair<uint64_t, uint64_t>, PendingWrite> writes_;  // (node, index)
  std::map<uint64_t, PendingRead> reads_;                         // by read id
  uint64_t next_read_id_ = 1;
  bool stopped_ = false;
};

}  // namespace raft::sim
