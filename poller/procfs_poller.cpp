#include "poller/procfs_poller.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <utility>

#include "common/log.h"
#include "common/phrases.h"
#include "poller/pid_counter.h"

namespace entrytrace {
namespace {

// True when stat of dir shows PF_KTHREAD. An unreadable or unparsable stat
// counts as not a kernel thread, so the process is examined as usual.
bool is_kernel_thread(const PidDirectory& dir) {
  Result<std::string> text = dir.read_file("stat");
  if (!text) {
    return false;
  }
  Result<StatFields> stat = parse_stat(*text);
  return stat && stat->is_kernel_thread();
}

// Reads of a process caught between the two stack-start assignments of
// the ELF loader before the stack start is taken as final.
constexpr int kUnsettledStackRereads = 3;

// Returns the stack start, or 0 (unknown) while an exec is finishing. The
// ELF loader sets startstack twice: first to the argument strings (any
// alignment), then, after it wrote argv and auxv, to the final stack
// pointer, which is 16-byte aligned (STACK_ROUND in fs/binfmt_elf.c).
// cmdline is already readable in between, so a reading there would
// otherwise look like a second exec once the final value is set.
// NOTE: a transient value that happens to be aligned (1 in 16) passes.
uint64_t settled_stack(uint64_t start_stack) {
  return start_stack % 16 == 0 ? start_stack : 0;
}

bool probe_differs(const ImageProbe& probe, const ProcessSnapshot& latest) {
  return probe.stat.state == 'Z' || probe.stat.state == 'X' ||
         settled_stack(probe.stat.start_stack) != latest.image.start_stack ||
         probe.stat.comm != latest.image.comm ||
         probe.argv != latest.image.argv;
}

}  // namespace

ProcfsPoller::ProcfsPoller(const Target& target, std::string proc_root,
                           ReadScheduleParams schedule)
    : reader_(std::move(proc_root)),
      scope_(target),
      schedule_params_(schedule) {
  tracker_.set_not_ready_limit_us(kNotReadyLimitUs);
  // A procfs of the target's namespace does not show the capturing process,
  // and its pid there may be another process's; the caller names it with
  // set_capturer().
  if (target.proc_in_target_ns) {
    return;
  }
  // The capturing process is absent from a recorded tree; then no member
  // can be its launcher stub. Its pid in the proc root differs from
  // getpid() when the proc root is an ancestor namespace's procfs.
  Result<int32_t> own_pid = read_own_pid(reader_.proc_root());
  if (!own_pid) {
    return;
  }
  Result<PidDirectory> self = reader_.open_pid(*own_pid);
  if (!self) {
    return;
  }
  Result<ProcessReading> reading = read_process(*self);
  if (reading) {
    tracker_.set_capturer(*own_pid, std::move(reading->snapshot.image));
  }
}

Status ProcfsPoller::poll(int64_t now_us) {
  Status listed = list(now_us);
  if (!listed) {
    return listed;
  }
  refresh(now_us);
  return Ok{};
}

Status ProcfsPoller::list(int64_t now_us) {
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

  listing_active_ = true;
  for (const PidEntry& entry : *listing) {
    examine(entry.pid, Reason::kListed, now_us);
  }
  listing_active_ = false;
  if (gap_probes_) {
    probe_listing_gaps(listing->empty() ? 0 : listing->back().pid, now_us);
  }
  return Ok{};
}

void ProcfsPoller::probe_gaps_after(int32_t highest_allocated) {
  gap_probes_ = true;
  if (highest_allocated > 0) {
    highest_allocated_ = highest_allocated;
  }
}

// Pids are allocated in increasing order in one namespace, so the pids
// between the previous highest and this listing's highest that the listing
// lacks were allocated since: threads, or processes that exited before
// they could be listed, or, rarely, a process that forked while the listing
// passed its number. Each is opened by number, as probe() does, so that the
// exited ones are counted.
// NOTE: after the namespace's pids wrap around at pid_max, new pids are
// below the highest and their gaps are not probed until they pass it.
void ProcfsPoller::probe_listing_gaps(int32_t highest, int64_t now_us) {
  if (!highest_allocated_) {
    highest_allocated_ = highest;
    return;
  }
  if (highest <= *highest_allocated_) {
    return;
  }
  int32_t first = *highest_allocated_ + 1;
  highest_allocated_ = highest;
  if (highest - first > kMaxGapProbe) {
    gap_pids_skipped_ += highest - first;
    return;
  }
  for (int32_t pid = first; pid < highest; ++pid) {
    if (listing_.count(pid) == 0) {
      ++probed_pids_;
      examine(pid, Reason::kProbed, now_us);
    }
  }
}

void ProcfsPoller::probe(int32_t first, int32_t last, int64_t now_us) {
  examined_.clear();
  for (int32_t pid = first; pid <= last && pid > 0; ++pid) {
    ++probed_pids_;
    examine(pid, Reason::kProbed, now_us);
  }
}

void ProcfsPoller::forget_vanished(int64_t now_us) {
  for (auto it = pids_.begin(); it != pids_.end();) {
    if (listing_.count(it->first) != 0) {
      ++it;
      continue;
    }
    if (it->second.kind == PidKind::kMember) {
      tracker_.vanish(it->first, now_us);
      release_files(members_.at(it->first));
      members_.erase(it->first);
    }
    it = pids_.erase(it);
  }
}

// Examines one pid once per pass. Parents are examined before their
// children (see examine_new), whatever their pid order.
void ProcfsPoller::examine(int32_t pid, Reason reason, int64_t now_us) {
  if (!examined_.insert(pid).second) {
    return;
  }
  auto known = pids_.find(pid);
  std::optional<uint64_t> listed_inode;
  if (listing_active_) {
    auto listed = listing_.find(pid);
    if (listed == listing_.end()) {
      return;  // gone, or a parent outside this proc root
    }
    listed_inode = listed->second;
    if (known != pids_.end() && known->second.dir_inode == *listed_inode) {
      return;  // the same directory: members are re-read by schedule
    }
  } else if (reason == Reason::kParent && known != pids_.end() &&
             (known->second.kind != PidKind::kMember ||
              member_is_current(pid))) {
    // A parent that forked just now is alive. A member's entry is current
    // only while the pid is still that process: it may have exited and its
    // pid been taken by a process that forked this child. An outsider's
    // entry is kept, which at worst leaves a child out.
    return;
  }

  Result<PidDirectory> dir = reader_.open_pid(pid);
  if (!dir) {
    count_read_failure(pid, dir.error(), reason);
    return;
  }
  uint64_t dir_inode = listed_inode ? *listed_inode : dir->inode();
  if (known != pids_.end()) {
    if (known->second.dir_inode == dir_inode) {
      return;  // already examined by an earlier pass
    }
    if (known->second.kind == PidKind::kMember) {
      recheck_identity(pid, std::move(*dir), dir_inode, now_us);
      return;
    }
    // An outsider keeps its namespace for life, so a new directory means
    // the pid may have been reused.
    pids_.erase(known);
  }
  examine_new(std::move(*dir), dir_inode, reason, now_us);
}

// A member's pid has a new directory: the same process (procfs made a new
// dentry for it) or a new process behind a reused pid.
void ProcfsPoller::recheck_identity(int32_t pid, PidDirectory dir,
                                    uint64_t dir_inode, int64_t now_us) {
  const TrackedProcess* tracked = tracker_.find(pid);
  Result<StatFields> stat = read_stat(dir);
  if (!stat) {
    if (is_vanished(stat.error())) {
      member_vanished(pid, now_us);
    } else {
      count_read_failure(pid, stat.error(), Reason::kListed);
    }
    return;
  }
  MemberState& member = members_.at(pid);
  if (tracked != nullptr &&
      stat->start_ticks == tracked->latest.id.start_ticks) {
    // Held files belong to the old directory, which a recorded tree
    // replaces between polls.
    release_files(member);
    pids_[pid].dir_inode = dir_inode;
    return;
  }
  // A new process behind a known pid: its membership is decided afresh.
  tracker_.vanish(pid, now_us);
  release_files(member);
  members_.erase(pid);
  pids_.erase(pid);
  examine_new(std::move(dir), dir_inode, Reason::kListed, now_us);
}

void ProcfsPoller::examine_new(PidDirectory dir, uint64_t dir_inode,
                               Reason reason, int64_t now_us) {
  int32_t pid = dir.pid();
  Result<StatusFields> status = read_status(dir);
  if (!status) {
    count_read_failure(pid, status.error(), reason);
    return;
  }
  if (status->is_thread()) {
    pids_[pid] = PidState{PidKind::kThread, dir_inode};
    return;
  }

  // The parent first, so that its membership and image are known.
  examine(status->ppid, Reason::kParent, now_us);

  // Kernel threads exist only in the initial PID namespace, so only a
  // depth-0 target lists them, and they are never part of a workload. A
  // procfs of the target's namespace is never the initial one's, because
  // entrytrace reads one only from an ancestor namespace.
  const Target& target = scope_.target();
  if (target.pid_ns_depth == 0 && !target.proc_in_target_ns &&
      is_kernel_thread(dir)) {
    pids_[pid] = PidState{PidKind::kOutside, dir_inode};
    return;
  }

  Membership membership = decide_membership(dir, *status, now_us);
  if (membership != Membership::kMember) {
    pids_[pid] = PidState{PidKind::kOutside, dir_inode};
    return;
  }
  pids_[pid] = PidState{PidKind::kMember, dir_inode};
  members_.emplace(pid, MemberState{ReadSchedule(now_us), {}, {}, {}});
  read_member(dir, now_us);
  // read_member() erases the member when the process vanished meanwhile.
  auto found = members_.find(pid);
  if (found == members_.end()) {
    return;
  }
  MemberState& member = found->second;

  const TrackedProcess* tracked = tracker_.find(pid);
  if (tracked == nullptr || tracked->exited) {
    member.schedule.stop();
    return;
  }
  member.schedule.record_read(
      schedule_params_, now_us, true, !tracked->emitted,
      backoff_cap_us(schedule_params_, members_.size()));
  note_due(member.schedule);
  hold_files(member, std::move(dir));
  wake_parent(status->ppid, now_us);
}

void ProcfsPoller::note_due(const ReadSchedule& schedule) {
  earliest_due_us_ = std::min(earliest_due_us_, schedule.next_due_us());
  any_hot_ = any_hot_ || schedule.hot();
}

// A new child makes its parent due at once, because shells and supervisors
// fork right before or after an exec of their own, which a backed-off
// schedule would otherwise see up to a cap later.
void ProcfsPoller::wake_parent(int32_t ppid, int64_t now_us) {
  auto parent = members_.find(ppid);
  if (parent == members_.end()) {
    return;
  }
  parent->second.schedule.wake(now_us);
  note_due(parent->second.schedule);
}

Membership ProcfsPoller::decide_membership(const PidDirectory& dir,
                                           const StatusFields& status,
                                           int64_t now_us) {
  if (scope_.target().proc_in_target_ns) {
    return scope_.decide(dir, status, std::nullopt);
  }
  Result<uint64_t> pid_ns = read_namespace(dir, "pid");
  std::optional<uint64_t> known_ns;
  if (pid_ns) {
    known_ns = *pid_ns;
  }
  Membership membership = scope_.decide(dir, status, known_ns);
  if (membership != Membership::kUnknown) {
    return membership;
  }
  return decide_by_ancestry(dir, status, now_us);
}

// Without a readable ns/pid, a process whose NStgid is deep enough is a
// member when its parent is one, because a child is in its parent's PID
// namespace or in one nested in it. setns(2) moves children only down the
// tree. The scope's filters apply to such a member as to any other. The
// parent is trusted by pid only while that pid is still the tracked member
// (member_is_current()) and the member started no later than the child.
Membership ProcfsPoller::decide_by_ancestry(const PidDirectory& dir,
                                            const StatusFields& status,
                                            int64_t now_us) {
  if (!scope_.may_be_nested(status)) {
    return Membership::kOutside;
  }
  examine(status.ppid, Reason::kParent, now_us);
  auto parent = pids_.find(status.ppid);
  if (parent != pids_.end() && parent->second.kind == PidKind::kMember &&
      member_is_current(status.ppid) && started_after(dir, status.ppid)) {
    return scope_.filter(dir, status);
  }
  undecided_pids_.insert(status.pid);
  spdlog::debug(
      "pid {}: ns/pid unreadable and parent {} not in the target; "
      "left out",
      status.pid, status.ppid);
  return Membership::kOutside;
}

// True when the member tracked at pid is still the process behind it. A
// held directory reaches only the process it was opened for, and fails once
// that process is gone. Without one the pid is opened anew and its start
// time compared.
// NOTE: start times count clock ticks (10 ms at USER_HZ 100), so a pid
// reused within the tick its member started in passes the second check.
bool ProcfsPoller::member_is_current(int32_t pid) const {
  auto member = members_.find(pid);
  const TrackedProcess* tracked = tracker_.find(pid);
  if (member == members_.end() || tracked == nullptr || tracked->exited) {
    return false;
  }
  if (member->second.dir) {
    return read_stat(*member->second.dir).ok();
  }
  Result<PidDirectory> dir = reader_.open_pid(pid);
  if (!dir) {
    return false;
  }
  Result<StatFields> stat = read_stat(*dir);
  return stat && stat->start_ticks == tracked->latest.id.start_ticks;
}

// True when the process of dir started no earlier than the member tracked
// at parent_pid, as a child of that member must have.
bool ProcfsPoller::started_after(const PidDirectory& dir,
                                 int32_t parent_pid) const {
  const TrackedProcess* parent = tracker_.find(parent_pid);
  Result<StatFields> stat = read_stat(dir);
  return parent != nullptr && stat &&
         stat->start_ticks >= parent->latest.id.start_ticks;
}

void ProcfsPoller::read_member(const PidDirectory& dir, int64_t now_us) {
  Result<ProcessReading> reading = read_process(dir);
  for (int reread = 0; reread < kUnsettledStackRereads && reading &&
                       settled_stack(reading->stat.start_stack) == 0 &&
                       reading->stat.start_stack != 0;
       ++reread) {
    reading = read_process(dir);
  }
  if (!reading) {
    if (is_vanished(reading.error())) {
      member_vanished(dir.pid(), now_us);
    } else {
      count_read_failure(dir.pid(), reading.error(), Reason::kListed);
    }
    return;
  }
  ProcessSnapshot& snapshot = reading->snapshot;
  snapshot.image.start_stack = settled_stack(snapshot.image.start_stack);
  snapshot.ns_pid = scope_.ns_pid(reading->status);
  for (const std::string& message : snapshot.unreadable) {
    note_unreadable(snapshot.id, message);
  }
  tracker_.see(std::move(snapshot), reading->stat.state, now_us);
}

void ProcfsPoller::refresh(int64_t now_us) {
  if (now_us < earliest_due_us_) {
    return;
  }
  int64_t cap_us = backoff_cap_us(schedule_params_, members_.size());
  std::vector<int32_t> due;
  for (const auto& [pid, member] : members_) {
    if (member.schedule.due(now_us)) {
      due.push_back(pid);
    }
  }
  for (int32_t pid : due) {
    if (members_.count(pid) != 0) {
      refresh_member(pid, now_us, cap_us);
    }
  }

  earliest_due_us_ = INT64_MAX;
  any_hot_ = false;
  for (const auto& [pid, member] : members_) {
    note_due(member.schedule);
  }
}

bool ProcfsPoller::any_hot() const {
  return any_hot_;
}

// Re-reads stat and cmdline, and reads the process in full when they
// changed: an exec (new startstack, comm or argv), a first ready image or
// an exit (zombie state).
void ProcfsPoller::refresh_member(int32_t pid, int64_t now_us, int64_t cap_us) {
  MemberState& member = members_.at(pid);
  const TrackedProcess* tracked = tracker_.find(pid);
  if (tracked == nullptr || tracked->exited) {
    // A zombie waiting to be reaped: list() ends it.
    release_files(member);
    member.schedule.stop();
    return;
  }

  Result<ImageProbe> probe = probe_member(pid, member);
  if (!probe) {
    if (is_vanished(probe.error())) {
      member_vanished(pid, now_us);
    } else {
      count_read_failure(pid, probe.error(), Reason::kListed);
    }
    return;
  }
  if (probe->stat.start_ticks != tracked->latest.id.start_ticks && member.dir) {
    // Only files opened anew can reach another process behind the pid.
    PidDirectory dir = std::move(*member.dir);
    uint64_t dir_inode = dir.inode();
    tracker_.vanish(pid, now_us);
    release_files(member);
    members_.erase(pid);
    pids_.erase(pid);
    examine_new(std::move(dir), dir_inode, Reason::kListed, now_us);
    return;
  }

  bool changed = probe_differs(*probe, tracked->latest);
  if (changed) {
    // A new program opens its own listeners.
    member.sockets.restart(now_us);
    read_member(*member.dir, now_us);
  } else {
    tracker_.see_unchanged(pid, now_us);
  }
  if (members_.count(pid) == 0) {
    return;  // vanished during the full read
  }
  tracked = tracker_.find(pid);
  bool pending = tracked != nullptr && !tracked->emitted && !tracked->exited;
  member.schedule.record_read(schedule_params_, now_us, changed, pending,
                              cap_us);
  if (tracked == nullptr || tracked->exited) {
    release_files(member);
  }
}

// Reads stat and cmdline through the held files, or opens the directory
// anew when none are held; member.dir is open afterwards.
Result<ImageProbe> ProcfsPoller::probe_member(int32_t pid,
                                              MemberState& member) {
  if (member.files) {
    return member.files->probe();
  }
  Result<PidDirectory> dir = reader_.open_pid(pid);
  if (!dir) {
    return dir.error();
  }
  Result<ImageProbe> probe = probe_image(*dir);
  if (!probe) {
    return probe;
  }
  hold_files(member, std::move(*dir));
  return probe;
}

void ProcfsPoller::hold_files(MemberState& member, PidDirectory dir) {
  if (!member.files && held_processes_ < kMaxHeldProcesses) {
    Result<HeldImageFiles> files = HeldImageFiles::open(dir);
    if (files) {
      member.files = std::move(*files);
      ++held_processes_;
    }
  }
  member.dir = std::move(dir);
}

void ProcfsPoller::release_files(MemberState& member) {
  if (member.files) {
    member.files.reset();
    --held_processes_;
  }
  member.dir.reset();
}

void ProcfsPoller::member_vanished(int32_t pid, int64_t now_us) {
  const TrackedProcess* tracked = tracker_.find(pid);
  if (tracked == nullptr) {
    ++vanished_before_read_;
  }
  tracker_.vanish(pid, now_us);
  auto member = members_.find(pid);
  if (member != members_.end()) {
    release_files(member->second);
    members_.erase(member);
  }
  pids_.erase(pid);
}

void ProcfsPoller::poll_sockets(int64_t now_us, bool every_member) {
  sockets_.begin_round();
  std::vector<int32_t> unreadable;
  for (auto& [pid, member] : members_) {
    if (!every_member && !member.sockets.due(now_us)) {
      continue;
    }
    const TrackedProcess* tracked = tracker_.find(pid);
    if (tracked == nullptr || !tracked->emitted || tracked->exited) {
      continue;
    }
    Result<std::vector<ListeningSocket>> sockets =
        scan_sockets(pid, member, tracked->latest.id);
    if (!sockets) {
      if (!is_vanished(sockets.error())) {
        note_unreadable(tracked->latest.id, sockets.error().message);
      }
      int error = sockets.error().errno_value;
      if (error == EACCES || error == EPERM) {
        unreadable.push_back(pid);
      }
      member.sockets.record_read(schedule_params_, now_us, false);
      continue;
    }
    member.sockets.record_read(schedule_params_, now_us,
                               *sockets != tracked->sockets);
    tracker_.set_sockets(pid, std::move(*sockets), now_us);
  }
  if (!unreadable.empty()) {
    attribute_by_uid(unreadable, now_us);
  }
}

// Inodes of the sockets that an fd/ link of a member named, as of the
// latest socket reads.
std::set<uint64_t> ProcfsPoller::sockets_found_by_fd() const {
  std::set<uint64_t> inodes;
  for (const auto& [pid, member] : members_) {
    const TrackedProcess* tracked = tracker_.find(pid);
    if (tracked == nullptr) {
      continue;
    }
    for (const ListeningSocket& socket : tracked->sockets) {
      if (!socket.owner_uid) {
        inodes.insert(socket.inode);
      }
    }
  }
  return inodes;
}

// Attributes each listening socket that no readable fd/ named to a member
// whose fd/ is unreadable and whose effective uid is the socket's owner uid.
// The candidates are the members whose own network namespace lists the
// socket, and common_ancestor() picks one of them. A socket with no clear
// holder stays unattributed and is counted. Socket inodes are unique across
// network namespaces, so they are compared alone.
void ProcfsPoller::attribute_by_uid(const std::vector<int32_t>& pids,
                                    int64_t now_us) {
  std::set<uint64_t> attributed = sockets_found_by_fd();
  struct Claim {
    ListeningSocket socket;
    std::vector<int32_t> pids;
  };
  std::map<uint64_t, Claim> claims;
  for (int32_t pid : pids) {
    const TrackedProcess* tracked = tracker_.find(pid);
    Result<PidDirectory> dir = reader_.open_pid(pid);
    if (tracked == nullptr || !dir) {
      continue;
    }
    Result<std::vector<ListeningSocketScanner::OwnedSocket>> owned =
        sockets_.scan_owners_in_target(
            *dir, [this](int32_t pid) { return members_.count(pid) != 0; });
    if (!owned) {
      if (!is_vanished(owned.error())) {
        note_unreadable(tracked->latest.id, owned.error().message);
      }
      continue;
    }
    for (ListeningSocketScanner::OwnedSocket& entry : *owned) {
      if (attributed.count(entry.socket.inode) != 0 ||
          entry.owner_uid != tracked->latest.euid) {
        continue;
      }
      Claim& claim = claims[entry.socket.inode];
      claim.socket = entry.socket;
      claim.socket.owner_uid = entry.owner_uid;
      claim.pids.push_back(pid);
    }
  }

  // Every candidate gets its complete set, possibly empty.
  std::map<int32_t, std::vector<ListeningSocket>> sockets_by_pid;
  for (int32_t pid : pids) {
    sockets_by_pid[pid];
  }
  for (auto& [inode, claim] : claims) {
    std::optional<int32_t> owner = common_ancestor(claim.pids);
    if (!owner) {
      ambiguous_sockets_[describe_socket(claim.socket)] = claim.pids.size();
      continue;
    }
    sockets_by_pid[*owner].push_back(claim.socket);
  }
  for (auto& [pid, sockets] : sockets_by_pid) {
    std::sort(sockets.begin(), sockets.end());
    tracker_.set_sockets(pid, std::move(sockets), now_us);
  }
}

// True when ancestor is pid or one of its ancestors, by the host ppid of
// the latest readings.
bool ProcfsPoller::descends_from(int32_t pid, int32_t ancestor) const {
  // A bound on the walk, so that a ppid cycle left by pid reuse ends.
  for (int step = 0; step < 4096 && pid > 0; ++step) {
    if (pid == ancestor) {
      return true;
    }
    const TrackedProcess* tracked = tracker_.find(pid);
    if (tracked == nullptr) {
      return false;
    }
    pid = tracked->latest.host_ppid;
  }
  return false;
}

// Picks the holder of a socket among the candidates that can see it. A
// candidate with a descendant candidate running another program (a wrapper
// such as tini above its server) is dropped first. Of the rest, the one
// that is an ancestor of all others (a pre-fork master above its workers)
// is returned, or nothing when there is none.
std::optional<int32_t> ProcfsPoller::common_ancestor(
    const std::vector<int32_t>& pids) const {
  auto argv_of = [&](int32_t pid) {
    const TrackedProcess* tracked = tracker_.find(pid);
    return tracked == nullptr ? std::vector<std::string>{}
                              : tracked->latest.image.argv;
  };
  std::vector<int32_t> remaining;
  for (int32_t pid : pids) {
    bool wraps = std::any_of(pids.begin(), pids.end(), [&](int32_t other) {
      return other != pid && descends_from(other, pid) &&
             argv_of(other) != argv_of(pid);
    });
    if (!wraps) {
      remaining.push_back(pid);
    }
  }
  for (int32_t candidate : remaining) {
    bool all =
        std::all_of(remaining.begin(), remaining.end(),
                    [&](int32_t pid) { return descends_from(pid, candidate); });
    if (all) {
      return candidate;
    }
  }
  return std::nullopt;
}

// Scans through the held directory, which can only reach the process it was
// opened for. Without one the pid is opened anew and its start time checked,
// because the pid may have been reused since the last poll.
Result<std::vector<ListeningSocket>> ProcfsPoller::scan_sockets(
    int32_t pid, const MemberState& member, const ProcessId& id) {
  if (member.dir) {
    return sockets_.scan(*member.dir);
  }
  Result<PidDirectory> dir = reader_.open_pid(pid);
  if (!dir) {
    return dir.error();
  }
  Result<StatFields> stat = read_stat(*dir);
  if (!stat) {
    return stat.error();
  }
  if (stat->start_ticks != id.start_ticks) {
    return Error{"pid " + std::to_string(pid) + " was reused", ESRCH};
  }
  return sockets_.scan(*dir);
}

void ProcfsPoller::count_read_failure(int32_t pid, const Error& error,
                                      Reason reason) {
  if (is_vanished(error)) {
    if (reason == Reason::kProbed) {
      ++probe_vanished_;
    } else if (reason == Reason::kListed) {
      ++vanished_before_read_;
    }
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

void ProcfsPoller::add_scope_diagnostics(
    std::vector<std::string>& lines) const {
  for (std::string& line : scope_.diagnostics()) {
    lines.push_back(std::move(line));
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
  add_scope_diagnostics(lines);
  for (const auto& [socket, candidates] : ambiguous_sockets_) {
    lines.push_back("listening socket " + socket +
                    " not attributed: fd links unreadable and " +
                    count_phrase(candidates, "process", "processes") +
                    " of its owner's uid, none an ancestor of the others");
  }
  if (size_t shared = sockets_.shared_namespace_sockets(); shared > 0) {
    lines.push_back(
        count_phrase(shared, "listening socket", "listening sockets") +
        " of a member's uid not attributed: fd links unreadable and a "
        "process outside the target shares the network namespace and the "
        "uid");
  }
  if (sockets_.invalid_rows() > 0) {
    lines.push_back(std::to_string(sockets_.invalid_rows()) +
                    " socket table rows could not be parsed");
  }
  if (gap_pids_skipped_ > 0) {
    lines.push_back(count_phrase(gap_pids_skipped_, "pid", "pids") +
                    " allocated between two listings were not opened, "
                    "because more than " +
                    std::to_string(kMaxGapProbe) +
                    " came at once, so those that exited are not counted");
  }
  if (listing_failures_ > 0) {
    lines.push_back("listing the proc root failed " +
                    count_phrase(listing_failures_, "time", "times") + ": " +
                    last_listing_error_);
  }
  return lines;
}

}  // namespace entrytrace
