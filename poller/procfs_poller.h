// The procfs backend's reads, apart from timing. Three passes find new
// processes, execs and exits:
//   - list(): lists the proc root, reads new pids in full and ends members
//     whose pid is gone;
//   - probe(): opens given pids by number, for a tick that read from the
//     pid counter which pids were allocated (see pid_counter.h);
//   - refresh(): re-reads the stat and cmdline of members whose read
//     schedule is due (see read_schedule.h) and reads a changed one in full.
// Time is passed in, so tests drive passes by hand over recorded trees.
#pragma once

#include <cstdint>
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
#include "poller/process_tracker.h"
#include "poller/read_schedule.h"
#include "poller/scope.h"

namespace entrytrace {

// How long a process may show its parent's image or an empty cmdline before
// it is reported as it is (a fork without exec). An exec normally comes
// within 2 ms of the fork; this leaves room for a loaded machine.
inline constexpr int64_t kNotReadyLimitUs = 25'000;

// The most pids that probe_listing_gaps() opens after one listing. A larger
// gap (a burst of forks between two listings) is left unopened and counted
// in the diagnostics.
inline constexpr int32_t kMaxGapProbe = 256;

// Members whose stat and cmdline stay open between reads. Each costs two
// descriptors; members beyond this are read by opening their files anew.
inline constexpr size_t kMaxHeldProcesses = 256;

class ProcfsPoller {
 public:
  ProcfsPoller(const Target& target, std::string proc_root,
               ReadScheduleParams schedule = {});

  // list() then refresh(): one complete poll, as a tick without a pid
  // counter does it.
  Status poll(int64_t now_us);
  // Lists the proc root and examines pids not seen before or whose
  // directory changed. Returns an Error only when the listing fails;
  // per-process failures are counted.
  Status list(int64_t now_us);
  // Examines pids first..last (inclusive), which the pid counter reported
  // as allocated since the last tick. A pid already gone is counted in
  // probe_vanished(); a thread or a process outside the target is not.
  void probe(int32_t first, int32_t last, int64_t now_us);
  // Makes every later list() open by number the pids that the listing
  // skipped below its highest pid, as probe() does (see
  // probe_listing_gaps()). Only for a procfs of the target's namespace,
  // whose pids one namespace allocates in order. highest_allocated is a pid
  // known to be allocated before the next listing, or 0 to take that
  // listing's highest.
  void probe_gaps_after(int32_t highest_allocated);
  // Re-reads the members whose schedule is due at now_us.
  void refresh(int64_t now_us);
  // Reads the listening sockets of the reported members whose socket
  // schedule is due (see SocketSchedule in read_schedule.h).
  // every_member scans all reported members, as at the end of the window.
  void poll_sockets(int64_t now_us, bool every_member = false);
  // Ends the window: emits processes still not ready as they are.
  void finish() { tracker_.finish(); }
  // Names the capturing process for a proc root that does not show it (see
  // ProcessTracker::set_capturer()); the constructor does it otherwise.
  void set_capturer(int32_t pid, ProcessImage image) {
    tracker_.set_capturer(pid, std::move(image));
  }

  // True while a live member is read on every tick.
  bool any_hot() const;
  bool has_live_members() const { return tracker_.has_live_members(); }
  int32_t init_host_pid() const { return tracker_.init_host_pid(); }
  const ProcessTracker& tracker() const { return tracker_; }
  std::vector<Observation> take_observations() {
    return tracker_.take_observations();
  }

  // Pids opened by probe(), and those of them already gone (reaped) when
  // opened: a lower bound of the short-lived tasks that could not be read.
  // From the host the probed pids include every namespace's tasks, so a
  // vanished pid may belong to another container or be a thread.
  int64_t probed_pids() const { return probed_pids_; }
  int64_t probe_vanished() const { return probe_vanished_; }
  // Sentences counting what could not be read, for Capture::diagnostics.
  std::vector<std::string> diagnostics() const;

