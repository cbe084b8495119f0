// Words and operators to tokens, with here-document bodies skipped. The
// characters inside a word are read by static_shell_words.cpp.
#include "detectors/static_shell_lexer.h"

#include <algorithm>
#include <cctype>

namespace entrytrace::shell {
namespace {

// Characters that end an unquoted word.
bool is_metacharacter(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' ||
         c == '|' || c == '(' || c == ')' || c == '<' || c == '>';
}

// Operators, longest first so that "&&" wins over "&".
constexpr std::string_view kOperators[] = {
    "&>>", "<<-", "<<<", ";;&", "&&", "||", "|&", ";;", ";&", "&>", "<<", ">>",
    ">&",  "<&",  ">|",  "<>",  "((", "&",  "|",  ";",  "(",  ")",  "<",  ">"};

}  // namespace

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

bool is_redirect_operator(std::string_view op) {
  return op == "<" || op == ">" || op == ">>" || op == "<<" || op == "<<-" ||
         op == "<<<" || op == ">&" || op == "<&" || op == "&>" || op == "&>>" ||
         op == ">|" || op == "<>";
}

Result<Token> Lexer::next() {
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

void Lexer::add_here_document(std::string delimiter, bool strip_tabs) {
  here_documents_.push_back({std::move(delimiter), strip_tabs});
}

Error Lexer::error(const std::string& what) const {
  return Error{"line " + std::to_string(line_) + ": " + what};
}

void Lexer::skip_blanks() {
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

Result<Token> Lexer::read_operator(Token& token, std::string_view op) {
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

Result<Token> Lexer::read_word_token(Token& token) {
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
  if (token.word.parts.size() == 1 && first.kind == WordPart::Kind::kLiteral &&
      !first.quoted) {
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

// Skips the bodies of the here-documents started on the line just ended.
Status Lexer::skip_here_documents() {
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

}  // namespace entrytrace::shell
