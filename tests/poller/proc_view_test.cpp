// The procfs engine reading a target through each procfs source: a procfs
// scoped to the target's PID namespace (fsmount, private) and the host's
// /proc filtered by namespace inode. The live cases need root to create the
// namespace and to mount procfs.
#include "poller/proc_view.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "poller/proc_reader.h"
#include "poller/scope.h"
#include "tests/poller/fixture_root.h"

namespace entrytrace {
namespace {

using namespace std::chrono_literals;
using Argv = std::vector<std::string>;

#define SKIP_UNLESS_ROOT()                                            \
  if (geteuid() != 0) {                                               \
    GTEST_SKIP() << "needs root to create a PID namespace and mount"; \
  }

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    setenv(name, value, 1);
  }
  ~ScopedEnv() { unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

// A new PID namespace started with unshare(1), in which pid 1 forks
// `sleep 30` (pid 2) and execs `sleep 31`:
//   sleep 31 (1)
//   └── sleep 30 (2)
class TwoSleeps {
 public:
  TwoSleeps() {
    unshare_pid_ = ::fork();
    if (unshare_pid_ == 0) {
      ::execlp("unshare", "unshare", "--pid", "--fork", "/bin/sh", "-c",
               "sleep 30 & exec sleep 31", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Waits until pid 1 has exec'd and has its child.
    for (int attempt = 0; attempt < 200 && !ready(); ++attempt) {
      std::this_thread::sleep_for(10ms);
    }
  }
  ~TwoSleeps() {
    if (init_pid_ > 0) {
      ::kill(init_pid_, SIGKILL);
    }
    ::kill(unshare_pid_, SIGKILL);
    ::waitpid(unshare_pid_, nullptr, 0);
  }
  TwoSleeps(const TwoSleeps&) = delete;
  TwoSleeps& operator=(const TwoSleeps&) = delete;

  int init_pid() const { return init_pid_; }

 private:
  static std::vector<int> children_of(int pid) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/task/" +
                       std::to_string(pid) + "/children");
    std::vector<int> children;
    int child = 0;
    while (file >> child) {
      children.push_back(child);
    }
    return children;
  }

  bool ready() {
    std::vector<int> children = children_of(unshare_pid_);
    if (children.empty()) {
      return false;
    }
    init_pid_ = children.front();
    std::ifstream cmdline("/proc/" + std::to_string(init_pid_) + "/cmdline");
    std::string text((std::istreambuf_iterator<char>(cmdline)),
                     std::istreambuf_iterator<char>());
    return text == std::string(
                       "sleep\0"
                       "31\0",
                       9) &&
           !children_of(init_pid_).empty();
  }

  pid_t unshare_pid_ = -1;
  int init_pid_ = 0;
};

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) {
    text += "  " + line + "\n";
  }
  return text;
}

bool mentions(const std::vector<std::string>& lines,
              const std::string& fragment) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.find(fragment) != std::string::npos;
  });
}

// Captures the target named by host_pid with the procfs backend for a short
// window.
Result<Capture> capture_target(int host_pid) {
  Result<Target> target = resolve_target("/proc", host_pid);
  if (!target) {
    return target.error();
  }
  CaptureOptions options;
  options.window = 300ms;
  options.realtime = false;
  return make_procfs_backend()->capture(*target, options);
}

// The last image of each process seen, by the pid the capture identifies
// it with.
std::map<int32_t, ProcessSnapshot> last_images(const Capture& capture) {
  std::map<int32_t, ProcessSnapshot> images;
  for (const Observation& observation : capture.observations) {
    if (observation.snapshot) {
      images[observation.process.host_pid] = *observation.snapshot;
    }
  }
  return images;
}

// The fragment of the procfs evidence sentence that names each source.
const char* evidence_of(const std::string& source) {
  if (source == "fsmount") {
    return "procfs: a procfs instance scoped to the target's PID namespace "
           "(fsmount with the procfs pidns option)";
  }
  if (source == "private") {
    return "procfs: a procfs instance scoped to the target's PID namespace "
           "(private mount in a new mount namespace with the procfs pidns "
           "option)";
  }
  return "procfs: /proc filtered by PID namespace inode, because "
         "ENTRYTRACE_FORCE_PROC=host";
}

