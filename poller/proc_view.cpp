#include "poller/proc_view.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cstdlib>
#include <string_view>
#include <utility>

#include "common/log.h"
#include "poller/capabilities.h"
#include "poller/proc_reader.h"

namespace entrytrace {
namespace {

bool is_procfs(const std::string& path) {
  struct statfs info {};
  return ::statfs(path.c_str(), &info) == 0 && info.f_type == PROC_SUPER_MAGIC;
}

// The inode of the reading process's PID namespace, through the proc root's
// "self" entry, or 0 when it cannot be read.
uint64_t own_pid_namespace(const std::string& proc_root) {
  struct stat info {};
  std::string path = proc_root + "/self/ns/pid";
  return ::stat(path.c_str(), &info) == 0 ? info.st_ino : 0;
}

// The missing capabilities among CAP_SYS_ADMIN and CAP_SYS_PTRACE, such as
// "CAP_SYS_ADMIN", or "" when both are held or capget(2) failed (then the
// kernel decides when the procfs is made).
std::string missing_capabilities() {
  Result<CapabilitySet> capabilities = read_capabilities();
  if (!capabilities) {
    return "";
  }
  std::string missing;
  for (auto [cap, name] : {std::pair{CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
                           std::pair{CAP_SYS_PTRACE, "CAP_SYS_PTRACE"}}) {
    if (!capabilities->has(cap)) {
      missing += (missing.empty() ? "" : " and ") + std::string(name);
    }
  }
  return missing;
}

// The target's pid in its own namespace, from the NStgid line of its status
// in the host proc root, or 0 without NStgid.
int32_t pid_in_namespace(const std::string& proc_root, const Target& target) {
  Result<PidDirectory> dir = ProcReader(proc_root).open_pid(target.host_pid);
  if (!dir) {
    return 0;
  }
  Result<StatusFields> status = read_status(*dir);
  size_t depth = static_cast<size_t>(target.pid_ns_depth);
  if (!status || status->ns_tgid.size() <= depth) {
    return 0;
  }
  return status->ns_tgid[depth];
}

std::string host_evidence(const std::string& proc_root) {
  return "procfs: " + proc_root + " filtered by PID namespace inode";
}

// How the procfs was made, for example "fsmount with the procfs pidns
// option" or "private mount in a new mount namespace, by a helper that
// joined through /proc/4242/ns/pid; procfs pidns option: Invalid argument".
std::string describe_join(const ScopedProc& proc, int32_t host_pid) {
  std::string text = proc.source == ProcSource::kFsmount
                         ? "fsmount"
                         : "private mount in a new mount namespace";
  switch (proc.join) {
    case NamespaceJoin::kPidnsOption:
      return text + " with the procfs pidns option";
    case NamespaceJoin::kPidfd:
      text += ", by a helper that joined through a pidfd";
      break;
    case NamespaceJoin::kNamespaceFile:
    case NamespaceJoin::kNone:
      text += ", by a helper that joined through /proc/" +
              std::to_string(host_pid) + "/ns/pid";
      break;
  }
  for (const std::string& note : proc.join_notes) {
    text += "; " + note;
  }
  return text;
}

std::string scoped_evidence(const ScopedProc& proc, int32_t host_pid) {
  return "procfs: a procfs instance scoped to the target's PID namespace (" +
         describe_join(proc, host_pid) +
         "), so the kernel lists only the target's processes; pids are the "
         "target namespace's, and host pids are not visible";
}

}  // namespace

Target scoped_target(const Target& host_target, int32_t pid_in_namespace) {
  Target target = host_target;
  target.host_pid = pid_in_namespace;
  target.pid_ns_depth = 0;
  target.seed_pid = 0;
  target.excluded_pid = 0;
  target.proc_in_target_ns = true;
  target.ns_pids_known = true;
  return target;
}

std::optional<std::string> reason_for_host_proc(const Target& target,
                                                const std::string& proc_root) {
  const char* forced = std::getenv(kForceProcEnv);
  if (forced != nullptr && std::string_view(forced) == "host") {
    return "because " + std::string(kForceProcEnv) + "=host";
  }
  if (!is_procfs(proc_root)) {
    return "because " + proc_root + " is not a procfs (a recorded tree)";
  }
  if (target.pid_ns == 0) {
    return std::string("because the target's ns/pid is unreadable");
  }
  if (target.excluded_pid != 0 ||
      own_pid_namespace(proc_root) == target.pid_ns) {
    return std::string(
        "because the target is entrytrace's own PID namespace, which the "
        "proc root already shows");
  }
  std::string missing = missing_capabilities();
  if (!missing.empty()) {
    return "because a scoped procfs needs CAP_SYS_ADMIN and CAP_SYS_PTRACE, "
           "and entrytrace lacks " +
           missing;
  }
  return std::nullopt;
}

Result<ProcView> open_proc_view(
    const Target& target, const std::string& proc_root,
    const std::optional<std::string>& host_pids_needed) {
  ProcView view;
  view.proc_root = proc_root;
  view.target = target;
  std::optional<std::string> reason =
      host_pids_needed ? "because " + *host_pids_needed
                       : reason_for_host_proc(target, proc_root);
  if (reason) {
    view.evidence = host_evidence(proc_root) + ", " + *reason;
    return view;
  }

  Result<ScopedProc> proc =
      open_scoped_proc(proc_root, target.host_pid, target.pid_ns);
  if (!proc) {
    return proc.error();
  }
  view.proc = std::move(*proc);
  std::string fallbacks;
  for (const std::string& failure : view.proc.fallbacks) {
    fallbacks += "; " + failure;
  }
  if (!view.scoped()) {
    view.evidence = host_evidence(proc_root) + fallbacks;
    spdlog::info("{}", view.evidence);
    return view;
  }

  view.proc_root = view.proc.path();
  view.target = scoped_target(target, pid_in_namespace(proc_root, target));
  view.evidence = scoped_evidence(view.proc, target.host_pid) + fallbacks;
  spdlog::info("{}", view.evidence);
  return view;
}

}  // namespace entrytrace
