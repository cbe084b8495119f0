// The procfs capture backend: ticks on absolute CLOCK_MONOTONIC deadlines,
// short ones while a process is hot and longer ones otherwise. Each tick
// reads the pid counter and opens the newly allocated pids by number, then
// re-reads the members whose read schedule is due (see procfs_poller.h).
// Through a procfs scoped to the target's namespace (proc_view.h), a tick
// whose counter moved lists that procfs instead, because the counter
// numbers the host's pids and the scoped procfs shows the target's.
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "common/log.h"
#include "common/target_root.h"
#include "poller/capabilities.h"
#include "poller/capture.h"
#include "poller/pid_counter.h"
#include "poller/proc_parse.h"
#include "poller/proc_view.h"
#include "poller/procfs_poller.h"

namespace entrytrace {
namespace {

// Listings without a pid counter (a recorded tree, another namespace's
// procfs): the only way to find new pids then, so more often, but not every
// tick, because a listing of a busy host costs far more than a tick.
constexpr int64_t kFallbackListingUs = 10'000;
// A counter move of more pids than this is handled by a listing, which
// costs about as much as opening this many pids by number.
constexpr int32_t kMaxProbeSpan = 256;

// The poller's read schedule for the steady-state periods of the options.
ReadScheduleParams schedule_params(const PollPeriods& periods) {
  ReadScheduleParams params;
  params.backoff_max_us = periods.reread_cap.count();
  params.socket_first_us = periods.socket_period.count();
  params.socket_max_us = periods.socket_cap.count();
  return params;
}

int64_t monotonic_us() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000 + now.tv_nsec / 1000;
}

// Sleeps until an absolute CLOCK_MONOTONIC time; returns early when a signal
// arrives, so that the caller can check its stop flag.
void sleep_until_us(int64_t deadline_us) {
  timespec deadline{};
  deadline.tv_sec = deadline_us / 1'000'000;
  deadline.tv_nsec = (deadline_us % 1'000'000) * 1000;
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr);
}

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

// The largest /etc/passwd read from the target; a longer one is cut and its
// last entries have no names.
constexpr size_t kMaxPasswdBytes = 4 << 20;

