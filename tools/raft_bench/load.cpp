// raft_bench: the closed loop on the leader, its latency histogram, and the
// node configuration both modes use.
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>

#include "bench.hpp"

namespace raft_bench {

using namespace std::chrono_literals;

namespace {

// A command that has not completed this long after its submission fails
// the run (the library resolves it with kTimeout).
constexpr std::chrono::milliseconds kApplyTimeout = 30s;
// How long the commands still in flight at the end may take to complete.
constexpr auto kDrainTimeout = kApplyTimeout + 5s;
// How often the run checks that the leader still leads.
constexpr auto kCheckInterval = 50ms;

class CountSnapshot : public raft::FsmSnapshot {
 public:
  explicit CountSnapshot(uint64_t count) : count_(count) {}
  raft::Status persist(raft::SnapshotSink& sink) override {
    uint8_t bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(count_ >> (8 * i));
    return sink.write(bytes);
  }

 private:
  uint64_t count_;
};

class BenchFsm : public raft::Fsm {
 public:
  // Returns nothing: an empty std::any costs no allocation, so the figures
  // are the library's.
  std::any apply(const raft::LogEntry&) override {
    ++count_;
    return {};
  }
  raft::Result<std::unique_ptr<raft::FsmSnapshot>> snapshot() override {
    return std::unique_ptr<raft::FsmSnapshot>(new CountSnapshot(count_));
  }
  raft::Status restore(raft::SnapshotReader& reader) override {
    uint8_t bytes[8] = {};
    size_t got = 0;
    while (got < sizeof bytes) {
      auto n = reader.read(std::span<uint8_t>(bytes + got, sizeof bytes - got));
      if (!n.ok()) return n.status();
      if (*n == 0) return raft::Status(raft::ErrorCode::kCorruption, "bench snapshot shorter than 8 bytes");
      got += *n;
    }
    count_ = 0;
    for (int i = 0; i < 8; ++i) count_ |= uint64_t{bytes[i]} << (8 * i);
    return raft::Status();
  }

 private:
  uint64_t count_ = 0;  // commands applied; apply thread only
};

// Keeps `concurrency` commands in flight on the leader.
//
// Mechanism: Future::then. Each completion callback records the latency
// and submits the next command, on the thread that resolved the future
// (libraft's apply thread), so no thread of ours wakes per command. Waiter
// threads would add a context switch (or a poll) per command and C stacks,
// which a benchmark would then measure; the price here is that the
// submission's own cost (copying the payload, apply()'s bookkeeping) lands
// on the apply thread instead of a client's. node_config() sizes the
// backpressure limits so that this apply() never waits there.
//
// Callbacks hold a shared_ptr to the loop, so it lives until the last one
// has run, even when the run gives up with commands in flight.
class ClosedLoop : public std::enable_shared_from_this<ClosedLoop> {
 public:
  ClosedLoop(raft::Node& leader, size_t size_bytes) : leader_(leader), payload_(size_bytes, 'x') {}

