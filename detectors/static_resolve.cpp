#include "detectors/static_resolve.h"

#include <algorithm>
#include <deque>

#include "common/phrases.h"
#include "detectors/static_shell.h"

namespace entrytrace {
namespace {

// Execs and wrapper steps followed for one process before giving up.
constexpr int kMaxSteps = 32;
// Nested "#!" interpreters the kernel accepts (BINPRM_MAX_RECURSION).
constexpr int kMaxShebangDepth = 4;
// The kernel reads the "#!" line from the first 256 bytes (BINPRM_BUF_SIZE
// since Linux 5.1).
constexpr size_t kHeadBytes = 256;
constexpr size_t kMaxScriptBytes = 1 << 20;
// Short-lived children kept as nodes; more are only counted.
constexpr size_t kMaxShortLivedNodes = 64;

std::string user_text(const ResolvedUser& user) {
  return "uid " + std::to_string(user.uid) +
         (user.name ? " (" + *user.name + ")" : "");
}

// Splits a "#!" line as Linux does: the interpreter, then at most one
// argument made of the rest of the line.
std::vector<std::string> parse_shebang(const std::string& head) {
  std::string line = head.substr(2, head.find('\n') - 2);
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!line.empty() && blank(line.front())) {
    line.erase(0, 1);
  }
  while (!line.empty() && blank(line.back())) {
    line.pop_back();
  }
  if (line.empty()) {
    return {};
  }
  const size_t end =
      std::find_if(line.begin(), line.end(), blank) - line.begin();
  std::vector<std::string> words = {line.substr(0, end)};
  size_t rest = end;
  while (rest < line.size() && blank(line[rest])) {
    ++rest;
  }
  if (rest < line.size()) {
    words.push_back(line.substr(rest));
  }
  return words;
}

// A shell's invocation: a script file, a -c string, or neither.
struct ShellInvocation {
  enum class Kind { kScriptFile, kCommandString, kInteractive };
  Kind kind = Kind::kInteractive;
  // The script file or the -c string.
  std::string script;
  std::string arg0;
  std::vector<std::string> args;
};

ShellInvocation parse_shell_invocation(const std::vector<std::string>& argv) {
  ShellInvocation invocation;
  bool command_string = false;
  bool from_stdin = false;
  size_t i = 1;
  for (; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--" || arg == "-") {
      ++i;
      break;
    }
    if (arg == "-o" || arg == "+o" || arg == "--rcfile" ||
        arg == "--init-file") {
      ++i;
      continue;
    }
    if (arg.size() < 2 || (arg[0] != '-' && arg[0] != '+')) {
      break;
    }
    if (arg[0] == '-' && arg[1] != '-') {
      command_string = command_string || arg.find('c') != std::string::npos;
      from_stdin = from_stdin || arg.find('s') != std::string::npos;
    }
  }
  if (i >= argv.size() || (from_stdin && !command_string)) {
    return invocation;
  }
  invocation.kind = command_string ? ShellInvocation::Kind::kCommandString
                                   : ShellInvocation::Kind::kScriptFile;
  invocation.script = argv[i];
  if (command_string) {
    invocation.arg0 = i + 1 < argv.size() ? argv[i + 1] : argv[0];
    if (i + 2 < argv.size()) {
      invocation.args.assign(argv.begin() + i + 2, argv.end());
    }
  } else {
    invocation.arg0 = argv[i];
    invocation.args.assign(argv.begin() + i + 1, argv.end());
  }
  return invocation;
}

// A predicted process, followed from image to image.
struct Process {
  int pid = 1;
  // The node that started it.
  std::optional<size_t> parent;
  // Its latest node.
  std::optional<size_t> current;
  std::vector<std::string> argv;
  std::map<std::string, std::string> environment;
  std::string cwd = "/";
  ResolvedUser user;
  double confidence = kStaticResolved;
  // Wrappers collapsed on the way: name and pid.
  std::vector<std::pair<std::string, int>> collapsed;
  // Script images exec'd through on the way.
  std::vector<size_t> exec_chain;
  std::vector<std::string> evidence;
};

