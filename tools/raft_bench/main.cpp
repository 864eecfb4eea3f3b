// raft_bench: the end-to-end benchmark of libraft.
//
// Starts a cluster on 127.0.0.1 (nodes talk real TCP, each with its own
// data directory), elects a leader, then keeps --concurrency commands of
// --size bytes in flight on it (a closed loop: each completion submits the
// next) for --duration seconds after a 1 s warm-up. Latency is from
// apply() to the future's completion: committed and applied on the leader.
// Prints one JSON line on stdout:
//
//   {"system":"libraft","nodes":3,"size":128,"concurrency":64,"store":"wal",
//    "ops":..,"seconds":..,"ops_per_s":..,"p50_us":..,"p99_us":..,
//    "p999_us":..,"max_us":..,"cpu_s":..,"cpu_us_per_op":..}
//
// cpu_s is user + system CPU of every node over the measured window (this
// process; with --processes, the sum of the children). A run during which
// leadership changed, or a command failed, is invalid: a message on
// stderr, exit status 1, no JSON. Figures are measured, never asserted
// (the ctest smoke test checks the output's shape only).
//
// Files: load.cpp (the closed loop, histogram, node config), in_process.cpp
// (all nodes here), processes.cpp (one process per node).
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "bench.hpp"

#ifndef RAFT_BENCH_DEFAULT_DIR
#define RAFT_BENCH_DEFAULT_DIR "raft_bench-data"
#endif

