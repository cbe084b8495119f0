// The interpreter behind interpret_shell(), shared by the files that
// implement it: static_shell.cpp runs commands, static_shell_builtins.cpp
// runs the builtins, and static_shell_expand.cpp expands words and
// evaluates tests and arithmetic. Internal to detectors/.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "detectors/static_shell.h"
#include "detectors/static_shell_syntax.h"

namespace entrytrace::shell {

// A string the interpreter may not know: unknown contains the reason, such as
// "the output of $(hostname)".
struct Text {
  std::string text;
  std::optional<std::string> unknown;

  bool known() const { return !unknown; }
};

inline Text known_text(std::string text) {
  return Text{std::move(text), std::nullopt};
}

inline Text unknown_text(std::string why) {
  return Text{"", std::move(why)};
}

struct Variable {
  Text value;
  bool exported = false;
};

// A piece of an expanded word before field splitting.
struct Chunk {
  std::string text;
  // Quoted text is neither split nor globbed.
  bool quoted = false;
  // The result of an unquoted expansion, split at IFS characters.
  bool split = false;
  std::optional<std::string> unknown;
  // Ends the current field, as between the elements of "$@".
  bool field_break = false;
};

// One field of an expanded word.
struct Field {
  std::string text;
  // The field as a glob pattern: quoted wildcards are escaped.
  std::string pattern;
  bool wildcard = false;
  std::optional<std::string> unknown;
};

// Functions and sourced files nested deeper than this stop the
// interpreter.
inline constexpr int kMaxCallDepth = 16;

// Removes ".", ".." and repeated slashes from an absolute path.
std::string normal_path(const std::string& path);

// A builtin of sh or bash that the interpreter models.
bool is_builtin(const std::string& name);
// A builtin that changes the shell's state or flow (exec, set, ., ...), so
// a branch that runs one cannot be skipped.
bool is_flow_builtin(const std::string& name);

inline Field make_field(std::string text,
                        std::optional<std::string> unknown = std::nullopt) {
  Field field;
  field.text = std::move(text);
  field.unknown = std::move(unknown);
  return field;
}

enum class Flow {
  kNormal,
  kBreak,
  kContinue,
  kReturn,
  // exec, exit or a stop: unwinds everything, and outcome_.end records
  // which.
  kEnd,
};

enum class Truth { kFalse, kTrue, kUnknown };

// An argument of [ ], test or [[ ]].
struct TestArgument {
  Text value;
  // The argument as a pattern, for the right side of == in [[ ]].
  Text pattern;
  // Can be an operator: always for [ ], unquoted literals for [[ ]].
  bool can_be_operator = true;
};

class Interpreter {
 public:
  Interpreter(const ShellStart& start, const FileSource& files);

  ShellOutcome run();

 private:
  struct SavedState {
    std::map<std::string, Variable> variables;
    std::vector<Text> positional;
    std::string cwd;
    std::map<std::string, CommandPtr> functions;
    bool errexit = false;
  };

