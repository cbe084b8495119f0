// Command-line options of the entrytrace executable, parsed into a plain
// struct and validated before anything runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "poller/capture.h"

namespace entrytrace {

enum class Command { kRun, kObserve, kAnalyze, kDemo, kStatic };

struct Options {
  Command command = Command::kRun;

  // Capture.
  std::chrono::microseconds window = std::chrono::seconds(3);
  // Idle tick and hot tick of the procfs engine (see poller/capture.h).
  std::chrono::microseconds interval = std::chrono::microseconds(600);
  std::chrono::microseconds hot_interval = std::chrono::microseconds(300);
  // Steady-state read periods of the procfs engine; --low-cost lengthens
  // them.
  PollPeriods periods;
  // SCHED_FIFO for the capture thread during the window, when permitted.
  bool realtime = true;
  std::string proc_root = "/proc";
  // Read the host /proc even where a scoped procfs could be opened.
  bool host_pids = false;
  // auto, procfs, netlink or ebpf; checked against the backends built in.
  std::string backend = "auto";

  // observe: at most one of a host pid inside the target, a cgroup path and
  // a container id (or prefix). With none, observe watches its own PID
  // namespace.
  int32_t pid = 0;
  std::string cgroup_path;
  std::string container_id;
  // run: the command, and whether it keeps running after the window.
  std::vector<std::string> command_argv;
  bool keep = false;
  bool host_network = false;
  // analyze: a capture recorded with --record.
  std::string capture_file;

  // Static analysis of the image (static; optional for run and observe):
  // the image config file and the unpacked root filesystem, empty when not
  // given. observe may omit the rootfs.
  std::string image_config;
  std::string rootfs;
  // --entrypoint as given, parsed later by parse_entrypoint_override().
  std::optional<std::string> entrypoint;
  // static and observe: the run arguments after "--", replacing the
  // image's Cmd.
  std::vector<std::string> image_args;

  // Analysis and output.
  int top_k = 3;
  std::vector<std::string> catalogue_files;
  std::string output_file;
  std::string record_file;
  std::string log_level = "warn";
};

// The outcome of parse_options: options to run with, or an exit status after
// help or a version was printed (0) or an error was reported (2).
struct ParsedOptions {
  std::optional<Options> options;
  int exit_status = 0;
};

ParsedOptions parse_options(int argc, const char* const* argv);

// Parses a duration with a unit: "3s", "500ms", "250us", "1.5s", "2m".
// Returns an Error naming the text when the unit is missing or unknown.
Result<std::chrono::microseconds> parse_duration(const std::string& text);

}  // namespace entrytrace
