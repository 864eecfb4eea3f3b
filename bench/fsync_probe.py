#!/usr/bin/env python3
"""What the disk does when N logs append and fdatasync at once, as the N
WALs of a raft_bench cluster do on one machine: each of N processes appends
--bytes to its own file and fdatasyncs, for --seconds, and reports the
median, p99 and maximum sync time and how many syncs took over 5 ms (each
of those stalls every command in flight). docs/BENCHMARKS.md uses it to
tell the disk's tail from the library's.

  python3 bench/fsync_probe.py --dir build --writers 3 [--bytes 16384] [--seconds 8]
      [--lockstep] [--json]

--lockstep starts every writer's write+fdatasync at once, round after
round (a barrier between rounds), as the leader and followers of a
cluster with one command in flight do, and also reports the median over
rounds of the time until a majority of the writers had flushed: the
disk's share of a commit at one in flight. --json prints one line of
JSON (per-writer MB/s, medians) for scripts (bench/raft_bench_matrix.py).

The files start empty and grow, like a plain append loop (not
preallocated). Run it on the disk under test, never on tmpfs.
"""
import argparse
import json
import multiprocessing as mp
import os
import time


def writer(path, nbytes, seconds, out, barrier, rounds):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    buf = b"x" * nbytes
    lat = []
    end = time.time() + seconds
    while (len(lat) < rounds) if barrier else (time.time() < end):
        if barrier:
            barrier.wait()
        t = time.perf_counter()
        os.write(fd, buf)
        os.fdatasync(fd)
        lat.append(time.perf_counter() - t)
    os.close(fd)
    os.unlink(path)
    out.put(lat)


def lockstep_rounds(a):
    """Rounds that fit in --seconds at one flush each (measured alone)."""
    path = os.path.join(a.dir, "fsync-probe-calibrate.dat")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t = time.perf_counter()
    for _ in range(50):
        os.write(fd, b"x" * a.bytes)
        os.fdatasync(fd)
    per = (time.perf_counter() - t) / 50
    os.close(fd)
    os.unlink(path)
    return max(50, int(a.seconds / (per * 1.5)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=".")
    ap.add_argument("--writers", type=int, default=3)
    ap.add_argument("--bytes", type=int, default=16384)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--lockstep", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    q = mp.Queue()
    barrier = mp.Barrier(a.writers) if a.lockstep else None
    rounds = lockstep_rounds(a) if a.lockstep else 0
    procs = [mp.Process(target=writer, args=(os.path.join(a.dir, f"fsync-probe-{i}.dat"), a.bytes, a.seconds, q,
                                             barrier, rounds))
             for i in range(a.writers)]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    summary = {"writers": a.writers, "bytes": a.bytes, "lockstep": a.lockstep, "per_writer": []}
    if a.lockstep:
        # Round r's k-th fastest flush, k a majority of the writers.
        k = a.writers // 2 + 1
        kth = sorted(sorted(lat[r] for lat in results)[k - 1] for r in range(rounds))
        summary["majority_p50_us"] = kth[len(kth) // 2] * 1e6
    for i, lat in enumerate(results):
        total = sum(lat)
        lat = sorted(lat)
        n = len(lat)
        slow = [x for x in lat if x > 0.005]
        w = {"syncs": n, "p50_us": lat[n // 2] * 1e6, "p99_us": lat[int(n * 0.99)] * 1e6,
             "max_ms": lat[-1] * 1e3, "over_5ms": len(slow), "MBps": n * a.bytes / total / 1e6}
        summary["per_writer"].append(w)
        if not a.json:
            print(f"writer {i}: {n} syncs of {a.bytes} B; p50 {w['p50_us']:.0f} us, "
                  f"p99 {w['p99_us']:.0f} us, max {w['max_ms']:.1f} ms; "
                  f"over 5 ms: {len(slow)} ({sum(slow) / total * 100:.0f}% of the time); {w['MBps']:.1f} MB/s")
    if a.json:
        print(json.dumps(summary))
    elif a.lockstep:
        print(f"all {a.writers} starting together, {rounds} rounds: a majority had flushed after "
              f"{summary['majority_p50_us']:.0f} us (median)")


if __name__ == "__main__":
    main()
