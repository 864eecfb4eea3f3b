// Shared helpers of the storage tests: deterministic entries, a temporary
// directory on the real disk, the soak knob, and FaultFileSystem, a
// FileSystemWrapper that makes calls fail on cue.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "storage/file_system.hpp"
#include "util/types.hpp"

namespace raft::storage::testing {

// An entry whose bytes depend on (index, term, nonce), so an entry that
// comes back from before a truncation never compares equal to its
// replacement.
inline Entry make_entry(uint64_t index, uint64_t term, size_t size, uint64_t nonce = 0) {
  std::string data(size, '\0');
  uint64_t x = index * 0x9e3779b97f4a7c15ull ^ term * 0xbf58476d1ce4e5b9ull ^ nonce;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    data[i] = static_cast<char>(x);
  }
  EntryType type = (index % 7 == 0) ? EntryType::kNoop : EntryType::kCommand;
  return Entry{Index(index), Term(term), type, Buffer::from_string(std::move(data))};
}

inline bool same_entry(const Entry& a, const Entry& b) {
  return a.index == b.index && a.term == b.term && a.type == b.type && a.data == b.data;
}

// Iterations of randomized tests: `ci` normally; RAFT_STORAGE_SOAK=N (set
// by `make soak`) multiplies it by N.
inline int iterations(int ci) {
  const char* soak = std::getenv("RAFT_STORAGE_SOAK");
  if (soak == nullptr || *soak == '\0') return ci;
  long k = std::strtol(soak, nullptr, 10);
  return k > 1 ? static_cast<int>(ci * k) : ci;
}

// The seeds a randomized test runs: `ci` consecutive seeds from `base`
// (times RAFT_STORAGE_SOAK), or only RAFT_STORAGE_SEED when it is set, to
// replay a failure. Tests print the seed of a failing iteration.
inline std::vector<uint64_t> seeds(int ci, uint64_t base) {
  const char* s = std::getenv("RAFT_STORAGE_SEED");
  if (s != nullptr && *s != '\0') return {std::strtoull(s, nullptr, 10)};
  std::vector<uint64_t> out;
  for (int i = 0; i < iterations(ci); ++i) out.push_back(base + static_cast<uint64_t>(i));
  return out;
}

// A fresh directory on the real disk, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string base = std::filesystem::temp_directory_path().string() + "/libraft-storage-XXXXXX";
    std::vector<char> buf(base.begin(), base.end());
    buf.push_back('\0');
    char* p = ::mkdtemp(buf.data());
    EXPECT_NE(p, nullptr);
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Fails mutating calls on cue: fail_after(n) lets n more mutating calls
// through, then fails every one (a process that died at that point);
// fail_once_at(n) fails only the n-th from now. Reads always work.
class FaultFileSystem : public FileSystemWrapper {
 public:
  static constexpr uint64_t kNever = UINT64_MAX;
  explicit FaultFileSystem(FileSystem* target) : FileSystemWrapper(target) {}

  void fail_after(uint64_t n) {
    std::lock_guard lock(mu_);
    budget_ = n;
    once_ = false;
  }
  void fail_once_at(uint64_t n) {
    std::lock_guard lock(mu_);
    budget_ = n;
    once_ = true;
  }
  void heal() { fail_after(kNever); }
  uint64_t mutating_calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  bool tripped() const {
    std::lock_guard lock(mu_);
    return tripped_;
  }

  // OK, or the injected IoError.
  Status check(const char* what, const std::string& path) {
    std::lock_guard lock(mu_);
    ++calls_;
    if (budget_ == kNever) return Status();
    if (budget_ > 0) {
      --budget_;
      return Status();
    }
    tripped_ = true;
    if (once_) budget_ = kNever;
    return io_error(path + ": " + what + ": injected fault");
  }

  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override;
  Status rename(const std::string& from, const std::string& to) override {
    RAFT_RETURN_IF_ERROR(check("rename", from));
    return FileSystemWrapper::rename(from, to);
  }
  Status remove_file(const std::string& path) override {
    RAFT_RETURN_IF_ERROR(check("unlink", path));
    return FileSystemWrapper::remove_file(path);
  }
  Status create_dir(const std::string& path) override {
    RAFT_RETURN_IF_ERROR(check("mkdir", path));
    return FileSystemWrapper::create_dir(path);
  }
  Status remove_dir(const std::string& path) override {
    RAFT_RETURN_IF_ERROR(check("rmdir", path));
    return FileSystemWrapper::remove_dir(path);
  }
  Status sync_dir(const std::string& path) override {
    RAFT_RETURN_IF_ERROR(check("fsync dir", path));
    return FileSystemWrapper::sync_dir(path);
  }

