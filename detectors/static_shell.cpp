// Running commands in the static shell interpreter: lists, compound
// commands, builtins and the children a script starts.
#include "detectors/static_shell.h"

#include <algorithm>

#include "detectors/static_glob.h"
#include "detectors/static_shell_interpreter.h"

namespace entrytrace {
namespace shell {
namespace {

constexpr int kMaxCommands = 20'000;
constexpr int kMaxIterations = 1'000;

}  // namespace

std::string normal_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) {
      slash = path.size();
    }
    const std::string part = path.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  std::string out;
  for (const std::string& part : parts) {
    out += "/" + part;
  }
  return out.empty() ? "/" : out;
}

Interpreter::Interpreter(const ShellStart& start, const FileSource& files)
    : start_(start), files_(files), arg0_(start.arg0), cwd_(start.cwd) {
  for (const auto& [name, value] : start.environment) {
    variables_[name] = Variable{known_text(value), true};
  }
  for (const std::string& arg : start.args) {
    positional_.push_back(known_text(arg));
  }
  if (!variables_.count("PWD")) {
    variables_["PWD"] = Variable{known_text(cwd_), true};
  }
  file_stack_.push_back(start.script_path.empty() ? "the -c script"
                                                  : start.script_path);
}

ShellOutcome Interpreter::run() {
  auto script = parse_script(start_.script);
  if (!script) {
    outcome_.end = ShellEnd::kGaveUp;
    outcome_.where = file_stack_.back();
    outcome_.stop =
        "cannot parse " + file_stack_.back() + ": " + script.error().message;
    return outcome_;
  }
  const Flow flow = run_list(script->body);
  if (flow != Flow::kEnd) {
    outcome_.end = ShellEnd::kEnd;
    outcome_.where = "the end of " + file_stack_.front();
  }
  if (outcome_.end != ShellEnd::kGaveUp) {
    outcome_.environment = exported_environment();
    outcome_.cwd = cwd_;
  }
  return outcome_;
}

std::string Interpreter::where() const {
  return "line " + std::to_string(line_) + " of " + file_stack_.back();
}

std::map<std::string, std::string> Interpreter::exported_environment() const {
  std::map<std::string, std::string> environment;
  for (const auto& [name, variable] : variables_) {
    if (variable.exported && variable.value.known()) {
      environment[name] = variable.value.text;
    }
  }
  return environment;
}

Interpreter::SavedState Interpreter::save() const {
  return SavedState{variables_, positional_, cwd_, functions_, errexit_};
}

void Interpreter::restore(SavedState state) {
  variables_ = std::move(state.variables);
  positional_ = std::move(state.positional);
  cwd_ = std::move(state.cwd);
  functions_ = std::move(state.functions);
  errexit_ = state.errexit;
}

Flow Interpreter::give_up(const std::string& reason) {
  outcome_.end = ShellEnd::kGaveUp;
  outcome_.where = where();
  outcome_.stop = where() + ": " + reason;
  return Flow::kEnd;
}

Flow Interpreter::end_with_status(int status, const std::string& why) {
  if (subshell_depth_ > 0) {
    status_ = status;
    subshell_ended_ = true;
    return Flow::kEnd;
  }
  outcome_.end = ShellEnd::kEnd;
  outcome_.exit_status = status;
  outcome_.where = where();
  outcome_.notes.push_back(where() + ": " + why);
  outcome_.last_foreground.reset();
  return Flow::kEnd;
}

Flow Interpreter::expansion_failed() {
  const std::string message = *expansion_error_;
  expansion_error_.reset();
  return end_with_status(2, "the script exits: " + message);
}

Flow Interpreter::check_errexit() {
  if (!errexit_ || condition_depth_ > 0 || !status_ || *status_ == 0) {
    return Flow::kNormal;
  }
  return end_with_status(*status_,
                         "set -e ends the script, the command "
                         "failed with status " +
                             std::to_string(*status_));
}

bool Interpreter::is_function(const std::string& name) const {
  return functions_.count(name) > 0;
}

