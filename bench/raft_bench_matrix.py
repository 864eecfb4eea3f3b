#!/usr/bin/env python3
"""Runs raft_bench over the workloads of docs/BENCHMARKS.md, interleaved
(run 1 of every workload, then run 2, ...) so that every workload meets the
same machine, and prints a Markdown table of the medians, with the physical
limits measured in the same session beside them.

  python3 bench/raft_bench_matrix.py --build build [--runs 3] [--duration 10]

The limits, each measured before and after the raft_bench runs: one
128-byte write+fdatasync (storage_bench BM_PlainWrite/128/1), one loopback
TCP round trip (net_baseline_bench), the time until two of three logs that
flush at once have flushed, and the MB/s each of three 1 MiB
write+fdatasync loops gets (bench/fsync_probe.py): the cluster's three
logs share this machine's disk.

  python3 bench/raft_bench_matrix.py --build build --tls [--runs 5]
  python3 bench/raft_bench_matrix.py --build build --steady --duration 30

run the TLS pairs instead (each workload plaintext and over --tls,
interleaved) and print the TLS throughput ratio of each pair; or the
256-in-flight workloads on a cluster that compacts its log as it goes, so
its WALs reuse spare segment files.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

WORKLOADS = [
    ("128 B, 256 in flight", ["--size", "128", "--concurrency", "256"]),
    ("4 KiB, 256 in flight", ["--size", "4096", "--concurrency", "256"]),
    ("128 B, 1 in flight", ["--size", "128", "--concurrency", "1"]),
    ("memory store, 128 B, 256 in flight", ["--store", "memory", "--size", "128", "--concurrency", "256"]),
    ("128 B, 256 in flight, --processes", ["--size", "128", "--concurrency", "256", "--processes"]),
]

# A cluster that has compacted its log: snapshots every 20,000 entries
# (checked every second), so from the first seconds on the WALs write
# their new segments into spare files (docs/disk-format.md). Run longer
# (--duration 30) so that most of the run is in that state.
STEADY_WORKLOADS = [
    ("128 B, 256 in flight, compacting", ["--size", "128", "--concurrency", "256", "--snapshot-threshold", "20000"]),
    ("4 KiB, 256 in flight, compacting", ["--size", "4096", "--concurrency", "256", "--snapshot-threshold", "20000"]),
]

TLS_WORKLOADS = [
    ("128 B, 256 in flight", ["--size", "128", "--concurrency", "256"]),
    ("128 B, 256 in flight, --tls", ["--size", "128", "--concurrency", "256", "--tls"]),
    ("4 KiB, 256 in flight", ["--size", "4096", "--concurrency", "256"]),
    ("4 KiB, 256 in flight, --tls", ["--size", "4096", "--concurrency", "256", "--tls"]),
    ("memory store, 128 B, 256 in flight", ["--store", "memory", "--size", "128", "--concurrency", "256"]),
    ("memory store, 128 B, 256 in flight, --tls",
     ["--store", "memory", "--size", "128", "--concurrency", "256", "--tls"]),
]


def run_json(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(f"failed: {' '.join(cmd)}\n{out.stderr}\n")
        return None
    return out


def median_us(binary, bench_filter, repetitions):
    """Median real time in microseconds of a Google Benchmark's repetitions."""
    out = run_json([binary, f"--benchmark_filter={bench_filter}", f"--benchmark_repetitions={repetitions}",
                    "--benchmark_min_time=0.5", "--benchmark_format=json"])
    if not out:
        return None
    runs = [b for b in json.loads(out.stdout)["benchmarks"] if b.get("run_type") == "iteration"]
    unit = {"ns": 1e-3, "us": 1.0, "ms": 1e3}[runs[0]["time_unit"]]
    return statistics.median(b["real_time"] for b in runs) * unit


def fsync_probe(build, *args):
    """bench/fsync_probe.py's JSON summary, writing under the build directory."""
    probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fsync_probe.py")
    out = run_json([sys.executable, probe, "--dir", build, "--json"] + list(args))
    return json.loads(out.stdout) if out else None