class ProcViewSource : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    setenv(kForceProcEnv, GetParam(), 1);
  }
  void TearDown() override { unsetenv(kForceProcEnv); }

  bool scoped() const { return std::string(GetParam()) != "host"; }
};

TEST_P(ProcViewSource, CaptureHoldsOnlyTarget) {
  TwoSleeps tree;
  ASSERT_GT(tree.init_pid(), 0) << "the namespace did not start";

  Result<Capture> capture = capture_target(tree.init_pid());

  ASSERT_TRUE(capture) << capture.error().message;
  EXPECT_TRUE(mentions(capture->evidence, evidence_of(GetParam())))
      << joined(capture->evidence);
  EXPECT_FALSE(mentions(capture->evidence, " failed: "))
      << joined(capture->evidence);
  std::map<int32_t, ProcessSnapshot> images = last_images(*capture);
  ASSERT_EQ(images.size(), 2u) << "processes outside the target were seen";
  std::map<int32_t, Argv> by_ns_pid;
  for (const auto& [pid, snapshot] : images) {
    by_ns_pid[snapshot.ns_pid] = snapshot.image.argv;
  }
  EXPECT_EQ(by_ns_pid[1], (Argv{"sleep", "31"}));
  EXPECT_EQ(by_ns_pid[2], (Argv{"sleep", "30"}));
  EXPECT_EQ(capture->user_names[0], "root")
      << "/etc/passwd unread: " << joined(capture->diagnostics);

  EXPECT_EQ(capture->target.host_pids_visible, !scoped());
  if (scoped()) {
    // The identity is the target namespace's pid.
    EXPECT_EQ(capture->target.init_host_pid, 0);
    for (const auto& [pid, snapshot] : images) {
      EXPECT_EQ(pid, snapshot.ns_pid);
    }
  } else {
    EXPECT_EQ(capture->target.init_host_pid, tree.init_pid());
    EXPECT_EQ(images.count(tree.init_pid()), 1u);
  }
}

TEST_P(ProcViewSource, ListingHoldsOnlyTarget) {
  TwoSleeps tree;
  ASSERT_GT(tree.init_pid(), 0) << "the namespace did not start";
  Result<Target> target = resolve_target("/proc", tree.init_pid());
  ASSERT_TRUE(target) << target.error().message;

  Result<ProcView> view = open_proc_view(*target, "/proc");

  ASSERT_TRUE(view) << view.error().message;
  EXPECT_NE(view->evidence.find(evidence_of(GetParam())), std::string::npos)
      << view->evidence;
  Result<std::vector<PidEntry>> listing =
      ProcReader(view->proc_root).list_pids();
  ASSERT_TRUE(listing) << listing.error().message;
  std::set<int32_t> pids;
  for (const PidEntry& entry : *listing) {
    pids.insert(entry.pid);
  }
  if (scoped()) {
    EXPECT_EQ(pids, (std::set<int32_t>{1, 2}));
    EXPECT_TRUE(view->target.proc_in_target_ns);
    EXPECT_EQ(view->target.host_pid, 1);
    EXPECT_EQ(view->target.pid_ns_depth, 0);
    EXPECT_EQ(view->target.pid_ns, target->pid_ns);
  } else {
    // The host's listing contains every process; the poller filters it.
    EXPECT_EQ(pids.count(getpid()), 1u);
    EXPECT_EQ(view->target.host_pid, tree.init_pid());
  }
}

INSTANTIATE_TEST_SUITE_P(Sources, ProcViewSource,
                         ::testing::Values("fsmount", "private", "host"),
                         [](const auto& info) {
                           return std::string(info.param);
                         });

TEST(ProcView, DefaultIsFsmountWithPidnsOption) {
  SKIP_UNLESS_ROOT();
  if (std::getenv(kForceProcEnv) != nullptr) {
    GTEST_SKIP() << kForceProcEnv << " is set";
  }
  TwoSleeps tree;
  ASSERT_GT(tree.init_pid(), 0) << "the namespace did not start";
  Result<Target> target = resolve_target("/proc", tree.init_pid());
  ASSERT_TRUE(target) << target.error().message;

  Result<ProcView> view = open_proc_view(*target, "/proc");

  ASSERT_TRUE(view) << view.error().message;
  EXPECT_EQ(view->proc.source, ProcSource::kFsmount);
  EXPECT_NE(view->evidence.find("(fsmount with the procfs pidns option)"),
            std::string::npos)
      << view->evidence;
}