// Reads the target's /etc/passwd through the root of the process id names.
// The root is opened through a held <proc_root>/<pid> directory, whose stat
// must then show id's start ticks. So a pid that was reused since id was
// read fails with ESRCH instead of leading into another process's root.
Result<PasswdEntries> read_target_passwd(const std::string& proc_root,
                                         const ProcessId& id) {
  Result<PidDirectory> dir = ProcReader(proc_root).open_pid(id.host_pid);
  if (!dir) {
    return dir.error();
  }
  std::string root = proc_root + "/" + std::to_string(id.host_pid) + "/root";
  UniqueFd root_fd(
      ::openat(dir->fd(), "root", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) {
    return system_error(root, errno);
  }
  Result<StatFields> stat = read_stat(*dir);
  if (!stat) {
    return stat.error();
  }
  if (stat->start_ticks != id.start_ticks) {
    return Error{"pid " + std::to_string(id.host_pid) +
                     " was reused by another process (start ticks " +
                     std::to_string(stat->start_ticks) + ", expected " +
                     std::to_string(id.start_ticks) +
                     "), so its root was not read",
                 ESRCH};
  }
  Result<std::string> text =
      read_file_in_root(root_fd.get(), root, "/etc/passwd", kMaxPasswdBytes);
  if (!text) {
    return text.error();
  }
  return parse_passwd(*text);
}

// Reports a hidepid mount of the proc root: other users' processes are then
// missing from the listing, unless the reader is root.
std::optional<std::string> hidepid_diagnostic(const std::string& proc_root) {
  char resolved[PATH_MAX];
  if (realpath(proc_root.c_str(), resolved) == nullptr) {
    return std::nullopt;
  }
  Result<int32_t> own_pid = read_own_pid(proc_root);
  if (!own_pid) {
    return std::nullopt;
  }
  ProcReader reader(proc_root);
  Result<PidDirectory> self = reader.open_pid(*own_pid);
  if (!self) {
    return std::nullopt;
  }
  Result<std::string> mountinfo = self->read_to_end("mountinfo");
  if (!mountinfo) {
    return std::nullopt;
  }
  std::optional<std::string> option = find_hidepid_option(*mountinfo, resolved);
  if (!option || *option == "0" || *option == "off") {
    return std::nullopt;
  }
  // hidepid hides nothing from a reader with CAP_SYS_PTRACE.
  Result<CapabilitySet> capabilities = read_capabilities();
  if (capabilities && capabilities->has(CAP_SYS_PTRACE)) {
    return proc_root + " is mounted with hidepid=" + *option +
           ", which hides nothing from entrytrace because it has "
           "CAP_SYS_PTRACE";
  }
  return proc_root + " is mounted with hidepid=" + *option +
         ": processes of other users are hidden or unreadable, so the "
         "result may be incomplete";
}

// Raises the calling thread's timing for the window and restores it after:
// a timer slack of 1 ns, so that sleeps end on time instead of up to the
// default 50 us late, and SCHED_FIFO when requested and permitted.
class WindowTiming {
 public:
  WindowTiming(bool realtime, int priority) {
    saved_slack_ = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    if (!realtime) {
      description_ = "real-time priority not requested";
      return;
    }
    saved_policy_ = sched_getscheduler(0);
    sched_getparam(0, &saved_param_);
    sched_param param{};
    param.sched_priority = priority;
    // Reset on fork, so that nothing started from this thread inherits it.
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &param) != 0) {
      description_ = std::string("real-time priority unavailable: ") +
                     std::strerror(errno);
      return;
    }
    raised_ = true;
    description_ =
        "capture ran with SCHED_FIFO priority " + std::to_string(priority);
  }

  ~WindowTiming() {
    if (raised_) {
      sched_setscheduler(0, saved_policy_, &saved_param_);
    }
    if (saved_slack_ > 0) {
      prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(saved_slack_), 0, 0,
            0);
    }
  }

  WindowTiming(const WindowTiming&) = delete;
  WindowTiming& operator=(const WindowTiming&) = delete;

  const std::string& description() const { return description_; }

 private:
  int saved_slack_ = 0;
  int saved_policy_ = SCHED_OTHER;
  sched_param saved_param_{};
  bool raised_ = false;
  std::string description_;
};

// The state of one capture window.
class CaptureRun {
 public:
  // target is as the user named it, for the result; the poller reads the
  // view's target through the view's proc root.
  CaptureRun(const Target& target, const ProcView& view,
             const CaptureOptions& options)
      : target_(target),
        view_(view),
        options_(options),
        poller_(view.target, view.proc_root, schedule_params(options.periods)) {
    if (view.scoped()) {
      prepare_scoped();
    }
  }

  Result<Capture> run();

 private:
  bool stop_requested() const {
    return options_.stop != nullptr && options_.stop->load();
  }
  void prepare_scoped();
  void open_counter();
  // One tick: finds new pids (probe or listing), re-reads the due members
  // and, when due, the listening sockets.
  void tick(int64_t now_us, bool sockets_due);
  bool find_new_pids(int64_t now_us);
  int64_t listing_period_us() const;
  // Ticks until the window ends, the namespace empties or a stop is
  // requested. Returns the time observed since start_us.
  int64_t poll_window(int64_t start_us);
  // Sleeps until the absolute deadline, or, with an event source, waits on
  // it and reads the target's forks and execs as they arrive.
  void wait_until(int64_t start_us, int64_t deadline_us);
  void read_events(int64_t now_us);
  bool concerns_target(const ProcessEvents& events) const;
  int64_t next_deadline(int64_t deadline_us, int64_t now_us);
  void read_user_names(bool final_read);
  std::optional<std::string> miss_evidence() const;
  void add_engine_evidence(std::vector<std::string>& lines) const;
  void add_engine_diagnostics(std::vector<std::string>& lines) const;
  Capture assemble(int64_t elapsed_us);