bool Interpreter::inert(const Command& command) const {
  if (const auto* simple = std::get_if<SimpleCommand>(&command.node)) {
    if (!simple->assignments.empty()) {
      return false;
    }
    if (simple->words.empty()) {
      return true;
    }
    auto name = literal_text(simple->words.front());
    if (!name || is_flow_builtin(*name) || is_function(*name)) {
      return false;
    }
    for (const Word& word : simple->words) {
      for (const WordPart& part : word.parts) {
        if (part.op == "=" || part.op == ":=") {
          return false;
        }
      }
    }
    return true;
  }
  if (const auto* clause = std::get_if<IfClause>(&command.node)) {
    for (size_t i = 0; i < clause->conditions.size(); ++i) {
      if (!inert(clause->conditions[i]) || !inert(clause->bodies[i])) {
        return false;
      }
    }
    return !clause->else_body || inert(*clause->else_body);
  }
  if (const auto* loop = std::get_if<ForClause>(&command.node)) {
    return inert(loop->body);
  }
  if (const auto* loop = std::get_if<LoopClause>(&command.node)) {
    return inert(loop->condition) && inert(loop->body);
  }
  if (const auto* clause = std::get_if<CaseClause>(&command.node)) {
    return std::all_of(clause->items.begin(), clause->items.end(),
                       [&](const CaseItem& item) { return inert(item.body); });
  }
  if (const auto* group = std::get_if<Group>(&command.node)) {
    return inert(group->body);
  }
  return std::holds_alternative<ConditionalExpression>(command.node);
}

bool Interpreter::inert(const List& list) const {
  for (const AndOr& item : list.items) {
    if (item.background) {
      return false;
    }
    for (const Pipeline& pipeline : item.pipelines) {
      for (const CommandPtr& command : pipeline.commands) {
        if (!inert(*command)) {
          return false;
        }
      }
    }
  }
  return true;
}

Flow Interpreter::undecided(const std::vector<const List*>& lists,
                            const std::string& construct,
                            const std::string& why) {
  for (const List* list : lists) {
    if (!inert(*list)) {
      return give_up("cannot decide " + construct + ", which depends on " +
                     why);
    }
  }
  outcome_.notes.push_back(where() + ": skipped " + construct +
                           " that depends on " + why +
                           "; none of its branches changes what runs next");
  status_.reset();
  status_unknown_ = why;
  return Flow::kNormal;
}

Flow Interpreter::run_list(const List& list) {
  for (const AndOr& item : list.items) {
    const Flow flow = run_and_or(item);
    if (flow != Flow::kNormal) {
      return flow;
    }
  }
  return Flow::kNormal;
}

Flow Interpreter::run_background(const AndOr& and_or) {
  const Pipeline& pipeline = and_or.pipelines.front();
  const auto* simple =
      std::get_if<SimpleCommand>(&pipeline.commands.front()->node);
  if (and_or.pipelines.size() != 1 || pipeline.commands.size() != 1 ||
      simple == nullptr || simple->words.empty()) {
    return give_up("a background job that is not a simple command");
  }
  std::vector<Field> argv = expand_fields(simple->words);
  if (argv.empty()) {
    return Flow::kNormal;
  }
  if (argv.front().unknown) {
    return give_up("a background job whose command name depends on " +
                   *argv.front().unknown);
  }
  if (is_builtin(argv.front().text) || is_function(argv.front().text)) {
    return give_up("a background job that runs the shell function or builtin " +
                   argv.front().text);
  }
  return run_external(argv, true);
}

Flow Interpreter::run_and_or(const AndOr& and_or) {
  line_ = and_or.line;
  if (and_or.background) {
    return run_background(and_or);
  }
  for (size_t i = 0; i < and_or.pipelines.size(); ++i) {
    const bool last = i + 1 == and_or.pipelines.size();
    if (i > 0) {
      const bool is_and = and_or.operators[i - 1];
      if (!status_) {
        List rest;
        rest.items.push_back(AndOr{});
        rest.items.back().pipelines.assign(and_or.pipelines.begin() + i,
                                           and_or.pipelines.end());
        return undecided(
            {&rest},
            std::string("the rest of a ") + (is_and ? "&&" : "||") + " list",
            status_unknown_);
      }
      if ((*status_ == 0) != is_and) {
        continue;
      }
    }
    if (!last) {
      ++condition_depth_;
    }
    const Flow flow = run_pipeline(and_or.pipelines[i]);
    if (!last) {
      --condition_depth_;
    }
    if (flow != Flow::kNormal) {
      return flow;
    }
    if (last && !and_or.pipelines[i].negated) {
      if (Flow exit = check_errexit(); exit != Flow::kNormal) {
        return exit;
      }
    }
  }
  return Flow::kNormal;
}

