#!/bin/sh
# Installs the Debian 12 packages that entrytrace needs to build and test:
# the toolchain and libraries, clang, bpftool and libbpf for the eBPF build
# (-DENTRYTRACE_WITH_EBPF=ON), and the wrappers, supervisors and servers
# that the integration tests start for real. Runs apt-get only for what is
# missing.
set -eu

packages="cmake ninja-build g++ pkg-config
  libboost-filesystem-dev libboost-program-options-dev rapidjson-dev
  libre2-dev libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang libbpf-dev bpftool
  python3 python3-yaml iproute2 procps util-linux login
  tini dumb-init gosu catatonit runit
  supervisor php8.2-fpm nginx-light cron rsyslog"

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

# Where an init system runs, Debian's maintainer scripts start the services
# they install. The tests start their own instances with their own
# configurations, so stop the ones this run installed, found by pid file.
stop_installed_service() {
  package=$1 service=$2 pid_file=$3
  case " $missing " in
    *" $package "*) ;;
    *) return 0 ;;
  esac
  if [ -s "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    echo "stopping $service, started by the installation of $package" >&2
    service "$service" stop || kill "$(cat "$pid_file")"
  fi
}
stop_installed_service supervisor supervisor /run/supervisord.pid
stop_installed_service php8.2-fpm php8.2-fpm /run/php/php8.2-fpm.pid
stop_installed_service nginx-light nginx /run/nginx.pid
stop_installed_service cron cron /run/crond.pid
stop_installed_service rsyslog rsyslog /run/rsyslogd.pid
