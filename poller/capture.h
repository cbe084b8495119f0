// Capture backends and the target they watch.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/observation.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "poller/cgroup_target.h"

namespace entrytrace {

// A cgroup condition on top of PID namespace membership, for a target named
// by container id or cgroup path: a PID namespace can hold processes of
// several containers (a pod with shareProcessNamespace, the host).
struct CgroupFilter {
  // Full container id (64 hex digits), or empty when queries is used.
  std::string container_id;
  // Readings of the cgroup path (resolve_cgroup_path()); a process matches
  // when one of them matches.
  std::vector<CgroupQuery> queries;
};

// The PID namespace to watch, resolved from a process inside it.
struct Target {
  std::string description;
  // Host pid of the process the target was named by.
  int32_t host_pid = 0;
  // Inode of that process's PID namespace (/proc/<pid>/ns/pid) and its depth
  // (number of NStgid entries minus one). pid_ns is 0 when ns/pid was
  // unreadable (no ptrace access): membership is then decided by ancestry
  // from seed_pid.
  uint64_t pid_ns = 0;
  int pid_ns_depth = 0;
  // An open descriptor of the ns/pid file behind pid_ns, shared by copies of
  // the Target. It keeps the namespace, and so its inode number, alive,
  // because the kernel gives a freed namespace's number to the next
  // namespace made anywhere. Null when pid_ns is 0, for a recorded tree, and
  // when the process exited before its ns/pid could be opened.
  std::shared_ptr<const UniqueFd> pid_ns_pin;
  // With pid_ns 0: the host pid of the oldest ancestor of host_pid found in
  // the same PID namespace (its pid 1 when visible), and its start time in
  // clock ticks after boot. The process with that pid and start time, and
  // its descendants at the target's depth or below, are members.
  int32_t seed_pid = 0;
  uint64_t seed_start_ticks = 0;
  // When set, a process of the namespace is a member only if its
  // /proc/<pid>/cgroup matches. The file is read once, when the process is
  // first seen, because a child inherits its parent's cgroup.
  std::optional<CgroupFilter> cgroup_filter;
  // Pid (as listed in the proc root) of the capturing process when it is
  // inside the target, as a sidecar sharing the PID namespace is. That
  // process and its descendants are never members. 0 when it is outside.
  int32_t excluded_pid = 0;
  // True when the proc root is a procfs of the target's own PID namespace
  // (see proc_view.h). The kernel then lists only the target's processes
  // and those of namespaces nested in it, every pid of the proc root is a
  // target-namespace pid, and pid_ns_depth is 0.
  bool proc_in_target_ns = false;
  // False when the pids inside the target's namespace cannot be known:
  // status has no NStgid line (kernels before 4.1, or kForceNoNstgidEnv)
  // and the target is not the PID namespace of the proc root. Namespace
  // pids are then reported as 0.
  bool ns_pids_known = true;
};

// Resolves the target named by a host pid. Returns an Error naming the pid
// when it does not exist or its namespace cannot be read.
Result<Target> resolve_target(const std::string& proc_root, int32_t host_pid);

// Process events of the host, read between the procfs engine's ticks so
// that a fork or exec in the target is read at once instead of at the next
// tick. Pids are host pids.
struct ProcessEvents {
  struct Fork {
    int32_t parent_pid = 0;
    int32_t child_pid = 0;
  };
  std::vector<Fork> forks;
  std::vector<int32_t> execs;
  // Events were dropped (the receive buffer overran), so /proc is to be
  // listed again.
  bool lost = false;
};

// A source of ProcessEvents: the proc connector (make_netlink_backend()).
class ProcessEventSource {
 public:
  virtual ~ProcessEventSource() = default;
  // A descriptor that polls readable while events are queued.
  virtual int fd() const = 0;
  // Reads every queued event without blocking. An Error is a failure of the
  // source itself; lost events are reported in ProcessEvents::lost.
  virtual Result<ProcessEvents> drain() = 0;
};

// Periods of the procfs backend's steady-state reads, apart from the tick.
// They set most of its cost on a tree that does not change. `--low-cost`
// lengthens all four.
struct PollPeriods {
  // Cap of the backoff between re-reads of stat and cmdline of a process
  // that is not hot (read_schedule.h). A later exec of a long-lived process
  // is seen at most this long after it happened.
  std::chrono::microseconds reread_cap = std::chrono::milliseconds(150);
  // Spacing of socket rounds, and the first spacing of one process's fd/
  // reads for listening sockets after it started or exec'd.
  std::chrono::microseconds socket_period = std::chrono::milliseconds(50);
  // Cap of the backoff between fd/ reads of one process while its sockets
  // stay the same: a listener opened later is found at most this late.
  std::chrono::microseconds socket_cap = std::chrono::seconds(1);
  // Full listings of the proc root while the pid counter works, as a net
  // for what the counter cannot show (a wrap back onto the same value).
  std::chrono::microseconds safety_listing = std::chrono::milliseconds(100);
};

struct CaptureOptions {
  std::chrono::microseconds window = std::chrono::seconds(3);
  // Tick length while no process is hot (see read_schedule.h): the delay
  // before a new pid is noticed. Every tick costs a wake-up of 25 to 35 us
  // of CPU, so this sets most of the capture's CPU cost.
  std::chrono::microseconds interval = std::chrono::microseconds(600);
  // Tick length while a process is hot. Never longer than interval.
  std::chrono::microseconds hot_interval = std::chrono::microseconds(300);
  PollPeriods periods;
  // Run the capture thread with SCHED_FIFO during the window when
  // CAP_SYS_NICE (or RLIMIT_RTPRIO) allows, so that ticks wake on time on a
  // busy machine.
  bool realtime = true;
  int realtime_priority = 5;
  // Root of the procfs to read; tests point it at trees in fixtures/.
  std::string proc_root = "/proc";
  // Read proc_root filtered by namespace inode even where a procfs scoped
  // to the target could be opened, so that the capture has host pids.
  bool host_pids = false;
  // Set from a signal handler to end the window early; the capture still
  // returns what it saw.
  const std::atomic<bool>* stop = nullptr;
  // Called once, after the first full scan of the target, so that a
  // launcher can let its child exec with capture already running.
  std::function<void()> on_first_scan;
  // When set, the procfs backend waits for its next tick with ppoll on
  // events->fd() and reads the target's forks and execs as they arrive. Not
  // owned; it outlives the capture() call.
  ProcessEventSource* events = nullptr;
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
// The proc connector as a wake-up source of the procfs engine (backend name
// "netlink+procfs"): needs CAP_NET_ADMIN and the initial PID and network
// namespaces.
Result<std::unique_ptr<CaptureBackend>> make_netlink_backend();
#if ENTRYTRACE_WITH_EBPF
// eBPF on tp_btf tracepoints: needs CAP_BPF and CAP_PERFMON (or
// CAP_SYS_ADMIN) and kernel BTF. Built with -DENTRYTRACE_WITH_EBPF=ON.
Result<std::unique_ptr<CaptureBackend>> make_ebpf_backend();
#endif

}  // namespace entrytrace
