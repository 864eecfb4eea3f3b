// FileStableStore: a StableStore in one checksummed file, `<dir>/state`,
// replaced whole on every change through a temporary file, a rename and a
// directory sync (docs/disk-format.md, "Stable store"). A rename cannot be
// torn, so a bad checksum is always corruption and is reported, never
// papered over with an older value.
//
// Thread safety: as StableStore. Ownership: borrows options.fs (which
// must outlive the store); holds `<dir>/LOCK` while open.
#pragma once

#include <memory>

#include "storage/file_system.hpp"
#include "storage/logging.hpp"
#include "storage/stable_store.hpp"

namespace raft::storage {

struct FileStableStoreOptions {
  FileSystem* fs = nullptr;  // null: default_file_system()
  LogCallback log;           // empty: stderr
};

class FileStableStore final : public StableStore {
 public:
  // Opens (creating `dir` if needed) and reads the state file. Errors:
  // Corruption or Unsupported naming the file, Busy if another store has
  // the directory open, IoError.
  static Result<std::unique_ptr<FileStableStore>> open(const std::string& dir,
                                                       FileStableStoreOptions options = {});

  Result<HardState> load_hard_state() override;
  Status save_hard_state(const HardState& state) override;
  Result<std::optional<std::string>> get(std::string_view name) override;
  Status set(std::string_view name, std::string_view value) override;

  // Decodes the state file's bytes (raft_dump and the fuzz tests use it).
  // `path` only names the file in errors.
  static Status decode(std::string_view bytes, const std::string& path, HardState* hard_state,
                       std::map<std::string, std::string>* values);

 private:
  FileStableStore(FileSystem* fs, std::string dir, std::unique_ptr<FileLock> lock)
      : fs_(fs), dir_(std::move(dir)), lock_(std::move(lock)) {}
  Status write(const HardState& hs, const std::map<std::string, std::string>& values);

  FileSystem* fs_;
  std::string dir_;
  std::unique_ptr<FileLock> lock_;
  std::mutex mu_;
  // The durable contents; changed only after a write succeeded.
  HardState hard_state_;
  std::map<std::string, std::string> values_;
  // Set by a failed write: the file's state is unknown until reopened.
  Status failed_;
};

}  // namespace raft::storage
