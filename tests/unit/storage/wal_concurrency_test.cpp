// Readers on other threads while the one writer works (log_store.hpp,
// "Thread safety"): reads proceed while an fdatasync is in flight, and
// concurrent reads never see a torn or wrong entry.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <random>
#include <thread>

#include "storage/memory_file_system.hpp"
#include "storage/wal_log_store.hpp"
#include "storage_test_util.hpp"
#include "util/coding.hpp"

namespace raft::storage {
namespace {

// A sync_data() that waits until the test lets it go.
class GateFileSystem : public FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;

  class GateFile : public FileWrapper {
   public:
    GateFile(GateFileSystem* fs, std::unique_ptr<File> f) : FileWrapper(std::move(f)), fs_(fs) {}
    Status sync_data() override {
      fs_->enter_and_wait();
      return FileWrapper::sync_data();
    }

   private:
    GateFileSystem* fs_;
  };

  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override {
    auto f = FileSystemWrapper::open_file(path, mode);
    if (!f.ok()) return f.status();
    return std::unique_ptr<File>(new GateFile(this, std::move(*f)));
  }

  void arm() {
    std::lock_guard lock(mu_);
    armed_ = true;
  }
  // Blocks until a sync_data() is waiting inside the gate.
  bool wait_until_inside() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return inside_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    armed_ = false;
    cv_.notify_all();
  }

 private:
  void enter_and_wait() {
    std::unique_lock lock(mu_);
    if (!armed_) return;
    inside_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !armed_; });
    inside_ = false;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  bool inside_ = false;
};

TEST(WalConcurrencyTest, ReadsProceedWhileAnFdatasyncIsInFlight) {
  MemoryFileSystem disk;
  GateFileSystem fs(&disk);
  WalOptions o;
  o.fs = &fs;
  auto store = WalLogStore::open("/wal", o);
  ASSERT_TRUE(store.ok());
  std::vector<Entry> batch;
  for (uint64_t i = 1; i <= 100; ++i) batch.push_back(testing::make_entry(i, 1, 64));
  ASSERT_TRUE((*store)->append(batch).ok());

  fs.arm();
  std::thread writer([&] { EXPECT_TRUE((*store)->sync().ok()); });
  ASSERT_TRUE(fs.wait_until_inside());
  // The flush is stuck in the gate; a reader must not be.
  std::vector<Entry> out;
  EXPECT_TRUE((*store)->read(Index(1), Index(100), SIZE_MAX, &out).ok());
  EXPECT_EQ(out.size(), 100u);
  EXPECT_EQ((*store)->term_at(Index(50)).value(), Term(1));
  EXPECT_EQ((*store)->last_index(), Index(100));
  fs.release();
  writer.join();
}

// Payload: index, term and a nonce, then bytes derived from them, so a
// reader can check an entry it knows nothing else about.
Entry self_checking_entry(uint64_t index, uint64_t term, uint64_t nonce, size_t extra) {
  std::string s;
  put_u64(&s, index);
  put_u64(&s, term);
  put_u64(&s, nonce);
  for (size_t i = 0; i < extra; ++i) s.push_back(static_cast<char>(nonce * 131 + i));
  return Entry{Index(index), Term(term), EntryType::kCommand, Buffer::from_string(std::move(s))};
}

bool entry_checks_out(const Entry& e) {
  if (e.data.size() < 24) return false;
  const uint8_t* p = e.data.data();
  if (load_u64(p) != e.index.value || load_u64(p + 8) != e.term.value) return false;
  uint64_t nonce = load_u64(p + 16);
  for (size_t i = 24; i < e.data.size(); ++i)
    if (p[i] != static_cast<uint8_t>(nonce * 131 + (i - 24))) return false;
  return true;
}

TEST(WalConcurrencyTest, ConcurrentReadersNeverSeeAWrongEntryWhileTheWriterMutates) {
  for (uint64_t seed : testing::seeds(3, 30)) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: RAFT_STORAGE_SEED)");
    // Even seeds run on the real disk (real pread/pwrite races, few
    // operations because each sync is a real flush), odd ones on the
    // simulated disk (many operations).
    bool real_disk = seed % 2 == 0;
    testing::TempDir tmp;
    MemoryFileSystem memfs;
    WalOptions o;
    o.fs = real_disk ? default_file_system() : &memfs;
    o.segment_bytes = 8192;
    auto opened = WalLogStore::open(tmp.sub("wal"), o);
    ASSERT_TRUE(opened.ok());
    WalLogStore* store = opened->get();
    std::atomic<bool> done{false};
    std::atomic<uint64_t> reads{0};
    std::atomic<uint64_t> bad{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r) {
      readers.emplace_back([&, r] {
        std::mt19937_64 rng(seed * 10 + static_cast<uint64_t>(r));
        while (!done.load()) {
          Index first = store->first_index();
          Index last = store->last_index();
          if (last < first) continue;
          uint64_t span = last.value - first.value + 1;
          Index from = first + rng() % span;
          std::vector<Entry> out;
          Status st = store->read(from, last, 1 + rng() % 8192, &out);
          // A concurrent truncation or drop may move the range: NotFound
          // is fair, anything else is not.
          if (!st.ok() && st.code() != ErrorCode::kNotFound) ++bad;
          for (size_t i = 0; i < out.size(); ++i)
            if (!entry_checks_out(out[i]) || out[i].index != from + i) ++bad;
          ++reads;
        }
      });
    }
    std::mt19937_64 rng(seed);
    uint64_t term = 1, nonce = 0;
    int ops = real_disk ? 300 : 3000;  // the soak adds seeds, not length
    for (int k = 0; k < ops || reads.load() < 100; ++k) {
      uint64_t last = store->last_index().value;
      int op = static_cast<int>(rng() % 100);
      if (op < 60) {
        std::vector<Entry> batch;
        uint64_t n = 1 + rng() % 16;
        for (uint64_t i = 1; i <= n; ++i)
          batch.push_back(self_checking_entry(last + i, term, ++nonce, rng() % 300));
        ASSERT_TRUE(store->append(batch).ok());
      } else if (op < 85) {
        ASSERT_TRUE(store->sync().ok());
      } else if (op < 93) {
        uint64_t first = store->first_index().value;
        if (last >= first) {
          ASSERT_TRUE(store->truncate_suffix(Index(first + rng() % (last - first + 1))).ok());
        }
        ++term;
      } else {
        ASSERT_TRUE(store->drop_prefix(Index(last / 2)).ok());
      }
    }
    done = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_GT(reads.load(), 0u);
  }
}

}  // namespace
}  // namespace raft::storage