struct Located {
  std::string path;
  std::vector<std::string> argv;
};

class Resolver {
 public:
  Resolver(const FileSource& files, const Catalogue& catalogue)
      : files_(files), catalogue_(catalogue), users_(read_users(files)) {}

  StaticPlan run(const StaticStart& start) {
    Process first;
    first.pid = next_pid_++;
    first.argv = start.argv;
    first.environment = start.environment;
    first.cwd = start.cwd;
    first.user = start.user;
    follow(std::move(first));
    while (!background_.empty()) {
      Process next = std::move(background_.front());
      background_.pop_front();
      follow(std::move(next));
    }
    if (skipped_children_ > 0) {
      plan_.diagnostics.push_back(
          std::to_string(skipped_children_) +
          " more short-lived children are not in the exec graph");
    }
    std::stable_sort(plan_.candidates.begin(), plan_.candidates.end(),
                     [](const StaticCandidate& a, const StaticCandidate& b) {
                       return a.confidence > b.confidence;
                     });
    return std::move(plan_);
  }

 private:
  std::string path_variable(const Process& process) const {
    auto it = process.environment.find("PATH");
    return it == process.environment.end() ? "" : it->second;
  }

  size_t add_node(Process& process, std::optional<std::string> path,
                  std::vector<std::string> argv) {
    StaticNode node;
    node.pid = process.pid;
    if (process.current) {
      node.exec_index = plan_.nodes[*process.current].exec_index + 1;
      plan_.nodes[*process.current].ended = true;
    } else {
      node.parent = process.parent;
    }
    node.path = std::move(path);
    node.argv = std::move(argv);
    node.uid = process.user.uid;
    node.user_name = process.user.name;
    plan_.nodes.push_back(std::move(node));
    process.current = plan_.nodes.size() - 1;
    return *process.current;
  }

  void add_candidate(const Process& process, size_t node, double confidence,
                     const std::vector<std::string>& sentences) {
    StaticCandidate candidate;
    candidate.node = node;
    candidate.confidence = std::min(confidence, process.confidence);
    const std::string into =
        plan_.nodes[node].path.value_or(plan_.nodes[node].argv.front());
    for (auto it = process.collapsed.rbegin(); it != process.collapsed.rend();
         ++it) {
      candidate.evidence.push_back("wrapper " + it->first + " (pid " +
                                   std::to_string(it->second) +
                                   ") collapsed into " + into);
    }
    for (auto it = process.exec_chain.rbegin(); it != process.exec_chain.rend();
         ++it) {
      const StaticNode& script = plan_.nodes[*it];
      candidate.evidence.push_back(
          "exec chain: pid " + std::to_string(script.pid) + " ran " +
          script.path.value_or("?") + " (" + join_words(script.argv) +
          ") before exec'ing toward " + into);
    }
    candidate.evidence.insert(candidate.evidence.end(),
                              process.evidence.begin(), process.evidence.end());
    candidate.evidence.insert(candidate.evidence.end(), sentences.begin(),
                              sentences.end());
    plan_.candidates.push_back(std::move(candidate));
  }

  // Stops following: argv[0] cannot be run. The node records what was
  // tried.
  void not_runnable(Process& process, const std::string& problem,
                    std::optional<std::string> path,
                    const std::vector<std::string>& argv) {
    const size_t node = add_node(process, std::move(path), argv);
    plan_.diagnostics.push_back(problem);
    add_candidate(process, node, kStaticNotRunnable, {problem});
  }

