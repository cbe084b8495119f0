#!/bin/sh
# Measures how many short-lived fork+exec children entrytrace catches, next
# to peers (forkstat, libbpf-tools execsnoop, ps loops), with the harness's
# capture-rate and workload, and prints the markdown table of all of them.
# entrytrace runs once per capture backend as well (entrytrace-procfs,
# entrytrace-netlink, entrytrace-ebpf), beside "entrytrace" with --backend
# auto. Needs root. Takes about 6 minutes with --repeat 3 on 2 cores
# (an estimate: 4 minutes before the per-backend rows were added).
#
#   bench/run-capture.sh [--repeat N] [--observers "LABEL ..."]
#                        [--workload-args ARGS] [--harness DIR]
#                        [--build-dir DIR] [--results DIR]
#
# --repeat         runs per observer (default 3).
# --observers      labels to run, from: entrytrace entrytrace-procfs
#                  entrytrace-procfs-host-pids entrytrace-procfs-no-rt
#                  entrytrace-netlink entrytrace-ebpf ns-entrytrace
#                  entrytrace-1ms forkstat execsnoop ps-loop ps-loop-10ms
#                  (default: all of them).
# --workload-args  passed to the workload (default: capture-rate's own,
#                  '--rate 240 --duration 5').
# --harness        the capture-rate harness folder; it is copied to a
#                  temporary directory and built there. Default:
#                  $ENTRYTRACE_BENCH_HARNESS, else ../shared/bench next to
#                  the repository.
# --build-dir      CMake build directory for entrytrace (default build-bench).
#                  It is configured with -DENTRYTRACE_WITH_EBPF=ON when
#                  clang, bpftool and libbpf are installed; otherwise the
#                  entrytrace-ebpf row is left out, with a line saying so.
# --results        where the run's folder goes (default bench/results).
#
# execsnoop needs tracefs at /sys/kernel/tracing. When it is not mounted
# there, this script mounts it, prints a line about it, and unmounts it at
# the end.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
harness=${ENTRYTRACE_BENCH_HARNESS:-$repo/../shared/bench}
build_dir=$repo/build-bench
results=$repo/bench/results
repeat=3
workload_args=
all_observers="entrytrace entrytrace-procfs entrytrace-procfs-host-pids entrytrace-procfs-no-rt entrytrace-netlink entrytrace-ebpf ns-entrytrace entrytrace-1ms forkstat execsnoop ps-loop ps-loop-10ms"
observers=$all_observers
# Seconds an observer gets to write its output after SIGINT, because
# entrytrace assembles its result only then.
stop_timeout=10

while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) ;;
    --*)
      if [ $# -lt 2 ]; then
        echo "run-capture.sh: option $1 needs a value (see --help)" >&2
        exit 2
      fi
      ;;
  esac
  case $1 in
    --repeat) repeat=$2; shift 2 ;;
    --observers) observers=$2; shift 2 ;;
    --workload-args) workload_args=$2; shift 2 ;;
    --harness) harness=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    -h|--help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-capture.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "run-capture.sh: needs root (PID namespaces, BPF, proc connector); run it with sudo" >&2
  exit 2
fi
if [ ! -x "$harness/capture-rate" ]; then
  echo "run-capture.sh: no capture-rate in harness folder '$harness'; pass --harness DIR" >&2
  exit 2
fi
for label in $observers; do
  case " $all_observers " in
    *" $label "*) ;;
    *) echo "run-capture.sh: unknown observer '$label'; known: $all_observers" >&2; exit 2 ;;
  esac
done

copy=$(mktemp -d /tmp/entrytrace-harness-XXXXXX)
mounted_tracefs=no
cleanup() {
  if [ "$mounted_tracefs" = yes ]; then
    umount /sys/kernel/tracing || true
  fi
  rm -rf "$copy"
}
trap cleanup EXIT
cp -r "$harness" "$copy/bench"
chmod -R u+w "$copy/bench"
make -s -C "$copy/bench" bin/workload bin/etm-helper

