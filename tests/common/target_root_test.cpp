// Opening files inside a target's root: symbolic links and ".." chains that
// aim at a host file must resolve inside the root. Every case runs with
// openat2 and with the fallback resolver (ENTRYTRACE_FORCE_NO_OPENAT2=1).
#include "common/target_root.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace entrytrace {
namespace {

namespace fs = std::filesystem;

std::string read_fd(int fd) {
  std::string text;
  char buffer[256];
  ssize_t count = 0;
  while ((count = ::read(fd, buffer, sizeof(buffer))) > 0) {
    text.append(buffer, count);
  }
  return text;
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A host directory with a canary file, and a target root inside it:
//
//   <base>/canary                      "host"      must never be opened
//   <base>/root/<base>/canary          "in root"   what every link reaches
//   <base>/root/etc/passwd             "root:x:0:0::/root:/bin/sh"
//   <base>/root/etc/absolute  -> <base>/canary
//   <base>/root/etc/dotdot    -> ../../../../../../../<base>/canary
//   <base>/root/etc/chain     -> absolute
//   <base>/root/etc/dir       -> /etc/../../..
//   <base>/root/etc/loop_a    -> loop_b -> loop_a
class TargetRoot : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      setenv(kForceNoOpenat2Env, "1", 1);
    } else {
      unsetenv(kForceNoOpenat2Env);
    }
    base_ = fs::temp_directory_path() /
            ("entrytrace-root-" + std::to_string(getpid()));
    fs::remove_all(base_);
    root_ = base_ / "root";
    write_file(base_ / "canary", "host");
    write_file(root_ / base_.relative_path() / "canary", "in root");
    write_file(root_ / "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    fs::create_symlink(base_ / "canary", root_ / "etc/absolute");
    fs::create_symlink(
        "../../../../../../.." / base_.relative_path() / "canary",
        root_ / "etc/dotdot");
    fs::create_symlink("absolute", root_ / "etc/chain");
    fs::create_symlink("/etc/../../..", root_ / "etc/dir");
    fs::create_symlink("loop_b", root_ / "etc/loop_a");
    fs::create_symlink("loop_a", root_ / "etc/loop_b");

    root_fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(root_fd_, 0);
    inotify_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ASSERT_GE(inotify_, 0);
    ASSERT_GE(inotify_add_watch(inotify_, (base_ / "canary").c_str(),
                                IN_OPEN | IN_ACCESS),
              0);
  }

  void TearDown() override {
    // No open or read of the host canary may have happened.
    char events[4096];
    ssize_t count = ::read(inotify_, events, sizeof(events));
    EXPECT_EQ(count, -1) << "the host canary was opened";
    ::close(inotify_);
    ::close(root_fd_);
    unsetenv(kForceNoOpenat2Env);
    fs::remove_all(base_);
  }

  // Opens path in the root and returns its content, or "errno N".
  std::string open_and_read(const std::string& path) {
    Result<UniqueFd> file = open_in_root(root_fd_, path);
    if (!file) {
      return "errno " + std::to_string(file.error().errno_value);
    }
    return read_fd(file->get());
  }

  fs::path base_;
  fs::path root_;
  int root_fd_ = -1;
  int inotify_ = -1;
};

