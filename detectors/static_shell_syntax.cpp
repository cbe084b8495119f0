// The lexer and recursive-descent parser of static_shell_syntax.h. The
// layers are: characters to word parts (quotes and expansions), words and
// operators to tokens (with here-documents skipped), tokens to commands.
#include "detectors/static_shell_syntax.h"

#include <algorithm>
#include <cctype>
#include <functional>

namespace entrytrace::shell {
namespace {

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

bool is_name(std::string_view text) {
  return !text.empty() && is_name_start(text[0]) &&
         std::all_of(text.begin(), text.end(), is_name_char);
}

// Characters that end an unquoted word.
bool is_metacharacter(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' ||
         c == '|' || c == '(' || c == ')' || c == '<' || c == '>';
}

// Operators, longest first so that "&&" wins over "&".
constexpr std::string_view kOperators[] = {
    "&>>", "<<-", "<<<", ";;&", "&&", "||", ";;", ";&", "&>", "<<", ">>", ">&",
    "<&",  ">|",  "<>",  "((",  "&",  "|",  ";",  "(",  ")",  "<",  ">"};

bool is_redirect_operator(std::string_view op) {
  return op == "<" || op == ">" || op == ">>" || op == "<<" || op == "<<-" ||
         op == "<<<" || op == ">&" || op == "<&" || op == "&>" || op == "&>>" ||
         op == ">|" || op == "<>";
}

struct Token {
  enum class Kind { kWord, kOperator, kNewline, kEnd, kIoNumber };
  Kind kind = Kind::kEnd;
  std::string op;
  Word word;
  // The word is one unquoted literal, so it can be a reserved word.
  std::optional<std::string> plain;
  int line = 0;
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<Token> next() {
    skip_blanks();
    Token token;
    token.line = line_;
    if (pos_ >= text_.size()) {
      token.kind = Token::Kind::kEnd;
      return token;
    }
    const char c = text_[pos_];
    if (c == '\n') {
      ++pos_;
      ++line_;
      token.kind = Token::Kind::kNewline;
      if (auto skipped = skip_here_documents(); !skipped) {
        return skipped.error();
      }
      return token;
    }
    for (std::string_view op : kOperators) {
      if (text_.substr(pos_, op.size()) == op) {
        return read_operator(token, op);
      }
    }
    return read_word_token(token);
  }

  // Registers a here-document whose body starts after the next newline.
  void add_here_document(std::string delimiter, bool strip_tabs) {
    here_documents_.push_back({std::move(delimiter), strip_tabs});
  }

  // Reads word parts up to a character for which stop() holds, outside
  // quotes. Used for words and for the arguments inside ${...}.
  Result<std::vector<WordPart>> read_parts(
      const std::function<bool(char)>& stop, bool quoted) {
    std::vector<WordPart> parts;
    while (pos_ < text_.size() && !stop(text_[pos_])) {
      if (auto status = read_part(parts, quoted); !status) {
        return status.error();
      }
    }
    return parts;
  }

  int line() const { return line_; }

 private:
  struct HereDocument {
    std::string delimiter;
    bool strip_tabs = false;
  };

  Error error(const std::string& what) const {
    return Error{"line " + std::to_string(line_) + ": " + what};
  }

