// Capture backends and the target they watch.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/observation.h"
#include "common/result.h"

namespace entrytrace {

// The PID namespace to watch, resolved from a process inside it.
struct Target {
  std::string description;
  // Host pid of the process the target was named by.
  int32_t host_pid = 0;
  // Inode of that process's PID namespace (/proc/<pid>/ns/pid) and its depth
  // (number of NStgid entries minus one).
  uint64_t pid_ns = 0;
  int pid_ns_depth = 0;
};

// Resolves the target named by a host pid. Returns an Error naming the pid
// when it does not exist or its namespace cannot be read.
Result<Target> resolve_target(const std::string& proc_root, int32_t host_pid);

struct CaptureOptions {
  std::chrono::microseconds window = std::chrono::seconds(3);
  std::chrono::microseconds interval = std::chrono::milliseconds(10);
  // Root of the procfs to read; tests point it at trees in fixtures/.
  std::string proc_root = "/proc";
  // Set from a signal handler to end the window early; the capture still
  // returns what it saw.
  const std::atomic<bool>* stop = nullptr;
  // Called once, after the first full scan of the target, so that a
  // launcher can let its child exec with capture already running.
  std::function<void()> on_first_scan;
};

// A source of observations. The procfs poller is the default and the
// reference; faster engines and kernel-event backends implement the same
// interface.
class CaptureBackend {
 public:
  virtual ~CaptureBackend() = default;
  virtual std::string name() const = 0;
  // Watches the target for the window and returns everything it observed.
  // Fails only when nothing at all could be read; partial reads become
  // diagnostics in the Capture.
  virtual Result<Capture> capture(const Target& target,
                                  const CaptureOptions& options) = 0;
};

std::unique_ptr<CaptureBackend> make_procfs_backend();

}  // namespace entrytrace
