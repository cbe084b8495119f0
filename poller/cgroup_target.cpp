#include "poller/cgroup_target.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "poller/proc_reader.h"
#include "poller/text_fields.h"

namespace entrytrace {
namespace {

constexpr size_t kContainerIdLength = 64;
constexpr std::string_view kDeletedSuffix = " (deleted)";
// The mount point of the cgroup file systems on systemd hosts and most others.
constexpr std::string_view kCgroupMountPoint = "/sys/fs/cgroup";
// Length of a Kubernetes pod UID in its canonical 8-4-4-4-12 form.
constexpr size_t kPodUidLength = 36;

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool is_container_id(std::string_view text) {
  return text.size() == kContainerIdLength &&
         std::all_of(text.begin(), text.end(), is_hex_digit);
}

bool is_pod_uid(std::string_view text) {
  return text.size() == kPodUidLength &&
         std::all_of(text.begin(), text.end(),
                     [](char c) { return is_hex_digit(c) || c == '-'; });
}

// Splits a path at '/', dropping empty and "." components. ".." is kept so
// that callers can reject it or skip it.
std::vector<std::string_view> path_components(std::string_view path) {
  std::vector<std::string_view> components;
  for (std::string_view component : split_on(path, '/')) {
    if (!component.empty() && component != ".") {
      components.push_back(component);
    }
  }
  return components;
}

std::string join_components(std::string_view base,
                            const std::vector<std::string_view>& components,
                            size_t first) {
  std::string path(base);
  while (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  for (size_t i = first; i < components.size(); ++i) {
    if (path != "/") {
      path += '/';
    }
    path += components[i];
  }
  return path.empty() ? "/" : path;
}

// 4:cpu,cpuacct:/docker/4a1b...
// 0::/system.slice/docker-4a1b....scope
Result<CgroupEntry> parse_cgroup_line(std::string_view line) {
  size_t first = line.find(':');
  size_t second =
      first == std::string_view::npos ? first : line.find(':', first + 1);
  if (second == std::string_view::npos) {
    return Error{"expected <hierarchy id>:<controllers>:<path>"};
  }

  CgroupEntry entry;
  if (!parse_decimal(line.substr(0, first), entry.hierarchy_id)) {
    return Error{"hierarchy id is not a number"};
  }
  std::string_view controllers = line.substr(first + 1, second - first - 1);
  if (!controllers.empty()) {
    for (std::string_view controller : split_on(controllers, ',')) {
      entry.controllers.emplace_back(controller);
    }
  }

  std::string_view path = line.substr(second + 1);
  if (entry.is_unified() && path.ends_with(kDeletedSuffix)) {
    path.remove_suffix(kDeletedSuffix.size());
    entry.deleted = true;
  }
  if (!path.starts_with('/')) {
    return Error{"path does not start with '/'"};
  }
  entry.path = std::string(path);
  return entry;
}

ContainerRuntime runtime_from_prefix(std::string_view prefix) {
  if (prefix == "docker") {
    return ContainerRuntime::kDocker;
  }
  if (prefix == "cri-containerd") {
    return ContainerRuntime::kContainerd;
  }
  if (prefix == "crio") {
    return ContainerRuntime::kCrio;
  }
  if (prefix == "libpod") {
    return ContainerRuntime::kPodman;
  }
  return ContainerRuntime::kUnknown;
}

// Matches one path component: "<id>", "<prefix>-<id>" or
// "<prefix>-<id>.scope".
std::optional<ContainerRef> match_component(std::string_view component) {
  if (component.ends_with(".scope")) {
    component.remove_suffix(6);
  }
  if (is_container_id(component)) {
    return ContainerRef{std::string(component), ContainerRuntime::kUnknown, ""};
  }
  if (component.size() <= kContainerIdLength + 1) {
    return std::nullopt;
  }
  size_t dash = component.size() - kContainerIdLength - 1;
  std::string_view id = component.substr(dash + 1);
  std::string_view prefix = component.substr(0, dash);
  if (component[dash] != '-' || !is_container_id(id) ||
      prefix.ends_with("conmon")) {
    return std::nullopt;
  }
  return ContainerRef{std::string(id), runtime_from_prefix(prefix), ""};
}

// Returns "/" followed by the first count components joined with '/'.
std::string join_leading_components(
    const std::vector<std::string_view>& components, size_t count) {
  std::vector<std::string_view> leading(components.begin(),
                                        components.begin() + count);
  return join_components("/", leading, 0);
}

// Returns the pod UID of "pod<uid>" (cgroupfs driver) or
// "kubepods-<class>-pod<uid with '_'>.slice" (systemd driver).
std::string match_pod_uid(std::string_view component) {
  std::string_view uid;
  if (component.starts_with("pod")) {
    uid = component.substr(3);
  } else if (component.ends_with(".slice")) {
    size_t pod = component.rfind("-pod");
    if (pod == std::string_view::npos) {
      return {};
    }
    uid = component.substr(pod + 4);
    uid.remove_suffix(6);
  }
  std::string text(uid);
  std::replace(text.begin(), text.end(), '_', '-');
  return is_pod_uid(text) ? text : std::string();
}

// A bare id counts only where runtimes put one: below "docker" (Docker's
// cgroupfs driver, /docker/<id>) or below a pod cgroup (Kubernetes with the
// cgroupfs driver, /kubepods/<class>/pod<uid>/<id>). Any other directory
// named by an id is not taken for a container, because any user with a
// delegated subtree (user@<uid>.service) can make one. A
// "<prefix>-<id>[.scope]" component needs no particular parent.
bool bare_id_has_runtime_parent(const std::vector<std::string_view>& components,
                                size_t index) {
  std::string_view component = components[index];
  if (component.ends_with(".scope")) {
    component.remove_suffix(6);
  }
  if (!is_container_id(component)) {
    return true;
  }
  if (index == 0) {
    return false;
  }
  std::string_view parent = components[index - 1];
  return parent == "docker" || !match_pod_uid(parent).empty();
}

std::string join_ids(const std::vector<std::string>& ids) {
  std::string text;
  for (const std::string& id : ids) {
    text += text.empty() ? "" : ", ";
    text += id;
  }
  return text;
}

std::string join_pids(const std::vector<int32_t>& pids) {
  std::string text;
  for (int32_t pid : pids) {
    text += text.empty() ? "" : ", ";
    text += std::to_string(pid);
  }
  return text;
}

// The parsed cgroup file of each readable process under a proc root.
struct CgroupScan {
  std::vector<std::pair<int32_t, std::vector<CgroupEntry>>> processes;
  // Processes whose cgroup file could not be read (other than vanished
  // ones) or parsed, and the first such error.
  int failed = 0;
  std::string first_error;
};

Result<CgroupScan> scan_cgroups(const std::string& proc_root) {
  ProcReader reader(proc_root);
  Result<std::vector<PidEntry>> listing = reader.list_pids();
  if (!listing) {
    return listing.error();
  }

  CgroupScan scan;
  auto record_failure = [&scan](int32_t pid, const std::string& message) {
    if (scan.failed++ == 0) {
      scan.first_error = "pid " + std::to_string(pid) + ": " + message;
    }
  };
  for (const PidEntry& entry : *listing) {
    Result<PidDirectory> dir = reader.open_pid(entry.pid);
    if (!dir) {
      if (!is_vanished(dir.error())) {
        record_failure(entry.pid, dir.error().message);
      }
      continue;
    }
    Result<std::string> text = dir->read_to_end("cgroup");
    if (!text) {
      if (!is_vanished(text.error())) {
        record_failure(entry.pid, text.error().message);
      }
      continue;
    }
    Result<std::vector<CgroupEntry>> entries = parse_proc_cgroup(*text);
    if (!entries) {
      record_failure(entry.pid, entries.error().message);
      continue;
    }
    scan.processes.emplace_back(entry.pid, std::move(*entries));
  }

  if (scan.processes.empty() && scan.failed > 0) {
    return Error{"failed to read the cgroup file of any process under " +
                 proc_root + " (" + scan.first_error +
                 "); check that it is a procfs and run as root"};
  }
  return scan;
}

// Keeps the more specific of two sightings of one container.
void merge_sighting(ContainerRef& known, const ContainerRef& seen) {
  if (known.runtime == ContainerRuntime::kUnknown) {
    known.runtime = seen.runtime;
  }
  if (known.pod_uid.empty()) {
    known.pod_uid = seen.pod_uid;
  }
}

std::string not_found_message(const std::string& proc_root,
                              const std::string& id, size_t scanned) {
  std::string subject = id.size() == kContainerIdLength
                            ? "whose id is " + id
                            : "whose id starts with \"" + id + "\"";
  return "no process under " + proc_root + " is in a container " + subject +
         " (read the cgroup files of " + std::to_string(scanned) +
         " processes); check the id with \"docker ps --no-trunc\", "
         "\"podman ps --no-trunc\" or \"crictl ps\", and that entrytrace "
         "runs in the host PID namespace so that the container's processes "
         "are visible";
}

// The distinct ContainerRef::cgroup values, over all hierarchies, of the
// entries of one process that name the container id.
std::set<std::string> cgroups_naming(const std::vector<CgroupEntry>& entries,
                                     const std::string& id) {
  std::set<std::string> cgroups;
  for (const CgroupEntry& entry : entries) {
    std::optional<ContainerRef> container =
        find_container_in_cgroup_path(entry.path);
    if (container && container->id == id) {
      cgroups.insert(container->cgroup);
    }
  }
  return cgroups;
}

// Processes of one container id, grouped by cgroups_naming().
using PidsByCgroups = std::map<std::set<std::string>, std::vector<int32_t>>;

std::string unrelated_cgroups_message(const std::string& id,
                                      const PidsByCgroups& placements) {
  std::string groups;
  for (const auto& [cgroups, pids] : placements) {
    groups += groups.empty() ? "" : "; ";
    std::string paths;
    for (const std::string& cgroup : cgroups) {
      paths += paths.empty() ? "" : " and ";
      paths += cgroup;
    }
    groups += paths + (pids.size() == 1 ? " (pid " : " (pids ") +
              join_pids(pids) + ")";
  }
  return "container id " + id + " names " + std::to_string(placements.size()) +
         " unrelated cgroups: " + groups +
         ". A process outside the container can make a cgroup named after "
         "it, so entrytrace does not pick one; name the target with "
         "--cgroup PATH, using the cgroup that the container runtime made";
}

bool controllers_overlap(const std::vector<std::string>& entry,
                         const std::vector<std::string>& query) {
  return std::any_of(entry.begin(), entry.end(), [&](const std::string& c) {
    return std::find(query.begin(), query.end(), c) != query.end();
  });
}

bool path_at_or_below(std::string_view path, std::string_view base) {
  if (base == "/") {
    return true;
  }
  return path.starts_with(base) &&
         (path.size() == base.size() || path[base.size()] == '/');
}

// Decodes the octal escapes (\040 for a space) that mountinfo uses in
// paths.
std::string unescape_mount_path(std::string_view text) {
  std::string path;
  for (size_t i = 0; i < text.size(); ++i) {
    int value = 0;
    if (text[i] == '\\' && i + 3 < text.size() &&
        parse_number(text.substr(i + 1, 3), value, 8)) {
      path += static_cast<char>(value);
      i += 3;
    } else {
      path += text[i];
    }
  }
  return path;
}

// Returns the mount whose mount point is the longest leading part of the
// path's components. Among mounts at one point the last listed wins, because
// it is mounted on top.
const CgroupMount* find_covering_mount(
    const std::vector<CgroupMount>& mounts,
    const std::vector<std::string_view>& components, size_t& matched) {
  const CgroupMount* best = nullptr;
  for (const CgroupMount& mount : mounts) {
    std::vector<std::string_view> point = path_components(mount.mount_point);
    if (point.size() > components.size() ||
        !std::equal(point.begin(), point.end(), components.begin())) {
      continue;
    }
    if (best == nullptr || point.size() >= matched) {
      best = &mount;
      matched = point.size();
    }
  }
  return best;
}

// Reads "/sys/fs/cgroup/<rest>" without a listed mount: either a v2 path, or
// a v1 controller directory ("cpu,cpuacct", "memory", "systemd" for
// name=systemd) followed by the path in that hierarchy.
std::vector<CgroupQuery> conventional_readings(
    const std::vector<std::string_view>& components, size_t first) {
  using Hierarchy = CgroupQuery::Hierarchy;
  if (components.size() == first) {
    return {CgroupQuery{Hierarchy::kAny, {}, "/"}};
  }
  std::vector<CgroupQuery> queries;
  queries.push_back(CgroupQuery{
      Hierarchy::kUnified, {}, join_components("/", components, first)});

  std::string_view directory = components[first];
  std::string rest = join_components("/", components, first + 1);
  if (directory == "unified") {
    queries.push_back(CgroupQuery{Hierarchy::kUnified, {}, rest});
  }
  CgroupQuery v1{Hierarchy::kControllers, {}, rest};
  for (std::string_view controller : split_on(directory, ',')) {
    v1.controllers.emplace_back(controller);
    v1.controllers.push_back("name=" + std::string(controller));
  }
  queries.push_back(std::move(v1));
  return queries;
}

Result<Representative> read_candidate(const ProcReader& reader, int32_t pid) {
  auto failed = [pid](const Error& error) {
    return Error{"pid " + std::to_string(pid) + ": " + error.message,
                 error.errno_value};
  };
  Result<PidDirectory> dir = reader.open_pid(pid);
  if (!dir) {
    return failed(dir.error());
  }
  Result<StatFields> stat = read_stat(*dir);
  if (!stat) {
    return failed(stat.error());
  }
  Result<StatusFields> status = read_status(*dir);
  if (!status) {
    return failed(status.error());
  }

  Representative candidate;
  candidate.host_pid = pid;
  candidate.start_ticks = stat->start_ticks;
  const std::vector<int32_t>& ns_tgid = status->ns_tgid;
  candidate.ns_pid = ns_tgid.empty() ? pid : ns_tgid.back();
  candidate.ns_depth =
      ns_tgid.empty() ? 0 : static_cast<int>(ns_tgid.size()) - 1;
  return candidate;
}

}  // namespace

Result<std::vector<CgroupEntry>> parse_proc_cgroup(std::string_view text) {
  std::vector<CgroupEntry> entries;
  std::vector<std::string_view> lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (trim(lines[i]).empty()) {
      continue;
    }
    Result<CgroupEntry> entry = parse_cgroup_line(lines[i]);
    if (!entry) {
      return Error{"invalid cgroup line " + std::to_string(i + 1) + " \"" +
                   std::string(lines[i]) + "\": " + entry.error().message};
    }
    entries.push_back(std::move(*entry));
  }
  return entries;
}

std::string_view runtime_name(ContainerRuntime runtime) {
  switch (runtime) {
    case ContainerRuntime::kDocker:
      return "docker";
    case ContainerRuntime::kContainerd:
      return "containerd";
    case ContainerRuntime::kCrio:
      return "cri-o";
    case ContainerRuntime::kPodman:
      return "podman";
    case ContainerRuntime::kUnknown:
      break;
  }
  return "unknown";
}

std::optional<ContainerRef> find_container_in_cgroup_path(
    std::string_view path) {
  std::vector<std::string_view> components = path_components(path);
  for (size_t i = components.size(); i-- > 0;) {
    std::optional<ContainerRef> container = match_component(components[i]);
    if (!container || !bare_id_has_runtime_parent(components, i)) {
      continue;
    }
    container->cgroup = join_leading_components(components, i + 1);
    for (size_t outer = 0; outer < i; ++outer) {
      if (components[outer] == "docker" &&
          container->runtime == ContainerRuntime::kUnknown) {
        container->runtime = ContainerRuntime::kDocker;
      }
      std::string pod_uid = match_pod_uid(components[outer]);
      if (!pod_uid.empty()) {
        container->pod_uid = std::move(pod_uid);
      }
    }
    return container;
  }
  return std::nullopt;
}

std::vector<ContainerRef> find_containers(
    const std::vector<CgroupEntry>& entries) {
  std::map<std::string, ContainerRef> by_id;
  for (const CgroupEntry& entry : entries) {
    std::optional<ContainerRef> container =
        find_container_in_cgroup_path(entry.path);
    if (!container) {
      continue;
    }
    auto [it, inserted] = by_id.emplace(container->id, *container);
    if (!inserted) {
      merge_sighting(it->second, *container);
    }
  }
  std::vector<ContainerRef> containers;
  for (auto& [id, container] : by_id) {
    containers.push_back(std::move(container));
  }
  return containers;
}

Result<std::string> normalize_container_id(std::string_view input) {
  std::string_view id = trim(input);
  size_t scheme = id.find("://");
  if (scheme != std::string_view::npos) {
    id.remove_prefix(scheme + 3);
  }
  std::string prefix = "invalid container id \"" + std::string(input) + "\": ";

  std::string normalized;
  for (char c : id) {
    char lower = (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
    if (!is_hex_digit(lower)) {
      return Error{prefix + "'" + std::string(1, c) +
                   "' is not a hexadecimal digit; give the id as docker, "
                   "podman or crictl print it, optionally after "
                   "\"containerd://\", \"cri-o://\" or \"docker://\""};
    }
    normalized += lower;
  }
  if (normalized.size() < kMinContainerIdPrefix) {
    return Error{prefix + "give at least " +
                 std::to_string(kMinContainerIdPrefix) +
                 " hexadecimal digits of the id"};
  }
  if (normalized.size() > kContainerIdLength) {
    return Error{prefix + "a container id has at most " +
                 std::to_string(kContainerIdLength) + " hexadecimal digits"};
  }
  return normalized;
}

Result<ContainerProcesses> find_container_processes(
    const std::string& proc_root, std::string_view id_or_prefix) {
  Result<std::string> id = normalize_container_id(id_or_prefix);
  if (!id) {
    return id.error();
  }
  Result<CgroupScan> scan = scan_cgroups(proc_root);
  if (!scan) {
    return scan.error();
  }

  std::map<std::string, ContainerProcesses> matches;
  // Full id -> the cgroups that name it in one process -> those processes.
  std::map<std::string, PidsByCgroups> placements;
  for (const auto& [pid, entries] : scan->processes) {
    for (const ContainerRef& container : find_containers(entries)) {
      if (!container.id.starts_with(*id)) {
        continue;
      }
      auto [it, inserted] =
          matches.emplace(container.id, ContainerProcesses{container, {}});
      if (!inserted) {
        merge_sighting(it->second.container, container);
      }
      it->second.pids.push_back(pid);
      placements[container.id][cgroups_naming(entries, container.id)].push_back(
          pid);
    }
  }

  if (matches.empty()) {
    return Error{not_found_message(proc_root, *id, scan->processes.size())};
  }
  if (matches.size() > 1) {
    std::vector<std::string> ids;
    for (const auto& [full_id, match] : matches) {
      ids.push_back(full_id);
    }
    return Error{"container id prefix \"" + *id + "\" matches " +
                 std::to_string(ids.size()) + " containers: " + join_ids(ids) +
                 "; give more digits of the id"};
  }
  const std::string& full_id = matches.begin()->first;
  if (placements[full_id].size() > 1) {
    return Error{unrelated_cgroups_message(full_id, placements[full_id])};
  }
  // The scan lists pids in ascending order, so the list is sorted.
  return std::move(matches.begin()->second);
}

Result<std::vector<int32_t>> pids_in_container(const std::string& proc_root,
                                               std::string_view id_or_prefix) {
  Result<ContainerProcesses> found =
      find_container_processes(proc_root, id_or_prefix);
  if (!found) {
    return found.error();
  }
  return std::move(found->pids);
}

// 30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime
//   shared:4 - cgroup2 cgroup2 rw,nsdelegate
// (one line; wrapped here). Fields: mount id, parent id, device, root,
// mount point, mount options, optional fields up to "-", then file system
// type, source and superblock options.
std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo) {
  std::vector<CgroupMount> mounts;
  for (std::string_view line : split_lines(mountinfo)) {
    std::vector<std::string_view> words = split_words(line);
    size_t dash = 6;
    while (dash < words.size() && words[dash] != "-") {
      ++dash;
    }
    if (dash + 3 >= words.size()) {
      continue;
    }
    std::string_view type = words[dash + 1];
    if (type != "cgroup" && type != "cgroup2") {
      continue;
    }
    CgroupMount mount;
    mount.root = unescape_mount_path(words[3]);
    mount.mount_point = unescape_mount_path(words[4]);
    mount.unified = type == "cgroup2";
    for (std::string_view option : split_on(words[dash + 3], ',')) {
      mount.options.emplace_back(option);
    }
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

Result<std::vector<CgroupQuery>> resolve_cgroup_path(
    std::string_view path, std::string_view mountinfo) {
  std::string prefix = "invalid cgroup path \"" + std::string(path) + "\": ";
  if (!path.starts_with('/')) {
    return Error{prefix +
                 "expected an absolute path, such as "
                 "/sys/fs/cgroup/system.slice/docker-<id>.scope or "
                 "/kubepods/burstable/pod<uid>"};
  }
  std::vector<std::string_view> components = path_components(path);
  if (std::find(components.begin(), components.end(), "..") !=
      components.end()) {
    return Error{prefix + "remove the \"..\" components"};
  }

  using Hierarchy = CgroupQuery::Hierarchy;
  std::vector<CgroupMount> mounts = parse_cgroup_mounts(mountinfo);
  size_t matched = 0;
  const CgroupMount* mount = find_covering_mount(mounts, components, matched);
  if (mount != nullptr) {
    CgroupQuery query;
    query.hierarchy =
        mount->unified ? Hierarchy::kUnified : Hierarchy::kControllers;
    if (!mount->unified) {
      query.controllers = mount->options;
    }
    query.path = join_components(mount->root, components, matched);
    return std::vector<CgroupQuery>{std::move(query)};
  }

  std::vector<std::string_view> conventional =
      path_components(kCgroupMountPoint);
  if (components.size() >= conventional.size() &&
      std::equal(conventional.begin(), conventional.end(),
                 components.begin())) {
    return conventional_readings(components, conventional.size());
  }
  return std::vector<CgroupQuery>{
      CgroupQuery{Hierarchy::kAny, {}, join_components("/", components, 0)}};
}

bool cgroup_matches(const std::vector<CgroupEntry>& entries,
                    const CgroupQuery& query) {
  using Hierarchy = CgroupQuery::Hierarchy;
  for (const CgroupEntry& entry : entries) {
    bool hierarchy_fits = true;
    if (query.hierarchy == Hierarchy::kUnified) {
      hierarchy_fits = entry.is_unified();
    } else if (query.hierarchy == Hierarchy::kControllers) {
      hierarchy_fits =
          controllers_overlap(entry.controllers, query.controllers);
    }
    if (hierarchy_fits && path_at_or_below(entry.path, query.path)) {
      return true;
    }
  }
  return false;
}

Result<std::vector<int32_t>> pids_in_cgroup(const std::string& proc_root,
                                            std::string_view cgroup_path,
                                            std::string_view mountinfo) {
  Result<std::vector<CgroupQuery>> queries =
      resolve_cgroup_path(cgroup_path, mountinfo);
  if (!queries) {
    return queries.error();
  }
  Result<CgroupScan> scan = scan_cgroups(proc_root);
  if (!scan) {
    return scan.error();
  }

  std::vector<int32_t> pids;
  for (const auto& [pid, entries] : scan->processes) {
    bool member = std::any_of(queries->begin(), queries->end(),
                              [&](const CgroupQuery& query) {
                                return cgroup_matches(entries, query);
                              });
    if (member) {
      pids.push_back(pid);
    }
  }
  if (pids.empty()) {
    return Error{"no process under " + proc_root + " is in cgroup \"" +
                 std::string(cgroup_path) + "\" or below it (read the cgroup " +
                 "files of " + std::to_string(scan->processes.size()) +
                 " processes); check the path against /proc/<pid>/cgroup of "
                 "a process in the container"};
  }
  return pids;
}

Result<Representative> pick_representative(const std::string& proc_root,
                                           const std::vector<int32_t>& pids) {
  if (pids.empty()) {
    return Error{"no process to pick the target from: the pid list is empty"};
  }
  ProcReader reader(proc_root);
  std::optional<Representative> best;
  std::string first_error;
  auto order = [](const Representative& r) {
    return std::make_tuple(r.ns_depth, r.ns_pid, r.start_ticks, r.host_pid);
  };

  for (int32_t pid : pids) {
    Result<Representative> candidate = read_candidate(reader, pid);
    if (!candidate) {
      if (first_error.empty()) {
        first_error = candidate.error().message;
      }
      continue;
    }
    if (!best || order(*candidate) < order(*best)) {
      best = *candidate;
    }
  }

  if (!best) {
    return Error{"none of the processes " + join_pids(pids) + " under " +
                 proc_root +
                 " could be read; they exited or their stat and "
                 "status are unreadable (" +
                 first_error + ")"};
  }
  return *best;
}

}  // namespace entrytrace
