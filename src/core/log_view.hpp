// LogView: the core's in-memory picture of its log.
//
// It holds the entries after the latest snapshot (thesis 5.1: the snapshot
// replaces the prefix; only its last index and term remain). Entry payloads
// are shared Buffers, so holding the log costs a few words per entry beyond
// the command bytes the runtime keeps anyway.
//
// Invariant: entries_ holds exactly the indexes
// [snapshot_index_ + 1, snapshot_index_ + entries_.size()], terms never
// decrease along it, and no term is below snapshot_term_.
#pragma once

#include <deque>
#include <optional>
#include <vector>

#include "util/types.hpp"

namespace raft::core {

class LogView {
 public:
  LogView() = default;
  LogView(Index snapshot_index, Term snapshot_term)
      : snapshot_index_(snapshot_index), snapshot_term_(snapshot_term) {}

  Index snapshot_index() const { return snapshot_index_; }
  Term snapshot_term() const { return snapshot_term_; }
  Index first_index() const { return snapshot_index_ + 1; }
  Index last_index() const { return snapshot_index_ + entries_.size(); }
  Term last_term() const { return entries_.empty() ? snapshot_term_ : entries_.back().term; }
  bool empty() const { return entries_.empty(); }

  // The term of the entry at i, for i in [snapshot_index, last_index];
  // nullopt when i is compacted away or beyond the end.
  std::optional<Term> term_at(Index i) const;
  bool matches(Index i, Term t) const { return term_at(i) == t; }
  // Requires first_index() <= i <= last_index().
  const Entry& at(Index i) const;
  // Appends copies of the entries [from, to] to *out (none when to < from).
  // Requires first_index() <= from and to <= last_index() when to >= from.
  void copy_to(Index from, Index to, std::vector<Entry>* out) const;

  // Thesis 3.6.1: a voter grants only to a candidate whose log is at
  // least as up-to-date as its own (last term first, then length).
  bool candidate_up_to_date(Index last_index, Term last_term) const {
    return last_term > this->last_term() ||
           (last_term == this->last_term() && last_index >= this->last_index());
  }

  // Requires e.index == last_index() + 1 and a non-decreasing term.
  void append(Entry e);
  // Removes every entry at or after i. Requires i > snapshot_index().
  void truncate_from(Index i);
  // Drops entries up to and including i and records (i, t) as the new
  // snapshot point; if the log does not contain (i, t) everything goes.
  // Returns the dropped entries, so that the caller can destroy them
  // elsewhere: a log of millions of entries takes seconds to free. Costs
  // moves of the smaller of the dropped and the kept parts.
  std::deque<Entry> compact(Index i, Term t);

  // Entries [from, last], at most count_max of them and stopping once
  // bytes_max of payload is reached (always at least one entry when any
  // exists). Requires from >= first_index().
  std::vector<Entry> slice(Index from, size_t count_max, size_t bytes_max) const;

  // The first index holding term `t` at or before index `i` (which must
  // have term t): the follower's conflict hint (thesis 5.3).
  Index first_index_of_term_at(Index i) const;
  // The largest index whose term is <= t, or snapshot_index() if none:
  // the leader's use of a conflict hint.
  Index last_index_with_term_at_most(Term t) const;

 private:
  Index snapshot_index_;
  Term snapshot_term_;
  std::deque<Entry> entries_;
};

}  // namespace raft::core
