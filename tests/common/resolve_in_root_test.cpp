// resolve_in_root() over a tree built in a temporary directory; it runs
// the walk that the fallback resolver of open_in_root() uses:
//
//   root/
//   ├── bin -> usr/bin
//   ├── usr/bin/dash
//   ├── usr/bin/sh -> dash
//   ├── usr/bin/python3 -> /usr/bin/python3.11   (absolute target)
//   ├── usr/bin/python3.11
//   ├── escape -> ../../../../../etc/passwd      (climbs past the root)
//   ├── loop -> loop
//   └── file
#include "common/target_root.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/unique_fd.h"

namespace entrytrace {
namespace {

namespace fs = std::filesystem;

class PathInRootTest : public testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/entrytrace-root-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    fs::create_directories(root_ / "usr/bin");
    std::ofstream(root_ / "usr/bin/dash") << "dash";
    std::ofstream(root_ / "usr/bin/python3.11") << "python";
    std::ofstream(root_ / "file") << "file";
    fs::create_directory_symlink("usr/bin", root_ / "bin");
    fs::create_symlink("dash", root_ / "usr/bin/sh");
    fs::create_symlink("/usr/bin/python3.11", root_ / "usr/bin/python3");
    fs::create_symlink("../../../../../etc/passwd", root_ / "escape");
    fs::create_symlink("loop", root_ / "loop");
    root_fd_ = UniqueFd(::open(root_.c_str(), O_PATH | O_DIRECTORY));
    ASSERT_TRUE(root_fd_.valid());
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
  UniqueFd root_fd_;
};

TEST_F(PathInRootTest, FollowsRelativeLinks) {
  Result<std::string> path = resolve_in_root(root_fd_.get(), "/bin/sh");
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_EQ(*path, "/usr/bin/dash");
}

TEST_F(PathInRootTest, AbsoluteLinkStaysInRoot) {
  Result<std::string> path = resolve_in_root(root_fd_.get(), "/bin/python3");
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_EQ(*path, "/usr/bin/python3.11");
}

TEST_F(PathInRootTest, DotDotStopsAtRoot) {
  Result<std::string> path =
      resolve_in_root(root_fd_.get(), "/../../usr/./bin/../bin/dash");
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_EQ(*path, "/usr/bin/dash");
}

TEST_F(PathInRootTest, EscapingLinkNotFollowedOut) {
  // /etc/passwd exists on the host but not in the root.
  Result<std::string> path = resolve_in_root(root_fd_.get(), "/escape");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.error().errno_value, ENOENT);
}

TEST_F(PathInRootTest, LinkLoopFails) {
  Result<std::string> path = resolve_in_root(root_fd_.get(), "/loop");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.error().errno_value, ELOOP);
}

TEST_F(PathInRootTest, FileAsDirectoryFails) {
  Result<std::string> path = resolve_in_root(root_fd_.get(), "/file/x");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.error().errno_value, ENOTDIR);
}

TEST_F(PathInRootTest, MissingFileNamesPath) {
  Result<std::string> path = resolve_in_root(root_fd_.get(), "/usr/bin/nope");
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.error().message.find("/usr/bin/nope"), std::string::npos);
}

}  // namespace
}  // namespace entrytrace
