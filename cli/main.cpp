// entrytrace: the executable only wires the libraries together. Options are
// parsed and validated first; then a capture (live or recorded) is analysed
// and the result written as JSON.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "catalogue/catalogue.h"
#include "cli/image_analysis.h"
#include "cli/options.h"
#include "cli/target_files.h"
#include "common/capture_json.h"
#include "common/log.h"
#include "detectors/analyze.h"
#include "detectors/result_json.h"
#include "poller/backend_select.h"
#include "poller/capabilities.h"
#include "poller/capture.h"
#include "poller/launcher.h"
#include "poller/target_spec.h"

namespace entrytrace {
namespace {

constexpr int kExitFound = 0;
constexpr int kExitNoTerminal = 1;
constexpr int kExitUsage = 2;

constexpr std::chrono::milliseconds kStopGrace{2000};

// Set by SIGINT and SIGTERM: the window ends early and the result is still
// printed.
std::atomic<bool> g_stop_requested{false};

void request_stop(int) {
  g_stop_requested.store(true);
}

void install_stop_handlers() {
  struct sigaction action = {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return system_error("cannot open " + path, errno);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Status write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return system_error("cannot open " + path + " for writing", errno);
  }
  out << text;
  out.flush();
  if (!out) {
    return system_error("cannot write " + path, errno);
  }
  return Ok{};
}

Result<Catalogue> load_catalogue(const Options& options) {
  Catalogue catalogue = Catalogue::load_default();
  for (const auto& file : options.catalogue_files) {
    if (auto status = catalogue.merge_file(file); !status) {
      return status.error();
    }
  }
  return catalogue;
}

// Finds an executable in PATH, as execvp would.
std::optional<std::string> find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

// The demo container: an init wrapper, a shell that execs, and a python3
// HTTP server listening on port 8080 of its own network namespace.
Result<std::vector<std::string>> demo_argv() {
  auto tini = find_in_path("tini");
  if (!tini) {
    return Error{
        "the demo needs tini in PATH; install it with "
        "'apt-get install tini'"};
  }
  if (access("/usr/bin/python3", X_OK) != 0) {
    return Error{
        "the demo needs /usr/bin/python3; install it with "
        "'apt-get install python3'"};
  }
  return std::vector<std::string>{
      *tini, "--", "/bin/sh", "-c",
      "echo 'demo: starting python3 on port 8080' >&2; "
      "exec /usr/bin/python3 -m http.server 8080 --directory /usr/share/doc"};
}

// Builds a capture that contains only the reason live capture failed, so
// that the result still says why it is empty. Its backend is "none"
// because no backend ran.
Capture failed_capture(const std::string& description,
                       const std::string& reason) {
  Capture capture;
  capture.backend = "none";
  capture.target.description = description;
  capture.evidence.push_back("Dynamic capture unavailable: " + reason);
  return capture;
}

struct LiveTarget {
  std::optional<LaunchedTree> tree;
  Target target;
};

Result<LiveTarget> start_target(const Options& options) {
  LiveTarget live;
  if (options.command == Command::kObserve) {
    TargetSpec spec{options.pid, options.cgroup_path, options.container_id};
    auto target = resolve_target_spec(options.proc_root, spec);
    if (!target) {
      return target.error();
    }
    live.target = std::move(*target);
    return live;
  }

  std::vector<std::string> argv = options.command_argv;
  if (options.command == Command::kDemo) {
    auto demo = demo_argv();
    if (!demo) {
      return demo.error();
    }
    argv = std::move(*demo);
  }

  auto tree = launch(LaunchOptions{argv, !options.host_network});
  if (!tree) {
    return tree.error();
  }
  auto target = resolve_target("/proc", tree->host_pid());
  if (!target) {
    return target.error();
  }
  live.target = std::move(*target);
  live.target.description = "run: " + argv.front();
  live.tree = std::move(*tree);
  return live;
}

void stop_target(LiveTarget& live, const Options& options) {
  if (!live.tree) {
    return;
  }
  if (options.keep) {
    spdlog::info("leaving the tree running: its pid 1 is host pid {}",
                 live.tree->host_pid());
    live.tree->keep();
    return;
  }
  live.tree->stop(kStopGrace);
}

// Captures the live target and reads the files its supervisors use before
// the target is stopped. Returns the exit status to use when the command
// cannot go on (the target does not exist, CMD cannot be run).
Result<Capture> capture_live(const Options& options, const Catalogue& catalogue,
                             int& exit_status) {
  auto live = start_target(options);
  if (!live) {
    exit_status = kExitUsage;
    return live.error();
  }

  std::optional<Error> release_error;
  CaptureOptions capture_options;
  capture_options.window = options.window;
  capture_options.interval = options.interval;
  capture_options.hot_interval = options.hot_interval;
  capture_options.periods = options.periods;
  capture_options.realtime = options.realtime;
  capture_options.proc_root = options.proc_root;
  capture_options.host_pids = options.host_pids;
  capture_options.stop = &g_stop_requested;
  capture_options.on_first_scan = [&] {
    if (!live->tree) {
      return;
    }
    if (auto status = live->tree->release(); !status) {
      release_error = status.error();
      g_stop_requested.store(true);
    }
  };

  spdlog::info("watching {} for {} ms", live->target.description,
               options.window.count() / 1000);
  auto kind = parse_backend_kind(options.backend);
  auto backend = kind ? select_backend(*kind)
                      : Result<std::unique_ptr<CaptureBackend>>(kind.error());
  if (!backend) {
    stop_target(*live, options);
    spdlog::warn("no capture backend: {}", backend.error().message);
    return failed_capture(live->target.description, backend.error().message);
  }
  auto capture = (*backend)->capture(live->target, capture_options);
  if (capture) {
    read_target_files(*capture, catalogue, options.proc_root);
  }
  stop_target(*live, options);

  if (release_error) {
    exit_status = kExitUsage;
    return *release_error;
  }
  if (!capture) {
    spdlog::warn("capture failed: {}", capture.error().message);
    return failed_capture(live->target.description, capture.error().message);
  }
  return capture;
}

Result<Capture> load_capture(const Options& options) {
  auto text = read_text_file(options.capture_file);
  if (!text) {
    return text.error();
  }
  auto capture = capture_from_json(*text);
  if (!capture) {
    return Error{options.capture_file + ": " + capture.error().message};
  }
  return capture;
}

Status write_result(const Options& options, const EntryTraceResult& result) {
  std::string json = result_to_json(result);
  if (options.output_file.empty()) {
    std::fwrite(json.data(), 1, json.size(), stdout);
    std::fflush(stdout);
    return Ok{};
  }
  if (auto status = write_text_file(options.output_file, json); !status) {
    std::fwrite(json.data(), 1, json.size(), stdout);
    return status;
  }
  return Ok{};
}

// The static command: the image alone.
int run_static(const Options& options, const Catalogue& catalogue) {
  auto result = analyze_image_options(options, catalogue);
  if (!result) {
    spdlog::error("{}", result.error().message);
    return kExitUsage;
  }
  if (auto status = write_result(options, **result); !status) {
    spdlog::error("{}", status.error().message);
  }
  return (*result)->terminals.empty() ? kExitNoTerminal : kExitFound;
}

int emit_result(const Options& options, const Capture& capture,
                const Catalogue& catalogue,
                const std::optional<EntryTraceResult>& image) {
  if (!options.record_file.empty()) {
    auto status =
        write_text_file(options.record_file, capture_to_json(capture));
    if (!status) {
      spdlog::error("{}", status.error().message);
    }
  }

  EntryTraceResult result = combine_with_image(
      analyze(capture, catalogue, AnalyzeOptions{options.top_k}), capture,
      image, catalogue);
  if (auto status = write_result(options, result); !status) {
    spdlog::error("{}", status.error().message);
  }
  return result.terminals.empty() ? kExitNoTerminal : kExitFound;
}

int run(const Options& options) {
  auto catalogue = load_catalogue(options);
  if (!catalogue) {
    spdlog::error("invalid catalogue: {}", catalogue.error().message);
    return kExitUsage;
  }
  if (options.command == Command::kStatic) {
    return run_static(options, *catalogue);
  }
  // Resolved before anything runs, so that a bad image option stops the
  // command early.
  auto image = analyze_image_options(options, *catalogue);
  if (!image) {
    spdlog::error("{}", image.error().message);
    return kExitUsage;
  }

  int exit_status = kExitNoTerminal;
  Result<Capture> capture =
      options.command == Command::kAnalyze
          ? load_capture(options)
          : capture_live(options, *catalogue, exit_status);
  if (!capture && *image) {
    spdlog::warn("live capture failed, reporting the static analysis: {}",
                 capture.error().message);
    capture = failed_capture("image " + options.image_config,
                             capture.error().message);
  }
  if (!capture) {
    spdlog::error("{}", capture.error().message);
    return options.command == Command::kAnalyze ? kExitUsage : exit_status;
  }
  return emit_result(options, *capture, *catalogue, *image);
}

}  // namespace
}  // namespace entrytrace

int main(int argc, char** argv) {
  using namespace entrytrace;

  ParsedOptions parsed = parse_options(argc, argv);
  if (!parsed.options) {
    return parsed.exit_status;
  }
  const Options& options = *parsed.options;
  if (!configure_logging(options.log_level)) {
    std::cerr << "entrytrace: invalid --log-level '" << options.log_level
              << "'; use trace, debug, info, warn, error or off\n";
    return kExitUsage;
  }
  install_stop_handlers();
  if (Result<CapabilitySet> capabilities = read_capabilities()) {
    spdlog::info("capabilities: {}", describe_capabilities(*capabilities));
  } else {
    spdlog::info("capabilities unknown: {}", capabilities.error().message);
  }
  return run(options);
}
