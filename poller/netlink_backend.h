// Capture driven by kernel process events. Two backends deliver the events:
// the proc connector (netlink, always built, see make_netlink_backend()) and
// eBPF (built with ENTRYTRACE_WITH_EBPF, see poller/ebpf/ebpf_backend.cpp).
// Both feed an EventCapture, which turns fork, exec and exit events and
// /proc readings into the observations the procfs poller emits for the same
// processes, so the graph built from either is the same.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/observation.h"
#include "common/result.h"
#include "poller/capture.h"
#include "poller/listening_sockets.h"
#include "poller/proc_reader.h"
#include "poller/scope.h"

namespace entrytrace {

// CLOCK_MONOTONIC in nanoseconds: the clock of proc connector timestamps and
// of bpf_ktime_get_ns().
uint64_t monotonic_ns();

// One capture window of an event backend. Times are CLOCK_MONOTONIC
// nanoseconds; observations carry microseconds since the window started.
//
// Rules shared with the procfs poller: a child that still runs its parent's
// image (between fork and exec) is held back and first seen with the image
// it execs. One that has not exec'd after the hold limit, or that forks a
// member of its own, is seen with its parent's image. One that exits while
// held back is counted, not reported.
class EventCapture {
 public:
  EventCapture(const Target& target, const CaptureOptions& options,
               std::string backend);

  const Target& target() const { return target_; }
  const CaptureOptions& options() const { return options_; }
  const ProcReader& reader() const { return reader_; }
  uint64_t start_ns() const { return start_ns_; }
  bool stop_requested() const;
  // True once the window has ended at now_ns.
  bool window_over(uint64_t now_ns) const;
  bool has_live_members() const;

  // Walks the proc root once. Members not tracked yet are read and seen,
  // tracked ones whose pid is gone or reused exit, and a tracked one whose
  // argv or comm changed gets a new image. Returns an Error only when the
  // listing fails.
  Status scan();

  // Reads a live process from /proc when it is a member of the target.
  // Returns nothing for a thread, an outsider or a vanished pid (counted).
  struct Reading {
    ProcessSnapshot snapshot;
    char state = '?';
  };
  std::optional<Reading> read_member(int32_t host_pid);
  // The identity of a tracked member that has not exited, or nothing.
  std::optional<ProcessId> live_member(int32_t host_pid) const;

  // A new process. read_ns is set when the snapshot was read from /proc at
  // that time. Without it the snapshot comes from the event and its image is
  // replaced by the tracked parent's, which the child runs until it execs.
  void on_fork(ProcessSnapshot child, uint64_t event_ns,
               std::optional<uint64_t> read_ns);
  // A completed exec. read_ns is when the snapshot was taken: an event older
  // than the process's latest reading is already reflected in it.
  void on_exec(ProcessSnapshot snapshot, uint64_t event_ns, uint64_t read_ns);
  void on_exit(int32_t host_pid, uint64_t event_ns);

  // Releases children held back past the hold limit and reads listening
  // sockets when they are due. Call at least every interval.
  void tick(uint64_t now_ns);
  // Counts a field that could not be read, for the diagnostics.
  void note_unreadable(const ProcessId& id, const std::string& message);
  void add_diagnostic(std::string line) {
    diagnostics_.push_back(std::move(line));
  }
  void add_evidence(std::string line) { evidence_.push_back(std::move(line)); }

  // Ends the window: held-back processes are seen as they are, sockets are
  // read once more and the Capture is assembled.
  Capture finish(uint64_t now_ns);

 private:
  struct Tracked {
    ProcessSnapshot latest;
    bool emitted = false;
    bool exited = false;
    // Held back: still in its parent's image (or the launcher stub).
    bool held = false;
    uint64_t first_seen_ns = 0;
    // Time of the event or reading that latest reflects.
    uint64_t known_since_ns = 0;
    // The /proc reading at the fork already showed an exec'd image, so the
    // exec event that follows is absorbed when it shows the same image.
    bool exec_read_early = false;
    std::vector<ListeningSocket> sockets;
  };

