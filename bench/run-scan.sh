#!/bin/sh
# Measures the cost of a full /proc scan per process at N = 100, 1000 and
# 5000 sleeping processes. It runs the harness's scanfloor (the C floor of
# the machine, with `ps -e` for scale), then entrytrace's scan_bench, and
# prints both as markdown tables.
# Needs root. Takes about 2 minutes on 2 cores.
#
#   bench/run-scan.sh [--harness DIR] [--build-dir DIR] [--results DIR]
#
# --harness    the capture-rate/scanfloor harness folder; it is copied to a
#              temporary directory and built there. Default:
#              $ENTRYTRACE_BENCH_HARNESS, else ../shared/bench next to the
#              repository.
# --build-dir  CMake build directory for scan_bench (default build-bench).
# --results    where the run's folder goes (default bench/results).
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
harness=${ENTRYTRACE_BENCH_HARNESS:-$repo/../shared/bench}
build_dir=$repo/build-bench
results=$repo/bench/results

while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) ;;
    --*)
      if [ $# -lt 2 ]; then
        echo "run-scan.sh: option $1 needs a value (see --help)" >&2
        exit 2
      fi
      ;;
  esac
  case $1 in
    --harness) harness=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-scan.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "run-scan.sh: needs root (PID and mount namespaces); run it with sudo" >&2
  exit 2
fi
if [ ! -f "$harness/scanfloor.c" ]; then
  echo "run-scan.sh: no scanfloor.c in harness folder '$harness'; pass --harness DIR" >&2
  exit 2
fi

copy=$(mktemp -d /tmp/entrytrace-harness-XXXXXX)
trap 'rm -rf "$copy"' EXIT
cp -r "$harness" "$copy/bench"
chmod -R u+w "$copy/bench"
make -s -C "$copy/bench" bin/scanfloor bin/etm-helper

cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DENTRYTRACE_BUILD_BENCH=ON >/dev/null
cmake --build "$build_dir" --target scan_bench

out=$results/scan-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
{
  echo "kernel: $(uname -r)"
  echo "cpus: $(nproc)"
  echo "cpu model: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
} >"$out/machine.txt"

# The load average before each step shows whether something else was busy.
echo "before scanfloor: $(cat /proc/loadavg)" >"$out/load.txt"
"$copy/bench/bin/scanfloor" --n 100,1000,5000 --json "$out/scanfloor.json" \
  >"$out/scanfloor.txt"

echo "before scan_bench: $(cat /proc/loadavg)" >>"$out/load.txt"
"$build_dir/bench/scan_bench" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/scan_bench.json" --benchmark_out_format=json \
  >"$out/scan_bench.txt"
echo "after scan_bench: $(cat /proc/loadavg)" >>"$out/load.txt"

python3 "$repo/bench/scan_table.py" "$out/scanfloor.json" \
  "$out/scan_bench.json" >"$out/scan-table.md"
cat "$out/machine.txt" "$out/load.txt"
echo
cat "$out/scan-table.md"
echo
echo "results in $out"
