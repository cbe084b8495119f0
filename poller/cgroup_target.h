// Naming the target by container id or cgroup path instead of by a pid.
//
// Both lookups scan <proc_root>/<pid>/cgroup of every process and return the
// host pids that belong to the container or cgroup. The target's PID
// namespace then comes from one representative process
// (pick_representative()). A PID namespace can hold more than one container
// (a Kubernetes pod with shareProcessNamespace, a DaemonSet with hostPID).
// So the caller must keep the returned pid set, or repeat the lookup on each
// poll, as a filter on top of namespace membership.
//
// Races are normal: a process can exit between the listing and the read of
// its cgroup file. Such processes are skipped. A process started after the
// scan is not in the returned set.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace entrytrace {

// One line of /proc/<pid>/cgroup.
struct CgroupEntry {
  // 0 for the cgroup v2 (unified) hierarchy, else the v1 hierarchy id.
  uint32_t hierarchy_id = 0;
  // The v1 controllers bound to the hierarchy ("cpu", "cpuacct") or its name
  // ("name=systemd"). Empty for the v2 line.
  std::vector<std::string> controllers;
  // Path inside the hierarchy, relative to the reader's cgroup namespace
  // root. Starts with '/'. A cgroup outside that root shows as "/../...".
  std::string path;
  // The v2 cgroup was removed while the process stayed in it (a zombie);
  // the kernel then appends " (deleted)", which is not part of path.
  bool deleted = false;

  bool is_unified() const { return hierarchy_id == 0 && controllers.empty(); }
};

// Parses a /proc/<pid>/cgroup text: v1 lines, the v2 line, or both on a
// hybrid host. Returns an Error naming the line number and the text of the
// first line that is not "<id>:<controllers>:<path>".
Result<std::vector<CgroupEntry>> parse_proc_cgroup(std::string_view text);

enum class ContainerRuntime { kUnknown, kDocker, kContainerd, kCrio, kPodman };

// Returns "docker", "containerd", "cri-o", "podman" or "unknown".
std::string_view runtime_name(ContainerRuntime runtime);

// A container found in a cgroup path.
struct ContainerRef {
  // 64 lowercase hexadecimal digits.
  std::string id;
  // Taken from the path's naming scheme. A bare id under /kubepods is
  // kUnknown, because containerd and the Docker shim both use that layout.
  ContainerRuntime runtime = ContainerRuntime::kUnknown;
  // The Kubernetes pod UID when the path has a pod<uid> component, with the
  // underscores of the systemd layout turned back into dashes.
  std::string pod_uid;
  // The cgroup path up to and including the component that names the
  // container ("/system.slice/docker-<id>.scope" for a process in
  // ".../docker-<id>.scope/worker").
  std::string cgroup;
};

// Finds the container in one cgroup path. Recognized path components:
//   <64 hex>                         /docker/<id>, /kubepods/.../pod<uid>/<id>
//   <prefix>-<64 hex>[.scope]        docker-, cri-containerd-, crio-, libpod-
// A bare id counts only below a "docker" or a pod<uid> component, where
// Docker's and Kubernetes's cgroupfs drivers put it.
// A component whose prefix ends in "conmon" (libpod-conmon-, crio-conmon-)
// is the runtime's monitor process, not the container, and never matches.
// The innermost matching component wins, so a container nested in another
// (Docker in Docker) is named by its own id, and child cgroups that a
// container creates below its own (".../libpod-<id>.scope/container") still
// resolve to it. Returns nothing when no component matches.
std::optional<ContainerRef> find_container_in_cgroup_path(
    std::string_view path);

// Returns the containers named by the entries of one process, without
// duplicates (on v1 every hierarchy usually repeats the same id). Sorted by
// id.
std::vector<ContainerRef> find_containers(
    const std::vector<CgroupEntry>& entries);

// The minimum number of hex digits accepted as a container id prefix.
inline constexpr size_t kMinContainerIdPrefix = 4;

// Normalizes user input naming a container: strips a "<runtime>://" prefix
// as Kubernetes writes it in status.containerStatuses[].containerID
// ("containerd://", "cri-o://", "docker://"), lowercases, and checks that
// kMinContainerIdPrefix to 64 hex digits remain. Returns an Error naming the
// input otherwise.
Result<std::string> normalize_container_id(std::string_view input);

// The processes of one container.
struct ContainerProcesses {
  ContainerRef container;
  // Host pids, sorted.
  std::vector<int32_t> pids;
};

