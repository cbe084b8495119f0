#include "poller/launcher.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/log.h"

extern char** environ;

namespace entrytrace {
namespace {

// The child only runs system calls between clone and exec, so a small stack
// is enough.
constexpr size_t kChildStackSize = 64 * 1024;

// What the child reports on the status pipe.
enum class ChildStage : int32_t {
  kReady,
  kPrivateMounts,
  kProcMount,
  kLoopback,
  kExec,
};

struct ChildReport {
  ChildStage stage = ChildStage::kReady;
  int32_t error = 0;
};

// Everything the child needs, prepared before clone so that the child does
// no allocation.
struct ChildArgs {
  std::vector<char*> argv;
  // execve candidates for argv[0], in PATH order.
  std::vector<std::string> candidates;
  bool new_network = false;
  int release_read = -1;
  int release_write = -1;
  int status_read = -1;
  int status_write = -1;
};

const char* stage_description(ChildStage stage) {
  switch (stage) {
    case ChildStage::kReady:
      return "start";
    case ChildStage::kPrivateMounts:
      return "make mounts private in the new mount namespace";
    case ChildStage::kProcMount:
      return "mount a new proc on /proc";
    case ChildStage::kLoopback:
      return "bring up loopback in the new network namespace";
    case ChildStage::kExec:
      return "run";
  }
  return "start";
}

// The execvp(3) search, done in the parent: a name with a slash is used as
// it is, any other is tried in each PATH directory.
std::vector<std::string> exec_candidates(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return {name};
  }
  const char* path = std::getenv("PATH");
  std::string directories =
      path != nullptr
          ? path
          : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::vector<std::string> candidates;
  size_t start = 0;
  while (start <= directories.size()) {
    size_t end = directories.find(':', start);
    if (end == std::string::npos) {
      end = directories.size();
    }
    std::string directory = directories.substr(start, end - start);
    candidates.push_back((directory.empty() ? "." : directory) + "/" + name);
    start = end + 1;
  }
  return candidates;
}

// --- Child side: async-signal-safe calls only. ---

[[noreturn]] void report_and_exit(int fd, ChildStage stage, int error) {
  ChildReport report{stage, error};
  ssize_t written = write(fd, &report, sizeof(report));
  (void)written;
  _exit(127);
}

int bring_loopback_up() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return errno;
  }
  ifreq request{};
  memcpy(request.ifr_name, "lo", 3);
  int error = 0;
  if (ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
    error = errno;
  } else {
    request.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &request) != 0) {
      error = errno;
    }
  }
  close(fd);
  return error;
}

void reset_signals() {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    if (signal_number != SIGKILL && signal_number != SIGSTOP) {
      sigaction(signal_number, &default_action, nullptr);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Blocks until the parent writes a byte; false when the parent closed the
// pipe or died first.
bool wait_for_release(int fd) {
  char byte = 0;
  ssize_t count;
  do {
    count = read(fd, &byte, 1);
  } while (count < 0 && errno == EINTR);
  return count == 1;
}

// Tries each candidate like execvp: a missing file moves on to the next,
// EACCES is remembered, any other error stops the search.
int exec_first_candidate(const ChildArgs& args) {
  int error = ENOENT;
  bool denied = false;
  for (const std::string& candidate : args.candidates) {
    execve(candidate.c_str(), args.argv.data(), environ);
    error = errno;
    if (error == EACCES) {
      denied = true;
    } else if (error != ENOENT && error != ENOTDIR && error != ESTALE &&
               error != ENODEV && error != ETIMEDOUT) {
      return error;
    }
  }
  return denied ? EACCES : error;
}

int child_main(void* raw_args) {
  const ChildArgs& args = *static_cast<const ChildArgs*>(raw_args);
  // The tree dies with the process that launched it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  close(args.release_write);
  close(args.status_read);
  reset_signals();
  // Descriptors of the launcher other than the two pipes must not leak into
  // the command; the pipes are close-on-exec already. Fails harmlessly on
  // kernels before 5.11.
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  // entrytrace's stdout carries only the result, so the command writes its
  // own output to stderr, beside our logs.
  dup2(STDERR_FILENO, STDOUT_FILENO);

  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    report_and_exit(args.status_write, ChildStage::kPrivateMounts, errno);
  }
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            nullptr) != 0) {
    report_and_exit(args.status_write, ChildStage::kProcMount, errno);
  }
  if (args.new_network) {
    int error = bring_loopback_up();
    if (error != 0) {
      report_and_exit(args.status_write, ChildStage::kLoopback, error);
    }
  }

  ChildReport ready{};
  if (write(args.status_write, &ready, sizeof(ready)) != sizeof(ready)) {
    _exit(127);
  }
  if (!wait_for_release(args.release_read)) {
    _exit(1);
  }
  report_and_exit(args.status_write, ChildStage::kExec,
                  exec_first_candidate(args));
}

// --- Parent side. ---

// Reads one report; returns false at end of file (the child exec'd or
// died).
bool read_report(int fd, ChildReport& report) {
  size_t done = 0;
  auto* bytes = reinterpret_cast<char*>(&report);
  while (done < sizeof(report)) {
    ssize_t count = read(fd, bytes + done, sizeof(report) - done);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count <= 0) {
      return false;
    }
    done += count;
  }
  return true;
}

