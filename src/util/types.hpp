// The vocabulary every layer shares: terms, indexes, node ids, log entries,
// hard state and cluster configurations.
//
// Term, Index and NodeId are distinct types so that passing a term where
// an index is expected does not compile. They are plain values: copy them
// freely between threads.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "util/buffer.hpp"

namespace raft {

// A 64-bit unsigned number that only compares and does arithmetic with
// its own kind (and with plain counts, for index + n).
template <class Tag>
struct Strong {
  uint64_t value = 0;

  constexpr Strong() = default;
  constexpr explicit Strong(uint64_t v) : value(v) {}

  friend constexpr auto operator<=>(Strong, Strong) = default;
  friend constexpr Strong operator+(Strong a, uint64_t n) { return Strong(a.value + n); }
  friend constexpr Strong operator-(Strong a, uint64_t n) { return Strong(a.value - n); }
  constexpr Strong& operator++() { ++value; return *this; }
  constexpr Strong& operator--() { --value; return *this; }
  friend std::ostream& operator<<(std::ostream& os, Strong s) { return os << s.value; }
};

struct TermTag {};
struct IndexTag {};
struct NodeIdTag {};

// A Raft term. 0 means "before any election".
using Term = Strong<TermTag>;
// A log position. Indexes start at 1; 0 means "before the first entry".
using Index = Strong<IndexTag>;
// A server's identity, unique in its cluster for ever. 0 means "none".
using NodeId = Strong<NodeIdTag>;

inline constexpr NodeId kNoNode{0};

// Number of entries in [from, to], 0 when to < from.
constexpr uint64_t count_between(Index from, Index to) {
  return to < from ? 0 : to.value - from.value + 1;
}

enum class EntryType : uint8_t {
  kCommand = 1,        // user bytes for the FSM
  kNoop = 2,           // appended by each new leader (thesis 3.6.2)
  kConfiguration = 3,  // data is an encoded Configuration (thesis 4.1)
  kBarrier = 4,        // applies nothing; a barrier's future resolves when it is applied
};
const char* entry_type_name(EntryType t);
bool entry_type_valid(uint8_t raw);

struct Entry {
  Index index;
  Term term;
  EntryType type = EntryType::kCommand;
  Buffer data;
};

// The part of a node's state that must be durable before it speaks
// (thesis Figure 3.1, "Persistent state on all servers").
struct HardState {
  Term term;
  NodeId vote;  // kNoNode when it has not voted in `term`
  friend bool operator==(const HardState&, const HardState&) = default;
};

enum class ServerRole : uint8_t {
  kVoter = 1,     // votes and counts toward commit quorums
  kNonVoter = 2,  // receives the log, neither votes nor counts (a learner)
};

struct Server {
  NodeId id;
  std::string address;  // "host:port" for the transport; opaque to the core
  ServerRole role = ServerRole::kVoter;
  friend bool operator==(const Server&, const Server&) = default;
};

// A cluster configuration (thesis chapter 4). Outside joint consensus
// `old_voters` is empty and the voters are the kVoter servers. During a
// joint change (thesis 4.3) decisions need a majority of `old_voters` and a
// majority of the new voters.
struct Configuration {
  std::vector<Server> servers;
  std::vector<NodeId> old_voters;

  bool joint() const { return !old_voters.empty(); }
  const Server* find(NodeId id) const;
  bool is_voter(NodeId id) const;  // in either half of a joint configuration
  bool is_member(NodeId id) const { return find(id) != nullptr || is_voter(id); }
  std::vector<NodeId> voters() const;  // the new (or only) voter set, sorted
  // Checks ids are non-zero and unique and there is at least one voter.
  bool valid(std::string* why) const;
  std::string to_string() const;  // "{1@a:1 2@b:2(nonvoter)}" for logs

  friend bool operator==(const Configuration&, const Configuration&) = default;
};

// Binary form used in log entries and snapshot metadata
// (docs/disk-format.md, "Configuration").
Buffer encode_configuration(const Configuration& c);
// Returns false (and leaves `out` unspecified) for malformed bytes.
bool decode_configuration(std::span<const uint8_t> bytes, Configuration* out);

}  // namespace raft

template <class Tag>
struct std::hash<raft::Strong<Tag>> {
  size_t operator()(raft::Strong<Tag> s) const noexcept {
    return std::hash<uint64_t>()(s.value);
  }
};