def limits(build):
    """The physical limits beside the figures: one fdatasync, one loopback
    round trip, the time until two of three logs flushing at once have
    flushed (the disk's share of a commit at one in flight, since the three
    nodes' logs share this disk), and what three 1 MiB append+fdatasync
    loops move per log (the ceiling for 4 KiB commands)."""
    res = {
        "fsync_us": median_us(os.path.join(build, "bench", "storage_bench"), "BM_PlainWrite/128/1/", 5),
        "rtt_us": median_us(os.path.join(build, "bench", "net_baseline_bench"), "TcpPingPong", 3),
    }
    lockstep = fsync_probe(build, "--writers", "3", "--bytes", "156", "--seconds", "3", "--lockstep")
    if lockstep:
        res["majority_of_3_flush_us"] = lockstep["majority_p50_us"]
    # 1 MiB: about what a WAL flushes per round at 4 KiB x 256 in flight.
    bandwidth = fsync_probe(build, "--writers", "3", "--bytes", str(1 << 20), "--seconds", "4")
    if bandwidth:
        res["MBps_per_log"] = statistics.median(w["MBps"] for w in bandwidth["per_writer"])
    return {k: v for k, v in res.items() if v is not None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", default="10")
    ap.add_argument("--dir", default=None, help="data directory (default: <build>/raft_bench-data)")
    ap.add_argument("--tls", action="store_true", help="the plaintext/TLS pairs instead")
    ap.add_argument("--steady", action="store_true",
                    help="the 256-in-flight workloads on a cluster that compacts its log (use --duration 30)")
    a = ap.parse_args()
    workloads = TLS_WORKLOADS if a.tls else STEADY_WORKLOADS if a.steady else WORKLOADS
    rb = os.path.join(a.build, "tools", "raft_bench")
    before = limits(a.build)
    results = {name: [] for name, _ in workloads}
    for r in range(a.runs):
        for name, flags in workloads:
            cmd = [rb, "--duration", a.duration] + flags + (["--dir", a.dir] if a.dir else [])
            out = run_json(cmd)
            if out:
                line = json.loads(out.stdout.strip().splitlines()[-1])
                results[name].append(line)
                print(f"run {r + 1} {name}: {line['ops_per_s']:.0f} ops/s p50 {line['p50_us']:.0f} us "
                      f"p99 {line['p99_us']:.0f} us cpu {line['cpu_us_per_op']:.2f} us/op", file=sys.stderr)
    after = limits(a.build)
    print("| workload | ops/s (median; runs) | p50 us | p99 us | p99.9 us | CPU us/op |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, _ in workloads:
        rs = results[name]
        if not rs:
            print(f"| {name} | failed | | | | |")
            continue
        med = lambda k: statistics.median(x[k] for x in rs)
        runs = " / ".join(f"{x['ops_per_s'] / 1000:.1f}k" for x in rs)
        print(f"| {name} | {med('ops_per_s'):,.0f} ({runs}) | {med('p50_us'):,.0f} | {med('p99_us'):,.0f} | "
              f"{med('p999_us'):,.0f} | {med('cpu_us_per_op'):.2f} |")
    if a.tls:
        print("\n| workload | TLS throughput / plaintext (median of per-run ratios) | TLS CPU us/op - plaintext |")
        print("| --- | --- | --- |")
        for name, _ in workloads:
            if name.endswith(", --tls"):
                continue
            plain, tls = results[name], results[name + ", --tls"]
            pairs = list(zip(plain, tls))
            if not pairs:
                continue
            ratio = statistics.median(t["ops_per_s"] / p["ops_per_s"] for p, t in pairs)
            cpu = statistics.median(t["cpu_us_per_op"] - p["cpu_us_per_op"] for p, t in pairs)
            print(f"| {name} | {ratio:.3f} | {cpu:+.2f} |")
    for k, label in (("fsync_us", "128 B write+fdatasync, median us"), ("rtt_us", "loopback TCP round trip, us"),
                     ("majority_of_3_flush_us", "three logs flushing 156 B at once: two done after, median us"),
                     ("MBps_per_log", "three 1 MiB write+fdatasync loops: MB/s per log")):
        vals = [d[k] for d in (before, after) if k in d]
        if vals:
            print(f"\n{label}: before {vals[0]:.1f}, after {vals[-1]:.1f}")
    mbps = [d["MBps_per_log"] for d in (before, after) if "MBps_per_log" in d]
    if mbps:
        ceiling = statistics.mean(mbps) * 1e6 / (4096 + 28)
        print(f"\n4 KiB commands the disk can take with three logs on it: {ceiling:,.0f}/s (80%: {0.8 * ceiling:,.0f})")


if __name__ == "__main__":
    main()
