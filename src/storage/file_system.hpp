// FileSystem: everything the storage layer asks of the operating system,
// behind one small interface (LevelDB's Env, reduced to files).
//
// The WAL, the stable store and the snapshot store never call open(2),
// pwrite(2), fdatasync(2), rename(2) and friends directly: they go through
// a FileSystem. default_file_system() is the POSIX one. MemoryFileSystem
// (memory_file_system.hpp) models a disk that loses what was not synced.
// FileSystemWrapper and FileWrapper forward every call to another object,
// so a fault test overrides the one method it wants to break (fail the
// tenth write, block a sync) without access hacks or global flags.
//
// Paths are plain strings joined with '/'; no method interprets "..".
//
// Thread safety: a FileSystem may be called from any thread. A File may be
// used from several threads at once as long as no two calls write the same
// bytes (pread and pwrite do not share a file position). The POSIX file
// system is stateless; wrappers must keep that promise.
//
// Ownership: open_file() and lock_file() transfer the returned object to
// the caller; closing is destruction. A wrapper borrows its target, which
// must outlive it (FileWrapper owns its target File).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.hpp"

namespace raft::storage {

// An open file, addressed by offset only.
class File {
 public:
  virtual ~File() = default;

  // Reads up to out.size() bytes at `offset`; returns how many were read,
  // fewer only at the end of the file. Errors: IoError.
  virtual Result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) = 0;
  // Writes all of `data` at `offset`, growing the file if needed. Not
  // durable until sync_data() or sync(). Errors: IoError.
  virtual Status write_at(uint64_t offset, std::span<const uint8_t> data) = 0;
  // Makes the written bytes and the file size durable (fdatasync; fsync
  // where there is none; F_FULLFSYNC on macOS). Blocks. Errors: IoError.
  virtual Status sync_data() = 0;
  // Like sync_data(), and all the file's metadata too (fsync).
  virtual Status sync() = 0;
  // Sets the file's size: cuts it, or extends it with zeros.
  virtual Status truncate(uint64_t size) = 0;
  // Reserves disk space for bytes [0, size) so later writes there need no
  // allocation; the file's size becomes at least `size` and unwritten
  // bytes read as zeros. Where the OS cannot reserve, extends the size.
  virtual Status allocate(uint64_t size) = 0;
  virtual Result<uint64_t> size() = 0;
  // The path it was opened with, for error messages.
  virtual const std::string& path() const = 0;
};

enum class OpenMode {
  kRead,         // existing file, reads only
  kReadWrite,    // existing file
  kCreate,       // create if missing, else open as is
  kCreateNew,    // create; AlreadyExists if the name is taken
};

// Held while a process uses a directory; released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Errors: NotFound (kRead, kReadWrite on a missing file), AlreadyExists
  // (kCreateNew), IoError.
  virtual Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) = 0;
  // Atomically replaces `to` by `from` (rename(2)); both in one directory.
  // Not durable until sync_dir() of that directory.
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // Removes a file (unlink). Not durable until sync_dir(). NotFound if missing.
  virtual Status remove_file(const std::string& path) = 0;
  // Creates a directory; OK if it exists already. Not durable until
  // sync_dir() of its parent.
  virtual Status create_dir(const std::string& path) = 0;
  // Removes an empty directory.
  virtual Status remove_dir(const std::string& path) = 0;
  // The names in a directory (not "." or ".."), in no particular order.
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual Status sync_dir(const std::string& path) = 0;
  virtual Result<bool> exists(const std::string& path) = 0;
  virtual Result<bool> is_dir(const std::string& path) = 0;
  // An exclusive advisory lock on `path` (created if missing), so that two
  // processes never open one store. Busy if another holder has it.
  virtual Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) = 0;
};

// The operating system's file system. Never null; lives for ever.
FileSystem* default_file_system();

// Forwards every call to a target File it owns.
class FileWrapper : public File {
 public:
  explicit FileWrapper(std::unique_ptr<File> target) : target_(std::move(target)) {}
  File* target() const { return target_.get(); }

  Result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) override {
    return target_->read_at(offset, out);
  }
  Status write_at(uint64_t offset, std::span<const uint8_t> data) override {
    return target_->write_at(offset, data);
  }
  Status sync_data() override { return target_->sync_data(); }
  Status sync() override { return target_->sync(); }
  Status truncate(uint64_t size) override { return target_->truncate(size); }
  Status allocate(uint64_t size) override { return target_->allocate(size); }
  Result<uint64_t> size() override { return target_->size(); }
  const std::string& path() const override { return target_->path(); }

 private:
  std::unique_ptr<File> target_;
};

// Forwards every call to a borrowed target FileSystem.
class FileSystemWrapper : public FileSystem {
 public:
  explicit FileSystemWrapper(FileSystem* target) : target_(target) {}
  FileSystem* target() const { return target_; }

  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override {
    return target_->open_file(path, mode);
  }
  Status rename(const std::string& from, const std::string& to) override {
    return target_->rename(from, to);
  }
  Status remove_file(const std::string& path) override { return target_->remove_file(path); }
  Status create_dir(const std::string& path) override { return target_->create_dir(path); }
  Status remove_dir(const std::string& path) override { return target_->remove_dir(path); }
  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    return target_->list_dir(path);
  }
  Status sync_dir(const std::string& path) override { return target_->sync_dir(path); }
  Result<bool> exists(const std::string& path) override { return target_->exists(path); }
  Result<bool> is_dir(const std::string& path) override { return target_->is_dir(path); }
  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) override {
    return target_->lock_file(path);
  }

 private:
  FileSystem* target_;
};

// Helpers over any FileSystem.

// "dir/name"; `dir` may or may not end with '/'.
std::string join_path(std::string_view dir, std::string_view name);
// The directory part of a path ("." when there is none).
std::string parent_dir(std::string_view path);

// Reads exactly out.size() bytes at offset; Corruption naming the file if
// the file ends first.
Status read_exact(File* file, uint64_t offset, std::span<uint8_t> out);
// Reads a whole file (for small files only: state, meta, intent).
Result<std::string> read_whole_file(FileSystem* fs, const std::string& path);
// Replaces `path` atomically and durably with `contents`: writes
// path.tmp, syncs it, renames it over path, syncs the directory.
Status write_file_atomically(FileSystem* fs, const std::string& path, std::string_view contents);
// Creates `dir` and any missing parents, syncing each parent that got a
// new entry so the directory itself survives a crash.
Status create_dirs_durably(FileSystem* fs, const std::string& dir);
// Removes a directory and everything below it (not durable by itself).
Status remove_tree(FileSystem* fs, const std::string& path);

}  // namespace raft::storage
