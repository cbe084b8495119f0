// Turns successive readings of the target's processes into observations.
// No I/O: the poller feeds it what it read, so tests feed it snapshots from
// recorded trees.
//
// Identity is (host pid, start ticks). An exec keeps the identity and
// changes the image. A process read between fork and exec still shows its
// parent's image, and one read during exec shows an empty cmdline. Both are
// "not ready" and are read again on later polls before kProcessSeen is
// emitted. So is one read while it exits, before it turns zombie. One still not
// ready after kMaxNotReadyPolls polls, and at least the not-ready time limit
// after its first sight (see set_not_ready_limit_us()), is a fork without exec
// (a pre-fork worker, a subshell) and is emitted as it is.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "common/observation.h"

namespace entrytrace {

// Polls a process may stay not ready before it is emitted as it is.
inline constexpr int kMaxNotReadyPolls = 2;

enum class Readiness {
  kReady,
  // Same exe and argv as the parent had when the process was first seen.
  kParentImage,
  // Empty cmdline while exe is readable.
  kExecInProgress,
  // Empty cmdline and no readable exe: the process is exiting (its memory is
  // gone before it turns zombie), or it is a kernel thread.
  kExiting,
};

// Classifies a reading of a process. parent_image is the parent's image at
// the process's first sight, or null when the parent is not a member and not
// the capturing process.
Readiness assess_readiness(const ProcessImage& image,
                           const ProcessImage* parent_image);

// True when after is a new image of the same identity. The stack start
// (startstack) changes on every exec, so when both readings have it, it
// decides together with exe: an argv change alone is then a title rewrite
// (nginx, postgres), not an exec. Without it (no ptrace access) a change of
// exe or argv is an exec, and a comm change is one when exe is unknown too.
// NOTE: without startstack a title rewrite is taken for an exec, and a
// re-exec of the same program with the same argv is missed.
bool is_exec(const ProcessImage& before, const ProcessImage& after);

// What the tracker holds for one member process.
struct TrackedProcess {
  // Latest full reading.
  ProcessSnapshot latest;
  // Image last emitted in kProcessSeen or kImageChanged.
  ProcessImage emitted_image;
  bool emitted = false;
  bool exited = false;
  int64_t first_seen_us = 0;
  // Parent's image when this process was first seen, for the readiness
  // check; unset when the parent is not a member.
  std::optional<ProcessImage> parent_image;
  // Consecutive not-ready readings (before kProcessSeen, or during an exec
  // of an emitted process).
  int not_ready_polls = 0;
  std::vector<ListeningSocket> sockets;
};

class ProcessTracker {
 public:
  // Names the capturing process by the pid that its children show as their
  // ppid: its own pid, or 0 in a procfs of a namespace it is not in, where a
  // parent outside the namespace reads as ppid 0. A member whose parent it
  // is and that still has its image is a launcher stub held before exec
  // (see launcher.h), so it is not ready like any child between fork and
  // exec.
  void set_capturer(int32_t pid, ProcessImage image) {
    capturer_pid_ = pid;
    capturer_image_ = std::move(image);
  }
  // Sets how long a process may stay not ready before it is emitted as it
  // is, on top of kMaxNotReadyPolls. Polls a few hundred microseconds apart
  // would otherwise give up before a late exec (0.5 to 2 ms after the fork).
  // 0, the default, leaves the poll count alone to decide.
  void set_not_ready_limit_us(int64_t limit_us) {
    not_ready_limit_us_ = limit_us;
  }

  // Feeds a full reading of a member. state is stat's state field. A new
  // start tick for a known pid means the pid was reused: the old process
  // exits and the new one is first seen. ns_pid must be set; ns_ppid is
  // filled from the tracked parent.
  void see(ProcessSnapshot snapshot, char state, int64_t now_us);
  // Counts a poll in which a not-ready process read the same as before, so
  // that the caller need not read it in full again. Emits it as it is once
  // the not-ready limits are reached.
  void see_unchanged(int32_t host_pid, int64_t now_us);
  // The process with this host pid is gone (absent from the listing or its
  // files report ENOENT/ESRCH).
  void vanish(int32_t host_pid, int64_t now_us);
  // Records the complete listening set of an emitted process; emits
  // kSocketsSeen when it changed.
  void set_sockets(int32_t host_pid, std::vector<ListeningSocket> sockets,
                   int64_t now_us);
  // Ends the window: processes still not ready are emitted as they are, so
  // that no live process is left out.
  void finish();

  const TrackedProcess* find(int32_t host_pid) const;
  // Host pids of tracked processes that have not exited.
  std::vector<int32_t> live_pids() const;
  bool has_live_members() const;
  // Host pid of the member whose namespace pid is 1, or 0.
  int32_t init_host_pid() const { return init_host_pid_; }

  // Observations in emission order. kProcessSeen carries the time of first
  // sight, which may be earlier than observations emitted before it, so
  // callers sort by time (stably) before use.
  const std::vector<Observation>& observations() const { return observations_; }
  std::vector<Observation> take_observations();

  // Processes that exited (or turned zombie) while still not ready; they
  // were never emitted.
  int exited_before_ready() const { return exited_before_ready_; }
  // Processes first seen already as zombies; never emitted.
  int zombies_at_first_sight() const { return zombies_at_first_sight_; }

 private:
  void see_new(ProcessSnapshot snapshot, char state, int64_t now_us);
  void see_pending(TrackedProcess& process, ProcessSnapshot snapshot,
                   int64_t now_us);
  void see_emitted(TrackedProcess& process, ProcessSnapshot snapshot,
                   int64_t now_us);
  void mark_exited(TrackedProcess& process, int64_t now_us);
  void fill_parent(ProcessSnapshot& snapshot) const;
  const TrackedProcess* find_parent(const ProcessSnapshot& snapshot) const;
  bool not_ready_limit_reached(const TrackedProcess& process,
                               int64_t now_us) const;
  void emit_seen(TrackedProcess& process);
  void emit(ObservationKind kind, int64_t time_us, const ProcessId& id,
            std::optional<ProcessSnapshot> snapshot = std::nullopt);

  std::optional<int32_t> capturer_pid_;
  ProcessImage capturer_image_;
  int64_t not_ready_limit_us_ = 0;
  std::map<int32_t, TrackedProcess> processes_;
  std::vector<Observation> observations_;
  int32_t init_host_pid_ = 0;
  int exited_before_ready_ = 0;
  int zombies_at_first_sight_ = 0;
};

}  // namespace entrytrace