  const Target& target_;
  const ProcView& view_;
  const CaptureOptions& options_;
  ProcfsPoller poller_;
  std::optional<LastPidCounter> counter_;
  std::string counter_error_;
  // Whether the window ran with real-time priority, for the evidence.
  std::string timing_;
  int32_t last_pid_ = 0;
  int64_t last_listing_us_ = 0;
  int64_t last_socket_us_ = 0;
  std::map<uint32_t, std::string> user_names_;
  std::string passwd_error_;
  std::vector<std::string> evidence_;
  int overruns_ = 0;
  int64_t elapsed_us_ = 0;
  int64_t wakes_ = 0;
  int64_t hot_ticks_ = 0;
  int64_t listings_ = 0;
  // With an event source: wake-ups by events, the extra ticks they caused,
  // and how often events were lost.
  int64_t event_wakes_ = 0;
  int64_t event_ticks_ = 0;
  int64_t events_lost_ = 0;
  std::string event_error_;
};

void CaptureRun::open_counter() {
  Result<LastPidCounter> counter = open_last_pid_counter(options_.proc_root);
  if (!counter) {
    counter_error_ = counter.error().message;
    spdlog::info("no pid counter ({}); new processes found by listing {}",
                 counter_error_, view_.proc_root);
    return;
  }
  Result<int32_t> current = counter->read();
  if (!current) {
    counter_error_ = current.error().message;
    return;
  }
  last_pid_ = *current;
  counter_ = std::move(*counter);
}

// Names entrytrace to the poller of a scoped procfs, which does not show
// it: its launched child's parent reads as ppid 0 there. Gap probes start
// above the pid that a setns helper took in the target's namespace
// (ScopedProc::helper_pid), or at the first listing without one.
void CaptureRun::prepare_scoped() {
  Result<int32_t> own_pid = read_own_pid(options_.proc_root);
  Result<PidDirectory> self =
      own_pid ? ProcReader(options_.proc_root).open_pid(*own_pid)
              : Result<PidDirectory>(own_pid.error());
  if (self) {
    Result<ProcessReading> reading = read_process(*self);
    if (reading) {
      poller_.set_capturer(0, std::move(reading->snapshot.image));
    }
  }
  poller_.probe_gaps_after(view_.proc.helper_pid);
}

// Reads the pid counter and opens the pids it reports as allocated. Returns
// true when the proc root is to be listed now instead: the counter moved
// too far or failed, or, through a scoped procfs, it moved at all. The
// counter is that of entrytrace's namespace, an ancestor of the target's,
// so every pid allocated in the target moves it too, but its numbers are
// not the scoped procfs's. Without a counter a scoped procfs is listed on
// every tick, which is cheap because it holds only the target's processes.
bool CaptureRun::find_new_pids(int64_t now_us) {
  if (!counter_) {
    return view_.scoped();
  }
  Result<int32_t> current = counter_->read();
  if (!current) {
    counter_error_ = current.error().message;
    spdlog::warn("pid counter failed, listing instead: {}", counter_error_);
    counter_.reset();
    return true;
  }
  ProbePlan plan = plan_probe(last_pid_, *current, kMaxProbeSpan);
  last_pid_ = *current;
  if (view_.scoped()) {
    return plan.kind != ProbePlan::Kind::kNothing;
  }
  if (plan.kind == ProbePlan::Kind::kProbe) {
    poller_.probe(plan.first, plan.last, now_us);
  }
  return plan.kind == ProbePlan::Kind::kList;
}

// The maximum time between two listings of the proc root.
int64_t CaptureRun::listing_period_us() const {
  if (counter_) {
    return options_.periods.safety_listing.count();
  }
  return view_.scoped() ? 0 : kFallbackListingUs;
}

void CaptureRun::tick(int64_t now_us, bool sockets_due) {
  bool list_now = find_new_pids(now_us);
  if (list_now || now_us - last_listing_us_ >= listing_period_us()) {
    Status listed = poller_.list(now_us);
    if (!listed) {
      spdlog::warn("listing at {} us failed: {}", now_us,
                   listed.error().message);
    }
    last_listing_us_ = now_us;
    ++listings_;
  }

  poller_.refresh(now_us);
  if (sockets_due) {
    poller_.poll_sockets(now_us);
    last_socket_us_ = now_us;
  }
}

