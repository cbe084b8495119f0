#!/usr/bin/env python3
"""Measures entrytrace's CPU share and peak RSS on a steady tree.

Starts N sleeping processes in a new PID namespace (unshare, as root), runs
`entrytrace observe` on it for a window, and reads the observer's user and
system CPU time and maximum resident set size from wait4. Prints one
markdown row per (N, mode).

  bench/footprint.py --entrytrace build/cli/entrytrace --n 50,1000 \
      --window 10s --modes default,low-cost
"""
import argparse
import os
import signal
import subprocess
import sys
import time


def start_tree(count):
    """Starts `count` sleepers under a new PID namespace; returns unshare."""
    script = f"for i in $(seq {count}); do sleep 100000 & done; wait"
    unshare = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
        start_new_session=True)
    init_pid = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = f"/proc/{unshare.pid}/task/{unshare.pid}/children"
        try:
            with open(children) as f:
                text = f.read().split()
        except OSError:
            text = []
        if text:
            init_pid = int(text[0])
            if count_children(init_pid) >= count:
                return unshare, init_pid
        time.sleep(0.05)
    stop_tree(unshare, init_pid)
    sys.exit(f"the tree of {count} sleepers did not start within 30 s")


def count_children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return len(f.read().split())
    except OSError:
        return 0


def stop_tree(unshare, init_pid):
    # SIGKILL to the namespace's init ends every process in it.
    if init_pid:
        try:
            os.kill(init_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(unshare.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    unshare.wait()


def observe(entrytrace, init_pid, window, mode, backend):
    argv = [entrytrace, "observe", "--pid", str(init_pid), "--window", window,
            "--backend", backend, "--output", "/dev/null"]
    if mode == "low-cost":
        argv.append("--low-cost")
    child = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"entrytrace failed: status {status}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def window_seconds(text):
    units = {"ms": 1e-3, "s": 1.0}
    for suffix, scale in units.items():
        if text.endswith(suffix) and text[:-len(suffix)].replace(".", "").isdigit():
            return float(text[:-len(suffix)]) * scale
    sys.exit(f"invalid --window '{text}': use ms or s, for example 10s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entrytrace", default="build/cli/entrytrace")
    parser.add_argument("--n", default="50,1000",
                        help="comma list of tree sizes (processes)")
    parser.add_argument("--window", default="10s")
    parser.add_argument("--modes", default="default,low-cost")
    parser.add_argument("--backend", default="procfs")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root to create PID namespaces")

    seconds = window_seconds(args.window)
    print("| processes | mode | CPU s | share of one core | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for count in [int(n) for n in args.n.split(",")]:
        unshare, init_pid = start_tree(count)
        try:
            for mode in args.modes.split(","):
                cpu, rss_kib = observe(args.entrytrace, init_pid, args.window,
                                       mode, args.backend)
                print(f"| {count} | {mode} | {cpu:.3f} | "
                      f"{100 * cpu / seconds:.2f}% | {rss_kib / 1024:.1f} |",
                      flush=True)
        finally:
            stop_tree(unshare, init_pid)


if __name__ == "__main__":
    main()
