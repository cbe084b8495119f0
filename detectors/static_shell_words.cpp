// Characters to word parts: quotes, backslash escapes, $ expansions and
// backquotes. Part of the Lexer declared in static_shell_lexer.h.
#include "detectors/static_shell_lexer.h"

#include <algorithm>
#include <cctype>

namespace entrytrace::shell {

Result<std::vector<WordPart>> Lexer::read_parts(
    const std::function<bool(char)>& stop, bool quoted) {
  std::vector<WordPart> parts;
  while (pos_ < text_.size() && !stop(text_[pos_])) {
    if (auto status = read_part(parts, quoted); !status) {
      return status.error();
    }
  }
  return parts;
}

void Lexer::append_literal(std::vector<WordPart>& parts, char c, bool quoted) {
  if (parts.empty() || parts.back().kind != WordPart::Kind::kLiteral ||
      parts.back().quoted != quoted) {
    parts.push_back(make_part(WordPart::Kind::kLiteral, "", quoted));
  }
  parts.back().text.push_back(c);
}

Status Lexer::read_part(std::vector<WordPart>& parts, bool quoted) {
  const char c = text_[pos_];
  if (c == '\\') {
    return read_escaped(parts);
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

// A backslash outside double quotes: quotes the next character, or joins
// the next line when followed by a newline.
Status Lexer::read_escaped(std::vector<WordPart>& parts) {
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

Status Lexer::read_single_quoted(std::vector<WordPart>& parts) {
  const size_t close = text_.find('\'', pos_ + 1);
  if (close == std::string_view::npos) {
    return error("missing closing single quote");
  }
  std::string_view body = text_.substr(pos_ + 1, close - pos_ - 1);
  line_ += static_cast<int>(std::count(body.begin(), body.end(), '\n'));
  parts.push_back(make_part(WordPart::Kind::kLiteral, std::string(body), true));
  pos_ = close + 1;
  return Ok{};
}

Status Lexer::read_double_quoted(std::vector<WordPart>& parts) {
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
Status Lexer::read_ansi_c_quoted(std::vector<WordPart>& parts) {
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

// Finds the ")" that closes a "(" just before `from`, skipping quotes and
// nested parentheses. Returns its position.
Result<size_t> Lexer::find_closing_parenthesis(size_t from) {
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

Status Lexer::read_dollar(std::vector<WordPart>& parts, bool quoted) {
  std::string_view rest = text_.substr(pos_);
  if (rest.starts_with("$((")) {
    return read_arithmetic(parts, quoted);
  }
  if (rest.starts_with("$(")) {
    return read_command_substitution(parts, quoted);
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
  if (read_unbraced_parameter(parts, quoted)) {
    return Ok{};
  }
  append_literal(parts, '$', quoted);
  ++pos_;
  return Ok{};
}

// Reads the $((...)) at pos_ into one kArithmetic part.
Status Lexer::read_arithmetic(std::vector<WordPart>& parts, bool quoted) {
  auto close = find_closing_parenthesis(pos_ + 3);
  if (!close || *close + 1 >= text_.size() || text_[*close + 1] != ')') {
    return error("missing '))' to close '$(('");
  }
  std::string body(text_.substr(pos_ + 3, *close - pos_ - 3));
  parts.push_back(make_part(WordPart::Kind::kArithmetic, body, quoted));
  pos_ = *close + 2;
  return Ok{};
}

// Reads the $(...) at pos_ into one kCommand part.
Status Lexer::read_command_substitution(std::vector<WordPart>& parts,
                                        bool quoted) {
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

// Reads the $name, $1 or special parameter such as $@ at pos_. Returns
// false, and reads nothing, when no parameter name follows the "$".
bool Lexer::read_unbraced_parameter(std::vector<WordPart>& parts, bool quoted) {
  std::string_view rest = text_.substr(pos_);
  if (rest.size() >= 2 && is_name_start(rest[1])) {
    size_t end = 2;
    while (end < rest.size() && is_name_char(rest[end])) {
      ++end;
    }
    parts.push_back(make_part(WordPart::Kind::kParameter,
                              std::string(rest.substr(1, end - 1)), quoted));
    pos_ += end;
    return true;
  }
  if (rest.size() >= 2 &&
      (std::isdigit(static_cast<unsigned char>(rest[1])) ||
       std::string_view("@*#?$!-").find(rest[1]) != std::string_view::npos)) {
    parts.push_back(
        make_part(WordPart::Kind::kParameter, std::string(1, rest[1]), quoted));
    pos_ += 2;
    return true;
  }
  return false;
}

// The name inside ${...}: an identifier, digits, or one special
// character.
std::string Lexer::read_parameter_name() {
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

std::string Lexer::read_parameter_operator() {
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

Status Lexer::read_braced(std::vector<WordPart>& parts, bool quoted) {
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

Status Lexer::read_braced_arguments(WordPart& part, bool quoted) {
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

Status Lexer::read_backquoted(std::vector<WordPart>& parts, bool quoted) {
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

Result<Word> parse_quoted_text(std::string_view text) {
  auto parts = Lexer(text).read_parts([](char) { return false; }, true);
  if (!parts) {
    return parts.error();
  }
  return Word{std::move(*parts), 0};
}

}  // namespace entrytrace::shell
