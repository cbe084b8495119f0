#include "poller/scope.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/phrases.h"

namespace entrytrace {
namespace {

// Upper bound on the walk when NStgid does not give the depth; the kernel
// allows 32 nested PID namespaces.
constexpr size_t kMaxNamespaceDepth = 32;
// Upper bound on the walk up the ppid chain to a namespace's pid 1, which
// ends early unless pids were reused into a cycle.
constexpr size_t kMaxSeedWalk = 4096;
// Upper bound on the namespaces whose cached decision holds a descriptor.
// Beyond it decisions are not cached and each new process walks again, so
// that the descriptors stay well below the usual limit of 1024 next to the
// poller's held files.
constexpr size_t kMaxPinnedNamespaces = 256;

struct Seed {
  int32_t pid = 0;
  uint64_t start_ticks = 0;
};

// Walks up from a process while the parent is in the same PID namespace
// (same NStgid length, and the process is not that namespace's pid 1).
// Returns the host pid and start ticks of the oldest one found. A "parent"
// that started after the process is another process behind the pid of an
// exited parent, so the walk stops there.
Seed find_namespace_seed(const ProcReader& reader, StatusFields status,
                         uint64_t start_ticks) {
  for (size_t step = 0; step < kMaxSeedWalk; ++step) {
    if (status.ns_tgid.empty() || status.ns_tgid.back() == 1 ||
        status.ppid <= 0) {
      break;
    }
    Result<PidDirectory> parent_dir = reader.open_pid(status.ppid);
    if (!parent_dir) {
      break;
    }
    Result<StatusFields> parent = read_status(*parent_dir);
    if (!parent || parent->ns_tgid.size() != status.ns_tgid.size()) {
      break;
    }
    Result<StatFields> parent_stat = read_stat(*parent_dir);
    if (!parent_stat || parent_stat->start_ticks > start_ticks) {
      break;
    }
    status = std::move(*parent);
    start_ticks = parent_stat->start_ticks;
  }
  return Seed{status.tgid, start_ticks};
}

// Opens dir's ns/pid, which keeps that namespace and its inode number alive
// while the descriptor is open. Returns null when it cannot be opened or is
// not the namespace expected_inode, read from the link before.
std::shared_ptr<const UniqueFd> pin_namespace(const PidDirectory& dir,
                                              uint64_t expected_inode) {
  UniqueFd fd(::openat(dir.fd(), "ns/pid", O_RDONLY | O_CLOEXEC));
  struct stat ns_stat {};
  if (!fd.valid() || ::fstat(fd.get(), &ns_stat) != 0 ||
      ns_stat.st_ino != expected_inode) {
    return nullptr;
  }
  return std::make_shared<const UniqueFd>(std::move(fd));
}

// Returns the inode of the PID namespace whose pids the proc root shows: that
// of its pid 1, which is always the namespace's init, or, when pid 1 is
// unreadable, that of the reading process through "self".
// NOTE: "self" is the reader's namespace, which differs from the proc root's
// when the root is the procfs of an ancestor namespace.
std::optional<uint64_t> proc_root_namespace(const ProcReader& reader) {
  for (const char* name : {"1", "self"}) {
    UniqueFd fd(::open((reader.proc_root() + "/" + name).c_str(),
                       O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
      continue;
    }
    Result<uint64_t> inode =
        read_namespace(PidDirectory(0, std::move(fd)), "pid");
    if (inode) {
      return *inode;
    }
  }
  return std::nullopt;
}

// True when the pids of the proc root are the target's own: its depth comes
// from NStgid, or, without NStgid, the target is the proc root's namespace.
bool ns_pids_known(const ProcReader& reader, const StatusFields& status,
                   uint64_t pid_ns) {
  if (!status.ns_tgid.empty()) {
    return true;
  }
  std::optional<uint64_t> root_ns = proc_root_namespace(reader);
  return pid_ns != 0 && root_ns && *root_ns == pid_ns;
}

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
  int error = pid_ns ? 0 : pid_ns.error().errno_value;
  if (!pid_ns && error != EACCES && error != EPERM) {
    return Error{"cannot read the PID namespace of pid " +
                     std::to_string(host_pid) + ": " + pid_ns.error().message,
                 error};
  }

  Target target;
  target.description = "pid " + std::to_string(host_pid);
  target.host_pid = status->tgid;
  if (pid_ns) {
    target.pid_ns = *pid_ns;
    target.pid_ns_pin = pin_namespace(*dir, *pid_ns);
  } else {
    Result<StatFields> stat = read_stat(*dir);
    if (!stat) {
      return Error{"cannot read pid " + std::to_string(host_pid) + ": " +
                       stat.error().message,
                   stat.error().errno_value};
    }
    Seed seed = find_namespace_seed(reader, *status, stat->start_ticks);
    target.seed_pid = seed.pid;
    target.seed_start_ticks = seed.start_ticks;
    spdlog::info(
        "PID namespace of pid {} unreadable ({}); members found by ancestry "
        "from pid {}",
        host_pid, pid_ns.error().message, target.seed_pid);
  }
  // NOTE: without NStgid (kernels before 4.1) the depth is unknown and taken
  // as 0. Namespace pids are then known only for a target that is the proc
  // root's own namespace, and are reported as 0 otherwise.
  target.pid_ns_depth = status->ns_tgid.empty()
                            ? 0
                            : static_cast<int>(status->ns_tgid.size()) - 1;
  target.ns_pids_known = ns_pids_known(reader, *status, target.pid_ns);
  return target;
}

Membership NamespaceScope::decide(const PidDirectory& dir,
                                  const StatusFields& status,
                                  std::optional<uint64_t> pid_ns) {
  Membership membership = decide_namespace(dir, status, pid_ns);
  if (membership != Membership::kMember) {
    return membership;
  }
  return filter(dir, status);
}

Membership NamespaceScope::filter(const PidDirectory& dir,
                                  const StatusFields& status) {
  if (is_excluded(dir, status)) {
    return Membership::kOutside;
  }
  if (target_.cgroup_filter && !in_cgroup(dir)) {
    return Membership::kOutside;
  }
  return Membership::kMember;
}

// The capturing process is known by its pid, which no other process can
// hold while it runs. A descendant is known by its parent's pid and start
// ticks, read again through the sibling directory "../<ppid>".
bool NamespaceScope::is_excluded(const PidDirectory& dir,
                                 const StatusFields& status) {
  if (target_.excluded_pid == 0) {
    return false;
  }
  bool excluded = status.tgid == target_.excluded_pid;
  auto parent = excluded_.find(status.ppid);
  if (!excluded && parent != excluded_.end()) {
    std::string path = "../" + std::to_string(status.ppid);
    UniqueFd parent_fd(
        ::openat(dir.fd(), path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (parent_fd.valid()) {
      PidDirectory parent_dir(status.ppid, std::move(parent_fd));
      Result<StatFields> parent_stat = read_stat(parent_dir);
      excluded = parent_stat && parent_stat->start_ticks == parent->second;
    }
  }
  if (!excluded) {
    return false;
  }
  Result<StatFields> stat = read_stat(dir);
  excluded_[status.tgid] = stat ? stat->start_ticks : 0;
  ++excluded_count_;
  spdlog::debug("pid {} left out: the capturing process or its descendant",
                status.tgid);
  return true;
}

bool NamespaceScope::in_cgroup(const PidDirectory& dir) {
  Result<std::string> text = dir.read_to_end("cgroup");
  Result<std::vector<CgroupEntry>> entries =
      text ? parse_proc_cgroup(*text)
           : Result<std::vector<CgroupEntry>>(text.error());
  if (!entries) {
    if (!is_vanished(entries.error())) {
      ++cgroup_errors_[entries.error().message];
    }
    return false;
  }
  const CgroupFilter& wanted = *target_.cgroup_filter;
  bool matches = false;
  if (!wanted.container_id.empty()) {
    for (const ContainerRef& container : find_containers(*entries)) {
      matches = matches || container.id == wanted.container_id;
    }
  }
  for (const CgroupQuery& query : wanted.queries) {
    matches = matches || cgroup_matches(*entries, query);
  }
  if (!matches) {
    ++outside_cgroup_;
  }
  return matches;
}

Membership NamespaceScope::decide_namespace(const PidDirectory& dir,
                                            const StatusFields& status,
                                            std::optional<uint64_t> pid_ns) {
  // The kernel bounds a procfs of the target's namespace to its members.
  if (target_.proc_in_target_ns) {
    return Membership::kMember;
  }
  // A target at depth 0 is the PID namespace of the procfs being read: every
  // process listed there is in it or in a namespace nested in it.
  if (target_.pid_ns_depth == 0 && !status.ns_tgid.empty()) {
    return Membership::kMember;
  }
  if (target_.pid_ns == 0) {
    return is_seed(dir, status) ? Membership::kMember : Membership::kUnknown;
  }
  if (!pid_ns) {
    return Membership::kUnknown;
  }
  if (*pid_ns == target_.pid_ns) {
    return Membership::kMember;
  }

  // A namespace at the target's depth or above it that is not the target
  // cannot be inside it.
  size_t depth = static_cast<size_t>(target_.pid_ns_depth);
  if (!status.ns_tgid.empty() && status.ns_tgid.size() <= depth + 1) {
    return Membership::kOutside;
  }
  auto cached = decisions_.find(*pid_ns);
  if (cached != decisions_.end()) {
    return cached->second.inside ? Membership::kMember : Membership::kOutside;
  }
  return walk_parents(dir, status, *pid_ns);
}

// The seed is known by its pid and start ticks, so that another process
// behind the pid after the seed exited is not taken for it.
// NOTE: start ticks count clock ticks (10 ms at USER_HZ 100), so a process
// that takes the seed's pid within the tick the seed started in passes.
bool NamespaceScope::is_seed(const PidDirectory& dir,
                             const StatusFields& status) const {
  if (status.tgid != target_.seed_pid || !may_be_nested(status)) {
    return false;
  }
  Result<StatFields> stat = read_stat(dir);
  return stat && stat->start_ticks == target_.seed_start_ticks;
}

void NamespaceScope::cache_decision(uint64_t inode, UniqueFd pin, bool inside) {
  if (decisions_.size() >= kMaxPinnedNamespaces) {
    return;
  }
  decisions_.emplace(inode, CachedDecision{std::move(pin), inside});
}

Membership NamespaceScope::walk_parents(const PidDirectory& dir,
                                        const StatusFields& status,
                                        uint64_t pid_ns) {
  size_t depth = static_cast<size_t>(target_.pid_ns_depth);
  size_t levels = status.ns_tgid.empty() ? kMaxNamespaceDepth
                                         : status.ns_tgid.size() - 1 - depth;

  UniqueFd own(::openat(dir.fd(), "ns/pid", O_RDONLY | O_CLOEXEC));
  if (!own.valid()) {
    spdlog::debug("pid {}: cannot open ns/pid: {}", dir.pid(),
                  std::strerror(errno));
    return Membership::kUnknown;
  }
  struct stat own_stat {};
  if (::fstat(own.get(), &own_stat) != 0 || own_stat.st_ino != pid_ns) {
    return Membership::kUnknown;
  }

  // Each namespace on the walk with its open descriptor, which pins it.
  std::vector<std::pair<uint64_t, UniqueFd>> visited;
  visited.emplace_back(pid_ns, std::move(own));
  bool inside = false;
  for (size_t step = 0; step < levels; ++step) {
    UniqueFd parent(::ioctl(visited.back().second.get(), NS_GET_PARENT));
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
    visited.emplace_back(parent_stat.st_ino, std::move(parent));
  }

  // Every namespace on the walk below the target's depth gets the same
  // decision.
  for (auto& [inode, pin] : visited) {
    cache_decision(inode, std::move(pin), inside);
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
  if (!target_.ns_pids_known) {
    return 0;
  }
  size_t depth = static_cast<size_t>(target_.pid_ns_depth);
  if (status.ns_tgid.empty()) {
    return depth == 0 ? status.tgid : 0;
  }
  if (status.ns_tgid.size() <= depth) {
    return 0;
  }
  return status.ns_tgid[depth];
}

std::vector<std::string> NamespaceScope::diagnostics() const {
  std::vector<std::string> lines;
  if (excluded_count_ > 0) {
    lines.push_back(count_phrase(excluded_count_, "process", "processes") +
                    " of the target namespace left out: entrytrace itself "
                    "and its children");
  }
  if (outside_cgroup_ > 0) {
    lines.push_back(
        count_phrase(outside_cgroup_, "process", "processes") +
        " of the target PID namespace left out: not in the target's cgroup");
  }
  for (const auto& [message, count] : cgroup_errors_) {
    lines.push_back(count_phrase(count, "process", "processes") +
                    " left out: cgroup unreadable: " + message);
  }
  if (!target_.ns_pids_known) {
    lines.push_back(
        "pids inside the target's PID namespace are unknown and reported as "
        "0: status has no NStgid line (Linux before 4.1, or " +
        std::string(kForceNoNstgidEnv) +
        "=1) and the target is not the namespace of the proc root");
  }
  return lines;
}

}  // namespace entrytrace