  // Finds argv[0] in the image and applies "#!" lines. Returns nullopt
  // after recording why the program cannot be run.
  std::optional<Located> locate(Process& process) {
    std::vector<std::string> argv = process.argv;
    for (int depth = 0; depth <= kMaxShebangDepth; ++depth) {
      auto path = find_executable(argv.front(), path_variable(process),
                                  process.cwd, files_);
      if (!path) {
        not_runnable(process,
                     argv.front() +
                         " is not an executable file in the image "
                         "(PATH " +
                         path_variable(process) +
                         "), so the runtime cannot start it",
                     std::nullopt, argv);
        return std::nullopt;
      }
      if (argv.front().find('/') == std::string::npos) {
        process.evidence.push_back(argv.front() + " found in PATH at " + *path);
      }
      auto head = files_.read(*path, kHeadBytes);
      if (head && head->starts_with("\x7f"
                                    "ELF")) {
        return Located{resolve_links(*path, files_), argv};
      }
      if (!head || !head->starts_with("#!")) {
        not_runnable(process,
                     *path +
                         " is neither an ELF executable nor a script "
                         "starting with #!, so exec fails with ENOEXEC",
                     resolve_links(*path, files_), argv);
        return std::nullopt;
      }
      std::vector<std::string> interpreter = parse_shebang(*head);
      if (interpreter.empty()) {
        not_runnable(process, *path + " has an empty #! line", *path, argv);
        return std::nullopt;
      }
      process.evidence.push_back(*path + " starts with #!" +
                                 join_words(interpreter));
      interpreter.push_back(*path);
      interpreter.insert(interpreter.end(), argv.begin() + 1, argv.end());
      argv = std::move(interpreter);
    }
    not_runnable(
        process,
        "more than 4 nested #! interpreters for " + process.argv.front(),
        std::nullopt, argv);
    return std::nullopt;
  }

  void follow(Process process) {
    for (int step = 0; step < kMaxSteps; ++step) {
      if (process.argv.empty() || process.argv.front().empty()) {
        not_runnable(process, "the command to run is empty", std::nullopt,
                     {""});
        return;
      }
      auto program = locate(process);
      if (!program) {
        return;
      }
      const size_t node = add_node(process, program->path, program->argv);
      const bool shell =
          catalogue_.classify_runtime(program->path, program->argv) == "shell";
      if (shell) {
        if (!follow_shell(process, node)) {
          return;
        }
        continue;
      }
      if (auto wrapper =
              catalogue_.match_wrapper(program->path, program->argv)) {
        if (!follow_wrapper(process, node, *wrapper)) {
          return;
        }
        continue;
      }
      add_candidate(process, node, kStaticResolved, {});
      return;
    }
    add_candidate(process, *process.current, kStaticStopped,
                  {"static analysis stopped after " +
                   std::to_string(kMaxSteps) + " execs and wrappers"});
  }

  Process spawn(const Process& parent, size_t parent_node) {
    Process child = parent;
    child.pid = next_pid_++;
    child.parent = parent_node;
    child.current.reset();
    return child;
  }

  bool follow_wrapper(Process& process, size_t node,
                      const WrapperMatch& wrapper) {
    plan_.nodes[node].wrapper = wrapper.name;
    if (wrapper.wrapped_argv.empty()) {
      add_candidate(process, node, kStaticStopped,
                    {"wrapper " + wrapper.name +
                     ": the command it runs is not found in its arguments"});
      return false;
    }
    if (wrapper.user) {
      auto user = resolve_user(*wrapper.user, users_);
      if (user) {
        process.user = *user;
        process.evidence.push_back(wrapper.name + " switches to " +
                                   user_text(*user));
      } else {
        const std::string problem =
            wrapper.name + " cannot switch user: " + user.error().message;
        plan_.diagnostics.push_back(problem);
        process.evidence.push_back(problem);
        process.confidence = std::min(process.confidence, kStaticStopped);
      }
    }
    process.collapsed.emplace_back(wrapper.name, process.pid);
    if (wrapper.mode == WrapperMode::kResident) {
      process = spawn(process, node);
    }
    process.argv = wrapper.wrapped_argv;
    return true;
  }

