// Storage benchmarks (docs/BENCHMARKS.md, "Storage").
//
// BM_WalAppend/<entry bytes>/<batch>: append a batch to the WAL and sync()
//   it, as the disk thread does with group commit. bytes_per_second counts
//   payload only (headers are overhead the WAL must earn back).
// BM_PlainWrite/<entry bytes>/<batch>: the baseline on the same directory:
//   write(2) the same payload bytes to a growing file, then fdatasync.
// BM_PlainPwritePrealloc/...: a second, tougher baseline: pwrite into a
//   preallocated file, then fdatasync.
// BM_SideBySide/<entry bytes>/<batch>: the three loops above interleaved
//   batch by batch in one run; its counters are the ratios to report.
// BM_SideBySideRecycled/...: the same, with the WAL as a node that has run
//   a while has it: its segments reuse files that snapshots freed (spare
//   segments), and each segment it leaves is dropped as a snapshot would.
// BM_WalOpen: open a WAL of RAFT_BENCH_OPEN_ENTRIES (default ten million)
//   128-byte entries, built once and kept under the bench directory;
//   counters give CPU seconds, resident memory added and index bytes.
//
// Run them side by side (random interleaving, several repetitions) and
// compare medians; bench/report.py prints the ratios.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "storage/wal_log_store.hpp"

namespace {

using raft::Buffer;
using raft::Entry;
using raft::EntryType;
using raft::Index;
using raft::Term;
using raft::storage::WalLogStore;
using raft::storage::WalOptions;

std::string bench_dir() {
  const char* d = std::getenv("RAFT_BENCH_DIR");
  return d && *d ? d : RAFT_BENCH_DEFAULT_DIR;
}

std::string fresh_dir(const std::string& name) {
  std::string p = bench_dir() + "/" + name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

Buffer payload(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + 7);
  return Buffer::from_string(std::move(s));
}

void BM_WalAppend(benchmark::State& state) {
  size_t entry_bytes = static_cast<size_t>(state.range(0));
  size_t batch = static_cast<size_t>(state.range(1));
  std::string dir = fresh_dir("append-wal");
  WalOptions o;
  auto store = WalLogStore::open(dir, o);
  if (!store.ok()) {
    state.SkipWithError(store.status().to_string().c_str());
    return;
  }
  Buffer data = payload(entry_bytes);
  std::vector<Entry> entries(batch, Entry{Index(0), Term(1), EntryType::kCommand, data});
  uint64_t next = 1;
  for (auto _ : state) {
    for (auto& e : entries) e.index = Index(next++);
    if (!(*store)->append(entries).ok() || !(*store)->sync().ok()) {
      state.SkipWithError("append or sync failed");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch * entry_bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  store->reset();
  std::filesystem::remove_all(dir);
}

void plain_loop(benchmark::State& state, bool prealloc) {
  size_t bytes = static_cast<size_t>(state.range(0) * state.range(1));
  std::string dir = fresh_dir(prealloc ? "plain-prealloc" : "plain");
  std::string path = dir + "/log";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    state.SkipWithError("open failed");
    return;
  }
  const off_t kPrealloc = 64 << 20;
  if (prealloc && (::fallocate(fd, 0, 0, kPrealloc) != 0 || ::fsync(fd) != 0)) {
    state.SkipWithError("fallocate failed");
    return;
  }
  std::string buf(bytes, 'x');
  off_t off = 0;
  for (auto _ : state) {
    ssize_t n = prealloc ? ::pwrite(fd, buf.data(), buf.size(), off) : ::write(fd, buf.data(), buf.size());
    if (n != static_cast<ssize_t>(buf.size()) || ::fdatasync(fd) != 0) {
      state.SkipWithError("write or fdatasync failed");
      break;
    }
    off += n;
    if (prealloc && off + static_cast<off_t>(bytes) > kPrealloc) {
      // Start over in the same preallocated file, as a ring would.
      off = 0;
    }
  }
  ::close(fd);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * state.range(1)));
  std::filesystem::remove_all(dir);
}

void BM_PlainWrite(benchmark::State& state) { plain_loop(state, false); }
void BM_PlainPwritePrealloc(benchmark::State& state) { plain_loop(state, true); }

