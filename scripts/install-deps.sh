#!/bin/sh
# Installs the Debian 12 packages that entrytrace needs to build and test:
# the toolchain and libraries, clang, bpftool and libbpf for the eBPF build
# (-DENTRYTRACE_WITH_EBPF=ON), and the wrappers and servers that the
# integration tests start for real. Runs apt-get only for what is missing.
set -eu

packages="cmake ninja-build g++ pkg-config
  libboost-filesystem-dev libboost-program-options-dev rapidjson-dev
  libre2-dev libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang libbpf-dev bpftool
  python3 python3-yaml iproute2 procps util-linux login
  tini dumb-init gosu catatonit runit"

missing=""
for package in $packages; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  case "$status" in
    *" installed") ;;
    *) missing="$missing $package" ;;
  esac
done

if [ -z "$missing" ]; then
  exit 0
fi

echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is wanted
apt-get install -y -q --no-install-recommends $missing
