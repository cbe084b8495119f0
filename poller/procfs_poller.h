// One poll of the procfs backend, apart from timing: list the proc root,
// decide membership of new pids, re-read members to find execs and exits,
// and read listening sockets. Time is passed in, so tests drive polls by
// hand over recorded trees.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/observation.h"
#include "common/result.h"
#include "poller/capture.h"
#include "poller/listening_sockets.h"
#include "poller/proc_reader.h"
#include "poller/process_tracker.h"
#include "poller/scope.h"

namespace entrytrace {

class ProcfsPoller {
 public:
  ProcfsPoller(const Target& target, std::string proc_root);

  // Lists the proc root and reads what changed. Returns an Error only when
  // the listing fails; per-process failures are counted.
  Status poll(int64_t now_us);
  // Reads the listening sockets of every reported member.
  void poll_sockets(int64_t now_us);
  // Ends the window: emits processes still not ready as they are.
  void finish() { tracker_.finish(); }

  bool has_live_members() const { return tracker_.has_live_members(); }
  int32_t init_host_pid() const { return tracker_.init_host_pid(); }
  const ProcessTracker& tracker() const { return tracker_; }
  std::vector<Observation> take_observations() {
    return tracker_.take_observations();
  }
  // Sentences counting what could not be read, for Capture::diagnostics.
  std::vector<std::string> diagnostics() const;

 private:
  enum class PidKind { kMember, kOutside, kThread };
  struct PidState {
    PidKind kind = PidKind::kOutside;
    uint64_t dir_inode = 0;
  };

  void forget_vanished(int64_t now_us);
  void examine(int32_t pid, int64_t now_us);
  void examine_new(int32_t pid, const PidDirectory& dir, int64_t now_us);
  void refresh_member(int32_t pid, int64_t now_us);
  Membership decide_membership(const PidDirectory& dir,
                               const StatusFields& status, int64_t now_us);
  Membership decide_by_ancestry(const StatusFields& status, int64_t now_us);
  void read_member(const PidDirectory& dir, int64_t now_us);
  void member_vanished(int32_t pid, int64_t now_us);
  void count_read_failure(int32_t pid, const Error& error);
  void note_unreadable(const ProcessId& id, const std::string& message);

  ProcReader reader_;
  NamespaceScope scope_;
  ProcessTracker tracker_;
  ListeningSocketScanner sockets_;
  std::map<int32_t, PidState> pids_;

  // The current poll's listing (pid -> d_ino) and the pids done in it.
  std::map<int32_t, uint64_t> listing_;
  std::set<int32_t> examined_;

  int listing_failures_ = 0;
  std::string last_listing_error_;
  int vanished_before_read_ = 0;
  std::set<int32_t> undecided_pids_;
  // Error message ("exe: Permission denied") -> processes it happened to.
  std::map<std::string, std::set<ProcessId>> unreadable_;
  // Pids whose stat or status could not be read, by error message.
  std::map<std::string, std::set<int32_t>> read_failures_;
};

}  // namespace entrytrace