Flow Interpreter::run_pipeline(const Pipeline& pipeline) {
  if (pipeline.negated) {
    ++condition_depth_;
  }
  Flow flow = Flow::kNormal;
  if (pipeline.commands.size() == 1) {
    flow = run_command(*pipeline.commands.front());
  } else {
    // Every element runs in a subshell; the status is the last one's.
    for (const CommandPtr& command : pipeline.commands) {
      List body;
      body.items.push_back(AndOr{});
      body.items.back().pipelines.push_back(Pipeline{false, {command}});
      body.items.back().line = command->line;
      flow = run_subshell(body);
      if (flow != Flow::kNormal) {
        break;
      }
    }
  }
  if (pipeline.negated) {
    --condition_depth_;
    if (status_) {
      status_ = *status_ == 0 ? 1 : 0;
    }
  }
  return flow;
}

Flow Interpreter::run_command(const Command& command) {
  if (++commands_run_ > kMaxCommands) {
    return give_up("the script ran more than " + std::to_string(kMaxCommands) +
                   " commands");
  }
  line_ = command.line;
  return std::visit(
      [&](const auto& node) -> Flow {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, SimpleCommand>) {
          return run_simple(node);
        } else if constexpr (std::is_same_v<Node, IfClause>) {
          return run_if(node);
        } else if constexpr (std::is_same_v<Node, ForClause>) {
          return run_for(node);
        } else if constexpr (std::is_same_v<Node, LoopClause>) {
          return run_loop(node);
        } else if constexpr (std::is_same_v<Node, CaseClause>) {
          return run_case(node);
        } else if constexpr (std::is_same_v<Node, Group>) {
          return node.subshell ? run_subshell(node.body) : run_list(node.body);
        } else if constexpr (std::is_same_v<Node, FunctionDefinition>) {
          functions_[node.name] = node.body;
          status_ = 0;
          return Flow::kNormal;
        } else if constexpr (std::is_same_v<Node, ConditionalExpression>) {
          std::string why;
          const Truth truth = evaluate_test(conditional_arguments(node), why);
          if (expansion_error_) {
            return expansion_failed();
          }
          if (truth == Truth::kUnknown) {
            status_.reset();
            status_unknown_ = why;
          } else {
            status_ = truth == Truth::kTrue ? 0 : 1;
          }
          return Flow::kNormal;
        } else {
          return give_up("the " + node.what + " is not followed");
        }
      },
      command.node);
}

Flow Interpreter::run_subshell(const List& body) {
  SavedState saved = save();
  ++subshell_depth_;
  Flow flow = run_list(body);
  --subshell_depth_;
  restore(std::move(saved));
  if (flow == Flow::kEnd && subshell_ended_) {
    subshell_ended_ = false;
    return Flow::kNormal;
  }
  return flow == Flow::kEnd ? flow : Flow::kNormal;
}

Flow Interpreter::run_if(const IfClause& clause) {
  for (size_t i = 0; i < clause.conditions.size(); ++i) {
    ++condition_depth_;
    const Flow flow = run_list(clause.conditions[i]);
    --condition_depth_;
    if (flow != Flow::kNormal) {
      return flow;
    }
    if (!status_) {
      std::vector<const List*> rest;
      for (size_t j = i; j < clause.bodies.size(); ++j) {
        rest.push_back(&clause.bodies[j]);
        if (j > i) {
          rest.push_back(&clause.conditions[j]);
        }
      }
      if (clause.else_body) {
        rest.push_back(&*clause.else_body);
      }
      return undecided(rest, "the if", status_unknown_);
    }
    if (*status_ == 0) {
      return run_list(clause.bodies[i]);
    }
  }
  if (clause.else_body) {
    return run_list(*clause.else_body);
  }
  status_ = 0;
  return Flow::kNormal;
}