// The setns(2) joins of kernels without the pidns option, through a pidfd
// and, without one, through the namespace file. The helper's child takes
// pid 3 of the namespace, which gap probes must not count as a missed
// process.
TEST(ProcView, SetnsJoinsNameTheirPath) {
  SKIP_UNLESS_ROOT();
  TwoSleeps tree;
  ASSERT_GT(tree.init_pid(), 0) << "the namespace did not start";
  Result<Target> target = resolve_target("/proc", tree.init_pid());
  ASSERT_TRUE(target) << target.error().message;
  ScopedEnv setns(kForceSetnsEnv, "1");

  Result<ProcView> by_pidfd = open_proc_view(*target, "/proc");
  ASSERT_TRUE(by_pidfd) << by_pidfd.error().message;
  EXPECT_NE(by_pidfd->evidence.find("(fsmount, by a helper that joined "
                                    "through a pidfd; "
                                    "ENTRYTRACE_FORCE_SETNS=1)"),
            std::string::npos)
      << by_pidfd->evidence;
  EXPECT_EQ(by_pidfd->proc.helper_pid, 3);

  ScopedEnv no_pidfd(kForceNoPidfdEnv, "1");
  Result<ProcView> by_file = open_proc_view(*target, "/proc");
  ASSERT_TRUE(by_file) << by_file.error().message;
  std::string expected = "by a helper that joined through /proc/" +
                         std::to_string(tree.init_pid()) +
                         "/ns/pid; ENTRYTRACE_FORCE_SETNS=1; "
                         "ENTRYTRACE_FORCE_NO_PIDFD=1)";
  EXPECT_NE(by_file->evidence.find(expected), std::string::npos)
      << by_file->evidence;

  Result<Capture> capture = capture_target(tree.init_pid());
  ASSERT_TRUE(capture) << capture.error().message;
  EXPECT_EQ(last_images(*capture).size(), 2u);
  EXPECT_FALSE(mentions(capture->evidence, "exited before they could be read"))
      << joined(capture->evidence);
}

TEST(ProcView, HostPidsNeededKeepHostProc) {
  SKIP_UNLESS_ROOT();
  TwoSleeps tree;
  ASSERT_GT(tree.init_pid(), 0) << "the namespace did not start";
  Result<Target> target = resolve_target("/proc", tree.init_pid());
  ASSERT_TRUE(target) << target.error().message;

  Result<ProcView> view =
      open_proc_view(*target, "/proc", "process events name host pids");

  ASSERT_TRUE(view) << view.error().message;
  EXPECT_FALSE(view->scoped());
  EXPECT_EQ(view->evidence,
            "procfs: /proc filtered by PID namespace inode, because process "
            "events name host pids");
}

TEST(ProcView, OwnNamespaceKeepsHostProc) {
  Result<Target> target = resolve_target("/proc", getpid());
  ASSERT_TRUE(target) << target.error().message;
  if (target->pid_ns == 0) {
    GTEST_SKIP() << "ns/pid of the test process is unreadable";
  }

  std::optional<std::string> reason = reason_for_host_proc(*target, "/proc");

  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("entrytrace's own PID namespace"), std::string::npos)
      << *reason;
}

TEST(ProcView, RecordedTreeKeepsItsRoot) {
  Target target;
  target.host_pid = 4242;
  target.pid_ns = 4026532500;
  target.pid_ns_depth = 1;

  Result<ProcView> view = open_proc_view(target, fixture_tree("thread"));

  ASSERT_TRUE(view) << view.error().message;
  EXPECT_FALSE(view->scoped());
  EXPECT_EQ(view->proc_root, fixture_tree("thread"));
  EXPECT_NE(view->evidence.find("is not a procfs (a recorded tree)"),
            std::string::npos)
      << view->evidence;
}

