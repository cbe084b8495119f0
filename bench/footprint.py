#!/usr/bin/env python3
"""Measures entrytrace's CPU share and peak RSS on a steady tree.

Starts N sleeping processes in a new PID namespace (unshare, as root), runs
`entrytrace observe` on it for a window, and reads the observer's user and
system CPU time from wait4 and its maximum resident set size from GNU time
(Debian package `time`). Prints one markdown row per (N, mode).

The peak RSS is not taken from wait4 here: Linux keeps the high-water mark
of the address space a process had before exec, and a child forked from
this Python process starts with Python's (about 14 MiB), which hides an
observer that stays smaller. GNU time forks the observer from its own
small address space instead.

  bench/footprint.py --entrytrace build/cli/entrytrace --n 50,1000 \
      --window 10s --modes default,low-cost
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"


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
    """Returns the observer's CPU seconds and peak RSS in KiB."""
    argv = [entrytrace, "observe", "--pid", str(init_pid), "--window", window,
            "--backend", backend, "--output", "/dev/null"]
    if mode == "low-cost":
        argv.append("--low-cost")
    elif mode == "host-pids":
        argv.append("--host-pids")
    with tempfile.NamedTemporaryFile("r", prefix="footprint-rss-") as rss:
        # GNU time returns the observer's exit status as its own.
        timed = [GNU_TIME, "--quiet", "-f", "%M", "-o", rss.name] + argv
        child = subprocess.Popen(timed, stderr=subprocess.DEVNULL)
        # The usage covers GNU time and the observer it waited for; GNU time
        # itself uses about a millisecond.
        _, status, usage = os.wait4(child.pid, 0)
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            sys.exit(f"entrytrace failed: status {status}")
        rss_kib = int(rss.read().split()[-1])
    return usage.ru_utime + usage.ru_stime, rss_kib


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
    parser.add_argument("--modes", default="default,low-cost",
                        help="comma-separated: default, low-cost, host-pids")
    parser.add_argument("--backend", default="procfs")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root to create PID namespaces")
    if shutil.which(GNU_TIME) is None:
        sys.exit(f"{GNU_TIME} not found: install GNU time (Debian: time)")

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
