// A proc root for tests that points at one recorded tree under
// fixtures/proc and can be switched to the next state of the same story,
// as a live procfs changes between polls.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace entrytrace {

inline std::string fixture_tree(const std::string& name) {
  return std::string(ENTRYTRACE_FIXTURES) + "/proc/" + name;
}

class FixtureRoot {
 public:
  explicit FixtureRoot(const std::string& tree) {
    char pattern[] = "/tmp/entrytrace-proc-XXXXXX";
    directory_ = mkdtemp(pattern);
    root_ = directory_ + "/proc";
    switch_to(tree);
  }
  ~FixtureRoot() {
    unlink(root_.c_str());
    rmdir(directory_.c_str());
  }
  FixtureRoot(const FixtureRoot&) = delete;
  FixtureRoot& operator=(const FixtureRoot&) = delete;

  const std::string& path() const { return root_; }

  // Points the root at another tree, atomically.
  void switch_to(const std::string& tree) {
    std::string next = directory_ + "/next";
    unlink(next.c_str());
    if (symlink(fixture_tree(tree).c_str(), next.c_str()) != 0 ||
        rename(next.c_str(), root_.c_str()) != 0) {
      std::perror("FixtureRoot::switch_to");
    }
  }

 private:
  std::string directory_;
  std::string root_;
};

}  // namespace entrytrace
