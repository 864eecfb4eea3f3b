// Crash tests of the WAL. A random workload (appends, syncs, truncations,
// prefix drops, resets) runs on MemoryFileSystem behind a FaultFileSystem
// that "kills the process" at a random call; then the simulated disk loses
// what was not synced (or keeps a torn prefix of it), the WAL is reopened
// and checked against a model of what may and must be there:
//
// - every entry whose sync() completed is there, with its bytes;
// - nothing at or after a completed truncate_suffix() comes back;
// - an interrupted truncation or reset leaves the old or the new log;
// - no entry ever differs from the one appended at its index.
//
// The kill -9 test does the same with a child process on the real disk.
// Iterations scale with RAFT_STORAGE_SOAK; RAFT_STORAGE_SEED replays one.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <random>

#include "storage/memory_file_system.hpp"
#include "storage/wal_format.hpp"
#include "storage/wal_log_store.hpp"
#include "storage_test_util.hpp"

namespace raft::storage {
namespace {

using testing::FaultFileSystem;
using testing::make_entry;
using testing::same_entry;

// What the log may and must hold after a crash.
struct Model {
  std::map<uint64_t, Entry> content;  // the entry each index holds, if any
  uint64_t first_lo = 1, first_hi = 1;  // the first index lies in [first_lo, first_hi]
  uint64_t durable = 0;                 // entries <= durable must be present
  uint64_t last = 0;                    // entries > last must not be
  std::optional<uint64_t> alt_truncate;  // truncate_suffix(c) was interrupted
  std::optional<uint64_t> alt_reset;     // reset(next) was interrupted
  uint64_t term = 1;
  uint64_t nonce = 0;
};

class WalCrashTest : public ::testing::Test {
 protected:
  static constexpr char kDir[] = "/data/wal";
  size_t rounds_with_spares_ = 0;  // rounds that ended with a spare segment kept

  // Options for a store on `fs` whose messages (torn tails cut after a
  // crash, as expected) are not printed.
  static WalOptions quiet_options(FileSystem* fs, uint64_t segment_bytes) {
    WalOptions o;
    o.fs = fs;
    o.segment_bytes = segment_bytes;
    o.log = [](LogLevel, std::string_view) {};
    // Trash is cut and deleted inside the call that made it, so a crash
    // can fall on any of its steps, at the same step for the same seed.
    o.reclaim.background = false;
    o.reclaim.step_bytes = segment_bytes / 4;
    return o;
  }

  // Checks the reopened store against the model, then makes the model
  // describe exactly what was recovered (it is all durable now).
  void check_and_rebase(LogStore* store, Model* m) {
    uint64_t f = store->first_index().value;
    uint64_t l = store->last_index().value;
    if (m->alt_reset && f == *m->alt_reset && l + 1 == f) {
      m->content.clear();
    } else {
      ASSERT_GE(f, m->first_lo) << "entries reappeared below the first index";
      ASSERT_LE(f, m->first_hi) << "entries vanished from the front";
      bool old_state = l >= m->durable && l <= m->last;
      bool new_state = m->alt_truncate && l + 1 <= *m->alt_truncate &&
                       l >= std::min(m->durable, *m->alt_truncate - 1);
      ASSERT_TRUE(old_state || new_state)
          << "last index " << l << " outside [" << m->durable << ", " << m->last << "]"
          << (m->alt_truncate ? " and not the truncated state either" : "");
      // Every entry present is the one appended at its index.
      for (uint64_t i = f; i <= l;) {
        std::vector<Entry> out;
        Status st = store->read(Index(i), Index(l), 4096, &out);
        ASSERT_TRUE(st.ok()) << st.to_string();
        for (const Entry& e : out) {
          auto it = m->content.find(e.index.value);
          ASSERT_NE(it, m->content.end()) << "entry " << e.index << " was never appended";
          ASSERT_TRUE(same_entry(e, it->second)) << "entry " << e.index << " has wrong bytes";
          auto t = store->term_at(e.index);
          ASSERT_TRUE(t.ok());
          ASSERT_EQ(*t, e.term);
        }
        i += out.size();
      }
    }
    for (auto it = m->content.begin(); it != m->content.end();) {
      if (it->first < f || it->first > l) it = m->content.erase(it);
      else ++it;
    }
    m->first_lo = m->first_hi = f;
    m->durable = m->last = l;
    m->alt_truncate.reset();
    m->alt_reset.reset();
  }

