// The replicated state machine of raftkv: a key-value map, plus a small
// address book of the members' HTTP addresses, and the encoding of the
// commands that change them.
//
// Every node holds the same KvFsm. A client's PUT becomes a Command,
// encoded into bytes, given to Node::apply on the leader; libraft
// replicates and commits it, then calls KvFsm::apply with the same bytes on
// every node, in the same order. So apply must be deterministic: it looks
// at nothing but the command and the current state.
//
// Threads. libraft calls apply, snapshot and restore on its apply thread,
// one at a time. The HTTP threads read (get, http_address) at the same
// time, so the state is guarded by a reader-writer lock: apply and restore
// hold it exclusively for a moment, readers share it.
//
// Formats (little-endian; "str" is a u32 length then that many bytes):
//
//   command  = u8 version (1), u8 op, then by op:
//              1 put            str key, str value
//              2 delete         str key
//              3 cas            str key, str expected, str value
//              4 register_http  u64 server id, str http address ("" forgets)
//
//   snapshot = "RKVS" u32 version (1)
//              u64 n, then n times: str key, str value       (sorted by key)
//              u64 m, then m times: u64 server id, str http address
//              "RKVE"                                         (then nothing)
//
// A snapshot is checked as it is read: a length beyond the limits below,
// a missing end marker or trailing bytes are reported as kCorruption and
// the state is left as it was.
#pragma once

#include <any>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>

#include "raft/raft.hpp"

namespace raftkv {

// The limits of the HTTP API, checked again when a snapshot is read.
inline constexpr size_t kKeyBytesMax = 1024;
inline constexpr size_t kValueBytesMax = 1 << 20;
inline constexpr size_t kHttpAddressBytesMax = 1024;

// One change to the state. Built by the HTTP handlers, encoded into a log
// entry, decoded by apply on every node.
struct Command {
  enum class Op : uint8_t { kPut = 1, kDelete = 2, kCas = 3, kRegisterHttp = 4 };
  Op op = Op::kPut;
  std::string key;
  std::string value;          // put, cas: the new value; register_http: the address
  std::string expected;       // cas: the value the key must hold
  raft::ServerId server = 0;  // register_http

  static Command put(std::string key, std::string value);
  static Command erase(std::string key);
  static Command cas(std::string key, std::string expected, std::string value);
  // Records (or, with an empty address, forgets) a member's HTTP address.
  static Command register_http(raft::ServerId server, std::string http_address);

  raft::Buffer encode() const;
  // nullopt when the bytes are not a command this version knows.
  static std::optional<Command> decode(std::span<const uint8_t> bytes);
};

// What apply did, handed back (in the std::any) to the future of the
// Node::apply call that submitted the command, on the node that did.
struct CommandResult {
  uint64_t index = 0;                  // the command's log index
  bool done = true;                    // false: a cas that did not match (nothing changed)
  bool existed = false;                // the key held a value before (delete, cas)
  std::optional<std::string> current;  // a cas that did not match: the value (nullopt: absent)
  std::string error;                   // non-empty: undecodable command, state unchanged
};

class KvFsm : public raft::Fsm {
 public:
  // raft::Fsm, called by libraft on its apply thread.
  std::any apply(const raft::LogEntry& entry) override;
  raft::Result<std::unique_ptr<raft::FsmSnapshot>> snapshot() override;
  raft::Status restore(raft::SnapshotReader& reader) override;

  // Readers, any thread. What this node has applied so far: after a
  // successful Node::read_index, that includes every committed write.
  std::optional<std::string> get(const std::string& key) const;
  std::optional<std::string> http_address(raft::ServerId server) const;
  size_t key_count() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::string> kv_;       // guarded by mu_
  std::map<raft::ServerId, std::string> http_;  // guarded by mu_
};

}  // namespace raftkv
