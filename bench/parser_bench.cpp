// Cost of the pure procfs parsers on literal inputs shaped like what a
// container's processes produce. The inputs are a python3 HTTP server two
// PID namespaces deep, a JVM with a long command line, and socket tables
// with listening and connected rows. No file is read, so the figures are
// parsing alone. bench/scan_bench.cpp measures the reads.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/observation.h"
#include "poller/net_parse.h"
#include "poller/proc_parse.h"

namespace entrytrace {
namespace {

// /proc/<pid>/stat of `python3 -m http.server 8080`, 52 fields.
constexpr std::string_view kStatPython =
    "4242 (python3) S 4200 4242 4200 0 -1 4194560 2713 0 0 0 31 7 0 0 20 0 1 "
    "0 183224 27262976 2412 18446744073709551615 94717211394048 "
    "94717214334229 140735924137520 0 0 0 0 16781312 2 0 0 0 17 1 0 0 0 0 0 "
    "94717215092304 94717215555424 94717231648768 140735924141470 "
    "140735924141503 140735924141503 140735924142055 0\n";

// A comm with a space and parentheses, which only the last ')' delimits.
constexpr std::string_view kStatOddComm =
    "917 (tmux: server) (x) S 1 917 917 0 -1 4194624 1462 0 0 0 12 9 0 0 20 "
    "0 1 0 5123 9846784 1056 18446744073709551615 1 1 0 0 0 0 0 3674112 "
    "134433283 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

// /proc/<pid>/status of the same python3 process, seen from the host with
// the process two PID namespaces down (three NStgid entries).
constexpr std::string_view kStatusPython =
    "Name:\tpython3\n"
    "Umask:\t0022\n"
    "State:\tS (sleeping)\n"
    "Tgid:\t4242\n"
    "Ngid:\t0\n"
    "Pid:\t4242\n"
    "PPid:\t4200\n"
    "TracerPid:\t0\n"
    "Uid:\t1000\t1000\t1000\t1000\n"
    "Gid:\t1000\t1000\t1000\t1000\n"
    "FDSize:\t64\n"
    "Groups:\t1000 \n"
    "NStgid:\t4242\t17\t3\n"
    "NSpid:\t4242\t17\t3\n"
    "NSpgid:\t4242\t17\t3\n"
    "NSsid:\t4200\t1\t1\n"
    "Kthread:\t0\n"
    "VmPeak:\t   26624 kB\n"
    "VmSize:\t   26624 kB\n"
    "VmLck:\t       0 kB\n"
    "VmPin:\t       0 kB\n"
    "VmHWM:\t    9648 kB\n"
    "VmRSS:\t    9648 kB\n"
    "RssAnon:\t    3420 kB\n"
    "RssFile:\t    6228 kB\n"
    "RssShmem:\t       0 kB\n"
    "VmData:\t    4480 kB\n"
    "VmStk:\t     132 kB\n"
    "VmExe:\t    2872 kB\n"
    "VmLib:\t    3948 kB\n"
    "VmPTE:\t      72 kB\n"
    "VmSwap:\t       0 kB\n"
    "HugetlbPages:\t       0 kB\n"
    "CoreDumping:\t0\n"
    "THP_enabled:\t1\n"
    "untag_mask:\t0xffffffffffffffff\n"
    "Threads:\t1\n"
    "SigQ:\t0/96368\n"
    "SigPnd:\t0000000000000000\n"
    "ShdPnd:\t0000000000000000\n"
    "SigBlk:\t0000000000000000\n"
    "SigIgn:\t0000000001001000\n"
    "SigCgt:\t0000000100000002\n"
    "CapInh:\t0000000000000000\n"
    "CapPrm:\t0000000000000000\n"
    "CapEff:\t0000000000000000\n"
    "CapBnd:\t00000000a80425fb\n"
    "CapAmb:\t0000000000000000\n"
    "NoNewPrivs:\t0\n"
    "Seccomp:\t2\n"
    "Seccomp_filters:\t1\n"
    "Speculation_Store_Bypass:\tthread force mitigated\n"
    "SpeculationIndirectBranch:\tconditional force disabled\n"
    "Cpus_allowed:\t3\n"
    "Cpus_allowed_list:\t0-1\n"
    "Mems_allowed:\t00000000,00000001\n"
    "Mems_allowed_list:\t0\n"
    "voluntary_ctxt_switches:\t58\n"
    "nonvoluntary_ctxt_switches:\t3\n";

// cmdline texts: NUL-separated, each argument NUL-terminated.
constexpr char kCmdlinePythonBytes[] =
    "python3\0-m\0http.server\0--bind\0::\0008080\0";
constexpr std::string_view kCmdlinePython(kCmdlinePythonBytes,
                                          sizeof(kCmdlinePythonBytes) - 1);

constexpr char kCmdlineJavaBytes[] =
    "/opt/java/openjdk/bin/java\0-XX:+UseContainerSupport\0"
    "-XX:MaxRAMPercentage=75.0\0-XX:+ExitOnOutOfMemoryError\0"
    "-Djava.security.egd=file:/dev/./urandom\0-Dfile.encoding=UTF-8\0"
    "-Dspring.profiles.active=production\0-Duser.timezone=UTC\0"
    "-cp\0/app/resources:/app/classes:/app/libs/*\0"
    "com.example.orders.OrdersApplication\0--server.port=8080\0"
    "--management.server.port=8081\0";
constexpr std::string_view kCmdlineJava(kCmdlineJavaBytes,
                                        sizeof(kCmdlineJavaBytes) - 1);

// A process title written over its arguments and padded with NULs, the way
// nginx and redis do it.
constexpr char kCmdlineTitleBytes[] =
    "nginx: worker process\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
constexpr std::string_view kCmdlineTitle(kCmdlineTitleBytes,
                                         sizeof(kCmdlineTitleBytes) - 1);

// net/tcp of a container running a web server behind a local proxy: two
// listeners, established connections, and TIME_WAIT rows with inode 0.
constexpr std::string_view kTcpTable =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
    "retrnsmt   uid  timeout inode\n"
    "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000  1000        0 31337 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000  1000        0 31338 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0200110A:1F90 0100110A:D3A2 01 00000000:00000000 02:0000A1F3 "
    "00000000  1000        0 41210 2 0000000000000000 20 4 30 10 -1\n"
    "   3: 0200110A:1F90 0100110A:D3A6 01 00000000:00000000 02:0000A1F4 "
    "00000000  1000        0 41215 2 0000000000000000 20 4 30 10 -1\n"
    "   4: 0200110A:1F90 0100110A:D3B0 06 00000000:00000000 03:00001771 "
    "00000000     0        0 0 3 0000000000000000\n"
    "   5: 0200110A:1F90 0100110A:D3B4 06 00000000:00000000 03:00001602 "
    "00000000     0        0 0 3 0000000000000000\n"
    "   6: 0200110A:C350 5DB8D822:01BB 01 00000000:00000000 02:00000E8C "
    "00000000  1000        0 41302 2 0000000000000000 22 4 28 10 -1\n"
    "   7: 0200110A:C352 5DB8D822:01BB 08 00000000:00000001 00:00000000 "
    "00000000  1000        0 41308 1 0000000000000000 22 4 28 10 -1\n";

// net/tcp6: one dual-stack listener, one IPv4-mapped listener, one
// established connection.
constexpr std::string_view kTcp6Table =
    "  sl  local_address                         remote_address          "
    "              st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    "   0: 00000000000000000000000000000000:1F90 "
    "00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000  1000        0 52001 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0000000000000000FFFF00000100007F:1389 "
    "00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000     0        0 52007 1 0000000000000000 100 0 0 10 0\n"
    "   2: 00000000000000000000000001000000:1F90 "
    "00000000000000000000000001000000:A11C 01 00000000:00000000 02:00000B5A "
    "00000000  1000        0 52100 2 0000000000000000 20 4 30 10 -1\n";

// net/unix: a listening stream socket, a bound datagram socket, connected
// sockets and an autobind name.
constexpr std::string_view kUnixTable =
    "Num       RefCount Protocol Flags    Type St Inode Path\n"
    "0000000000000000: 00000002 00000000 00010000 0001 01 23456 "
    "/run/app.sock\n"
    "0000000000000000: 00000002 00000000 00000000 0002 01 23460 "
    "/run/systemd/notify\n"
    "0000000000000000: 00000003 00000000 00000000 0001 03 23471 "
    "/run/app.sock\n"
    "0000000000000000: 00000003 00000000 00000000 0001 03 23472\n"
    "0000000000000000: 00000002 00000000 00000000 0002 01 23480 @0001f\n"
    "0000000000000000: 00000002 00000000 00010000 0001 01 23490 "
    "@/containerd-shim/abc.sock\n";

constexpr uint64_t kNetNamespace = 4026532301;

void BM_ParseStat(benchmark::State& state, std::string_view text) {
  if (!parse_stat(text)) {
    state.SkipWithError("parse_stat rejected the sample");
    return;
  }
  for (auto _ : state) {
    auto fields = parse_stat(text);
    benchmark::DoNotOptimize(fields);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(text.size()));
}

void BM_ParseStatus(benchmark::State& state) {
  auto sample = parse_status(kStatusPython);
  if (!sample || sample->ns_tgid.size() != 3) {
    state.SkipWithError("parse_status did not read the sample's 3 NStgid");
    return;
  }
  for (auto _ : state) {
    auto fields = parse_status(kStatusPython);
    benchmark::DoNotOptimize(fields);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(kStatusPython.size()));
}

void BM_ParseCmdline(benchmark::State& state, std::string_view text,
                     size_t expected_arguments) {
  if (parse_cmdline(text).size() != expected_arguments) {
    state.SkipWithError("parse_cmdline split the sample differently");
    return;
  }
  for (auto _ : state) {
    auto argv = parse_cmdline(text);
    benchmark::DoNotOptimize(argv);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(text.size()));
}

void BM_ParseInetTable(benchmark::State& state, std::string_view text,
                       SocketProtocol protocol, size_t expected_listening) {
  auto sample = parse_inet_table(text, protocol, kNetNamespace);
  if (sample.listening.size() != expected_listening ||
      sample.invalid_rows != 0) {
    state.SkipWithError("parse_inet_table read the sample differently");
    return;
  }
  for (auto _ : state) {
    auto table = parse_inet_table(text, protocol, kNetNamespace);
    benchmark::DoNotOptimize(table);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(text.size()));
}

void BM_ParseUnixTable(benchmark::State& state) {
  // The two stream listeners and the named datagram socket count, but the
  // autobind one does not.
  auto sample = parse_unix_table(kUnixTable, kNetNamespace);
  if (sample.listening.size() != 3 || sample.invalid_rows != 0) {
    state.SkipWithError("parse_unix_table read the sample differently");
    return;
  }
  for (auto _ : state) {
    auto table = parse_unix_table(kUnixTable, kNetNamespace);
    benchmark::DoNotOptimize(table);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(kUnixTable.size()));
}

BENCHMARK_CAPTURE(BM_ParseStat, python, kStatPython);
BENCHMARK_CAPTURE(BM_ParseStat, comm_with_parentheses, kStatOddComm);
BENCHMARK(BM_ParseStatus);
BENCHMARK_CAPTURE(BM_ParseCmdline, python, kCmdlinePython, 6);
BENCHMARK_CAPTURE(BM_ParseCmdline, java_13_args, kCmdlineJava, 13);
BENCHMARK_CAPTURE(BM_ParseCmdline, padded_title, kCmdlineTitle, 1);
BENCHMARK_CAPTURE(BM_ParseInetTable, tcp_8_rows, kTcpTable,
                  SocketProtocol::kTcp, 2);
BENCHMARK_CAPTURE(BM_ParseInetTable, tcp6_3_rows, kTcp6Table,
                  SocketProtocol::kTcp6, 2);
BENCHMARK(BM_ParseUnixTable);

}  // namespace
}  // namespace entrytrace

BENCHMARK_MAIN();
