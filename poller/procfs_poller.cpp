#include "poller/procfs_poller.h"

#include <unistd.h>

#include <cstring>
#include <utility>

#include "common/log.h"

namespace entrytrace {
namespace {

bool probe_differs(const ImageProbe& probe, const ProcessSnapshot& latest) {
  return probe.stat.state == 'Z' || probe.stat.state == 'X' ||
         probe.stat.start_stack != latest.image.start_stack ||
         probe.stat.comm != latest.image.comm ||
         probe.argv != latest.image.argv;
}

std::string count_phrase(size_t count, const char* singular,
                         const char* plural) {
  return std::to_string(count) + " " + (count == 1 ? singular : plural);
}

}  // namespace

ProcfsPoller::ProcfsPoller(const Target& target, std::string proc_root)
    : reader_(std::move(proc_root)), scope_(target) {
  // The capturing process is absent from a recorded tree; then no member
  // can be its launcher stub.
  Result<PidDirectory> self = reader_.open_pid(getpid());
  if (!self) {
    return;
  }
  Result<ProcessReading> reading = read_process(*self);
  if (reading) {
    tracker_.set_capturer(getpid(), std::move(reading->snapshot.image));
  }
}

Status ProcfsPoller::poll(int64_t now_us) {
  Result<std::vector<PidEntry>> listing = reader_.list_pids();
  if (!listing) {
    ++listing_failures_;
    last_listing_error_ = listing.error().message;
    return listing.error();
  }

  listing_.clear();
  examined_.clear();
  for (const PidEntry& entry : *listing) {
    listing_[entry.pid] = entry.dir_inode;
  }
  forget_vanished(now_us);
  for (const PidEntry& entry : *listing) {
    examine(entry.pid, now_us);
  }
  return Ok{};
}

void ProcfsPoller::forget_vanished(int64_t now_us) {
  for (auto it = pids_.begin(); it != pids_.end();) {
    if (listing_.count(it->first) != 0) {
      ++it;
      continue;
    }
    if (it->second.kind == PidKind::kMember) {
      tracker_.vanish(it->first, now_us);
    }
    it = pids_.erase(it);
  }
}

// Examines one listed pid once per poll. Parents are examined before their
// children (see examine_new), whatever their pid order.
void ProcfsPoller::examine(int32_t pid, int64_t now_us) {
  auto listed = listing_.find(pid);
  if (listed == listing_.end() || !examined_.insert(pid).second) {
    return;
  }
  uint64_t dir_inode = listed->second;

  auto known = pids_.find(pid);
  if (known != pids_.end() && known->second.kind == PidKind::kMember) {
    refresh_member(pid, now_us);
    return;
  }
  // An outsider keeps its namespace for life, so it is examined again only
  // when its directory is new, which means the pid may have been reused.
  if (known != pids_.end() && known->second.dir_inode == dir_inode) {
    return;
  }
  pids_.erase(pid);

  Result<PidDirectory> dir = reader_.open_pid(pid);
  if (!dir) {
    count_read_failure(pid, dir.error());
    return;
  }
  examine_new(pid, *dir, now_us);
}

void ProcfsPoller::examine_new(int32_t pid, const PidDirectory& dir,
                               int64_t now_us) {
  Result<StatusFields> status = read_status(dir);
  if (!status) {
    count_read_failure(pid, status.error());
    return;
  }
  uint64_t dir_inode = listing_[pid];
  if (status->is_thread()) {
    pids_[pid] = PidState{PidKind::kThread, dir_inode};
    return;
  }

  // The parent first, so that its membership and image are known.
  examine(status->ppid, now_us);

  Membership membership = decide_membership(dir, *status, now_us);
  if (membership != Membership::kMember) {
    pids_[pid] = PidState{PidKind::kOutside, dir_inode};
    return;
  }
  pids_[pid] = PidState{PidKind::kMember, dir_inode};
  read_member(dir, now_us);
}

Membership ProcfsPoller::decide_membership(const PidDirectory& dir,
                                           const StatusFields& status,
                                           int64_t now_us) {
  Result<uint64_t> pid_ns = read_namespace(dir, "pid");
  std::optional<uint64_t> known_ns;
  if (pid_ns) {
    known_ns = *pid_ns;
  }
  Membership membership = scope_.decide(dir, status, known_ns);
  if (membership != Membership::kUnknown) {
    return membership;
  }
  return decide_by_ancestry(status, now_us);
}

// Without a readable ns/pid, a process whose NStgid is deep enough is a
// member when its parent is one, because a child is in its parent's PID
// namespace or in one nested in it. setns(2) moves children only down the
// tree.
Membership ProcfsPoller::decide_by_ancestry(const StatusFields& status,
                                            int64_t now_us) {
  if (!scope_.may_be_nested(status)) {
    return Membership::kOutside;
  }
  examine(status.ppid, now_us);
  auto parent = pids_.find(status.ppid);
  if (parent != pids_.end() && parent->second.kind == PidKind::kMember) {
    return Membership::kMember;
  }
  undecided_pids_.insert(status.pid);
  spdlog::debug(
      "pid {}: ns/pid unreadable and parent {} not in the target; "
      "left out",
      status.pid, status.ppid);
  return Membership::kOutside;
}

void ProcfsPoller::read_member(const PidDirectory& dir, int64_t now_us) {
  Result<ProcessReading> reading = read_process(dir);
  if (!reading) {
    if (is_vanished(reading.error())) {
      member_vanished(dir.pid(), now_us);
    } else {
      count_read_failure(dir.pid(), reading.error());
    }
    return;
  }
  ProcessSnapshot& snapshot = reading->snapshot;
  snapshot.ns_pid = scope_.ns_pid(reading->status);
  for (const std::string& message : snapshot.unreadable) {
    note_unreadable(snapshot.id, message);
  }
  tracker_.see(std::move(snapshot), reading->stat.state, now_us);
}

void ProcfsPoller::refresh_member(int32_t pid, int64_t now_us) {
  const TrackedProcess* tracked = tracker_.find(pid);
  uint64_t dir_inode = listing_[pid];
  bool same_directory = pids_[pid].dir_inode == dir_inode;
  if (tracked != nullptr && tracked->exited && same_directory) {
    return;  // a zombie waiting to be reaped
  }
  Result<PidDirectory> dir = reader_.open_pid(pid);
  if (!dir) {
    if (is_vanished(dir.error())) {
      member_vanished(pid, now_us);
    }
    return;
  }

  Result<ImageProbe> probe = probe_image(*dir);
  if (!probe) {
    if (is_vanished(probe.error())) {
      member_vanished(pid, now_us);
    } else {
      count_read_failure(pid, probe.error());
    }
    return;
  }
  pids_[pid].dir_inode = dir_inode;

  if (tracked == nullptr ||
      probe->stat.start_ticks != tracked->latest.id.start_ticks) {
    // A new process behind a known pid: its membership is decided afresh.
    tracker_.vanish(pid, now_us);
    pids_.erase(pid);
    examine_new(pid, *dir, now_us);
    return;
  }
  if (tracked->exited) {
    return;
  }
  if (tracked->emitted && !probe_differs(*probe, tracked->latest)) {
    return;
  }
  read_member(*dir, now_us);
}

void ProcfsPoller::member_vanished(int32_t pid, int64_t now_us) {
  const TrackedProcess* tracked = tracker_.find(pid);
  if (tracked == nullptr) {
    ++vanished_before_read_;
  }
  tracker_.vanish(pid, now_us);
  pids_.erase(pid);
}

void ProcfsPoller::poll_sockets(int64_t now_us) {
  sockets_.begin_round();
  for (int32_t pid : tracker_.live_pids()) {
    const TrackedProcess* tracked = tracker_.find(pid);
    if (tracked == nullptr || !tracked->emitted) {
      continue;
    }
    Result<PidDirectory> dir = reader_.open_pid(pid);
    if (!dir) {
      continue;  // the next poll reports the exit
    }
    // The pid may have been reused since the last poll.
    Result<StatFields> stat = read_stat(*dir);
    if (!stat || stat->start_ticks != tracked->latest.id.start_ticks) {
      continue;
    }
    Result<std::vector<ListeningSocket>> sockets = sockets_.scan(*dir);
    if (!sockets) {
      if (!is_vanished(sockets.error())) {
        note_unreadable(tracked->latest.id, sockets.error().message);
      }
      continue;
    }
    tracker_.set_sockets(pid, std::move(*sockets), now_us);
  }
}

void ProcfsPoller::count_read_failure(int32_t pid, const Error& error) {
  if (is_vanished(error)) {
    ++vanished_before_read_;
    spdlog::debug("pid {} vanished before it could be read: {}", pid,
                  error.message);
    return;
  }
  // Parse errors quote the file text, so they are counted under one key.
  std::string key = error.errno_value == 0
                        ? "stat or status could not be parsed"
                        : error.message;
  read_failures_[key].insert(pid);
  spdlog::debug("pid {} skipped: {}", pid, error.message);
}

// Counts a field that could not be read. ENOENT and ESRCH are left out
// because they come from an exiting process or a kernel thread, not from a
// lack of access.
void ProcfsPoller::note_unreadable(const ProcessId& id,
                                   const std::string& message) {
  for (int vanished : {ENOENT, ESRCH}) {
    if (message.ends_with(std::strerror(vanished))) {
      return;
    }
  }
  if (unreadable_[message].insert(id).second) {
    spdlog::debug("pid {}: {}", id.host_pid, message);
  }
}

std::vector<std::string> ProcfsPoller::diagnostics() const {
  std::vector<std::string> lines;
  int exited_unread = vanished_before_read_ + tracker_.zombies_at_first_sight();
  if (exited_unread > 0) {
    lines.push_back(count_phrase(exited_unread, "process", "processes") +
                    (exited_unread == 1 ? " exited before it could be read"
                                        : " exited before they could be read"));
  }
  if (tracker_.exited_before_ready() > 0) {
    int count = tracker_.exited_before_ready();
    lines.push_back(count_phrase(count, "process", "processes") +
                    " exited before their program could be read (between "
                    "fork and exec, or while exiting) and " +
                    (count == 1 ? "was" : "were") + " not reported");
  }
  for (const auto& [message, processes] : unreadable_) {
    size_t colon = message.find(": ");
    std::string field = message.substr(0, colon);
    std::string reason =
        colon == std::string::npos ? "" : message.substr(colon + 2);
    lines.push_back(field + " unreadable for " +
                    count_phrase(processes.size(), "process", "processes") +
                    ": " + reason);
  }
  for (const auto& [message, pids] : read_failures_) {
    lines.push_back(count_phrase(pids.size(), "pid", "pids") +
                    " skipped: " + message);
  }
  if (!undecided_pids_.empty()) {
    lines.push_back(
        count_phrase(undecided_pids_.size(), "process", "processes") +
        " left out: ns/pid unreadable and no parent in the target namespace");
  }
  if (sockets_.invalid_rows() > 0) {
    lines.push_back(std::to_string(sockets_.invalid_rows()) +
                    " socket table rows could not be parsed");
  }
  if (listing_failures_ > 0) {
    lines.push_back("listing the proc root failed " +
                    count_phrase(listing_failures_, "time", "times") + ": " +
                    last_listing_error_);
  }
  return lines;
}

}  // namespace entrytrace
