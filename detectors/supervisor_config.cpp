#include "detectors/supervisor_config.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "detectors/static_glob.h"

namespace entrytrace {
namespace {

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

// The line without its comment: all of it when it starts with ";" or "#"
// after spaces, else from the first ";" or "#" that starts the line or
// follows a space.
std::string_view strip_comment(std::string_view line) {
  std::string_view stripped = trim(line);
  if (!stripped.empty() &&
      (stripped.front() == ';' || stripped.front() == '#')) {
    return {};
  }
  for (size_t i = 0; i < line.size(); ++i) {
    if ((line[i] == ';' || line[i] == '#') &&
        (i == 0 || is_space(line[i - 1]))) {
      return line.substr(0, i);
    }
  }
  return line;
}

size_t indent_of(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && is_space(line[i])) {
    ++i;
  }
  return i;
}

// Builds an IniFile line by line; see parse_ini() for the rules.
class IniBuilder {
 public:
  void add_line(int number, std::string_view raw) {
    if (!raw.empty() && raw.back() == '\r') {
      raw.remove_suffix(1);
    }
    const std::string_view value = trim(strip_comment(raw));
    if (value.empty()) {
      // A blank line inside a value is kept; a comment line is not.
      if (trim(raw).empty() && option_) {
        pending_.push_back("");
      }
      return;
    }
    const size_t indent = indent_of(raw);
    if (section_ && option_ && indent > indent_) {
      continue_value(value);
      return;
    }
    indent_ = indent;
    if (value.front() == '[' && value.back() == ']' && value.size() > 2) {
      open_section(number, value.substr(1, value.size() - 2));
      return;
    }
    if (!section_) {
      error(number, "a value before the first [section]", value);
      return;
    }
    set_value(number, value);
  }

  IniFile finish() {
    flush_value();
    return std::move(file_);
  }

 private:
  void open_section(int number, std::string_view name) {
    flush_value();
    option_.reset();
    auto same = std::find_if(
        file_.sections.begin(), file_.sections.end(),
        [&](const IniSection& section) { return section.name == name; });
    if (same != file_.sections.end()) {
      section_ = static_cast<size_t>(same - file_.sections.begin());
      return;
    }
    file_.sections.push_back(IniSection{std::string(name), {}, number});
    section_ = file_.sections.size() - 1;
  }

  // "key = value" or "key: value", split at the first "=" or ":".
  void set_value(int number, std::string_view line) {
    flush_value();
    const size_t split = line.find_first_of("=:");
    const std::string_view key =
        split == std::string_view::npos ? "" : trim(line.substr(0, split));
    if (key.empty()) {
      option_.reset();
      error(number, "no key, or no '=' or ':'", line);
      return;
    }
    option_ = lower(key);
    lines_ = {std::string(trim(line.substr(split + 1)))};
  }

  void continue_value(std::string_view value) {
    for (std::string& blank : pending_) {
      lines_.push_back(std::move(blank));
    }
    pending_.clear();
    lines_.emplace_back(value);
  }

  void flush_value() {
    pending_.clear();
    if (!section_ || !option_) {
      return;
    }
    std::string joined;
    for (size_t i = 0; i < lines_.size(); ++i) {
      joined += (i == 0 ? "" : "\n") + lines_[i];
    }
    file_.sections[*section_].values[*option_] = joined;
    lines_.clear();
  }

  void error(int number, const char* what, std::string_view line) {
    file_.errors.push_back("line " + std::to_string(number) + ": " + what +
                           " in '" + std::string(line) + "'");
  }

  IniFile file_;
  std::optional<size_t> section_;
  std::optional<std::string> option_;
  std::vector<std::string> lines_;
  // Blank lines seen since the last line of the value.
  std::vector<std::string> pending_;
  size_t indent_ = 0;
};

}  // namespace

// [program:web]
// command = /usr/sbin/nginx -g 'daemon off;'   ; a comment
IniFile parse_ini(std::string_view text) {
  IniBuilder builder;
  int number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    builder.add_line(++number, text.substr(0, end));
    if (end == std::string_view::npos) {
      break;
    }
    text.remove_prefix(end + 1);
  }
  return builder.finish();
}