  void skip_blanks() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '\\' && pos_ + 1 < text_.size() &&
                 text_[pos_ + 1] == '\n') {
        pos_ += 2;
        ++line_;
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') {
          ++pos_;
        }
      } else {
        return;
      }
    }
  }

  Result<Token> read_operator(Token& token, std::string_view op) {
    pos_ += op.size();
    token.kind = Token::Kind::kOperator;
    token.op = std::string(op);
    if (op != "((") {
      return token;
    }
    // An arithmetic command: kept as one token up to the matching "))".
    const size_t start = pos_;
    int depth = 2;
    while (pos_ < text_.size() && depth > 0) {
      if (text_[pos_] == '(') {
        ++depth;
      }
      if (text_[pos_] == ')') {
        --depth;
      }
      if (text_[pos_] == '\n') {
        ++line_;
      }
      ++pos_;
    }
    if (depth > 0) {
      return error("missing '))' to close '(('");
    }
    token.word.parts.push_back(
        make_part(WordPart::Kind::kLiteral,
                  std::string(text_.substr(start, pos_ - start - 2))));
    return token;
  }

  Result<Token> read_word_token(Token& token) {
    auto parts = read_parts(is_metacharacter, false);
    if (!parts) {
      return parts.error();
    }
    if (parts->empty()) {
      return error(std::string("unexpected character '") + text_[pos_] + "'");
    }
    token.kind = Token::Kind::kWord;
    token.word.parts = std::move(*parts);
    token.word.line = token.line;
    const auto& first = token.word.parts.front();
    if (token.word.parts.size() == 1 &&
        first.kind == WordPart::Kind::kLiteral && !first.quoted) {
      token.plain = first.text;
      const bool digits =
          std::all_of(first.text.begin(), first.text.end(),
                      [](char c) { return std::isdigit(c) != 0; });
      if (digits && pos_ < text_.size() &&
          (text_[pos_] == '<' || text_[pos_] == '>')) {
        token.kind = Token::Kind::kIoNumber;
      }
    }
    return token;
  }

  static void append_literal(std::vector<WordPart>& parts, char c,
                             bool quoted) {
    if (parts.empty() || parts.back().kind != WordPart::Kind::kLiteral ||
        parts.back().quoted != quoted) {
      parts.push_back(make_part(WordPart::Kind::kLiteral, "", quoted));
    }
    parts.back().text.push_back(c);
  }

  Status read_part(std::vector<WordPart>& parts, bool quoted) {
    const char c = text_[pos_];
    if (c == '\\') {
      if (pos_ + 1 >= text_.size()) {
        ++pos_;
        return Ok{};
      }
      if (text_[pos_ + 1] == '\n') {
        pos_ += 2;
        ++line_;
        return Ok{};
      }
      append_literal(parts, text_[pos_ + 1], true);
      pos_ += 2;
      return Ok{};
    }
    if (c == '\'') {
      return read_single_quoted(parts);
    }
    if (c == '"') {
      return read_double_quoted(parts);
    }
    if (c == '$') {
      return read_dollar(parts, quoted);
    }
    if (c == '`') {
      return read_backquoted(parts, quoted);
    }
    if (c == '\n') {
      ++line_;
    }
    append_literal(parts, c, quoted);
    ++pos_;
    return Ok{};
  }

  Status read_single_quoted(std::vector<WordPart>& parts) {
    const size_t close = text_.find('\'', pos_ + 1);
    if (close == std::string_view::npos) {
      return error("missing closing single quote");
    }
    std::string_view body = text_.substr(pos_ + 1, close - pos_ - 1);
    line_ += static_cast<int>(std::count(body.begin(), body.end(), '\n'));
    parts.push_back(
        make_part(WordPart::Kind::kLiteral, std::string(body), true));
    pos_ = close + 1;
    return Ok{};
  }

  Status read_double_quoted(std::vector<WordPart>& parts) {
    const int start_line = line_;
    const size_t first_part = parts.size();
    ++pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        // An empty "" still makes a word, but "$@" alone makes none.
        if (parts.size() == first_part) {
          parts.push_back(make_part(WordPart::Kind::kLiteral, "", true));
        }
        return Ok{};
      }
      if (c == '\\' && pos_ + 1 < text_.size() &&
          std::string_view("$`\"\\\n").find(text_[pos_ + 1]) !=
              std::string_view::npos) {
        if (text_[pos_ + 1] == '\n') {
          ++line_;
        } else {
          append_literal(parts, text_[pos_ + 1], true);
        }
        pos_ += 2;
        continue;
      }
      if (c == '$' || c == '`') {
        auto status =
            c == '$' ? read_dollar(parts, true) : read_backquoted(parts, true);
        if (!status) {
          return status;
        }
        continue;
      }
      if (c == '\n') {
        ++line_;
      }
      append_literal(parts, c, true);
      ++pos_;
    }
    return Error{"line " + std::to_string(start_line) +
                 ": missing closing double quote"};
  }

  // $'...': bash's quoting with backslash escapes.
  Status read_ansi_c_quoted(std::vector<WordPart>& parts) {
    pos_ += 2;
    std::string text;
    while (pos_ < text_.size() && text_[pos_] != '\'') {
      char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size()) {
        const char escaped = text_[pos_++];
        switch (escaped) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'r':
            c = '\r';
            break;
          case 'e':
          case 'E':
            c = '\x1b';
            break;
          default:
            c = escaped;
        }
      }
      text.push_back(c);
    }
    if (pos_ >= text_.size()) {
      return error("missing closing quote of $'...'");
    }
    ++pos_;
    parts.push_back(make_part(WordPart::Kind::kLiteral, text, true));
    return Ok{};
  }

  // Finds the ")" that closes a "(" just before pos_, skipping quotes and
  // nested parentheses. Returns its position.
  Result<size_t> find_closing_parenthesis(size_t from) {
    int depth = 1;
    size_t i = from;
    while (i < text_.size()) {
      const char c = text_[i];
      if (c == '\\') {
        i += 2;
        continue;
      }
      if (c == '\'') {
        const size_t close = text_.find('\'', i + 1);
        if (close == std::string_view::npos) {
          break;
        }
        i = close + 1;
        continue;
      }
      if (c == '"') {
        ++i;
        while (i < text_.size() && text_[i] != '"') {
          i += text_[i] == '\\' ? 2 : 1;
        }
        ++i;
        continue;
      }
      if (c == '(') {
        ++depth;
      }
      if (c == ')' && --depth == 0) {
        return i;
      }
      ++i;
    }
    return error("missing ')' to close '$('");
  }

  Status read_dollar(std::vector<WordPart>& parts, bool quoted) {
    std::string_view rest = text_.substr(pos_);
    if (rest.starts_with("$((")) {
      auto close = find_closing_parenthesis(pos_ + 3);
      if (!close || *close + 1 >= text_.size() || text_[*close + 1] != ')') {
        return error("missing '))' to close '$(('");
      }
      std::string body(text_.substr(pos_ + 3, *close - pos_ - 3));
      parts.push_back(make_part(WordPart::Kind::kArithmetic, body, quoted));
      pos_ = *close + 2;
      return Ok{};
    }
    if (rest.starts_with("$(")) {
      auto close = find_closing_parenthesis(pos_ + 2);
      if (!close) {
        return close.error();
      }
      std::string body(text_.substr(pos_ + 2, *close - pos_ - 2));
      line_ += static_cast<int>(std::count(body.begin(), body.end(), '\n'));
      parts.push_back(make_part(WordPart::Kind::kCommand, body, quoted));
      pos_ = *close + 1;
      return Ok{};
    }
    if (rest.starts_with("${")) {
      return read_braced(parts, quoted);
    }
    if (!quoted && rest.starts_with("$'")) {
      return read_ansi_c_quoted(parts);
    }
    if (!quoted && rest.starts_with("$\"")) {
      ++pos_;
      return read_double_quoted(parts);
    }
    if (rest.size() >= 2 && is_name_start(rest[1])) {
      size_t end = 2;
      while (end < rest.size() && is_name_char(rest[end])) {
        ++end;
      }
      parts.push_back(make_part(WordPart::Kind::kParameter,
                                std::string(rest.substr(1, end - 1)), quoted));
      pos_ += end;
      return Ok{};
    }
    if (rest.size() >= 2 &&
        (std::isdigit(static_cast<unsigned char>(rest[1])) ||
         std::string_view("@*#?$!-").find(rest[1]) != std::string_view::npos)) {
      parts.push_back(make_part(WordPart::Kind::kParameter,
                                std::string(1, rest[1]), quoted));
      pos_ += 2;
      return Ok{};
    }
    append_literal(parts, '$', quoted);
    ++pos_;
    return Ok{};
  }

  // The name inside ${...}: an identifier, digits, or one special
  // character.
  std::string read_parameter_name() {
    const size_t start = pos_;
    if (pos_ < text_.size() && is_name_start(text_[pos_])) {
      while (pos_ < text_.size() && is_name_char(text_[pos_])) {
        ++pos_;
      }
    } else if (pos_ < text_.size() &&
               std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      while (pos_ < text_.size() &&
             std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        ++pos_;
      }
    } else if (pos_ < text_.size() &&
               std::string_view("@*#?$!-").find(text_[pos_]) !=
                   std::string_view::npos) {
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  std::string read_parameter_operator() {
    constexpr std::string_view kParameterOperators[] = {
        ":-", ":=", ":+", ":?", "##", "%%", "//", "^^", ",,", "-",
        "=",  "+",  "?",  "#",  "%",  "/",  "^",  ",",  ":"};
    for (std::string_view op : kParameterOperators) {
      if (text_.substr(pos_, op.size()) == op) {
        pos_ += op.size();
        return std::string(op);
      }
    }
    return "";
  }

  Status read_braced(std::vector<WordPart>& parts, bool quoted) {
    pos_ += 2;
    WordPart part = make_part(WordPart::Kind::kParameter, "", quoted);
    const std::string_view rest = text_.substr(pos_);
    if (rest.size() >= 2 && rest[0] == '#' && rest[1] != '}') {
      ++pos_;
      part.op = "length";
    } else if (rest.size() >= 2 && rest[0] == '!' && rest[1] != '}') {
      ++pos_;
      part.op = "indirect";
    }
    part.text = read_parameter_name();
    if (part.text.empty()) {
      return error("invalid parameter expansion '${'");
    }
    if (part.op.empty()) {
      part.op = read_parameter_operator();
    }
    if (pos_ < text_.size() && text_[pos_] != '}') {
      if (auto status = read_braced_arguments(part, quoted); !status) {
        return status;
      }
    }
    if (pos_ >= text_.size() || text_[pos_] != '}') {
      return error("missing '}' to close '${" + part.text + "'");
    }
    ++pos_;
    parts.push_back(std::move(part));
    return Ok{};
  }

  Status read_braced_arguments(WordPart& part, bool quoted) {
    const bool has_second = part.op == "/" || part.op == "//" || part.op == ":";
    const char separator = part.op == ":" ? ':' : '/';
    auto first = read_parts(
        [&](char c) { return c == '}' || (has_second && c == separator); },
        quoted);
    if (!first) {
      return first.error();
    }
    part.argument = std::move(*first);
    if (has_second && pos_ < text_.size() && text_[pos_] == separator) {
      ++pos_;
      auto second = read_parts([](char c) { return c == '}'; }, quoted);
      if (!second) {
        return second.error();
      }
      part.second = std::move(*second);
      part.has_second = true;
    }
    return Ok{};
  }

  Status read_backquoted(std::vector<WordPart>& parts, bool quoted) {
    ++pos_;
    std::string body;
    while (pos_ < text_.size() && text_[pos_] != '`') {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size() &&
          std::string_view("$`\\").find(text_[pos_ + 1]) !=
              std::string_view::npos) {
        ++pos_;
      }
      if (text_[pos_] == '\n') {
        ++line_;
      }
      body.push_back(text_[pos_++]);
    }
    if (pos_ >= text_.size()) {
      return error("missing closing backquote");
    }
    ++pos_;
    parts.push_back(make_part(WordPart::Kind::kCommand, body, quoted));
    return Ok{};
  }

  // Skips the bodies of the here-documents started on the line just ended.
  Status skip_here_documents() {
    for (const HereDocument& document : here_documents_) {
      bool closed = false;
      while (pos_ < text_.size() && !closed) {
        size_t end = text_.find('\n', pos_);
        if (end == std::string_view::npos) {
          end = text_.size();
        }
        std::string_view line = text_.substr(pos_, end - pos_);
        if (document.strip_tabs) {
          while (!line.empty() && line.front() == '\t') {
            line.remove_prefix(1);
          }
        }
        closed = line == document.delimiter;
        pos_ = std::min(end + 1, text_.size());
        ++line_;
      }
      if (!closed) {
        return error("here-document ended by end of file, expected '" +
                     document.delimiter + "'");
      }
    }
    here_documents_.clear();
    return Ok{};
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<HereDocument> here_documents_;
};

// Concatenated literal text of a word, ignoring quoting; nullopt when the
// word has an expansion.
std::optional<std::string> unquoted_literal(const Word& word) {
  std::string text;
  for (const WordPart& part : word.parts) {
    if (part.kind != WordPart::Kind::kLiteral) {
      return std::nullopt;
    }
    text += part.text;
  }
  return text;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text) {}

  Result<Script> parse() {
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

 private:
  Result<Token> peek() {
    if (!lookahead_) {
      auto token = lexer_.next();
      if (!token) {
        return token.error();
      }
      lookahead_ = std::move(*token);
    }
    return *lookahead_;
  }

  Result<Token> take() {
    auto token = peek();
    lookahead_.reset();
    return token;
  }

  static std::string describe(const Token& token) {
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

  static Error unexpected(const Token& token, const std::string& expected) {
    return Error{"line " + std::to_string(token.line) + ": unexpected " +
                 describe(token) + ", expected " + expected};
  }

  static bool is_reserved(const Token& token, std::string_view word) {
    return token.kind == Token::Kind::kWord && token.plain &&
           *token.plain == word;
  }

  static bool is_operator(const Token& token, std::string_view op) {
    return token.kind == Token::Kind::kOperator && token.op == op;
  }

  Status skip_newlines() {
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

  Status expect_reserved(std::string_view word, std::string_view opener,
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
  // position, or at ")" and ";;".
  Result<List> parse_list(const std::vector<std::string_view>& terminators) {
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
      if (token->plain && std::find(terminators.begin(), terminators.end(),
                                    *token->plain) != terminators.end()) {
        return list;
      }
      auto item = parse_and_or();
      if (!item) {
        return item.error();
      }
      auto separator = peek();
      if (!separator) {
        return separator.error();
      }
      if (is_operator(*separator, "&")) {
        item->background = true;
        lookahead_.reset();
      } else if (is_operator(*separator, ";")) {
        lookahead_.reset();
      } else if (separator->kind != Token::Kind::kNewline &&
                 separator->kind != Token::Kind::kEnd &&
                 !is_operator(*separator, ")") &&
                 !is_operator(*separator, ";;") &&
                 !is_operator(*separator, ";&") &&
                 !(separator->plain &&
                   std::find(terminators.begin(), terminators.end(),
                             *separator->plain) != terminators.end())) {
        return unexpected(*separator, "';', '&' or a newline");
      }
      list.items.push_back(std::move(*item));
    }
  }

  Result<AndOr> parse_and_or() {
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

  Result<Pipeline> parse_pipeline() {
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

  Result<CommandPtr> parse_command() {
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
                                  *unquoted_literal(token->word) + "))"};
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

  Status parse_group(Command& command, std::string_view close, bool subshell) {
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

  Status parse_if(Command& command) {
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

  Status parse_do_group(List& body, std::string_view opener, int line) {
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

  Status parse_for(Command& command) {
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
    auto token = peek();
    if (!token) {
      return token.error();
    }
    if (is_reserved(*token, "in")) {
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

  Status parse_loop(Command& command) {
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

  Status parse_case(Command& command) {
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

  Result<CaseItem> parse_case_item(int case_line) {
    CaseItem item;
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
        return unexpected(*pattern, "a pattern in 'case' of line " +
                                        std::to_string(case_line));
      }
      item.patterns.push_back(pattern->word);
      auto next = take();
      if (!next) {
        return next.error();
      }
      if (is_operator(*next, ")")) {
        break;
      }
      if (!is_operator(*next, "|")) {
        return unexpected(*next, "'|' or ')' after a case pattern");
      }
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

  Status parse_function_body(Command& command, std::string name) {
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
  Status parse_function_keyword(Command& command) {
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

  Status parse_conditional(Command& command) {
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

  Status parse_redirect(Command& command, const Token& op) {
    auto target = take();
    if (!target) {
      return target.error();
    }
    if (target->kind != Token::Kind::kWord) {
      return unexpected(*target, "a word after '" + op.op + "'");
    }
    if (op.op == "<<" || op.op == "<<-") {
      auto delimiter = unquoted_literal(target->word);
      if (!delimiter) {
        return unexpected(*target, "a literal here-document delimiter");
      }
      lexer_.add_here_document(*delimiter, op.op == "<<-");
    }
    command.redirects.push_back(Redirect{op.op, target->word});
    return Ok{};
  }

  // Redirections after a compound command.
  Status parse_redirects(Command& command) {
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

  static std::optional<Assignment> as_assignment(const Token& token) {
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

  Result<CommandPtr> parse_simple_or_function(
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

  Result<CommandPtr> parse_function_definition(std::shared_ptr<Command> command,
                                               const SimpleCommand& simple) {
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

  Lexer lexer_;
  std::optional<Token> lookahead_;
};

}  // namespace

WordPart make_part(WordPart::Kind kind, std::string text, bool quoted) {
  WordPart part;
  part.kind = kind;
  part.text = std::move(text);
  part.quoted = quoted;
  return part;
}

Result<Script> parse_script(std::string_view text) {
  return Parser(text).parse();
}

Result<Word> parse_quoted_text(std::string_view text) {
  auto parts = Lexer(text).read_parts([](char) { return false; }, true);
  if (!parts) {
    return parts.error();
  }
  return Word{std::move(*parts), 0};
}

std::optional<std::string> literal_text(const Word& word) {
  return unquoted_literal(word);
}

}  // namespace entrytrace::shell
