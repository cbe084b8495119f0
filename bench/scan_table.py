#!/usr/bin/env python3
"""Print markdown tables comparing scan_bench with the C scan floor.

  scan_table.py SCANFLOOR_JSON SCAN_BENCH_JSON

SCANFLOOR_JSON is the --json output of the harness's scanfloor, and
SCAN_BENCH_JSON the --benchmark_out JSON of scan_bench, run with
repetitions so that it has "median" aggregates. All figures are wall-clock
microseconds per listed process and per scan, medians.
"""
import json
import sys

# scanfloor key for each level, and the scan_bench variant that does the
# same work through the poller's reader.
FLOOR_LEVELS = [
    ("L0_getdents", "scan/listing"),
    ("L1_stat", "scan/stat"),
    ("L2_stat_status_cmdline_exe", "scan/stat_status_cmdline_exe"),
    ("pread_held_stat_fds", "reread/stat_in_held_dirs"),
]
POLL_VARIANTS = ["poll/first_sight", "poll/steady"]


def load_floor(path):
    with open(path) as f:
        doc = json.load(f)
    return {scan["N"]: scan for scan in doc["scans"]}


def load_ours(path):
    """Returns {(variant, N): microseconds per process} from median rows."""
    with open(path) as f:
        doc = json.load(f)
    ours = {}
    for row in doc["benchmarks"]:
        if row.get("run_type") != "aggregate":
            continue
        if row.get("aggregate_name") != "median":
            continue
        # "scan/stat/1000/real_time_median" -> variant "scan/stat", N 1000
        parts = row["name"].split("/")
        variant = "/".join(parts[:2])
        count = int(parts[2])
        ours[(variant, count)] = row["per_process"] * 1e6
    return ours


def cell(value):
    return "-" if value is None else f"{value:.2f}"


def ratio(ours, floor):
    if ours is None or not floor:
        return "-"
    return f"{ours / floor:.1f}x"


def print_summary(floor, ours):
    print("| N | getdents | + stat | + stat, status, cmdline, exe "
          "| pread of open stat fds | `ps -e -o pid,ppid,args` "
          "| entrytrace: stat, status, cmdline, exe | entrytrace / floor |")
    print("|---|---|---|---|---|---|---|---|")
    for count in sorted(floor):
        scan = floor[count]
        full = ours.get(("scan/stat_status_cmdline_exe", count))
        floor_full = scan["L2_stat_status_cmdline_exe"]["us_per_proc"]
        cells = [str(count)]
        cells += [cell(scan[key]["us_per_proc"]) for key, _ in FLOOR_LEVELS]
        cells.append(cell(scan["ps"]["us_per_proc"]))
        cells.append(cell(full))
        cells.append(ratio(full, floor_full))
        print("| " + " | ".join(cells) + " |")


def print_levels(floor, ours):
    print("| N | listing | + stat | + stat, status, cmdline, exe "
          "| re-read stat (held dir fds) | poll, first sight "
          "| poll, steady |")
    print("|---|---|---|---|---|---|---|")
    for count in sorted(floor):
        scan = floor[count]
        cells = [str(count)]
        for key, variant in FLOOR_LEVELS:
            value = ours.get((variant, count))
            floor_value = scan[key]["us_per_proc"]
            cells.append(f"{cell(value)} ({ratio(value, floor_value)})")
        for variant in POLL_VARIANTS:
            cells.append(cell(ours.get((variant, count))))
        print("| " + " | ".join(cells) + " |")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    floor = load_floor(sys.argv[1])
    ours = load_ours(sys.argv[2])
    print("Microseconds per process per full scan (wall clock, median).")
    print()
    print_summary(floor, ours)
    print()
    print("entrytrace's reader level by level; in brackets the ratio to the")
    print("floor level doing the same reads.")
    print()
    print_levels(floor, ours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
