// The procfs capture backend: polls the target at a fixed interval on
// absolute CLOCK_MONOTONIC deadlines, so a slow poll does not shift the ones
// after it.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>

#include "common/log.h"
#include "poller/capture.h"
#include "poller/proc_parse.h"
#include "poller/procfs_poller.h"

namespace entrytrace {
namespace {

// Socket tables are read at most this often, because a socket round reads
// every member's fd/ links, more work than the stat and cmdline of a poll.
constexpr int64_t kSocketPeriodUs = 50'000;

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

// Opens path below root_fd as if root_fd were "/", so that a symbolic link
// inside the target's root cannot lead out of it.
Result<UniqueFd> open_in_root(int root_fd, const char* path) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
  if (fd >= 0) {
    return UniqueFd(static_cast<int>(fd));
  }
  if (errno != ENOSYS) {
    return system_error(path, errno);
  }
  // NOTE: kernels before 5.6 have no openat2; this fallback refuses a
  // symbolic link in the last component only.
  fd = ::openat(root_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return system_error(path, errno);
  }
  return UniqueFd(static_cast<int>(fd));
}

Result<std::string> read_all(int fd, const std::string& path) {
  std::string text;
  char buffer[8192];
  while (true) {
    ssize_t count = ::read(fd, buffer, sizeof(buffer));
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count < 0) {
      return system_error(path, errno);
    }
    if (count == 0) {
      return text;
    }
    text.append(buffer, count);
  }
}

// Reads the target's /etc/passwd through <proc_root>/<pid>/root.
Result<PasswdEntries> read_target_passwd(const std::string& proc_root,
                                         int32_t host_pid) {
  std::string root = proc_root + "/" + std::to_string(host_pid) + "/root";
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) {
    return system_error(root, errno);
  }
  Result<UniqueFd> file = open_in_root(root_fd.get(), "etc/passwd");
  if (!file) {
    return Error{root + "/" + file.error().message, file.error().errno_value};
  }
  Result<std::string> text = read_all(file->get(), root + "/etc/passwd");
  if (!text) {
    return text.error();
  }
  return parse_passwd(*text);
}

// Reports a hidepid mount of the proc root: other users' processes are then
// missing from the listing, unless the reader is root.
std::optional<std::string> hidepid_diagnostic(const std::string& proc_root) {
  if (geteuid() == 0) {
    return std::nullopt;
  }
  char resolved[PATH_MAX];
  if (realpath(proc_root.c_str(), resolved) == nullptr) {
    return std::nullopt;
  }
  ProcReader reader(proc_root);
  Result<PidDirectory> self = reader.open_pid(getpid());
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
  return proc_root + " is mounted with hidepid=" + *option +
         ": processes of other users are hidden or unreadable, so the "
         "result may be incomplete";
}

// The state of one capture window.
class CaptureRun {
 public:
  CaptureRun(const Target& target, const CaptureOptions& options)
      : target_(target),
        options_(options),
        poller_(target, options.proc_root) {}

  Result<Capture> run();

 private:
  bool stop_requested() const {
    return options_.stop != nullptr && options_.stop->load();
  }
  Status poll_once(int64_t now_us, bool sockets_due);
  // Polls until the window ends, the namespace empties or a stop is
  // requested. Returns the time observed since start_us.
  int64_t poll_window(int64_t start_us);
  void read_user_names(bool final_read);
  Capture assemble(int64_t elapsed_us);

  const Target& target_;
  const CaptureOptions& options_;
  ProcfsPoller poller_;
  std::map<uint32_t, std::string> user_names_;
  std::string passwd_error_;
  std::vector<std::string> evidence_;
  int overruns_ = 0;
  int polls_ = 0;
};

Status CaptureRun::poll_once(int64_t now_us, bool sockets_due) {
  Status polled = poller_.poll(now_us);
  if (!polled) {
    spdlog::warn("poll at {} us failed: {}", now_us, polled.error().message);
    return polled;
  }
  ++polls_;
  if (sockets_due) {
    poller_.poll_sockets(now_us);
  }
  return Ok{};
}

