#include "storage/memory_log_store.hpp"

#include <mutex>
#include <string>

namespace raft::storage {

namespace {
Status out_of_range(Index from, Index to, Index first, Index last) {
  return not_found("entries [" + std::to_string(from.value) + ", " + std::to_string(to.value) +
                   "] are not all in the log [" + std::to_string(first.value) + ", " +
                   std::to_string(last.value) + "]");
}
}  // namespace

void MemoryLogStore::publish() {
  first_.store(base_, std::memory_order_release);
  last_.store(base_ + entries_.size() - 1, std::memory_order_release);
}

Result<Term> MemoryLogStore::term_at(Index index) {
  std::shared_lock lock(mu_);
  if (index < base_ || index.value - base_.value >= entries_.size())
    return out_of_range(index, index, base_, base_ + entries_.size() - 1);
  return entries_[index.value - base_.value].term;
}

Status MemoryLogStore::read(Index from, Index to, size_t bytes_max, std::vector<Entry>* out) {
  if (to < from) return invalid_argument("read: range ends before it starts");
  std::shared_lock lock(mu_);
  Index last = base_ + entries_.size() - 1;
  if (from < base_ || to > last) return out_of_range(from, to, base_, last);
  size_t bytes = 0;
  for (Index i = from; i <= to; ++i) {
    const Entry& e = entries_[i.value - base_.value];
    if (i != from && bytes + e.data.size() > bytes_max) break;
    bytes += e.data.size();
    out->push_back(e);
  }
  return Status();
}

Status MemoryLogStore::append(std::span<const Entry> entries) {
  if (entries.empty()) return Status();
  std::unique_lock lock(mu_);
  Index last = base_ + entries_.size() - 1;
  Term last_term = entries_.empty() ? Term(0) : entries_.back().term;
  RAFT_RETURN_IF_ERROR(check_append(last, last_term, entries_.empty(), entries));
  for (const Entry& e : entries) entries_.push_back(e);
  publish();
  return Status();
}

Status MemoryLogStore::truncate_suffix(Index from) {
  std::unique_lock lock(mu_);
  if (from < base_) {
    return invalid_argument("truncate_suffix(" + std::to_string(from.value) +
                            "): before the first entry " + std::to_string(base_.value));
  }
  uint64_t keep = from.value - base_.value;
  if (keep < entries_.size()) entries_.resize(keep);
  publish();
  return Status();
}

Status MemoryLogStore::drop_prefix(Index up_to) {
  std::unique_lock lock(mu_);
  while (!entries_.empty() && base_ <= up_to) {
    entries_.pop_front();
    ++base_;
  }
  publish();
  return Status();
}

Status MemoryLogStore::reset(Index next) {
  if (next < Index(1)) return invalid_argument("reset: the next index must be at least 1");
  std::unique_lock lock(mu_);
  entries_.clear();
  base_ = next;
  publish();
  return Status();
}

}  // namespace raft::storage
