#include "cli/options.h"

#include <boost/program_options.hpp>

#include <algorithm>

#include <cmath>
#include <iostream>
#include <sstream>

namespace po = boost::program_options;

namespace entrytrace {
namespace {

constexpr const char* kUsage = R"(Usage: entrytrace COMMAND [OPTIONS]

Finds the real workload of a container: watches its processes for a short
window, builds the graph of every clone and exec, collapses wrappers and
prints the steady-state processes as JSON on stdout. Logs go to stderr.

Commands:
  run [OPTIONS] -- CMD [ARG...]  start CMD as pid 1 of new PID, mount and
                                 network namespaces and watch it from its
                                 first exec
  observe [TARGET] [OPTIONS]     watch the PID namespace of a running process,
                                 named by --pid, --cgroup or --container-id;
                                 with none, entrytrace's own PID namespace
  analyze FILE [OPTIONS]         analyse a capture recorded with --record
  static --image-config FILE --rootfs DIR [OPTIONS] [-- ARG...]
                                 resolve what a container of the image would
                                 run from its config and root filesystem,
                                 without running anything
  demo [OPTIONS]                 run the built-in demo container: tini, a
                                 shell and a python3 HTTP server on port 8080

Run 'entrytrace COMMAND --help' for the options of a command.

Exit status: 0 with at least one terminal process, 1 when the result has
none, 2 for invalid options or a target that does not exist.
)";

struct CommandName {
  const char* name;
  Command command;
};

constexpr CommandName kCommands[] = {{"run", Command::kRun},
                                     {"observe", Command::kObserve},
                                     {"analyze", Command::kAnalyze},
                                     {"demo", Command::kDemo},
                                     {"static", Command::kStatic}};

std::optional<Command> find_command(const std::string& name) {
  for (const auto& entry : kCommands) {
    if (name == entry.name) {
      return entry.command;
    }
  }
  return std::nullopt;
}

// The option tables keep each option with its help text, which clang-format
// would reflow.
// clang-format off
po::options_description capture_options() {
  po::options_description d("Capture");
  d.add_options()
      ("window", po::value<std::string>()->default_value("3s"),
       "how long to watch, with a unit: us, ms, s or m (e.g. 500ms, 3s)")
      ("interval", po::value<std::string>()->default_value("600us"),
       "idle tick: how often the pid counter is checked for new processes "
       "while none is starting, with a unit (e.g. 600us, 10ms); a longer "
       "tick costs less CPU and misses more short-lived processes")
      ("low-cost",
       "trade capture of short-lived processes for CPU: idle tick 10ms "
       "(unless --interval is given), hot tick 1ms, no real-time priority, "
       "steady processes re-read at most every 1s, their sockets every 5s, "
       "and the proc root listed every 1s")
      ("realtime",
       "run the capture thread with SCHED_FIFO during the window when "
       "CAP_SYS_NICE allows (the default, except with --low-cost)")
      ("no-realtime", "never use real-time priority")
      ("backend", po::value<std::string>()->default_value("auto"),
       "capture backend: procfs (the /proc poller), netlink (the poller "
       "woken by proc connector events; needs CAP_NET_ADMIN in the host "
       "namespaces), ebpf (when built in) or auto, which tries ebpf, then "
       "netlink, then procfs; the result says which ran and why the "
       "others did not")
      ("host-pids",
       "read the host's /proc filtered by PID namespace inode, so that the "
       "result carries host pids; without it, and with CAP_SYS_ADMIN and "
       "CAP_SYS_PTRACE, the procfs backend reads a procfs scoped to the "
       "target, where the kernel lists only the target's processes and host "
       "pid fields are 0")
      ("record", po::value<std::string>(),
       "also write the raw observations as JSON to this file, for "
       "'entrytrace analyze'");
  return d;
}

po::options_description output_options() {
  po::options_description d("Analysis and output");
  d.add_options()
      ("top-k", po::value<int>()->default_value(3),
       "number of terminal processes to report, best first (1 to 100)")
      ("catalogue", po::value<std::vector<std::string>>()->composing(),
       "JSON catalogue of wrappers, runtimes and weights merged over the "
       "built-in one; may be given more than once")
      ("output,o", po::value<std::string>(),
       "write the result to this file instead of stdout")
      ("log-level", po::value<std::string>()->default_value("warn"),
       "stderr log level: trace, debug, info, warn, error or off")
      ("verbose,v", "same as --log-level info")
      ("help,h", "print this help and exit");
  return d;
}

po::options_description image_options(Command command) {
  po::options_description d(command == Command::kStatic
                                ? "Image"
                                : "Image (also resolve the command statically "
                                  "and compare)");
  d.add_options()
      ("image-config", po::value<std::string>()->value_name("FILE"),
       "JSON file with the image config: an OCI image config "
       "({\"config\": {...}}) or the output of 'docker inspect' for an image "
       "or container; its Entrypoint, Cmd, Env, User and WorkingDir are used")
      ("rootfs", po::value<std::string>()->value_name("DIR"),
       command == Command::kObserve
           ? "directory holding the image's unpacked root filesystem; every "
             "file is read inside it and no symbolic link leaves it; without "
             "it, commands are not resolved to files"
           : "directory holding the image's unpacked root filesystem; every "
             "file is read inside it and no symbolic link leaves it");
  if (command != Command::kRun) {
    d.add_options()
        ("entrypoint", po::value<std::string>()->value_name("JSON"),
         "replace the image's Entrypoint, as 'docker run --entrypoint' "
         "does, which also drops its Cmd: a JSON array of strings (e.g. "
         "'[\"/bin/sh\", \"-c\"]'), one executable name, or '' for none. "
         "Arguments after '--' replace the image's Cmd");
  }
  return d;
}

po::options_description command_options(Command command) {
  po::options_description d;
  if (command == Command::kStatic || command == Command::kRun ||
      command == Command::kObserve) {
    d.add(image_options(command));
  }
  if (command == Command::kObserve) {
    po::options_description target("Target");
    target.add_options()
        ("pid", po::value<int32_t>(),
         "host pid of any process inside the target; the target is its PID "
         "namespace and the namespaces nested in it")
        ("cgroup", po::value<std::string>(),
         "cgroup path (e.g. /sys/fs/cgroup/system.slice/app.service or "
         "/kubepods/pod<uid>/<id>); the target is the processes of that "
         "cgroup and the cgroups below it, in their PID namespace")
        ("container-id", po::value<std::string>(),
         "container id or a prefix of at least 4 hex digits, also as "
         "containerd://<id>; the target is the container's processes, in "
         "their PID namespace")
        ("proc-root", po::value<std::string>()->default_value("/proc"),
         "procfs mount to read");
    d.add(target);
  }
  if (command == Command::kRun || command == Command::kDemo) {
    po::options_description launch("Launch");
    launch.add_options()
        ("keep", "leave the tree running after the window instead of "
                 "stopping it (SIGTERM, then SIGKILL after 2s)")
        ("host-network", "share the caller's network namespace instead of "
                         "creating one with only loopback");
    d.add(launch);
  }
  if (command != Command::kAnalyze && command != Command::kStatic) {
    d.add(capture_options());
  }
  d.add(output_options());
  return d;
}
// clang-format on

const char* command_synopsis(Command command) {
  switch (command) {
    case Command::kRun:
      return "Usage: entrytrace run [OPTIONS] -- CMD [ARG...]\n";
    case Command::kObserve:
      return "Usage: entrytrace observe [--pid PID | --cgroup PATH | "
             "--container-id ID] [OPTIONS]\n";
    case Command::kAnalyze:
      return "Usage: entrytrace analyze FILE [OPTIONS]\n";
    case Command::kDemo:
      return "Usage: entrytrace demo [OPTIONS]\n";
    case Command::kStatic:
      return "Usage: entrytrace static --image-config FILE --rootfs DIR "
             "[--entrypoint JSON] [OPTIONS] [-- ARG...]\n";
  }
  return "";
}

ParsedOptions usage_error(const std::string& message) {
  std::cerr << "entrytrace: " << message << "\n"
            << "Run 'entrytrace --help' for usage.\n";
  return ParsedOptions{std::nullopt, 2};
}

// Hot tick 300us and 1ms in low-cost mode, never longer than the idle tick.
constexpr std::chrono::microseconds kHotTick{300};
constexpr std::chrono::microseconds kLowCostHotTick{1000};
constexpr std::chrono::microseconds kLowCostIdleTick{10'000};

// Low-cost steady-state periods (see PollPeriods): about one re-read of each
// long-lived process per second, fd/ reads for sockets at most every 5 s per
// process, and a safety listing every second.
PollPeriods low_cost_periods() {
  PollPeriods periods;
  periods.reread_cap = std::chrono::seconds(1);
  periods.socket_period = std::chrono::milliseconds(500);
  periods.socket_cap = std::chrono::seconds(5);
  periods.safety_listing = std::chrono::seconds(1);
  return periods;
}

Status fill_engine(const po::variables_map& vm, Options& options) {
  if (vm.count("realtime") && vm.count("no-realtime")) {
    return Error{"--realtime and --no-realtime exclude each other"};
  }
  bool low_cost = vm.count("low-cost") > 0;
  if (low_cost && vm["interval"].defaulted()) {
    options.interval = std::min(kLowCostIdleTick, options.window);
  }
  options.hot_interval =
      std::min(low_cost ? kLowCostHotTick : kHotTick, options.interval);
  if (low_cost) {
    options.periods = low_cost_periods();
  }
  options.backend = vm["backend"].as<std::string>();
  const std::string names[] = {"auto", "procfs", "netlink", "ebpf"};
  if (std::find(std::begin(names), std::end(names), options.backend) ==
      std::end(names)) {
    return Error{"invalid --backend '" + options.backend +
                 "': use auto, procfs, netlink or ebpf"};
  }
  options.realtime =
      vm.count("realtime") > 0 || (!low_cost && vm.count("no-realtime") == 0);
  return Ok{};
}

Status fill_durations(const po::variables_map& vm, Options& options) {
  if (!vm.count("window")) {
    return Ok{};
  }
  auto window = parse_duration(vm["window"].as<std::string>());
  if (!window) {
    return Error{"invalid --window: " + window.error().message};
  }
  auto interval = parse_duration(vm["interval"].as<std::string>());
  if (!interval) {
    return Error{"invalid --interval: " + interval.error().message};
  }
  if (window->count() <= 0) {
    return Error{"invalid --window '" + vm["window"].as<std::string>() +
                 "': it must be longer than zero"};
  }
  if (interval->count() < 100 || *interval > *window) {
    return Error{"invalid --interval '" + vm["interval"].as<std::string>() +
                 "': it must be at least 100us and at most the window"};
  }
  options.window = *window;
  options.interval = *interval;
  return fill_engine(vm, options);
}

Status fill_output(const po::variables_map& vm, Options& options) {
  options.top_k = vm["top-k"].as<int>();
  if (options.top_k < 1 || options.top_k > 100) {
    return Error{"invalid --top-k " + std::to_string(options.top_k) +
                 ": use a number from 1 to 100"};
  }
  if (vm.count("catalogue")) {
    options.catalogue_files = vm["catalogue"].as<std::vector<std::string>>();
  }
  if (vm.count("output")) {
    options.output_file = vm["output"].as<std::string>();
  }
  options.host_pids = vm.count("host-pids") > 0;
  if (vm.count("record")) {
    options.record_file = vm["record"].as<std::string>();
  }
  options.log_level = vm["log-level"].as<std::string>();
  if (vm.count("verbose")) {
    options.log_level = "info";
  }
  return Ok{};
}

// At most one target option; with none, observe watches its own namespace.
Status fill_observe_target(const po::variables_map& vm, Options& options) {
  if (vm.count("pid") + vm.count("cgroup") + vm.count("container-id") > 1) {
    return Error{
        "--pid, --cgroup and --container-id exclude each other; "
        "name the target with one of them"};
  }
  if (vm.count("pid")) {
    options.pid = vm["pid"].as<int32_t>();
    if (options.pid <= 0) {
      return Error{"invalid --pid " + std::to_string(options.pid) +
                   ": a pid is a positive number"};
    }
  }
  if (vm.count("cgroup")) {
    options.cgroup_path = vm["cgroup"].as<std::string>();
    if (options.cgroup_path.empty()) {
      return Error{"invalid --cgroup '': give a cgroup path"};
    }
  }
  if (vm.count("container-id")) {
    options.container_id = vm["container-id"].as<std::string>();
    if (options.container_id.empty()) {
      return Error{"invalid --container-id '': give a container id"};
    }
  }
  options.proc_root = vm["proc-root"].as<std::string>();
  return Ok{};
}

// The image options, checked against what each command accepts.
Status fill_image(const po::variables_map& vm,
                  std::vector<std::string>& after_dashes, Options& options) {
  for (auto [name, field] : {std::pair{"image-config", &options.image_config},
                             std::pair{"rootfs", &options.rootfs}}) {
    if (!vm.count(name)) {
      continue;
    }
    *field = vm[name].as<std::string>();
    if (field->empty()) {
      return Error{std::string("invalid --") + name + " '': give a path"};
    }
  }
  if (vm.count("entrypoint")) {
    options.entrypoint = vm["entrypoint"].as<std::string>();
  }

  const bool with_image = !options.image_config.empty();
  if (options.command == Command::kStatic &&
      (!with_image || options.rootfs.empty())) {
    return Error{
        "static needs --image-config FILE and --rootfs DIR, for "
        "example: entrytrace static --image-config config.json "
        "--rootfs ./rootfs"};
  }
  if (!with_image && (!options.rootfs.empty() || options.entrypoint)) {
    return Error{std::string(options.entrypoint ? "--entrypoint" : "--rootfs") +
                 " needs --image-config FILE"};
  }
  if (options.command == Command::kRun && with_image &&
      options.rootfs.empty()) {
    return Error{
        "run --image-config needs --rootfs DIR, the image's "
        "unpacked root filesystem"};
  }
  if (options.command == Command::kStatic ||
      (options.command == Command::kObserve && with_image)) {
    options.image_args = std::move(after_dashes);
    after_dashes.clear();
  }
  return Ok{};
}

Status fill_command(const po::variables_map& vm,
                    const std::vector<std::string>& positional,
                    std::vector<std::string> after_dashes, Options& options) {
  switch (options.command) {
    case Command::kObserve:
      if (Status target = fill_observe_target(vm, options); !target) {
        return target;
      }
      break;
    case Command::kRun:
      if (after_dashes.empty()) {
        return Error{
            "run needs a command after '--', for example: "
            "entrytrace run -- tini -- python3 -m http.server"};
      }
      options.command_argv = std::move(after_dashes);
      break;
    case Command::kAnalyze:
      if (positional.size() != 1) {
        return Error{"analyze needs exactly one capture file"};
      }
      options.capture_file = positional.front();
      break;
    case Command::kDemo:
    case Command::kStatic:
      break;
  }
  if (Status image = fill_image(vm, after_dashes, options); !image) {
    return image;
  }
  if (options.command != Command::kAnalyze && !positional.empty()) {
    return Error{"unexpected argument '" + positional.front() + "'"};
  }
  if (options.command != Command::kRun && !after_dashes.empty()) {
    return Error{options.command == Command::kObserve
                     ? "observe takes arguments after '--' only with "
                       "--image-config, as the run arguments of the image"
                     : "unexpected arguments after '--'"};
  }
  options.keep = vm.count("keep") > 0;
  options.host_network = vm.count("host-network") > 0;
  return Ok{};
}

}  // namespace

Result<std::chrono::microseconds> parse_duration(const std::string& text) {
  std::istringstream in(text);
  double number = 0;
  std::string unit;
  if (!(in >> number) || number < 0 || !std::isfinite(number)) {
    return Error{"'" + text +
                 "' is not a duration; use a number with a unit "
                 "such as 500ms or 3s"};
  }
  in >> unit;
  double scale = 0;
  if (unit == "us") {
    scale = 1;
  } else if (unit == "ms") {
    scale = 1e3;
  } else if (unit == "s") {
    scale = 1e6;
  } else if (unit == "m") {
    scale = 60e6;
  } else {
    return Error{"'" + text +
                 "' has no valid unit; add us, ms, s or m, "
                 "for example 500ms or 3s"};
  }
  double micros = number * scale;
  if (micros > 24 * 3600 * 1e6) {
    return Error{"'" + text + "' is longer than 24 hours"};
  }
  return std::chrono::microseconds(static_cast<int64_t>(std::llround(micros)));
}

ParsedOptions parse_options(int argc, const char* const* argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args.front() == "--help" || args.front() == "-h" ||
      args.front() == "help") {
    std::cout << kUsage;
    return ParsedOptions{std::nullopt, args.empty() ? 2 : 0};
  }
  if (args.front() == "--version") {
    std::cout << "entrytrace " << ENTRYTRACE_VERSION << "\n";
    return ParsedOptions{std::nullopt, 0};
  }

