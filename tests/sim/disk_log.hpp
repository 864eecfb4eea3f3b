// DiskLog: the durable part of a simulated node's log. Like the real log
// store after LogStore::drop_prefix, it may start after index 1: a snapshot
// covers what was dropped (thesis 5.1).
//
// Invariant: entries_ holds exactly the indexes [base_ + 1, base_ +
// entries_.size()]; base_term_ is the term of entry base_ when known (0
// when not: the start of an empty log, or a prefix dropped past its end).
//
// Thread safety: none (the simulator is single-threaded).
#pragma once

#include <deque>
#include <optional>
#include <vector>

#include "util/types.hpp"

namespace raft::sim {

class DiskLog {
 public:
  Index base() const { return base_; }
  Index first_index() const { return base_ + 1; }
  Index last_index() const { return base_ + entries_.size(); }
  bool empty() const { return entries_.empty(); }

  // The term at i for i in [base, last]; nullopt elsewhere (and at base
  // when it is not known).
  std::optional<Term> term_at(Index i) const {
    if (i == base_) return base_term_known_ ? std::optional<Term>(base_term_) : std::nullopt;
    if (i < base_ || i > last_index()) return std::nullopt;
    return entries_[i.value - base_.value - 1].term;
  }
  // The term of the last entry (of base when empty), if known.
  std::optional<Term> last_term() const { return term_at(last_index()); }

  // Returns false (and appends nothing) when e does not follow the last entry.
  bool append(const Entry& e) {
    if (e.index != last_index() + 1) return false;
    entries_.push_back(e);
    return true;
  }
  // Removes every entry at or after i.
  void truncate_from(Index i) {
    if (i <= base_) {
      entries_.clear();
      return;
    }
    if (i <= last_index()) entries_.resize(i.value - base_.value - 1);
  }
  // Drops entries up to and including i, whose term is t (a snapshot
  // covers them). Past the end, the log becomes empty and restarts at i.
  void drop_prefix(Index i, Term t) {
    if (i <= base_) return;
    if (i >= last_index()) {
      reset(i, t);
      return;
    }
    std::optional<Term> at = term_at(i);
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(i.value - base_.value));
    base_ = i;
    base_term_ = at.value_or(t);
    base_term_known_ = true;
  }
  // Empties the log; the next entry is i + 1 (an installed snapshot ends at
  // (i, t)).
  void reset(Index i, Term t) {
    entries_.clear();
    base_ = i;
    base_term_ = t;
    base_term_known_ = true;
  }
  std::vector<Entry> to_vector() const { return std::vector<Entry>(entries_.begin(), entries_.end()); }

 private:
  Index base_;
  Term base_term_;
  bool base_term_known_ = true;  // an empty log from index 1: entry 0 has term 0
  std::deque<Entry> entries_;
};

}  // namespace raft::sim
