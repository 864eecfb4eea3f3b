#!/usr/bin/env python3
"""Runs raft_bench over the workloads of docs/BENCHMARKS.md, interleaved
(run 1 of every workload, then run 2, ...) so that every workload meets the
same machine, and prints a Markdown table of the medians, with the physical
limits measured in the same session beside them.

  python3 bench/raft_bench_matrix.py --build build [--runs 3] [--duration 10]

The limits: one 128-byte write+fdatasync (storage_bench BM_PlainWrite/128/1)
and one loopback TCP round trip (net_baseline_bench), each measured before
and after the raft_bench runs; the table gives the mean of the two.

  python3 bench/raft_bench_matrix.py --build build --tls [--runs 5]

runs the TLS pairs instead (each workload plaintext and over --tls,
interleaved) and prints the TLS throughput ratio of each pair.
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


def limits(build):
    """(fdatasync p50 us, loopback round trip us) from the micro benchmarks."""
    res = {
        "fsync_us": median_us(os.path.join(build, "bench", "storage_bench"), "BM_PlainWrite/128/1/", 5),
        "rtt_us": median_us(os.path.join(build, "bench", "net_baseline_bench"), "TcpPingPong", 3),
    }
    return {k: v for k, v in res.items() if v is not None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", default="10")
    ap.add_argument("--dir", default=None, help="data directory (default: <build>/raft_bench-data)")
    ap.add_argument("--tls", action="store_true", help="the plaintext/TLS pairs instead")
    a = ap.parse_args()
    workloads = TLS_WORKLOADS if a.tls else WORKLOADS
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
    for k, label in (("fsync_us", "128 B write+fdatasync, median us"), ("rtt_us", "loopback TCP round trip, us")):
        vals = [d[k] for d in (before, after) if k in d]
        if vals:
            print(f"\n{label}: before {vals[0]:.1f}, after {vals[-1]:.1f}")


if __name__ == "__main__":
    main()