  auto command = find_command(args.front());
  if (!command) {
    return usage_error("unknown command '" + args.front() +
                       "'; commands are run, observe, analyze, demo and "
                       "static");
  }

  // Everything after the first "--" belongs to the command being run and is
  // never parsed as our options.
  auto dashes = std::find(args.begin() + 1, args.end(), "--");
  std::vector<std::string> after_dashes;
  if (dashes != args.end()) {
    after_dashes.assign(dashes + 1, args.end());
  }
  std::vector<std::string> ours(args.begin() + 1, dashes);

  po::options_description described = command_options(*command);
  po::options_description hidden;
  hidden.add_options()("positional", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(described).add(hidden);
  po::positional_options_description positional;
  positional.add("positional", -1);

  po::variables_map vm;
  try {
    po::store(
        po::command_line_parser(ours).options(all).positional(positional).run(),
        vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }

  if (vm.count("help")) {
    std::cout << command_synopsis(*command) << "\n" << described << "\n";
    return ParsedOptions{std::nullopt, 0};
  }

  Options options;
  options.command = *command;
  std::vector<std::string> extra;
  if (vm.count("positional")) {
    extra = vm["positional"].as<std::vector<std::string>>();
  }
  for (auto fill : {fill_durations(vm, options), fill_output(vm, options),
                    fill_command(vm, extra, after_dashes, options)}) {
    if (!fill) {
      return usage_error(fill.error().message);
    }
  }
  return ParsedOptions{std::move(options), 0};
}

}  // namespace entrytrace
