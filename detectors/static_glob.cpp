#include "detectors/static_glob.h"

namespace entrytrace {
namespace {

// Matches one bracket expression at pattern[p] against c. Sets next to the
// position after "]". Returns false with next = npos when the bracket is
// not closed, so that "[" is then taken literally.
bool match_bracket(std::string_view pattern, size_t p, char c, size_t& next) {
  size_t i = p + 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negate = true;
    ++i;
  }
  bool matched = false;
  bool first = true;
  while (i < pattern.size() && (pattern[i] != ']' || first)) {
    first = false;
    char low = pattern[i];
    if (low == '\\' && i + 1 < pattern.size()) {
      low = pattern[++i];
    }
    char high = low;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' &&
        pattern[i + 2] != ']') {
      high = pattern[i + 2];
      i += 2;
    }
    if (low <= c && c <= high) {
      matched = true;
    }
    ++i;
  }
  if (i >= pattern.size()) {
    next = std::string_view::npos;
    return false;
  }
  next = i + 1;
  return matched != negate;
}

// Matches one character of text against the pattern element at p (a
// literal, an escaped character, "?" or a bracket expression) and sets next
// to the element after it. Every element but "*" takes exactly one
// character.
bool match_one(std::string_view pattern, size_t p, char c, size_t& next) {
  if (pattern[p] == '?') {
    next = p + 1;
    return true;
  }
  if (pattern[p] == '[') {
    size_t end = 0;
    const bool matched = match_bracket(pattern, p, c, end);
    if (end != std::string_view::npos) {
      next = end;
      return matched;
    }
  }
  char literal = pattern[p];
  if (literal == '\\' && p + 1 < pattern.size()) {
    literal = pattern[++p];
  }
  next = p + 1;
  return literal == c;
}

// Matches text from t against pattern from p. Because every element but
// "*" takes one character, only the last "*" needs a restart point: a
// mismatch lets it take one more character. This keeps the match at most
// pattern length times text length steps, where retrying every "*" grows
// exponentially with the number of stars.
bool match_from(std::string_view pattern, size_t p, std::string_view text,
                size_t t) {
  size_t star_p = std::string_view::npos;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = ++p;
      star_t = t;
      continue;
    }
    size_t next = 0;
    if (p < pattern.size() && match_one(pattern, p, text[t], next)) {
      p = next;
      ++t;
      continue;
    }
    if (star_p == std::string_view::npos) {
      return false;
    }
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

std::vector<std::string> split_components(std::string_view path) {
  std::vector<std::string> components;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      slash = path.size();
    }
    if (slash > start) {
      components.emplace_back(path.substr(start, slash - start));
    }
    start = slash + 1;
  }
  return components;
}

// Removes the backslash escapes of a component without wildcards.
std::string unescape(std::string_view pattern) {
  std::string text;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      ++i;
    }
    text.push_back(pattern[i]);
  }
  return text;
}

std::string join_path(const std::string& directory, const std::string& name) {
  if (directory.empty()) {
    return name;
  }
  if (directory.back() == '/') {
    return directory + name;
  }
  return directory + "/" + name;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  return match_from(pattern, 0, text, 0);
}

std::string escape_glob(std::string_view text) {
  std::string escaped;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
      escaped.push_back('\\');
    }
    escaped.push_back(c);
  }
  return escaped;
}

bool has_wildcard(std::string_view pattern) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
      continue;
    }
    if (pattern[i] == '*' || pattern[i] == '?' || pattern[i] == '[') {
      return true;
    }
  }
  return false;
}

std::string remove_prefix(std::string_view text, std::string_view pattern,
                          bool longest) {
  for (size_t i = 0; i <= text.size(); ++i) {
    const size_t length = longest ? text.size() - i : i;
    if (glob_match(pattern, text.substr(0, length))) {
      return std::string(text.substr(length));
    }
  }
  return std::string(text);
}

std::string remove_suffix(std::string_view text, std::string_view pattern,
                          bool longest) {
  for (size_t i = 0; i <= text.size(); ++i) {
    const size_t start = longest ? i : text.size() - i;
    if (glob_match(pattern, text.substr(start))) {
      return std::string(text.substr(0, start));
    }
  }
  return std::string(text);
}

std::vector<std::string> expand_pathname(std::string_view pattern,
                                         std::string_view cwd,
                                         const FileSource& files) {
  const bool absolute = !pattern.empty() && pattern.front() == '/';
  // Each match is kept twice: as the shell prints it and as a path in the
  // root.
  struct Match {
    std::string printed;
    std::string path;
  };
  std::vector<Match> matches = {
      {absolute ? "/" : "", absolute ? "/" : std::string(cwd)}};
  for (const std::string& component : split_components(pattern)) {
    std::vector<Match> next;
    for (const Match& match : matches) {
      if (!has_wildcard(component)) {
        const std::string name = unescape(component);
        next.push_back(
            {join_path(match.printed, name), join_path(match.path, name)});
        continue;
      }
      auto names = files.list(match.path);
      if (!names) {
        continue;
      }
      for (const std::string& name : *names) {
        if (name.front() == '.' && component.front() != '.') {
          continue;
        }
        if (glob_match(component, name)) {
          next.push_back(
              {join_path(match.printed, name), join_path(match.path, name)});
        }
      }
    }
    if (next.size() > kMaxPathnameMatches) {
      // Links to "." or ".." can multiply matches without end.
      next.resize(kMaxPathnameMatches);
    }
    matches = std::move(next);
  }
  std::vector<std::string> found;
  for (const Match& match : matches) {
    if (files.info(match.path) || files.read_link(match.path)) {
      found.push_back(match.printed);
    }
  }
  return found;
}

}  // namespace entrytrace
