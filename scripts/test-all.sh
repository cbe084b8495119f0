#!/bin/sh
# Installs what is missing, then builds and tests three configurations:
#   build/       the default build (no eBPF): unit tests only;
#   build-ebpf/  -DENTRYTRACE_WITH_EBPF=ON: unit tests, the live eBPF tests
#                and the integration suite once per capture backend
#                (procfs.*, netlink.*, ebpf.*);
#   build-asan/  AddressSanitizer and UndefinedBehaviorSanitizer: unit tests.
# The live and integration tests need root (the eBPF ones load BPF programs);
# as another user they skip with the reason.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$jobs"
ctest --test-dir build -j "$jobs" -L unit --output-on-failure

cmake -S . -B build-ebpf -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DENTRYTRACE_WITH_EBPF=ON
cmake --build build-ebpf -j "$jobs"
ctest --test-dir build-ebpf -j "$jobs" --output-on-failure

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DENTRYTRACE_SANITIZE=ON
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j "$jobs" -L unit --output-on-failure