Flow Interpreter::run_for(const ForClause& clause) {
  std::vector<Field> values;
  if (clause.words) {
    values = expand_fields(*clause.words);
    if (expansion_error_) {
      return expansion_failed();
    }
  } else {
    for (const Text& arg : positional_) {
      values.push_back(make_field(arg.text, arg.unknown));
    }
  }
  for (const Field& value : values) {
    if (value.unknown) {
      return undecided({&clause.body}, "the for loop over " + clause.name,
                       *value.unknown);
    }
  }
  status_ = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i >= static_cast<size_t>(kMaxIterations)) {
      return give_up("a for loop with more than " +
                     std::to_string(kMaxIterations) + " iterations");
    }
    set_variable(clause.name, known_text(values[i].text));
    const Flow flow = run_list(clause.body);
    if (flow == Flow::kBreak) {
      if (--break_levels_ > 0) {
        return flow;
      }
      break;
    }
    if (flow == Flow::kContinue) {
      if (--break_levels_ > 0) {
        return flow;
      }
      continue;
    }
    if (flow != Flow::kNormal) {
      return flow;
    }
  }
  return Flow::kNormal;
}

Flow Interpreter::run_loop(const LoopClause& clause) {
  const std::string name = clause.until ? "until" : "while";
  for (int iteration = 0;; ++iteration) {
    if (iteration >= kMaxIterations) {
      return give_up("a " + name + " loop that did not end after " +
                     std::to_string(kMaxIterations) + " iterations");
    }
    ++condition_depth_;
    Flow flow = run_list(clause.condition);
    --condition_depth_;
    if (flow != Flow::kNormal) {
      return flow;
    }
    if (!status_) {
      if (iteration > 0) {
        return give_up("the " + name + " loop, whose condition depends on " +
                       status_unknown_);
      }
      return undecided({&clause.body}, "the " + name + " loop",
                       status_unknown_);
    }
    if ((*status_ == 0) == clause.until) {
      status_ = 0;
      return Flow::kNormal;
    }
    flow = run_list(clause.body);
    if (flow == Flow::kBreak) {
      if (--break_levels_ > 0) {
        return flow;
      }
      return Flow::kNormal;
    }
    if (flow == Flow::kContinue) {
      if (--break_levels_ > 0) {
        return flow;
      }
      continue;
    }
    if (flow != Flow::kNormal) {
      return flow;
    }
  }
}

Flow Interpreter::run_case(const CaseClause& clause) {
  const Text subject = expand_single(clause.subject.parts);
  if (expansion_error_) {
    return expansion_failed();
  }
  if (!subject.known()) {
    std::vector<const List*> bodies;
    for (const CaseItem& item : clause.items) {
      bodies.push_back(&item.body);
    }
    return undecided(bodies, "the case", *subject.unknown);
  }
  for (const CaseItem& item : clause.items) {
    for (const Word& word : item.patterns) {
      const Text pattern = expand_pattern(word.parts);
      if (!pattern.known()) {
        return give_up("a case pattern that depends on " + *pattern.unknown);
      }
      if (glob_match(pattern.text, subject.text)) {
        status_ = 0;
        return run_list(item.body);
      }
    }
  }
  status_ = 0;
  return Flow::kNormal;
}

Flow Interpreter::run_assignments(const std::vector<Assignment>& assignments) {
  status_ = 0;
  for (const Assignment& assignment : assignments) {
    Text value = expand_single(assignment.value.parts);
    if (expansion_error_) {
      return expansion_failed();
    }
    for (const WordPart& part : assignment.value.parts) {
      if (part.kind == WordPart::Kind::kCommand) {
        if (value.known()) {
          status_ = 0;
        } else {
          status_.reset();
          status_unknown_ = "the exit status of $(" + part.text + ")";
        }
      }
    }
    if (assignment.append) {
      auto old = lookup(assignment.name);
      if (old && !old->known()) {
        value = *old;
      } else if (old) {
        value.text = old->text + value.text;
      }
    }
    set_variable(assignment.name, std::move(value));
  }
  return Flow::kNormal;
}