namespace raft_bench {
namespace {

constexpr int kMaxNodes = 15;
constexpr size_t kMaxSizeBytes = 64 << 20;
constexpr size_t kMaxConcurrency = 1 << 20;
constexpr uint64_t kMaxInFlightBytes = uint64_t{4} << 30;

void print_help() {
  std::printf(
      "usage: raft_bench [flags]\n"
      "\n"
      "End-to-end benchmark of libraft. Starts a cluster on 127.0.0.1 (real TCP, each\n"
      "node with its own data directory), waits for a leader, then keeps C commands of\n"
      "S bytes in flight on it (closed loop) for D seconds after a 1 s warm-up. Prints\n"
      "one JSON line on stdout: ops, ops_per_s, latency from submit to applied on the\n"
      "leader (p50_us, p99_us, p999_us, max_us) and CPU time (cpu_s, cpu_us_per_op).\n"
      "\n"
      "  --nodes N                servers in the cluster (default 3, at most %d)\n"
      "  --size BYTES             bytes per command (default 128)\n"
      "  --concurrency C          commands in flight (default 64)\n"
      "  --duration SECONDS       measured time after the warm-up; fractions allowed\n"
      "                           (default 10)\n"
      "  --dir DIR                where the run makes its folder of data directories\n"
      "                           (default %s).\n"
      "                           Use a real disk: on tmpfs (often /tmp) fsync costs\n"
      "                           nothing and the figures mean nothing.\n"
      "  --store wal|memory       log store: wal (on disk, fsync'd; default) or memory\n"
      "                           (nothing on disk; still TCP)\n"
      "  --snapshot-threshold N   snapshot after N applied entries, checked every second;\n"
      "                           0: never. Default: the library's (8192 entries, checked\n"
      "                           every 120 s, and at once when the entries applied since\n"
      "                           the last snapshot hold 256 MiB)\n"
      "  --wal-spares N           WAL segment files kept for reuse after compaction\n"
      "                           (Config::wal_spare_segments; default: the library's)\n"
      "  --tls                    mutual TLS between the nodes (peer ids pinned), with\n"
      "                           certificates made for the run by scripts/make-certs.sh\n"
      "  --tls-dir DIR            --tls with the certificates in DIR: ca.pem, node<N>.pem\n"
      "                           and node<N>.key for N = 1..nodes\n"
      "  --progress               once a second on stderr: ops/s and p99 of the last second\n"
      "  --processes              one OS process per node; the load runs in the leader's\n"
      "  --keep                   keep the data directories (default: removed at the end)\n"
      "  --help                   this text\n"
      "\n"
      "Flags also take the form --flag=VALUE. Exit status: 0 done, 1 the run failed or\n"
      "was invalid (e.g. leadership changed during it; nothing is printed on stdout),\n"
      "2 bad flags.\n",
      kMaxNodes, RAFT_BENCH_DEFAULT_DIR);
}

[[noreturn]] void bad_flag(const std::string& message) {
  std::fprintf(stderr, "raft_bench: %s (see --help)\n", message.c_str());
  std::exit(2);
}

template <class T>
T parse_integer(const std::string& flag, const std::string& v, T min, T max) {
  T out{};
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size() || out < min || out > max)
    bad_flag(flag + ": \"" + v + "\" is not an integer in " + std::to_string(min) + ".." + std::to_string(max));
  return out;
}

Options parse_flags(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::optional<std::string> inline_value;
    if (size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    auto no_value = [&] {
      if (inline_value) bad_flag(flag + " takes no value");
    };
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= argc) bad_flag(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") {
      no_value();
      print_help();
      std::exit(0);
    } else if (flag == "--nodes") {
      o.nodes = parse_integer(flag, value(), 1, kMaxNodes);
    } else if (flag == "--size") {
      o.size_bytes = parse_integer<size_t>(flag, value(), 1, kMaxSizeBytes);
    } else if (flag == "--concurrency") {
      o.concurrency = parse_integer<size_t>(flag, value(), 1, kMaxConcurrency);
    } else if (flag == "--duration") {
      std::string v = value();
      char* end = nullptr;
      o.duration_s = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !std::isfinite(o.duration_s) || o.duration_s <= 0 || o.duration_s > 86400)
        bad_flag("--duration: \"" + v + "\" is not a number of seconds above 0 (at most 86400)");
    } else if (flag == "--dir") {
      o.dir = value();
      if (o.dir.empty()) bad_flag("--dir: empty");
    } else if (flag == "--store") {
      o.store = value();
      if (o.store != "wal" && o.store != "memory") bad_flag("--store: \"" + o.store + "\" is not wal or memory");
    } else if (flag == "--snapshot-threshold") {
      o.snapshot_threshold = parse_integer<uint64_t>(flag, value(), 0, uint64_t{1} << 40);
    } else if (flag == "--wal-spares") {
      o.wal_spares = parse_integer<uint64_t>(flag, value(), 0, 1024);
    } else if (flag == "--tls") {
      no_value();
      o.tls = true;
    } else if (flag == "--tls-dir") {
      o.tls = true;
      o.tls_dir = value();
      if (o.tls_dir.empty()) bad_flag("--tls-dir: empty");
    } else if (flag == "--progress") {
      no_value();
      o.progress = true;
    } else if (flag == "--processes") {
      no_value();
      o.processes = true;
    } else if (flag == "--keep") {
      no_value();
      o.keep = true;
    } else if (flag == "--node-child") {  // hidden: --processes starts its nodes so
      o.child_id = parse_integer<raft::ServerId>(flag, value(), 1, kMaxNodes);
    } else {
      bad_flag("unknown flag " + std::string(argv[i]));
    }
  }
  if (static_cast<uint64_t>(o.concurrency) * o.size_bytes > kMaxInFlightBytes)
    bad_flag("--concurrency x --size is above 4 GiB in flight");
  return o;
}