  // Runs random operations until `ops` are done or one fails.
  void run_ops(LogStore* store, Model* m, std::mt19937_64& rng, int ops, uint64_t segment_bytes) {
    for (int k = 0; k < ops; ++k) {
      int op = static_cast<int>(rng() % 100);
      uint64_t first = store->first_index().value;
      if (op < 45) {
        uint64_t n = 1 + rng() % 12;
        if (rng() % 10 == 0) ++m->term;
        std::vector<Entry> batch;
        for (uint64_t i = 0; i < n; ++i) {
          size_t size = rng() % 33 == 0 ? segment_bytes + rng() % 3000 : rng() % 200;
          Entry e = make_entry(m->last + 1 + i, m->term, size, ++m->nonce);
          m->content[e.index.value] = e;
          batch.push_back(std::move(e));
        }
        Status st = store->append(batch);
        m->last += n;
        if (!st.ok()) return;
      } else if (op < 75) {
        auto synced = store->sync();
        if (!synced.ok()) return;
        ASSERT_EQ(synced->value, m->last);
        m->durable = m->last;
      } else if (op < 85) {
        if (m->last + 1 < first) continue;
        uint64_t c = first + rng() % (m->last + 2 - first);
        Status st = store->truncate_suffix(Index(c));
        if (!st.ok()) {
          m->alt_truncate = c;
          return;
        }
        if (c <= m->last) {
          m->content.erase(m->content.lower_bound(c), m->content.end());
          m->last = c - 1;
          m->durable = std::min(m->durable, c - 1);
        }
      } else if (op < 93) {
        if (m->durable < first) continue;
        uint64_t up_to = first + rng() % (m->durable - first + 1);
        Status st = store->drop_prefix(Index(up_to));
        if (!st.ok()) {
          m->first_hi = std::max(m->first_hi, up_to + 1);
          return;
        }
        m->first_lo = m->first_hi = store->first_index().value;
      } else {
        uint64_t next = rng() % 2 ? m->last + 1 + rng() % 100 : 1 + rng() % (m->last + 1);
        Status st = store->reset(Index(next));
        if (!st.ok()) {
          m->alt_reset = next;
          return;
        }
        m->content.clear();
        m->first_lo = m->first_hi = next;
        m->durable = m->last = next - 1;
        m->term = 1 + rng() % 3;
      }
    }
  }

