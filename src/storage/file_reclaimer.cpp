#include "storage/file_reclaimer.hpp"

#include <algorithm>

#include "util/thread_name.hpp"

namespace raft::storage {

namespace {
bool gone(const Status& st) { return st.code() == ErrorCode::kNotFound; }
}  // namespace

FileReclaimer::FileReclaimer(FileSystem* fs, ReclaimOptions options, LogCallback log)
    : fs_(fs), options_(options), log_(std::move(log)) {}

FileReclaimer::~FileReclaimer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FileReclaimer::add_file(std::string path, uint64_t bytes) { add({std::move(path), false, bytes}); }

void FileReclaimer::add_tree(std::string path, uint64_t bytes) { add({std::move(path), true, bytes}); }

void FileReclaimer::add(Item item) {
  if (!options_.background) return reclaim(item);
  std::lock_guard lock(mu_);
  queued_bytes_ += item.bytes;
  queue_.push_back(std::move(item));
  if (!thread_.joinable()) {
    thread_ = std::thread([this] {
      util::set_thread_name("raft-reclaim");
      run();
    });
  }
  cv_.notify_all();
}

FileReclaimer::Backlog FileReclaimer::backlog() const {
  std::lock_guard lock(mu_);
  return {queue_.size() + (busy_ ? 1 : 0), queued_bytes_ + current_left_.load(std::memory_order_relaxed)};
}

bool FileReclaimer::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_until(lock, deadline, [&] { return queue_.empty() && !busy_; });
}

void FileReclaimer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= item.bytes;
    busy_ = true;
    lock.unlock();
    reclaim(item);
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

void FileReclaimer::reclaim(const Item& item) {
  current_left_.store(0, std::memory_order_relaxed);
  Status st = item.tree ? reclaim_tree(item.path) : reclaim_file(item.path);
  if (!st.ok() && st.code() != ErrorCode::kAborted) {
    log_message(log_, LogLevel::kWarning,
                "could not delete " + item.path + " (" + st.to_string() +
                    "); it is left for the next open to remove");
  }
}

Status FileReclaimer::reclaim_tree(const std::string& path) {
  auto dir = fs_->is_dir(path);
  if (!dir.ok()) return gone(dir.status()) ? Status() : dir.status();
  if (!*dir) return reclaim_file(path);
  auto names = fs_->list_dir(path);
  if (!names.ok()) return gone(names.status()) ? Status() : names.status();
  for (const auto& name : *names) RAFT_RETURN_IF_ERROR(reclaim_tree(join_path(path, name)));
  Status st = fs_->remove_dir(path);
  return gone(st) ? Status() : st;
}

Status FileReclaimer::reclaim_file(const std::string& path) {
  uint64_t last = 0;  // bytes the unlink frees, when known
  if (options_.step_bytes > 0) {
    auto file = fs_->open_file(path, OpenMode::kReadWrite);
    if (!file.ok()) return gone(file.status()) ? Status() : file.status();
    auto size = (*file)->size();
    if (!size.ok()) return size.status();
    // From the end, so the file is never more than one step from a plain
    // prefix of itself; what it holds no longer matters.
    uint64_t left = *size;
    while (left > options_.step_bytes) {
      left -= options_.step_bytes;
      current_left_.store(left, std::memory_order_relaxed);
      RAFT_RETURN_IF_ERROR((*file)->truncate(left));
      steps_.fetch_add(1, std::memory_order_relaxed);
      if (!pace(options_.step_bytes)) return Status(ErrorCode::kAborted, "the reclaimer is stopping");
    }
    last = left;
  }
  Status st = fs_->remove_file(path);
  if (gone(st)) return Status();
  if (!st.ok()) return st;
  files_.fetch_add(1, std::memory_order_relaxed);
  current_left_.store(0, std::memory_order_relaxed);
  // The unlink trimmed the rest: the next file's first step waits for it.
  if (!pace(last)) return Status(ErrorCode::kAborted, "the reclaimer is stopping");
  return Status();
}

bool FileReclaimer::pace(uint64_t bytes) {
  if (!options_.background) return true;
  std::unique_lock lock(mu_);
  if (options_.bytes_per_second > 0) {
    double rate = static_cast<double>(options_.bytes_per_second);
    if (options_.drain.count() > 0) {
      // With the bytes just done: the last step of a backlog waits at most
      // `drain`, not bytes / bytes_per_second.
      double backlog =
          static_cast<double>(queued_bytes_ + current_left_.load(std::memory_order_relaxed) + bytes);
      rate = std::max(rate, backlog * 1e3 / static_cast<double>(options_.drain.count()));
    }
    // A budget that refills at the rate and holds at most what one wait
    // pays for: after an idle spell the first step goes at once, and no
    // burst follows it.
    auto now = std::chrono::steady_clock::now();
    if (ready_at_ < now) ready_at_ = now;
    ready_at_ += std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(bytes) * 1e9 / rate));
    cv_.wait_until(lock, ready_at_, [&] { return stop_; });
  }
  return !stop_;
}

}  // namespace raft::storage
