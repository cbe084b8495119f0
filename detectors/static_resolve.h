// Static resolution: what a container would run, predicted from the
// command its runtime builds and the files of its image, without running
// anything. The result is a predicted exec graph (one node per program
// image, as in dynamic mode) and the terminal candidates with their
// evidence.
//
// Each step resolves argv[0] in the image (PATH search, then "#!" lines,
// then symbolic links), matches the program against the catalogue's
// wrappers (tini, gosu, sh -c, ...) and follows the wrapped command, and
// runs shell scripts through the symbolic interpreter of static_shell.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalogue/catalogue.h"
#include "common/file_source.h"
#include "detectors/static_image.h"

namespace entrytrace {

// Confidence of a static candidate, by how far resolution got. A static
// prediction never reaches 1: volumes, run-time environment variables and
// the output of commands can change what runs.
inline constexpr double kStaticResolved = 0.9;
// The script runs the command in the foreground instead of exec'ing it;
// multiplied into the confidence.
inline constexpr double kStaticForegroundFactor = 0.8;
inline constexpr double kStaticBackground = 0.5;
inline constexpr double kStaticStopped = 0.3;
inline constexpr double kStaticInteractiveShell = 0.2;
inline constexpr double kStaticNotRunnable = 0.1;

// One predicted program image.
struct StaticNode {
  // Predicted pid in the container: 1 for the first process, then one more
  // per process in the order they start.
  int pid = 1;
  int exec_index = 0;
  // For the first image of a process: the node that started it.
  std::optional<size_t> parent;
  // Path in the image with symbolic links resolved; unset when argv[0]
  // was not found.
  std::optional<std::string> path;
  std::vector<std::string> argv;
  uint32_t uid = 0;
  std::optional<std::string> user_name;
  // The image stops before the workload runs: it exec'd into the next
  // image, or it is a short-lived child such as a hook script.
  bool ended = false;
  bool exited = false;
  // The catalogue wrapper the image matched.
  std::optional<std::string> wrapper;
};

struct StaticCandidate {
  size_t node = 0;
  double confidence = 0;
  std::vector<std::string> evidence;
};

struct StaticPlan {
  std::vector<StaticNode> nodes;
  // Best first.
  std::vector<StaticCandidate> candidates;
  std::vector<std::string> evidence;
  std::vector<std::string> diagnostics;
};

// The container's first process, as its runtime starts it.
struct StaticStart {
  std::vector<std::string> argv;
  std::map<std::string, std::string> environment;
  std::string cwd = "/";
  ResolvedUser user;
};

// Follows start through the image. Never fails: what cannot be resolved
// becomes a candidate with a low confidence, evidence and a diagnostic.
StaticPlan resolve_static(const StaticStart& start, const FileSource& files,
                          const Catalogue& catalogue);

// Resolves the symbolic links of an absolute path inside files, as the
// kernel would inside the root (at most 40 links). Returns the path with
// every link replaced by its target, or the path unchanged when a component
// cannot be read.
std::string resolve_links(const std::string& path, const FileSource& files);

}  // namespace entrytrace