// Finds the container whose id is id_or_prefix or starts with it, and lists
// its processes. Returns an Error when the input is not a valid id
// (normalize_container_id()), when no process is in a matching container,
// or when proc_root cannot be listed. A prefix that matches more than one
// container is an Error too, and its message lists their full ids, sorted.
// So is an id found in unrelated cgroups (ContainerRef::cgroup differs
// between processes), which happens when someone outside the container made
// a cgroup named after it: the message lists each cgroup and its pids.
// NOTE: Target::cgroup_filter still compares the id alone, so a process of
// the target's PID namespace that is moved later into another cgroup named
// after the id is taken as a member.
Result<ContainerProcesses> find_container_processes(
    const std::string& proc_root, std::string_view id_or_prefix);

// Returns the host pids of find_container_processes(), sorted.
Result<std::vector<int32_t>> pids_in_container(const std::string& proc_root,
                                               std::string_view id_or_prefix);

// A mounted cgroup hierarchy, from /proc/<pid>/mountinfo.
struct CgroupMount {
  // The mount point, such as "/sys/fs/cgroup" or
  // "/sys/fs/cgroup/cpu,cpuacct".
  std::string mount_point;
  // The cgroup shown at the mount point, "/" unless a subtree is mounted
  // (in a container without its own cgroup namespace it is "/docker/<id>").
  std::string root;
  // True for cgroup2.
  bool unified = false;
  // Superblock options of a v1 mount, which name its controllers among
  // other flags ("rw", "cpu", "cpuacct" or "rw", "xattr", "name=systemd").
  std::vector<std::string> options;
};

// Returns the cgroup and cgroup2 mounts listed in a /proc/<pid>/mountinfo
// text, in the order listed. Lines of other file systems and lines with
// fewer fields than mountinfo has are skipped.
std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo);

// One way to read a cgroup path given by the user.
struct CgroupQuery {
  enum class Hierarchy {
    // Any line of /proc/<pid>/cgroup, v1 or v2.
    kAny,
    // The v2 line only.
    kUnified,
    // v1 lines whose controllers include one of `controllers`.
    kControllers,
  };
  Hierarchy hierarchy = Hierarchy::kAny;
  std::vector<std::string> controllers;
  // Path inside the hierarchy: starts with '/', no trailing '/', no empty,
  // "." or ".." components.
  std::string path;
};

// Turns a cgroup path given by the user into the queries that select its
// processes. A path below a cgroup mount listed in mountinfo (longest mount
// point wins) selects that hierarchy, with the mount point replaced by the
// mount's root. A path below "/sys/fs/cgroup" that no listed mount covers
// (mountinfo empty or from another mount namespace) gives two readings: a v2
// path, and "/sys/fs/cgroup/<controllers>/<path>" as on v1 hosts. Any other
// path is a cgroup path for every hierarchy. Returns an Error naming the
// path when it is not absolute or has a ".." component.
Result<std::vector<CgroupQuery>> resolve_cgroup_path(
    std::string_view path, std::string_view mountinfo);

// True when one of the entries is the query's cgroup or lies below it.
bool cgroup_matches(const std::vector<CgroupEntry>& entries,
                    const CgroupQuery& query);

// Returns the host pids, sorted, of the processes whose cgroup is
// cgroup_path or lies below it (resolve_cgroup_path() with mountinfo reads
// the path). Pass the text of /proc/self/mountinfo, or an empty text for a
// path already relative to the cgroup root. Returns an Error when the path is
// invalid, proc_root cannot be listed, or no process matches.
// NOTE: paths in /proc/<pid>/cgroup are relative to the reader's cgroup
// namespace, so a path outside it ("/../...") never matches a given path.
Result<std::vector<int32_t>> pids_in_cgroup(const std::string& proc_root,
                                            std::string_view cgroup_path,
                                            std::string_view mountinfo);

// The process whose PID namespace becomes the target's.
struct Representative {
  int32_t host_pid = 0;
  // The pid in the process's own PID namespace (last NStgid entry; the host
  // pid on kernels without NStgid).
  int32_t ns_pid = 0;
  // Number of PID namespaces below the initial one that contain the
  // process.
  int ns_depth = 0;
  // Field 22 of stat.
  uint64_t start_ticks = 0;
};

// Picks the representative among host pids of one container or cgroup. The
// order is: the shallowest PID namespace first, so that a namespace nested
// inside the container does not win, then the lowest pid in it, then the
// earliest start, then the lowest host pid. Pids that vanished or whose stat
// or status is unreadable are skipped. Returns an Error when pids is empty or
// none could be read. The caller resolves the Target from host_pid and keeps
// pids as a membership filter (see the top of this file).
Result<Representative> pick_representative(const std::string& proc_root,
                                           const std::vector<int32_t>& pids);

}  // namespace entrytrace
