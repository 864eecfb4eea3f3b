#!/usr/bin/env python3
"""What the disk does when N logs append and fdatasync at once, as the N
WALs of a raft_bench cluster do on one machine: each of N processes appends
--bytes to its own file and fdatasyncs, for --seconds, and reports the
median, p99 and maximum sync time and how many syncs took over 5 ms (each
of those stalls every command in flight). docs/BENCHMARKS.md uses it to
tell the disk's tail from the library's.

  python3 bench/fsync_probe.py --dir build --writers 3 [--bytes 16384] [--seconds 8]

The files start empty and grow, like a plain append loop (not
preallocated). Run it on the disk under test, never on tmpfs.
"""
import argparse
import multiprocessing as mp
import os
import time


def writer(path, nbytes, seconds, out):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    buf = b"x" * nbytes
    lat = []
    end = time.time() + seconds
    while time.time() < end:
        t = time.perf_counter()
        os.write(fd, buf)
        os.fdatasync(fd)
        lat.append(time.perf_counter() - t)
    os.close(fd)
    os.unlink(path)
    out.put(lat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=".")
    ap.add_argument("--writers", type=int, default=3)
    ap.add_argument("--bytes", type=int, default=16384)
    ap.add_argument("--seconds", type=float, default=8)
    a = ap.parse_args()
    q = mp.Queue()
    procs = [mp.Process(target=writer, args=(os.path.join(a.dir, f"fsync-probe-{i}.dat"), a.bytes, a.seconds, q))
             for i in range(a.writers)]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    for i, lat in enumerate(results):
        lat.sort()
        n = len(lat)
        slow = [x for x in lat if x > 0.005]
        print(f"writer {i}: {n} syncs of {a.bytes} B; p50 {lat[n // 2] * 1e6:.0f} us, "
              f"p99 {lat[int(n * 0.99)] * 1e6:.0f} us, max {lat[-1] * 1e3:.1f} ms; "
              f"over 5 ms: {len(slow)} ({sum(slow) / sum(lat) * 100:.0f}% of the time)")


if __name__ == "__main__":
    main()