  void run_iteration(uint64_t seed) {
    std::mt19937_64 rng(seed);
    MemoryFileSystem disk;
    FaultFileSystem fs(&disk);
    WalOptions o = quiet_options(&fs, 4096u << (rng() % 3));
    o.preallocate = rng() % 4 != 0;
    Model m;
    int rounds = 1 + static_cast<int>(rng() % 5);
    for (int round = 0; round <= rounds; ++round) {
      bool last_round = round == rounds;
      // The process dies after a random number of file-system calls.
      if (last_round || rng() % 5 == 0) fs.heal();
      else if (rng() % 3 == 0) fs.fail_once_at(rng() % 200);
      else fs.fail_after(rng() % 200);
      {
        auto opened = WalLogStore::open(kDir, o);
        if (!opened.ok()) {
          ASSERT_TRUE(fs.tripped()) << "open failed without an injected fault: "
                                    << opened.status().to_string();
        } else {
          check_and_rebase(opened->get(), &m);
          if (::testing::Test::HasFatalFailure() || last_round) return;
          run_ops(opened->get(), &m, rng, 10 + static_cast<int>(rng() % 60), o.segment_bytes);
          if (::testing::Test::HasFatalFailure()) return;
          auto st = (*opened)->stats();
          if (st.spare_segments > 0) ++rounds_with_spares_;
        }
      }
      auto mode = static_cast<MemoryFileSystem::CrashMode>(rng() % 3);
      if (rng() % 2) mode = MemoryFileSystem::CrashMode::kKeepPrefix;
      disk.crash(mode, rng());
    }
  }
};

TEST_F(WalCrashTest, RandomCrashesKeepSyncedEntriesAndNeverReturnWrongOnes) {
  auto seeds = testing::seeds(1000, 1000);
  for (uint64_t seed : seeds) {
    run_iteration(seed);
    if (HasFatalFailure()) {
      ADD_FAILURE() << "seed " << seed << " failed; replay with RAFT_STORAGE_SEED=" << seed;
      return;
    }
  }
  // The crashes also land while spare segments are kept and reused.
  if (seeds.size() > 100) {
    EXPECT_GT(rounds_with_spares_, seeds.size() / 10);
  }
}

TEST_F(WalCrashTest, ACrashAtAnyStepOfARollOverIntoASpareLosesNothing) {
  // Every mutating file-system call of an append that rolls over into a
  // spare segment (rename, header, preallocate, sync, rename, seal...) is
  // in turn the last one before the process dies, under each crash mode.
  auto quiet = [](LogLevel, std::string_view) {};
  auto entries = [](uint64_t from, uint64_t to) {
    std::vector<Entry> v;
    for (uint64_t i = from; i <= to; ++i) v.push_back(make_entry(i, 1, 100, i));
    return v;
  };
  uint64_t calls_in_append = 0;
  for (uint64_t k = 0;; ++k) {
    for (int mode = 0; mode < 3; ++mode) {
      SCOPED_TRACE("crash after call " + std::to_string(k) + ", mode " + std::to_string(mode));
      MemoryFileSystem disk;
      FaultFileSystem fs(&disk);
      WalOptions o;
      o.fs = &fs;
      o.segment_bytes = 4096;  // 31 entries of 100 bytes a segment
      o.log = quiet;
      uint64_t durable = 0;
      {
        auto s = WalLogStore::open(kDir, o);
        ASSERT_TRUE(s.ok()) << s.status().to_string();
        ASSERT_TRUE((*s)->append(entries(1, 100)).ok());
        ASSERT_TRUE((*s)->sync().ok());
        ASSERT_TRUE((*s)->drop_prefix(Index(62)).ok());
        ASSERT_EQ((*s)->stats().spare_segments, 2u);
        durable = 100;
        uint64_t before = fs.mutating_calls();
        fs.fail_after(k);
        // 101..140: segment 4 (entries 94..) fills at 124, then a spare.
        if ((*s)->append(entries(101, 140)).ok() && (*s)->sync().ok()) durable = 140;
        calls_in_append = fs.mutating_calls() - before;
      }
      disk.crash(static_cast<MemoryFileSystem::CrashMode>(mode), k);
      fs.heal();
      auto s = WalLogStore::open(kDir, o);
      ASSERT_TRUE(s.ok()) << s.status().to_string();
      EXPECT_EQ((*s)->first_index(), Index(63));
      uint64_t last = (*s)->last_index().value;
      EXPECT_GE(last, durable);
      EXPECT_LE(last, 140u);
      std::vector<Entry> out;
      ASSERT_TRUE((*s)->read(Index(63), Index(last), SIZE_MAX, &out).ok());
      for (const Entry& e : out) EXPECT_TRUE(same_entry(e, make_entry(e.index.value, 1, 100, e.index.value)));
      // And it goes on: the next append and a reopen work.
      ASSERT_TRUE((*s)->append(entries(last + 1, last + 40)).ok());
      ASSERT_TRUE((*s)->sync().ok());
      s->reset();
      auto again = WalLogStore::open(kDir, o);
      ASSERT_TRUE(again.ok()) << again.status().to_string();
      EXPECT_EQ((*again)->last_index(), Index(last + 40));
      if (HasFatalFailure()) return;
    }
    if (k > calls_in_append) break;  // the last round crashed nowhere
  }
  EXPECT_GT(calls_in_append, 5u);  // the roll over really was in there
}

TEST_F(WalCrashTest, NothingAfterACompletedTruncationComesBackAfterACrash) {
  for (uint64_t seed : testing::seeds(40, 7)) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: RAFT_STORAGE_SEED)");
    std::mt19937_64 rng(seed);
    MemoryFileSystem disk;
    WalOptions o = quiet_options(&disk, 4096);
    uint64_t cut_at = 0;
    {
      auto s = WalLogStore::open(kDir, o);
      ASSERT_TRUE(s.ok());
      std::vector<Entry> batch;
      for (uint64_t i = 1; i <= 200; ++i) batch.push_back(make_entry(i, 1, 100));
      ASSERT_TRUE((*s)->append(batch).ok());
      if (rng() % 2) {
        ASSERT_TRUE((*s)->sync().ok());
      }
      uint64_t c = 1 + rng() % 200;
      cut_at = c;
      ASSERT_TRUE((*s)->truncate_suffix(Index(c)).ok());
      // New, unsynced entries in the truncated range.
      std::vector<Entry> fresh;
      for (uint64_t i = c; i < c + 20; ++i) fresh.push_back(make_entry(i, 2, 100, 77));
      ASSERT_TRUE((*s)->append(fresh).ok());
      disk.crash(static_cast<MemoryFileSystem::CrashMode>(rng() % 3), rng());
    }
    auto s = WalLogStore::open(kDir, o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    std::vector<Entry> out;
    if ((*s)->last_index() >= Index(1)) {
      ASSERT_TRUE((*s)->read(Index(1), (*s)->last_index(), SIZE_MAX, &out).ok());
    }
    for (const Entry& e : out) {
      // At or after the cut only the new entries may appear, never the old.
      Entry want = e.index >= Index(cut_at) ? make_entry(e.index.value, 2, 100, 77)
                                            : make_entry(e.index.value, 1, 100);
      ASSERT_TRUE(same_entry(e, want)) << "entry " << e.index << ", cut at " << cut_at;
    }
  }
}

TEST_F(WalCrashTest, EveryEntryWhoseSyncCompletedSurvivesPowerLoss) {
  for (uint64_t seed : testing::seeds(40, 99)) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: RAFT_STORAGE_SEED)");
    std::mt19937_64 rng(seed);
    MemoryFileSystem disk;
    WalOptions o = quiet_options(&disk, 4096);
    uint64_t durable = 0;
    uint64_t last = 0;
    {
      auto s = WalLogStore::open(kDir, o);
      ASSERT_TRUE(s.ok());
      for (int b = 0; b < 40; ++b) {
        std::vector<Entry> batch;
        uint64_t n = 1 + rng() % 20;
        for (uint64_t i = 0; i < n; ++i) batch.push_back(make_entry(++last, 1, rng() % 300));
        ASSERT_TRUE((*s)->append(batch).ok());
        if (rng() % 3 == 0) durable = (*s)->sync()->value;
      }
      disk.crash(MemoryFileSystem::CrashMode::kKeepPrefix, rng());
    }
    auto s = WalLogStore::open(kDir, o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    ASSERT_GE((*s)->last_index(), Index(durable));
    ASSERT_LE((*s)->last_index(), Index(last));
  }
}

