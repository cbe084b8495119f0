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
  // Tick length while no process is hot (see read_schedule.h): the delay
  // before a new pid is noticed. Every tick costs a wake-up of 25 to 35 us
  // of CPU, so this sets most of the capture's CPU cost.
  std::chrono::microseconds interval = std::chrono::microseconds(600);
  // Tick length while a process is hot. Never longer than interval.
  std::chrono::microseconds hot_interval = std::chrono::microseconds(300);
  // Run the capture thread with SCHED_FIFO during the window when
  // CAP_SYS_NICE (or RLIMIT_RTPRIO) allows, so that ticks wake on time on a
  // busy machine.
  bool realtime = true;
  int realtime_priority = 5;
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

// Kernel-event backends. Each sets up its kernel side when made (subscribes,
// or loads and attaches programs) and returns an Error naming the step that
// failed, so that a caller can fall back before capture starts.
// The proc connector: needs CAP_NET_ADMIN and the initial PID and network
// namespaces.
Result<std::unique_ptr<CaptureBackend>> make_netlink_backend();
#if ENTRYTRACE_WITH_EBPF
// eBPF on tp_btf tracepoints: needs CAP_BPF and CAP_PERFMON (or
// CAP_SYS_ADMIN) and kernel BTF. Built with -DENTRYTRACE_WITH_EBPF=ON.
Result<std::unique_ptr<CaptureBackend>> make_ebpf_backend();
#endif

}  // namespace entrytrace
