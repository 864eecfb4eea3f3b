// WalLogStore: the LogStore on disk, a directory of segment files.
//
// The format (segment names, headers, record framing, seals, the INTENT
// file) is specified in docs/disk-format.md, "WAL"; wal_format.hpp
// implements the bytes, this class the life cycle:
//
// - append() frames a batch of entries and writes it with one pwrite at the
//   end of the newest segment; sync() issues one fdatasync for everything
//   written since the last one (group commit). A segment that fills up is
//   sealed, synced and followed by a new one, created preallocated.
// - truncate_suffix() and reset() are made atomic by an intent file that
//   recovery re-applies; drop_prefix() removes whole segments, oldest first,
//   keeping a few of their files as spares that new segments reuse.
// - A segment file that leaves the log (and is not kept as a spare) is
//   renamed to `trash-<n>` and deleted a little at a time by a
//   FileReclaimer, off the mutating thread: one large unlink can stall
//   every flush on the disk for hundreds of milliseconds.
// - open() reads every segment, checks every checksum and builds an index
//   of 4 bytes an entry (the offset of its record) plus the terms as runs.
//   Payloads stay on disk; read() preads them into one shared Buffer and
//   checks their checksums again. A torn tail in the newest segment is cut
//   with a warning; anything else that is wrong stops open() with an error
//   naming the file, the offset and what is wrong (the table in
//   docs/disk-format.md, "Recovery").
//
// Thread safety: as LogStore. One thread calls the mutating methods;
// read(), term_at(), first_index(), last_index() and stats() may run on
// other threads. The index is behind a reader-writer lock that mutations
// hold only to publish their changes, never across an fdatasync; a reader
// holds it while it preads so that a truncation cannot cut bytes under it.
// With WalOptions::prepare_spares the store runs one thread of its own,
// which only ever writes a new spare file; the reclaimer runs another once
// there is trash to delete (WalOptions::reclaim). The destructor stops
// both; trash not yet deleted stays, and the next open() deletes it.
//
// Ownership: borrows options.fs, which must outlive the store. Holds
// `<dir>/LOCK` while open (a second open of the same directory is Busy).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/file_reclaimer.hpp"
#include "storage/file_system.hpp"
#include "storage/log_store.hpp"
#include "storage/logging.hpp"

namespace raft::storage {

struct WalOptions {
  FileSystem* fs = nullptr;  // null: default_file_system()
  // Target size of a segment file; a segment exceeds it only to hold a
  // single larger entry. At most 1 GiB (offsets in the index are 32-bit).
  uint64_t segment_bytes = 64ull << 20;
  // Reserve each segment's space when it is created, so appends write
  // into allocated blocks.
  bool preallocate = true;
  // Segment files that drop_prefix() would delete are kept, up to this
  // many, as spares (`spare-<seq>`) and reused for the next new segments.
  // Writing over blocks that were written before needs no block-state
  // change in the flush: on ext4 a 20 to 40 KB write + fdatasync took
  // 30-40% less time than into freshly preallocated space
  // (docs/BENCHMARKS.md). Costs up to this many segments of disk space.
  // 0: delete as before.
  size_t spare_segments = 2;
  // Until compaction frees segments there are no spares, and a new
  // segment is written into freshly preallocated space. With this on, once
  // the newest segment is an eighth full and no spare waits, a thread of
  // the store's own writes zeros over a new segment-sized file, 256 KiB at
  // a time at the pace the log writes, and keeps it as a spare
  // (`spare-<20 zeros>`), so the next segment too is written over blocks
  // written before. It costs a second write of each such segment's bytes:
  // worth it when flushes are small (20-40 KB: about 45% less time each),
  // not when the disk's bandwidth is the limit, so it is done only while
  // the log's flushes average at most 64 KiB (docs/BENCHMARKS.md). Needs
  // spare_segments >= 1.
  bool prepare_spares = false;
  // How segment files that leave the log are deleted (file_reclaimer.hpp):
  // by default in a thread of the store's own, cut 4 MiB at a time at
  // 32 MiB/s, or faster to delete a larger queue within 10 s.
  ReclaimOptions reclaim;
  // Warnings (a torn tail cut, leftovers removed). Empty: stderr.
  LogCallback log;
  // Read window of the recovery scan.
  size_t recovery_read_bytes = 1 << 20;
};

class WalLogStore final : public LogStore {
 public:
  // Opens the WAL in `dir`, creating the directory and a first segment if
  // there is none, and recovers it. Errors: Corruption and Unsupported
  // naming the file and offset, Busy (another store holds the directory),
  // InvalidArgument (bad options), IoError.
  static Result<std::unique_ptr<WalLogStore>> open(const std::string& dir,
                                                   WalOptions options = {});
  ~WalLogStore() override;

  Index first_index() const override { return first_index_.load(std::memory_order_acquire); }
  Index last_index() const override { return last_index_.load(std::memory_order_acquire); }
  Result<Term> term_at(Index index) override;
  Status read(Index from, Index to, size_t bytes_max, std::vector<Entry>* out) override;
  Status append(std::span<const Entry> entries) override;
  Result<Index> sync() override;
  Status truncate_suffix(Index from) override;
  Status drop_prefix(Index up_to) override;
  Status reset(Index next) override;

