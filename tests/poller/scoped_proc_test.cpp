// A procfs scoped to a PID namespace by the kernel lists only that
// namespace's processes. Needs root to create the namespace and to mount.
#include "poller/scoped_proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
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

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) {
    text += line + "\n";
  }
  return text;
}

// Inode of the PID namespace of pid, or 0.
uint64_t pid_namespace(int pid) {
  struct stat info {};
  std::string path = "/proc/" + std::to_string(pid) + "/ns/pid";
  return ::stat(path.c_str(), &info) == 0 ? info.st_ino : 0;
}

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
  void TearDown() override {
    unsetenv(kForceProcEnv);
    unsetenv(kForceSetnsEnv);
    unsetenv(kForceNoPidfdEnv);
  }
};

TEST_P(ScopedProcSource, ListsOnlyTargetNamespace) {
  SleepingNamespace target;
  ASSERT_GT(target.init_pid(), 0) << "unshare did not start";

  Result<ScopedProc> proc = open_scoped_proc("/proc", target.init_pid());

  ASSERT_TRUE(proc) << proc.error().message;
  EXPECT_STREQ(proc_source_name(proc->source), GetParam());
  EXPECT_TRUE(proc->fallbacks.empty()) << joined(proc->fallbacks);
  EXPECT_EQ(list_pids(proc->root.get()), std::set<int>{1});
  std::ifstream comm(proc->path() + "/1/comm");
  std::string name;
  comm >> name;
  EXPECT_EQ(name, "sleep");
  // The test kernel takes the pidns option, so nothing entered the
  // namespace.
  EXPECT_EQ(proc->join, NamespaceJoin::kPidnsOption);
  EXPECT_TRUE(proc->join_notes.empty()) << joined(proc->join_notes);
  EXPECT_EQ(proc->helper_pid, 0);
}

TEST_P(ScopedProcSource, SetnsJoinsThroughPidfd) {
  SleepingNamespace target;
  ASSERT_GT(target.init_pid(), 0) << "unshare did not start";
  setenv(kForceSetnsEnv, "1", 1);

  Result<ScopedProc> proc = open_scoped_proc("/proc", target.init_pid(),
                                             pid_namespace(target.init_pid()));

  ASSERT_TRUE(proc) << proc.error().message;
  EXPECT_STREQ(proc_source_name(proc->source), GetParam());
  EXPECT_EQ(proc->join, NamespaceJoin::kPidfd) << joined(proc->join_notes);
  EXPECT_EQ(proc->join_notes,
            std::vector<std::string>{std::string(kForceSetnsEnv) + "=1"});
  EXPECT_EQ(list_pids(proc->root.get()), std::set<int>{1});
  // The helper's child was the namespace's second process and has exited.
  EXPECT_EQ(proc->helper_pid, 2);
}

TEST_P(ScopedProcSource, SetnsWithoutPidfdUsesNamespaceFile) {
  SleepingNamespace target;
  ASSERT_GT(target.init_pid(), 0) << "unshare did not start";
  setenv(kForceSetnsEnv, "1", 1);
  setenv(kForceNoPidfdEnv, "1", 1);

  Result<ScopedProc> proc = open_scoped_proc("/proc", target.init_pid(),
                                             pid_namespace(target.init_pid()));

  ASSERT_TRUE(proc) << proc.error().message;
  EXPECT_STREQ(proc_source_name(proc->source), GetParam());
  EXPECT_EQ(proc->join, NamespaceJoin::kNamespaceFile);
  EXPECT_EQ(proc->join_notes,
            (std::vector<std::string>{std::string(kForceSetnsEnv) + "=1",
                                      std::string(kForceNoPidfdEnv) + "=1"}));
  EXPECT_EQ(list_pids(proc->root.get()), std::set<int>{1});
}

TEST_P(ScopedProcSource, OtherNamespaceInodeIsRejected) {
  SleepingNamespace target;
  ASSERT_GT(target.init_pid(), 0) << "unshare did not start";

  // The inode of the test's own namespace stands for a pid reused by a
  // process of another namespace.
  Result<ScopedProc> proc =
      open_scoped_proc("/proc", target.init_pid(), pid_namespace(getpid()));

  ASSERT_FALSE(proc);
  EXPECT_NE(proc.error().message.find("the pid was reused"), std::string::npos)
      << proc.error().message;
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
  ASSERT_EQ(proc->fallbacks.size(), 2u) << joined(proc->fallbacks);
  EXPECT_EQ(proc->fallbacks[0].rfind("fsmount failed: ", 0), 0u)
      << proc->fallbacks[0];
  EXPECT_EQ(proc->fallbacks[1].rfind("private failed: ", 0), 0u)
      << proc->fallbacks[1];
  EXPECT_NE(proc->fallbacks[0].find("999999999/ns/pid"), std::string::npos)
      << proc->fallbacks[0];
}

}  // namespace
}  // namespace entrytrace
