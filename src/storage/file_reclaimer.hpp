// FileReclaimer: deletes large files a little at a time, off the thread
// that let go of them.
//
// Deleting a large file can stall every other write to the same disk: on
// a file system mounted with `discard` (and on thin-provisioned virtual
// disks) the unlink trims all the file's blocks before it returns, and
// flushes queue behind the trims. On this project's test machine one
// 512 MiB unlink took 330 ms and held a concurrent 156-byte fdatasync for
// up to 223 ms; a WAL that compacted 2.4 GiB of segments at once stopped
// its node's disk thread long enough to lose the leadership
// (docs/BENCHMARKS.md, "Memory and deletions under sustained load").
// Cutting the file down in steps at a bounded rate, then unlinking what
// is left, spreads the trims out: with one deleter, 16 MiB steps 10 ms
// apart kept the worst flush near 11 ms; three nodes doing that at once
// on one disk still starved its writes for seconds, hence the lower
// default rate.
//
// The owner renames a file out of its namespace first (a name its open()
// recognises as trash), makes the rename durable, and only then hands the
// path here: a crash at any point leaves a trash file, never a shortened
// live one, and the owner's next open() hands its trash here again.
//
// Threading: add_file()/add_tree() may be called from any thread. With
// `background` on, one thread of the reclaimer's own (started by the
// first add) does the work; off, add_*() does it before returning, at no
// limited rate (deterministic tests). Errors are logged, not returned: the
// file is trash either way, and stays for the next open() to retry.
// The destructor stops the thread after the step in progress; what is
// left stays on disk as trash.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "storage/file_system.hpp"
#include "storage/logging.hpp"

namespace raft::storage {

struct ReclaimOptions {
  // Bytes cut from the end of a file per step. 0: unlink at once.
  uint64_t step_bytes = 4ull << 20;
  // The pace: bytes cut or unlinked per second, on average, at most
  // max(bytes_per_second, backlog / drain), where the backlog is what is
  // queued (by the callers' size hints) plus what is left of the file in
  // hand. The first term spares the disk's other writes (on this
  // project's test disk three nodes cutting at 256 MiB/s each still slowed
  // every write; at 32 MiB/s the cuts did not show); the second keeps trash from
  // piling up when the owner writes faster than that (a WAL at 4 KiB a
  // command writes 100 MB/s here, more on a fast disk).
  // bytes_per_second 0: no limit at all.
  uint64_t bytes_per_second = 32ull << 20;
  std::chrono::milliseconds drain{10000};
  // Off: reclaim inside add_file()/add_tree(), at no limited rate.
  bool background = true;
};

class FileReclaimer {
 public:
  FileReclaimer(FileSystem* fs, ReclaimOptions options, LogCallback log);
  ~FileReclaimer();
  FileReclaimer(const FileReclaimer&) = delete;
  FileReclaimer& operator=(const FileReclaimer&) = delete;

  // Deletes the file at `path` (already renamed to trash by the caller).
  // `bytes`: its size if known (0 if not), for the pace.
  void add_file(std::string path, uint64_t bytes = 0);
  // Deletes the folder at `path` and everything in it; `bytes` as above.
  void add_tree(std::string path, uint64_t bytes = 0);

  // True once nothing is queued or in progress; false if `deadline`
  // passes first.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);

  // Files deleted and steps cut since construction (stats and tests).
  uint64_t files_reclaimed() const { return files_.load(std::memory_order_relaxed); }
  uint64_t steps_cut() const { return steps_.load(std::memory_order_relaxed); }
  // What waits to be deleted: the files and folders queued or in hand,
  // and their bytes (the callers' size hints for the queue, what is left
  // for the file in hand). Stats; any thread.
  struct Backlog {
    size_t items = 0;
    uint64_t bytes = 0;
  };
  Backlog backlog() const;

 private:
  struct Item {
    std::string path;
    bool tree;
    uint64_t bytes;  // the caller's size hint
  };
  void add(Item item);
  void run();                           // the thread
  void reclaim(const Item& item);       // any mode
  Status reclaim_tree(const std::string& path);
  Status reclaim_file(const std::string& path);
  bool pace(uint64_t bytes);  // waits for the rate to allow `bytes` more; false: stopping

  FileSystem* fs_;
  ReclaimOptions options_;
  LogCallback log_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // work arrives, or stop
  std::condition_variable idle_cv_;  // the queue ran dry
  std::deque<Item> queue_;
  uint64_t queued_bytes_ = 0;  // the queue's size hints
  bool busy_ = false;  // the thread holds an item outside the queue
  bool stop_ = false;
  std::thread thread_;
  // The thread's own: when the pace allows more, and the bytes left of
  // the file in hand.
  std::chrono::steady_clock::time_point ready_at_;
  std::atomic<uint64_t> current_left_{0};  // atomic: inline mode runs on callers' threads

  std::atomic<uint64_t> files_{0};
  std::atomic<uint64_t> steps_{0};
};

}  // namespace raft::storage
