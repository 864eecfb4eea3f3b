// LogStore: where a node keeps its Raft log (thesis Figure 3.1, "log[]").
//
// The store holds a contiguous run of entries [first_index(), last_index()].
// The runtime's disk thread appends batches, then calls sync() once for all
// of them (group commit, DESIGN.md "Performance shape"); only entries up to
// the index sync() returns may be acknowledged (DESIGN.md, "Safety rules").
// The front of the log is dropped after a snapshot (drop_prefix), a
// conflicting suffix is cut (truncate_suffix, thesis 3.5) and an installed
// snapshot restarts the log (reset).
//
// Implementations: MemoryLogStore (memory_log_store.hpp) and WalLogStore
// (wal_log_store.hpp, a directory of segment files). LogStoreWrapper
// forwards every call to another store, so a fault test overrides one.
//
// Thread safety: one thread mutates (append, sync, truncate_suffix,
// drop_prefix, reset); read(), term_at(), first_index() and last_index()
// may be called from other threads at the same time. A read is never held
// up for the duration of an fdatasync.
//
// Ownership: entries passed to append() are copied (their Buffers shared,
// never their bytes for the memory store); entries read share Buffers with
// the store or with one read buffer, never with each other's callers.
//
// Errors: NotFound for indexes outside [first_index(), last_index()];
// InvalidArgument for a call that breaks the contract (a gap, a term that
// goes down); Corruption when stored bytes are damaged; IoError when the
// OS fails. After an IoError or Corruption from a mutating call the store
// refuses further mutations (its on-disk state is no longer known) and the
// process should reopen it.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "util/status.hpp"
#include "util/types.hpp"

namespace raft::storage {

class LogStore {
 public:
  virtual ~LogStore() = default;

  // The first entry present; last_index() + 1 when the store is empty.
  virtual Index first_index() const = 0;
  // The last entry appended (durable or not); 0 for a brand-new store, or
  // next - 1 after reset(next).
  virtual Index last_index() const = 0;

  // The term of entry `index`. NotFound outside [first, last].
  virtual Result<Term> term_at(Index index) = 0;

  // Appends entries [from, to] to *out (it is not cleared), stopping early
  // once their payload would exceed bytes_max; at least one entry is
  // always returned. NotFound when [from, to] is not inside [first, last];
  // InvalidArgument when to < from; Corruption when a stored record fails
  // its checksum.
  virtual Status read(Index from, Index to, size_t bytes_max, std::vector<Entry>* out) = 0;

  // Appends entries with consecutive indexes starting at last_index() + 1
  // and terms that never decrease. Not durable until sync().
  virtual Status append(std::span<const Entry> entries) = 0;

  // Makes every appended entry durable with one flush, then returns the
  // highest durable index (last_index() at the time of the call).
  virtual Result<Index> sync() = 0;

  // Removes entries >= from (a conflict, thesis 3.5). Atomic: a crash
  // leaves the old or the new log. Durable when it returns, so nothing at
  // or after `from` comes back. A no-op when from > last_index();
  // InvalidArgument when from < first_index().
  virtual Status truncate_suffix(Index from) = 0;

  // Allows removing entries <= up_to (a snapshot covers them). Stores may
  // keep some (the WAL removes whole segments only); first_index() tells
  // what remains.
  virtual Status drop_prefix(Index up_to) = 0;

  // Discards every entry; the next append starts at `next` (after
  // installing a snapshot whose last index is next - 1). Atomic and
  // durable when it returns. next must be >= 1.
  virtual Status reset(Index next) = 0;
};

// Forwards every call to a borrowed target store.
class LogStoreWrapper : public LogStore {
 public:
  explicit LogStoreWrapper(LogStore* target) : target_(target) {}
  LogStore* target() const { return target_; }

  Index first_index() const override { return target_->first_index(); }
  Index last_index() const override { return target_->last_index(); }
  Result<Term> term_at(Index index) override { return target_->term_at(index); }
  Status read(Index from, Index to, size_t bytes_max, std::vector<Entry>* out) override {
    return target_->read(from, to, bytes_max, out);
  }
  Status append(std::span<const Entry> entries) override { return target_->append(entries); }
  Result<Index> sync() override { return target_->sync(); }
  Status truncate_suffix(Index from) override { return target_->truncate_suffix(from); }
  Status drop_prefix(Index up_to) override { return target_->drop_prefix(up_to); }
  Status reset(Index next) override { return target_->reset(next); }

 private:
  LogStore* target_;
};

// Checks that `entries` may be appended after an entry (last_index,
// last_term): consecutive indexes, known types, terms that never go down.
// last_term is ignored when the store is empty (`empty`).
Status check_append(Index last_index, Term last_term, bool empty,
                    std::span<const Entry> entries);

}  // namespace raft::storage
