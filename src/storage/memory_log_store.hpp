// MemoryLogStore: a LogStore in memory, with the same contract as the WAL
// (log_store.hpp) except that nothing survives the process and sync() has
// nothing to flush. For tests, the simulator and nodes that keep no disk.
//
// drop_prefix removes exactly the entries asked for (the WAL keeps whole
// segments); everything else behaves identically, so a test written against
// one holds for the other.
//
// Thread safety: as LogStore (one mutating thread, concurrent readers).
// Payload Buffers are shared with callers, never copied.
#pragma once

#include <atomic>
#include <deque>
#include <shared_mutex>

#include "storage/log_store.hpp"

namespace raft::storage {

class MemoryLogStore final : public LogStore {
 public:
  MemoryLogStore() = default;

  Index first_index() const override { return first_.load(std::memory_order_acquire); }
  Index last_index() const override { return last_.load(std::memory_order_acquire); }
  Result<Term> term_at(Index index) override;
  Status read(Index from, Index to, size_t bytes_max, std::vector<Entry>* out) override;
  Status append(std::span<const Entry> entries) override;
  Result<Index> sync() override { return last_index(); }
  Status truncate_suffix(Index from) override;
  Status drop_prefix(Index up_to) override;
  Status reset(Index next) override;

 private:
  void publish();  // updates first_/last_ from entries_ (mu_ held)

  mutable std::shared_mutex mu_;
  // Invariant: entries_[i].index == base_ + i.
  std::deque<Entry> entries_;
  Index base_{1};
  std::atomic<Index> first_{Index(1)};
  std::atomic<Index> last_{Index(0)};
};

}  // namespace raft::storage