Flow Interpreter::run_simple(const SimpleCommand& command) {
  if (command.words.empty()) {
    return run_assignments(command.assignments);
  }

  std::vector<Field> argv;
  const auto name = literal_text(command.words.front());
  const bool declaration =
      name && (*name == "export" || *name == "readonly" || *name == "local" ||
               *name == "declare" || *name == "typeset");
  if (declaration) {
    // Their NAME=VALUE arguments are assignments: not split or globbed.
    argv.push_back(make_field(*name));
    for (size_t i = 1; i < command.words.size(); ++i) {
      Text text = expand_single(command.words[i].parts);
      argv.push_back(make_field(text.text, text.unknown));
    }
  } else {
    argv = expand_fields(command.words);
  }
  if (expansion_error_) {
    return expansion_failed();
  }
  if (argv.empty()) {
    return run_assignments(command.assignments);
  }
  if (argv.front().unknown) {
    return give_up("the command name depends on " + *argv.front().unknown);
  }

  const std::string& program = argv.front().text;
  if (is_function(program)) {
    std::vector<Text> args;
    for (size_t i = 1; i < argv.size(); ++i) {
      args.push_back(Text{argv[i].text, argv[i].unknown});
    }
    return run_function(*functions_.at(program), std::move(args));
  }
  bool handled = false;
  const Flow flow = run_builtin(program, argv, command.assignments, handled);
  if (handled) {
    return flow;
  }
  return run_external(argv, false);
}

Flow Interpreter::run_function(const Command& body, std::vector<Text> args) {
  if (++call_depth_ > kMaxCallDepth) {
    return give_up("functions or sourced files nested more than " +
                   std::to_string(kMaxCallDepth) + " deep");
  }
  std::vector<Text> saved = std::move(positional_);
  positional_ = std::move(args);
  local_frames_.emplace_back();
  Flow flow = run_command(body);
  for (auto& [name, value] : local_frames_.back()) {
    if (value) {
      variables_[name] = *value;
    } else {
      variables_.erase(name);
    }
  }
  local_frames_.pop_back();
  positional_ = std::move(saved);
  --call_depth_;
  return flow == Flow::kReturn ? Flow::kNormal : flow;
}

std::optional<std::string> Interpreter::lookup_command(
    const std::string& name) const {
  if (is_function(name) || is_builtin(name)) {
    return name;
  }
  auto path = lookup("PATH");
  return find_executable(name, path && path->known() ? path->text : "", cwd_,
                         files_);
}

Flow Interpreter::run_external(const std::vector<Field>& argv,
                               bool background) {
  ShellChild child;
  for (const Field& field : argv) {
    child.argv.push_back(field.unknown ? "?" : field.text);
    if (field.unknown && !child.unknown) {
      child.unknown = field.unknown;
    }
  }
  child.where = where();
  child.background = background;
  outcome_.children.push_back(std::move(child));
  if (!background && subshell_depth_ == 0) {
    outcome_.last_foreground = outcome_.children.size() - 1;
  }
  if (background) {
    status_ = 0;
  } else {
    status_.reset();
    status_unknown_ = "the exit status of " + argv.front().text;
  }
  return Flow::kNormal;
}

}  // namespace shell

ShellOutcome interpret_shell(const ShellStart& start, const FileSource& files) {
  return shell::Interpreter(start, files).run();
}

std::optional<std::string> find_executable(const std::string& name,
                                           const std::string& path,
                                           const std::string& cwd,
                                           const FileSource& files) {
  if (name.empty()) {
    return std::nullopt;
  }
  auto executable = [&](const std::string& candidate) {
    auto info = files.info(candidate);
    return info && info->regular && info->executable;
  };
  auto absolute = [&](const std::string& file) {
    if (!file.empty() && file[0] == '/') {
      return file;
    }
    return (cwd == "/" ? "" : cwd) + "/" + file;
  };
  if (name.find('/') != std::string::npos) {
    const std::string candidate = shell::normal_path(absolute(name));
    return executable(candidate) ? std::optional<std::string>(candidate)
                                 : std::nullopt;
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t colon = path.find(':', start);
    if (colon == std::string::npos) {
      colon = path.size();
    }
    std::string directory = path.substr(start, colon - start);
    // An empty PATH entry is the current directory.
    const std::string candidate = shell::normal_path(
        absolute(directory.empty() ? "." : directory) + "/" + name);
    if (executable(candidate)) {
      return candidate;
    }
    start = colon + 1;
  }
  return std::nullopt;
}

}  // namespace entrytrace
