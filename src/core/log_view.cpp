#include "core/log_view.hpp"

#include "util/assert.hpp"

namespace raft::core {

std::optional<Term> LogView::term_at(Index i) const {
  if (i == snapshot_index_) return snapshot_term_;
  if (i < snapshot_index_ || i > last_index()) return std::nullopt;
  return entries_[i.value - first_index().value].term;
}

const Entry& LogView::at(Index i) const {
  RAFT_ASSERT(i >= first_index() && i <= last_index());
  return entries_[i.value - first_index().value];
}

void LogView::copy_to(Index from, Index to, std::vector<Entry>* out) const {
  if (to < from) return;
  RAFT_ASSERT(from >= first_index() && to <= last_index());
  auto begin = entries_.begin() + static_cast<std::ptrdiff_t>(from.value - first_index().value);
  out->insert(out->end(), begin, begin + static_cast<std::ptrdiff_t>(to.value - from.value + 1));
}

void LogView::append(Entry e) {
  RAFT_ASSERT(e.index == last_index() + 1);
  RAFT_ASSERT(e.term >= last_term());
  entries_.push_back(std::move(e));
}

void LogView::truncate_from(Index i) {
  RAFT_ASSERT(i > snapshot_index_);
  if (i > last_index()) return;
  entries_.resize(i.value - first_index().value);
}

std::deque<Entry> LogView::compact(Index i, Term t) {
  std::deque<Entry> dropped;
  if (i <= snapshot_index_) return dropped;
  size_t n = term_at(i) == t ? static_cast<size_t>(i.value - snapshot_index_.value) : entries_.size();
  auto cut = entries_.begin() + static_cast<ptrdiff_t>(n);
  if (n >= entries_.size() - n) {
    // Most of the log goes: move the kept tail into a new deque and hand
    // the old one over whole.
    std::deque<Entry> kept(std::make_move_iterator(cut), std::make_move_iterator(entries_.end()));
    entries_.erase(cut, entries_.end());
    dropped.swap(entries_);
    entries_.swap(kept);
  } else {
    dropped.assign(std::make_move_iterator(entries_.begin()), std::make_move_iterator(cut));
    entries_.erase(entries_.begin(), cut);
  }
  snapshot_index_ = i;
  snapshot_term_ = t;
  return dropped;
}

std::vector<Entry> LogView::slice(Index from, size_t count_max, size_t bytes_max) const {
  RAFT_ASSERT(from >= first_index());
  std::vector<Entry> out;
  if (from > last_index()) return out;
  out.reserve(std::min<uint64_t>(count_max, last_index().value - from.value + 1));
  size_t bytes = 0;
  auto it = entries_.begin() + static_cast<std::ptrdiff_t>(from.value - first_index().value);
  for (; it != entries_.end() && out.size() < count_max; ++it) {
    if (!out.empty() && bytes + it->data.size() > bytes_max) break;
    bytes += it->data.size();
    out.push_back(*it);
  }
  return out;
}

Index LogView::first_index_of_term_at(Index i) const {
  std::optional<Term> t = term_at(i);
  RAFT_ASSERT(t.has_value());
  // Terms are sorted along the log: binary search for the first entry
  // with term >= t in [first_index, i].
  size_t lo = 0, hi = i.value - snapshot_index_.value;  // positions in entries_ + 1
  if (hi == 0) return i;  // i is the snapshot point itself
  hi -= 1;                // position of i
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (entries_[mid].term < *t) lo = mid + 1;
    else hi = mid;
  }
  return first_index() + lo;
}

Index LogView::last_index_with_term_at_most(Term t) const {
  // Largest position with term <= t; terms are sorted.
  size_t lo = 0, hi = entries_.size();  // answer in [lo, hi): count of entries with term <= t
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (entries_[mid].term <= t) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0) return snapshot_index_;
  return first_index() + (lo - 1);
}

}  // namespace raft::core
