#!/bin/sh
# Installs what is missing, builds entrytrace and runs every test: the unit
# and integration tests in build/, then the unit tests again in a build
# with AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/.
# The integration tests need root; as another user they skip.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$jobs"
ctest --test-dir build -j "$jobs" --output-on-failure

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DENTRYTRACE_SANITIZE=ON
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j "$jobs" -L unit --output-on-failure