Result<Capture> CaptureRun::run() {
  const uint64_t boot_ticks = boot_ticks_now(ticks_per_second());
  const int64_t start_us = monotonic_us();
  WindowTiming timing(options_.realtime, options_.realtime_priority);
  timing_ = timing.description();

  // The counter is read before the first listing, so that a pid allocated
  // after that read is probed at the first tick even if the listing missed
  // it. A pid that the listing saw as well is recognised by its directory
  // inode and not read twice.
  open_counter();
  Status first = poller_.poll(0);
  if (!first) {
    return first.error();
  }
  poller_.poll_sockets(0);
  ++listings_;
  if (!poller_.has_live_members()) {
    return Error{"no process of the target PID namespace (inode " +
                 std::to_string(target_.pid_ns) + ") is left: " +
                 target_.description + " exited before capture started"};
  }
  read_user_names(false);
  if (options_.on_first_scan) {
    options_.on_first_scan();
    // A launcher returns once its child has exec'd, and the first program
    // may exec the next within a millisecond, so it is read at once.
    tick(monotonic_us() - start_us, false);
  }

  int64_t elapsed_us = poll_window(start_us);
  // Socket reads back off per process, so the sockets of every member are
  // read once more for the state at the end of the window.
  poller_.poll_sockets(elapsed_us, true);
  poller_.finish();
  read_user_names(true);

  Capture result = assemble(elapsed_us);
  result.window_start_ticks = boot_ticks;
  result.user_names = std::move(user_names_);
  return result;
}

// The next absolute deadline: one tick after the previous one, hot or idle
// length, or one tick from now after an overrun, so that a slow tick is not
// followed by ticks back to back.
int64_t CaptureRun::next_deadline(int64_t deadline_us, int64_t now_us) {
  int64_t idle_us = std::max<int64_t>(options_.interval.count(), 1);
  int64_t hot_us =
      std::clamp<int64_t>(options_.hot_interval.count(), 1, idle_us);
  bool hot = poller_.any_hot();
  if (hot) {
    ++hot_ticks_;
  }
  int64_t tick_us = hot ? hot_us : idle_us;
  int64_t next_us = deadline_us + tick_us;
  if (next_us <= now_us) {
    ++overruns_;
    next_us = now_us + tick_us;
  }
  return std::min(next_us, options_.window.count());
}

int64_t CaptureRun::poll_window(int64_t start_us) {
  const int64_t window_us = options_.window.count();
  int64_t deadline_us = 0;
  int64_t now_us = 0;
  while (!stop_requested()) {
    deadline_us = next_deadline(deadline_us, monotonic_us() - start_us);
    wait_until(start_us, deadline_us);
    ++wakes_;
    if (stop_requested()) {
      break;
    }
    now_us = monotonic_us() - start_us;
    bool last = deadline_us >= window_us;
    tick(now_us, last || now_us - last_socket_us_ >=
                             options_.periods.socket_period.count());

    if (!poller_.has_live_members()) {
      evidence_.push_back("target pid namespace emptied after " +
                          std::to_string(now_us / 1000) + " ms");
      return now_us;
    }
    if (last) {
      return now_us;
    }
  }
  now_us = monotonic_us() - start_us;
  evidence_.push_back("capture stopped early after " +
                      std::to_string(now_us / 1000) + " ms");
  return now_us;
}

void CaptureRun::wait_until(int64_t start_us, int64_t deadline_us) {
  ProcessEventSource* source = options_.events;
  if (source == nullptr || !event_error_.empty()) {
    sleep_until_us(start_us + deadline_us);
    return;
  }
  while (!stop_requested()) {
    int64_t left_us = start_us + deadline_us - monotonic_us();
    if (left_us <= 0) {
      return;
    }
    timespec timeout{};
    timeout.tv_sec = left_us / 1'000'000;
    timeout.tv_nsec = (left_us % 1'000'000) * 1000;
    pollfd waiting{source->fd(), POLLIN, 0};
    int ready = ppoll(&waiting, 1, &timeout, nullptr);
    if (ready < 0 && errno == EINTR) {
      return;  // a signal: the caller checks its stop flag
    }
    if (ready < 0) {
      event_error_ = std::string("waiting for process events failed: ") +
                     std::strerror(errno);
      spdlog::warn("{}; ticking without events", event_error_);
      sleep_until_us(start_us + deadline_us);
      return;
    }
    if (ready == 0) {
      return;
    }
    ++event_wakes_;
    read_events(monotonic_us() - start_us);
  }
}