  struct Stats {
    size_t segments = 0;
    uint64_t entries = 0;
    // Heap bytes of the in-memory index (offsets and term runs, by capacity).
    uint64_t index_bytes = 0;
    uint64_t durable_index = 0;
    size_t spare_segments = 0;  // files kept for reuse (WalOptions::spare_segments)
    uint64_t spares_prepared = 0;  // written with zeros since open (WalOptions::prepare_spares)
    uint64_t trash_deleted = 0;    // segment files deleted by the reclaimer since open
    size_t trash_pending = 0;      // segment files waiting for the reclaimer
    uint64_t trash_pending_bytes = 0;
  };
  Stats stats() const;
  // True once every file that left the log so far is deleted; false if
  // `deadline` passes first (tests; any thread).
  bool wait_reclaimed(std::chrono::steady_clock::time_point deadline) {
    return reclaimer_->wait_idle(deadline);
  }

 private:
  struct Segment;
  struct Intent;
  WalLogStore(FileSystem* fs, std::string dir, WalOptions options, std::unique_ptr<FileLock> lock);

  Status recover();
  Status apply_intent_on_open(const Intent& intent, std::vector<std::string>* names);
  Result<std::unique_ptr<Segment>> create_segment(uint64_t seq, Index first);
  // Keeps a segment file that left the log as a spare, or trashes it.
  Status retire_segment(const Segment& seg, std::vector<std::string>* trash);
  // Renames a file that left the log to a new trash name and adds that
  // to *trash. Durable with the next sync of the directory; only then may
  // the names go to reclaim().
  Status trash_file(const std::string& path, std::vector<std::string>* trash);
  void reclaim(std::vector<std::string>* trash);
  Status write_intent(const Intent& intent);
  Status remove_intent();
  Status cut_newest(Segment* seg, uint64_t end_offset);
  Status write_batch(const std::string& bytes, const std::vector<uint32_t>& rel_offsets,
                     std::span<const Entry> entries);
  Status roll_over();
  Status fail(Status st);  // remembers st in failed_ and returns it

  // Spares written with zeros in the background (WalOptions::prepare_spares).
  void maybe_prepare_spare();  // mutating thread: asks for one if none waits
  void collect_prepared();     // mutating thread: a finished one joins spares_
  void count_appended(uint64_t bytes);  // mutating thread: paces the preparer
  void preparer_loop();        // the preparer thread
  Status write_zero_spare(const std::string& tmp);

  const Segment* find_segment(Index index) const;  // mu_ held

  FileSystem* fs_;
  std::string dir_;
  WalOptions options_;
  std::unique_ptr<FileLock> lock_;

  // Guards segments_ and every Segment's index (offsets, term runs, end).
  mutable std::shared_mutex mu_;
  // Oldest first; the last one is the one appends go to.
  // Invariant: seq and indexes are consecutive across segments.
  std::vector<std::unique_ptr<Segment>> segments_;
  std::atomic<Index> first_index_{Index(1)};
  std::atomic<Index> last_index_{Index(0)};

  // Owned by the mutating thread.
  Term last_term_;
  std::atomic<Index> durable_index_{Index(0)};
  bool unsynced_ = false;   // bytes written to the newest segment since its last sync
  std::string batch_;       // reused encoding buffer
  Status failed_;           // set by the first failed mutation; sticky
  // Spare segment files: (the seq they last had, path). Every record in
  // one was checksummed with that seq, so a new segment may reuse it
  // only with a higher seq.
  std::vector<std::pair<uint64_t, std::string>> spares_;
  std::atomic<size_t> spare_count_{0};  // spares_.size(), for stats()

  // The preparer. prep_pending_ and prep_off_ belong to the mutating
  // thread; the rest is shared under prep_mu_.
  bool prep_pending_ = false;  // asked for and not collected yet
  bool prep_off_ = false;      // stopped by an I/O error (warned once)
  std::mutex prep_mu_;
  std::condition_variable prep_cv_;
  bool prep_asked_ = false;
  bool prep_stop_ = false;
  std::optional<Status> prep_result_;  // set when a request is finished
  uint64_t prep_from_ = 0;  // appended_ when asked
  uint64_t prep_span_ = 0;  // bytes of log writes over which to spread the zeros
  std::atomic<uint64_t> appended_{0};  // bytes the log has written since open
  std::atomic<uint64_t> prep_wake_at_{UINT64_MAX};  // appended_ the preparer waits for
  uint64_t synced_appended_ = 0;  // mutating thread: appended_ at the last sync
  uint64_t flush_bytes_avg_ = 0;  // mutating thread: bytes per sync, moving average
  std::atomic<uint64_t> spares_prepared_{0};
  std::thread preparer_;

  uint64_t next_trash_ = 1;  // mutating thread: the next trash-<n>
  // Last member: destroyed (its thread stopped) first.
  std::unique_ptr<FileReclaimer> reclaimer_;
};

}  // namespace raft::storage
