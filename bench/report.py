#!/usr/bin/env python3
"""Summarises storage_bench JSON output (--benchmark_out): medians of the
repetitions. BM_SideBySide rows give the WAL's ratios to the plain
write+fdatasync loops measured interleaved, batch by batch, in the same
run (the figures docs/BENCHMARKS.md reports); the separate BM_WalAppend /
BM_PlainWrite rows, when present, give a second, noisier view.

usage: bench/report.py results.json
"""
import json
import statistics
import sys
from collections import defaultdict


def main(path):
    with open(path) as f:
        data = json.load(f)
    runs = defaultdict(list)
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        runs[b["run_name"]].append(b)

    def median(name, key):
        vals = [r[key] for r in runs.get(name, []) if key in r]
        return statistics.median(vals) if vals else None

    for bench, title in (("BM_SideBySide", "Side by side, a new WAL"),
                         ("BM_SideBySideRecycled", "Side by side, the WAL reusing spare segments")):
        side_table(runs, median, bench, title)
    if not any(k.startswith("BM_WalAppend/") for k in runs):
        runs_main = False
    else:
        runs_main = True
    if runs_main:
        print("| entry bytes | batch | WAL MB/s | plain MB/s | ratio | WAL us/batch | plain us/batch | ratio | prealloc-plain MB/s | WAL/prealloc |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for size in (128, 4096):
            for batch in (1, 16, 256):
                suffix = f"/{size}/{batch}/real_time"
                wal = "BM_WalAppend" + suffix
                plain = "BM_PlainWrite" + suffix
                pre = "BM_PlainPwritePrealloc" + suffix
                w_bps, p_bps, pre_bps = (median(n, "bytes_per_second") for n in (wal, plain, pre))
                w_t, p_t = median(wal, "real_time"), median(plain, "real_time")
                if None in (w_bps, p_bps, w_t, p_t):
                    continue
                unit = runs[wal][0]["time_unit"]
                scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3}[unit]
                pre_cols = (f"{pre_bps / 1e6:.2f} | {w_bps / pre_bps:.2f}" if pre_bps else "- | -")
                print(f"| {size} | {batch} | {w_bps / 1e6:.2f} | {p_bps / 1e6:.2f} | {w_bps / p_bps:.2f} "
                      f"| {w_t * scale:.0f} | {p_t * scale:.0f} | {w_t / p_t:.2f} | {pre_cols} |")
    opens = runs.get("BM_WalOpen/iterations:1/real_time") or [r for k, v in runs.items() if k.startswith("BM_WalOpen") for r in v]
    if opens:
        def med(key):
            return statistics.median(r[key] for r in opens)
        print()
        print(f"open of {int(med('entries'))} entries: wall {statistics.median(r['real_time'] for r in opens):.0f} "
              f"{opens[0]['time_unit']}, CPU {med('open_cpu_s'):.2f} s, resident memory added "
              f"{max(r['rss_added_MiB'] for r in opens):.1f} MiB (largest of the runs), heap added "
              f"{med('heap_added_MiB'):.1f} MiB, index {med('index_MiB'):.1f} MiB "
              f"({med('index_bytes_per_entry'):.2f} bytes/entry), {len(opens)} runs")


def side_table(runs, median, bench, title):
    side = [k for k in runs if k.startswith(bench + "/")]
    if not side:
        return
    print("%s (medians over %d repetitions):" % (title, len(runs[side[0]])))
    print()
    print("| entry bytes | batch | WAL median us | plain median us | latency ratio (WAL/plain) "
          "| WAL MB/s | plain MB/s | throughput ratio (WAL/plain) | throughput ratio vs preallocated pwrite |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for size in (128, 4096):
        for batch in (1, 16, 256):
            name = f"{bench}/{size}/{batch}/real_time"
            if name not in runs:
                continue
            m = lambda key: median(name, key)
            print(f"| {size} | {batch} | {m('wal_median_us'):.0f} | {m('plain_median_us'):.0f} "
                  f"| {m('latency_ratio'):.2f} | {m('wal_MBps'):.2f} | {m('plain_MBps'):.2f} "
                  f"| {m('throughput_ratio'):.2f} | {m('throughput_ratio_vs_prealloc'):.2f} |")
    print()


if __name__ == "__main__":
    main(sys.argv[1])
