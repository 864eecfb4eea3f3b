// FileSnapshotStore: snapshots as folders of a directory, `<dir>/<id>/`
// holding `meta` and `data` (docs/disk-format.md, "Snapshots").
//
// A snapshot is written into `tmp-<id>/` and renamed into place only when
// its data and meta are synced, so a crash never leaves a partial snapshot
// under a real name; open() removes such leftovers. The data is framed in
// checksummed blocks: a reader holds one block in memory and hands out no
// byte before its block's checksum passed, whatever the snapshot's size.
//
// retain() renames a snapshot it drops to `deleted-<id>/` and hands the
// folder to a FileReclaimer, which deletes it a little at a time in a
// thread of its own (a large unlink can stall every flush on the disk).
// A reader open on that snapshot keeps reading all of it: the folder is
// handed over only when its last reader is destroyed.
//
// Thread safety: as SnapshotStore; the list of snapshots is behind a
// mutex, file I/O happens outside it. Ownership: borrows options.fs (must
// outlive the store and its readers and writers); holds `<dir>/LOCK`.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "storage/file_reclaimer.hpp"
#include "storage/file_system.hpp"
#include "storage/logging.hpp"
#include "storage/snapshot_store.hpp"

namespace raft::storage {

struct FileSnapshotStoreOptions {
  FileSystem* fs = nullptr;  // null: default_file_system()
  LogCallback log;           // empty: stderr
  // Payload bytes per checksummed block: the memory a reader or writer holds.
  size_t block_bytes = 1 << 20;
  // How dropped snapshots are deleted (file_reclaimer.hpp).
  ReclaimOptions reclaim;
};

class FileSnapshotStore final : public SnapshotStore {
 public:
  // Opens (creating `dir` if needed), removes leftovers of interrupted
  // writes and removals, and reads every snapshot's meta. Errors:
  // Corruption or Unsupported naming the file, Busy, IoError. (Options
  // have no default so that open(dir, options) and the reader-returning
  // open(id) never look alike; pass {} for the defaults.)
  static Result<std::unique_ptr<FileSnapshotStore>> open(const std::string& dir,
                                                         FileSnapshotStoreOptions options);
  ~FileSnapshotStore() override;

  Result<std::unique_ptr<SnapshotWriter>> create(const SnapshotMeta& meta) override;
  Result<std::unique_ptr<SnapshotReader>> open_latest() override;
  Result<std::unique_ptr<SnapshotReader>> open(const std::string& id) override;
  Result<std::vector<SnapshotMeta>> list() override;
  Status retain(size_t n) override;

  // Meta file codec (raft_dump and tests use it). `path` names the file in
  // errors; *block_bytes receives the data's block size.
  static std::string encode_meta(const SnapshotMeta& meta, uint64_t block_bytes);
  static Status decode_meta(std::string_view bytes, const std::string& path, SnapshotMeta* meta,
                            uint64_t* block_bytes);
  // The size of a data file holding `size_bytes` in blocks of block_bytes.
  static uint64_t data_file_bytes(uint64_t size_bytes, uint64_t block_bytes);
  // Opens a snapshot folder directly (raft_dump uses it to check one).
  static Result<std::unique_ptr<SnapshotReader>> open_folder(FileSystem* fs,
                                                             const std::string& folder);

  // Files of dropped snapshots deleted so far (stats and tests), and a
  // wait for the deletions handed over so far (tests). Any thread; a
  // snapshot still pinned by a reader is not handed over yet, so the wait
  // does not cover it.
  uint64_t files_reclaimed() const { return reclaimer_->files_reclaimed(); }
  bool wait_reclaimed(std::chrono::steady_clock::time_point deadline) {
    return reclaimer_->wait_idle(deadline);
  }
  // Dropped snapshots waiting for the reclaimer (those still pinned by a
  // reader are not counted until it closes). Any thread.
  FileReclaimer::Backlog reclaim_backlog() const { return reclaimer_->backlog(); }

 private:
  friend class FileSnapshotWriter;
  struct Pin;
  struct Stored {
    SnapshotMeta meta;
    uint64_t block_bytes = 0;
  };
  using Key = std::pair<uint64_t, uint64_t>;  // (index, seq): oldest first

  FileSnapshotStore(FileSystem* fs, std::string dir, FileSnapshotStoreOptions options,
                    std::unique_ptr<FileLock> lock);
  Status load();
  std::shared_ptr<Pin> pin_locked(const std::string& id);  // mu_ held
  Result<std::unique_ptr<SnapshotReader>> open_stored(const Stored& s, std::shared_ptr<Pin> pin);

  FileSystem* fs_;
  std::string dir_;
  FileSnapshotStoreOptions options_;
  std::unique_ptr<FileLock> lock_;
  // Shared with the pins, which may outlive the store.
  std::shared_ptr<FileReclaimer> reclaimer_;
  std::mutex mu_;
  std::map<Key, Stored> snapshots_;
  // The readers' pins, by snapshot id; expired entries are pruned when
  // the next reader opens.
  std::map<std::string, std::weak_ptr<Pin>> pins_;
  uint64_t next_seq_ = 1;
};

}  // namespace raft::storage
