// The builtins of the static shell interpreter: exec, exit, ., set, shift,
// export and the other declarations, cd, the loop controls, command, test
// and [ ].
#include <set>

#include "detectors/static_glob.h"
#include "detectors/static_shell_interpreter.h"

namespace entrytrace::shell {
namespace {

constexpr size_t kMaxScriptBytes = 1 << 20;

// Builtins that change the shell's state or flow; a branch that runs one of
// them cannot be skipped.
const std::set<std::string>& flow_builtins() {
  static const std::set<std::string> kNames = {
      "exec",    "exit",     "return",  "break",   "continue", "set",
      "shift",   ".",        "source",  "eval",    "cd",       "export",
      "unset",   "readonly", "local",   "declare", "typeset",  "read",
      "getopts", "let",      "command", "trap",    "alias",    "wait"};
  return kNames;
}

// Builtins without effect on what the script runs.
const std::set<std::string>& quiet_builtins() {
  static const std::set<std::string> kNames = {
      ":",     "true", "echo",    "printf", "umask", "ulimit", "hash", "shopt",
      "times", "jobs", "unalias", "pwd",    "type",  "wait",   "trap", "alias"};
  return kNames;
}

std::optional<int> integer_argument(const std::vector<Field>& argv,
                                    size_t index) {
  if (index >= argv.size() || argv[index].unknown) {
    return std::nullopt;
  }
  try {
    return std::stoi(argv[index].text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string joined_argv(const std::vector<Field>& argv) {
  std::string text;
  for (const Field& field : argv) {
    text += (text.empty() ? "" : " ") + (field.unknown ? "?" : field.text);
  }
  return text;
}

}  // namespace

bool is_builtin(const std::string& name) {
  return flow_builtins().count(name) || quiet_builtins().count(name) ||
         name == "false" || name == "[" || name == "test";
}

bool is_flow_builtin(const std::string& name) {
  return flow_builtins().count(name) > 0;
}

Flow Interpreter::run_exec(const std::vector<Field>& argv,
                           const std::vector<Assignment>& prefix) {
  size_t first = 1;
  while (first < argv.size() && !argv[first].unknown &&
         (argv[first].text == "-c" || argv[first].text == "-l" ||
          argv[first].text == "-a")) {
    first += argv[first].text == "-a" ? 2 : 1;
  }
  if (first >= argv.size()) {
    status_ = 0;
    return Flow::kNormal;
  }
  std::vector<Field> command(argv.begin() + first, argv.end());
  for (const Field& field : command) {
    if (field.unknown) {
      return give_up("exec " + joined_argv(command) +
                     " has an argument that depends on " + *field.unknown);
    }
  }
  if (subshell_depth_ > 0) {
    run_external(command, false);
    status_.reset();
    subshell_ended_ = true;
    return Flow::kEnd;
  }
  outcome_.end = ShellEnd::kExec;
  outcome_.where = where();
  for (const Field& field : command) {
    outcome_.argv.push_back(field.text);
  }
  outcome_.environment = exported_environment();
  for (const Assignment& assignment : prefix) {
    Text value = expand_single(assignment.value.parts);
    if (value.known()) {
      outcome_.environment[assignment.name] = value.text;
    }
  }
  outcome_.cwd = cwd_;
  return Flow::kEnd;
}

Flow Interpreter::run_exit(const std::vector<Field>& argv) {
  if (argv.size() > 1 && argv[1].unknown) {
    return give_up("exit with a status that depends on " + *argv[1].unknown);
  }
  auto status = integer_argument(argv, 1);
  if (!status && !status_) {
    return end_with_status(0,
                           "the script exits with the status of the "
                           "command before, which is unknown");
  }
  const int value = status.value_or(*status_);
  return end_with_status(
      value, "the script exits with status " + std::to_string(value));
}

Flow Interpreter::run_source(const std::vector<Field>& argv) {
  if (argv.size() < 2) {
    return give_up(argv[0].text + " without a file name");
  }
  if (argv[1].unknown) {
    return give_up(argv[0].text + " of a file whose name depends on " +
                   *argv[1].unknown);
  }
  const std::string& name = argv[1].text;
  std::optional<std::string> path;
  if (name.find('/') != std::string::npos) {
    path = absolute_path(name);
  } else {
    // "." searches PATH for a readable file; bash then tries the current
    // directory.
    auto search = lookup("PATH");
    const std::string directories =
        search && search->known() ? search->text : "";
    size_t start = 0;
    while (!path && start <= directories.size()) {
      size_t colon = directories.find(':', start);
      if (colon == std::string::npos) {
        colon = directories.size();
      }
      std::string candidate = normal_path(
          absolute_path(directories.substr(start, colon - start)) + "/" + name);
      if (auto info = files_.info(candidate); info && info->regular) {
        path = candidate;
      }
      start = colon + 1;
    }
    if (!path && start_.bash) {
      path = absolute_path(name);
    }
  }
  auto text = path ? files_.read(*path, kMaxScriptBytes)
                   : Result<std::string>(Error{name + ": not found in PATH"});
  if (!text) {
    if (start_.bash) {
      outcome_.notes.push_back(where() + ": " + argv[0].text + " " + name +
                               " failed: " + text.error().message);
      status_ = 1;
      return check_errexit();
    }
    return end_with_status(2, "the script exits because " + argv[0].text + " " +
                                  name + " failed: " + text.error().message);
  }
  auto script = parse_script(*text);
  if (!script) {
    return give_up("cannot parse " + *path + ": " + script.error().message);
  }
  if (++call_depth_ > kMaxCallDepth) {
    return give_up("functions or sourced files nested more than " +
                   std::to_string(kMaxCallDepth) + " deep");
  }
  outcome_.notes.push_back(where() + ": sourced " + *path);
  std::optional<std::vector<Text>> saved;
  if (argv.size() > 2) {
    saved = positional_;
    positional_.clear();
    for (size_t i = 2; i < argv.size(); ++i) {
      positional_.push_back(Text{argv[i].text, argv[i].unknown});
    }
  }
  const int line = line_;
  file_stack_.push_back(*path);
  status_ = 0;
  Flow flow = run_list(script->body);
  file_stack_.pop_back();
  line_ = line;
  if (saved) {
    positional_ = std::move(*saved);
  }
  --call_depth_;
  return flow == Flow::kReturn ? Flow::kNormal : flow;
}

Flow Interpreter::run_set(const std::vector<Field>& argv) {
  size_t i = 1;
  for (; i < argv.size(); ++i) {
    const std::string& arg = argv[i].text;
    if (argv[i].unknown) {
      return give_up("set with an argument that depends on " +
                     *argv[i].unknown);
    }
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.empty() || (arg[0] != '-' && arg[0] != '+')) {
      break;
    }
    const bool on = arg[0] == '-';
    if (arg == "-o" || arg == "+o") {
      if (i + 1 < argv.size() && argv[i + 1].text == "errexit") {
        errexit_ = on;
      }
      ++i;
      continue;
    }
    if (arg.find('e') != std::string::npos) {
      errexit_ = on;
    }
  }
  const bool replace = i < argv.size() || (i > 1 && i - 1 < argv.size() &&
                                           argv[i - 1].text == "--");
  if (replace) {
    positional_.clear();
    for (; i < argv.size(); ++i) {
      positional_.push_back(Text{argv[i].text, argv[i].unknown});
    }
  }
  status_ = 0;
  return Flow::kNormal;
}

Flow Interpreter::run_shift(const std::vector<Field>& argv) {
  const int count =
      argv.size() > 1 ? integer_argument(argv, 1).value_or(-1) : 1;
  if (count < 0) {
    return give_up("shift by a count it cannot read");
  }
  if (static_cast<size_t>(count) > positional_.size()) {
    status_ = 1;
    return check_errexit();
  }
  positional_.erase(positional_.begin(), positional_.begin() + count);
  status_ = 0;
  return Flow::kNormal;
}

Flow Interpreter::run_declaration(const std::string& name,
                                  const std::vector<Field>& argv) {
  const bool is_local = name == "local";
  bool exported = name == "export";
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& arg = argv[i].text;
    if (!argv[i].unknown && !arg.empty() && arg[0] == '-') {
      exported = exported || arg.find('x') != std::string::npos;
      if (arg.find('f') != std::string::npos) {
        return Flow::kNormal;
      }
      continue;
    }
    const size_t equals = arg.find('=');
    const std::string variable = arg.substr(0, equals);
    if (is_local && !local_frames_.empty() &&
        !local_frames_.back().count(variable)) {
      auto old = variables_.find(variable);
      local_frames_.back()[variable] =
          old == variables_.end() ? std::nullopt
                                  : std::optional<Variable>(old->second);
    }
    if (equals != std::string::npos) {
      set_variable(variable, Text{arg.substr(equals + 1), argv[i].unknown});
    } else if (argv[i].unknown) {
      return give_up(name + " of a name that depends on " + *argv[i].unknown);
    } else if (is_local) {
      variables_.erase(variable);
    }
    if (exported &&
        (equals != std::string::npos || variables_.count(variable))) {
      variables_[variable].exported = true;
    }
  }
  status_ = 0;
  return Flow::kNormal;
}

Flow Interpreter::run_cd(const std::vector<Field>& argv) {
  std::string target;
  if (argv.size() > 1) {
    if (argv[1].unknown) {
      return give_up("cd to a directory that depends on " + *argv[1].unknown);
    }
    target = argv[1].text;
  } else {
    auto home = lookup("HOME");
    if (!home || !home->known()) {
      return give_up("cd without HOME");
    }
    target = home->text;
  }
  const std::string path = normal_path(absolute_path(target));
  auto info = files_.info(path);
  if (!info || !info->directory) {
    status_ = 1;
    return check_errexit();
  }
  set_variable("OLDPWD", known_text(cwd_));
  cwd_ = path;
  set_variable("PWD", known_text(cwd_));
  status_ = 0;
  return Flow::kNormal;
}

Flow Interpreter::run_loop_control(const std::string& name,
                                   const std::vector<Field>& argv) {
  if (name == "return") {
    if (auto value = integer_argument(argv, 1)) {
      status_ = *value;
    }
    return Flow::kReturn;
  }
  break_levels_ = integer_argument(argv, 1).value_or(1);
  return name == "break" ? Flow::kBreak : Flow::kContinue;
}

Flow Interpreter::run_command_builtin(const std::vector<Field>& argv,
                                      const std::vector<Assignment>& prefix) {
  if (argv.size() < 2) {
    status_ = 0;
    return Flow::kNormal;
  }
  if (argv[1].text == "-v" || argv[1].text == "-V") {
    if (argv.size() < 3 || argv[2].unknown) {
      return give_up("command -v of a name it cannot read");
    }
    status_ = lookup_command(argv[2].text) ? 0 : 1;
    return Flow::kNormal;
  }
  std::vector<Field> rest(argv.begin() + 1, argv.end());
  if (rest.front().unknown) {
    return give_up("the command name depends on " + *rest.front().unknown);
  }
  bool handled = false;
  const Flow flow = run_builtin(rest.front().text, rest, prefix, handled);
  return handled ? flow : run_external(rest, false);
}

Flow Interpreter::run_builtin(const std::string& name,
                              const std::vector<Field>& argv,
                              const std::vector<Assignment>& prefix,
                              bool& handled) {
  handled = true;
  if (name == "exec") {
    return run_exec(argv, prefix);
  }
  if (name == "exit") {
    return run_exit(argv);
  }
  if (name == "." || name == "source") {
    return run_source(argv);
  }
  if (name == "set") {
    return run_set(argv);
  }
  if (name == "shift") {
    return run_shift(argv);
  }
  if (name == "export" || name == "readonly" || name == "local" ||
      name == "declare" || name == "typeset") {
    return run_declaration(name, argv);
  }
  if (name == "cd") {
    return run_cd(argv);
  }
  if (name == "return" || name == "break" || name == "continue") {
    return run_loop_control(name, argv);
  }
  if (name == "command") {
    return run_command_builtin(argv, prefix);
  }
  if (name == "eval") {
    return give_up("eval runs text built at run time");
  }
  if (name == "unset") {
    const bool functions = argv.size() > 1 && argv[1].text == "-f";
    for (size_t i = 1; i < argv.size(); ++i) {
      if (functions) {
        functions_.erase(argv[i].text);
      } else {
        variables_.erase(argv[i].text);
      }
    }
    status_ = 0;
    return Flow::kNormal;
  }
  if (name == "read" || name == "getopts" || name == "let") {
    for (size_t i = 1; i < argv.size(); ++i) {
      if (!argv[i].text.empty() && argv[i].text[0] != '-') {
        set_variable(argv[i].text,
                     unknown_text("the input of " + name + " at " + where()));
      }
    }
    status_.reset();
    status_unknown_ = "the exit status of " + name;
    return Flow::kNormal;
  }
  if (name == "[" || name == "test") {
    std::vector<TestArgument> args;
    size_t end = argv.size();
    if (name == "[") {
      if (argv.back().text != "]") {
        status_ = 2;
        return check_errexit();
      }
      --end;
    }
    for (size_t i = 1; i < end; ++i) {
      Text value{argv[i].text, argv[i].unknown};
      Text pattern{escape_glob(argv[i].text), argv[i].unknown};
      args.push_back(TestArgument{value, pattern, true});
    }
    std::string why;
    const Truth truth = evaluate_test(args, why);
    if (truth == Truth::kUnknown) {
      status_.reset();
      status_unknown_ = why;
      return Flow::kNormal;
    }
    status_ = truth == Truth::kTrue ? 0 : 1;
    return check_errexit();
  }
  if (name == "false") {
    status_ = 1;
    return check_errexit();
  }
  if (name == "type") {
    const bool found = argv.size() > 1 && lookup_command(argv.back().text);
    status_ = found ? 0 : 1;
    return Flow::kNormal;
  }
  if (quiet_builtins().count(name)) {
    status_ = 0;
    return Flow::kNormal;
  }
  handled = false;
  return Flow::kNormal;
}

}  // namespace entrytrace::shell
