#include "poller/target_spec.h"

#include <cerrno>

#include "common/log.h"
#include "poller/cgroup_target.h"
#include "poller/pid_counter.h"
#include "poller/proc_reader.h"

namespace entrytrace {
namespace {

// Resolves the namespace of the representative of a container or cgroup.
Result<Target> resolve_members(const std::string& proc_root,
                               const std::vector<int32_t>& pids,
                               const std::string& description) {
  Result<Representative> representative = pick_representative(proc_root, pids);
  if (!representative) {
    return Error{description + ": " + representative.error().message,
                 representative.error().errno_value};
  }
  Result<Target> target = resolve_target(proc_root, representative->host_pid);
  if (!target) {
    return target;
  }
  spdlog::info("{}: {} processes, PID namespace of host pid {}", description,
               pids.size(), representative->host_pid);
  target->description = description;
  return target;
}

Result<Target> resolve_container(const std::string& proc_root,
                                 const std::string& id) {
  Result<ContainerProcesses> found = find_container_processes(proc_root, id);
  if (!found) {
    return found.error();
  }
  const ContainerRef& container = found->container;
  std::string description = "container " + container.id;
  if (container.runtime != ContainerRuntime::kUnknown) {
    description += " (" + std::string(runtime_name(container.runtime)) + ")";
  }
  Result<Target> target = resolve_members(proc_root, found->pids, description);
  if (target) {
    target->cgroup_filter = CgroupFilter{container.id, {}};
  }
  return target;
}

Result<Target> resolve_cgroup(const std::string& proc_root,
                              const std::string& path) {
  // The mount table of the reading process maps a path below a cgroup mount
  // to a path inside its hierarchy.
  std::string mountinfo;
  Result<int32_t> own_pid = read_own_pid(proc_root);
  Result<PidDirectory> self = own_pid ? ProcReader(proc_root).open_pid(*own_pid)
                                      : Result<PidDirectory>(own_pid.error());
  if (self) {
    Result<std::string> text = self->read_to_end("mountinfo");
    if (text) {
      mountinfo = std::move(*text);
    }
  }
  Result<std::vector<CgroupQuery>> queries =
      resolve_cgroup_path(path, mountinfo);
  if (!queries) {
    return queries.error();
  }
  Result<std::vector<int32_t>> pids =
      pids_in_cgroup(proc_root, path, mountinfo);
  if (!pids) {
    return pids.error();
  }
  Result<Target> target = resolve_members(proc_root, *pids, "cgroup " + path);
  if (target) {
    target->cgroup_filter = CgroupFilter{"", std::move(*queries)};
  }
  return target;
}

// Sets excluded_pid when the capturing process is in the target namespace.
// A target at depth 0 holds every process of the proc root. A capturing
// process that the proc root does not show is in none of its namespaces.
// NOTE: a capturing process in a namespace nested inside the target (not the
// target itself) is not detected and would be reported.
void exclude_capturer(const std::string& proc_root, Target& target) {
  Result<int32_t> own_pid = read_own_pid(proc_root);
  if (!own_pid) {
    return;
  }
  Result<PidDirectory> self = ProcReader(proc_root).open_pid(*own_pid);
  if (!self) {
    return;
  }
  Result<uint64_t> own_ns = read_namespace(*self, "pid");
  if (target.pid_ns_depth == 0 || (own_ns && *own_ns == target.pid_ns)) {
    target.excluded_pid = *own_pid;
  }
}

// Resolves the capturing process's own PID namespace. Its pid comes from
// the proc root's "self" link, because getpid() numbers it in its own
// namespace, and in the procfs of an ancestor namespace that number names
// another process.
Result<Target> resolve_own_namespace(const std::string& proc_root) {
  Result<int32_t> own_pid = read_own_pid(proc_root);
  if (!own_pid) {
    if (own_pid.error().errno_value != ENOENT) {
      return own_pid.error();
    }
    return Error{"entrytrace is not visible in " + proc_root +
                     ", so its own PID namespace cannot be the target; name "
                     "one with --pid, --cgroup or --container-id",
                 ENOENT};
  }
  Result<Target> target = resolve_target(proc_root, *own_pid);
  if (target) {
    target->description = "own PID namespace";
  }
  return target;
}

}  // namespace

Result<Target> resolve_target_spec(const std::string& proc_root,
                                   const TargetSpec& spec) {
  Result<Target> target = Error{"no target"};
  if (!spec.container_id.empty()) {
    target = resolve_container(proc_root, spec.container_id);
  } else if (!spec.cgroup_path.empty()) {
    target = resolve_cgroup(proc_root, spec.cgroup_path);
  } else if (spec.pid > 0) {
    target = resolve_target(proc_root, spec.pid);
  } else {
    target = resolve_own_namespace(proc_root);
  }
  if (target) {
    exclude_capturer(proc_root, *target);
  }
  return target;
}

}  // namespace entrytrace
