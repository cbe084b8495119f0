// Membership of processes in the target PID namespace. Only members are read
// beyond what this decision needs (status, the ns/pid link and, for a target
// with a cgroup filter, the cgroup file) and only members are reported.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "poller/capture.h"
#include "poller/proc_parse.h"
#include "poller/proc_reader.h"

namespace entrytrace {

enum class Membership { kMember, kOutside, kUnknown };

// Decides membership from a process's own PID namespace. The decision for a
// namespace nested below the target's depth is cached by inode, so each
// namespace is walked once. A cached namespace is kept alive by an open
// descriptor, because the kernel gives a freed namespace's inode number to
// the next namespace made anywhere.
class NamespaceScope {
 public:
  explicit NamespaceScope(const Target& target) : target_(target) {}

  const Target& target() const { return target_; }

  // A process is a member when its ns/pid inode is the target's or names a
  // namespace nested inside the target, which is found by walking up with
  // the NS_GET_PARENT ioctl on dir's ns/pid. Every process is a member of a
  // target at depth 0 (the procfs's own namespace) and of one read through
  // a procfs of its namespace (Target::proc_in_target_ns). Returns kUnknown
  // when pid_ns is unset (ns/pid unreadable) or the walk fails; the caller
  // then decides from ancestry (see may_be_nested()) and then calls
  // filter(). A namespace member is kOutside when filter() leaves it out.
  Membership decide(const PidDirectory& dir, const StatusFields& status,
                    std::optional<uint64_t> pid_ns);

  // Applies the conditions on top of the namespace: returns kOutside for the
  // capturing process and its descendants (Target::excluded_pid) and for a
  // process whose cgroup does not match Target::cgroup_filter or cannot be
  // read, else kMember. Call it once per new process, parents first, because
  // descendants are found by their parent's pid.
  Membership filter(const PidDirectory& dir, const StatusFields& status);

  // One line for each reason filter() left processes out.
  std::vector<std::string> diagnostics() const;

  // Processes left out by filter(), for the diagnostics.
  int excluded_processes() const { return excluded_count_; }
  int outside_cgroup() const { return outside_cgroup_; }
  // Cgroup files that could not be read or parsed, by error message.
  const std::map<std::string, int>& cgroup_errors() const {
    return cgroup_errors_;
  }

  // True when NStgid is deep enough for the process to be in the target
  // namespace or below it. Without NStgid (kernels before 4.1) this holds
  // only for an initial-namespace target.
  bool may_be_nested(const StatusFields& status) const;

  // The pid inside the target namespace: the NStgid entry at the target's
  // depth. Without NStgid, the pid of the proc root when the target is its
  // namespace, else 0 (Target::ns_pids_known).
  int32_t ns_pid(const StatusFields& status) const;

 private:
  Membership decide_namespace(const PidDirectory& dir,
                              const StatusFields& status,
                              std::optional<uint64_t> pid_ns);
  Membership walk_parents(const PidDirectory& dir, const StatusFields& status,
                          uint64_t pid_ns);
  bool is_seed(const PidDirectory& dir, const StatusFields& status) const;
  void cache_decision(uint64_t inode, UniqueFd pin, bool inside);
  bool is_excluded(const PidDirectory& dir, const StatusFields& status);
  bool in_cgroup(const PidDirectory& dir);

  Target target_;
  struct CachedDecision {
    // The namespace's ns/pid file, held open so that its inode stays its.
    UniqueFd pin;
    bool inside = false;
  };
  // PID namespace inode -> whether it is inside the target.
  std::map<uint64_t, CachedDecision> decisions_;
  // Excluded pid -> its start ticks, so that a reused pid is not taken for
  // an excluded parent.
  std::map<int32_t, uint64_t> excluded_;
  int excluded_count_ = 0;
  int outside_cgroup_ = 0;
  std::map<std::string, int> cgroup_errors_;
};

}  // namespace entrytrace