  // static_shell.cpp and static_shell_builtins.cpp: running commands.
  Flow run_list(const List& list);
  Flow run_and_or(const AndOr& and_or);
  Flow run_background(const AndOr& and_or);
  Flow run_pipeline(const Pipeline& pipeline);
  Flow run_command(const Command& command);
  Flow run_simple(const SimpleCommand& command);
  Flow run_assignments(const std::vector<Assignment>& assignments);
  Flow run_if(const IfClause& clause);
  Flow run_for(const ForClause& clause);
  Flow run_loop(const LoopClause& clause);
  Flow run_case(const CaseClause& clause);
  Flow run_subshell(const List& body);
  Flow run_function(const Command& body, std::vector<Text> args);
  Flow run_builtin(const std::string& name, const std::vector<Field>& argv,
                   const std::vector<Assignment>& prefix, bool& handled);
  Flow run_external(const std::vector<Field>& argv, bool background);
  Flow run_exec(const std::vector<Field>& argv,
                const std::vector<Assignment>& prefix);
  Flow run_exit(const std::vector<Field>& argv);
  Flow run_source(const std::vector<Field>& argv);
  Flow run_set(const std::vector<Field>& argv);
  Flow run_shift(const std::vector<Field>& argv);
  Flow run_declaration(const std::string& name, const std::vector<Field>& argv);
  Flow run_cd(const std::vector<Field>& argv);
  Flow run_loop_control(const std::string& name,
                        const std::vector<Field>& argv);
  Flow run_command_builtin(const std::vector<Field>& argv,
                           const std::vector<Assignment>& prefix);
  Flow end_with_status(int status, const std::string& why);
  Flow check_errexit();
  Flow undecided(const std::vector<const List*>& lists,
                 const std::string& construct, const std::string& why);
  Flow give_up(const std::string& reason);
  Flow expansion_failed();
  bool inert(const List& list) const;
  bool inert(const Command& command) const;
  bool is_function(const std::string& name) const;
  std::optional<std::string> lookup_command(const std::string& name) const;
  std::string where() const;
  SavedState save() const;
  void restore(SavedState state);
  std::map<std::string, std::string> exported_environment() const;

  // static_shell_expand.cpp: words, tests and arithmetic.
  std::vector<Field> expand_fields(const std::vector<Word>& words);
  std::vector<Field> expand_word(const Word& word, bool glob);
  Text expand_single(const std::vector<WordPart>& parts);
  Text expand_pattern(const std::vector<WordPart>& parts);
  std::vector<Chunk> chunks_of(const std::vector<WordPart>& parts);
  void append_part_chunks(const WordPart& part, std::vector<Chunk>& chunks);
  std::vector<Field> split_chunks(const std::vector<Chunk>& chunks);
  std::optional<Text> lookup(const std::string& name) const;
  Text parameter_value(const WordPart& part);
  Text apply_parameter_operator(const WordPart& part,
                                const std::optional<Text>& value);
  Text replace_pattern(const WordPart& part, const Text& value);
  Text substring(const WordPart& part, const Text& value);
  Text command_substitution(const std::string& text);
  Text evaluate_substituted(const std::vector<Field>& argv);
  Text arithmetic(const std::string& text);
  std::optional<long long> integer_value(const std::string& name,
                                         std::optional<std::string>& unknown);
  Truth evaluate_test(const std::vector<TestArgument>& args,
                      std::string& unknown);
  std::vector<TestArgument> conditional_arguments(
      const ConditionalExpression& expression);
  Truth file_test(const std::string& op, const std::string& path,
                  std::string& unknown) const;
  std::string absolute_path(const std::string& path) const;
  void set_variable(const std::string& name, Text value);
  std::string ifs() const;

  friend class TestParser;
  friend class ArithmeticParser;

  const ShellStart& start_;
  const FileSource& files_;
  std::map<std::string, Variable> variables_;
  std::vector<Text> positional_;
  std::string arg0_;
  std::string cwd_;
  // $?: unknown after an external command, with the reason.
  std::optional<int> status_ = 0;
  std::string status_unknown_;
  bool errexit_ = false;
  // Inside an if or while condition, or left of && and ||: set -e does
  // not apply.
  int condition_depth_ = 0;
  int subshell_depth_ = 0;
  // Set when exec or exit ended a subshell rather than the script.
  bool subshell_ended_ = false;
  int call_depth_ = 0;
  int commands_run_ = 0;
  int break_levels_ = 0;
  int line_ = 0;
  std::vector<std::string> file_stack_;
  std::map<std::string, CommandPtr> functions_;
  // One frame per function call: the values "local" replaced.
  std::vector<std::map<std::string, std::optional<Variable>>> local_frames_;
  // Set by ${name:?message} on an unset name: the shell exits.
  std::optional<std::string> expansion_error_;
  ShellOutcome outcome_;
};

}  // namespace entrytrace::shell
