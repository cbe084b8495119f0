// The lexer behind parse_script(). static_shell_lexer.cpp turns words and
// operators into tokens and skips here-document bodies, and
// static_shell_words.cpp reads the characters of a word into word parts
// (quotes and expansions). Internal to detectors/.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "detectors/static_shell_syntax.h"

namespace entrytrace::shell {

bool is_name_start(char c);
bool is_name_char(char c);

// Returns true when text is a shell variable name, which is a letter or "_"
// followed by letters, digits and "_".
bool is_name(std::string_view text);

bool is_redirect_operator(std::string_view op);

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

  Result<Token> next();

  // Registers a here-document whose body starts after the next newline.
  void add_here_document(std::string delimiter, bool strip_tabs);

  // Reads word parts up to a character for which stop() holds, outside
  // quotes. Used for words and for the arguments inside ${...}.
  Result<std::vector<WordPart>> read_parts(
      const std::function<bool(char)>& stop, bool quoted);

  int line() const { return line_; }

 private:
  struct HereDocument {
    std::string delimiter;
    bool strip_tabs = false;
  };

  Error error(const std::string& what) const;

  // Tokens and here-documents, in static_shell_lexer.cpp.
  void skip_blanks();
  Result<Token> read_operator(Token& token, std::string_view op);
  Result<Token> read_word_token(Token& token);
  Status skip_here_documents();

  // Word parts, in static_shell_words.cpp.
  static void append_literal(std::vector<WordPart>& parts, char c, bool quoted);
  Status read_part(std::vector<WordPart>& parts, bool quoted);
  Status read_escaped(std::vector<WordPart>& parts);
  Status read_single_quoted(std::vector<WordPart>& parts);
  Status read_double_quoted(std::vector<WordPart>& parts);
  Status read_ansi_c_quoted(std::vector<WordPart>& parts);
  Result<size_t> find_closing_parenthesis(size_t from);
  Status read_dollar(std::vector<WordPart>& parts, bool quoted);
  Status read_arithmetic(std::vector<WordPart>& parts, bool quoted);
  Status read_command_substitution(std::vector<WordPart>& parts, bool quoted);
  bool read_unbraced_parameter(std::vector<WordPart>& parts, bool quoted);
  std::string read_parameter_name();
  std::string read_parameter_operator();
  Status read_braced(std::vector<WordPart>& parts, bool quoted);
  Status read_braced_arguments(WordPart& part, bool quoted);
  Status read_backquoted(std::vector<WordPart>& parts, bool quoted);

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<HereDocument> here_documents_;
};

}  // namespace entrytrace::shell