// The three loops of the benchmarks above, interleaved operation by
// operation in one benchmark, so that all three see the same disk at the
// same moments: on a shared machine whose fdatasync latency swings by 10x
// from one second to the next, only ratios taken this way mean anything.
// Counters: mean and median microseconds per batch of each leg, and the
// WAL's ratios (throughput: plain mean time / WAL mean time; latency:
// WAL median / plain median).
// A WAL as a node that has run a while has it: its segments are files
// that snapshots freed (spare segments, docs/disk-format.md). Appends in
// large batches, dropping the prefix at each new segment, until the
// newest segment is a reused file.
bool warm_to_recycled(WalLogStore* store, size_t entry_bytes, uint64_t* next) {
  Buffer data = payload(entry_bytes);
  std::vector<Entry> big((1 << 20) / entry_bytes, Entry{Index(0), Term(1), EntryType::kCommand, data});
  int drops = 0;
  while (drops < 2) {
    for (auto& e : big) e.index = Index((*next)++);
    if (!store->append(big).ok()) return false;
    if (store->stats().segments > 1) {
      if (!store->sync().ok() || !store->drop_prefix(store->last_index()).ok()) return false;
      ++drops;
    }
  }
  return store->sync().ok();
}

void side_by_side(benchmark::State& state, bool recycled) {
  size_t entry_bytes = static_cast<size_t>(state.range(0));
  size_t batch = static_cast<size_t>(state.range(1));
  size_t bytes = entry_bytes * batch;
  std::string dir = fresh_dir("side-by-side");
  WalOptions options;
  // RAFT_BENCH_WAL_PREALLOCATE=0 measures the WAL without preallocation.
  const char* prealloc_env = std::getenv("RAFT_BENCH_WAL_PREALLOCATE");
  if (prealloc_env && std::string(prealloc_env) == "0") options.preallocate = false;
  auto store = WalLogStore::open(dir + "/wal", options);
  uint64_t next = 1;
  if (store.ok() && recycled && !warm_to_recycled(store->get(), entry_bytes, &next)) {
    state.SkipWithError("warming the WAL failed");
    return;
  }
  int plain = ::open((dir + "/plain").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int pre = ::open((dir + "/prealloc").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const off_t kPrealloc = 64 << 20;
  if (!store.ok() || plain < 0 || pre < 0 || ::fallocate(pre, 0, 0, kPrealloc) != 0 || ::fsync(pre) != 0) {
    state.SkipWithError("setup failed");
    return;
  }
  Buffer data = payload(entry_bytes);
  std::vector<Entry> entries(batch, Entry{Index(0), Term(1), EntryType::kCommand, data});
  // RAFT_BENCH_PLAIN_FRAMED=1 makes the plain loops write what the WAL
  // writes (payload plus a 28-byte header per entry), to tell the cost of
  // the framing bytes from the cost of the WAL's code.
  const char* framed = std::getenv("RAFT_BENCH_PLAIN_FRAMED");
  if (framed && std::string(framed) == "1") bytes += 28 * batch;
  std::string buf(bytes, 'x');
  off_t pre_off = 0;
  std::vector<double> wal_us, plain_us, pre_us;
  using Clock = std::chrono::steady_clock;
  auto us_since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
  };
  bool failed = false;
  uint64_t round = 0;
  for (auto _ : state) {
    // Rotate the order so no leg always runs right after another one.
    ++round;
    for (int k = 0; k < 3 && !failed; ++k) {
      int leg = static_cast<int>((round + static_cast<uint64_t>(k)) % 3);
      auto t = Clock::now();
      if (leg == 0) {
        for (auto& e : entries) e.index = Index(next++);
        failed = !(*store)->append(entries).ok() || !(*store)->sync().ok();
        // Recycled: a snapshot frees each segment the log leaves behind.
        if (!failed && recycled && (*store)->stats().segments > 1)
          failed = !(*store)->drop_prefix((*store)->last_index()).ok();
        wal_us.push_back(us_since(t));
      } else if (leg == 1) {
        failed = ::write(plain, buf.data(), bytes) != static_cast<ssize_t>(bytes) || ::fdatasync(plain) != 0;
        plain_us.push_back(us_since(t));
      } else {
        if (pre_off + static_cast<off_t>(bytes) > kPrealloc) pre_off = 0;
        failed = ::pwrite(pre, buf.data(), bytes, pre_off) != static_cast<ssize_t>(bytes) || ::fdatasync(pre) != 0;
        pre_off += static_cast<off_t>(bytes);
        pre_us.push_back(us_since(t));
      }
    }
    if (failed) {
      state.SkipWithError("write or sync failed");
      break;
    }
  }
  ::close(plain);
  ::close(pre);
  store->reset();
  std::filesystem::remove_all(dir);
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / static_cast<double>(v.size());
  };
  auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  double wm = mean(wal_us), pm = mean(plain_us), qm = mean(pre_us);
  double wd = median(wal_us), pd = median(plain_us), qd = median(pre_us);
  state.counters["wal_mean_us"] = wm;
  state.counters["plain_mean_us"] = pm;
  state.counters["prealloc_mean_us"] = qm;
  state.counters["wal_median_us"] = wd;
  state.counters["plain_median_us"] = pd;
  state.counters["prealloc_median_us"] = qd;
  double payload_bytes = static_cast<double>(entry_bytes * batch);
  state.counters["wal_MBps"] = wm > 0 ? payload_bytes / wm : 0;
  state.counters["plain_MBps"] = pm > 0 ? payload_bytes / pm : 0;
  state.counters["throughput_ratio"] = wm > 0 ? pm / wm : 0;
  state.counters["throughput_ratio_vs_prealloc"] = wm > 0 ? qm / wm : 0;
  state.counters["latency_ratio"] = pd > 0 ? wd / pd : 0;
  state.counters["latency_ratio_vs_prealloc"] = qd > 0 ? wd / qd : 0;
}

