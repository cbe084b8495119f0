// Starts a command as pid 1 of new PID, mount and network namespaces, held
// before its first exec until capture is running.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace entrytrace {

struct LaunchOptions {
  std::vector<std::string> argv;
  // Give the command its own network namespace with loopback up. Off means
  // it shares the caller's network.
  bool new_network = true;
};

// A command started in new namespaces. The child waits in a stub before
// exec until release() is called. Destroying a LaunchedTree that was not
// kept stops the tree.
class LaunchedTree {
 public:
  LaunchedTree() = default;
  LaunchedTree(LaunchedTree&& other) noexcept;
  LaunchedTree& operator=(LaunchedTree&& other) noexcept;
  LaunchedTree(const LaunchedTree&) = delete;
  LaunchedTree& operator=(const LaunchedTree&) = delete;
  ~LaunchedTree();

  // Host pid of the namespace's pid 1.
  int32_t host_pid() const { return pid_; }
  // Lets the child exec the command.
  Status release();
  // SIGTERM to the namespace's pid 1, then SIGKILL after the grace period.
  // Returns once the child is reaped.
  void stop(std::chrono::milliseconds grace);
  // Leaves the tree running when this object is destroyed.
  void keep() { kept_ = true; }

 private:
  friend Result<LaunchedTree> launch(const LaunchOptions& options);
  int32_t pid_ = 0;
  int release_fd_ = -1;
  // Read end of the pipe on which the child reports a failed set-up step or
  // exec; end of file means the exec succeeded.
  int status_fd_ = -1;
  // argv[0], for error messages.
  std::string command_;
  bool kept_ = false;
};

// Needs CAP_SYS_ADMIN. Returns an Error when a namespace cannot be created
// or the command cannot be started.
Result<LaunchedTree> launch(const LaunchOptions& options);

}  // namespace entrytrace
