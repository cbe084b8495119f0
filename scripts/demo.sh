#!/bin/sh
# Installs what is missing, builds entrytrace in build/ and runs it on the
# built-in demo container (tini, a shell and a python3 HTTP server in their
# own PID and network namespaces). The result is printed on stdout.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DENTRYTRACE_BUILD_TESTS=OFF >/dev/null
cmake --build build --target entrytrace
exec ./build/cli/entrytrace demo "$@"