// Drains the source. A fork by a member or an exec of one runs a tick at
// once: the pid counter shows the child, which is probed, and refresh()
// re-reads the hot members, the new child among them. Events of other
// processes on the host only wake the loop.
// NOTE: refresh() re-reads only the members that are due, so the exec of a
// member whose reads have backed off is read at its next scheduled read, up
// to the backoff cap (read_schedule.h) later.
void CaptureRun::read_events(int64_t now_us) {
  Result<ProcessEvents> events = options_.events->drain();
  if (!events) {
    event_error_ = events.error().message;
    spdlog::warn("{}; ticking without events", event_error_);
    return;
  }
  if (events->lost) {
    ++events_lost_;
    Status listed = poller_.list(now_us);
    if (!listed) {
      spdlog::warn("listing after lost events failed: {}",
                   listed.error().message);
    }
    last_listing_us_ = now_us;
    ++listings_;
  }
  if (!concerns_target(*events)) {
    return;
  }
  if (!counter_) {
    // Without the pid counter, the forked children are probed by pid.
    for (const ProcessEvents::Fork& fork : events->forks) {
      poller_.probe(fork.child_pid, fork.child_pid, now_us);
    }
  }
  ++event_ticks_;
  tick(now_us, false);
}

bool CaptureRun::concerns_target(const ProcessEvents& events) const {
  auto member = [&](int32_t pid) {
    const TrackedProcess* process = poller_.tracker().find(pid);
    return process != nullptr && !process->exited;
  };
  for (const ProcessEvents::Fork& fork : events.forks) {
    if (member(fork.parent_pid)) {
      return true;
    }
  }
  for (int32_t pid : events.execs) {
    if (member(pid)) {
      return true;
    }
  }
  return false;
}

// Reads the names through the root of a live tracked member: the
// namespace's pid 1, else the named process, else the others in pid order
// (the named process's pid in a scoped procfs is unknown without NStgid).
// Only tracked members are used, because their start ticks tell a reused
// pid apart. A member that fails, such as one that exited and whose pid was
// taken by another process, is skipped for the next.
void CaptureRun::read_user_names(bool final_read) {
  const ProcessTracker& tracker = poller_.tracker();
  std::vector<int32_t> candidates = {poller_.init_host_pid(),
                                     view_.target.host_pid};
  for (int32_t pid : tracker.live_pids()) {
    candidates.push_back(pid);
  }
  std::string first_error;
  for (int32_t pid : candidates) {
    const TrackedProcess* member = pid == 0 ? nullptr : tracker.find(pid);
    if (member == nullptr || member->exited) {
      continue;
    }
    Result<PasswdEntries> passwd =
        read_target_passwd(view_.proc_root, member->latest.id);
    if (passwd) {
      user_names_ = std::move(passwd->names);
      passwd_error_.clear();
      return;
    }
    spdlog::debug("user names not read through pid {}: {}", pid,
                  passwd.error().message);
    if (first_error.empty()) {
      first_error = passwd.error().message;
    }
  }
  if (first_error.empty()) {
    first_error = "no live member of the target to read /etc/passwd through";
  }
  // Keep the names read at the start when the target is gone by the end.
  if (!final_read || user_names_.empty()) {
    passwd_error_ = first_error;
  }
}

// States how many probed pids were gone when opened. In the target's own
// PID namespace every probed pid is the target's, so the count is a lower
// bound of its short-lived tasks that were missed. From an ancestor
// namespace the probed pids include other namespaces' tasks.
std::optional<std::string> CaptureRun::miss_evidence() const {
  int64_t vanished = poller_.probe_vanished();
  if (vanished == 0) {
    return std::nullopt;
  }
  std::string count = std::to_string(vanished);
  if (view_.target.pid_ns_depth == 0) {
    return "at least " + count +
           " short-lived processes or threads exited before they could be "
           "read (pids allocated during the window and already reaped when "
           "opened)";
  }
  return count + " of " + std::to_string(poller_.probed_pids()) +
         " pids allocated on this host during the window were already "
         "reaped when opened; short-lived processes of the target may be "
         "among them, together with other namespaces' processes and "
         "threads";
}