Result<std::vector<std::string>> split_command(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (is_space(c)) {
      if (in_word) {
        words.push_back(std::move(word));
      }
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
    } else if (c == '\'' || c == '"') {
      size_t j = i + 1;
      for (; j < line.size() && line[j] != c; ++j) {
        const bool escape = c == '"' && line[j] == '\\' &&
                            j + 1 < line.size() &&
                            (line[j + 1] == '"' || line[j + 1] == '\\');
        if (escape) {
          ++j;
        }
        word += line[j];
      }
      if (j >= line.size()) {
        return Error{"no closing quotation in '" + std::string(line) + "'"};
      }
      i = j;
    } else {
      word += c;
    }
  }
  if (in_word) {
    words.push_back(std::move(word));
  }
  return words;
}

namespace {

// One "%(name)..." conversion starting at value[at]: the name, the flags
// and width, and the conversion ("s" or "d").
struct Conversion {
  std::string name;
  bool zero_pad = false;
  bool left = false;
  size_t width = 0;
  char type = 's';
  // Characters from "%" to the conversion letter, inclusive.
  size_t length = 0;
};

std::optional<Conversion> parse_conversion(std::string_view value, size_t at) {
  const size_t close = value.find(')', at);
  if (value.substr(at, 2) != "%(" || close == std::string_view::npos) {
    return std::nullopt;
  }
  Conversion conversion;
  conversion.name = std::string(value.substr(at + 2, close - at - 2));
  size_t i = close + 1;
  for (; i < value.size() && (value[i] == '0' || value[i] == '-'); ++i) {
    (value[i] == '0' ? conversion.zero_pad : conversion.left) = true;
  }
  for (; i < value.size() && std::isdigit(static_cast<unsigned char>(value[i]));
       ++i) {
    conversion.width = conversion.width * 10 + (value[i] - '0');
  }
  if (i >= value.size() || (value[i] != 's' && value[i] != 'd')) {
    return std::nullopt;
  }
  conversion.type = value[i];
  conversion.length = i + 1 - at;
  return conversion;
}

std::string pad(const Conversion& conversion, std::string text) {
  if (text.size() >= conversion.width) {
    return text;
  }
  const size_t fill = conversion.width - text.size();
  if (conversion.left) {
    return text + std::string(fill, ' ');
  }
  const bool zeros = conversion.zero_pad && conversion.type == 'd';
  if (zeros && text.starts_with('-')) {
    return "-" + std::string(fill, '0') + text.substr(1);
  }
  return std::string(fill, zeros ? '0' : ' ') + text;
}

}  // namespace

// command = %(here)s/worker --id %(process_num)02d
std::string expand_percent(std::string_view value,
                           const std::map<std::string, std::string>& expansions,
                           std::vector<std::string>& unresolved) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value.substr(i, 2) == "%%") {
      out += '%';
      ++i;
      continue;
    }
    auto conversion = value[i] == '%' ? parse_conversion(value, i)
                                      : std::optional<Conversion>();
    if (!conversion) {
      out += value[i];
      continue;
    }
    auto found = expansions.find(conversion->name);
    if (found == expansions.end()) {
      unresolved.push_back(conversion->name);
      out += value.substr(i, conversion->length);
    } else {
      out += pad(*conversion, found->second);
    }
    i += conversion->length - 1;
  }
  return out;
}

bool parse_ini_bool(std::string_view value, bool fallback) {
  const std::string word = lower(trim(value));
  if (word == "true" || word == "yes" || word == "on" || word == "1") {
    return true;
  }
  if (word == "false" || word == "no" || word == "off" || word == "0") {
    return false;
  }
  return fallback;
}

std::string absolute_path(std::string_view directory, std::string_view path) {
  std::string joined = path.starts_with('/')
                           ? std::string(path)
                           : std::string(directory) + "/" + std::string(path);
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= joined.size()) {
    size_t end = joined.find('/', start);
    if (end == std::string::npos) {
      end = joined.size();
    }
    const std::string part = joined.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out;
  for (const std::string& part : parts) {
    out += "/" + part;
  }
  return out.empty() ? "/" : out;
}

std::string parent_directory(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) {
    return "/";
  }
  return std::string(path.substr(0, slash));
}

// A leading "." is matched only by a "." in the pattern, as FNM_PERIOD
// does. The matcher is glob_match(), whose cost stays at pattern length
// times name length for a pattern taken from the target's configuration.
bool glob_component_matches(std::string_view pattern, std::string_view name) {
  if (!name.empty() && name.front() == '.' &&
      (pattern.empty() || pattern.front() != '.')) {
    return false;
  }
  return glob_match(pattern, name);
}

std::string first_line(std::string_view text) {
  return std::string(trim(text.substr(0, text.find('\n'))));
}

}  // namespace entrytrace