void BM_SideBySide(benchmark::State& state) { side_by_side(state, false); }
void BM_SideBySideRecycled(benchmark::State& state) { side_by_side(state, true); }

void append_args(benchmark::internal::Benchmark* b) {
  for (int64_t size : {128, 4096})
    for (int64_t batch : {1, 16, 256}) b->Args({size, batch});
  b->UseRealTime();
}

BENCHMARK(BM_WalAppend)->Apply(append_args);
BENCHMARK(BM_PlainWrite)->Apply(append_args);
BENCHMARK(BM_PlainPwritePrealloc)->Apply(append_args);
BENCHMARK(BM_SideBySide)->Apply(append_args);
BENCHMARK(BM_SideBySideRecycled)->Apply(append_args);

uint64_t open_entries() {
  const char* n = std::getenv("RAFT_BENCH_OPEN_ENTRIES");
  return n && *n ? std::strtoull(n, nullptr, 10) : 10000000ull;
}

long resident_kib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// Heap bytes in use (glibc): unlike resident memory, not hidden by memory
// the allocator kept from an earlier iteration.
double heap_in_use_mib() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<double>(mi.uordblks + mi.hblkhd) / (1024.0 * 1024.0);
}

double cpu_seconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Builds the big log once; later runs reuse it (delete the folder to rebuild).
bool ensure_big_log(const std::string& dir, uint64_t n, std::string* error) {
  std::string marker = dir + "/COMPLETE-" + std::to_string(n);
  if (std::filesystem::exists(marker)) return true;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto store = WalLogStore::open(dir + "/wal", {});
  if (!store.ok()) {
    *error = store.status().to_string();
    return false;
  }
  Buffer data = payload(128);
  std::vector<Entry> batch;
  uint64_t next = 1;
  while (next <= n) {
    batch.clear();
    for (int i = 0; i < 8192 && next <= n; ++i)
      batch.push_back(Entry{Index(next++), Term(1 + next / 1000000), EntryType::kCommand, data});
    if (!(*store)->append(batch).ok()) {
      *error = "append failed";
      return false;
    }
  }
  if (!(*store)->sync().ok()) {
    *error = "sync failed";
    return false;
  }
  std::ofstream(marker) << "ok\n";
  return true;
}

void BM_WalOpen(benchmark::State& state) {
  uint64_t n = open_entries();
  std::string dir = bench_dir() + "/open-" + std::to_string(n);
  std::string error;
  if (!ensure_big_log(dir, n, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  double cpu = 0, rss_mib = 0, heap_mib = 0, index_mib = 0;
  for (auto _ : state) {
    long rss_before = resident_kib();
    double heap_before = heap_in_use_mib();
    double cpu_before = cpu_seconds();
    auto store = WalLogStore::open(dir + "/wal", {});
    double cpu_after = cpu_seconds();
    long rss_after = resident_kib();
    heap_mib = heap_in_use_mib() - heap_before;
    if (!store.ok() || (*store)->last_index() != Index(n)) {
      state.SkipWithError("open failed or the log is short");
      break;
    }
    // One read to prove the index serves entries.
    std::vector<Entry> out;
    if (!(*store)->read(Index(n / 2), Index(n / 2 + 9), SIZE_MAX, &out).ok() || out.size() != 10) {
      state.SkipWithError("read failed");
      break;
    }
    cpu = cpu_after - cpu_before;
    rss_mib = static_cast<double>(rss_after - rss_before) / 1024.0;
    index_mib = static_cast<double>((*store)->stats().index_bytes) / (1024.0 * 1024.0);
    state.PauseTiming();
    store->reset();
    state.ResumeTiming();
  }
  state.counters["entries"] = static_cast<double>(n);
  state.counters["open_cpu_s"] = cpu;
  // Resident memory added is meaningful for the first open in a process
  // only (later ones reuse memory the allocator kept); heap_added_MiB is
  // exact every time.
  state.counters["rss_added_MiB"] = rss_mib;
  state.counters["heap_added_MiB"] = heap_mib;
  state.counters["index_MiB"] = index_mib;
  state.counters["index_bytes_per_entry"] = index_mib * 1024 * 1024 / static_cast<double>(n);
}

BENCHMARK(BM_WalOpen)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
