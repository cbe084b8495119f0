// A procfs instance that the kernel scopes to the target's PID namespace: it
// lists only the processes of that namespace and of the namespaces nested
// in it, independent of the poller's own membership checks. Its pids are the
// target namespace's, not host pids. open_proc_view() (proc_view.h) decides
// when the procfs engine reads through it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace entrytrace {

// The origin of a procfs, in order of preference.
enum class ProcSource {
  // fsopen("proc") and fsmount() in the target's PID namespace: a detached
  // mount with no mount point (Linux 5.2 and later).
  kFsmount,
  // mount("proc") on /proc in a new mount namespace of a process in the
  // target's PID namespace, passed back as a directory descriptor.
  kPrivate,
  // The host's procfs, which lists every process; membership is then
  // decided by namespace inode.
  kHost,
};

// Returns "fsmount", "private" or "host".
const char* proc_source_name(ProcSource source);

// Environment variable that forces one source for tests: "host",
// "private" or "fsmount". Without it the sources are tried in order.
inline constexpr const char* kForceProcEnv = "ENTRYTRACE_FORCE_PROC";

// Environment variable that, set to "1", makes open_scoped_proc() skip the
// procfs pidns option and join the target's namespace with setns(2) in a
// helper process, as on kernels without the option, so tests run that path.
inline constexpr const char* kForceSetnsEnv = "ENTRYTRACE_FORCE_SETNS";

// Environment variable that, set to "1", makes the setns(2) join use
// /proc/<pid>/ns/pid even where a pidfd works, so tests run the path of
// kernels before 5.8.
inline constexpr const char* kForceNoPidfdEnv = "ENTRYTRACE_FORCE_NO_PIDFD";

// The way a scoped procfs was given the target's PID namespace.
enum class NamespaceJoin {
  // kHost: no namespace was joined.
  kNone,
  // The procfs pidns option (fsconfig(2) or mount(2) with
  // "pidns=<ns/pid file>"): no process enters the target's namespace.
  kPidnsOption,
  // A helper called setns(2) on a pidfd of the target (Linux 5.8), then
  // forked a child, which takes a pid in the target's namespace and makes
  // the procfs there.
  kPidfd,
  // The same through /proc/<pid>/ns/pid.
  kNamespaceFile,
};

struct ScopedProc {
  ProcSource source = ProcSource::kHost;
  // The root directory of the procfs.
  UniqueFd root;
  // The reasons each stronger source failed, such as
  // "fsmount failed: fsopen: Operation not permitted". Empty when the first
  // source tried worked.
  std::vector<std::string> fallbacks;
  NamespaceJoin join = NamespaceJoin::kNone;
  // The reasons the stronger joins were not used, such as
  // "procfs pidns option: Invalid argument" or
  // "ENTRYTRACE_FORCE_NO_PIDFD=1". Empty for kPidnsOption.
  std::vector<std::string> join_notes;
  // For kPidfd and kNamespaceFile: the pid that the helper's child had in
  // the target's namespace. It has exited when open_scoped_proc() returns,
  // so this pid was allocated and freed before any later one.
  int32_t helper_pid = 0;

  // A path that reaches the root through /proc/self/fd, for readers that
  // take a proc root as a path.
  std::string path() const {
    return "/proc/self/fd/" + std::to_string(root.get());
  }
};

// Opens a procfs of the PID namespace of target_host_pid. kFsmount and
// kPrivate need CAP_SYS_ADMIN over the namespace. Each first passes the
// namespace as the procfs pidns option, so that no process enters it. When
// the kernel rejects the option (EINVAL: unknown to kernels before it was
// added, EOPNOTSUPP: no CONFIG_PID_NS) or kForceSetnsEnv is set, a helper
// process joins the namespace with setns(2) and forks again, because only
// its child is inside it, and that child makes the procfs. The helper joins
// through a pidfd of the target, which pins the process so that a reused
// pid cannot redirect the join, and through /proc/<pid>/ns/pid when
// pidfd_open(2) or setns(2) on the pidfd fails with ENOSYS or EINVAL
// (Linux before 5.3 and 5.8) or kForceNoPidfdEnv is set. When target_pid_ns
// is not 0, a namespace with another inode is rejected: the pid then names
// another process than the target. kHost opens host_proc_root and always
// works unless it is missing. Returns an Error naming the source and the
// step that failed, with errno, when a forced source fails or
// host_proc_root cannot be opened.
Result<ScopedProc> open_scoped_proc(const std::string& host_proc_root,
                                    int32_t target_host_pid,
                                    uint64_t target_pid_ns = 0);

}  // namespace entrytrace
