#include "poller/scope.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <vector>

#include "common/log.h"

namespace entrytrace {
namespace {

// Upper bound on the walk when NStgid does not give the depth; the kernel
// allows 32 nested PID namespaces.
constexpr size_t kMaxNamespaceDepth = 32;

}  // namespace

Result<Target> resolve_target(const std::string& proc_root, int32_t host_pid) {
  std::string no_process = "no process with pid " + std::to_string(host_pid);
  ProcReader reader(proc_root);
  Result<PidDirectory> dir = reader.open_pid(host_pid);
  if (!dir) {
    if (is_vanished(dir.error())) {
      return Error{no_process, dir.error().errno_value};
    }
    return Error{"cannot read pid " + std::to_string(host_pid) + ": " +
                     dir.error().message,
                 dir.error().errno_value};
  }

  Result<StatusFields> status = read_status(*dir);
  if (!status) {
    if (is_vanished(status.error())) {
      return Error{no_process, status.error().errno_value};
    }
    return Error{"cannot read pid " + std::to_string(host_pid) + ": " +
                     status.error().message,
                 status.error().errno_value};
  }

  Result<uint64_t> pid_ns = read_namespace(*dir, "pid");
  if (!pid_ns) {
    return Error{"cannot read the PID namespace of pid " +
                     std::to_string(host_pid) + ": " + pid_ns.error().message +
                     " (run as root or as the owner of the process)",
                 pid_ns.error().errno_value};
  }

  Target target;
  target.description = "pid " + std::to_string(host_pid);
  target.host_pid = status->tgid;
  target.pid_ns = *pid_ns;
  // NOTE: without NStgid (kernels before 4.1) the depth is unknown and taken
  // as 0, so namespace pids are only right for an initial-namespace target.
  target.pid_ns_depth = status->ns_tgid.empty()
                            ? 0
                            : static_cast<int>(status->ns_tgid.size()) - 1;
  return target;
}

Membership NamespaceScope::decide(const PidDirectory& dir,
                                  const StatusFields& status,
                                  std::optional<uint64_t> pid_ns) {
  // A target at depth 0 is the PID namespace of the procfs being read: every
  // process listed there is in it or in a namespace nested in it.
  if (target_.pid_ns_depth == 0 && !status.ns_tgid.empty()) {
    return Membership::kMember;
  }
  if (!pid_ns) {
    return Membership::kUnknown;
  }
  if (*pid_ns == target_.pid_ns) {
    return Membership::kMember;
  }
  auto cached = decisions_.find(*pid_ns);
  if (cached != decisions_.end()) {
    return cached->second ? Membership::kMember : Membership::kOutside;
  }

  // A namespace at the target's depth or above it that is not the target
  // cannot be inside it.
  size_t depth = static_cast<size_t>(target_.pid_ns_depth);
  if (!status.ns_tgid.empty() && status.ns_tgid.size() <= depth + 1) {
    decisions_[*pid_ns] = false;
    return Membership::kOutside;
  }
  return walk_parents(dir, status, *pid_ns);
}

Membership NamespaceScope::walk_parents(const PidDirectory& dir,
                                        const StatusFields& status,
                                        uint64_t pid_ns) {
  size_t depth = static_cast<size_t>(target_.pid_ns_depth);
  size_t levels = status.ns_tgid.empty() ? kMaxNamespaceDepth
                                         : status.ns_tgid.size() - 1 - depth;

  UniqueFd current(::openat(dir.fd(), "ns/pid", O_RDONLY | O_CLOEXEC));
  if (!current.valid()) {
    spdlog::debug("pid {}: cannot open ns/pid: {}", dir.pid(),
                  std::strerror(errno));
    return Membership::kUnknown;
  }

  std::vector<uint64_t> visited{pid_ns};
  bool inside = false;
  for (size_t step = 0; step < levels; ++step) {
    UniqueFd parent(::ioctl(current.get(), NS_GET_PARENT));
    if (!parent.valid()) {
      // EPERM: the parent is outside the caller's namespace, so the walk has
      // left every namespace the target could be.
      if (errno == EPERM) {
        break;
      }
      spdlog::debug("pid {}: NS_GET_PARENT failed: {}", dir.pid(),
                    std::strerror(errno));
      return Membership::kUnknown;
    }
    struct stat parent_stat {};
    if (::fstat(parent.get(), &parent_stat) != 0) {
      return Membership::kUnknown;
    }
    if (parent_stat.st_ino == target_.pid_ns) {
      inside = true;
      break;
    }
    visited.push_back(parent_stat.st_ino);
    current = std::move(parent);
  }

  // Every namespace on the walk below the target's depth gets the same
  // decision.
  for (uint64_t inode : visited) {
    decisions_[inode] = inside;
  }
  return inside ? Membership::kMember : Membership::kOutside;
}

bool NamespaceScope::may_be_nested(const StatusFields& status) const {
  if (status.ns_tgid.empty()) {
    return target_.pid_ns_depth == 0;
  }
  return status.ns_tgid.size() > static_cast<size_t>(target_.pid_ns_depth);
}

int32_t NamespaceScope::ns_pid(const StatusFields& status) const {
  size_t depth = static_cast<size_t>(target_.pid_ns_depth);
  if (status.ns_tgid.empty()) {
    return depth == 0 ? status.tgid : 0;
  }
  if (status.ns_tgid.size() <= depth) {
    return 0;
  }
  return status.ns_tgid[depth];
}

}  // namespace entrytrace
