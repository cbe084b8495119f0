#!/usr/bin/env python3
"""Checks the parent of every captured process against the ground truth.

The capture-rate harness counts a process as captured when its marker
appears anywhere in the output. This script goes further for entrytrace's
result: for every marker found in a node's argv it checks that the node's
pid and its parent (ppid, as the target's namespace numbers it) match the
workload's ground truth. The pid is the host pid, or the namespace pid when
the result has no host pids (a procfs scoped to the target was read).
Prints one markdown row per observer label.

  bench/check_parents.py bench/results/capture-<stamp>/runs
"""
import collections
import json
import os
import sys


def load_truth(path):
    rows = {}
    columns = None
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if columns is None:
                columns = fields
                continue
            row = dict(zip(columns, fields))
            rows[row["marker"]] = row
    return rows


def check_run(run_dir, inside_namespace):
    """Returns (captured, right parent) for one run, or None without a result.

    An observer inside the workload's namespace sees that namespace's pids
    as its host pids, so its hostPid is compared with the namespace pid.
    A result without host pids is checked by nsPid.
    """
    result_path = os.path.join(run_dir, "out", "result.json")
    truth_path = os.path.join(run_dir, "truth.tsv")
    if not (os.path.exists(result_path) and os.path.exists(truth_path)):
        return None
    truth = load_truth(truth_path)
    with open(result_path) as f:
        result = json.load(f)

    host_pids = result["target"].get("hostPidsVisible", True)
    captured = 0
    right = 0
    for node in result["execGraph"]["nodes"]:
        for word in node["argv"]:
            row = truth.get(word)
            if row is None:
                continue
            captured += 1
            if not host_pids:
                pid, pid_column = node["nsPid"], "ns_pid"
            elif inside_namespace:
                pid, pid_column = node["hostPid"], "ns_pid"
            else:
                pid, pid_column = node["hostPid"], "host_pid"
            if (pid == int(row[pid_column]) and
                    node["ppid"] == int(row["ns_ppid"])):
                right += 1
    return captured, right


def label_of(run_name):
    # Run folders are <label>-<date>-<time>-<pid>-<index>.
    return run_name.rsplit("-", 4)[0]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    runs = sys.argv[1]
    totals = collections.defaultdict(lambda: [0, 0])
    for name in sorted(os.listdir(runs)):
        label = label_of(name)
        counts = check_run(os.path.join(runs, name), label.startswith("ns-"))
        if counts is None:
            continue
        totals[label][0] += counts[0]
        totals[label][1] += counts[1]

    # A marker is in more than one node when one process was reported as two
    # images with the same argv; each node is checked.
    print("| observer | nodes with a marker | pid and parent right |")
    print("|---|---|---|")
    for label, (captured, right) in sorted(totals.items()):
        share = 100 * right / captured if captured else 0
        print(f"| {label} | {captured} | {right} ({share:.1f}%) |")


if __name__ == "__main__":
    main()
