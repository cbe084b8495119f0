#include "poller/proc_reader.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "poller/capture.h"
#include "poller/procfs_poller.h"
#include "tests/poller/fixture_root.h"

namespace entrytrace {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

TEST(ProcReader, ListsPidsSorted) {
  ProcReader reader(fixture_tree("thread"));
  Result<std::vector<PidEntry>> pids = reader.list_pids();
  ASSERT_TRUE(pids.ok()) << pids.error().message;
  std::vector<int32_t> numbers;
  for (const PidEntry& entry : *pids) {
    numbers.push_back(entry.pid);
    EXPECT_NE(entry.dir_inode, 0u);
  }
  EXPECT_EQ(numbers, (std::vector<int32_t>{1, 4242, 4243, 5000}));
}

TEST(ProcReader, MissingRootIsAnError) {
  ProcReader reader(fixture_tree("no-such-tree"));
  Result<std::vector<PidEntry>> pids = reader.list_pids();
  ASSERT_FALSE(pids.ok());
  EXPECT_NE(pids.error().message.find("no-such-tree"), std::string::npos);
}

TEST(ProcReader, MissingPidIsVanished) {
  ProcReader reader(fixture_tree("thread"));
  Result<PidDirectory> dir = reader.open_pid(999);
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(is_vanished(dir.error()));
}

TEST(ReadProcess, ExecChainFirstImage) {
  ProcReader reader(fixture_tree("exec-chain/t0"));
  Result<PidDirectory> dir = reader.open_pid(4242);
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  Result<ProcessReading> reading = read_process(*dir);
  ASSERT_TRUE(reading.ok()) << reading.error().message;

  const ProcessSnapshot& snapshot = reading->snapshot;
  EXPECT_EQ(snapshot.id, (ProcessId{4242, 89241}));
  EXPECT_EQ(snapshot.host_ppid, 4200);
  EXPECT_EQ(snapshot.uid, 0u);
  EXPECT_EQ(snapshot.image.exe, "/usr/bin/dash");
  EXPECT_TRUE(snapshot.image.exe_known);
  EXPECT_EQ(snapshot.image.cwd, "/data");
  EXPECT_EQ(snapshot.image.comm, "docker-entrypoi");
  EXPECT_EQ(
      snapshot.image.argv,
      (std::vector<std::string>{
          "/bin/sh", "/usr/local/bin/docker-entrypoint.sh", "redis-server"}));
  EXPECT_EQ(snapshot.image.start_stack, 140720841463552u);
  EXPECT_TRUE(snapshot.unreadable.empty());
  EXPECT_EQ(reading->status.ns_tgid, (std::vector<int32_t>{4242, 1}));
  EXPECT_EQ(reading->stat.state, 'S');
}

TEST(ReadProcess, TitleStaysOneArgument) {
  ProcReader reader(fixture_tree("exec-chain/t3"));
  Result<PidDirectory> dir = reader.open_pid(4242);
  ASSERT_TRUE(dir.ok());
  Result<ProcessReading> reading = read_process(*dir);
  ASSERT_TRUE(reading.ok());
  EXPECT_EQ(reading->snapshot.image.argv,
            (std::vector<std::string>{"redis-server *:6379"}));
  EXPECT_EQ(reading->snapshot.uid, 999u);
}

TEST(ReadProcess, ZombieHasNoExe) {
  ProcReader reader(fixture_tree("zombie/t1"));
  Result<PidDirectory> dir = reader.open_pid(4310);
  ASSERT_TRUE(dir.ok());
  Result<ProcessReading> reading = read_process(*dir);
  ASSERT_TRUE(reading.ok());
  EXPECT_EQ(reading->stat.state, 'Z');
  EXPECT_FALSE(reading->snapshot.image.exe_known);
  EXPECT_TRUE(reading->snapshot.image.argv.empty());
  EXPECT_TRUE(
      contains(reading->snapshot.unreadable, "exe: No such file or directory"));
}

TEST(ReadProcess, ThreadStatusNamesItsLeader) {
  ProcReader reader(fixture_tree("thread"));
  Result<PidDirectory> dir = reader.open_pid(4243);
  ASSERT_TRUE(dir.ok());
  Result<StatusFields> status = read_status(*dir);
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->is_thread());
  EXPECT_EQ(status->tgid, 4242);
}

TEST(ReadNamespace, PidAndNet) {
  ProcReader reader(fixture_tree("exec-chain/t0"));
  Result<PidDirectory> dir = reader.open_pid(4242);
  ASSERT_TRUE(dir.ok());
  Result<uint64_t> pid_ns = read_namespace(*dir, "pid");
  ASSERT_TRUE(pid_ns.ok());
  EXPECT_EQ(*pid_ns, 4026532500u);
  Result<uint64_t> net_ns = read_namespace(*dir, "net");
  ASSERT_TRUE(net_ns.ok());
  EXPECT_EQ(*net_ns, 4026532600u);
}

