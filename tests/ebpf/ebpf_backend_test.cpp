// Live tests of the eBPF backend. Each launches a tree in new namespaces
// (poller/launcher.h), captures it and checks the observations against what
// the tree did. They need root and skip, with the reason, when the BPF
// programs cannot be loaded.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "catalogue/catalogue.h"
#include "detectors/analyze.h"
#include "poller/backend_select.h"
#include "poller/capture.h"
#include "poller/launcher.h"
#include "poller/proc_reader.h"

extern char** environ;

namespace entrytrace {
namespace {

using namespace std::chrono_literals;
using Kind = ObservationKind;
using Argv = std::vector<std::string>;

// Makes the eBPF backend or skips the test with the reason.
#define MAKE_EBPF_OR_SKIP(backend)                                           \
  if (geteuid() != 0) {                                                      \
    GTEST_SKIP() << "needs root to load BPF programs and create PID "        \
                    "namespaces";                                            \
  }                                                                          \
  Result<std::unique_ptr<CaptureBackend>> backend = make_ebpf_backend();     \
  if (!backend) {                                                            \
    GTEST_SKIP() << "eBPF backend unavailable: " << backend.error().message; \
  }

struct LiveCapture {
  Result<Capture> capture = Error{"not run"};
  int32_t init_pid = 0;
};

// Launches argv as pid 1 of new namespaces, releases it at the first scan
// and captures it for the window. also_at_release runs right after the
// release, inside the window.
LiveCapture capture_launched(CaptureBackend& backend, const Argv& argv,
                             std::chrono::milliseconds window,
                             const std::function<void()>& also_at_release = {},
                             bool keep_running = false) {
  LiveCapture live;
  Result<LaunchedTree> tree = launch(LaunchOptions{argv, true});
  if (!tree) {
    live.capture = tree.error();
    return live;
  }
  live.init_pid = tree->host_pid();
  Result<Target> target = resolve_target("/proc", live.init_pid);
  if (!target) {
    live.capture = target.error();
    return live;
  }
  Status released = Error{"never released"};
  CaptureOptions options;
  options.window = window;
  options.interval = 10ms;
  options.on_first_scan = [&] {
    released = tree->release();
    if (also_at_release) {
      also_at_release();
    }
  };
  live.capture = backend.capture(*target, options);
  if (keep_running) {
    tree->keep();
  } else {
    tree->stop(0ms);
  }
  if (!released) {
    live.capture = released.error();
  }
  return live;
}

std::vector<const Observation*> images_of(const Capture& capture,
                                          int32_t host_pid) {
  std::vector<const Observation*> images;
  for (const Observation& observation : capture.observations) {
    if (observation.process.host_pid == host_pid && observation.snapshot) {
      images.push_back(&observation);
    }
  }
  return images;
}

const Observation* find_seen(const Capture& capture, const Argv& argv) {
  for (const Observation& observation : capture.observations) {
    if (observation.snapshot && observation.snapshot->image.argv == argv) {
      return &observation;
    }
  }
  return nullptr;
}

std::string describe(const Capture& capture) {
  std::string text;
  for (const Observation& observation : capture.observations) {
    text += std::to_string(observation.time_us) + " " +
            observation_kind_name(observation.kind) + " " +
            std::to_string(observation.process.host_pid);
    if (observation.snapshot) {
      for (const std::string& arg : observation.snapshot->image.argv) {
        text += " " + arg;
      }
    }
    text += "\n";
  }
  for (const std::string& line : capture.diagnostics) {
    text += "diagnostic: " + line + "\n";
  }
  return text;
}

// The namespace's pid 1 runs  sh -c 'sleep 0.2; exec sleep 1':
//   sh (ns 1) ──fork──> sleep 0.2 (ns 2), exits
//   sh (ns 1) ──exec──> sleep 1
TEST(EbpfBackend, CapturesLiveExecChain) {
  MAKE_EBPF_OR_SKIP(backend);
  const Argv shell = {"/bin/sh", "-c", "sleep 0.2; exec sleep 1"};
  LiveCapture live = capture_launched(**backend, shell, 1500ms);
  ASSERT_TRUE(live.capture.ok()) << live.capture.error().message;
  const Capture& capture = *live.capture;
  SCOPED_TRACE(describe(capture));

  EXPECT_EQ(capture.backend, "ebpf");
  EXPECT_EQ(capture.target.init_host_pid, live.init_pid);
  EXPECT_GT(capture.window_start_ticks, 0u);
  EXPECT_EQ(capture.user_names.at(0), "root");

  std::vector<const Observation*> init = images_of(capture, live.init_pid);
  ASSERT_EQ(init.size(), 2u);
  EXPECT_EQ(init[0]->kind, Kind::kProcessSeen);
  EXPECT_EQ(init[0]->snapshot->ns_pid, 1);
  EXPECT_EQ(init[1]->kind, Kind::kImageChanged);
  EXPECT_EQ(init[1]->snapshot->image.argv, (Argv{"sleep", "1"}));
  EXPECT_EQ(init[1]->snapshot->image.exe, "/usr/bin/sleep");
  EXPECT_EQ(init[1]->process, init[0]->process) << "same identity after exec";

  const Observation* child = find_seen(capture, {"sleep", "0.2"});
  ASSERT_NE(child, nullptr) << "the forked sleep 0.2 was not seen";
  EXPECT_EQ(child->kind, Kind::kProcessSeen) << "reported with its exec image";
  EXPECT_EQ(child->snapshot->ns_pid, 2);
  EXPECT_EQ(child->snapshot->ns_ppid, 1);
  EXPECT_EQ(child->snapshot->host_ppid, live.init_pid);
  bool child_exited = false;
  for (const Observation& observation : capture.observations) {
    child_exited |= observation.kind == Kind::kProcessExited &&
                    observation.process == child->process;
  }
  EXPECT_TRUE(child_exited);
}

// Start ticks computed from task->start_boottime must equal field 22 of
// /proc/<pid>/stat, or one process would get two identities. The forked
// sleeps are known from fork events only; pid 1 from a scan, then an exec.
TEST(EbpfBackend, IdentityEqualsProcStat) {
  MAKE_EBPF_OR_SKIP(backend);
  const Argv shell = {"/bin/sh", "-c",
                      "sleep 3 & sleep 3 & sleep 3 & exec sleep 3"};
  Result<LaunchedTree> tree = launch(LaunchOptions{shell, true});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  Result<Target> target = resolve_target("/proc", tree->host_pid());
  ASSERT_TRUE(target.ok()) << target.error().message;
  CaptureOptions options;
  options.window = 500ms;
  options.on_first_scan = [&] { (void)tree->release(); };
  Result<Capture> capture = (*backend)->capture(*target, options);
  ASSERT_TRUE(capture.ok()) << capture.error().message;
  SCOPED_TRACE(describe(*capture));

  std::map<int32_t, std::set<uint64_t>> identities;
  for (const Observation& observation : capture->observations) {
    identities[observation.process.host_pid].insert(
        observation.process.start_ticks);
  }
  ASSERT_EQ(identities.size(), 4u) << "pid 1 and three sleeps";
  ProcReader reader("/proc");
  for (const auto& [pid, ticks] : identities) {
    SCOPED_TRACE("pid " + std::to_string(pid));
    ASSERT_EQ(ticks.size(), 1u) << "one identity per process";
    Result<PidDirectory> dir = reader.open_pid(pid);
    ASSERT_TRUE(dir.ok()) << dir.error().message;
    Result<StatFields> stat = read_stat(*dir);
    ASSERT_TRUE(stat.ok()) << stat.error().message;
    EXPECT_EQ(stat->start_ticks, *ticks.begin());
  }
  tree->stop(0ms);
}

// A target named by a host pid of the initial PID namespace lists kernel
// threads, which the kernel-side filter lets through. None is reported.
TEST(EbpfBackend, HostWideTargetLeavesOutKernelThreads) {
  MAKE_EBPF_OR_SKIP(backend);
  ProcReader reader("/proc");
  std::set<int32_t> kernel_threads;
  Result<std::vector<PidEntry>> listing = reader.list_pids();
  ASSERT_TRUE(listing.ok()) << listing.error().message;
  for (const PidEntry& entry : *listing) {
    Result<PidDirectory> dir = reader.open_pid(entry.pid);
    Result<StatFields> stat =
        dir ? read_stat(*dir) : Result<StatFields>(dir.error());
    if (stat && stat->is_kernel_thread()) {
      kernel_threads.insert(entry.pid);
    }
  }
  if (kernel_threads.empty()) {
    GTEST_SKIP() << "no kernel thread is listed in /proc";
  }
  Result<Target> target = resolve_target("/proc", getpid());
  ASSERT_TRUE(target.ok()) << target.error().message;
  ASSERT_EQ(target->pid_ns_depth, 0);
  CaptureOptions options;
  options.window = 300ms;
  Result<Capture> capture = (*backend)->capture(*target, options);
  ASSERT_TRUE(capture.ok()) << capture.error().message;

  int reported = 0;
  bool self_seen = false;
  for (const Observation& observation : capture->observations) {
    reported += kernel_threads.count(observation.process.host_pid) != 0;
    self_seen |= observation.process.host_pid == getpid();
  }
  EXPECT_EQ(reported, 0) << describe(*capture);
  EXPECT_TRUE(self_seen) << "the test process is a member\n"
                         << describe(*capture);
}

// execveat(fd, "", argv, envp, AT_EMPTY_PATH) fires sched_process_exec like
// execve; the filename is then "/dev/fd/<fd>", so exe comes from /proc.
TEST(EbpfBackend, CapturesExecveat) {
  MAKE_EBPF_OR_SKIP(backend);
  const Argv shell = {"/bin/sh", "-c",
                      std::string("exec ") + ENTRYTRACE_EXECVEAT_HELPER +
                          " /bin/sleep sleep-by-fd 0.5"};
  // sleep-by-fd is argv[0] only; sleep ignores its argv[0].
  LiveCapture live = capture_launched(**backend, shell, 1000ms);
  ASSERT_TRUE(live.capture.ok()) << live.capture.error().message;
  SCOPED_TRACE(describe(*live.capture));

  std::vector<const Observation*> init =
      images_of(*live.capture, live.init_pid);
  ASSERT_EQ(init.size(), 3u) << "sh, helper, sleep";
  EXPECT_EQ(init[1]->snapshot->image.argv[0], ENTRYTRACE_EXECVEAT_HELPER);
  const ProcessImage& slept = init[2]->snapshot->image;
  EXPECT_EQ(slept.argv, (Argv{"sleep-by-fd", "0.5"}));
  EXPECT_TRUE(slept.exe_known);
  EXPECT_EQ(slept.exe, "/usr/bin/sleep");
  EXPECT_EQ(init[2]->kind, Kind::kImageChanged);
}

// Every image of an exec chain has its argv. One longer than the 4096 bytes
// the kernel side copies is completed from /proc while the image still
// runs, and flagged as truncated when it has exec'd on already.
TEST(EbpfBackend, ArgvCompleteThroughExecChain) {
  MAKE_EBPF_OR_SKIP(backend);
  std::string zeros;
  for (int i = 0; i < 3000; ++i) {
    zeros += " 0";
  }
  const Argv shell = {
      "/bin/sh", "-c",
      "exec /bin/sh -c 'exec /bin/sh -c \"exec /bin/sleep 0.4" + zeros + "\"'"};
  LiveCapture live = capture_launched(**backend, shell, 1000ms);
  ASSERT_TRUE(live.capture.ok()) << live.capture.error().message;

  std::vector<const Observation*> init =
      images_of(*live.capture, live.init_pid);
  ASSERT_EQ(init.size(), 4u) << describe(*live.capture);
  // The shells exec on at once, so /proc may already show the next image
  // and their argv stays cut at 4096 bytes, flagged as truncated.
  const std::vector<Argv> shells = {
      shell,
      {"/bin/sh", "-c", "exec /bin/sh -c \"exec /bin/sleep 0.4" + zeros + "\""},
      {"/bin/sh", "-c", "exec /bin/sleep 0.4" + zeros}};
  for (size_t i = 0; i < shells.size(); ++i) {
    SCOPED_TRACE("image " + std::to_string(i));
    const ProcessSnapshot& snapshot = *init[i]->snapshot;
    const Argv& expected = shells[i];
    ASSERT_EQ(snapshot.image.argv.size(), 3u);
    EXPECT_EQ(snapshot.image.argv[1], expected[1]);
    EXPECT_TRUE(expected[2].starts_with(snapshot.image.argv[2]));
    if (snapshot.image.argv != expected) {
      EXPECT_EQ(snapshot.unreadable,
                (std::vector<std::string>{"argv: truncated at 4096 bytes"}));
    }
  }
  const Argv& long_argv = init[3]->snapshot->image.argv;
  ASSERT_EQ(long_argv.size(), 3002u);
  EXPECT_EQ(long_argv[0], "/bin/sleep");
  EXPECT_EQ(long_argv[1], "0.4");
  EXPECT_EQ(long_argv.back(), "0");
  EXPECT_TRUE(init[3]->snapshot->unreadable.empty());
}

// Target tree:  sh ──> unshare --pid --fork ──> sleep 0.41 (nested PID ns)
//               sh ──exec──> sleep 0.41
// Decoys with the same argv: a second launched tree and a child of the test
// process in the host namespace. Only the target's two sleeps may appear.
TEST(EbpfBackend, NestedNamespaceFilter) {
  MAKE_EBPF_OR_SKIP(backend);
  const Argv sleeper = {"/bin/sleep", "0.41"};
  Result<LaunchedTree> decoy_tree = launch(LaunchOptions{sleeper, true});
  ASSERT_TRUE(decoy_tree.ok()) << decoy_tree.error().message;
  pid_t host_decoy = 0;
  auto start_decoys = [&] {
    (void)decoy_tree->release();
    std::vector<char*> args;
    for (const std::string& arg : sleeper) {
      args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    posix_spawn(&host_decoy, sleeper[0].c_str(), nullptr, nullptr, args.data(),
                environ);
  };

  const Argv shell = {"/bin/sh", "-c",
                      "/usr/bin/unshare --pid --fork /bin/sleep 0.41; "
                      "exec /bin/sleep 0.41"};
  LiveCapture live = capture_launched(**backend, shell, 1500ms, start_decoys);
  int decoy_init = decoy_tree->host_pid();
  decoy_tree->stop(0ms);
  if (host_decoy > 0) {
    waitpid(host_decoy, nullptr, 0);
  }
  ASSERT_TRUE(live.capture.ok()) << live.capture.error().message;
  const Capture& capture = *live.capture;
  SCOPED_TRACE(describe(capture));

  std::set<ProcessId> sleepers;
  for (const Observation& observation : capture.observations) {
    EXPECT_NE(observation.process.host_pid, decoy_init);
    EXPECT_NE(observation.process.host_pid, host_decoy);
    if (observation.snapshot && observation.snapshot->image.argv == sleeper) {
      sleepers.insert(observation.process);
      EXPECT_GT(observation.snapshot->ns_pid, 0);
    }
  }
  EXPECT_EQ(sleepers.size(), 2u) << "the nested sleep and the exec'd one";
}

// A loop of 100 short-lived /bin/true processes: each lives well under a
// millisecond, and the eBPF backend must report every one with its argv. The
// counts of the other backends are printed for comparison, not checked.
TEST(BackendComparison, ShortLivedExecsSeen) {
  MAKE_EBPF_OR_SKIP(ebpf);
  const Argv loop = {"/bin/sh", "-c",
                     "i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); "
                     "done; sleep 0.2"};
  auto count_true = [&](CaptureBackend& backend) {
    LiveCapture live = capture_launched(backend, loop, 3000ms);
    EXPECT_TRUE(live.capture.ok()) << live.capture.error().message;
    if (!live.capture) {
      return -1;
    }
    std::set<ProcessId> seen;
    for (const Observation& observation : live.capture->observations) {
      if (observation.snapshot &&
          observation.snapshot->image.argv == Argv{"/bin/true"}) {
        seen.insert(observation.process);
      }
    }
    return static_cast<int>(seen.size());
  };
  EXPECT_EQ(count_true(**ebpf), 100);
  std::cout << "procfs saw " << count_true(*make_procfs_backend())
            << " of 100\n";
  Result<std::unique_ptr<CaptureBackend>> netlink = make_netlink_backend();
  if (netlink) {
    std::cout << "netlink saw " << count_true(**netlink) << " of 100\n";
  }
}

// The demo chain, 20 times:
//   tini ──> sh -c 'exec python3 -m http.server 8080'   (sh execs python3)
// sh becomes python3 about a millisecond after its own exec, often before
// the sh exec event is handled. The sh stage, when reported, must carry
// sh's exe, never python's.
TEST(EbpfBackend, ExecChainKeepsEachExe) {
  MAKE_EBPF_OR_SKIP(ebpf);
  if (::access("/usr/bin/tini", X_OK) != 0 ||
      ::access("/usr/bin/python3", X_OK) != 0) {
    GTEST_SKIP() << "needs /usr/bin/tini and /usr/bin/python3";
  }
  ::setenv("PATH",
           "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
  const Argv chain = {"/usr/bin/tini", "--", "/bin/sh", "-c",
                      "exec python3 -m http.server 8080"};
  // The launched tree shares this root, so sh's exe is this realpath.
  const std::string sh_exe = std::filesystem::canonical("/bin/sh").string();
  int sh_stages = 0;
  int stale_reads = 0;
  for (int run = 0; run < 20; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    LiveCapture live = capture_launched(**ebpf, chain, 300ms);
    ASSERT_TRUE(live.capture.ok()) << live.capture.error().message;
    std::string python_exe;
    for (const Observation& observation : live.capture->observations) {
      if (observation.snapshot && observation.snapshot->image.argv.size() > 1 &&
          observation.snapshot->image.argv[0] == "python3") {
        python_exe = observation.snapshot->image.exe;
      }
    }
    ASSERT_FALSE(python_exe.empty()) << describe(*live.capture);
    for (const Observation& observation : live.capture->observations) {
      if (!observation.snapshot || observation.snapshot->image.argv.empty() ||
          observation.snapshot->image.argv[0] != "/bin/sh") {
        continue;
      }
      ++sh_stages;
      const ProcessImage& image = observation.snapshot->image;
      EXPECT_NE(image.exe, python_exe) << describe(*live.capture);
      if (image.exe_known) {
        EXPECT_EQ(image.exe, sh_exe) << describe(*live.capture);
      }
    }
    for (const std::string& line : live.capture->diagnostics) {
      stale_reads +=
          line.find("already showed a later exec") != std::string::npos;
    }
  }
  std::cout << "sh stage reported in " << sh_stages
            << " of 20 runs; exe taken from the event in " << stale_reads
            << " runs\n";
}

struct TerminalSummary {
  std::string backend;
  Argv argv;
  std::optional<std::string> path;
  int32_t ns_pid = 0;
  std::string type;
  int listening = 0;
  // Nodes as "exe argv..." and edges as "kind: from -> to" over those
  // names, so that pids and times drop out of the comparison.
  std::set<std::string> nodes;
  std::set<std::string> edges;
};

std::string node_key(const ResultNode& node) {
  std::string key = node.exe.value_or("?");
  for (const std::string& arg : node.argv) {
    key += " " + arg;
  }
  return key;
}

void add_graph(const ResultGraph& graph, TerminalSummary& summary) {
  std::map<std::string, std::string> keys;
  for (const ResultNode& node : graph.nodes) {
    keys[node.id] = node_key(node);
    summary.nodes.insert(keys[node.id]);
  }
  for (const ResultEdge& edge : graph.edges) {
    summary.edges.insert(edge.kind + ": " + keys[edge.from] + " -> " +
                         keys[edge.to]);
  }
}

std::string join_lines(const std::set<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) {
    text += line + "\n";
  }
  return text;
}

// The demo tree:  tini ──> sh -c 'exec python3 -m http.server 8080'
// The procfs, netlink+procfs and eBPF backends must agree on the terminal
// and on the graph: the same nodes by exe and argv, the same edges.
TEST(BackendComparison, SameGraphForDemoTree) {
  MAKE_EBPF_OR_SKIP(ebpf);
  if (::access("/usr/bin/tini", X_OK) != 0 ||
      ::access("/usr/bin/python3", X_OK) != 0) {
    GTEST_SKIP() << "needs /usr/bin/tini and /usr/bin/python3";
  }
  ::setenv("PATH",
           "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
  const Argv demo = {"/usr/bin/tini", "--", "/bin/sh", "-c",
                     "exec /usr/bin/python3 -m http.server 8080"};
  Catalogue catalogue = Catalogue::load_default();

  std::vector<TerminalSummary> summaries;
  auto run = [&](CaptureBackend& backend) {
    LiveCapture live = capture_launched(backend, demo, 2000ms);
    ASSERT_TRUE(live.capture.ok()) << live.capture.error().message;
    EntryTraceResult result = analyze(*live.capture, catalogue, {});
    ASSERT_FALSE(result.terminals.empty()) << describe(*live.capture);
    const Terminal& terminal = result.terminals[0];
    summaries.push_back({backend.name(), terminal.argv, terminal.path,
                         terminal.ns_pid, terminal_type_name(terminal.type),
                         terminal.features.listening});
    add_graph(result.exec_graph, summaries.back());
  };
  // eBPF sees every exec from the kernel, so its graph is the reference.
  // The pollers may miss the shell stage on a loaded machine (it lives
  // about a millisecond), so each gets three tries to match the graph
  // exactly; the terminal must match on every try.
  run(**ebpf);
  ASSERT_EQ(summaries.size(), 1u);
  const TerminalSummary reference = summaries[0];
  EXPECT_EQ(reference.argv,
            (Argv{"/usr/bin/python3", "-m", "http.server", "8080"}));
  EXPECT_EQ(reference.listening, 1);

  auto compare = [&](CaptureBackend& backend) {
    SCOPED_TRACE(backend.name());
    for (int attempt = 1; attempt <= 3; ++attempt) {
      summaries.clear();
      run(backend);
      ASSERT_EQ(summaries.size(), 1u);
      const TerminalSummary& other = summaries[0];
      EXPECT_EQ(other.argv, reference.argv);
      EXPECT_EQ(other.path, reference.path);
      EXPECT_EQ(other.ns_pid, reference.ns_pid);
      EXPECT_EQ(other.type, reference.type);
      EXPECT_EQ(other.listening, reference.listening);
      bool same_graph =
          other.nodes == reference.nodes && other.edges == reference.edges;
      if (same_graph) {
        return;
      }
      if (attempt == 3) {
        ADD_FAILURE() << "graphs differ after 3 tries\nreference nodes:\n"
                      << join_lines(reference.nodes) << other.backend
                      << " nodes:\n"
                      << join_lines(other.nodes) << "reference edges:\n"
                      << join_lines(reference.edges) << other.backend
                      << " edges:\n"
                      << join_lines(other.edges);
      }
    }
  };
  compare(*make_procfs_backend());
  Result<std::unique_ptr<CaptureBackend>> netlink = make_netlink_backend();
  if (netlink) {
    compare(**netlink);
  }
}

}  // namespace
}  // namespace entrytrace
