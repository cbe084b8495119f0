// Membership of processes in the target PID namespace. Only members are read
// beyond what this decision needs (status and the ns/pid link) and only
// members are reported.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "poller/capture.h"
#include "poller/proc_parse.h"
#include "poller/proc_reader.h"

namespace entrytrace {

enum class Membership { kMember, kOutside, kUnknown };

// Decides membership from a process's own PID namespace. The decision for a
// namespace inode is cached, so each namespace is examined once.
class NamespaceScope {
 public:
  explicit NamespaceScope(const Target& target) : target_(target) {}

  const Target& target() const { return target_; }

  // A process is a member when its ns/pid inode is the target's or names a
  // namespace nested inside the target, which is found by walking up with
  // the NS_GET_PARENT ioctl on dir's ns/pid. Every process is a member of a
  // target at depth 0 (the procfs's own namespace). Returns kUnknown when
  // pid_ns is unset (ns/pid unreadable) or the walk fails; the caller then
  // decides from ancestry (see may_be_nested()).
  Membership decide(const PidDirectory& dir, const StatusFields& status,
                    std::optional<uint64_t> pid_ns);

  // True when NStgid is deep enough for the process to be in the target
  // namespace or below it. Without NStgid (kernels before 4.1) this holds
  // only for an initial-namespace target.
  bool may_be_nested(const StatusFields& status) const;

  // The pid inside the target namespace: the NStgid entry at the target's
  // depth. Without NStgid, the host pid when the target is the initial
  // namespace, else 0.
  int32_t ns_pid(const StatusFields& status) const;

 private:
  Membership walk_parents(const PidDirectory& dir, const StatusFields& status,
                          uint64_t pid_ns);

  Target target_;
  // PID namespace inode -> inside the target (true) or not.
  std::map<uint64_t, bool> decisions_;
};

}  // namespace entrytrace