void reap(int32_t pid) {
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

void close_fd(int& fd) {
  if (fd >= 0) {
    close(fd);
    fd = -1;
  }
}

bool make_pipe(int fds[2]) {
  return pipe2(fds, O_CLOEXEC) == 0;
}

Error report_error(const ChildReport& report, const std::string& command) {
  std::string action = stage_description(report.stage);
  if (report.stage == ChildStage::kExec) {
    action += " '" + command + "'";
  }
  return Error{"cannot " + action + ": " + std::strerror(report.error),
               report.error};
}

}  // namespace

Result<LaunchedTree> launch(const LaunchOptions& options) {
  if (options.argv.empty()) {
    return Error{"no command to launch"};
  }
  ChildArgs args;
  for (const std::string& word : options.argv) {
    args.argv.push_back(const_cast<char*>(word.c_str()));
  }
  args.argv.push_back(nullptr);
  args.candidates = exec_candidates(options.argv[0]);
  args.new_network = options.new_network;

  int release_pipe[2];
  int status_pipe[2];
  if (!make_pipe(release_pipe)) {
    return system_error("pipe", errno);
  }
  if (!make_pipe(status_pipe)) {
    int saved = errno;
    close(release_pipe[0]);
    close(release_pipe[1]);
    return system_error("pipe", saved);
  }
  args.release_read = release_pipe[0];
  args.release_write = release_pipe[1];
  args.status_read = status_pipe[0];
  args.status_write = status_pipe[1];

  void* stack = mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    int saved = errno;
    for (int fd :
         {release_pipe[0], release_pipe[1], status_pipe[0], status_pipe[1]}) {
      close(fd);
    }
    return system_error("mmap of the child stack", saved);
  }
  int flags = CLONE_NEWPID | CLONE_NEWNS | SIGCHLD;
  if (options.new_network) {
    flags |= CLONE_NEWNET;
  }
  // The stack grows down (on every architecture but PA-RISC), so the child
  // starts at the top of the mapping.
  int pid = clone(child_main, static_cast<char*>(stack) + kChildStackSize,
                  flags, &args);
  int clone_error = errno;
  // Without CLONE_VM the child runs on its own copy of the mapping.
  munmap(stack, kChildStackSize);
  close(release_pipe[0]);
  close(status_pipe[1]);

  LaunchedTree tree;
  tree.release_fd_ = release_pipe[1];
  tree.status_fd_ = status_pipe[0];
  if (pid < 0) {
    return system_error("clone with new PID and mount namespaces", clone_error);
  }
  tree.pid_ = pid;

  ChildReport report;
  if (!read_report(tree.status_fd_, report)) {
    reap(tree.pid_);
    tree.pid_ = 0;
    return Error{"the launched child exited before it was ready"};
  }
  if (report.stage != ChildStage::kReady) {
    reap(tree.pid_);
    tree.pid_ = 0;
    return report_error(report, options.argv[0]);
  }
  tree.command_ = options.argv[0];
  spdlog::debug("launched '{}' as host pid {}, held before exec",
                options.argv[0], pid);
  return tree;
}

LaunchedTree::LaunchedTree(LaunchedTree&& other) noexcept
    : pid_(std::exchange(other.pid_, 0)),
      release_fd_(std::exchange(other.release_fd_, -1)),
      status_fd_(std::exchange(other.status_fd_, -1)),
      command_(std::move(other.command_)),
      kept_(other.kept_) {}

LaunchedTree& LaunchedTree::operator=(LaunchedTree&& other) noexcept {
  if (this != &other) {
    if (!kept_) {
      stop(std::chrono::milliseconds(0));
    }
    close_fd(release_fd_);
    close_fd(status_fd_);
    pid_ = std::exchange(other.pid_, 0);
    release_fd_ = std::exchange(other.release_fd_, -1);
    status_fd_ = std::exchange(other.status_fd_, -1);
    command_ = std::move(other.command_);
    kept_ = other.kept_;
  }
  return *this;
}

LaunchedTree::~LaunchedTree() {
  if (!kept_) {
    stop(std::chrono::milliseconds(0));
  }
  // NOTE: a tree kept before release() finds its release pipe closed here
  // and exits without running the command.
  close_fd(release_fd_);
  close_fd(status_fd_);
}

Status LaunchedTree::release() {
  if (pid_ <= 0 || release_fd_ < 0) {
    return Error{"no launched command is waiting to be released"};
  }
  char byte = 1;
  ssize_t written;
  do {
    written = write(release_fd_, &byte, 1);
  } while (written < 0 && errno == EINTR);
  int write_error = errno;
  close_fd(release_fd_);
  if (written != 1) {
    return system_error("release of the launched command", write_error);
  }

  ChildReport report;
  bool exec_failed = read_report(status_fd_, report);
  close_fd(status_fd_);
  if (!exec_failed) {
    return Ok{};  // the status pipe closed on exec
  }
  reap(pid_);
  pid_ = 0;
  return report_error(report, command_);
}

void LaunchedTree::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) {
    return;
  }
  // A child still held before exec exits when its release pipe closes.
  close_fd(release_fd_);
  kill(pid_, SIGTERM);

  auto deadline = std::chrono::steady_clock::now() + grace;
  while (true) {
    pid_t done = waitpid(pid_, nullptr, WNOHANG);
    if (done == pid_ || (done < 0 && errno != EINTR)) {
      pid_ = 0;
      close_fd(status_fd_);
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // SIGKILL to the init of a PID namespace kills every process in it.
  kill(pid_, SIGKILL);
  reap(pid_);
  pid_ = 0;
  close_fd(status_fd_);
}

}  // namespace entrytrace