TEST_P(TargetRoot, PlainFileInsideRoot) {
  EXPECT_EQ(open_and_read("/etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(open_and_read("etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
}

TEST_P(TargetRoot, AbsoluteLinkStaysInRoot) {
  EXPECT_EQ(open_and_read("/etc/absolute"), "in root");
}

TEST_P(TargetRoot, DotDotLinkStopsAtRoot) {
  EXPECT_EQ(open_and_read("/etc/dotdot"), "in root");
}

TEST_P(TargetRoot, DotDotPathStopsAtRoot) {
  std::string path = "../../../../.." + base_.string() + "/canary";
  EXPECT_EQ(open_and_read(path), "in root");
}

TEST_P(TargetRoot, LinkChainStaysInRoot) {
  EXPECT_EQ(open_and_read("/etc/chain"), "in root");
}

TEST_P(TargetRoot, DirectoryLinkStaysInRoot) {
  EXPECT_EQ(open_and_read("/etc/dir/etc/passwd"),
            "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(open_and_read("/etc/dir" + base_.string() + "/canary"), "in root");
}

TEST_P(TargetRoot, LinkLoopFailsWithEloop) {
  EXPECT_EQ(open_and_read("/etc/loop_a"), "errno " + std::to_string(ELOOP));
}

TEST_P(TargetRoot, MissingFileFailsWithEnoent) {
  EXPECT_EQ(open_and_read("/etc/shadow"), "errno " + std::to_string(ENOENT));
}

TEST_P(TargetRoot, FileAsDirectoryFailsWithEnotdir) {
  EXPECT_EQ(open_and_read("/etc/passwd/x"), "errno " + std::to_string(ENOTDIR));
}

TEST_P(TargetRoot, ReadTargetFileOfOwnProcess) {
  // /proc/self/root is "/" for this process, so the host's own file is the
  // target's file here; the canary is not involved.
  Result<std::string> text =
      read_target_file("/proc", getpid(), root_.string() + "/etc/passwd", 7);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, "root:x:");
}

// A FIFO where a file is expected would block a plain open until a writer
// came. It is resolved without being opened and rejected as not a regular
// file.
TEST_P(TargetRoot, FifoIsRejectedWithoutBlocking) {
  ASSERT_EQ(::mkfifo((root_ / "etc/fifo").c_str(), 0644), 0);

  EXPECT_EQ(open_and_read("/etc/fifo"), "errno " + std::to_string(EINVAL));
}

// A device node in the target is an address of a host device, and opening
// one can have side effects of its own (a tape rewinds, a modem hangs up).
// The node here has /dev/null's numbers; the inotify watch on it reports any
// open, which an O_PATH descriptor does not count as.
TEST_P(TargetRoot, DeviceNodeIsNotOpened) {
  struct stat null_device {};
  ASSERT_EQ(::stat("/dev/null", &null_device), 0);
  fs::path node = root_ / "etc/device";
  if (::mknod(node.c_str(), S_IFCHR | 0666, null_device.st_rdev) != 0) {
    GTEST_SKIP() << "mknod " << node << ": " << std::strerror(errno);
  }
  int watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watch, 0);
  ASSERT_GE(inotify_add_watch(watch, node.c_str(), IN_OPEN | IN_ACCESS), 0);

  Result<UniqueFd> file = open_in_root(root_fd_, "/etc/device");

  char events[4096];
  ssize_t count = ::read(watch, events, sizeof(events));
  ::close(watch);
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().errno_value, EINVAL);
  EXPECT_NE(file.error().message.find("/etc/device"), std::string::npos)
      << file.error().message;
  EXPECT_EQ(count, -1) << "the device node was opened";
}

// The O_PATH descriptor describes any type without opening it.
TEST_P(TargetRoot, OpenPathInRootReachesAnyType) {
  ASSERT_EQ(::mkfifo((root_ / "etc/fifo").c_str(), 0644), 0);

  Result<UniqueFd> fifo = open_path_in_root(root_fd_, "/etc/fifo");
  ASSERT_TRUE(fifo) << fifo.error().message;
  struct stat info {};
  ASSERT_EQ(::fstat(fifo->get(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode));
}

TEST_P(TargetRoot, DirectoryOpensForReading) {
  Result<UniqueFd> directory = open_in_root(root_fd_, "/etc/dir/etc");
  ASSERT_TRUE(directory) << directory.error().message;
  struct stat info {};
  ASSERT_EQ(::fstat(directory->get(), &info), 0);
  EXPECT_TRUE(S_ISDIR(info.st_mode));
  EXPECT_EQ(::fcntl(directory->get(), F_GETFL) & O_PATH, 0);
}

// A target's root that contains a procfs (its own /proc) and links a file of
// its image into it: the kernel-wide file must not be read.
TEST_P(TargetRoot, ProcfsFileIsNotRead) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "mounting procfs needs root";
  }
  fs::create_directories(root_ / "proc");
  ASSERT_EQ(::mount("proc", (root_ / "proc").c_str(), "proc", 0, nullptr), 0)
      << std::strerror(errno);
  fs::create_symlink("/proc/version", root_ / "etc/version");

  std::string text = open_and_read("/etc/version");
  ::umount2((root_ / "proc").c_str(), MNT_DETACH);

  EXPECT_EQ(text, "errno " + std::to_string(EINVAL));
}

INSTANTIATE_TEST_SUITE_P(Resolvers, TargetRoot, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "Fallback" : "Openat2";
                         });

// The fallback refuses magic links, as RESOLVE_NO_MAGICLINKS does: a
// /proc/<pid>/root link inside the target is read as a plain link to "/",
// which is the target's own root.
TEST(OpenByWalkInRoot, ProcRootLinkIsReRooted) {
  fs::path base = fs::temp_directory_path() /
                  ("entrytrace-magic-" + std::to_string(getpid()));
  fs::remove_all(base);
  write_file(base / "etc/hostname", "inside\n");
  int root_fd = ::open(base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(root_fd, 0);
  fs::create_symlink("/proc/self/root/etc/hostname", base / "escape");

  Result<UniqueFd> file = open_by_walk_in_root(root_fd, "/escape");
  // <base>/proc does not exist, so the link cannot reach the host's /proc.
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().errno_value, ENOENT);
  ::close(root_fd);
  fs::remove_all(base);
}

}  // namespace
}  // namespace entrytrace
