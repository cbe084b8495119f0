// Supervisors whose configuration entrytrace reads, and the services that
// configuration defines. The catalogue records where a supervisor keeps its
// configuration (SupervisorConfigSyntax); this reads it through a
// FileSource and turns it into service definitions.
//
// The CLI calls load_supervisor_config() through a RecordingFiles after the
// capture window and analysis calls it again through CapturedFiles, so both
// read the same files in the same order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalogue/catalogue.h"
#include "common/file_source.h"
#include "common/observation.h"
#include "detectors/supervisor_files.h"
#include "graph/exec_graph.h"

namespace entrytrace {

// Bytes read of one configuration file or run script.
inline constexpr size_t kMaxConfigBytes = 256 * 1024;
// Processes of one [program:x] section (numprocs) that are matched.
inline constexpr int kMaxProcessesPerProgram = 64;

// A running supervisor image whose configuration is read.
struct SupervisorSite {
  size_t node = 0;
  // A catalogue entry with a configuration syntax.
  const SupervisorEntry* entry = nullptr;
  // Working directory of the process when last read; empty when unknown.
  std::string cwd;
};

// Finds the running images that match a supervisor entry with a
// configuration syntax, in node order. Leaves out a supervisor's fork
// before it execs, and a runit service supervisor (runsv) whose parent is a
// scan supervisor (runsvdir), whose scan covers its directory.
std::vector<SupervisorSite> find_supervisor_sites(const Capture& capture,
                                                  const ExecGraph& graph,
                                                  const Catalogue& catalogue);

// The working directory of the node's process in the last snapshot that
// shows this image; empty when it was never readable.
std::string node_cwd(const Capture& capture, const ExecNode& node);

// A service that a supervisor's configuration defines.
struct ServiceDefinition {
  // The process name (supervisord process_name, numprocs expanded) or the
  // service directory's name.
  std::string name;
  // "[program:web]" for supervisord; empty for a runit service.
  std::string section;
  // The file that defines the section, or the service directory.
  std::string file;
  // The command split into words: supervisord's command= after expansion,
  // or the last command of a runit run script. Empty when unknown.
  std::vector<std::string> command;
  // supervisord autostart=.
  bool autostart = true;
  // runit: the directory has a down file.
  bool down = false;
  // runit: the first line of the supervisor's state file ("run", "down"),
  // empty when unreadable.
  std::string state;
  // runit: the pid in the supervisor's pid file.
  std::optional<int32_t> pid;
  // runit: the directory has a log service.
  bool has_log = false;
};

struct SupervisorConfig {
  // The configuration file or directory that was read; empty when none
  // was found.
  std::string path;
  // Files read through the include section, in reading order.
  std::vector<std::string> included;
  std::vector<ServiceDefinition> services;
  // Sentences about what could not be read or parsed.
  std::vector<std::string> problems;
};

// Reads the configuration of a supervisor process through files: finds its
// path (option, operand or search path), reads and parses it, follows its
// includes and returns its services. Never fails: what cannot be read is
// listed in problems.
SupervisorConfig load_supervisor_config(const SupervisorEntry& entry,
                                        const std::vector<std::string>& argv,
                                        std::string_view cwd,
                                        const FileSource& files);

// Opens the root directory that a supervisor's files are read through.
using RootOpener =
    std::function<Result<std::unique_ptr<FileSource>>(const ExecNode&)>;

// Reads the configuration of every supervisor site of the capture through
// the root that open_root gives for it, and keeps every entry in
// capture.files within limits; the byte limit holds for all sites
// together. A root that cannot be opened and a reached entry limit become
// capture diagnostics.
// NOTE: files are keyed by path alone, so two supervisors with different
// root directories (nested containers) that read the same path share the
// first entry.
void keep_supervisor_files(Capture& capture, const Catalogue& catalogue,
                           const RootOpener& open_root,
                           const FileLimits& limits);

}  // namespace entrytrace