// Power loss while the store's own thread writes spares of zeros
// (WalOptions::prepare_spares) and new segments reuse them: the crash can
// land in the middle of a spare, of its rename, or of a roll over into it.
TEST_F(WalCrashTest, PowerLossWhileSparesArePreparedLosesNothingSynced) {
  constexpr uint64_t kSegment = 1 << 20;
  size_t reused = 0;
  for (uint64_t seed : testing::seeds(6, 700)) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: RAFT_STORAGE_SEED)");
    std::mt19937_64 rng(seed);
    MemoryFileSystem disk;
    WalOptions o = quiet_options(&disk, kSegment);
    o.prepare_spares = true;
    uint64_t durable = 0;
    uint64_t last = 0;
    {
      auto s = WalLogStore::open(kDir, o);
      ASSERT_TRUE(s.ok());
      auto write_batch = [&] {
        std::vector<Entry> batch;
        uint64_t n = 1 + rng() % 40;
        for (uint64_t i = 0; i < n; ++i) ++last, batch.push_back(make_entry(last, 1, last % 200));
        ASSERT_TRUE((*s)->append(batch).ok());
        if (rng() % 2 == 0) durable = (*s)->sync()->value;
      };
      // Into the second segment, with a spare of zeros written by then.
      while ((*s)->stats().segments < 2) write_batch();
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while ((*s)->stats().spares_prepared < 1 && std::chrono::steady_clock::now() < deadline)
        write_batch();
      ASSERT_GE((*s)->stats().spares_prepared, 1u) << "no spare was prepared";
      // Then on for up to one and a half segments more, and the power goes.
      uint64_t batches = rng() % 600;
      for (uint64_t b = 0; b < batches; ++b) write_batch();
      auto names = disk.list_dir(kDir);
      ASSERT_TRUE(names.ok());
      for (const auto& name : *names) {
        uint64_t seq;
        Index first;
        if (!wal::parse_segment_name(name, &seq, &first)) continue;
        std::string head = testing::slurp(&disk, join_path(kDir, name)).substr(0, 8);
        if (static_cast<uint8_t>(head[6]) & wal::kFlagRecycled) ++reused;
      }
      disk.crash(rng() % 2 ? MemoryFileSystem::CrashMode::kKeepPrefix
                           : MemoryFileSystem::CrashMode::kLoseUnsynced,
                 rng());
    }  // the preparer may be mid-chunk: its calls now fail, and it stops
    auto s = WalLogStore::open(kDir, o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    ASSERT_GE((*s)->last_index(), Index(durable));
    ASSERT_LE((*s)->last_index(), Index(last));
    std::vector<Entry> out;
    ASSERT_TRUE((*s)->read(Index(1), (*s)->last_index(), SIZE_MAX, &out).ok());
    for (const Entry& e : out) ASSERT_TRUE(same_entry(e, make_entry(e.index.value, 1, e.index.value % 200)));
  }
  if (std::getenv("RAFT_STORAGE_SEED") == nullptr) {
    EXPECT_GT(reused, 0u) << "no segment reused a spare";
  }
}

