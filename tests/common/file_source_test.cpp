// The file sources that detectors read a target's files through: a root
// directory that confines every link, and files kept in a capture.
#include "common/file_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace entrytrace {
namespace {

namespace fs = std::filesystem;

class RootDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("entrytrace-file-source-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "root/etc/hooks.d");
    write(base_ / "outside", "host secret\n");
    write(base_ / "root/etc/app.conf", "port=8080\n");
    write(base_ / "root/etc/hooks.d/20-b.sh", "#!/bin/sh\n");
    write(base_ / "root/etc/hooks.d/10-a.envsh", "A=1\n");
    fs::permissions(base_ / "root/etc/hooks.d/20-b.sh", fs::perms::owner_exec,
                    fs::perm_options::add);
    fs::create_symlink("/../../outside", base_ / "root/etc/escape");
  }
  void TearDown() override { fs::remove_all(base_); }

  static void write(const fs::path& path, const std::string& text) {
    std::ofstream(path) << text;
  }

  fs::path base_;
};

TEST_F(RootDirectoryTest, ReadsListsAndDescribesFiles) {
  auto root = RootDirectory::open(base_ / "root");
  ASSERT_TRUE(root) << root.error().message;

  auto text = root->read("/etc/app.conf", 4);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, "port");

  auto names = root->list("/etc/hooks.d/");
  ASSERT_TRUE(names) << names.error().message;
  EXPECT_EQ(*names, (std::vector<std::string>{"10-a.envsh", "20-b.sh"}));

  auto hook = root->info("/etc/hooks.d/20-b.sh");
  ASSERT_TRUE(hook);
  EXPECT_TRUE(hook->regular);
  EXPECT_TRUE(hook->executable);
  auto env = root->info("/etc/hooks.d/10-a.envsh");
  ASSERT_TRUE(env);
  EXPECT_FALSE(env->executable);
  auto directory = root->info("/etc");
  ASSERT_TRUE(directory);
  EXPECT_TRUE(directory->directory);
}

TEST_F(RootDirectoryTest, EscapingLinkStaysInRoot) {
  auto root = RootDirectory::open(base_ / "root");
  ASSERT_TRUE(root);

  auto text = root->read("/etc/escape", 100);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().errno_value, ENOENT);
}

// A FIFO where a script is expected is described but never opened, so
// neither info() nor read() waits for a writer.
TEST_F(RootDirectoryTest, FifoIsDescribedButNotRead) {
  ASSERT_EQ(::mkfifo((base_ / "root/etc/pipe").c_str(), 0644), 0);
  auto root = RootDirectory::open(base_ / "root");
  ASSERT_TRUE(root);

  auto info = root->info("/etc/pipe");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_FALSE(info->regular);
  EXPECT_FALSE(info->directory);
  auto text = root->read("/etc/pipe", 100);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().errno_value, EINVAL);
}

TEST(RecordedFiles, ListsDirectoriesImpliedByPaths) {
  RecordedFiles files;
  files.add("/etc/a/x", {"x", false});
  files.add("/etc/a-b", {"ab", true});
  files.add("/etc/a/y", {"y", false});

  auto names = files.list("/etc");
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "a-b"}));
  EXPECT_TRUE(files.info("/etc/a")->directory);
  EXPECT_TRUE(files.info("/etc/a-b")->executable);
  EXPECT_EQ(files.read("/missing", 10).error().errno_value, ENOENT);
}

}  // namespace
}  // namespace entrytrace
