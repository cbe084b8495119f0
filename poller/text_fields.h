// Small string_view helpers shared by the procfs parsers. Views point into
// the caller's text, which must outlive them.
#pragma once

#include <charconv>
#include <string_view>
#include <system_error>
#include <vector>

namespace entrytrace {

inline bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

inline std::string_view trim(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_blank(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

// Splits at runs of blanks; no empty words.
inline std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_blank(text[i])) {
      ++i;
    }
    size_t start = i;
    while (i < text.size() && !is_blank(text[i])) {
      ++i;
    }
    if (i > start) {
      words.push_back(text.substr(start, i - start));
    }
  }
  return words;
}

// Splits at every separator, keeping empty fields.
inline std::vector<std::string_view> split_on(std::string_view text,
                                              char separator) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      fields.push_back(text.substr(start));
      return fields;
    }
    fields.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

// Splits at '\n'; a final newline does not add an empty line.
inline std::vector<std::string_view> split_lines(std::string_view text) {
  if (!text.empty() && text.back() == '\n') {
    text.remove_suffix(1);
  }
  if (text.empty()) {
    return {};
  }
  return split_on(text, '\n');
}

// Parses the whole text as a number in the given base; false on any other
// character, an empty text or overflow.
template <typename T>
bool parse_number(std::string_view text, T& value, int base) {
  if (text.empty()) {
    return false;
  }
  const char* end = text.data() + text.size();
  auto [next, error] = std::from_chars(text.data(), end, value, base);
  return error == std::errc() && next == end;
}

template <typename T>
bool parse_decimal(std::string_view text, T& value) {
  return parse_number(text, value, 10);
}

template <typename T>
bool parse_hex(std::string_view text, T& value) {
  return parse_number(text, value, 16);
}

}  // namespace entrytrace
