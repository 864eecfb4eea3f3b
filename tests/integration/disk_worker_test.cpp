// The disk thread's round (src/runtime/disk_worker.hpp): every request
// queued since the last round is written in order and synced once; the
// entries of consecutive requests go to the log in one append, and a
// truncation, reset or prefix drop first writes what came before it.
#include "runtime/disk_worker.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/clock.hpp"
#include "storage/memory_log_store.hpp"
#include "storage/stable_store.hpp"

namespace raft::runtime {
namespace {

// Records every mutating call as a line, and passes it on.
class RecordingLog : public storage::LogStoreWrapper {
 public:
  explicit RecordingLog(storage::LogStore* target) : LogStoreWrapper(target) {}
  Status append(std::span<const Entry> entries) override {
    calls.push_back("append " + std::to_string(entries.front().index.value) + ".." +
                    std::to_string(entries.back().index.value));
    return LogStoreWrapper::append(entries);
  }
  Result<Index> sync() override {
    calls.push_back("sync");
    return LogStoreWrapper::sync();
  }
  Status truncate_suffix(Index from) override {
    calls.push_back("truncate " + std::to_string(from.value));
    return LogStoreWrapper::truncate_suffix(from);
  }
  Status drop_prefix(Index up_to) override {
    calls.push_back("drop " + std::to_string(up_to.value));
    return LogStoreWrapper::drop_prefix(up_to);
  }
  Status reset(Index next) override {
    calls.push_back("reset " + std::to_string(next.value));
    return LogStoreWrapper::reset(next);
  }
  std::vector<std::string> calls;  // disk thread only, read after stop()
};

std::vector<Entry> entries(uint64_t from, uint64_t to, uint64_t term) {
  std::vector<Entry> v;
  for (uint64_t i = from; i <= to; ++i)
    v.push_back(Entry{Index(i), Term(term), EntryType::kCommand, Buffer::copy_of(std::to_string(i))});
  return v;
}

TEST(DiskWorkerTest, ARoundAppendsConsecutiveRequestsAtOnceAndKeepsTheOrderOfTheRest) {
  storage::MemoryLogStore memory;
  RecordingLog log(&memory);
  storage::MemoryStableStore stable;
  SteadyClock clock;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t durable_seq = 0;
  Index durable_index;
  Term durable_term;
  DiskCallbacks cb;
  cb.log_durable = [&](uint64_t seq, Index index, Term term) {
    std::lock_guard lock(mu);
    durable_seq = seq;
    durable_index = index;
    durable_term = term;
    cv.notify_all();
  };
  cb.failed = [](Status st) { ADD_FAILURE() << st.to_string(); };
  DiskWorker disk(&log, &stable, &clock, cb, Logger(nullptr, LogLevel::kOff));

  // Queued before the thread starts, so they are one round.
  auto req = [](std::vector<Entry> e) {
    DiskRequest r;
    r.entries = std::move(e);
    return r;
  };
  disk.submit(req(entries(1, 3, 1)));
  disk.submit(req(entries(4, 5, 1)));
  DiskRequest truncate = req(entries(5, 6, 2));  // entry 5 is replaced
  truncate.truncate_from = Index(5);
  disk.submit(std::move(truncate));
  DiskRequest compact = req(entries(7, 7, 2));
  compact.compact_to = Index(2);  // after its own entries
  disk.submit(std::move(compact));
  uint64_t last = disk.submit(req(entries(8, 9, 2)));
  disk.start();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return durable_seq == last; }));
  }
  disk.stop();

  EXPECT_EQ(log.calls, (std::vector<std::string>{"append 1..5", "truncate 5", "append 5..7", "drop 2",
                                                 "append 8..9", "sync"}));
  EXPECT_EQ(durable_index, Index(9));
  EXPECT_EQ(durable_term, Term(2));
  EXPECT_EQ(disk.syncs(), 1u);
  EXPECT_EQ(memory.first_index(), Index(3));
  EXPECT_EQ(memory.last_index(), Index(9));
  std::vector<Entry> out;
  ASSERT_TRUE(memory.read(Index(3), Index(9), SIZE_MAX, &out).ok());
  for (const Entry& e : out) {
    EXPECT_EQ(e.term, Term(e.index.value >= 5 ? 2 : 1)) << "entry " << e.index.value;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(e.data.data()), e.data.size()),
              std::to_string(e.index.value));
  }
}

}  // namespace
}  // namespace raft::runtime
