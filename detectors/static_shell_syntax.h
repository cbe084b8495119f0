// The syntax tree of a POSIX sh or bash script, for the symbolic
// interpreter in static_shell.h. Parsing only: nothing here expands a word
// or runs a command.
//
// The parser covers the grammar of POSIX sh (simple commands, pipelines,
// && and ||, if, for, while, until, case, { } and ( ) groups, functions,
// redirections and here-documents) plus the bash forms that entrypoint
// scripts use: [[ ]], "function name", $'...' and the ${name/pattern/text},
// ${name:offset:length} and ${!name} expansions. An arithmetic command
// (( )) is kept as a command that the interpreter does not follow.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace entrytrace::shell {

struct WordPart;

// A word as written: literal text and expansions, each marked with whether
// it was quoted, because quoting decides field splitting and globbing.
struct Word {
  std::vector<WordPart> parts;
  int line = 0;
};

struct WordPart {
  enum class Kind {
    // Text as written, quotes removed.
    kLiteral,
    // ${name...} or $name.
    kParameter,
    // $(...) or `...`: the source text of the command.
    kCommand,
    // $((...)): the source text of the expression.
    kArithmetic,
  };
  Kind kind = Kind::kLiteral;
  std::string text;
  // Inside double or single quotes, or escaped with a backslash.
  bool quoted = false;
  // For kParameter: the operator after the name. "" for plain ${name};
  // "length" for ${#name}; "indirect" for ${!name}; otherwise one of
  // - = + ? :- := :+ :? # ## % %% / // ^^ ,, ^ , and ":" for a substring.
  std::string op;
  // The word after the operator: default, pattern, offset or search text.
  std::vector<WordPart> argument;
  // ${name/pattern/replacement} and ${name:offset:length}: the second word.
  std::vector<WordPart> second;
  bool has_second = false;
};

// A part of the given kind with no operator or arguments.
WordPart make_part(WordPart::Kind kind, std::string text, bool quoted = false);

struct Redirect {
  // "<", ">", ">>", "<<", "<<-", "<<<", ">&", "<&", "&>", "&>>", ">|", "<>".
  std::string op;
  Word target;
};

struct Command;
using CommandPtr = std::shared_ptr<const Command>;

struct Assignment {
  std::string name;
  Word value;
  bool append = false;
};

struct Pipeline {
  bool negated = false;
  std::vector<CommandPtr> commands;
};

// Pipelines joined by && and ||.
struct AndOr {
  std::vector<Pipeline> pipelines;
  // operators[i] joins pipelines[i] and pipelines[i + 1]: true for &&.
  std::vector<bool> operators;
  // Ended by "&": runs in the background.
  bool background = false;
  int line = 0;
};

struct List {
  std::vector<AndOr> items;
};

struct SimpleCommand {
  std::vector<Assignment> assignments;
  std::vector<Word> words;
};

struct IfClause {
  // conditions[i] guards bodies[i]; else_body runs when none held.
  std::vector<List> conditions;
  std::vector<List> bodies;
  std::optional<List> else_body;
};

struct ForClause {
  std::string name;
  // Unset for "for name; do": the positional parameters.
  std::optional<std::vector<Word>> words;
  List body;
};

struct LoopClause {
  bool until = false;
  List condition;
  List body;
};

struct CaseItem {
  std::vector<Word> patterns;
  List body;
};

struct CaseClause {
  Word subject;
  std::vector<CaseItem> items;
};

struct Group {
  List body;
  // ( ... ): runs in a subshell, so assignments do not outlive it.
  bool subshell = false;
};

struct FunctionDefinition {
  std::string name;
  CommandPtr body;
};

// [[ ... ]]: the words between the brackets; operators such as && and (
// appear as literal words.
struct ConditionalExpression {
  std::vector<Word> words;
};

// (( ... )) and any other form kept but not followed.
struct Unsupported {
  std::string what;
};

struct Command {
  std::variant<SimpleCommand, IfClause, ForClause, LoopClause, CaseClause,
               Group, FunctionDefinition, ConditionalExpression, Unsupported>
      node;
  std::vector<Redirect> redirects;
  int line = 0;
};

struct Script {
  List body;
};

// Parses a whole script. Returns an Error with the line number and what was
// expected, for example "line 12: expected 'fi' to close 'if' of line 3".
Result<Script> parse_script(std::string_view text);

// Parses text as the inside of double quotes: expansions are found, quotes
// are kept as characters. Used for the body of $((...)).
Result<Word> parse_quoted_text(std::string_view text);

// The literal text of a word with no expansions, or nullopt.
std::optional<std::string> literal_text(const Word& word);

}  // namespace entrytrace::shell
