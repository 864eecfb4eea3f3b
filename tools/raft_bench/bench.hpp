// raft_bench: the parts its two modes share (main.cpp says what the tool
// measures and how to run it).
//
// Thread safety: LatencyHistogram::record may be called from any thread at
// once; everything else here belongs to the thread that made it.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/raft.hpp"

namespace raft_bench {

using Clock = std::chrono::steady_clock;

// Completions in the first second are not counted: the cluster's
// connections, allocators and page cache settle meanwhile.
constexpr double kWarmupS = 1.0;
// The first election takes one to two election timeouts (1 s by default)
// plus a pre-vote round; this leaves room for a loaded machine.
constexpr std::chrono::seconds kElectionDeadline{15};

// What the command line asked for (main.cpp parses it).
struct Options {
  int nodes = 3;
  size_t size_bytes = 128;
  size_t concurrency = 64;
  double duration_s = 10;
  // Parent: the folder the run's own folder is made in. Child: the node's
  // data directory itself.
  std::string dir;
  std::string store = "wal";
  std::optional<uint64_t> snapshot_threshold;  // nullopt: the library's default
  std::optional<uint64_t> wal_spares;          // Config::wal_spare_segments; nullopt: default
  // Mutual TLS between the nodes: a folder with ca.pem and node<N>.pem,
  // node<N>.key for every node; empty: plaintext. --tls makes one (with
  // scripts/make-certs.sh) in the run's folder.
  bool tls = false;
  std::string tls_dir;
  bool progress = false;
  bool processes = false;
  bool keep = false;
  // Not 0: this process is node `child_id` of a --processes run (hidden flag).
  raft::ServerId child_id = 0;
};

// The Config of every node of a run. Its nodes log warnings and errors to
// stderr until mute_library_logs().
raft::Config node_config(const Options& o, raft::ServerId id, const std::string& data_dir);
// Drops the nodes' log lines from now on: for the shutdown, where peers
// that stop one after another would warn about each other.
void mute_library_logs();

// A trivial state machine: counts commands. Its snapshot is the count, so
// --snapshot-threshold measures the library's snapshot path, not the Fsm's.
std::shared_ptr<raft::Fsm> make_bench_fsm();

// Latency counts of a LatencyHistogram at one moment, by bucket.
using HistogramCounts = std::vector<uint64_t>;

// HDR-style log-linear histogram of nanoseconds: exact below 256 ns, then
// 128 buckets per power of two, so a bucket is at most 1/128 (< 0.8%) of
// its values wide. A preallocated array of counts (38 KiB), recorded with
// one relaxed atomic add, so the completion callbacks that record on
// libraft's threads never wait for a lock and memory does not grow with
// the run.
class LatencyHistogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kLinearMax = uint64_t{2} << kSubBits;  // 256 ns: exact below
  static constexpr int kMaxExp = 44;  // 2^44 ns = 4.9 h; longer values clamp
  static constexpr size_t kBuckets = kLinearMax + (kMaxExp - kSubBits - 1) * (size_t{1} << kSubBits);

  LatencyHistogram() : counts_(new std::atomic<uint64_t>[kBuckets]) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i].store(0, std::memory_order_relaxed);
  }

  void record(uint64_t ns) { counts_[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed); }

  // Not an atomic picture: a recording during the copy lands in this one
  // or the next, which is all a diff of two snapshots needs.
  HistogramCounts snapshot() const {
    HistogramCounts out(kBuckets);
    for (size_t i = 0; i < kBuckets; ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
    return out;
  }

  static size_t bucket_of(uint64_t ns) {
    if (ns < kLinearMax) return static_cast<size_t>(ns);
    ns = std::min(ns, (uint64_t{1} << kMaxExp) - 1);
    int e = std::bit_width(ns) - 1;                      // kSubBits + 1 .. kMaxExp - 1
    uint64_t top = ns >> (e - kSubBits);                 // 128 .. 255
    return kLinearMax + static_cast<size_t>(e - kSubBits - 1) * (size_t{1} << kSubBits) +
           static_cast<size_t>(top - (uint64_t{1} << kSubBits));
  }
  // The middle of a bucket: what a percentile falling in it reports.
  static uint64_t value_of(size_t bucket) {
    if (bucket < kLinearMax) return bucket;
    size_t k = bucket - kLinearMax;
    int e = static_cast<int>(k >> kSubBits) + kSubBits + 1;
    uint64_t top = (k & ((size_t{1} << kSubBits) - 1)) + (uint64_t{1} << kSubBits);
    uint64_t width = uint64_t{1} << (e - kSubBits);
    return (top << (e - kSubBits)) + (width - 1) / 2;
  }

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
};

// later - earlier, bucket by bucket.
HistogramCounts histogram_diff(const HistogramCounts& later, const HistogramCounts& earlier);
uint64_t histogram_total(const HistogramCounts& c);
// The value (ns) below which a fraction `q` of the samples fall; 0 if none.
uint64_t histogram_quantile(const HistogramCounts& c, double q);

// This process's user + system CPU time, in seconds (getrusage).
double process_cpu_s();

// What one measured window yielded.
struct LoadResult {
  std::string error;  // empty: the run is valid
  uint64_t ops = 0;   // completions inside the window
  double seconds = 0;
  HistogramCounts counts;  // their latencies
  uint64_t max_ns = 0;     // exact
};

struct LoadParams {
  size_t size_bytes = 0;
  size_t concurrency = 0;
  double duration_s = 0;
  bool progress = false;
};

// Runs the closed loop on `leader` (a node of this process that leads in
// `term`): the warm-up, then the measured window, then waits for the
// commands still in flight. Calls `at_edge(true)` right after the window
// opens and `at_edge(false)` right after it closes, on the calling thread.
// Gives up (result.error) at the first failed command or as soon as the
// node stops leading in `term`. Blocks for the whole run.
LoadResult run_load(raft::Node& leader, uint64_t term, const LoadParams& p, const std::function<void(bool)>& at_edge);

// What main prints: a valid run's figures.
struct Report {
  uint64_t ops = 0;
  double seconds = 0;
  HistogramCounts counts;
  uint64_t max_ns = 0;
  double cpu_s = 0;
  // The leader's log syncs over the whole run (warm-up included), from
  // Node::metrics(): to tell the disk's share of the latency tail. In-process
  // mode only.
  std::optional<raft::Histogram> leader_fsync;
};

// The two modes. Both return 0 with `out` filled, or 1 after saying on
// stderr why the run failed or is invalid.
int run_in_process(const Options& o, const std::string& run_dir, Report* out);
int run_processes(const Options& o, const std::string& run_dir, Report* out);
// The child's side of --processes: a node driven over file descriptor 3.
int run_node_child(const Options& o);

}  // namespace raft_bench