TEST(PidDirectory, ReadsFdLinks) {
  ProcReader reader(fixture_tree("exec-chain/t3"));
  Result<PidDirectory> dir = reader.open_pid(4242);
  ASSERT_TRUE(dir.ok());
  Result<std::vector<std::string>> links = dir->read_fd_links();
  ASSERT_TRUE(links.ok()) << links.error().message;
  EXPECT_EQ(links->size(), 6u);
  EXPECT_TRUE(contains(*links, "socket:[31337]"));
  EXPECT_TRUE(contains(*links, "/dev/null"));
}

TEST(PidDirectory, ReadsLargeFileWhole) {
  // /proc/self/maps of a test binary is larger than the first buffer.
  ProcReader reader("/proc");
  Result<PidDirectory> dir = reader.open_pid(getpid());
  ASSERT_TRUE(dir.ok());
  Result<std::string> maps = dir->read_to_end("maps");
  ASSERT_TRUE(maps.ok());
  EXPECT_GT(maps->size(), 4096u);
  EXPECT_EQ(maps->back(), '\n');
}

TEST(ResolveTarget, FromFixture) {
  Result<Target> target = resolve_target(fixture_tree("exec-chain/t0"), 4242);
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->host_pid, 4242);
  EXPECT_EQ(target->pid_ns, 4026532500u);
  EXPECT_EQ(target->pid_ns_depth, 1);
  EXPECT_EQ(target->description, "pid 4242");
}

TEST(ResolveTarget, MissingPid) {
  Result<Target> target = resolve_target(fixture_tree("exec-chain/t0"), 999);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.error().message, "no process with pid 999");
}

TEST(ResolveTarget, OwnProcess) {
  Result<Target> target = resolve_target("/proc", getpid());
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->host_pid, getpid());
  EXPECT_NE(target->pid_ns, 0u);
}

// Runs body in a child as uid and gid 65534 and returns what it wrote.
template <typename Body>
std::string run_unprivileged(Body body) {
  int fds[2];
  if (pipe(fds) != 0) {
    return "pipe failed";
  }
  pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
        setresuid(65534, 65534, 65534) != 0) {
      _exit(2);
    }
    std::string output = body();
    ssize_t written = write(fds[1], output.data(), output.size());
    _exit(written == static_cast<ssize_t>(output.size()) ? 0 : 3);
  }
  close(fds[1]);
  std::string output;
  char buffer[4096];
  ssize_t count;
  while ((count = read(fds[0], buffer, sizeof(buffer))) > 0) {
    output.append(buffer, count);
  }
  close(fds[0]);
  waitpid(child, nullptr, 0);
  return output;
}

// A recorded tree cannot hold EACCES (a symbolic link has no permissions),
// so this reads a live root-owned process as another user.
TEST(ReadProcess, RecordsPermissionDenied) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root to switch to an unprivileged uid";
  }
  pid_t root_owned = getpid();
  std::string output = run_unprivileged([root_owned] {
    ProcReader reader("/proc");
    Result<PidDirectory> dir = reader.open_pid(root_owned);
    if (!dir) {
      return "open: " + dir.error().message;
    }
    Result<ProcessReading> reading = read_process(*dir);
    if (!reading) {
      return "read: " + reading.error().message;
    }
    std::string joined;
    for (const std::string& message : reading->snapshot.unreadable) {
      joined += message + "\n";
    }
    joined += reading->snapshot.image.argv.empty() ? "no argv\n" : "argv\n";
    return joined;
  });
  EXPECT_NE(output.find("exe: Permission denied\n"), std::string::npos)
      << output;
  EXPECT_NE(output.find("cwd: Permission denied\n"), std::string::npos)
      << output;
  EXPECT_NE(output.find("argv\n"), std::string::npos) << output;
  EXPECT_EQ(output.find("no argv"), std::string::npos) << output;
}

// The whole poll path, unprivileged, over the live host PID namespace: the
// root-owned processes are still reported, and the fields that could not be
// read are counted.
TEST(ProcfsPoller, CountsPermissionDeniedUnprivileged) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root to switch to an unprivileged uid";
  }
  std::string output = run_unprivileged([] {
    Result<Target> target = resolve_target("/proc", getpid());
    if (!target) {
      return "resolve: " + target.error().message;
    }
    ProcfsPoller poller(*target, "/proc");
    Status polled = poller.poll(0);
    if (!polled) {
      return "poll: " + polled.error().message;
    }
    poller.poll_sockets(0);
    poller.finish();
    std::string joined = "observations " +
                         std::to_string(poller.take_observations().size()) +
                         "\n";
    for (const std::string& line : poller.diagnostics()) {
      joined += line + "\n";
    }
    return joined;
  });
  EXPECT_EQ(output.find("observations 0\n"), std::string::npos) << output;
  EXPECT_NE(output.find("exe unreadable for "), std::string::npos) << output;
  EXPECT_NE(output.find(": Permission denied\n"), std::string::npos) << output;
}

}  // namespace
}  // namespace entrytrace
