#include "runtime/disk_worker.hpp"

#include <string>

#include "util/assert.hpp"
#include "util/thread_name.hpp"

namespace raft::runtime {

DiskWorker::DiskWorker(storage::LogStore* log, storage::StableStore* stable, const Clock* clock,
                       DiskCallbacks callbacks, Logger logger)
    : log_(log), stable_(stable), clock_(clock), cb_(std::move(callbacks)), logger_(std::move(logger)) {}

DiskWorker::~DiskWorker() { stop(); }

void DiskWorker::start() {
  RAFT_ASSERT(!thread_.joinable());
  thread_ = std::thread([this] {
    util::set_thread_name("raft-disk");
    run();
  });
}

uint64_t DiskWorker::submit(DiskRequest r) {
  std::lock_guard<std::mutex> lock(mu_);
  r.seq = next_seq_++;
  uint64_t seq = r.seq;
  queue_.emplace_back(clock_->now(), std::move(r));
  cv_.notify_one();
  return seq;
}

void DiskWorker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

std::optional<core::Nanos> DiskWorker::oldest_outstanding() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (busy_since_) return busy_since_;
  if (!queue_.empty()) return queue_.front().first;
  return std::nullopt;
}

void DiskWorker::run() {
  std::vector<DiskRequest> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and everything is written
      busy_since_ = queue_.front().first;
      batch.clear();
      for (auto& [t, r] : queue_) batch.push_back(std::move(r));
      queue_.clear();
    }
    bool ok = !failed_ && process(batch);
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_since_.reset();
      if (!ok) failed_ = true;
    }
  }
  if (!failed_) write_commit_hint(/*force=*/true);
}

bool DiskWorker::process(std::vector<DiskRequest>& batch) {
  rounds_.fetch_add(1, std::memory_order_relaxed);
  auto fail = [&](const Status& s, const char* what) {
    Status e = s.with_context(what);
    logger_.error("disk: ", e.to_string(), "; the node stops");
    if (cb_.failed) cb_.failed(e);
    return false;
  };

  // 1. The hard state first: only the newest matters, each is complete.
  const HardState* hs = nullptr;
  uint64_t hs_seq = 0;
  for (const DiskRequest& r : batch) {
    if (r.hard_state) {
      hs = &*r.hard_state;
      hs_seq = r.seq;
    }
  }
  if (hs) {
    Status s = stable_->save_hard_state(*hs);
    if (!s.ok()) return fail(s, "saving term and vote");
    if (cb_.hard_state_durable) cb_.hard_state_durable(hs_seq);
  }

  // 2. Log writes in order, then one sync for all of them (group commit).
  // The entries of consecutive requests go to the log in one append (one
  // write); a truncation, a reset or a prefix drop first writes what came
  // before it.
  core::Nanos round_start = clock_->now();
  std::optional<std::pair<Index, Term>> last;
  bool wrote = false;
  auto append_run = [&] {
    if (run_.empty()) return Status();
    Status s = log_->append(run_);
    run_.clear();
    return s;
  };
  for (DiskRequest& r : batch) {
    if (r.install || r.truncate_from) {
      Status s = append_run();
      if (!s.ok()) return fail(s, "appending to the log");
    }
    if (r.install) {
      // The snapshot is durable in its store; the log follows it.
      Status s = r.install->keep_log ? log_->drop_prefix(r.install->index) : log_->reset(r.install->index + 1);
      if (!s.ok()) return fail(s, "resetting the log after a snapshot");
      wrote = true;
    }
    if (r.truncate_from) {
      Status s = log_->truncate_suffix(*r.truncate_from);
      if (!s.ok()) return fail(s, "truncating the log");
      wrote = true;
    }
    if (!r.entries.empty()) {
      last = {r.entries.back().index, r.entries.back().term};
      run_.insert(run_.end(), std::make_move_iterator(r.entries.begin()),
                  std::make_move_iterator(r.entries.end()));
      wrote = true;
    }
    if (r.commit_hint) hint_pending_ = std::max(hint_pending_, *r.commit_hint);
    if (r.compact_to) {
      Status s = append_run();
      if (!s.ok()) return fail(s, "appending to the log");
      s = log_->drop_prefix(*r.compact_to);
      if (!s.ok()) return fail(s, "dropping the log prefix a snapshot covers");
    }
  }
  if (Status s = append_run(); !s.ok()) return fail(s, "appending to the log");
  if (wrote) {
    core::Nanos t0 = clock_->now();
    Result<Index> synced = log_->sync();
    if (!synced.ok()) return fail(synced.status(), "syncing the log");
    core::Nanos t1 = clock_->now();
    syncs_.fetch_add(1, std::memory_order_relaxed);
    sync_nanos_.fetch_add(static_cast<uint64_t>((t1 - t0).count()), std::memory_order_relaxed);
    fsync_latency_.record(t1 - t0);
    append_latency_.record(t1 - round_start);
  }
  if (last && cb_.log_durable) cb_.log_durable(batch.back().seq, last->first, last->second);
  write_commit_hint(/*force=*/false);
  return true;
}

void DiskWorker::write_commit_hint(bool force) {
  // Only a hint (ready.hpp rule 6): written at most once a second, since
  // each write is an fsync of its own.
  if (hint_pending_ <= hint_written_) return;
  core::Nanos now = clock_->now();
  if (!force && now - hint_written_at_ < std::chrono::seconds(1)) return;
  Status s = stable_->set("commit_index", std::to_string(hint_pending_.value));
  if (!s.ok()) {
    logger_.warn("disk: could not store the commit index hint: ", s.to_string());
    return;
  }
  hint_written_ = hint_pending_;
  hint_written_at_ = now;
}

}  // namespace raft::runtime
