#include "poller/netlink_backend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "poller/backend_select.h"
#include "poller/capture.h"
#include "poller/launcher.h"
#include "poller/proc_reader.h"

namespace entrytrace {
namespace {

using namespace std::chrono_literals;
using Kind = ObservationKind;
using Argv = std::vector<std::string>;

// Makes the netlink backend or skips the test with the reason: it needs root
// and the initial PID and network namespaces.
#define MAKE_NETLINK_OR_SKIP(backend)                                       \
  if (geteuid() != 0) {                                                     \
    GTEST_SKIP() << "needs root for the proc connector and PID namespaces"; \
  }                                                                         \
  Result<std::unique_ptr<CaptureBackend>> backend = make_netlink_backend(); \
  if (!backend) {                                                           \
    GTEST_SKIP() << "netlink backend unavailable: "                         \
                 << backend.error().message;                                \
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
  return text;
}

// The namespace's pid 1 runs  sh -c 'sleep 0.2; exec sleep 1':
//   sh (ns 1) ──fork──> sleep 0.2 (ns 2), exits
//   sh (ns 1) ──exec──> sleep 1
TEST(NetlinkBackend, CapturesLiveExecChain) {
  MAKE_NETLINK_OR_SKIP(backend);
  const Argv shell = {"/bin/sh", "-c", "sleep 0.2; exec sleep 1"};
  Result<LaunchedTree> tree = launch(LaunchOptions{shell, true});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  int32_t init_pid = tree->host_pid();
  Result<Target> target = resolve_target("/proc", init_pid);
  ASSERT_TRUE(target.ok()) << target.error().message;

  Status released = Error{"never released"};
  CaptureOptions options;
  options.window = 1500ms;
  options.interval = 10ms;
  options.on_first_scan = [&] { released = tree->release(); };
  Result<Capture> capture = (*backend)->capture(*target, options);
  tree->stop(0ms);
  ASSERT_TRUE(released.ok()) << released.error().message;
  ASSERT_TRUE(capture.ok()) << capture.error().message;
  SCOPED_TRACE(describe(*capture));

  EXPECT_EQ(capture->backend, "netlink+procfs");
  EXPECT_EQ(capture->target.init_host_pid, init_pid);
  EXPECT_EQ(capture->user_names[0], "root");

  std::vector<const Observation*> init;
  const Observation* child = nullptr;
  bool child_exited = false;
  for (const Observation& observation : capture->observations) {
    if (observation.process.host_pid == init_pid && observation.snapshot) {
      init.push_back(&observation);
    }
    if (observation.snapshot &&
        observation.snapshot->image.argv == Argv{"sleep", "0.2"}) {
      child = &observation;
    }
  }
  ASSERT_EQ(init.size(), 2u);
  EXPECT_EQ(init[0]->kind, Kind::kProcessSeen);
  EXPECT_EQ(init[0]->snapshot->image.argv, shell);
  EXPECT_EQ(init[0]->snapshot->ns_pid, 1);
  EXPECT_EQ(init[1]->kind, Kind::kImageChanged);
  EXPECT_EQ(init[1]->snapshot->image.argv, (Argv{"sleep", "1"}));
  EXPECT_EQ(init[1]->snapshot->ns_pid, 1);
  EXPECT_EQ(init[1]->process, init[0]->process) << "same identity after exec";

  ASSERT_NE(child, nullptr) << "the forked sleep 0.2 was not seen";
  EXPECT_EQ(child->kind, Kind::kProcessSeen) << "reported with its exec image";
  EXPECT_EQ(child->snapshot->ns_pid, 2);
  EXPECT_EQ(child->snapshot->ns_ppid, 1);
  for (const Observation& observation : capture->observations) {
    child_exited |= observation.kind == Kind::kProcessExited &&
                    observation.process == child->process;
  }
  EXPECT_TRUE(child_exited);
}

// The identity of a process first known from a fork event is read from
// /proc/<pid>/stat, so it matches a later read of the same file.
TEST(NetlinkBackend, IdentityEqualsProcStat) {
  MAKE_NETLINK_OR_SKIP(backend);
  const Argv shell = {"/bin/sh", "-c", "sleep 3 & sleep 3 & exec sleep 3"};
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

  ProcReader reader("/proc");
  int seen = 0;
  for (const Observation& observation : capture->observations) {
    if (observation.kind != Kind::kProcessSeen) {
      continue;
    }
    ++seen;
    Result<PidDirectory> dir = reader.open_pid(observation.process.host_pid);
    ASSERT_TRUE(dir.ok()) << dir.error().message;
    Result<StatFields> stat = read_stat(*dir);
    ASSERT_TRUE(stat.ok()) << stat.error().message;
    EXPECT_EQ(stat->start_ticks, observation.process.start_ticks);
  }
  EXPECT_EQ(seen, 3);
  tree->stop(0ms);
}

// With a 100 ms tick, a child living 30 ms would be caught by the procfs
// engine alone only when a tick fell inside its life. Its fork and exec
// events make the engine read it at once:
//   sh (ns 1) ──fork+exec──> sleep 0.03   (twice, 200 ms apart)
TEST(NetlinkBackend, EventsReadShortChildAtOnce) {
  MAKE_NETLINK_OR_SKIP(backend);
  EXPECT_EQ((*backend)->name(), "netlink+procfs");
  const Argv shell = {"/bin/sh", "-c",
                      "sleep 0.2; sleep 0.03; sleep 0.2; sleep 0.03; "
                      "sleep 0.2"};
  Result<LaunchedTree> tree = launch(LaunchOptions{shell, true});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  Result<Target> target = resolve_target("/proc", tree->host_pid());
  ASSERT_TRUE(target.ok()) << target.error().message;
  CaptureOptions options;
  options.window = 1000ms;
  options.interval = 100ms;
  options.hot_interval = 100ms;
  options.on_first_scan = [&] { (void)tree->release(); };
  Result<Capture> capture = (*backend)->capture(*target, options);
  tree->stop(0ms);
  ASSERT_TRUE(capture.ok()) << capture.error().message;
  SCOPED_TRACE(describe(*capture));

  EXPECT_EQ(capture->backend, "netlink+procfs");
  std::set<ProcessId> short_children;
  for (const Observation& observation : capture->observations) {
    if (observation.snapshot &&
        observation.snapshot->image.argv == Argv{"sleep", "0.03"}) {
      short_children.insert(observation.process);
    }
  }
  EXPECT_EQ(short_children.size(), 2u);
  bool woke = false;
  for (const std::string& line : capture->evidence) {
    woke |= line.starts_with("process events woke the capture");
  }
  EXPECT_TRUE(woke);
}

TEST(NetlinkBackend, RejectsRecordedProcRoot) {
  MAKE_NETLINK_OR_SKIP(backend);
  CaptureOptions options;
  options.proc_root = "/nonexistent/proc";
  Result<Capture> capture = (*backend)->capture(Target{}, options);
  ASSERT_FALSE(capture.ok());
  EXPECT_EQ(capture.error().message,
            "the netlink backend needs the live /proc, not /nonexistent/proc");
}

TEST(BackendKind, ParsesEveryName) {
  for (BackendKind kind : {BackendKind::kAuto, BackendKind::kProcfs,
                           BackendKind::kNetlink, BackendKind::kEbpf}) {
    SCOPED_TRACE(backend_kind_name(kind));
    Result<BackendKind> parsed = parse_backend_kind(backend_kind_name(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
  }
}

TEST(BackendKind, RejectsUnknownName) {
  Result<BackendKind> parsed = parse_backend_kind("kprobe");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message,
            "invalid backend 'kprobe': expected auto, procfs, netlink or ebpf");
}

TEST(SelectBackend, ProcfsOnRequest) {
  Result<std::unique_ptr<CaptureBackend>> backend =
      select_backend(BackendKind::kProcfs);
  ASSERT_TRUE(backend.ok());
  EXPECT_EQ((*backend)->name(), "procfs");
}

TEST(SelectBackend, EbpfOnRequestNeedsBuildOption) {
  if (ebpf_compiled_in()) {
    GTEST_SKIP() << "built with ENTRYTRACE_WITH_EBPF";
  }
  Result<std::unique_ptr<CaptureBackend>> backend =
      select_backend(BackendKind::kEbpf);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.error().message,
            "the eBPF backend is not compiled in: build with "
            "-DENTRYTRACE_WITH_EBPF=ON");
}

// Auto selection records in the capture's evidence which backend ran and
// why each stronger one did not.
TEST(SelectBackend, AutoRecordsChoiceInEvidence) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root to create PID namespaces";
  }
  Result<std::unique_ptr<CaptureBackend>> backend =
      select_backend(BackendKind::kAuto);
  ASSERT_TRUE(backend.ok()) << backend.error().message;
  Result<LaunchedTree> tree = launch(LaunchOptions{{"/bin/sleep", "1"}, true});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  Result<Target> target = resolve_target("/proc", tree->host_pid());
  ASSERT_TRUE(target.ok()) << target.error().message;
  CaptureOptions options;
  options.window = 200ms;
  options.on_first_scan = [&] { (void)tree->release(); };
  Result<Capture> capture = (*backend)->capture(*target, options);
  tree->stop(0ms);
  ASSERT_TRUE(capture.ok()) << capture.error().message;

  EXPECT_EQ(capture->backend, (*backend)->name());
  ASSERT_FALSE(capture->evidence.empty());
  const std::string& first = capture->evidence[0];
  if (capture->backend == "ebpf") {
    EXPECT_EQ(first, "capture backend ebpf chosen automatically");
  } else {
    EXPECT_NE(first.find("eBPF unavailable: "), std::string::npos) << first;
    EXPECT_NE(first.find("; using " + capture->backend), std::string::npos)
        << first;
  }
}

}  // namespace
}  // namespace entrytrace
