// Small helpers for the sentences of evidence and diagnostics.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace entrytrace {

// "1 process", "3 processes".
inline std::string count_phrase(size_t count, const char* singular,
                                const char* plural) {
  return std::to_string(count) + " " + (count == 1 ? singular : plural);
}

// The words with separator between them. Like the shell's "$*", an empty
// text so far gets no separator, so leading empty words leave none behind.
inline std::string join_words(const std::vector<std::string>& words,
                              std::string_view separator = " ") {
  std::string text;
  for (const std::string& word : words) {
    if (!text.empty()) {
      text += separator;
    }
    text += word;
  }
  return text;
}

// The last component of a path: what follows its last '/'.
inline std::string base_name(std::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path
                                                     : path.substr(slash + 1));
}

}  // namespace entrytrace
