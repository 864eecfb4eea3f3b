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

  python3 bench/fsync_probe.py --dir build --writers 1 --bytes 156 --seconds 6 \
      --delete-mib 512 [--delete-step-mib 16]

--delete-mib has one more process write a file of that many MiB, sync
it, and delete it while the writers run, and reports the worst flush
that overlapped the deletion against the worst one otherwise: on a file
system mounted with `discard` a deletion trims its blocks synchronously,
and the disk may hold other flushes meanwhile. --delete-step-mib first
truncates the file that many MiB at a time, 10 ms apart, then unlinks it.

The files start empty and grow, like a plain append loop (not
preallocated). Run it on the disk under test, never on tmpfs.
"""
import argparse
import json
import multiprocessing as mp
import os
import sys
import time


def writer(path, nbytes, seconds, out, barrier, rounds):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    buf = b"x" * nbytes
    lat = []
    starts = []  # time.monotonic() at each sync's start (the same clock in every process)
    end = time.time() + seconds
    while (len(lat) < rounds) if barrier else (time.time() < end):
        if barrier:
            barrier.wait()
        starts.append(time.monotonic())
        t = time.perf_counter()
        os.write(fd, buf)
        os.fdatasync(fd)
        lat.append(time.perf_counter() - t)
    os.close(fd)
    os.unlink(path)
    out.put((lat, starts))


def deleter(path, mib, step_mib, start_after, out):
    """Writes and syncs a file of `mib` MiB, then deletes it; reports when
    (time.monotonic()) the writing began and the deletion began and ended."""
    time.sleep(start_after)
    written = time.monotonic()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    chunk = b"d" * (1 << 20)
    for _ in range(mib):
        os.write(fd, chunk)
    os.fsync(fd)
    time.sleep(0.5)
    begin = time.monotonic()
    if step_mib > 0:
        size = mib << 20
        while size > 0:
            size = max(0, size - (step_mib << 20))
            os.ftruncate(fd, size)
            time.sleep(0.01)
    os.close(fd)
    os.unlink(path)
    out.put((written, begin, time.monotonic()))


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
    ap.add_argument("--delete-mib", type=int, default=0)
    ap.add_argument("--delete-step-mib", type=int, default=0)
    a = ap.parse_args()
    if a.delete_mib and a.lockstep:
        ap.error("--delete-mib does not go with --lockstep")
    q = mp.Queue()
    barrier = mp.Barrier(a.writers) if a.lockstep else None
    rounds = lockstep_rounds(a) if a.lockstep else 0
    procs = [mp.Process(target=writer, args=(os.path.join(a.dir, f"fsync-probe-{i}.dat"), a.bytes, a.seconds, q,
                                             barrier, rounds))
             for i in range(a.writers)]
    dq = mp.Queue()
    if a.delete_mib:
        procs.append(mp.Process(target=deleter, args=(os.path.join(a.dir, "fsync-probe-delete.dat"), a.delete_mib,
                                                      a.delete_step_mib, a.seconds / 3, dq)))
    for p in procs:
        p.start()
    got = [q.get() for _ in range(a.writers)]
    deletion = dq.get() if a.delete_mib else None
    for p in procs:
        p.join()
    results = [lat for lat, _ in got]
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
    if deletion:
        # A flush overlaps a phase if it ran at any moment of it. Writing
        # the big file loads the disk too: its flushes are kept apart.
        written, begin, end = deletion
        during, writing, quiet = [], [0.0], [0.0]
        for lat, starts in got:
            for d, t in zip(lat, starts):
                if t <= end and t + d >= begin:
                    during.append(d)
                elif t <= begin and t + d >= written:
                    writing.append(d)
                else:
                    quiet.append(d)
        if not during:
            sys.exit("no flush overlapped the deletion (the writers had stopped): run longer with --seconds")
        summary["delete"] = {"mib": a.delete_mib, "step_mib": a.delete_step_mib, "ms": (end - begin) * 1e3,
                             "worst_flush_during_ms": max(during) * 1e3, "worst_flush_quiet_ms": max(quiet) * 1e3,
                             "worst_flush_writing_ms": max(writing) * 1e3}
        if not a.json:
            how = f"in {a.delete_step_mib} MiB steps" if a.delete_step_mib else "at once"
            print(f"deleting {a.delete_mib} MiB {how} took {(end - begin) * 1e3:.0f} ms; the worst flush that "
                  f"overlapped it took {max(during) * 1e3:.1f} ms; the worst before the file was written and "
                  f"after the deletion {max(quiet) * 1e3:.1f} ms (while it was written: "
                  f"{max(writing) * 1e3:.1f} ms)")
    if a.json:
        print(json.dumps(summary))
    elif a.lockstep:
        print(f"all {a.writers} starting together, {rounds} rounds: a majority had flushed after "
              f"{summary['majority_p50_us']:.0f} us (median)")


if __name__ == "__main__":
    main()