  int64_t window_us(uint64_t ns) const;
  void emit(ObservationKind kind, uint64_t ns, const ProcessId& id,
            std::optional<ProcessSnapshot> snapshot = std::nullopt);
  void emit_seen(Tracked& process);
  void add_process(ProcessSnapshot snapshot, uint64_t seen_ns,
                   uint64_t known_ns, bool from_fork);
  void mark_exited(Tracked& process, uint64_t ns);
  void fill_parent(ProcessSnapshot& snapshot) const;
  const Tracked* find_live(int32_t host_pid) const;
  Tracked* find_live(int32_t host_pid);
  bool is_launcher_stub(const ProcessSnapshot& snapshot) const;
  // True when the target has conditions on top of its namespace (a cgroup,
  // or entrytrace itself left out), which the kernel-side filter of an
  // event backend does not apply.
  bool filtering() const {
    return target_.cgroup_filter.has_value() || target_.excluded_pid != 0;
  }
  bool leave_out_child(int32_t pid, int32_t parent_pid);
  bool is_kernel_thread(const PidDirectory& dir) const;
  void scan_member(const PidDirectory& dir, const StatFields& stat,
                   uint64_t now_ns);
  void mark_exe_if_changed(const PidDirectory& dir, const StatFields& stat,
                           ProcessSnapshot& snapshot);
  void read_sockets(uint64_t now_ns);
  void read_user_names(bool final_read);
  void count_vanished(int32_t pid, const Error& error);
  std::vector<std::string> summary_lines() const;

  Target target_;
  const CaptureOptions& options_;
  std::string backend_;
  ProcReader reader_;
  NamespaceScope scope_;
  ListeningSocketScanner sockets_;
  uint64_t start_ns_ = 0;
  uint64_t window_start_ticks_ = 0;
  uint64_t ticks_per_second_ = 100;
  uint64_t hold_limit_ns_ = 0;
  uint64_t next_socket_round_ns_ = 0;

  int32_t capturer_pid_ = 0;
  ProcessImage capturer_image_;
  std::map<int32_t, Tracked> processes_;
  // Pid -> inode of its /proc directory, for processes outside the target.
  std::map<int32_t, uint64_t> outsiders_;
  // Live processes of the target namespace that its conditions left out.
  // Their children are left out by lineage, even when they exit before
  // /proc can be read.
  std::set<int32_t> left_out_;
  int left_out_children_ = 0;
  // Kernel threads listed for a depth-0 target. A fork event whose child is
  // gone before it is read is left out when its parent is one of them.
  std::set<int32_t> kernel_threads_;
  std::vector<Observation> observations_;
  int32_t init_host_pid_ = 0;

  std::map<uint32_t, std::string> user_names_;
  std::string passwd_error_;
  std::vector<std::string> evidence_;
  std::vector<std::string> diagnostics_;
  std::map<std::string, std::set<ProcessId>> unreadable_;
  int vanished_before_read_ = 0;
  int exited_while_held_ = 0;
  int listing_failures_ = 0;
  int exe_unknown_changed_ = 0;
  bool first_scan_done_ = false;
};

// Waits up to timeout_ms for events and feeds them to the capture. An Error
// is recorded in the diagnostics and the window goes on.
using EventPump = std::function<Status(EventCapture&, int timeout_ms)>;

// Inode of the initial PID namespace, fixed by the kernel
// (PROC_PID_INIT_INO in include/linux/proc_ns.h).
inline constexpr uint64_t kInitialPidNamespaceInode = 0xEFFFFFFCU;

// True when this process runs in the initial PID namespace. The proc
// connector and the eBPF programs report pids of that namespace, which a
// process in a nested one cannot map to its own /proc.
bool in_initial_pid_namespace();

// Maximum wait in one pump call, so that the stop flag, held-back children
// and socket rounds are checked often enough.
inline constexpr int64_t kMaxWaitUs = 10'000;

// Runs one window: seeds from a scan of the proc root, calls on_first_scan,
// then pumps events until the window ends, the target namespace empties or a
// stop is requested. Returns an Error when the seed scan fails or finds no
// member.
Result<Capture> run_event_capture(EventCapture& capture, const EventPump& pump);

}  // namespace entrytrace