// The real disk and a real process death: a child appends and syncs,
// reporting each durable index through a pipe; the parent kills it with
// SIGKILL at a random moment and checks that everything reported is there.
TEST(WalKillTest, SigkillDuringAppendsLosesNothingThatWasSynced) {
  for (uint64_t seed : testing::seeds(3, 5)) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: RAFT_STORAGE_SEED)");
    std::mt19937_64 rng(seed);
    testing::TempDir tmp;
    std::string dir = tmp.sub("wal");
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      WalOptions o;
      o.segment_bytes = 64 << 10;
      auto s = WalLogStore::open(dir, o);
      if (!s.ok()) ::_exit(2);
      uint64_t last = 0;
      std::mt19937_64 child_rng(seed);
      for (int b = 0; b < 100000; ++b) {
        std::vector<Entry> batch;
        uint64_t n = 1 + child_rng() % 30;
        for (uint64_t i = 0; i < n; ++i) batch.push_back(make_entry(++last, 1, child_rng() % 500));
        if (!(*s)->append(batch).ok()) ::_exit(3);
        auto synced = (*s)->sync();
        if (!synced.ok()) ::_exit(4);
        uint64_t v = synced->value;
        if (::write(fds[1], &v, sizeof v) != sizeof v) ::_exit(5);
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    uint64_t reported = 0;
    uint64_t want = 5 + rng() % 200;
    for (uint64_t k = 0; k < want; ++k) {
      uint64_t v;
      if (::read(fds[0], &v, sizeof v) != sizeof v) break;
      reported = v;
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped on its own: " << status;

    WalOptions quiet;
    quiet.log = [](LogLevel, std::string_view) {};
    auto s = WalLogStore::open(dir, quiet);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    ASSERT_GE((*s)->last_index(), Index(reported));
    std::vector<Entry> out;
    ASSERT_TRUE((*s)->read(Index(1), (*s)->last_index(), SIZE_MAX, &out).ok());
    std::mt19937_64 replay(seed);
    uint64_t index = 0;
    while (index < out.size()) {
      uint64_t n = 1 + replay() % 30;
      for (uint64_t i = 0; i < n && index < out.size(); ++i) {
        ++index;
        ASSERT_TRUE(same_entry(out[index - 1], make_entry(index, 1, replay() % 500)))
            << "entry " << index;
      }
    }
  }
}

}  // namespace
}  // namespace raft::storage
