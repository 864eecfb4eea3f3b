#!/usr/bin/env python3
"""Splits each fdatasync a command makes into the disk's time and the
time its thread then waited for a core, to tell the disk's stalls from
the scheduler's. The library's own sync timings (raft_bench's "leader log
syncs" line) include both.

  python3 bench/sync_trace.py [--skip 3] [--seconds 6] [--comm raft-disk] -- COMMAND...

Runs COMMAND, waits --skip seconds (its warm-up), then records with
`perf record -a` for --seconds: entry to and exit from fdatasync, and
the scheduler's wake-ups of threads named --comm (the runtime names its
disk threads raft-disk; a plain Python loop is python3). It lets COMMAND
finish and prints COMMAND's stdout and the last line of its stderr, then
for the fdatasync calls of --comm threads in the window:

  disk: entry to the last wake-up of the thread before the exit (the
        write and the cache flush, until the kernel woke the thread
        because they were done);
  wait: that wake-up to the exit (the thread runnable, waiting for a
        core). A call that never slept counts wholly as disk.

and how many calls took over 5 ms in all, and of those how many because
of the disk part alone (disk > 5 ms) or the wait alone (wait > 5 ms).

Needs root (or perf_event_paranoid <= -1) and perf. Examples:

  python3 bench/sync_trace.py -- ./build/tools/raft_bench --concurrency 256 --duration 10
  python3 bench/sync_trace.py --skip 1 --seconds 5 --comm python3 -- \\
      python3 bench/fsync_probe.py --dir build --writers 3 --bytes 24576 --seconds 7
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

LINE = re.compile(r"^\s*(\S.*?)\s+(\d+)\s+\[\d+\]\s+(\d+\.\d+):\s+(\S+):(.*)$")
WAKEE = re.compile(r"comm=(\S+) pid=(\d+)")


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip", type=float, default=3.0)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--comm", default="raft-disk")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("no command (put it after --)")
    if not shutil.which("perf"):
        sys.exit("sync_trace: perf is not installed (Debian: linux-perf)")

    tmp = tempfile.mkdtemp(prefix="sync_trace-")
    data = os.path.join(tmp, "perf.data")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(args.skip)
        rec = subprocess.run(
            ["perf", "record", "-q", "-a", "-o", data,
             "-e", "syscalls:sys_enter_fdatasync", "-e", "syscalls:sys_exit_fdatasync",
             "-e", "sched:sched_wakeup", "--filter", f'comm == "{args.comm}"',
             "--", "sleep", str(args.seconds)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if rec.returncode != 0:
            proc.kill()
            sys.exit("sync_trace: perf record failed: " + rec.stderr.strip())
        out, err = proc.communicate()
        script = subprocess.run(["perf", "script", "-i", data], capture_output=True, text=True)
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    print(out.strip())
    if err.strip():
        print(err.strip().splitlines()[-1])
    if proc.returncode != 0:
        print(f"sync_trace: the command exited with status {proc.returncode}")

    entered = {}  # tid -> entry time
    woken = {}    # tid -> last wake-up since entry
    disk, wait, total = [], [], []
    for line in script.stdout.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        comm, tid, t, event, rest = m.group(1), int(m.group(2)), float(m.group(3)), m.group(4), m.group(5)
        if event == "sched:sched_wakeup":
            w = WAKEE.search(rest)
            if w and int(w.group(2)) in entered:
                woken[int(w.group(2))] = t
        elif comm != args.comm:
            continue
        elif event == "syscalls:sys_enter_fdatasync":
            entered[tid] = t
            woken.pop(tid, None)
        elif event == "syscalls:sys_exit_fdatasync" and tid in entered:
            t0 = entered.pop(tid)
            tw = woken.pop(tid, t)  # never slept: all of it was the call's own work
            disk.append((tw - t0) * 1e6)
            wait.append((t - tw) * 1e6)
            total.append((t - t0) * 1e6)
    if not total:
        print(f"no fdatasync by threads named {args.comm} in the window")
        return
    n = len(total)
    slow = [i for i in range(n) if total[i] > 5000]
    print(f"fdatasync calls by {args.comm} threads: {n} in {args.seconds:g} s")
    for name, v in (("total", total), ("disk", disk), ("wait", wait)):
        print(f"  {name:5s} p50 {pct(v, .5):7.0f} us  p99 {pct(v, .99):7.0f} us  "
              f"p99.9 {pct(v, .999):7.0f} us  max {max(v):7.0f} us")
    print(f"  over 5 ms: {len(slow)} ({len(slow) / args.seconds:.1f} per second); of those, "
          f"disk over 5 ms: {sum(disk[i] > 5000 for i in slow)}, "
          f"wait over 5 ms: {sum(wait[i] > 5000 for i in slow)}")


if __name__ == "__main__":
    main()