 private:
  mutable std::mutex mu_;
  uint64_t budget_ = kNever;
  bool once_ = false;
  bool tripped_ = false;
  uint64_t calls_ = 0;
};

class FaultFile : public FileWrapper {
 public:
  FaultFile(FaultFileSystem* fs, std::unique_ptr<File> target)
      : FileWrapper(std::move(target)), fs_(fs) {}
  Status write_at(uint64_t offset, std::span<const uint8_t> data) override {
    RAFT_RETURN_IF_ERROR(fs_->check("pwrite", path()));
    return FileWrapper::write_at(offset, data);
  }
  Status sync_data() override {
    RAFT_RETURN_IF_ERROR(fs_->check("fdatasync", path()));
    return FileWrapper::sync_data();
  }
  Status sync() override {
    RAFT_RETURN_IF_ERROR(fs_->check("fsync", path()));
    return FileWrapper::sync();
  }
  Status truncate(uint64_t size) override {
    RAFT_RETURN_IF_ERROR(fs_->check("ftruncate", path()));
    return FileWrapper::truncate(size);
  }
  Status allocate(uint64_t size) override {
    RAFT_RETURN_IF_ERROR(fs_->check("fallocate", path()));
    return FileWrapper::allocate(size);
  }

 private:
  FaultFileSystem* fs_;
};

inline Result<std::unique_ptr<File>> FaultFileSystem::open_file(const std::string& path,
                                                                OpenMode mode) {
  if (mode == OpenMode::kCreate || mode == OpenMode::kCreateNew)
    RAFT_RETURN_IF_ERROR(check("open for create", path));
  auto f = FileSystemWrapper::open_file(path, mode);
  if (!f.ok()) return f.status();
  return std::unique_ptr<File>(new FaultFile(this, std::move(*f)));
}

// Records the calls that change names or cut files, in order:
// "truncate <path> <size>", "unlink <path>", "rename <from> <to>",
// "sync_dir <path>".
class RecordingFileSystem : public FileSystemWrapper {
 public:
  explicit RecordingFileSystem(FileSystem* target) : FileSystemWrapper(target) {}

  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override;
  Status remove_file(const std::string& path) override {
    record("unlink " + path);
    return FileSystemWrapper::remove_file(path);
  }
  Status rename(const std::string& from, const std::string& to) override {
    record("rename " + from + " " + to);
    return FileSystemWrapper::rename(from, to);
  }
  Status sync_dir(const std::string& path) override {
    record("sync_dir " + path);
    return FileSystemWrapper::sync_dir(path);
  }
  void record(std::string what) {
    std::lock_guard lock(mu_);
    calls_.push_back(std::move(what));
  }
  std::vector<std::string> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // The recorded calls that start with `prefix`.
  std::vector<std::string> calls_starting(const std::string& prefix) {
    std::vector<std::string> out;
    for (auto& c : calls())
      if (c.rfind(prefix, 0) == 0) out.push_back(std::move(c));
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> calls_;
};

class RecordingFile : public FileWrapper {
 public:
  RecordingFile(RecordingFileSystem* fs, std::unique_ptr<File> target)
      : FileWrapper(std::move(target)), fs_(fs) {}
  Status truncate(uint64_t size) override {
    fs_->record("truncate " + path() + " " + std::to_string(size));
    return FileWrapper::truncate(size);
  }

 private:
  RecordingFileSystem* fs_;
};

inline Result<std::unique_ptr<File>> RecordingFileSystem::open_file(const std::string& path,
                                                                    OpenMode mode) {
  auto f = FileSystemWrapper::open_file(path, mode);
  if (!f.ok()) return f.status();
  return std::unique_ptr<File>(new RecordingFile(this, std::move(*f)));
}

// Reads a whole file of a FileSystem into a string (test convenience).
inline std::string slurp(FileSystem* fs, const std::string& path) {
  auto r = read_whole_file(fs, path);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : std::string();
}

// Overwrites bytes of a file and syncs it (to damage it on purpose).
inline void poke(FileSystem* fs, const std::string& path, uint64_t offset, std::string_view bytes) {
  auto f = fs->open_file(path, OpenMode::kReadWrite);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  ASSERT_TRUE((*f)->write_at(offset, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).ok());
  ASSERT_TRUE((*f)->sync().ok());
}

inline void cut(FileSystem* fs, const std::string& path, uint64_t size) {
  auto f = fs->open_file(path, OpenMode::kReadWrite);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  ASSERT_TRUE((*f)->truncate(size).ok());
  ASSERT_TRUE((*f)->sync().ok());
}

}  // namespace raft::storage::testing
