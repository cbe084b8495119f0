// Compound commands ({ }, ( ), if, for, while, until, case and [[ ]]) and
// function definitions. Part of the Parser declared in static_shell_parser.h.
#include "detectors/static_shell_parser.h"

namespace entrytrace::shell {

Status Parser::parse_group(Command& command, std::string_view close,
                           bool subshell) {
  auto open = take();
  if (!open) {
    return open.error();
  }
  auto body = parse_list({close});
  if (!body) {
    return body.error();
  }
  auto end = take();
  if (!end) {
    return end.error();
  }
  const bool closed =
      subshell ? is_operator(*end, ")") : is_reserved(*end, close);
  if (!closed) {
    return unexpected(*end, "'" + std::string(close) +
                                "' to close the group "
                                "of line " +
                                std::to_string(open->line));
  }
  command.node = Group{std::move(*body), subshell};
  return Ok{};
}

Status Parser::parse_if(Command& command) {
  auto open = take();
  if (!open) {
    return open.error();
  }
  IfClause clause;
  while (true) {
    auto condition = parse_list({"then"});
    if (!condition) {
      return condition.error();
    }
    if (auto status = expect_reserved("then", "if", open->line); !status) {
      return status;
    }
    auto body = parse_list({"elif", "else", "fi"});
    if (!body) {
      return body.error();
    }
    clause.conditions.push_back(std::move(*condition));
    clause.bodies.push_back(std::move(*body));
    auto next = take();
    if (!next) {
      return next.error();
    }
    if (is_reserved(*next, "elif")) {
      continue;
    }
    if (is_reserved(*next, "else")) {
      auto else_body = parse_list({"fi"});
      if (!else_body) {
        return else_body.error();
      }
      clause.else_body = std::move(*else_body);
      if (auto status = expect_reserved("fi", "if", open->line); !status) {
        return status;
      }
    } else if (!is_reserved(*next, "fi")) {
      return unexpected(
          *next, "'fi' to close 'if' of line " + std::to_string(open->line));
    }
    command.node = std::move(clause);
    return Ok{};
  }
}

Status Parser::parse_do_group(List& body, std::string_view opener, int line) {
  if (auto status = skip_newlines(); !status) {
    return status;
  }
  if (auto status = expect_reserved("do", opener, line); !status) {
    return status;
  }
  auto list = parse_list({"done"});
  if (!list) {
    return list.error();
  }
  body = std::move(*list);
  return expect_reserved("done", opener, line);
}

Status Parser::parse_for(Command& command) {
  auto open = take();
  if (!open) {
    return open.error();
  }
  auto name = take();
  if (!name) {
    return name.error();
  }
  if (!name->plain || !is_name(*name->plain)) {
    return unexpected(*name, "a variable name after 'for'");
  }

  ForClause clause;
  clause.name = *name->plain;
  if (auto status = skip_newlines(); !status) {
    return status;
  }
  if (auto status = parse_for_words(clause); !status) {
    return status;
  }
  auto separator = peek();
  if (!separator) {
    return separator.error();
  }
  if (is_operator(*separator, ";")) {
    lookahead_.reset();
  }
  if (auto status = parse_do_group(clause.body, "for", open->line); !status) {
    return status;
  }
  command.node = std::move(clause);
  return Ok{};
}

// Parses the optional "in word..." of a for loop, and leaves clause.words
// unset when "in" is absent.
Status Parser::parse_for_words(ForClause& clause) {
  auto token = peek();
  if (!token) {
    return token.error();
  }
  if (!is_reserved(*token, "in")) {
    return Ok{};
  }
  lookahead_.reset();
  std::vector<Word> words;
  while (true) {
    auto word = peek();
    if (!word) {
      return word.error();
    }
    if (word->kind != Token::Kind::kWord) {
      break;
    }
    words.push_back(word->word);
    lookahead_.reset();
  }
  clause.words = std::move(words);
  return Ok{};
}

Status Parser::parse_loop(Command& command) {
  auto open = take();
  if (!open) {
    return open.error();
  }
  LoopClause clause;
  clause.until = *open->plain == "until";
  auto condition = parse_list({"do"});
  if (!condition) {
    return condition.error();
  }
  clause.condition = std::move(*condition);
  if (auto status = parse_do_group(clause.body, *open->plain, open->line);
      !status) {
    return status;
  }
  command.node = std::move(clause);
  return Ok{};
}

Status Parser::parse_case(Command& command) {
  auto open = take();
  if (!open) {
    return open.error();
  }
  auto subject = take();
  if (!subject) {
    return subject.error();
  }
  if (subject->kind != Token::Kind::kWord) {
    return unexpected(*subject, "a word after 'case'");
  }
  CaseClause clause;
  clause.subject = subject->word;
  if (auto status = skip_newlines(); !status) {
    return status;
  }
  if (auto status = expect_reserved("in", "case", open->line); !status) {
    return status;
  }
  while (true) {
    if (auto status = skip_newlines(); !status) {
      return status;
    }
    auto token = peek();
    if (!token) {
      return token.error();
    }
    if (is_reserved(*token, "esac")) {
      lookahead_.reset();
      command.node = std::move(clause);
      return Ok{};
    }
    auto item = parse_case_item(open->line);
    if (!item) {
      return item.error();
    }
    clause.items.push_back(std::move(*item));
  }
}

Result<CaseItem> Parser::parse_case_item(int case_line) {
  CaseItem item;
  if (auto status = parse_case_patterns(item, case_line); !status) {
    return status.error();
  }
  auto body = parse_list({"esac"});
  if (!body) {
    return body.error();
  }
  item.body = std::move(*body);
  auto end = peek();
  if (!end) {
    return end.error();
  }
  if (is_operator(*end, ";;") || is_operator(*end, ";&") ||
      is_operator(*end, ";;&")) {
    lookahead_.reset();
  } else if (!is_reserved(*end, "esac")) {
    return unexpected(*end, "';;' or 'esac' to close 'case' of line " +
                                std::to_string(case_line));
  }
  return item;
}

// Parses the "[(] pattern [| pattern]... )" that starts a case item.
Status Parser::parse_case_patterns(CaseItem& item, int case_line) {
  auto token = peek();
  if (!token) {
    return token.error();
  }
  if (is_operator(*token, "(")) {
    lookahead_.reset();
  }
  while (true) {
    auto pattern = take();
    if (!pattern) {
      return pattern.error();
    }
    if (pattern->kind != Token::Kind::kWord) {
      return unexpected(
          *pattern, "a pattern in 'case' of line " + std::to_string(case_line));
    }
    item.patterns.push_back(pattern->word);
    auto next = take();
    if (!next) {
      return next.error();
    }
    if (is_operator(*next, ")")) {
      return Ok{};
    }
    if (!is_operator(*next, "|")) {
      return unexpected(*next, "'|' or ')' after a case pattern");
    }
  }
}

Status Parser::parse_conditional(Command& command) {
  auto open = take();
  if (!open) {
    return open.error();
  }
  ConditionalExpression expression;
  while (true) {
    auto token = take();
    if (!token) {
      return token.error();
    }
    if (is_reserved(*token, "]]")) {
      break;
    }
    if (token->kind == Token::Kind::kEnd ||
        token->kind == Token::Kind::kNewline) {
      return unexpected(
          *token, "']]' to close '[[' of line " + std::to_string(open->line));
    }
    if (token->kind == Token::Kind::kOperator) {
      Word word;
      word.parts.push_back(make_part(WordPart::Kind::kLiteral, token->op));
      word.line = token->line;
      expression.words.push_back(std::move(word));
    } else {
      expression.words.push_back(token->word);
    }
  }
  command.node = std::move(expression);
  return Ok{};
}

Status Parser::parse_function_body(Command& command, std::string name) {
  if (auto status = skip_newlines(); !status) {
    return status;
  }
  auto body = parse_command();
  if (!body) {
    return body.error();
  }
  command.node = FunctionDefinition{std::move(name), std::move(*body)};
  return Ok{};
}

// "function name [()] body".
Status Parser::parse_function_keyword(Command& command) {
  lookahead_.reset();
  auto name = take();
  if (!name) {
    return name.error();
  }
  if (!name->plain) {
    return unexpected(*name, "a function name after 'function'");
  }
  auto token = peek();
  if (!token) {
    return token.error();
  }
  if (is_operator(*token, "(")) {
    lookahead_.reset();
    auto close = take();
    if (!close) {
      return close.error();
    }
    if (!is_operator(*close, ")")) {
      return unexpected(*close, "')' after 'function " + *name->plain + "('");
    }
  }
  return parse_function_body(command, *name->plain);
}

// Parses "name () body" once parse_simple_or_function() has read the name.
Result<CommandPtr> Parser::parse_function_definition(
    std::shared_ptr<Command> command, const SimpleCommand& simple) {
  auto name = literal_text(simple.words.front());
  lookahead_.reset();
  auto close = take();
  if (!close) {
    return close.error();
  }
  if (!name || !is_operator(*close, ")")) {
    return unexpected(*close, "')' of a function definition");
  }
  if (auto status = parse_function_body(*command, *name); !status) {
    return status.error();
  }
  return CommandPtr(command);
}

}  // namespace entrytrace::shell