Result<Capture> CaptureRun::run() {
  const uint64_t boot_ticks = boot_ticks_now(ticks_per_second());
  const int64_t start_us = monotonic_us();

  Status first = poll_once(0, true);
  if (!first) {
    return first.error();
  }
  if (!poller_.has_live_members()) {
    return Error{"no process of the target PID namespace (inode " +
                 std::to_string(target_.pid_ns) + ") is left: " +
                 target_.description + " exited before capture started"};
  }
  read_user_names(false);
  if (options_.on_first_scan) {
    options_.on_first_scan();
  }

  int64_t elapsed_us = poll_window(start_us);
  poller_.finish();
  read_user_names(true);

  Capture result = assemble(elapsed_us);
  result.window_start_ticks = boot_ticks;
  result.user_names = std::move(user_names_);
  return result;
}

int64_t CaptureRun::poll_window(int64_t start_us) {
  const int64_t window_us = options_.window.count();
  const int64_t interval_us = std::max<int64_t>(options_.interval.count(), 1);
  const int64_t socket_every =
      std::max<int64_t>(1, kSocketPeriodUs / interval_us);

  int64_t now_us = 0;
  for (int64_t tick = 1; !stop_requested(); ++tick) {
    int64_t deadline_us = std::min(tick * interval_us, window_us);
    sleep_until_us(start_us + deadline_us);
    if (stop_requested()) {
      break;
    }
    now_us = monotonic_us() - start_us;
    bool last = deadline_us >= window_us;
    (void)poll_once(now_us, last || tick % socket_every == 0);

    // After a poll that overran, skip the deadlines already past instead of
    // polling back to back to catch up.
    int64_t finished_us = monotonic_us() - start_us;
    if (finished_us >= (tick + 1) * interval_us) {
      ++overruns_;
      tick = finished_us / interval_us;
    }
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

void CaptureRun::read_user_names(bool final_read) {
  int32_t pid = poller_.init_host_pid();
  if (pid == 0) {
    pid = target_.host_pid;
  }
  Result<PasswdEntries> passwd = read_target_passwd(options_.proc_root, pid);
  if (!passwd) {
    // Keep the names read at the start when the target is gone by the end.
    if (!final_read || user_names_.empty()) {
      passwd_error_ = passwd.error().message;
    }
    return;
  }
  user_names_ = std::move(passwd->names);
  passwd_error_.clear();
}

Capture CaptureRun::assemble(int64_t elapsed_us) {
  Capture capture;
  capture.backend = "procfs";
  capture.target.description = target_.description;
  capture.target.pid_ns = target_.pid_ns;
  capture.target.pid_ns_depth = target_.pid_ns_depth;
  capture.target.init_host_pid = poller_.init_host_pid();
  capture.window_us = options_.window.count();
  capture.interval_us = options_.interval.count();
  capture.elapsed_us = elapsed_us;
  capture.ticks_per_second = ticks_per_second();
  capture.observations = poller_.take_observations();
  capture.evidence = evidence_;
  capture.diagnostics = poller_.diagnostics();
  if (!passwd_error_.empty()) {
    capture.diagnostics.push_back("user names unknown: " + passwd_error_);
  }
  if (overruns_ > 0) {
    capture.diagnostics.push_back(
        std::to_string(overruns_) + " of " + std::to_string(polls_) +
        " polls overran the interval; the deadlines they overran were "
        "skipped");
  }
  if (std::optional<std::string> hidden =
          hidepid_diagnostic(options_.proc_root)) {
    capture.diagnostics.push_back(*hidden);
  }
  spdlog::info("procfs capture of {}: {} observations in {} ms, {} polls",
               target_.description, capture.observations.size(),
               elapsed_us / 1000, polls_);
  return capture;
}

class ProcfsBackend : public CaptureBackend {
 public:
  std::string name() const override { return "procfs"; }
  Result<Capture> capture(const Target& target,
                          const CaptureOptions& options) override {
    CaptureRun run(target, options);
    return run.run();
  }
};

}  // namespace

std::unique_ptr<CaptureBackend> make_procfs_backend() {
  return std::make_unique<ProcfsBackend>();
}

}  // namespace entrytrace