void print_json(const Options& o, const Report& r) {
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1e3; };
  // A bucket's middle may lie above the exact maximum.
  auto q_us = [&](double q) { return us(std::min(histogram_quantile(r.counts, q), r.max_ns)); };
  const double ops = static_cast<double>(r.ops);
  std::printf(
      "{\"system\":\"libraft\",\"nodes\":%d,\"size\":%zu,\"concurrency\":%zu,\"store\":\"%s\",\"tls\":%s,\"ops\":%llu,"
      "\"seconds\":%.3f,\"ops_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
      "\"cpu_s\":%.3f,\"cpu_us_per_op\":%.2f}\n",
      o.nodes, o.size_bytes, o.concurrency, o.store.c_str(), o.tls ? "true" : "false", static_cast<unsigned long long>(r.ops), r.seconds,
      ops / r.seconds, q_us(0.50), q_us(0.99), q_us(0.999), us(r.max_ns), r.cpu_s, r.cpu_s * 1e6 / ops);
  if (r.leader_fsync) {
    // Not part of the JSON line (its keys are fixed): a diagnostic for
    // humans. The histogram's buckets are coarse: a quantile is reported as
    // the upper bound of its bucket.
    const raft::Histogram& h = *r.leader_fsync;
    auto bound_us = [&](double q) {
      uint64_t seen = 0;
      for (size_t i = 0; i < h.counts.size(); ++i) {
        seen += h.counts[i];
        if (h.count && seen >= q * static_cast<double>(h.count))
          return i < h.bounds.size() ? h.bounds[i] * 1e6 : INFINITY;
      }
      return 0.0;
    };
    // Slow syncs are rare but stall every command in flight.
    uint64_t slow = 0;
    for (size_t i = 0; i < h.counts.size(); ++i)
      if (i >= h.bounds.size() || h.bounds[i] > 0.005) slow += h.counts[i];
    std::fprintf(stderr,
                 "raft_bench: leader log syncs: %llu, mean %.0f us, p50 <= %.0f us, p99 <= %.0f us, over 5 ms: %llu\n",
                 static_cast<unsigned long long>(h.count), h.count ? h.sum * 1e6 / static_cast<double>(h.count) : 0.0,
                 bound_us(0.5), bound_us(0.99), static_cast<unsigned long long>(slow));
  }
  std::fflush(stdout);
}

int run(Options o) {
  namespace fs = std::filesystem;
  // A fresh folder per run inside --dir, so no earlier data is reused and
  // nothing but our own is ever removed.
  fs::path root = o.dir.empty() ? fs::path(RAFT_BENCH_DEFAULT_DIR) : fs::path(o.dir);
  std::error_code ec;
  bool made_root = !fs::exists(root, ec);
  fs::path run_dir = root / ("run-" + std::to_string(getpid()));
  fs::remove_all(run_dir, ec);  // a crashed run's, with our pid
  if (!fs::create_directories(run_dir, ec) && ec) {
    std::fprintf(stderr, "raft_bench: cannot create %s: %s\n", run_dir.c_str(), ec.message().c_str());
    return 1;
  }
  Report r;
  if (o.tls && o.tls_dir.empty()) {
    o.tls_dir = (run_dir / "tls").string();
    std::string cmd = std::string(RAFT_BENCH_SOURCE_DIR) + "/scripts/make-certs.sh " + o.tls_dir;
    for (int i = 1; i <= o.nodes; ++i) cmd += " " + std::to_string(i);
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "raft_bench: making certificates failed: %s\n", cmd.c_str());
      return 1;
    }
  }
  int rc = o.processes ? run_processes(o, run_dir.string(), &r) : run_in_process(o, run_dir.string(), &r);
  if (rc == 0 && r.ops == 0) {
    std::fprintf(stderr, "raft_bench: no command completed in the measured window\n");
    rc = 1;
  }
  if (rc == 0) print_json(o, r);
  if (o.keep) {
    std::fprintf(stderr, "raft_bench: data kept in %s\n", run_dir.c_str());
  } else {
    fs::remove_all(run_dir, ec);
    if (made_root) fs::remove(root, ec);  // only if empty: another run may be using it
  }
  return rc;
}

}  // namespace
}  // namespace raft_bench

int main(int argc, char** argv) {
  raft_bench::Options o = raft_bench::parse_flags(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);  // a dead peer is an error to report, not a reason to die
  if (o.child_id != 0) return raft_bench::run_node_child(o);
  return raft_bench::run(o);
}
