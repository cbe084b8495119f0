// The recursive-descent parser behind parse_script().
// static_shell_parser.cpp parses lists, pipelines, simple commands and
// redirections, and static_shell_compound.cpp parses compound commands and
// function definitions. Internal to detectors/.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "detectors/static_shell_lexer.h"
#include "detectors/static_shell_syntax.h"

namespace entrytrace::shell {

class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text) {}

  Result<Script> parse();

 private:
  // Tokens, in static_shell_parser.cpp.
  Result<Token> peek();
  Result<Token> take();
  static Error unexpected(const Token& token, const std::string& expected);
  static bool is_reserved(const Token& token, std::string_view word);
  static bool is_operator(const Token& token, std::string_view op);
  Status skip_newlines();
  Status expect_reserved(std::string_view word, std::string_view opener,
                         int opener_line);

  // Lists, pipelines, simple commands and redirections, in
  // static_shell_parser.cpp.
  Result<List> parse_list(const std::vector<std::string_view>& terminators);
  Status parse_separator(AndOr& item,
                         const std::vector<std::string_view>& terminators);
  Result<AndOr> parse_and_or();
  Result<Pipeline> parse_pipeline();
  Result<CommandPtr> parse_command();
  Status parse_redirect(Command& command, const Token& op);
  Status parse_redirects(Command& command);
  Result<CommandPtr> parse_simple_or_function(std::shared_ptr<Command> command);

  // Compound commands and function definitions, in static_shell_compound.cpp.
  Status parse_group(Command& command, std::string_view close, bool subshell);
  Status parse_if(Command& command);
  Status parse_do_group(List& body, std::string_view opener, int line);
  Status parse_for(Command& command);
  Status parse_for_words(ForClause& clause);
  Status parse_loop(Command& command);
  Status parse_case(Command& command);
  Result<CaseItem> parse_case_item(int case_line);
  Status parse_case_patterns(CaseItem& item, int case_line);
  Status parse_conditional(Command& command);
  Status parse_function_body(Command& command, std::string name);
  Status parse_function_keyword(Command& command);
  Result<CommandPtr> parse_function_definition(std::shared_ptr<Command> command,
                                               const SimpleCommand& simple);

  Lexer lexer_;
  std::optional<Token> lookahead_;
};

}  // namespace entrytrace::shell