// Appends how the window ran: real-time priority, wake-ups (which set most
// of the CPU cost) and the pids that were gone before they could be read.
void CaptureRun::add_engine_evidence(std::vector<std::string>& lines) const {
  lines.push_back(view_.evidence);
  lines.push_back(timing_);

  int64_t elapsed_us = std::max<int64_t>(elapsed_us_, 1);
  lines.push_back("capture woke " + std::to_string(wakes_) + " times in " +
                  std::to_string(elapsed_us_ / 1000) + " ms (" +
                  std::to_string(wakes_ * 1'000'000 / elapsed_us) +
                  " per second, " + std::to_string(hot_ticks_) +
                  " of them on the short tick for hot processes)");

  if (options_.events != nullptr) {
    lines.push_back("process events woke the capture " +
                    std::to_string(event_wakes_) + " times, " +
                    std::to_string(event_ticks_) +
                    " of them for the target's forks and execs, each read "
                    "at once");
  }

  if (std::optional<std::string> missed = miss_evidence()) {
    lines.push_back(*missed);
  }
}

void CaptureRun::add_engine_diagnostics(std::vector<std::string>& lines) const {
  if (!counter_error_.empty() && view_.scoped()) {
    lines.push_back(
        "the target's procfs was listed on every tick instead of when the "
        "pid counter moved: " +
        counter_error_);
  } else if (!counter_error_.empty()) {
    lines.push_back("new processes found by listing " + options_.proc_root +
                    " every " + std::to_string(listing_period_us() / 1000) +
                    " ms instead of by the pid counter: " + counter_error_);
  }
  if (!passwd_error_.empty()) {
    lines.push_back("user names unknown: " + passwd_error_);
  }
  if (events_lost_ > 0) {
    lines.push_back("process events were lost " + std::to_string(events_lost_) +
                    " times (receive buffer overrun); " + options_.proc_root +
                    " was listed again each time");
  }
  if (!event_error_.empty()) {
    lines.push_back(
        "process events stopped during the window, ticks went on "
        "without them: " +
        event_error_);
  }
  if (overruns_ > 0) {
    lines.push_back(std::to_string(overruns_) + " of " +
                    std::to_string(wakes_) +
                    " ticks overran their deadline; the next tick was moved "
                    "one tick length past the overrun");
  }
}

Capture CaptureRun::assemble(int64_t elapsed_us) {
  elapsed_us_ = elapsed_us;
  Capture capture;
  capture.backend = "procfs";
  capture.target.description = target_.description;
  capture.target.pid_ns = target_.pid_ns;
  capture.target.pid_ns_depth = target_.pid_ns_depth;
  // A scoped procfs shows the target namespace's pids, never host pids.
  capture.target.host_pids_visible = !view_.scoped();
  capture.target.init_host_pid = view_.scoped() ? 0 : poller_.init_host_pid();
  capture.window_us = options_.window.count();
  capture.interval_us = options_.interval.count();
  capture.elapsed_us = elapsed_us;
  capture.ticks_per_second = ticks_per_second();
  capture.observations = poller_.take_observations();
  capture.evidence = evidence_;
  add_engine_evidence(capture.evidence);

  capture.diagnostics = poller_.diagnostics();
  add_engine_diagnostics(capture.diagnostics);
  if (std::optional<std::string> hidden =
          hidepid_diagnostic(options_.proc_root)) {
    capture.diagnostics.push_back(*hidden);
  }
  spdlog::info(
      "procfs capture of {}: {} observations in {} ms, {} wakes ({} hot), "
      "{} listings, {} pids probed",
      target_.description, capture.observations.size(), elapsed_us / 1000,
      wakes_, hot_ticks_, listings_, poller_.probed_pids());
  return capture;
}

class ProcfsBackend : public CaptureBackend {
 public:
  std::string name() const override { return "procfs"; }
  Result<Capture> capture(const Target& target,
                          const CaptureOptions& options) override {
    std::optional<std::string> host_pids_needed;
    if (options.events != nullptr) {
      host_pids_needed = "process events name host pids";
    } else if (options.host_pids) {
      host_pids_needed = "--host-pids asks for host pids";
    }
    Result<ProcView> view =
        open_proc_view(target, options.proc_root, host_pids_needed);
    if (!view) {
      return view.error();
    }
    CaptureRun run(target, *view, options);
    return run.run();
  }
};

}  // namespace

std::unique_ptr<CaptureBackend> make_procfs_backend() {
  return std::make_unique<ProcfsBackend>();
}

}  // namespace entrytrace
