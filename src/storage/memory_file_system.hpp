// MemoryFileSystem: a FileSystem held in memory that models what a disk
// keeps when the power goes out, for crash tests and the simulator.
//
// Every file has the bytes reads see and the bytes that are durable; every
// directory has the names lookups see and the names that are durable. A
// file's sync_data()/sync() makes its bytes and size durable; sync_dir()
// makes a directory's creations, renames and removals durable. crash()
// then throws away what was not durable, the way a power loss would:
//
//   kLoseUnsynced  only what was synced survives;
//   kKeepPrefix    per file and per directory, a random prefix (in issue
//                  order) of the unsynced changes survives too, and the
//                  last surviving write may be cut at any byte: the
//                  torn-write model of docs/disk-format.md;
//   kKeepAll       everything survives (the process died, the OS did not).
//
// After crash() every File and FileLock opened before it is dead: its
// calls fail with IoError, so a store object that outlived the "power
// loss" cannot write into the new world. Faults other than crashes (a
// failing call, a blocking sync) are layered on with FileSystemWrapper.
//
// Paths: absolute or relative, both resolved from one root; "." parts and
// repeated slashes are ignored. Renames must stay within one directory.
//
// Thread safety: every method may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>

#include "storage/file_system.hpp"

namespace raft::storage {

class MemoryFileSystem final : public FileSystem {
 public:
  enum class CrashMode { kLoseUnsynced, kKeepPrefix, kKeepAll };

  MemoryFileSystem();
  ~MemoryFileSystem() override;

  // Simulates a power loss (see above). `seed` drives kKeepPrefix's
  // choices, so a failing test replays with the same seed.
  void crash(CrashMode mode, uint64_t seed);

  // Number of file and directory syncs so far (tests check group commit).
  uint64_t sync_count() const;

  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove_file(const std::string& path) override;
  Status create_dir(const std::string& path) override;
  Status remove_dir(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  Status sync_dir(const std::string& path) override;
  Result<bool> exists(const std::string& path) override;
  Result<bool> is_dir(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) override;

  struct Node;
  struct Inode;

 private:
  friend class MemoryFile;
  friend class MemoryFileLock;

  // Walks to the directory holding the last component of `path`.
  Result<Node*> parent_of(const std::string& path, std::string* name);
  Node* lookup(const std::string& path);

  mutable std::mutex mu_;
  std::shared_ptr<Node> root_;
  uint64_t generation_ = 0;  // bumped by crash(); older handles are dead
  uint64_t sync_count_ = 0;
  std::set<std::string> locked_;
};

}  // namespace raft::storage