  void add_short_lived(const Process& shell, size_t shell_node,
                       const ShellChild& child) {
    shell_evidence_.push_back(child.where + ": ran " + join_words(child.argv) +
                              " as a short-lived child, not a candidate");
    if (short_lived_nodes_ >= kMaxShortLivedNodes) {
      ++skipped_children_;
      return;
    }
    ++short_lived_nodes_;
    Process process = spawn(shell, shell_node);
    auto path = find_executable(child.argv.front(), path_variable(shell),
                                shell.cwd, files_);
    const size_t node =
        add_node(process,
                 path ? std::optional<std::string>(resolve_links(*path, files_))
                      : std::nullopt,
                 child.argv);
    plan_.nodes[node].ended = true;
    plan_.nodes[node].exited = true;
  }

  bool bash_execs_last_command(const std::string& path,
                               const std::vector<std::string>& argv) const {
    auto match = catalogue_.match_wrapper(path, argv);
    if (!match) {
      return false;
    }
    for (const WrapperEntry& entry : catalogue_.wrappers()) {
      if (entry.name == match->name) {
        return entry.syntax.execs_last_command;
      }
    }
    return false;
  }

  bool follow_shell(Process& process, size_t node) {
    const StaticNode& image = plan_.nodes[node];
    const std::string shell_path = *image.path;
    const ShellInvocation invocation = parse_shell_invocation(image.argv);
    if (invocation.kind == ShellInvocation::Kind::kInteractive) {
      const std::string shell = "an interactive shell (" + shell_path +
                                ", no script or -c) as " +
                                user_text(process.user) + ", not a service";
      plan_.diagnostics.push_back("the container runs " + shell);
      add_candidate(process, node, kStaticInteractiveShell,
                    {"the command is " + shell});
      return false;
    }

    ShellStart start;
    start.arg0 = invocation.arg0;
    start.args = invocation.args;
    start.environment = process.environment;
    start.cwd = process.cwd;
    start.uid = process.user.uid;
    start.gid = process.user.gid;
    start.user_name = process.user.name;
    start.bash = base_name(shell_path).find("bash") != std::string::npos;
    if (invocation.kind == ShellInvocation::Kind::kCommandString) {
      start.script = invocation.script;
    } else {
      start.script_path = invocation.script.starts_with("/")
                              ? invocation.script
                              : (process.cwd == "/" ? "" : process.cwd) + "/" +
                                    invocation.script;
      auto text = files_.read(start.script_path, kMaxScriptBytes);
      if (!text) {
        const std::string problem = "cannot read the script " +
                                    start.script_path +
                                    " in the image: " + text.error().message;
        plan_.diagnostics.push_back(problem);
        add_candidate(process, node, kStaticNotRunnable, {problem});
        return false;
      }
      start.script = std::move(*text);
    }

    const ShellOutcome outcome = interpret_shell(start, files_);
    shell_evidence_.clear();
    for (const std::string& note : outcome.notes) {
      shell_evidence_.push_back(note);
    }
    const bool foreground_end =
        outcome.end == ShellEnd::kEnd && outcome.last_foreground.has_value();
    for (size_t i = 0; i < outcome.children.size(); ++i) {
      const ShellChild& child = outcome.children[i];
      if (child.background) {
        Process job = spawn(process, node);
        job.argv = child.argv;
        job.environment = outcome.environment;
        job.confidence = kStaticBackground;
        job.evidence = {child.where + ": started " + join_words(child.argv) +
                        " in the background"};
        background_.push_back(std::move(job));
      } else if (!(foreground_end && *outcome.last_foreground == i)) {
        add_short_lived(process, node, child);
      }
    }
    process.evidence.insert(process.evidence.end(), shell_evidence_.begin(),
                            shell_evidence_.end());
    return continue_after_script(process, node, outcome, invocation);
  }

