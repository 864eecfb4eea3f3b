// The FileSystem of the operating system: POSIX calls, with small named
// fallbacks where Linux and macOS differ (DESIGN.md, "Platforms").
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "storage/file_system.hpp"

namespace raft::storage {
namespace {

Status errno_status(const std::string& what, const std::string& path, int err) {
  std::string m = path + ": " + what + ": " + std::strerror(err);
  if (err == ENOENT) return not_found(std::move(m));
  if (err == EEXIST) return Status(ErrorCode::kAlreadyExists, std::move(m));
  return io_error(std::move(m));
}

// fdatasync where it exists. On macOS fsync does not reach the platter,
// so the only honest flush is F_FULLFSYNC.
int sync_data_fd(int fd) {
#if defined(__APPLE__)
  return fcntl(fd, F_FULLFSYNC);
#elif defined(__linux__) || defined(_POSIX_SYNCHRONIZED_IO)
  return fdatasync(fd);
#else
  return fsync(fd);
#endif
}

int sync_fd(int fd) {
#if defined(__APPLE__)
  return fcntl(fd, F_FULLFSYNC);
#else
  return fsync(fd);
#endif
}

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { ::close(fd_); }

  Result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) override {
    for (;;) {
      ssize_t n = ::pread(fd_, out.data(), out.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return errno_status("pread at " + std::to_string(offset), path_, errno);
    }
  }

  Status write_at(uint64_t offset, std::span<const uint8_t> data) override {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_status("pwrite at " + std::to_string(offset), path_, errno);
      }
      data = data.subspan(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return Status();
  }

  Status sync_data() override {
    if (sync_data_fd(fd_) != 0) return errno_status("fdatasync", path_, errno);
    return Status();
  }

  Status sync() override {
    if (sync_fd(fd_) != 0) return errno_status("fsync", path_, errno);
    return Status();
  }

  Status truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      return errno_status("ftruncate to " + std::to_string(size), path_, errno);
    return Status();
  }

  Status allocate(uint64_t size) override {
#if defined(__linux__)
    // Mode 0 reserves the blocks and extends the size; the new range reads
    // as zeros. File systems without fallocate fall back to ftruncate.
    for (;;) {
      if (::fallocate(fd_, 0, 0, static_cast<off_t>(size)) == 0) return Status();
      if (errno == EINTR) continue;
      if (errno != EOPNOTSUPP && errno != ENOSYS)
        return errno_status("fallocate " + std::to_string(size), path_, errno);
      break;
    }
#endif
    auto current = this->size();
    if (!current.ok()) return current.status();
    if (*current >= size) return Status();
    return truncate(size);
  }

  Result<uint64_t> size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return errno_status("fstat", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  int fd_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case OpenMode::kRead: flags |= O_RDONLY; break;
      case OpenMode::kReadWrite: flags |= O_RDWR; break;
      case OpenMode::kCreate: flags |= O_RDWR | O_CREAT; break;
      case OpenMode::kCreateNew: flags |= O_RDWR | O_CREAT | O_EXCL; break;
    }
    int fd;
    do {
      fd = ::open(path.c_str(), flags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno_status("open", path, errno);
    return std::unique_ptr<File>(new PosixFile(path, fd));
  }

  Status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return errno_status("rename to " + to, from, errno);
    return Status();
  }

  Status remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return errno_status("unlink", path, errno);
    return Status();
  }

  Status create_dir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
      return errno_status("mkdir", path, errno);
    return Status();
  }

  Status remove_dir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) return errno_status("rmdir", path, errno);
    return Status();
  }

  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return errno_status("opendir", path, errno);
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (name != "." && name != "..") names.emplace_back(name);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return errno_status("readdir", path, err);
    return names;
  }

  Status sync_dir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_status("open directory", path, errno);
    int rc = sync_fd(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return errno_status("fsync directory", path, err);
    return Status();
  }

  Result<bool> exists(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) return true;
    if (errno == ENOENT) return false;
    return errno_status("stat", path, errno);
  }

  Result<bool> is_dir(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) return S_ISDIR(st.st_mode) != 0;
    if (errno == ENOENT) return false;
    return errno_status("stat", path, errno);
  }

  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return errno_status("open lock file", path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK)
        return Status(ErrorCode::kBusy, path + ": locked by another process or store");
      return errno_status("flock", path, err);
    }
    return std::unique_ptr<FileLock>(new PosixFileLock(fd));
  }
};

}  // namespace

FileSystem* default_file_system() {
  static PosixFileSystem* fs = new PosixFileSystem();  // never destroyed: used at exit
  return fs;
}

}  // namespace raft::storage
