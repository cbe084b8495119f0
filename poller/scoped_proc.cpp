#include "poller/scoped_proc.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

namespace entrytrace {
namespace {

// The steps of making a procfs, named in error messages.
enum class Step {
  kSetns,
  kFork,
  kFsopen,
  kPidnsOption,
  kFsconfig,
  kFsmount,
  kUnshare,
  kMountPrivate,
  kMountProc,
  kMountProcPidns,
  kOpen,
};

const char* step_name(Step step) {
  switch (step) {
    case Step::kSetns:
      return "setns";
    case Step::kFork:
      return "fork";
    case Step::kFsopen:
      return "fsopen";
    case Step::kPidnsOption:
      return "procfs pidns option";
    case Step::kFsconfig:
      return "fsconfig";
    case Step::kFsmount:
      return "fsmount";
    case Step::kUnshare:
      return "unshare";
    case Step::kMountPrivate:
      return "mount --make-rprivate /";
    case Step::kMountProc:
      return "mount proc on /proc";
    case Step::kMountProcPidns:
      return "mount proc on /proc with the pidns option";
    case Step::kOpen:
      return "open /proc";
  }
  return "?";
}

// The outcome of making a procfs, sent beside the descriptor. Plain values,
// because a helper fills it between fork and _exit.
struct Report {
  // errno of the failed step, or 0 on success.
  int error = 0;
  Step step = Step::kSetns;
  // getpid() of the helper's child, which made the procfs inside the
  // target's namespace, or 0 when no process entered it.
  int32_t pid = 0;
  // 1 when setns on the pidfd joined the namespace.
  int by_pidfd = 0;
  // errno of setns on the pidfd when the namespace file was used instead.
  int pidfd_error = 0;
};

// The target's namespace, opened once for every source and join.
struct NamespaceHandles {
  int32_t pid = 0;
  // /proc/<pid>/ns/pid of the target.
  UniqueFd ns_file;
  std::string ns_path;
  // A pidfd of the target, opened for the first setns join. It is invalid
  // when pidfd_note gives the reason.
  bool pidfd_tried = false;
  UniqueFd pidfd;
  std::string pidfd_note;
};

// The way a helper reaches the target's namespace.
enum class HelperJoin {
  // Mounts with the pidns option and stays outside the namespace.
  kPidnsOption,
  // Calls setns(2) and forks the child that makes the procfs.
  kSetns,
};

bool env_is_one(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && std::string_view(value) == "1";
}

// Records the failed step and returns -1. errno stays that of the step.
int fail(Report& report, Step step) {
  report.step = step;
  return -1;
}

// Sends the report, and fd when it is not negative. Async-signal-safe, for
// use between fork and _exit.
void send_report(int socket, const Report& report, int fd) {
  iovec data{const_cast<Report*>(&report), sizeof(report)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  if (fd >= 0) {
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
  }
  while (::sendmsg(socket, &message, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// Sends fd, or the failed step with errno when fd is negative.
// Async-signal-safe.
void send_result(int socket, Report report, int fd) {
  if (fd < 0) {
    report.error = errno;
  }
  send_report(socket, report, fd);
}

// Receives what send_report() sent: the descriptor and the report, or an
// Error naming the failed step and the helper's errno.
Result<UniqueFd> receive_report(int socket, const std::string& what,
                                Report& report) {
  iovec data{&report, sizeof(report)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t count = 0;
  do {
    count = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
  } while (count < 0 && errno == EINTR);
  if (count < 0) {
    return system_error(what + ": receiving the descriptor", errno);
  }
  if (count != static_cast<ssize_t>(sizeof(report))) {
    return Error{what + ": the helper process exited without a result"};
  }
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (header != nullptr && header->cmsg_type == SCM_RIGHTS) {
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(header), sizeof(int));
    return UniqueFd(fd);
  }
  return system_error(what + ": " + step_name(report.step),
                      report.error != 0 ? report.error : EPROTO);
}

// Makes a detached procfs of the namespace behind pidns_fd (an ns/pid
// file), or of the caller's own with -1. Returns its descriptor, or -1 with
// the failed step in report. Async-signal-safe.
int make_fsmount(Report& report, int pidns_fd) {
  int context = static_cast<int>(::syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC));
  if (context < 0) {
    return fail(report, Step::kFsopen);
  }
  int mount_fd = -1;
  if (pidns_fd >= 0 && ::syscall(SYS_fsconfig, context, FSCONFIG_SET_FD,
                                 "pidns", nullptr, pidns_fd) != 0) {
    fail(report, Step::kPidnsOption);
  } else if (::syscall(SYS_fsconfig, context, FSCONFIG_CMD_CREATE, nullptr,
                       nullptr, 0) != 0) {
    fail(report, Step::kFsconfig);
  } else {
    mount_fd =
        static_cast<int>(::syscall(SYS_fsmount, context, FSMOUNT_CLOEXEC, 0));
    if (mount_fd < 0) {
      fail(report, Step::kFsmount);
    }
  }
  int saved = errno;
  ::close(context);
  errno = saved;
  return mount_fd;
}

// In a helper: mounts procfs on /proc of a new mount namespace, so that
// the mount is visible to no other process, and returns a descriptor of it.
// options is "pidns=<path>", or null for the helper's own namespace.
// Async-signal-safe.
int make_private_mount(Report& report, const char* options) {
  if (::unshare(CLONE_NEWNS) != 0) {
    return fail(report, Step::kUnshare);
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return fail(report, Step::kMountPrivate);
  }
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              options) != 0) {
    return fail(report,
                options != nullptr ? Step::kMountProcPidns : Step::kMountProc);
  }
  int fd = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? fail(report, Step::kOpen) : fd;
}

// In a helper: joins the target's PID namespace through the pidfd, and
// through the namespace file when the kernel cannot setns on a pidfd.
// Async-signal-safe.
bool join_namespace(const NamespaceHandles& handles, Report& report) {
  if (handles.pidfd.valid()) {
    if (::setns(handles.pidfd.get(), CLONE_NEWPID) == 0) {
      report.by_pidfd = 1;
      return true;
    }
    if (errno != EINVAL && errno != ENOSYS) {
      return false;
    }
    report.pidfd_error = errno;
  }
  return ::setns(handles.ns_file.get(), CLONE_NEWPID) == 0;
}

// The helper, which never returns. With kPidnsOption it mounts the private
// procfs itself. With kSetns it joins the namespace and forks the child
// that makes the procfs inside it.
[[noreturn]] void run_helper(const NamespaceHandles& handles, ProcSource source,
                             HelperJoin join, const char* pidns_options,
                             int socket) {
  Report report;
  if (join == HelperJoin::kPidnsOption) {
    send_result(socket, report, make_private_mount(report, pidns_options));
    ::_exit(0);
  }
  if (!join_namespace(handles, report)) {
    send_result(socket, report, fail(report, Step::kSetns));
    ::_exit(1);
  }
  pid_t child = ::fork();
  if (child < 0) {
    send_result(socket, report, fail(report, Step::kFork));
    ::_exit(1);
  }
  if (child == 0) {
    report.pid = ::getpid();
    int fd = source == ProcSource::kFsmount
                 ? make_fsmount(report, -1)
                 : make_private_mount(report, nullptr);
    send_result(socket, report, fd);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  ::_exit(0);
}

// Forks the helper and receives the procfs it made.
Result<UniqueFd> make_in_helper(const NamespaceHandles& handles,
                                ProcSource source, HelperJoin join,
                                Report& report) {
  std::string what = std::string(proc_source_name(source)) + " failed";
  // Built before fork, because the helper may not allocate.
  std::string pidns_options =
      "pidns=/proc/self/fd/" + std::to_string(handles.ns_file.get());
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) {
    return system_error(what + ": socketpair", errno);
  }
  UniqueFd ours(sockets[0]);
  UniqueFd theirs(sockets[1]);

  pid_t helper = ::fork();
  if (helper < 0) {
    return system_error(what + ": fork", errno);
  }
  if (helper == 0) {
    run_helper(handles, source, join, pidns_options.c_str(), theirs.get());
  }

  theirs.reset();
  Result<UniqueFd> result = receive_report(ours.get(), what, report);
  int status = 0;
  while (::waitpid(helper, &status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

// Returns the inode of the PID namespace behind fd, or an Error.
Result<uint64_t> namespace_inode(int fd, const std::string& path) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    return system_error(path, errno);
  }
  return static_cast<uint64_t>(info.st_ino);
}

// Checks that fd, opened from ns_path, is the target's namespace, so that a
// pid reused by a process of another namespace is not joined.
Status check_namespace(const std::string& ns_path, int fd,
                       uint64_t target_pid_ns) {
  if (target_pid_ns == 0) {
    return Ok{};
  }
  Result<uint64_t> inode = namespace_inode(fd, ns_path);
  if (!inode) {
    return inode.error();
  }
  if (*inode != target_pid_ns) {
    return Error{ns_path + " is PID namespace " + std::to_string(*inode) +
                     ", not the target's " + std::to_string(target_pid_ns) +
                     ": the pid was reused",
                 ESRCH};
  }
  return Ok{};
}

// Opens the target's namespace file and checks its inode.
Result<NamespaceHandles> open_namespace(const std::string& host_proc_root,
                                        int32_t pid, uint64_t target_pid_ns) {
  NamespaceHandles handles;
  handles.pid = pid;
  handles.ns_path = host_proc_root + "/" + std::to_string(pid) + "/ns/pid";
  handles.ns_file =
      UniqueFd(::open(handles.ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!handles.ns_file.valid()) {
    return system_error(handles.ns_path, errno);
  }
  if (Status same = check_namespace(handles.ns_path, handles.ns_file.get(),
                                    target_pid_ns);
      !same) {
    return same.error();
  }
  return handles;
}

// Opens a pidfd of the target for setns(2), once. A pidfd_open that fails
// with ENOSYS or EINVAL leaves the namespace file; any other failure
// (ESRCH: the target exited) is an Error.
Status open_pidfd(NamespaceHandles& handles, uint64_t target_pid_ns) {
  if (handles.pidfd_tried) {
    return Ok{};
  }
  handles.pidfd_tried = true;
  if (env_is_one(kForceNoPidfdEnv)) {
    handles.pidfd_note = std::string(kForceNoPidfdEnv) + "=1";
    return Ok{};
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, handles.pid, 0));
  if (pidfd < 0) {
    if (errno != ENOSYS && errno != EINVAL) {
      return system_error("pidfd_open of pid " + std::to_string(handles.pid),
                          errno);
    }
    handles.pidfd_note = std::string("pidfd_open: ") + std::strerror(errno);
    return Ok{};
  }
  handles.pidfd = UniqueFd(pidfd);
  // The pidfd names whichever process held the pid when it was opened, so
  // the namespace is checked again after it.
  UniqueFd again(::open(handles.ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!again.valid()) {
    return system_error(handles.ns_path, errno);
  }
  return check_namespace(handles.ns_path, again.get(), target_pid_ns);
}

// The procfs pidns option: in entrytrace for fsmount, in a helper that
// stays outside the namespace for a private mount.
Result<UniqueFd> make_with_pidns_option(const NamespaceHandles& handles,
                                        ProcSource source, Report& report) {
  if (source == ProcSource::kPrivate) {
    return make_in_helper(handles, source, HelperJoin::kPidnsOption, report);
  }
  int fd = make_fsmount(report, handles.ns_file.get());
  if (fd < 0) {
    return system_error(
        "fsmount failed: " + std::string(step_name(report.step)), errno);
  }
  return UniqueFd(fd);
}

// A setns(2) join in a helper, for kernels without the pidns option.
Result<UniqueFd> make_with_setns(NamespaceHandles& handles, ProcSource source,
                                 uint64_t target_pid_ns, ScopedProc& scoped) {
  if (Status opened = open_pidfd(handles, target_pid_ns); !opened) {
    return Error{std::string(proc_source_name(source)) +
                     " failed: " + opened.error().message,
                 opened.error().errno_value};
  }
  Report report;
  Result<UniqueFd> root =
      make_in_helper(handles, source, HelperJoin::kSetns, report);
  if (!root) {
    return root;
  }
  scoped.helper_pid = report.pid;
  scoped.join = report.by_pidfd != 0 ? NamespaceJoin::kPidfd
                                     : NamespaceJoin::kNamespaceFile;
  if (report.pidfd_error != 0) {
    scoped.join_notes.push_back(std::string("setns on a pidfd: ") +
                                std::strerror(report.pidfd_error));
  } else if (!handles.pidfd_note.empty()) {
    scoped.join_notes.push_back(handles.pidfd_note);
  }
  return root;
}

// Makes one scoped source: the pidns option first, setns(2) when the kernel
// does not take the option.
Result<UniqueFd> make_scoped_root(NamespaceHandles& handles, ProcSource source,
                                  uint64_t target_pid_ns, ScopedProc& scoped) {
  scoped.join_notes.clear();
  if (env_is_one(kForceSetnsEnv)) {
    scoped.join_notes.push_back(std::string(kForceSetnsEnv) + "=1");
  } else {
    Report report;
    Result<UniqueFd> root = make_with_pidns_option(handles, source, report);
    if (root) {
      scoped.join = NamespaceJoin::kPidnsOption;
      return root;
    }
    int error = root.error().errno_value;
    bool option_step = report.step == Step::kPidnsOption ||
                       report.step == Step::kMountProcPidns;
    bool unsupported = option_step && (error == EINVAL || error == EOPNOTSUPP);
    if (!unsupported) {
      return root;
    }
    scoped.join_notes.push_back(std::string(step_name(Step::kPidnsOption)) +
                                ": " + std::strerror(error));
  }
  return make_with_setns(handles, source, target_pid_ns, scoped);
}

std::optional<ProcSource> forced_source(std::string& invalid) {
  const char* value = std::getenv(kForceProcEnv);
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  for (ProcSource source :
       {ProcSource::kFsmount, ProcSource::kPrivate, ProcSource::kHost}) {
    if (std::string_view(value) == proc_source_name(source)) {
      return source;
    }
  }
  invalid = value;
  return std::nullopt;
}

}  // namespace

const char* proc_source_name(ProcSource source) {
  switch (source) {
    case ProcSource::kFsmount:
      return "fsmount";
    case ProcSource::kPrivate:
      return "private";
    case ProcSource::kHost:
      return "host";
  }
  return "host";
}

Result<ScopedProc> open_scoped_proc(const std::string& host_proc_root,
                                    int32_t target_host_pid,
                                    uint64_t target_pid_ns) {
  std::string invalid;
  std::optional<ProcSource> forced = forced_source(invalid);
  if (!invalid.empty()) {
    return Error{"invalid " + std::string(kForceProcEnv) + " '" + invalid +
                 "': use host, private or fsmount"};
  }

  ScopedProc scoped;
  Result<NamespaceHandles> handles =
      open_namespace(host_proc_root, target_host_pid, target_pid_ns);
  for (ProcSource source : {ProcSource::kFsmount, ProcSource::kPrivate}) {
    if (forced && *forced != source) {
      continue;
    }
    std::string what = std::string(proc_source_name(source)) + " failed";
    Result<UniqueFd> root =
        handles ? make_scoped_root(*handles, source, target_pid_ns, scoped)
                : Result<UniqueFd>(Error{what + ": " + handles.error().message,
                                         handles.error().errno_value});
    if (root) {
      scoped.source = source;
      scoped.root = std::move(*root);
      return scoped;
    }
    if (forced) {
      return root.error();
    }
    scoped.fallbacks.push_back(root.error().message);
  }

  UniqueFd host(
      ::open(host_proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!host.valid()) {
    return system_error(host_proc_root, errno);
  }
  scoped.source = ProcSource::kHost;
  scoped.join = NamespaceJoin::kNone;
  scoped.join_notes.clear();
  scoped.root = std::move(host);
  return scoped;
}

}  // namespace entrytrace
