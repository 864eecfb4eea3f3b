#include "runtime/apply_worker.hpp"

#include <exception>

#include "util/assert.hpp"
#include "util/thread_name.hpp"

namespace raft::runtime {

ApplyWorker::ApplyWorker(std::shared_ptr<Fsm> fsm, Logger logger, std::function<void(size_t)> released)
    : fsm_(std::move(fsm)), logger_(std::move(logger)), released_(std::move(released)) {}

ApplyWorker::~ApplyWorker() { stop(); }

void ApplyWorker::start(const AppliedMeta& applied) {
  meta_ = applied;
  applied_.store(applied.index.value, std::memory_order_release);
  thread_ = std::thread([this] {
    util::set_thread_name("raft-apply");
    run();
  });
}

void ApplyWorker::enqueue(std::vector<ApplyItem> items) {
  if (items.empty()) return;
  queued_.fetch_add(items.size(), std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  queue_.emplace_back(std::move(items));
  cv_.notify_one();
}

void ApplyWorker::wait_applied(Index index, detail::Promise<uint64_t> p) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.emplace_back(ReadWait{index, std::move(p)});
  cv_.notify_one();
}

void ApplyWorker::run_in_order(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.emplace_back(std::move(fn));
  cv_.notify_one();
}

void ApplyWorker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  // Whatever never ran: tell its waiters.
  Status down(ErrorCode::kShutdown, "node shut down");
  std::deque<Work> rest;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rest.swap(queue_);
  }
  for (Work& w : rest) {
    if (auto* items = std::get_if<std::vector<ApplyItem>>(&w)) {
      for (ApplyItem& it : *items) {
        if (it.command_promise) it.command_promise->set_error(down);
        if (it.barrier_promise) it.barrier_promise->set_error(down);
      }
    } else if (auto* r = std::get_if<ReadWait>(&w)) {
      r->promise.set_error(down);
    }
  }
  for (auto& [index, p] : reads_) p.set_error(down);
  reads_.clear();
}

void ApplyWorker::reset_to(const AppliedMeta& m) {
  meta_ = m;
  applied_.store(m.index.value, std::memory_order_release);
}

void ApplyWorker::run() {
  for (;;) {
    std::deque<Work> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      batch.swap(queue_);
    }
    while (!batch.empty()) {
      Work w = std::move(batch.front());
      batch.pop_front();
      if (auto* items = std::get_if<std::vector<ApplyItem>>(&w)) {
        for (ApplyItem& it : *items) apply_one(it);
        queued_.fetch_sub(items->size(), std::memory_order_relaxed);
        resolve_reads();
      } else if (auto* r = std::get_if<ReadWait>(&w)) {
        reads_.emplace(r->index, std::move(r->promise));
        resolve_reads();
      } else {
        std::get<std::function<void()>>(w)();
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        // stop() fails whatever this batch did not reach.
        while (!batch.empty()) {
          queue_.push_front(std::move(batch.back()));
          batch.pop_back();
        }
        return;
      }
    }
  }
}

void ApplyWorker::apply_one(ApplyItem& it) {
  const Entry& e = it.entry;
  RAFT_ASSERT_MSG(e.index.value == applied_.load(std::memory_order_relaxed) + 1, "applying out of order");
  if (e.type == EntryType::kCommand) {
    LogEntry le;
    le.index = e.index.value;
    le.term = e.term.value;
    le.kind = EntryKind::kCommand;
    le.data = e.data.span();
    le.buffer = e.data;
    std::any result;
    Status err;
    try {
      result = fsm_->apply(le);
    } catch (const std::exception& ex) {
      err = Status(ErrorCode::kInternal, std::string("the FSM's apply threw: ") + ex.what());
    } catch (...) {
      err = Status(ErrorCode::kInternal, "the FSM's apply threw");
    }
    if (!err.ok()) logger_.error("entry ", e.index, ": ", err.message());
    meta_.index = e.index;
    meta_.term = e.term;
    count(entries_applied_);
    count(bytes_applied_, e.data.size() + kEntryOverheadBytes);
    count(commands_applied_);
    applied_.store(e.index.value, std::memory_order_release);
    if (it.command_promise) {
      // Room first: a completion callback that submits the next command
      // (a closed loop) must find the room this one held.
      if (released_) released_(e.data.size());
      if (err.ok()) it.command_promise->set_value(std::move(result));
      else it.command_promise->set_error(err);
    }
  } else {
    // The event loop attaches a command's promise only to the entry it
    // proposed (same index and term), so this is a barrier, noop or
    // configuration entry.
    RAFT_ASSERT(!it.command_promise);
    if (e.type == EntryType::kConfiguration) {
      Configuration c;
      if (decode_configuration(e.data.span(), &c)) {
        meta_.configuration = std::move(c);
        meta_.configuration_index = e.index;
      }
    }
    meta_.index = e.index;
    meta_.term = e.term;
    count(entries_applied_);
    count(bytes_applied_, e.data.size() + kEntryOverheadBytes);
    applied_.store(e.index.value, std::memory_order_release);
    if (it.barrier_promise) it.barrier_promise->set_ok();
  }
}

void ApplyWorker::resolve_reads() {
  Index applied = this->applied();
  while (!reads_.empty() && reads_.begin()->first <= applied) {
    reads_.begin()->second.set_value(reads_.begin()->first.value);
    reads_.erase(reads_.begin());
  }
}

}  // namespace raft::runtime
