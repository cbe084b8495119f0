// Resolution of the target as the user names it: by a pid, a cgroup path, a
// container id, or nothing (the capturing process's own PID namespace).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "poller/capture.h"

namespace entrytrace {

// At most one field is set. With none, the target is the PID namespace of
// the capturing process, as for a sidecar that shares it.
struct TargetSpec {
  int32_t pid = 0;
  std::string cgroup_path;
  // A full id or a prefix of at least kMinContainerIdPrefix hex digits,
  // optionally with a "<runtime>://" prefix.
  std::string container_id;
};

// Resolves the spec against proc_root. The Target's PID namespace is that of
// the pid, or of the representative process of the container or cgroup
// (pick_representative()), and a container or cgroup also sets
// Target::cgroup_filter. When the capturing process is inside the target
// namespace, Target::excluded_pid is set to its pid. Returns an Error naming
// the value when it is invalid or matches no process; for an ambiguous
// container id prefix the message lists the matching ids.
Result<Target> resolve_target_spec(const std::string& proc_root,
                                   const TargetSpec& spec);

}  // namespace entrytrace
