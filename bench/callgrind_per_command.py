#!/usr/bin/env python3
"""Counts the instructions and heap allocations that one command costs,
with valgrind's callgrind: unlike time, they barely move on a noisy
machine, so a change of a few percent shows.

  python3 bench/callgrind_per_command.py --build build [--pairs 3] [--top 15]
  python3 bench/callgrind_per_command.py --build build -- --store wal --size 4096

Runs raft_bench (default: --store memory --size 128 --concurrency 256)
under callgrind twice per pair, measuring 1 s and 4 s, and divides the
difference of the two runs' counts by the difference of their commands:
the start-up, the election and the warm-up cancel out. Prints, as the
median over the pairs: user-space instructions per command (all three
nodes and the load together; the kernel's are not counted), calls to
malloc per command, and the functions that cost the most instructions
per command (their own, not their callees').

Needs valgrind (Debian package valgrind; scripts/setup.sh does not
install it: only this script uses it).
"""
import argparse
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

DEFAULT_LOAD = ["--store", "memory", "--size", "128", "--concurrency", "256"]


def parse_profile(path):
    """Returns (self Ir by function, calls to malloc) from a callgrind file."""
    names = {}

    def name(tok):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?", tok)
        if not m:
            return tok
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), tok)

    self_ir = collections.Counter()
    mallocs = 0
    fn = None
    callee = None
    after_calls = False
    with open(path) as f:
        for line in f:
            if line.startswith("fn="):
                fn = name(line[3:].strip())
            elif line.startswith("cfn="):
                callee = name(line[4:].strip())
            elif line.startswith("calls="):
                if callee == "malloc" or callee.startswith("malloc "):
                    mallocs += int(line[6:].split()[0])
                after_calls = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                parts = line.split()
                if len(parts) >= 2:
                    if after_calls:
                        after_calls = False  # a call's inclusive cost: not this function's own
                    else:
                        self_ir[fn] += int(parts[1])
    return self_ir, mallocs


def run_once(bench, seconds, load, workdir, tag):
    out = os.path.join(workdir, f"callgrind.{tag}")
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", bench,
           "--duration", str(seconds), "--dir", workdir] + load
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    ops = json.loads(p.stdout.strip().splitlines()[-1])["ops"]
    m = re.search(r"Collected : (\d+)", p.stderr)
    if not m:
        sys.exit("no instruction count in valgrind's output:\n" + p.stderr[-2000:])
    self_ir, mallocs = parse_profile(out)
    os.remove(out)
    return ops, int(m.group(1)), mallocs, self_ir


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("load", nargs="*", help="raft_bench flags after --")
    a = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (sudo apt-get install valgrind)")
    bench = os.path.join(a.build, "tools", "raft_bench")
    load = a.load or DEFAULT_LOAD
    per_ir, per_malloc = [], []
    per_fn = collections.defaultdict(list)
    with tempfile.TemporaryDirectory(dir=a.build, prefix="callgrind-") as workdir:
        for i in range(a.pairs):
            o1, ir1, m1, f1 = run_once(bench, 1, load, workdir, f"{i}.short")
            o4, ir4, m4, f4 = run_once(bench, 4, load, workdir, f"{i}.long")
            if o4 <= o1:
                sys.exit(f"pair {i + 1}: the longer run did no more commands ({o1}, {o4})")
            n = o4 - o1
            per_ir.append((ir4 - ir1) / n)
            per_malloc.append((m4 - m1) / n)
            for fn in set(f1) | set(f4):
                per_fn[fn].append((f4[fn] - f1[fn]) / n)
            print(f"pair {i + 1}: {o1} and {o4} commands: {per_ir[-1]:,.0f} instructions, "
                  f"{per_malloc[-1]:.2f} mallocs per command", file=sys.stderr)
    total = statistics.median(per_ir)
    print(f"raft_bench {' '.join(load)}, {a.pairs} pairs (median):")
    print(f"  instructions per command: {total:,.0f}")
    print(f"  malloc calls per command: {statistics.median(per_malloc):.2f}")
    print()
    print("| instructions per command | share | function (its own instructions) |")
    print("| --- | --- | --- |")
    medians = {fn: statistics.median(v + [0] * (a.pairs - len(v))) for fn, v in per_fn.items()}
    for fn, v in sorted(medians.items(), key=lambda kv: -kv[1])[:a.top]:
        short = re.sub(r"\s*\[[^\]]*\]$", "", fn)
        print(f"| {v:,.0f} | {100 * v / total:.1f}% | `{short[:110]}` |")


if __name__ == "__main__":
    main()