TEST(ProcView, ScopedTargetIsRebased) {
  Target host;
  host.description = "container 0123";
  host.host_pid = 4242;
  host.pid_ns = 4026532500;
  host.pid_ns_depth = 2;
  host.seed_pid = 4200;
  host.excluded_pid = 4300;
  host.ns_pids_known = false;
  host.cgroup_filter = CgroupFilter{"0123", {}};

  Target scoped = scoped_target(host, 7);

  EXPECT_EQ(scoped.description, host.description);
  EXPECT_EQ(scoped.host_pid, 7);
  EXPECT_EQ(scoped.pid_ns, host.pid_ns);
  EXPECT_EQ(scoped.pid_ns_depth, 0);
  EXPECT_EQ(scoped.seed_pid, 0);
  EXPECT_EQ(scoped.excluded_pid, 0);
  EXPECT_TRUE(scoped.proc_in_target_ns);
  EXPECT_TRUE(scoped.ns_pids_known);
  ASSERT_TRUE(scoped.cgroup_filter);
  EXPECT_EQ(scoped.cgroup_filter->container_id, "0123");
}

// Without NStgid, pids inside the target come from a procfs of its
// namespace, from the proc root itself when the target is the proc root's
// namespace, and are unknown otherwise.
class WithoutNstgid : public ::testing::Test {
 protected:
  void SetUp() override { setenv(kForceNoNstgidEnv, "1", 1); }
  void TearDown() override {
    unsetenv(kForceNoNstgidEnv);
    unsetenv(kForceProcEnv);
  }
};

TEST_F(WithoutNstgid, ScopedProcGivesNamespacePids) {
  SKIP_UNLESS_ROOT();
  TwoSleeps tree;
  ASSERT_GT(tree.init_pid(), 0) << "the namespace did not start";

  Result<Capture> capture = capture_target(tree.init_pid());

  ASSERT_TRUE(capture) << capture.error().message;
  EXPECT_FALSE(capture->target.host_pids_visible) << joined(capture->evidence);
  std::map<int32_t, ProcessSnapshot> images = last_images(*capture);
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[1].image.argv, (Argv{"sleep", "31"}));
  EXPECT_EQ(images[1].ns_pid, 1);
  EXPECT_EQ(images[2].image.argv, (Argv{"sleep", "30"}));
  EXPECT_EQ(images[2].ns_pid, 2);
  EXPECT_EQ(images[2].ns_ppid, 1);
  EXPECT_FALSE(mentions(capture->diagnostics, "reported as 0"))
      << joined(capture->diagnostics);
  EXPECT_EQ(capture->user_names[0], "root")
      << "/etc/passwd unread: " << joined(capture->diagnostics);
}

TEST_F(WithoutNstgid, HostProcReportsUnknownNamespacePids) {
  SKIP_UNLESS_ROOT();
  setenv(kForceProcEnv, "host", 1);
  TwoSleeps tree;
  ASSERT_GT(tree.init_pid(), 0) << "the namespace did not start";

  Result<Capture> capture = capture_target(tree.init_pid());

  ASSERT_TRUE(capture) << capture.error().message;
  std::map<int32_t, ProcessSnapshot> images = last_images(*capture);
  ASSERT_EQ(images.size(), 2u);
  for (const auto& [pid, snapshot] : images) {
    EXPECT_EQ(snapshot.ns_pid, 0) << "host pid " << pid;
  }
  EXPECT_TRUE(mentions(capture->diagnostics,
                       "pids inside the target's PID namespace are unknown "
                       "and reported as 0"))
      << joined(capture->diagnostics);
}

TEST_F(WithoutNstgid, OwnNamespaceKeepsPids) {
  Result<Target> target = resolve_target("/proc", getpid());
  ASSERT_TRUE(target) << target.error().message;
  if (target->pid_ns == 0) {
    GTEST_SKIP() << "ns/pid of the test process is unreadable";
  }
  Result<PidDirectory> self = ProcReader("/proc").open_pid(getpid());
  ASSERT_TRUE(self) << self.error().message;
  Result<StatusFields> status = read_status(*self);
  ASSERT_TRUE(status) << status.error().message;

  EXPECT_TRUE(status->ns_tgid.empty()) << "NStgid was not dropped";
  EXPECT_TRUE(target->ns_pids_known);
  EXPECT_EQ(NamespaceScope(*target).ns_pid(*status), getpid());
}

}  // namespace
}  // namespace entrytrace
