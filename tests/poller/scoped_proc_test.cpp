// A procfs scoped to a PID namespace by the kernel lists only that
// namespace's processes. Needs root to create the namespace and to mount.
#include "poller/scoped_proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>

namespace entrytrace {
namespace {

// Numeric entries of a procfs root given as a directory descriptor.
std::set<int> list_pids(int root_fd) {
  std::set<int> pids;
  int fd = ::openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    return pids;
  }
  while (dirent* entry = ::readdir(dir)) {
    int pid = std::atoi(entry->d_name);
    if (pid > 0) {
      pids.insert(pid);
    }
  }
  ::closedir(dir);
  return pids;
}

// `sleep` as pid 1 of a new PID namespace, started with unshare(1).
class SleepingNamespace {
 public:
  SleepingNamespace() {
    unshare_pid_ = ::fork();
    if (unshare_pid_ == 0) {
      ::execlp("unshare", "unshare", "--pid", "--fork", "sleep", "30",
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int attempt = 0; attempt < 100 && init_pid_ == 0; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      std::ifstream children("/proc/" + std::to_string(unshare_pid_) +
                             "/task/" + std::to_string(unshare_pid_) +
                             "/children");
      children >> init_pid_;
    }
  }
  ~SleepingNamespace() {
    if (init_pid_ > 0) {
      ::kill(init_pid_, SIGKILL);
    }
    ::kill(unshare_pid_, SIGKILL);
    ::waitpid(unshare_pid_, nullptr, 0);
  }
  int init_pid() const { return init_pid_; }

 private:
  pid_t unshare_pid_ = -1;
  int init_pid_ = 0;
};

class ScopedProcSource : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root to create a PID namespace and mount procfs";
    }
    setenv(kForceProcEnv, GetParam(), 1);
  }
  void TearDown() override { unsetenv(kForceProcEnv); }
};

TEST_P(ScopedProcSource, ListsOnlyTargetNamespace) {
  SleepingNamespace target;
  ASSERT_GT(target.init_pid(), 0) << "unshare did not start";

  Result<ScopedProc> proc = open_scoped_proc("/proc", target.init_pid());

  ASSERT_TRUE(proc) << proc.error().message;
  EXPECT_STREQ(proc_source_name(proc->source), GetParam());
  EXPECT_TRUE(proc->fallbacks.empty()) << proc->fallbacks;
  EXPECT_EQ(list_pids(proc->root.get()), std::set<int>{1});
  std::ifstream comm(proc->path() + "/1/comm");
  std::string name;
  comm >> name;
  EXPECT_EQ(name, "sleep");
}

INSTANTIATE_TEST_SUITE_P(Sources, ScopedProcSource,
                         ::testing::Values("fsmount", "private"),
                         [](const auto& info) {
                           return std::string(info.param);
                         });

TEST(ScopedProc, HostSourceListsEveryProcess) {
  setenv(kForceProcEnv, "host", 1);
  Result<ScopedProc> proc = open_scoped_proc("/proc", getpid());
  unsetenv(kForceProcEnv);

  ASSERT_TRUE(proc) << proc.error().message;
  EXPECT_EQ(proc->source, ProcSource::kHost);
  EXPECT_EQ(list_pids(proc->root.get()).count(getpid()), 1u);
}

TEST(ScopedProc, InvalidForcedSourceIsError) {
  setenv(kForceProcEnv, "tmpfs", 1);
  Result<ScopedProc> proc = open_scoped_proc("/proc", getpid());
  unsetenv(kForceProcEnv);

  ASSERT_FALSE(proc);
  EXPECT_NE(proc.error().message.find("tmpfs"), std::string::npos);
}

TEST(ScopedProc, MissingPidFallsBackToHost) {
  if (std::getenv(kForceProcEnv) != nullptr) {
    GTEST_SKIP() << kForceProcEnv << " is set";
  }
  // Pids never reach this value under the default pid_max of 4194304.
  Result<ScopedProc> proc = open_scoped_proc("/proc", 999999999);

  ASSERT_TRUE(proc) << proc.error().message;
  EXPECT_EQ(proc->source, ProcSource::kHost);
  EXPECT_NE(proc->fallbacks.find("999999999/ns/pid"), std::string::npos)
      << proc->fallbacks;
}

}  // namespace
}  // namespace entrytrace
