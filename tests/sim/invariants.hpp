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
//
// Snapshots and membership (thesis chapters 4 and 5) add:
//
//   Vote quorum           a new leader holds votes granted in its term by a
//                         majority of its configuration (of both halves of a
//                         joint one), itself included if it is a voter (3.4, 4.3)
//   Commit quorum         when a leader's commit index moves, the entry is
//                         on the disk (log or snapshot) of a majority of the
//                         configuration it decided with -- of both halves
//                         of a joint one (3.6, 4.3)
//   One change at a time  a leader appends a configuration entry only when
//                         every earlier one in its log is committed (4.1;
//                         C_old,new -> C_new counts as the protocol allows)
//   Overlapping majorities a configuration a leader appends differs from
//                         the previous one by at most one voter, unless it
//                         enters joint consensus from it (C_old,new with
//                         old = the previous voters) or leaves it (C_new =
//                         the joint's new voters): no two configurations in
//                         effect at once can have disjoint majorities (4.2, 4.3)
//   Snapshot state        a state machine restored from a snapshot (install
//                         or restart) equals the committed log applied up to
//                         the snapshot's index, and so does every state after
//                         an apply (5.1): compared by digest against a
//                         reference fed by the committed log in index order
//   Compaction            a log is compacted only up to a durable snapshot,
//                         never past the commit index (5.1)
//
// Every check copes with compacted logs: it looks only at the entries a log
// still holds.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/raft.hpp"
#include "sim/disk_log.hpp"

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
  // `durable_log` and `durable_snapshot` (the index of the newest durable
  // snapshot) are what the sender's disk holds.
  void sent(const core::Message& m, const HardState& durable_hs, const DiskLog& durable_log,
            Index durable_snapshot, const core::Raft& sender);
  // Pairwise Log Matching over whole logs (costly: call now and then).
  void full_check(const std::vector<const core::Raft*>& live);

  // A leader's commit index moved to `index` (term `term`) while it used
  // `config`; `holds(id)` says whether that node's disk holds the entry.
  void leader_committed(NodeId leader, Index index, Term term, const Configuration& config,
                        const std::function<bool(NodeId)>& holds);

  // State digests. The reference is the committed log applied in order,
  // one index after the other; `reference_skip` marks an index that holds no
  // entry and leaves the state as it was (a user's restore point).
  void reference_state(Index i, uint64_t digest);
  void reference_skip(Index i);
  Index reference_index() const { return Index(reference_.empty() ? 0 : reference_.size() - 1); }
  // A node's state machine after applying entry i, or after restoring a
  // snapshot that ends at i (`how`: "installed", "restart").
  void state_applied(NodeId id, Index i, uint64_t digest);
  void state_restored(NodeId id, Index i, uint64_t digest, const char* how);
  // A node's log was compacted up to `to`; its newest durable snapshot
  // ends at `snapshot`.
  void compacted(NodeId id, const core::Raft& r, Index to, Index snapshot);

  // A leader replaced its log with a user's snapshot (Raft::restore_snapshot):
  // its log may shrink there, and only there.
  void log_replaced(NodeId id, const core::Raft& r);

  // A violation the simulator found itself (the Ready contract).
  void report(const std::string& what) { fail(what); }

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
  // The configuration change rules for a leader's new configuration entry.
  void check_configuration_append(NodeId id, const core::Raft& r, const Entry& e);

  const core::Nanos* now_ = nullptr;
  std::string failure_;
  uint64_t checks_ = 0;
  std::unordered_map<NodeId, Seen> seen_;
  std::map<uint64_t, NodeId> leader_of_term_;
  // Log Matching: (index, term) -> (term of the previous entry, payload hash).
  std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> entries_;
  std::map<uint64_t, Committed> committed_;  // by index
  std::map<uint64_t, EntryId> applied_;      // by index
  // Votes granted (and sent): (term, candidate) -> voters.
  std::map<std::pair<uint64_t, uint64_t>, std::vector<NodeId>> votes_;
  // reference_[i]: digest of the state after committed entries 1..i.
  std::vector<uint64_t> reference_;
};

}  // namespace raft::sim
