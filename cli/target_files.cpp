#include "cli/target_files.h"

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

// The host pid of a process of a capture without host pids, found by its
// pid in the target namespace.
// NOTE: a process in a PID namespace nested in the target is not found,
// because its own namespace is not the target's.
std::optional<int32_t> find_host_pid(const ProcReader& reader,
                                     const Capture& capture,
                                     const ExecNode& node) {
  auto pids = reader.list_pids();
  if (!pids) {
    return std::nullopt;
  }
  for (const PidEntry& entry : *pids) {
    auto dir = reader.open_pid(entry.pid);
    if (dir && same_process(*dir, capture, node)) {
      return entry.pid;
    }
  }
  return std::nullopt;
}

Result<std::unique_ptr<FileSource>> open_process_root(
    const std::string& proc_root, int32_t host_pid) {
  auto root =
      RootDirectory::open(proc_root + "/" + std::to_string(host_pid) + "/root");
  if (!root) {
    return root.error();
  }
  return std::unique_ptr<FileSource>(
      std::make_unique<RootDirectory>(std::move(*root)));
}

}  // namespace

void read_target_files(Capture& capture, const Catalogue& catalogue,
                       const std::string& proc_root) {
  const ProcReader reader(proc_root);
  auto open_root =
      [&](const ExecNode& node) -> Result<std::unique_ptr<FileSource>> {
    if (capture.target.host_pids_visible) {
      return open_process_root(proc_root, node.process.host_pid);
    }
    // A procfs scoped to the target numbered the capture's processes.
    std::optional<int32_t> host_pid = find_host_pid(reader, capture, node);
    if (!host_pid) {
      return Error{"no process of " + proc_root + " is pid " +
                   std::to_string(node.ns_pid) +
                   " of the target's PID namespace"};
    }
    return open_process_root(proc_root, *host_pid);
  };
  keep_supervisor_files(capture, catalogue, open_root, FileLimits{});
}

}  // namespace entrytrace
