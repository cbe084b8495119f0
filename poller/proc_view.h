// The procfs through which the procfs engine reads a target, chosen once per
// capture: a procfs that the kernel scopes to the target's PID namespace
// (scoped_proc.h) where privileges allow, else the host's proc root, whose
// processes are filtered by namespace inode. A scoped procfs numbers
// processes as the target's namespace does, so the target is rebased onto
// those pids, and host pids are not visible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "poller/capture.h"
#include "poller/scoped_proc.h"

namespace entrytrace {

struct ProcView {
  // The procfs; its root descriptor stays open while the view lives.
  ScopedProc proc;
  // The root to read: the host proc root, or the scoped procfs as
  // /proc/self/fd/<n>.
  std::string proc_root;
  // The target as proc_root numbers it (scoped_target() for a scoped one).
  Target target;
  // One evidence sentence: which procfs is read, and why no stronger one.
  std::string evidence;

  bool scoped() const { return proc.source != ProcSource::kHost; }
};

// The target rebased onto a procfs of its own PID namespace: depth 0,
// proc_in_target_ns set, host_pid replaced by pid_in_namespace (0 when
// unknown), and no seed or excluded pid, because the target's namespace is
// read only when entrytrace is outside it. The namespace inode and the
// cgroup filter stay.
Target scoped_target(const Target& host_target, int32_t pid_in_namespace);

// Returns why the host proc root is read without trying a scoped procfs, as
// the end of an evidence sentence ("because entrytrace lacks
// CAP_SYS_ADMIN"), or nothing when a scoped one may be tried. A scoped
// procfs needs a live procfs as proc_root, a readable ns/pid of the target,
// a target namespace other than entrytrace's own, and CAP_SYS_ADMIN and
// CAP_SYS_PTRACE. kForceProcEnv set to "host" is a reason too.
std::optional<std::string> reason_for_host_proc(const Target& target,
                                                const std::string& proc_root);

// Chooses and opens the procfs for target. host_pids_needed, when set, is
// why the caller needs host pids (its process events carry them); the host
// proc root is then read. Otherwise the sources of open_scoped_proc() are
// tried in order where reason_for_host_proc() allows. Returns an Error
// when a source forced by kForceProcEnv fails or proc_root cannot be
// opened.
Result<ProcView> open_proc_view(
    const Target& target, const std::string& proc_root,
    const std::optional<std::string>& host_pids_needed = std::nullopt);

}  // namespace entrytrace