with_ebpf=OFF
if command -v clang >/dev/null && command -v bpftool >/dev/null &&
  pkg-config --exists libbpf; then
  with_ebpf=ON
else
  case " $observers " in
    *" entrytrace-ebpf "*)
      echo "run-capture.sh: clang, bpftool or libbpf missing; leaving out entrytrace-ebpf"
      observers=$(echo " $observers " | sed 's/ entrytrace-ebpf / /')
      ;;
  esac
fi
cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DENTRYTRACE_BUILD_BENCH=ON -DENTRYTRACE_WITH_EBPF=$with_ebpf >/dev/null
cmake --build "$build_dir" --target entrytrace
entrytrace=$build_dir/cli/entrytrace

case " $observers " in
  *" execsnoop "*)
    if ! awk '$2 == "/sys/kernel/tracing" { found = 1 } END { exit !found }' /proc/mounts; then
      echo "run-capture.sh: tracefs was not mounted; mounting it at /sys/kernel/tracing for execsnoop"
      mount -t tracefs tracefs /sys/kernel/tracing
      mounted_tracefs=yes
    fi
    ;;
esac

out=$results/capture-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
{
  echo "kernel: $(uname -r)"
  echo "cpus: $(nproc)"
  echo "cpu model: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
  echo "repeat: $repeat"
  echo "workload args: ${workload_args:-capture-rate default}"
  echo "tracefs mounted by this script: $mounted_tracefs"
  echo "eBPF backend built: $with_ebpf"
} >"$out/machine.txt"
: >"$out/load.txt"

# Prints the observer command line for a label. {NSPID} and {OUT} are
# capture-rate placeholders.
observer_command() {
  case $1 in
    entrytrace)
      echo "$entrytrace observe --pid {NSPID} --window 30s --output {OUT}/result.json" ;;
    entrytrace-procfs|entrytrace-netlink|entrytrace-ebpf)
      echo "$entrytrace observe --pid {NSPID} --window 30s --backend ${1#entrytrace-} --output {OUT}/result.json" ;;
    entrytrace-procfs-host-pids)
      echo "$entrytrace observe --pid {NSPID} --window 30s --backend procfs --host-pids --output {OUT}/result.json" ;;
    entrytrace-procfs-no-rt)
      echo "$entrytrace observe --pid {NSPID} --window 30s --backend procfs --no-realtime --output {OUT}/result.json" ;;
    ns-entrytrace)
      echo "$entrytrace observe --pid 1 --window 30s --output {OUT}/result.json" ;;
    entrytrace-1ms)
      echo "$entrytrace observe --pid {NSPID} --window 30s --interval 1ms --output {OUT}/result.json" ;;
    forkstat)
      echo "forkstat -l -e exec,fork,exit" ;;
    execsnoop)
      echo "/usr/sbin/execsnoop" ;;
    ps-loop)
      echo "while :; do ps -e -o pid,ppid,args; done" ;;
    ps-loop-10ms)
      echo "while :; do ps -e -o pid,ppid,args; sleep 0.01; done" ;;
  esac
}

for label in $observers; do
  namespace=host
  if [ "$label" = ns-entrytrace ]; then
    namespace=workload
  fi
  echo "before $label: $(cat /proc/loadavg)" >>"$out/load.txt"
  echo "== $label: $(observer_command "$label")"
  set -- --label "$label" --repeat "$repeat" --out "$out/$label.json" \
    --observer-ns "$namespace" --stop-timeout "$stop_timeout" \
    --workdir "$out/runs" --observer "$(observer_command "$label")"
  if [ -n "$workload_args" ]; then
    set -- "$@" --workload-args "$workload_args"
  fi
  "$copy/bench/capture-rate" "$@" >"$out/$label.txt"
done

table_inputs=
for label in $observers; do
  table_inputs="$table_inputs $out/$label.json"
done
# shellcheck disable=SC2086 # one word per result file
"$copy/bench/capture-rate" --table $table_inputs >"$out/capture-table.md"

cat "$out/machine.txt" "$out/load.txt"
echo
cat "$out/capture-table.md"
echo
echo "results in $out"
