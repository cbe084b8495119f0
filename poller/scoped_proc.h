// A procfs instance that the kernel scopes to the target's PID namespace: it
// lists only the processes of that namespace and of the namespaces nested
// in it, independent of the poller's own membership checks.
//
// NOTE: the poller does not read through it yet. Its pids are the target
// namespace's, not host pids, and the poller's process identity is
// (host pid, start ticks), so each pid would first have to be mapped to its
// host pid through the host /proc (NStgid).
#pragma once

#include <cstdint>
#include <string>

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

struct ScopedProc {
  ProcSource source = ProcSource::kHost;
  // The root directory of the procfs.
  UniqueFd root;
  // The errors of the stronger sources that failed, for the evidence. Empty
  // when the first source tried worked.
  std::string fallbacks;

  // A path that reaches the root through /proc/self/fd, for readers that
  // take a proc root as a path.
  std::string path() const {
    return "/proc/self/fd/" + std::to_string(root.get());
  }
};

// Opens a procfs of the PID namespace of target_host_pid. kFsmount and
// kPrivate fork a child that joins the namespace with setns(2) and forks
// again, because only the grandchild is inside it, and need CAP_SYS_ADMIN
// over the namespace. The grandchild sends the descriptor back with
// SCM_RIGHTS and exits. kHost opens host_proc_root and always works unless
// it is missing. Returns an Error naming the source that failed and errno
// when a forced source fails or host_proc_root cannot be opened.
Result<ScopedProc> open_scoped_proc(const std::string& host_proc_root,
                                    int32_t target_host_pid);

}  // namespace entrytrace
