// NamespaceScope against live PID namespaces. Needs root to create them.
#include "poller/scope.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace entrytrace {
namespace {

// The first child of pid, or 0 after a second of waiting.
int wait_for_child(int pid) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::ifstream children("/proc/" + std::to_string(pid) + "/task/" +
                           std::to_string(pid) + "/children");
    int child = 0;
    if (children >> child) {
      return child;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

// A command started with fork and exec, killed when the object ends.
class Command {
 public:
  explicit Command(std::vector<const char*> argv) {
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execvp(argv[0], const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
  }
  ~Command() { stop(); }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  int pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

uint64_t namespace_inode(int pid) {
  struct stat info {};
  std::string path = "/proc/" + std::to_string(pid) + "/ns/pid";
  return ::stat(path.c_str(), &info) == 0 ? info.st_ino : 0;
}

// The kernel gives a freed namespace's inode number to the next namespace
// made, so a cached decision keeps its namespace open until the scope ends.
//
//   host ── A (target) ── sleep
//       └── B ── C ── sleep        C is outside A; it dies, and new
//                                  namespaces must not get its inode
TEST(NamespaceScope, CachedNamespaceKeepsItsInode) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to make PID namespaces";
  }
  Command target_tree(
      {"unshare", "--pid", "--fork", "--kill-child", "sleep", "30"});
  int target_init = wait_for_child(target_tree.pid());
  ASSERT_GT(target_init, 0) << "unshare did not start";
  Result<Target> target = resolve_target("/proc", target_init);
  ASSERT_TRUE(target.ok()) << target.error().message;
  ASSERT_NE(target->pid_ns_pin, nullptr);

  Command outsider({"unshare", "--pid", "--fork", "--kill-child", "unshare",
                    "--pid", "--fork", "--kill-child", "sleep", "30"});
  int nested_init = wait_for_child(wait_for_child(outsider.pid()));
  ASSERT_GT(nested_init, 0) << "unshare did not start";
  uint64_t nested_ns = namespace_inode(nested_init);
  ASSERT_NE(nested_ns, 0u);

  NamespaceScope scope(*target);
  {
    Result<PidDirectory> dir = ProcReader("/proc").open_pid(nested_init);
    ASSERT_TRUE(dir.ok()) << dir.error().message;
    Result<StatusFields> status = read_status(*dir);
    ASSERT_TRUE(status.ok()) << status.error().message;
    EXPECT_EQ(scope.decide(*dir, *status, nested_ns), Membership::kOutside);
  }
  outsider.stop();
  for (int attempt = 0; attempt < 100 && namespace_inode(nested_init) != 0;
       ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  // Freeing a namespace is deferred, and each new one takes the lowest free
  // number, so several are made and kept until one would have reached it.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::vector<std::unique_ptr<Command>> holders;
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE("new namespace " + std::to_string(round));
    holders.push_back(std::make_unique<Command>(std::vector<const char*>{
        "unshare", "--pid", "--fork", "--kill-child", "sleep", "30"}));
    int init = wait_for_child(holders.back()->pid());
    ASSERT_GT(init, 0) << "unshare did not start";
    EXPECT_NE(namespace_inode(init), nested_ns);
  }
}

// The seed is known by pid and start time, so another process behind its
// pid is not a member.
TEST(NamespaceScope, SeedWithOtherStartTimeIsNotAMember) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to make a PID namespace";
  }
  Command tree({"unshare", "--pid", "--fork", "--kill-child", "sleep", "30"});
  int init = wait_for_child(tree.pid());
  ASSERT_GT(init, 0) << "unshare did not start";
  Result<PidDirectory> dir = ProcReader("/proc").open_pid(init);
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  Result<StatusFields> status = read_status(*dir);
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_EQ(status->ns_tgid.size(), 2u);
  Result<StatFields> stat = read_stat(*dir);
  ASSERT_TRUE(stat.ok()) << stat.error().message;

  Target target;
  target.pid_ns_depth = 1;
  target.seed_pid = init;
  target.seed_start_ticks = stat->start_ticks;
  EXPECT_EQ(NamespaceScope(target).decide(*dir, *status, std::nullopt),
            Membership::kMember);

  target.seed_start_ticks = stat->start_ticks + 1;
  EXPECT_EQ(NamespaceScope(target).decide(*dir, *status, std::nullopt),
            Membership::kUnknown);
}

}  // namespace
}  // namespace entrytrace