  void start(size_t concurrency) {
    in_flight_.store(concurrency);
    size_t i = 0;
    for (; i < concurrency && !stopping_.load(); ++i) submit();
    if (i < concurrency) {  // a command failed at once: the rest never left
      std::lock_guard<std::mutex> lock(mu_);
      if (in_flight_.fetch_sub(concurrency - i) == concurrency - i) cv_.notify_all();
    }
  }
  void set_measuring(bool on) { measuring_.store(on, std::memory_order_relaxed); }
  // Submits no more; true once every command in flight completed.
  bool stop_and_drain(Clock::time_point deadline) {
    stopping_.store(true);
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return in_flight_.load() == 0; });
  }
  std::string error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }
  const LatencyHistogram& histogram() const { return histogram_; }
  uint64_t max_ns() const { return max_ns_.load(); }

 private:
  void submit() {
    Clock::time_point t0 = Clock::now();
    // A fresh copy per command, as a client's command would be.
    raft::Future<std::any> f = leader_.apply(raft::Buffer::copy_of(payload_), kApplyTimeout);
    f.then([self = shared_from_this(), t0](const raft::Status& s) { self->done(t0, s); });
  }

  void done(Clock::time_point t0, const raft::Status& s) {
    auto ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
    if (s.ok()) {
      histogram_.record(ns);
      if (measuring_.load(std::memory_order_relaxed)) {
        uint64_t m = max_ns_.load(std::memory_order_relaxed);
        while (ns > m && !max_ns_.compare_exchange_weak(m, ns, std::memory_order_relaxed)) {
        }
      }
      if (!stopping_.load(std::memory_order_relaxed)) {
        submit();
        return;
      }
    } else {
      stopping_.store(true);
      std::lock_guard<std::mutex> lock(mu_);
      if (error_.empty()) error_ = s.to_string();
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (in_flight_.fetch_sub(1) == 1) cv_.notify_all();
  }

  raft::Node& leader_;
  const std::string payload_;
  LatencyHistogram histogram_;
  std::atomic<bool> measuring_{false};
  std::atomic<bool> stopping_{false};
  // Invariant: commands submitted and not yet completed, plus the ones not
  // resubmitted yet by a callback that runs.
  std::atomic<size_t> in_flight_{0};
  std::atomic<uint64_t> max_ns_{0};  // of the completions while measuring_
  mutable std::mutex mu_;  // guards error_; orders the last decrement with the drain's wait
  std::condition_variable cv_;
  std::string error_;  // the first failure
};

std::atomic<bool> g_logs_muted{false};

// The library's own format ("libraft warn: ..."), one write(2) per line so
// that the lines of concurrent threads and processes never mix.
void log_to_stderr(raft::LogLevel level, std::string_view message) {
  if (g_logs_muted.load(std::memory_order_relaxed)) return;
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error", "off"};
  std::string line = std::string("libraft ") + kNames[std::clamp(static_cast<int>(level), 0, 4)] + ": ";
  line.append(message);
  line += '\n';
  for (size_t off = 0; off < line.size();) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

void mute_library_logs() { g_logs_muted.store(true); }

raft::Config node_config(const Options& o, raft::ServerId id, const std::string& data_dir) {
  raft::Config c;
  c.id = id;
  c.store = o.store;
  c.data_dir = data_dir;
  c.log_level = raft::LogLevel::kWarn;
  c.log_callback = log_to_stderr;
  if (!o.tls_dir.empty()) {
    std::string node = o.tls_dir + "/node" + std::to_string(id);
    c.tls_ca_file = o.tls_dir + "/ca.pem";
    c.tls_cert_file = node + ".pem";
    c.tls_key_file = node + ".key";
    c.tls_verify_peer_id = true;
  }
  if (o.wal_spares) c.wal_spare_segments = *o.wal_spares;
  if (o.snapshot_threshold) {
    if (*o.snapshot_threshold == 0) {
      c.snapshot_threshold = UINT64_MAX;  // never
      c.snapshot_log_bytes = 0;
    } else {
      c.snapshot_threshold = *o.snapshot_threshold;
      // The library checks the threshold once per snapshot_interval
      // (120 s by default), which would hide it from any short run.
      c.snapshot_interval = 1s;
    }
  }
  // Room for C commands: the next one is submitted from a completion
  // callback on the apply thread, and an apply() waiting for room there
  // would stall the thread that makes room (the library frees a command's
  // room before its callback runs). Only above the defaults (65536
  // commands, 64 MiB).
  c.max_pending_commands = std::max(c.max_pending_commands, o.concurrency);
  c.max_pending_bytes = std::max(c.max_pending_bytes, o.concurrency * o.size_bytes);
  return c;
}

std::shared_ptr<raft::Fsm> make_bench_fsm() { return std::make_shared<BenchFsm>(); }

HistogramCounts histogram_diff(const HistogramCounts& later, const HistogramCounts& earlier) {
  HistogramCounts out(later.size());
  for (size_t i = 0; i < later.size(); ++i) out[i] = later[i] - (i < earlier.size() ? earlier[i] : 0);
  return out;
}

uint64_t histogram_total(const HistogramCounts& c) {
  uint64_t n = 0;
  for (uint64_t x : c) n += x;
  return n;
}

uint64_t histogram_quantile(const HistogramCounts& c, double q) {
  uint64_t total = histogram_total(c);
  if (total == 0) return 0;
  // The smallest value with at least q of the samples at or below it.
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  rank = std::clamp<uint64_t>(rank, 1, total);
  uint64_t seen = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    seen += c[i];
    if (seen >= rank) return LatencyHistogram::value_of(i);
  }
  return LatencyHistogram::value_of(c.size() - 1);
}

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

