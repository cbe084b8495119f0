#include "cli/target_files.h"

#include <fcntl.h>

#include <cerrno>
#include <memory>
#include <optional>

#include "common/file_source.h"
#include "detectors/supervisor_sources.h"
#include "poller/proc_reader.h"

namespace entrytrace {
namespace {

// Whether the host's <pid> directory is the process that a capture through
// a procfs scoped to the target numbered ns_pid: same PID namespace, same
// pid in it and same start ticks.
bool same_process(const PidDirectory& dir, const Capture& capture,
                  const ExecNode& node) {
  auto ns = read_namespace(dir, "pid");
  if (!ns || *ns != capture.target.pid_ns) {
    return false;
  }
  auto status = read_status(dir);
  if (!status || status->ns_tgid.empty() ||
      status->ns_tgid.back() != node.ns_pid) {
    return false;
  }
  auto stat = read_stat(dir);
  return stat && stat->start_ticks == node.process.start_ticks;
}

// The host's directory of a process of a capture without host pids, found
// by its pid in the target namespace.
// NOTE: a process in a PID namespace nested in the target is not found,
// because its own namespace is not the target's.
std::optional<PidDirectory> find_process(const ProcReader& reader,
                                         const Capture& capture,
                                         const ExecNode& node) {
  auto pids = reader.list_pids();
  if (!pids) {
    return std::nullopt;
  }
  for (const PidEntry& entry : *pids) {
    auto dir = reader.open_pid(entry.pid);
    if (dir && same_process(*dir, capture, node)) {
      return std::move(*dir);
    }
  }
  return std::nullopt;
}

// Opens the root of the process that dir holds. A held /proc/<pid>
// directory stays bound to its process, so once its identity is checked,
// a pid reused later cannot lend another process's root.
Result<std::unique_ptr<FileSource>> open_process_root(const PidDirectory& dir) {
  UniqueFd root(::openat(dir.fd(), "root", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) {
    return system_error("/proc/" + std::to_string(dir.pid()) + "/root", errno);
  }
  return std::unique_ptr<FileSource>(
      std::make_unique<RootDirectory>(std::move(root)));
}

}  // namespace

void read_target_files(Capture& capture, const Catalogue& catalogue,
                       const std::string& proc_root) {
  const ProcReader reader(proc_root);
  auto open_root =
      [&](const ExecNode& node) -> Result<std::unique_ptr<FileSource>> {
    if (capture.target.host_pids_visible) {
      auto dir = reader.open_pid(node.process.host_pid);
      if (!dir) {
        return dir.error();
      }
      auto stat = read_stat(*dir);
      if (!stat || stat->start_ticks != node.process.start_ticks) {
        return Error{"pid " + std::to_string(node.process.host_pid) +
                     " no longer runs the process that was captured"};
      }
      return open_process_root(*dir);
    }
    // A procfs scoped to the target numbered the capture's processes.
    std::optional<PidDirectory> dir = find_process(reader, capture, node);
    if (!dir) {
      return Error{"no process of " + proc_root + " is pid " +
                   std::to_string(node.ns_pid) +
                   " of the target's PID namespace"};
    }
    return open_process_root(*dir);
  };
  keep_supervisor_files(capture, catalogue, open_root, FileLimits{});
}

}  // namespace entrytrace
