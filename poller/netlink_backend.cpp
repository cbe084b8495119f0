#include "poller/netlink_backend.h"

#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <utility>

#include "common/log.h"
#include "common/phrases.h"
#include "common/target_root.h"
#include "common/unique_fd.h"
#include "poller/pid_counter.h"
#include "poller/proc_parse.h"

namespace entrytrace {
namespace {

// Listening sockets are read at most this often, as in the procfs poller,
// because a round reads every member's fd/ links.
constexpr uint64_t kSocketPeriodNs = 50'000'000;
// A child still in its parent's image is held back for this many capture
// intervals before it is reported as it is: the procfs poller gives such a
// child two more polls.
constexpr int64_t kHoldIntervals = 2;
constexpr uint64_t kMinHoldNs = 20'000'000;

uint64_t ticks_per_second() {
  long ticks = sysconf(_SC_CLK_TCK);
  return ticks > 0 ? static_cast<uint64_t>(ticks) : 100;
}

// CLOCK_BOOTTIME in clock ticks: the unit and origin of stat's starttime.
uint64_t boot_ticks_now(uint64_t per_second) {
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<uint64_t>(now.tv_sec) * per_second +
         static_cast<uint64_t>(now.tv_nsec) * per_second / 1'000'000'000;
}

bool same_image(const ProcessImage& a, const ProcessImage& b) {
  return a.exe == b.exe && a.exe_known == b.exe_known && a.argv == b.argv;
}

// True when two /proc readings show the same image. The stack start (stat
// field 28) changes on every exec, so an exec event whose reading matches
// the latest one was already read. A reading taken in the same microsecond
// as the event cannot be ordered by time alone.
bool same_reading(const ProcessSnapshot& a, const ProcessSnapshot& b) {
  return a.image.start_stack != 0 &&
         a.image.start_stack == b.image.start_stack &&
         same_image(a.image, b.image);
}

// Reads /etc/passwd in the root of the process id names. The root is opened
// through a held /proc/<pid> descriptor, between two start-time checks, so
// that a pid taken by another process fails instead of giving that
// process's root. A symbolic link in the root cannot lead to a host
// file (open_in_root()). Files over 1 MiB are cut.
Result<PasswdEntries> read_passwd_of(const ProcReader& reader,
                                     const ProcessId& id) {
  constexpr size_t kMaxPasswdBytes = 1 << 20;
  Result<PidDirectory> dir = reader.open_pid(id.host_pid);
  if (!dir) {
    return dir.error();
  }
  const std::string root =
      reader.proc_root() + "/" + std::to_string(id.host_pid) + "/root";
  // No system call failed, so the error carries no errno and is not taken
  // for a process that vanished.
  Error reused{root + ": pid " + std::to_string(id.host_pid) +
               " now names another process"};
  Result<StatFields> before = read_stat(*dir);
  if (!before) {
    return before.error();
  }
  if (before->start_ticks != id.start_ticks) {
    return reused;
  }
  UniqueFd root_fd(
      ::openat(dir->fd(), "root", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) {
    return system_error(root, errno);
  }
  Result<StatFields> after = read_stat(*dir);
  if (!after) {
    return after.error();
  }
  if (after->start_ticks != id.start_ticks) {
    return reused;
  }
  Result<UniqueFd> file = open_in_root(root_fd.get(), "/etc/passwd");
  if (!file) {
    return Error{root + ": " + file.error().message, file.error().errno_value};
  }
  Result<std::string> text =
      read_regular_file(file->get(), kMaxPasswdBytes, root + "/etc/passwd");
  if (!text) {
    return text.error();
  }
  return parse_passwd(*text);
}

}  // namespace

uint64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 +
         static_cast<uint64_t>(now.tv_nsec);
}

EventCapture::EventCapture(const Target& target, const CaptureOptions& options,
                           std::string backend)
    : target_(target),
      options_(options),
      backend_(std::move(backend)),
      reader_(options.proc_root),
      scope_(target) {
  ticks_per_second_ = ticks_per_second();
  window_start_ticks_ = boot_ticks_now(ticks_per_second_);
  start_ns_ = monotonic_ns();
  next_socket_round_ns_ = start_ns_;
  uint64_t interval_ns = static_cast<uint64_t>(
      std::max<int64_t>(options.interval.count(), 1) * 1000);
  hold_limit_ns_ = std::max(kHoldIntervals * interval_ns, kMinHoldNs);

  // getpid() numbers this process in its own PID namespace, which need not
  // be the namespace of the proc root.
  Result<int32_t> own_pid = read_own_pid(options.proc_root);
  if (!own_pid) {
    spdlog::debug("launcher stub detection off: {}", own_pid.error().message);
    return;
  }
  Result<PidDirectory> self = reader_.open_pid(*own_pid);
  if (!self) {
    return;
  }
  Result<ProcessReading> reading = read_process(*self);
  if (reading) {
    capturer_pid_ = *own_pid;
    capturer_image_ = std::move(reading->snapshot.image);
  }
}

bool EventCapture::stop_requested() const {
  return options_.stop != nullptr && options_.stop->load();
}

bool EventCapture::window_over(uint64_t now_ns) const {
  return window_us(now_ns) >= options_.window.count();
}

bool EventCapture::has_live_members() const {
  for (const auto& [pid, process] : processes_) {
    if (!process.exited) {
      return true;
    }
  }
  return false;
}

int64_t EventCapture::window_us(uint64_t ns) const {
  return ns <= start_ns_ ? 0 : static_cast<int64_t>((ns - start_ns_) / 1000);
}

std::optional<ProcessId> EventCapture::live_member(int32_t host_pid) const {
  const Tracked* process = find_live(host_pid);
  if (process == nullptr) {
    return std::nullopt;
  }
  return process->latest.id;
}

const EventCapture::Tracked* EventCapture::find_live(int32_t host_pid) const {
  auto it = processes_.find(host_pid);
  if (it == processes_.end() || it->second.exited) {
    return nullptr;
  }
  return &it->second;
}

EventCapture::Tracked* EventCapture::find_live(int32_t host_pid) {
  auto it = processes_.find(host_pid);
  if (it == processes_.end() || it->second.exited) {
    return nullptr;
  }
  return &it->second;
}

void EventCapture::emit(ObservationKind kind, uint64_t ns, const ProcessId& id,
                        std::optional<ProcessSnapshot> snapshot) {
  Observation observation;
  observation.kind = kind;
  observation.time_us = window_us(ns);
  observation.process = id;
  observation.snapshot = std::move(snapshot);
  spdlog::trace("{} {} pid {} at {} us", backend_, observation_kind_name(kind),
                id.host_pid, observation.time_us);
  observations_.push_back(std::move(observation));
}

void EventCapture::emit_seen(Tracked& process) {
  process.held = false;
  process.emitted = true;
  emit(ObservationKind::kProcessSeen, process.first_seen_ns, process.latest.id,
       process.latest);
}

void EventCapture::fill_parent(ProcessSnapshot& snapshot) const {
  if (snapshot.ns_ppid != 0) {
    return;
  }
  const Tracked* parent = find_live(snapshot.host_ppid);
  if (parent != nullptr) {
    snapshot.ns_ppid = parent->latest.ns_pid;
  }
}

bool EventCapture::is_launcher_stub(const ProcessSnapshot& snapshot) const {
  return capturer_pid_ != 0 && snapshot.host_ppid == capturer_pid_ &&
         same_image(snapshot.image, capturer_image_);
}

void EventCapture::add_process(ProcessSnapshot snapshot, uint64_t seen_ns,
                               uint64_t known_ns, bool from_fork) {
  fill_parent(snapshot);
  Tracked process;
  process.first_seen_ns = seen_ns;
  process.known_since_ns = known_ns;

  Tracked* parent = find_live(snapshot.host_ppid);
  if (from_fork && parent != nullptr) {
    // An empty argv read from /proc means an exec is in progress.
    process.held = same_image(snapshot.image, parent->latest.image) ||
                   snapshot.image.argv.empty();
  }
  process.held = process.held || is_launcher_stub(snapshot);
  // A held-back process that forks a member is a fork without exec (a
  // subshell, a pre-fork master), so it is reported now, before its child.
  if (parent != nullptr && parent->held && !is_launcher_stub(parent->latest)) {
    emit_seen(*parent);
  }
  if (snapshot.ns_pid == 1) {
    init_host_pid_ = snapshot.id.host_pid;
  }
  process.latest = std::move(snapshot);
  int32_t pid = process.latest.id.host_pid;
  Tracked& stored = processes_[pid] = std::move(process);
  if (!stored.held) {
    emit_seen(stored);
  }
}

void EventCapture::mark_exited(Tracked& process, uint64_t ns) {
  if (process.exited) {
    return;
  }
  process.exited = true;
  if (process.emitted) {
    emit(ObservationKind::kProcessExited, ns, process.latest.id);
  } else {
    ++exited_while_held_;
  }
}

void EventCapture::on_fork(ProcessSnapshot child, uint64_t event_ns,
                           std::optional<uint64_t> read_ns) {
  int32_t pid = child.id.host_pid;
  if (Tracked* known = find_live(pid)) {
    if (known->latest.id == child.id) {
      return;  // already read by a scan
    }
    mark_exited(*known, event_ns);
  }
  if (leave_out_child(pid, child.host_ppid)) {
    return;
  }
  const Tracked* parent = find_live(child.host_ppid);
  if (!read_ns && parent != nullptr) {
    child.image = parent->latest.image;
  } else if (!read_ns) {
    // The parent is outside the target (it joined the namespace with
    // setns), so its image is unknown and the child's is read instead.
    uint64_t now_ns = monotonic_ns();
    std::optional<Reading> reading = read_member(pid);
    if (reading) {
      child.image = std::move(reading->snapshot.image);
      child.unreadable = std::move(reading->snapshot.unreadable);
      read_ns = now_ns;
    } else if (filtering() || kernel_threads_.count(child.host_ppid) != 0) {
      // Outside the target's conditions, or gone before they could be
      // checked. A child of a kernel thread that is not a member itself is a
      // kernel thread, maybe one that exited before it was read.
      return;
    }
  }
  bool parent_known = parent != nullptr;
  add_process(std::move(child), event_ns, read_ns.value_or(event_ns), true);
  Tracked& added = processes_[pid];
  added.exec_read_early = read_ns && parent_known && !added.held;
}

void EventCapture::on_exec(ProcessSnapshot snapshot, uint64_t event_ns,
                           uint64_t read_ns) {
  Tracked* process = find_live(snapshot.id.host_pid);
  if (process == nullptr || process->latest.id != snapshot.id) {
    if (left_out_.count(snapshot.id.host_pid) != 0) {
      return;
    }
    if (filtering() && !read_member(snapshot.id.host_pid)) {
      return;  // outside the target's conditions, or gone unchecked
    }
    if (process != nullptr) {
      mark_exited(*process, event_ns);
    }
    // A member not seen before: its fork preceded the window.
    add_process(std::move(snapshot), event_ns, read_ns, false);
    return;
  }
  bool read_early = std::exchange(process->exec_read_early, false);
  if (process->emitted &&
      (event_ns < process->known_since_ns ||
       same_reading(snapshot, process->latest) ||
       (read_early && same_image(snapshot.image, process->latest.image)))) {
    return;  // the latest reading was taken after this exec
  }
  if (snapshot.ns_ppid == 0) {
    snapshot.ns_ppid = process->latest.ns_ppid;
  }
  if (snapshot.ns_pid == 1) {
    init_host_pid_ = snapshot.id.host_pid;
  }
  process->latest = std::move(snapshot);
  process->known_since_ns = read_ns;
  if (!process->emitted) {
    emit_seen(*process);
    return;
  }
  emit(ObservationKind::kImageChanged, event_ns, process->latest.id,
       process->latest);
}

// A child of a process that the target's conditions left out is left out
// too: it inherits the cgroup, and a child of entrytrace is entrytrace's.
bool EventCapture::leave_out_child(int32_t pid, int32_t parent_pid) {
  if (left_out_.count(parent_pid) == 0) {
    return false;
  }
  left_out_.insert(pid);
  ++left_out_children_;
  return true;
}

void EventCapture::on_exit(int32_t host_pid, uint64_t event_ns) {
  left_out_.erase(host_pid);
  kernel_threads_.erase(host_pid);
  if (Tracked* process = find_live(host_pid)) {
    mark_exited(*process, event_ns);
  }
}

std::optional<EventCapture::Reading> EventCapture::read_member(
    int32_t host_pid) {
  Result<PidDirectory> dir = reader_.open_pid(host_pid);
  if (!dir) {
    count_vanished(host_pid, dir.error());
    return std::nullopt;
  }
  struct stat dir_stat {};
  if (::fstat(dir->fd(), &dir_stat) != 0) {
    return std::nullopt;
  }
  auto outsider = outsiders_.find(host_pid);
  if (outsider != outsiders_.end() && outsider->second == dir_stat.st_ino) {
    return std::nullopt;
  }
  Result<StatusFields> status = read_status(*dir);
  if (!status) {
    count_vanished(host_pid, status.error());
    return std::nullopt;
  }
  if (status->is_thread()) {
    return std::nullopt;
  }
  if (is_kernel_thread(*dir)) {
    kernel_threads_.insert(host_pid);
    outsiders_[host_pid] = dir_stat.st_ino;
    return std::nullopt;
  }
  Result<uint64_t> pid_ns = read_namespace(*dir, "pid");
  std::optional<uint64_t> known_ns;
  if (pid_ns) {
    known_ns = *pid_ns;
  }
  Membership membership = scope_.decide(*dir, *status, known_ns);
  if (membership == Membership::kUnknown) {
    // A child is in its parent's PID namespace or one nested in it.
    membership = scope_.may_be_nested(*status) && find_live(status->ppid)
                     ? Membership::kMember
                     : Membership::kOutside;
  }
  if (membership == Membership::kMember && filtering()) {
    membership = left_out_.count(status->ppid) != 0
                     ? Membership::kOutside
                     : scope_.filter(*dir, *status);
    if (membership != Membership::kMember) {
      left_out_.insert(host_pid);
    }
  }
  if (membership != Membership::kMember) {
    outsiders_[host_pid] = dir_stat.st_ino;
    return std::nullopt;
  }
  outsiders_.erase(host_pid);

  Result<ProcessReading> reading = read_process(*dir);
  if (!reading) {
    count_vanished(host_pid, reading.error());
    return std::nullopt;
  }
  Reading result{std::move(reading->snapshot), reading->stat.state};
  result.snapshot.ns_pid = scope_.ns_pid(reading->status);
  mark_exe_if_changed(*dir, reading->stat, result.snapshot);
  for (const std::string& message : result.snapshot.unreadable) {
    note_unreadable(result.snapshot.id, message);
  }
  return result;
}

// Kernel threads exist only in the initial PID namespace, so only a depth-0
// target lists them, and they are never part of a workload; the procfs
// engine leaves them out the same way. A procfs of the target's namespace
// is never the initial one's. An unreadable stat counts as not a kernel
// thread, so the process is examined as usual.
bool EventCapture::is_kernel_thread(const PidDirectory& dir) const {
  if (target_.pid_ns_depth != 0 || target_.proc_in_target_ns) {
    return false;
  }
  Result<StatFields> stat = read_stat(dir);
  return stat && stat->is_kernel_thread();
}

// read_process() reads cmdline before exe, so an exec between the two gives
// one image's argv with the next one's exe. When stat and cmdline read again
// differ from the reading, exe is marked unknown rather than kept wrong.
void EventCapture::mark_exe_if_changed(const PidDirectory& dir,
                                       const StatFields& stat,
                                       ProcessSnapshot& snapshot) {
  if (!snapshot.image.exe_known) {
    return;
  }
  Result<ImageProbe> again = probe_image(dir);
  if (!again) {
    return;  // gone: what was read is all there is
  }
  if (again->stat.comm == stat.comm &&
      again->stat.start_stack == stat.start_stack &&
      again->argv == snapshot.image.argv) {
    return;
  }
  snapshot.image.exe.clear();
  snapshot.image.exe_deleted = false;
  snapshot.image.exe_known = false;
  snapshot.unreadable.push_back(
      "exe: unknown, the process exec'd again while /proc/<pid> was read");
  ++exe_unknown_changed_;
}

Status EventCapture::scan() {
  const uint64_t now_ns = monotonic_ns();
  Result<std::vector<PidEntry>> listing = reader_.list_pids();
  if (!listing) {
    ++listing_failures_;
    return listing.error();
  }

  std::set<int32_t> listed;
  // Pids to read, ordered by start time so that parents come first.
  std::vector<std::pair<uint64_t, int32_t>> fresh;
  for (const PidEntry& entry : *listing) {
    listed.insert(entry.pid);
    auto outsider = outsiders_.find(entry.pid);
    if (outsider != outsiders_.end() && outsider->second == entry.dir_inode) {
      continue;
    }
    Result<PidDirectory> dir = reader_.open_pid(entry.pid);
    if (!dir) {
      continue;
    }
    Result<StatFields> stat = read_stat(*dir);
    if (!stat) {
      continue;
    }
    Tracked* known = find_live(entry.pid);
    if (known != nullptr && known->latest.id.start_ticks == stat->start_ticks) {
      scan_member(*dir, *stat, now_ns);
      continue;
    }
    fresh.emplace_back(stat->start_ticks, entry.pid);
  }

  for (auto& [pid, process] : processes_) {
    if (!process.exited && listed.count(pid) == 0) {
      mark_exited(process, now_ns);
    }
  }

  std::sort(fresh.begin(), fresh.end());
  for (const auto& [start_ticks, pid] : fresh) {
    std::optional<Reading> reading = read_member(pid);
    if (!reading) {
      continue;
    }
    if (Tracked* old = find_live(pid)) {
      mark_exited(*old, now_ns);  // the pid was reused
    }
    if (reading->state == 'Z' || reading->state == 'X') {
      ++vanished_before_read_;
      continue;
    }
    // Processes found by the first scan were there when the window started.
    uint64_t seen_ns = first_scan_done_ ? now_ns : start_ns_;
    add_process(std::move(reading->snapshot), seen_ns, now_ns, true);
  }
  first_scan_done_ = true;
  return Ok{};
}

// Checks a tracked member during a scan: after lost events, an exec or exit
// is found only by reading.
void EventCapture::scan_member(const PidDirectory& dir, const StatFields& stat,
                               uint64_t now_ns) {
  Tracked* process = find_live(dir.pid());
  if (stat.state == 'Z' || stat.state == 'X') {
    mark_exited(*process, now_ns);
    return;
  }
  Result<std::string> cmdline = dir.read_file("cmdline");
  if (!cmdline) {
    return;
  }
  std::vector<std::string> argv = parse_cmdline(*cmdline);
  if (argv == process->latest.image.argv &&
      stat.comm == process->latest.image.comm) {
    return;
  }
  std::optional<Reading> reading = read_member(dir.pid());
  if (reading) {
    on_exec(std::move(reading->snapshot), now_ns, now_ns);
  }
}

void EventCapture::tick(uint64_t now_ns) {
  for (auto& [pid, process] : processes_) {
    if (process.held && !process.exited && !is_launcher_stub(process.latest) &&
        now_ns - process.first_seen_ns >= hold_limit_ns_) {
      emit_seen(process);
    }
  }
  if (now_ns >= next_socket_round_ns_) {
    read_sockets(now_ns);
    next_socket_round_ns_ = now_ns + kSocketPeriodNs;
  }
  if (user_names_.empty() && passwd_error_.empty()) {
    read_user_names(false);
  }
}

void EventCapture::read_sockets(uint64_t now_ns) {
  sockets_.begin_round();
  for (auto& [pid, process] : processes_) {
    if (process.exited || !process.emitted) {
      continue;
    }
    Result<PidDirectory> dir = reader_.open_pid(pid);
    if (!dir) {
      continue;  // the exit event follows
    }
    Result<StatFields> stat = read_stat(*dir);
    if (!stat || stat->start_ticks != process.latest.id.start_ticks) {
      continue;
    }
    Result<std::vector<ListeningSocket>> sockets = sockets_.scan(*dir);
    if (!sockets) {
      if (!is_vanished(sockets.error())) {
        note_unreadable(process.latest.id, sockets.error().message);
      }
      continue;
    }
    if (*sockets == process.sockets) {
      continue;
    }
    process.sockets = std::move(*sockets);
    Observation observation;
    observation.kind = ObservationKind::kSocketsSeen;
    observation.time_us = window_us(now_ns);
    observation.process = process.latest.id;
    observation.sockets = process.sockets;
    observations_.push_back(std::move(observation));
  }
}

// Reads the names through the namespace's pid 1 when it is a member, else
// through the process the target was named by, and only while that pid
// still names the tracked process.
void EventCapture::read_user_names(bool final_read) {
  std::optional<ProcessId> source;
  if (init_host_pid_ != 0) {
    source = live_member(init_host_pid_);
  }
  if (!source) {
    source = live_member(target_.host_pid);
  }
  Result<PasswdEntries> passwd =
      source ? read_passwd_of(reader_, *source)
             : Result<PasswdEntries>(
                   Error{"/etc/passwd not read: neither pid 1 of the target "
                         "namespace nor pid " +
                             std::to_string(target_.host_pid) +
                             " is a live member of the target",
                         ESRCH});
  if (!passwd) {
    // Keep the names read earlier when the target is gone by the end, and
    // add a diagnostic when the read failed for another reason.
    if (!final_read || user_names_.empty()) {
      passwd_error_ = passwd.error().message;
    } else if (!is_vanished(passwd.error())) {
      add_diagnostic("user names kept from the first read of /etc/passwd: " +
                     passwd.error().message);
    }
    return;
  }
  user_names_ = std::move(passwd->names);
  passwd_error_.clear();
}

void EventCapture::count_vanished(int32_t pid, const Error& error) {
  if (is_vanished(error)) {
    ++vanished_before_read_;
    spdlog::debug("pid {} vanished before it could be read: {}", pid,
                  error.message);
    return;
  }
  spdlog::debug("pid {} skipped: {}", pid, error.message);
  unreadable_["pid skipped: " + error.message].insert(ProcessId{pid, 0});
}

// Counts a field that could not be read. ENOENT and ESRCH are left out
// because they come from an exiting process, not from a lack of access.
void EventCapture::note_unreadable(const ProcessId& id,
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

std::vector<std::string> EventCapture::summary_lines() const {
  std::vector<std::string> lines;
  if (vanished_before_read_ > 0) {
    lines.push_back(
        count_phrase(vanished_before_read_, "process", "processes") +
        (vanished_before_read_ == 1 ? " exited before it could be read"
                                    : " exited before they could be read"));
  }
  if (exited_while_held_ > 0) {
    lines.push_back(count_phrase(exited_while_held_, "process", "processes") +
                    " exited between fork and exec and " +
                    (exited_while_held_ == 1 ? "was" : "were") +
                    " not reported, as with the procfs backend");
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
  if (sockets_.invalid_rows() > 0) {
    lines.push_back(std::to_string(sockets_.invalid_rows()) +
                    " socket table rows could not be parsed");
  }
  if (exe_unknown_changed_ > 0) {
    lines.push_back(
        count_phrase(exe_unknown_changed_, "exe path", "exe paths") +
        " left unknown because the process exec'd again while /proc/<pid> "
        "was read");
  }
  for (std::string& line : scope_.diagnostics()) {
    lines.push_back(std::move(line));
  }
  if (left_out_children_ > 0) {
    lines.push_back(count_phrase(left_out_children_, "process", "processes") +
                    " left out as children of processes outside the target's "
                    "conditions");
  }
  if (listing_failures_ > 0) {
    lines.push_back("listing the proc root failed " +
                    count_phrase(listing_failures_, "time", "times"));
  }
  return lines;
}

Capture EventCapture::finish(uint64_t now_ns) {
  read_sockets(now_ns);
  for (auto& [pid, process] : processes_) {
    if (process.held && !process.exited) {
      emit_seen(process);
    }
  }
  read_user_names(true);

  Capture capture;
  capture.backend = backend_;
  capture.target.description = target_.description;
  capture.target.pid_ns = target_.pid_ns;
  capture.target.pid_ns_depth = target_.pid_ns_depth;
  capture.target.init_host_pid = init_host_pid_;
  capture.window_us = options_.window.count();
  capture.interval_us = options_.interval.count();
  capture.elapsed_us = std::min(window_us(now_ns), options_.window.count());
  capture.window_start_ticks = window_start_ticks_;
  capture.ticks_per_second = ticks_per_second_;
  // kProcessSeen carries the time of first sight, which may be earlier than
  // observations emitted before it.
  std::stable_sort(observations_.begin(), observations_.end(),
                   [](const Observation& a, const Observation& b) {
                     return a.time_us < b.time_us;
                   });
  capture.observations = std::move(observations_);
  capture.user_names = std::move(user_names_);
  capture.evidence = std::move(evidence_);
  // The events carry host pids, so /proc is read as the host numbers it,
  // never through a procfs scoped to the target (proc_view.h).
  capture.evidence.push_back("procfs: " + reader_.proc_root() +
                             " filtered by PID namespace inode, because " +
                             backend_ + " events name host pids");
  capture.diagnostics = std::move(diagnostics_);
  for (std::string& line : summary_lines()) {
    capture.diagnostics.push_back(std::move(line));
  }
  if (!passwd_error_.empty()) {
    capture.diagnostics.push_back("user names unknown: " + passwd_error_);
  }
  spdlog::info("{} capture of {}: {} observations in {} ms", backend_,
               target_.description, capture.observations.size(),
               capture.elapsed_us / 1000);
  return capture;
}

Result<Capture> run_event_capture(EventCapture& capture,
                                  const EventPump& pump) {
  const Target& target = capture.target();
  Status seeded = capture.scan();
  if (!seeded) {
    return seeded.error();
  }
  if (!capture.has_live_members()) {
    return Error{"no process of the target PID namespace (inode " +
                 std::to_string(target.pid_ns) + ") is left: " +
                 target.description + " exited before capture started"};
  }
  capture.tick(monotonic_ns());
  if (capture.options().on_first_scan) {
    capture.options().on_first_scan();
  }

  uint64_t now_ns = monotonic_ns();
  while (!capture.stop_requested() && !capture.window_over(now_ns)) {
    int64_t left_us =
        capture.options().window.count() -
        static_cast<int64_t>((now_ns - capture.start_ns()) / 1000);
    int64_t wait_us = std::clamp<int64_t>(left_us, 1000, kMaxWaitUs);
    Status pumped = pump(capture, static_cast<int>((wait_us + 999) / 1000));
    now_ns = monotonic_ns();
    if (!pumped) {
      spdlog::warn("{}", pumped.error().message);
      capture.add_diagnostic(pumped.error().message);
    }
    capture.tick(now_ns);
    if (!capture.has_live_members()) {
      capture.add_evidence(
          "target pid namespace emptied after " +
          std::to_string((now_ns - capture.start_ns()) / 1'000'000) + " ms");
      return capture.finish(now_ns);
    }
  }
  if (capture.stop_requested()) {
    capture.add_evidence(
        "capture stopped early after " +
        std::to_string((now_ns - capture.start_ns()) / 1'000'000) + " ms");
  }
  return capture.finish(now_ns);
}

namespace {

// Receive buffer of the proc connector socket: a burst of forks on a busy
// host fills the default one (about 200 KiB) in well under a second.
constexpr int kReceiveBufferBytes = 8 * 1024 * 1024;
// Time the self-test fork's event is awaited.
constexpr int kSelfTestTimeoutMs = 500;

// Sends PROC_CN_MCAST_LISTEN or PROC_CN_MCAST_IGNORE.
Status send_mcast_op(int fd, proc_cn_mcast_op op) {
  alignas(nlmsghdr) char buffer[NLMSG_SPACE(sizeof(cn_msg) + sizeof(op))] = {};
  auto* header = reinterpret_cast<nlmsghdr*>(buffer);
  header->nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(op));
  header->nlmsg_type = NLMSG_DONE;
  header->nlmsg_pid = 0;
  auto* message = reinterpret_cast<cn_msg*>(NLMSG_DATA(header));
  message->id.idx = CN_IDX_PROC;
  message->id.val = CN_VAL_PROC;
  message->len = sizeof(op);
  std::memcpy(message->data, &op, sizeof(op));
  if (::send(fd, buffer, header->nlmsg_len, 0) < 0) {
    return system_error(op == PROC_CN_MCAST_LISTEN
                            ? "subscribing to process events"
                            : "unsubscribing from process events",
                        errno);
  }
  return Ok{};
}

// Calls handle for each proc_event in one datagram.
template <typename Handle>
void for_each_event(const char* data, size_t size, Handle&& handle) {
  auto* header = reinterpret_cast<const nlmsghdr*>(data);
  int left = static_cast<int>(size);
  for (; NLMSG_OK(header, left); header = NLMSG_NEXT(header, left)) {
    if (header->nlmsg_type == NLMSG_ERROR || header->nlmsg_type == NLMSG_NOOP) {
      continue;
    }
    auto* message = reinterpret_cast<const cn_msg*>(NLMSG_DATA(header));
    if (message->id.idx != CN_IDX_PROC || message->id.val != CN_VAL_PROC ||
        message->len < sizeof(proc_event)) {
      continue;
    }
    proc_event event;
    std::memcpy(&event, message->data, sizeof(event));
    handle(event);
  }
}

// Reads what is queued on the socket without waiting. Returns the number of
// datagrams read, or an Error; ENOBUFS means events were lost.
template <typename Handle>
Result<int> drain_socket(int fd, Handle&& handle) {
  alignas(nlmsghdr) static thread_local char buffer[64 * 1024];
  int datagrams = 0;
  while (true) {
    ssize_t size = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (size < 0 && errno == EINTR) {
      continue;
    }
    if (size < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return datagrams;
    }
    if (size < 0) {
      return system_error("receiving process events", errno);
    }
    ++datagrams;
    for_each_event(buffer, static_cast<size_t>(size), handle);
  }
}

// Forks a child that exits at once and waits for its fork event. The kernel
// accepts a subscription from a nested network namespace but sends it
// nothing, so only an event proves that subscribing worked.
Status self_test(int fd) {
  pid_t child = ::fork();
  if (child < 0) {
    return system_error("fork for the proc connector self-test", errno);
  }
  if (child == 0) {
    _exit(0);
  }

  bool seen = false;
  auto see = [&](const proc_event& event) {
    seen |= event.what == proc_event::PROC_EVENT_FORK &&
            event.event_data.fork.child_tgid == child;
  };
  uint64_t deadline = monotonic_ns() + kSelfTestTimeoutMs * 1'000'000ull;
  Status result = Ok{};

  while (!seen) {
    uint64_t now = monotonic_ns();
    if (now >= deadline) {
      break;
    }
    pollfd waiting{fd, POLLIN, 0};
    int ready =
        ::poll(&waiting, 1, static_cast<int>((deadline - now) / 1'000'000) + 1);
    if (ready < 0 && errno != EINTR) {
      result = system_error("waiting for process events", errno);
      break;
    }
    Result<int> drained = drain_socket(fd, see);
    if (!drained && drained.error().errno_value != ENOBUFS) {
      result = drained.error();
      break;
    }
  }
  ::waitpid(child, nullptr, 0);

  if (!result) {
    return result;
  }
  if (!seen) {
    return Error{"no process event arrived within " +
                 std::to_string(kSelfTestTimeoutMs) +
                 " ms of a test fork: the proc connector delivers events "
                 "only to the initial network and PID namespaces"};
  }
  return Ok{};
}

// The proc connector as the procfs engine's wake-up source. The events carry
// no argv or exe, and a reading after an event is late for a fast exec
// chain, so every image is read by the procfs engine, and the events only
// make it read at once instead of at the next tick.
class NetlinkBackend : public CaptureBackend, public ProcessEventSource {
 public:
  explicit NetlinkBackend(UniqueFd socket)
      : socket_(std::move(socket)), procfs_(make_procfs_backend()) {}
  ~NetlinkBackend() override {
    Status ignored = send_mcast_op(socket_.get(), PROC_CN_MCAST_IGNORE);
    if (!ignored) {
      spdlog::debug("{}", ignored.error().message);
    }
  }

  std::string name() const override { return "netlink+procfs"; }
  Result<Capture> capture(const Target& target,
                          const CaptureOptions& options) override;

  int fd() const override { return socket_.get(); }
  Result<ProcessEvents> drain() override;

  void set_buffer_note(std::string note) { buffer_note_ = std::move(note); }

 private:
  void add(ProcessEvents& events, const proc_event& event);

  UniqueFd socket_;
  std::unique_ptr<CaptureBackend> procfs_;
  std::string buffer_note_;
  int overruns_ = 0;
  int64_t events_ = 0;
};

void NetlinkBackend::add(ProcessEvents& events, const proc_event& event) {
  ++events_;
  switch (event.what) {
    case proc_event::PROC_EVENT_FORK: {
      const auto& fork = event.event_data.fork;
      if (fork.child_pid == fork.child_tgid) {  // not a new thread
        events.forks.push_back({fork.parent_tgid, fork.child_tgid});
      }
      return;
    }
    case proc_event::PROC_EVENT_EXEC:
      events.execs.push_back(event.event_data.exec.process_tgid);
      return;
    default:
      return;  // exits are found by the engine's reads
  }
}

// Reads until the socket is empty. After ENOBUFS the socket delivers again,
// so reading goes on and the loss is reported in ProcessEvents::lost.
Result<ProcessEvents> NetlinkBackend::drain() {
  ProcessEvents events;
  while (true) {
    Result<int> drained = drain_socket(
        socket_.get(), [&](const proc_event& event) { add(events, event); });
    if (drained) {
      return events;
    }
    if (drained.error().errno_value != ENOBUFS) {
      return drained.error();
    }
    ++overruns_;
    events.lost = true;
    spdlog::warn("proc connector receive buffer overran; relisting /proc");
  }
}

Result<Capture> NetlinkBackend::capture(const Target& target,
                                        const CaptureOptions& options) {
  if (options.proc_root != "/proc") {
    return Error{"the netlink backend needs the live /proc, not " +
                 options.proc_root};
  }
  overruns_ = 0;
  events_ = 0;
  // Events queued since the socket was opened predate the window.
  Result<ProcessEvents> stale = drain();
  (void)stale;
  overruns_ = 0;

  CaptureOptions with_events = options;
  with_events.events = this;
  Result<Capture> result = procfs_->capture(target, with_events);
  if (!result) {
    return result;
  }
  result->backend = name();
  if (!buffer_note_.empty()) {
    result->diagnostics.push_back(buffer_note_);
  }
  if (overruns_ > 0) {
    result->diagnostics.push_back(
        "the proc connector receive buffer overran " +
        count_phrase(overruns_, "time", "times") +
        "; short-lived processes of that moment may be missing");
  }
  spdlog::info("netlink+procfs: {} process events received", events_);
  return result;
}

}  // namespace

bool in_initial_pid_namespace() {
  struct stat own {};
  if (::stat("/proc/self/ns/pid", &own) != 0) {
    // Without a readable /proc/self the namespace cannot be determined, and a
    // process of the initial namespace is listed in every procfs.
    return false;
  }
  return own.st_ino == kInitialPidNamespaceInode;
}

Result<std::unique_ptr<CaptureBackend>> make_netlink_backend() {
  if (!in_initial_pid_namespace()) {
    return Error{
        "the proc connector needs the initial PID namespace, and this "
        "process runs in a nested one"};
  }
  UniqueFd socket(
      ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR));
  if (!socket.valid()) {
    return system_error("opening a NETLINK_CONNECTOR socket", errno);
  }
  std::string buffer_note;
  int size = kReceiveBufferBytes;
  if (::setsockopt(socket.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size,
                   sizeof(size)) != 0) {
    // Without CAP_NET_ADMIN the size is capped by net.core.rmem_max.
    int force_errno = errno;
    ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    buffer_note = "proc connector receive buffer not enlarged to 8 MiB: " +
                  std::string(std::strerror(force_errno)) +
                  "; events may be lost in bursts";
  }
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_groups = CN_IDX_PROC;
  address.nl_pid = 0;
  if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&address),
             sizeof(address)) != 0) {
    return system_error("binding the NETLINK_CONNECTOR socket to CN_IDX_PROC",
                        errno);
  }
  Status listening = send_mcast_op(socket.get(), PROC_CN_MCAST_LISTEN);
  if (!listening) {
    return listening.error();
  }
  Status tested = self_test(socket.get());
  if (!tested) {
    (void)send_mcast_op(socket.get(), PROC_CN_MCAST_IGNORE);
    return tested.error();
  }
  auto backend = std::make_unique<NetlinkBackend>(std::move(socket));
  backend->set_buffer_note(std::move(buffer_note));
  return std::unique_ptr<CaptureBackend>(std::move(backend));
}

}  // namespace entrytrace