LoadResult run_load(raft::Node& leader, uint64_t term, const LoadParams& p, const std::function<void(bool)>& at_edge) {
  LoadResult r;
  auto loop = std::make_shared<ClosedLoop>(leader, p.size_bytes);
  const Clock::time_point begin = Clock::now();
  Clock::time_point next_progress = begin + 1s;
  HistogramCounts last_progress = loop->histogram().snapshot();
  bool measuring = false;

  Clock::time_point last_progress_at = begin;
  auto report_progress = [&](Clock::time_point now) {
    HistogramCounts cur = loop->histogram().snapshot();
    HistogramCounts d = histogram_diff(cur, last_progress);
    double interval_s = std::chrono::duration<double>(now - last_progress_at).count();
    std::fprintf(stderr, "raft_bench: %6.1f s %-8s %10.0f ops/s  p99 %8.0f us\n",
                 std::chrono::duration<double>(now - begin).count(), measuring ? "" : "warm-up",
                 static_cast<double>(histogram_total(d)) / interval_s,
                 static_cast<double>(histogram_quantile(d, 0.99)) / 1e3);
    last_progress = std::move(cur);
    last_progress_at = now;
    // After a stall, one line for the whole gap, then a second apart again.
    while (next_progress <= now) next_progress += 1s;
  };
  // Sleeps until `until` while checking the run; false (r.error set) as
  // soon as it is invalid.
  auto run_until = [&](Clock::time_point until) {
    for (;;) {
      // Leadership first: a lost leader's commands fail too.
      if (leader.state() != raft::Role::kLeader || leader.term() != term)
        r.error = "leadership changed during the run (term " + std::to_string(term) + " -> " +
                  std::to_string(leader.term()) + ", role " + raft::role_name(leader.state()) + ")";
      else if (std::string e = loop->error(); !e.empty())
        r.error = "a command failed: " + e;
      if (!r.error.empty()) return false;
      Clock::time_point now = Clock::now();
      if (p.progress && now >= next_progress) report_progress(now);
      if (now >= until) return true;
      Clock::time_point wake = std::min(until, now + kCheckInterval);
      if (p.progress) wake = std::min(wake, next_progress);
      std::this_thread::sleep_until(wake);
    }
  };

  loop->start(p.concurrency);
  bool ok = run_until(begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kWarmupS)));
  if (ok) {
    at_edge(true);
    HistogramCounts c0 = loop->histogram().snapshot();
    const Clock::time_point start = Clock::now();
    loop->set_measuring(true);
    measuring = true;
    ok = run_until(start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(p.duration_s)));
    const Clock::time_point end = Clock::now();
    loop->set_measuring(false);
    r.counts = histogram_diff(loop->histogram().snapshot(), c0);
    if (ok) at_edge(false);
    r.ops = histogram_total(r.counts);
    r.seconds = std::chrono::duration<double>(end - start).count();
    r.max_ns = loop->max_ns();
  }
  bool drained = loop->stop_and_drain(Clock::now() + kDrainTimeout);
  if (ok && !loop->error().empty()) r.error = "a command failed: " + loop->error();
  if (ok && r.error.empty() && !drained) r.error = "commands still in flight long after the run";
  return r;
}

}  // namespace raft_bench
