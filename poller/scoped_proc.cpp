#include "poller/scoped_proc.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
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

// Sends fd, or, when fd is negative, the errno value -fd with no
// descriptor. Async-signal-safe, for use between fork and _exit.
void send_result(int socket, int fd) {
  int error = fd < 0 ? -fd : 0;
  iovec data{&error, sizeof(error)};
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

// Receives what send_result() sent: the descriptor, or an Error with the
// child's errno.
Result<UniqueFd> receive_result(int socket, const std::string& what) {
  int error = 0;
  iovec data{&error, sizeof(error)};
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
  if (count == 0) {
    return Error{what + ": the helper process exited without a result"};
  }
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (header != nullptr && header->cmsg_type == SCM_RIGHTS) {
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(header), sizeof(int));
    return UniqueFd(fd);
  }
  return system_error(what, error != 0 ? error : EPROTO);
}

// In the grandchild: a detached procfs of its own PID namespace.
int make_fsmount() {
  int context = static_cast<int>(::syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC));
  if (context < 0) {
    return -errno;
  }
  if (::syscall(SYS_fsconfig, context, FSCONFIG_CMD_CREATE, nullptr, nullptr,
                0) != 0) {
    return -errno;
  }
  int mount_fd =
      static_cast<int>(::syscall(SYS_fsmount, context, FSMOUNT_CLOEXEC, 0));
  return mount_fd < 0 ? -errno : mount_fd;
}

// In the grandchild: procfs mounted on /proc of a new mount namespace, so
// that the mount is visible to no other process.
int make_private_mount() {
  if (::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) != 0) {
    return -errno;
  }
  int fd = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

// Forks a child that joins the PID namespace behind ns_fd and forks the
// grandchild that makes the procfs.
Result<UniqueFd> make_in_namespace(int ns_fd, ProcSource source) {
  std::string what = std::string(proc_source_name(source)) + " procfs";
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) {
    return system_error(what + ": socketpair", errno);
  }
  UniqueFd ours(sockets[0]);
  UniqueFd theirs(sockets[1]);

  pid_t child = ::fork();
  if (child < 0) {
    return system_error(what + ": fork", errno);
  }
  if (child == 0) {
    if (::setns(ns_fd, CLONE_NEWPID) != 0) {
      send_result(theirs.get(), -errno);
      ::_exit(1);
    }
    pid_t grandchild = ::fork();
    if (grandchild == 0) {
      int fd = source == ProcSource::kFsmount ? make_fsmount()
                                              : make_private_mount();
      send_result(theirs.get(), fd);
      ::_exit(0);
    }
    if (grandchild < 0) {
      send_result(theirs.get(), -errno);
      ::_exit(1);
    }
    int status = 0;
    while (::waitpid(grandchild, &status, 0) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }

  theirs.reset();
  Result<UniqueFd> result = receive_result(ours.get(), what);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return result;
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
                                    int32_t target_host_pid) {
  std::string invalid;
  std::optional<ProcSource> forced = forced_source(invalid);
  if (!invalid.empty()) {
    return Error{"invalid " + std::string(kForceProcEnv) + " '" + invalid +
                 "': use host, private or fsmount"};
  }

  ScopedProc scoped;
  std::string ns_path =
      host_proc_root + "/" + std::to_string(target_host_pid) + "/ns/pid";
  UniqueFd ns_fd(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  for (ProcSource source : {ProcSource::kFsmount, ProcSource::kPrivate}) {
    if (forced && *forced != source) {
      continue;
    }
    Result<UniqueFd> root =
        ns_fd.valid() ? make_in_namespace(ns_fd.get(), source)
                      : Result<UniqueFd>(system_error(ns_path, errno));
    if (root) {
      scoped.source = source;
      scoped.root = std::move(*root);
      return scoped;
    }
    if (forced) {
      return root.error();
    }
    scoped.fallbacks +=
        (scoped.fallbacks.empty() ? "" : "; ") + root.error().message;
  }

  UniqueFd host(
      ::open(host_proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!host.valid()) {
    return system_error(host_proc_root, errno);
  }
  scoped.source = ProcSource::kHost;
  scoped.root = std::move(host);
  return scoped;
}

}  // namespace entrytrace