 private:
  enum class PidKind { kMember, kOutside, kThread };
  struct PidState {
    PidKind kind = PidKind::kOutside;
    uint64_t dir_inode = 0;
  };
  // Per-member state kept between reads.
  struct MemberState {
    ReadSchedule schedule;
    std::optional<PidDirectory> dir;
    std::optional<HeldImageFiles> files;
    SocketSchedule sockets;
  };
  // Why a pid is examined; decides whether its loss counts as a miss.
  enum class Reason { kListed, kProbed, kParent };

  void forget_vanished(int64_t now_us);
  void probe_listing_gaps(int32_t highest, int64_t now_us);
  void examine(int32_t pid, Reason reason, int64_t now_us);
  void recheck_identity(int32_t pid, PidDirectory dir, uint64_t dir_inode,
                        int64_t now_us);
  void examine_new(PidDirectory dir, uint64_t dir_inode, Reason reason,
                   int64_t now_us);
  Membership decide_membership(const PidDirectory& dir,
                               const StatusFields& status, int64_t now_us);
  Membership decide_by_ancestry(const PidDirectory& dir,
                                const StatusFields& status, int64_t now_us);
  bool member_is_current(int32_t pid) const;
  bool started_after(const PidDirectory& dir, int32_t parent_pid) const;
  void read_member(const PidDirectory& dir, int64_t now_us);
  void refresh_member(int32_t pid, int64_t now_us, int64_t cap_us);
  void note_due(const ReadSchedule& schedule);
  Result<std::vector<ListeningSocket>> scan_sockets(int32_t pid,
                                                    const MemberState& member,
                                                    const ProcessId& id);
  void wake_parent(int32_t ppid, int64_t now_us);
  Result<ImageProbe> probe_member(int32_t pid, MemberState& member);
  void hold_files(MemberState& member, PidDirectory dir);
  void release_files(MemberState& member);
  void member_vanished(int32_t pid, int64_t now_us);
  void count_read_failure(int32_t pid, const Error& error, Reason reason);
  void note_unreadable(const ProcessId& id, const std::string& message);
  void add_scope_diagnostics(std::vector<std::string>& lines) const;
  void attribute_by_uid(const std::vector<int32_t>& pids, int64_t now_us);
  std::set<uint64_t> sockets_found_by_fd() const;
  std::optional<int32_t> common_ancestor(
      const std::vector<int32_t>& pids) const;
  bool descends_from(int32_t pid, int32_t ancestor) const;

  ProcReader reader_;
  NamespaceScope scope_;
  ProcessTracker tracker_;
  ListeningSocketScanner sockets_;
  ReadScheduleParams schedule_params_;
  std::map<int32_t, PidState> pids_;
  std::map<int32_t, MemberState> members_;
  size_t held_processes_ = 0;
  // No member is due before this time, so refresh() skips earlier ticks
  // without looking at each member. Lowered whenever a schedule moves
  // earlier outside refresh().
  int64_t earliest_due_us_ = 0;
  bool any_hot_ = false;

  // The current listing (pid -> d_ino) while list() runs, and the pids
  // examined in the current pass.
  std::map<int32_t, uint64_t> listing_;
  bool listing_active_ = false;
  std::set<int32_t> examined_;

  // Set by probe_gaps_after(): the highest pid known to be allocated.
  bool gap_probes_ = false;
  std::optional<int32_t> highest_allocated_;
  int64_t gap_pids_skipped_ = 0;

  int listing_failures_ = 0;
  std::string last_listing_error_;
  int vanished_before_read_ = 0;
  int64_t probed_pids_ = 0;
  int64_t probe_vanished_ = 0;
  std::set<int32_t> undecided_pids_;
  // Listening sockets left unattributed by attribute_by_uid(), described,
  // -> the number of candidate processes.
  std::map<std::string, size_t> ambiguous_sockets_;
  // Error message ("exe: Permission denied") -> processes it happened to.
  std::map<std::string, std::set<ProcessId>> unreadable_;
  // Pids whose stat or status could not be read, by error message.
  std::map<std::string, std::set<int32_t>> read_failures_;
};

}  // namespace entrytrace
