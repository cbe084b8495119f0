// Tokens to lists, pipelines, simple commands and redirections, and the
// entry point parse_script(). Compound commands are parsed in
// static_shell_compound.cpp.
#include "detectors/static_shell_parser.h"

#include <algorithm>

namespace entrytrace::shell {
namespace {

std::string describe(const Token& token) {
  switch (token.kind) {
    case Token::Kind::kEnd:
      return "end of script";
    case Token::Kind::kNewline:
      return "newline";
    case Token::Kind::kOperator:
      return "'" + token.op + "'";
    default:
      return token.plain ? "'" + *token.plain + "'" : "a word";
  }
}

// Returns true for a plain word listed in `terminators`.
bool is_terminator(const Token& token,
                   const std::vector<std::string_view>& terminators) {
  return token.plain && std::find(terminators.begin(), terminators.end(),
                                  *token.plain) != terminators.end();
}

std::optional<Assignment> as_assignment(const Token& token) {
  if (token.word.parts.empty()) {
    return std::nullopt;
  }
  const WordPart& first = token.word.parts.front();
  if (first.kind != WordPart::Kind::kLiteral || first.quoted) {
    return std::nullopt;
  }
  const size_t equals = first.text.find('=');
  if (equals == std::string::npos || equals == 0) {
    return std::nullopt;
  }

  Assignment assignment;
  std::string name = first.text.substr(0, equals);
  if (name.back() == '+') {
    assignment.append = true;
    name.pop_back();
  }
  if (!is_name(name)) {
    return std::nullopt;
  }
  assignment.name = name;
  assignment.value.line = token.line;
  const std::string rest = first.text.substr(equals + 1);
  if (!rest.empty()) {
    assignment.value.parts.push_back(
        make_part(WordPart::Kind::kLiteral, rest, false));
  }
  assignment.value.parts.insert(assignment.value.parts.end(),
                                token.word.parts.begin() + 1,
                                token.word.parts.end());
  return assignment;
}

}  // namespace

Result<Script> Parser::parse() {
  auto body = parse_list({});
  if (!body) {
    return body.error();
  }
  auto token = peek();
  if (!token) {
    return token.error();
  }
  if (token->kind != Token::Kind::kEnd) {
    return unexpected(*token, "end of script");
  }
  return Script{std::move(*body)};
}

Result<Token> Parser::peek() {
  if (!lookahead_) {
    auto token = lexer_.next();
    if (!token) {
      return token.error();
    }
    lookahead_ = std::move(*token);
  }
  return *lookahead_;
}

Result<Token> Parser::take() {
  auto token = peek();
  lookahead_.reset();
  return token;
}

Error Parser::unexpected(const Token& token, const std::string& expected) {
  return Error{"line " + std::to_string(token.line) + ": unexpected " +
               describe(token) + ", expected " + expected};
}

bool Parser::is_reserved(const Token& token, std::string_view word) {
  return token.kind == Token::Kind::kWord && token.plain &&
         *token.plain == word;
}

bool Parser::is_operator(const Token& token, std::string_view op) {
  return token.kind == Token::Kind::kOperator && token.op == op;
}

Status Parser::skip_newlines() {
  while (true) {
    auto token = peek();
    if (!token) {
      return token.error();
    }
    if (token->kind != Token::Kind::kNewline) {
      return Ok{};
    }
    lookahead_.reset();
  }
}

Status Parser::expect_reserved(std::string_view word, std::string_view opener,
                               int opener_line) {
  auto token = take();
  if (!token) {
    return token.error();
  }
  if (!is_reserved(*token, word)) {
    return unexpected(*token, "'" + std::string(word) + "' to close '" +
                                  std::string(opener) + "' of line " +
                                  std::to_string(opener_line));
  }
  return Ok{};
}

// A list ends at end of script, at one of `terminators` in command
// position, or at ")", ";;", ";&" or ";;&".
Result<List> Parser::parse_list(
    const std::vector<std::string_view>& terminators) {
  List list;
  while (true) {
    if (auto status = skip_newlines(); !status) {
      return status.error();
    }
    auto token = peek();
    if (!token) {
      return token.error();
    }
    if (token->kind == Token::Kind::kEnd || is_operator(*token, ")") ||
        is_operator(*token, ";;") || is_operator(*token, ";&") ||
        is_operator(*token, ";;&")) {
      return list;
    }
    if (is_terminator(*token, terminators)) {
      return list;
    }
    auto item = parse_and_or();
    if (!item) {
      return item.error();
    }
    if (auto status = parse_separator(*item, terminators); !status) {
      return status.error();
    }
    list.items.push_back(std::move(*item));
  }
}

// Takes the ";" or "&" after an item of a list, or checks that the list
// ends there.
Status Parser::parse_separator(
    AndOr& item, const std::vector<std::string_view>& terminators) {
  auto separator = peek();
  if (!separator) {
    return separator.error();
  }
  if (is_operator(*separator, "&")) {
    item.background = true;
    lookahead_.reset();
  } else if (is_operator(*separator, ";")) {
    lookahead_.reset();
  } else if (separator->kind != Token::Kind::kNewline &&
             separator->kind != Token::Kind::kEnd &&
             !is_operator(*separator, ")") && !is_operator(*separator, ";;") &&
             !is_operator(*separator, ";&") &&
             !is_operator(*separator, ";;&") &&
             !is_terminator(*separator, terminators)) {
    return unexpected(*separator, "';', '&' or a newline");
  }
  return Ok{};
}

Result<AndOr> Parser::parse_and_or() {
  AndOr and_or;
  auto first = peek();
  if (!first) {
    return first.error();
  }
  and_or.line = first->line;
  while (true) {
    auto pipeline = parse_pipeline();
    if (!pipeline) {
      return pipeline.error();
    }
    and_or.pipelines.push_back(std::move(*pipeline));
    auto token = peek();
    if (!token) {
      return token.error();
    }
    if (!is_operator(*token, "&&") && !is_operator(*token, "||")) {
      return and_or;
    }
    and_or.operators.push_back(token->op == "&&");
    lookahead_.reset();
    if (auto status = skip_newlines(); !status) {
      return status.error();
    }
  }
}

Result<Pipeline> Parser::parse_pipeline() {
  Pipeline pipeline;
  auto token = peek();
  if (!token) {
    return token.error();
  }
  if (is_reserved(*token, "!")) {
    pipeline.negated = true;
    lookahead_.reset();
  }
  while (true) {
    auto command = parse_command();
    if (!command) {
      return command.error();
    }
    pipeline.commands.push_back(std::move(*command));
    auto next = peek();
    if (!next) {
      return next.error();
    }
    if (!is_operator(*next, "|") && !is_operator(*next, "|&")) {
      return pipeline;
    }
    lookahead_.reset();
    if (auto status = skip_newlines(); !status) {
      return status.error();
    }
  }
}

Result<CommandPtr> Parser::parse_command() {
  auto token = peek();
  if (!token) {
    return token.error();
  }
  auto command = std::make_shared<Command>();
  command->line = token->line;
  Status status = Ok{};
  if (is_operator(*token, "((")) {
    lookahead_.reset();
    command->node = Unsupported{"arithmetic command ((" +
                                *literal_text(token->word) + "))"};
  } else if (is_operator(*token, "(")) {
    status = parse_group(*command, ")", true);
  } else if (is_reserved(*token, "{")) {
    status = parse_group(*command, "}", false);
  } else if (is_reserved(*token, "if")) {
    status = parse_if(*command);
  } else if (is_reserved(*token, "for")) {
    status = parse_for(*command);
  } else if (is_reserved(*token, "while") || is_reserved(*token, "until")) {
    status = parse_loop(*command);
  } else if (is_reserved(*token, "case")) {
    status = parse_case(*command);
  } else if (is_reserved(*token, "function")) {
    status = parse_function_keyword(*command);
  } else if (is_reserved(*token, "[[")) {
    status = parse_conditional(*command);
  } else {
    return parse_simple_or_function(command);
  }
  if (!status) {
    return status.error();
  }
  if (auto redirects = parse_redirects(*command); !redirects) {
    return redirects.error();
  }
  return CommandPtr(command);
}

Status Parser::parse_redirect(Command& command, const Token& op) {
  auto target = take();
  if (!target) {
    return target.error();
  }
  if (target->kind != Token::Kind::kWord) {
    return unexpected(*target, "a word after '" + op.op + "'");
  }
  if (op.op == "<<" || op.op == "<<-") {
    auto delimiter = literal_text(target->word);
    if (!delimiter) {
      return unexpected(*target, "a literal here-document delimiter");
    }
    lexer_.add_here_document(*delimiter, op.op == "<<-");
  }
  command.redirects.push_back(Redirect{op.op, target->word});
  return Ok{};
}

// Redirections after a compound command.
Status Parser::parse_redirects(Command& command) {
  while (true) {
    auto token = peek();
    if (!token) {
      return token.error();
    }
    if (token->kind == Token::Kind::kIoNumber) {
      lookahead_.reset();
      continue;
    }
    if (token->kind != Token::Kind::kOperator ||
        !is_redirect_operator(token->op)) {
      return Ok{};
    }
    lookahead_.reset();
    if (auto status = parse_redirect(command, *token); !status) {
      return status;
    }
  }
}

Result<CommandPtr> Parser::parse_simple_or_function(
    std::shared_ptr<Command> command) {
  SimpleCommand simple;
  while (true) {
    auto token = peek();
    if (!token) {
      return token.error();
    }
    if (token->kind == Token::Kind::kIoNumber) {
      lookahead_.reset();
      continue;
    }
    if (token->kind == Token::Kind::kOperator &&
        is_redirect_operator(token->op)) {
      lookahead_.reset();
      if (auto status = parse_redirect(*command, *token); !status) {
        return status.error();
      }
      continue;
    }
    if (is_operator(*token, "(") && simple.words.size() == 1 &&
        simple.assignments.empty() && token->line == command->line) {
      return parse_function_definition(command, simple);
    }
    if (token->kind != Token::Kind::kWord) {
      break;
    }
    lookahead_.reset();
    if (simple.words.empty()) {
      if (auto assignment = as_assignment(*token)) {
        simple.assignments.push_back(std::move(*assignment));
        continue;
      }
    }
    simple.words.push_back(token->word);
  }
  if (simple.words.empty() && simple.assignments.empty() &&
      command->redirects.empty()) {
    auto token = peek();
    if (!token) {
      return token.error();
    }
    return unexpected(*token, "a command");
  }
  command->node = std::move(simple);
  return CommandPtr(command);
}

Result<Script> parse_script(std::string_view text) {
  return Parser(text).parse();
}

}  // namespace entrytrace::shell