  bool continue_after_script(Process& process, size_t node,
                             const ShellOutcome& outcome,
                             const ShellInvocation& invocation) {
    const StaticNode& image = plan_.nodes[node];
    const std::string script =
        invocation.kind == ShellInvocation::Kind::kCommandString
            ? "the -c script of " + *image.path
            : invocation.script;
    if (outcome.end == ShellEnd::kGaveUp) {
      const std::string problem =
          "static analysis of " + script + " stopped at " + outcome.stop;
      plan_.diagnostics.push_back(problem);
      add_candidate(process, node, kStaticStopped,
                    {problem + "; the shell running it is reported in place "
                               "of the command it would run"});
      return false;
    }
    if (outcome.end == ShellEnd::kExec) {
      process.evidence.push_back(outcome.where + ": exec " +
                                 join_words(outcome.argv));
      process.exec_chain.push_back(node);
      process.argv = outcome.argv;
      process.environment = outcome.environment;
      process.cwd = outcome.cwd;
      return true;
    }
    if (!outcome.last_foreground) {
      const std::string problem =
          script + " ends at " + outcome.where +
          (outcome.exit_status
               ? " with status " + std::to_string(*outcome.exit_status)
               : "") +
          " without exec'ing or running a command in the foreground, so the "
          "container stops";
      plan_.diagnostics.push_back(problem);
      add_candidate(process, node, kStaticNotRunnable, {problem});
      return false;
    }
    const ShellChild& last = outcome.children[*outcome.last_foreground];
    if (last.unknown) {
      process.evidence.push_back(last.where + ": an argument of " +
                                 join_words(last.argv) + " depends on " +
                                 *last.unknown);
      process.confidence = std::min(process.confidence, kStaticStopped);
    }
    if (invocation.kind == ShellInvocation::Kind::kCommandString &&
        bash_execs_last_command(*image.path, image.argv)) {
      process.evidence.push_back(*image.path +
                                 " exec's the last command of its -c script");
      process.exec_chain.push_back(node);
    } else {
      process.evidence.push_back(
          *image.path + " (pid " + std::to_string(process.pid) +
          ") stays as the parent of " + join_words(last.argv) +
          ", which it runs in the foreground at " + last.where);
      if (process.pid == 1) {
        plan_.diagnostics.push_back("pid 1 is a shell (" + *image.path +
                                    ") that does not forward SIGTERM to its "
                                    "children");
      }
      process.collapsed.emplace_back(base_name(*image.path), process.pid);
      process = spawn(process, node);
      process.confidence *= kStaticForegroundFactor;
    }
    process.argv = last.argv;
    process.environment = outcome.environment;
    process.cwd = outcome.cwd;
    return true;
  }

  const FileSource& files_;
  const Catalogue& catalogue_;
  std::vector<UserEntry> users_;
  StaticPlan plan_;
  int next_pid_ = 1;
  std::deque<Process> background_;
  std::vector<std::string> shell_evidence_;
  size_t short_lived_nodes_ = 0;
  size_t skipped_children_ = 0;
};

}  // namespace

std::string resolve_links(const std::string& path, const FileSource& files) {
  std::vector<std::string> pending;
  auto push_components = [&](const std::string& text) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= text.size()) {
      size_t slash = text.find('/', start);
      if (slash == std::string::npos) {
        slash = text.size();
      }
      if (slash > start) {
        parts.push_back(text.substr(start, slash - start));
      }
      start = slash + 1;
    }
    pending.insert(pending.end(), parts.rbegin(), parts.rend());
  };
  push_components(path);
  std::vector<std::string> resolved;
  int links = 0;
  while (!pending.empty()) {
    std::string component = std::move(pending.back());
    pending.pop_back();
    if (component == ".") {
      continue;
    }
    if (component == "..") {
      if (!resolved.empty()) {
        resolved.pop_back();
      }
      continue;
    }
    std::string current;
    for (const std::string& part : resolved) {
      current += "/" + part;
    }
    current += "/" + component;
    auto target = files.read_link(current);
    if (!target) {
      resolved.push_back(std::move(component));
      continue;
    }
    if (++links > 40) {
      return path;
    }
    if (target->starts_with("/")) {
      resolved.clear();
    }
    push_components(*target);
  }
  std::string out;
  for (const std::string& part : resolved) {
    out += "/" + part;
  }
  return out.empty() ? "/" : out;
}

StaticPlan resolve_static(const StaticStart& start, const FileSource& files,
                          const Catalogue& catalogue) {
  return Resolver(files, catalogue).run(start);
}

}  // namespace entrytrace
