// The safety properties of Raft (thesis Figure 3.2), checked by the
// simulator after every event, plus the storage contract of ready.hpp.
//
//   Election Safety       at most one leader per term
//   Leader Append-Only    a leader never overwrites or deletes its entries
//   Log Matching          same index and term => same entry and same prefix
//   Leader Completeness   an entry committed in term T is in the log of
//                         every leader of a term after T
//   State Machine Safety  every node applies the same entry at an index
//   Monotonicity          a node's term never decreases (across restarts),
//                         its commit index never decreases (within one life)
//   Durability contract   a vote or term is durable before a message
//                         carrying it leaves; a follower acknowledges only
//                         entries that are durable
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/raft.hpp"

namespace raft::sim {

class Invariants {
 public:
  void set_clock(const core::Nanos* now) { now_ = now; }

  void node_started(NodeId id, const core::Raft& r);
  // After every input a node processed.
  void after_step(NodeId id, const core::Raft& r);
  void ready(NodeId id, const core::Raft& r, const core::Ready& rd);
  void applied(NodeId id, const Entry& e);
  // Entries that reached a node's disk; `prev_term` is the term of the
  // entry before the first one (UINT64_MAX when unknown).
  void durable(NodeId id, const std::vector<Entry>& entries, uint64_t prev_term);
  void sent(const core::Message& m, const HardState& durable_hs,
            const std::vector<Entry>& durable_log, const core::Raft& sender);
  // Pairwise Log Matching over whole logs (costly: call now and then).
  void full_check(const std::vector<const core::Raft*>& live);

  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }
  uint64_t checks() const { return checks_; }
  uint64_t committed_entries() const { return committed_.size(); }

 private:
  struct Seen {
    Term term;
    Term sent_term;  // the highest term of a message this node sent (durable by then)
    Index commit;
    core::Role role = core::Role::kFollower;
    // While leader: its last entry at the previous step.
    Index leader_last;
    Term leader_last_term;
  };
  struct EntryId {
    Term term;
    uint64_t hash;
    friend bool operator==(const EntryId&, const EntryId&) = default;
  };
  struct Committed {
    Term term;
    uint64_t hash;
    Term commit_term;  // the term in which some node learned it committed
  };

  void fail(const std::string& what);
  // Log Matching registry: an entry is registered once it is durable
  // somewhere or sent to a peer. (A single-node leader's entries that were
  // never durable leave no trace when it crashes, and the term can be
  // reused after restart, as its vote for itself was not durable either.)
  void match_entry(NodeId id, const Entry& e, uint64_t prev_term, bool register_it);
  static uint64_t hash_of(const Entry& e);

  const core::Nanos* now_ = nullptr;
  std::string failure_;
  uint64_t checks_ = 0;
  std::unordered_map<NodeId, Seen> seen_;
  std::map<uint64_t, NodeId> leader_of_term_;
  // Log Matching: (index, term) -> (term of the previous entry, payload hash).
  std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> entries_;
  std::map<uint64_t, Committed> committed_;  // by index
  std::map<uint64_t, EntryId> applied_;      // by index
};

}  // namespace raft::sim
