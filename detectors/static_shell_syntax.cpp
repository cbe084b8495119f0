// Helpers on the syntax tree of static_shell_syntax.h. The lexer is in
// static_shell_lexer.cpp and static_shell_words.cpp, and the parser in
// static_shell_parser.cpp and static_shell_compound.cpp.
#include "detectors/static_shell_syntax.h"

namespace entrytrace::shell {

WordPart make_part(WordPart::Kind kind, std::string text, bool quoted) {
  WordPart part;
  part.kind = kind;
  part.text = std::move(text);
  part.quoted = quoted;
  return part;
}

// Concatenates the literal parts whether quoted or not.
std::optional<std::string> literal_text(const Word& word) {
  std::string text;
  for (const WordPart& part : word.parts) {
    if (part.kind != WordPart::Kind::kLiteral) {
      return std::nullopt;
    }
    text += part.text;
  }
  return text;
}

}  // namespace entrytrace::shell
