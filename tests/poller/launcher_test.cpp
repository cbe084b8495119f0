#include "poller/launcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "poller/capture.h"

namespace entrytrace {
namespace {

using namespace std::chrono_literals;
using Kind = ObservationKind;

#define SKIP_UNLESS_ROOT()                                           \
  if (geteuid() != 0) {                                              \
    GTEST_SKIP() << "needs root to create PID and mount namespaces"; \
  }

TEST(Launch, EmptyCommandIsAnError) {
  Result<LaunchedTree> tree = launch(LaunchOptions{});
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.error().message, "no command to launch");
}

TEST(Launch, MissingPathFailsOnRelease) {
  SKIP_UNLESS_ROOT();
  Result<LaunchedTree> tree =
      launch(LaunchOptions{{"/nonexistent/entrytrace-test"}, true});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  Status released = tree->release();
  ASSERT_FALSE(released.ok());
  EXPECT_EQ(released.error().message,
            "cannot run '/nonexistent/entrytrace-test': No such file or "
            "directory");
  EXPECT_EQ(tree->host_pid(), 0) << "the failed child is reaped";
}

TEST(Launch, MissingCommandInPathFailsOnRelease) {
  SKIP_UNLESS_ROOT();
  Result<LaunchedTree> tree =
      launch(LaunchOptions{{"entrytrace-no-such-command"}, false});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  Status released = tree->release();
  ASSERT_FALSE(released.ok());
  EXPECT_EQ(released.error().message,
            "cannot run 'entrytrace-no-such-command': No such file or "
            "directory");
}

TEST(Launch, StopBeforeReleaseIsQuick) {
  SKIP_UNLESS_ROOT();
  Result<LaunchedTree> tree = launch(LaunchOptions{{"/bin/true"}, false});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  EXPECT_GT(tree->host_pid(), 0);
  auto start = std::chrono::steady_clock::now();
  tree->stop(2s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(tree->host_pid(), 0);
}

TEST(Launch, StopKillsWholeNamespace) {
  SKIP_UNLESS_ROOT();
  Result<LaunchedTree> tree = launch(
      LaunchOptions{{"/bin/sh", "-c", "sleep 30 & sleep 30; wait"}, false});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  ASSERT_TRUE(tree->release().ok());
  int32_t pid = tree->host_pid();
  tree->stop(100ms);
  EXPECT_EQ(tree->host_pid(), 0);
  EXPECT_NE(access(("/proc/" + std::to_string(pid)).c_str(), F_OK), 0);
}

// Runs in a forked child: joins the network namespace of pid and reports
// whether loopback is up through the exit status.
bool loopback_up_in(int32_t pid) {
  pid_t child = fork();
  if (child == 0) {
    std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
    int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
      _exit(2);
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
      _exit(3);
    }
    _exit((request.ifr_flags & IFF_UP) != 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(Launch, NewNetworkHasLoopbackUp) {
  SKIP_UNLESS_ROOT();
  Result<LaunchedTree> tree = launch(LaunchOptions{{"/bin/sleep", "5"}, true});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  EXPECT_TRUE(loopback_up_in(tree->host_pid()));
  tree->stop(0ms);
}

const Observation* find_exec_to(const std::vector<Observation>& list,
                                int32_t host_pid,
                                const std::vector<std::string>& argv) {
  for (const Observation& observation : list) {
    if (observation.process.host_pid == host_pid &&
        observation.kind == Kind::kImageChanged &&
        observation.snapshot->image.argv == argv) {
      return &observation;
    }
  }
  return nullptr;
}

// The namespace's pid 1 runs  sh -c 'sleep 0.3; exec sleep 1':
//   sh (ns 1) ──fork──> sleep 0.3 (ns 2), exits
//   sh (ns 1) ──exec──> sleep 1, exits, and the namespace empties
TEST(ProcfsBackend, CapturesLiveExecChain) {
  SKIP_UNLESS_ROOT();
  const std::vector<std::string> shell_argv = {"/bin/sh", "-c",
                                               "sleep 0.3; exec sleep 1"};
  Result<LaunchedTree> tree = launch(LaunchOptions{shell_argv, true});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  int32_t init_pid = tree->host_pid();

  Result<Target> target = resolve_target("/proc", init_pid);
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_GE(target->pid_ns_depth, 1);

  Status released = Error{"never released"};
  CaptureOptions options;
  options.window = 1500ms;
  options.interval = 10ms;
  options.on_first_scan = [&] { released = tree->release(); };
  Result<Capture> capture = make_procfs_backend()->capture(*target, options);
  tree->stop(0ms);
  ASSERT_TRUE(released.ok()) << released.error().message;
  ASSERT_TRUE(capture.ok()) << capture.error().message;

  EXPECT_EQ(capture->backend, "procfs");
  // As root the capture reads a procfs scoped to the namespace, whose pids
  // are the namespace's, so pid 1 is identified by 1 there.
  int32_t init_id = init_pid;
  if (!capture->target.host_pids_visible) {
    init_id = 1;
    EXPECT_EQ(capture->target.init_host_pid, 0);
  } else {
    EXPECT_EQ(capture->target.init_host_pid, init_pid);
  }
  EXPECT_EQ(capture->target.pid_ns, target->pid_ns);
  EXPECT_LE(capture->elapsed_us, capture->window_us + 100'000);
  EXPECT_GT(capture->window_start_ticks, 0u);
  EXPECT_EQ(capture->user_names[0], "root");

  const std::vector<Observation>& list = capture->observations;
  ASSERT_FALSE(list.empty());
  for (size_t i = 1; i < list.size(); ++i) {
    EXPECT_LE(list[i - 1].time_us, list[i].time_us) << "observation " << i;
  }
  // The launcher stub held before exec is not reported: pid 1 is first seen
  // as the shell, at the time of the first poll.
  const Observation* shell = &list[0];
  EXPECT_EQ(shell->kind, Kind::kProcessSeen);
  EXPECT_EQ(shell->process.host_pid, init_id);
  EXPECT_EQ(shell->time_us, 0);
  EXPECT_EQ(shell->snapshot->ns_pid, 1);
  EXPECT_EQ(shell->snapshot->image.argv, shell_argv);

  const Observation* server = find_exec_to(list, init_id, {"sleep", "1"});
  ASSERT_NE(server, nullptr) << "exec of sleep 1 not seen";
  EXPECT_GT(server->time_us, shell->time_us);
  EXPECT_EQ(server->process, shell->process) << "same identity after exec";
  EXPECT_EQ(server->snapshot->ns_pid, 1);

  const Observation* child = nullptr;
  for (const Observation& observation : list) {
    if (observation.kind == Kind::kProcessSeen &&
        observation.process.host_pid != init_id) {
      child = &observation;
    }
  }
  ASSERT_NE(child, nullptr) << "the forked sleep 0.3 was not seen";
  EXPECT_EQ(child->snapshot->image.argv,
            (std::vector<std::string>{"sleep", "0.3"}))
      << "reported between fork and exec";
  EXPECT_EQ(child->snapshot->ns_pid, 2);
  EXPECT_EQ(child->snapshot->ns_ppid, 1);

  bool child_exited = false;
  for (const Observation& observation : list) {
    child_exited |= observation.kind == Kind::kProcessExited &&
                    observation.process == child->process;
  }
  EXPECT_TRUE(child_exited);
}

TEST(ProcfsBackend, StopFlagEndsWindowEarly) {
  SKIP_UNLESS_ROOT();
  Result<LaunchedTree> tree =
      launch(LaunchOptions{{"/bin/sleep", "10"}, false});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  Result<Target> target = resolve_target("/proc", tree->host_pid());
  ASSERT_TRUE(target.ok());

  std::atomic<bool> stop{false};
  CaptureOptions options;
  options.window = 10s;
  options.interval = 10ms;
  options.stop = &stop;
  options.on_first_scan = [&] {
    (void)tree->release();
    stop = true;
  };
  auto start = std::chrono::steady_clock::now();
  Result<Capture> capture = make_procfs_backend()->capture(*target, options);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  tree->stop(0ms);
  ASSERT_TRUE(capture.ok()) << capture.error().message;
  EXPECT_LT(capture->elapsed_us, 2'000'000);
  ASSERT_FALSE(capture->evidence.empty());
  EXPECT_EQ(capture->evidence[0].rfind("capture stopped early", 0), 0u);
}

TEST(ProcfsBackend, MissingTargetIsAnError) {
  Result<Target> target = resolve_target("/proc", 0x3fffffff);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.error().message,
            "no process with pid " + std::to_string(0x3fffffff));
}

}  // namespace
}  // namespace entrytrace
