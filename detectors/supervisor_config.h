// Parsers for supervisor configurations: supervisord's INI syntax, its
// command lines and "%(name)s" expansions, and the paths they name. Each
// takes text and reads no file, so it is tested without a target.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace entrytrace {

// One section of an INI file as supervisord reads it.
struct IniSection {
  std::string name;
  // Keys in lower case. A value continued on indented lines keeps them,
  // joined with "\n".
  std::map<std::string, std::string> values;
  // Line of the first "[name]" header, counted from 1.
  int line = 0;
};

struct IniFile {
  // In order of first appearance. A section repeated in the same text is
  // merged into the first, and a repeated key keeps the last value.
  std::vector<IniSection> sections;
  // "line 7: no '=' or ':' in 'command /bin/app'", one per line skipped.
  std::vector<std::string> errors;
};

// Parses INI text the way supervisord 4 does (Python's RawConfigParser with
// ";" and "#" as comment and inline comment prefixes, non-strict): a line
// starting with ";" or "#" is a comment, and so is the rest of a line
// after " ;" or " #"; "key = value" and "key: value" set a value; an
// indented line continues the previous value. Lines it cannot read are
// listed in errors and skipped, where supervisord would refuse to start.
IniFile parse_ini(std::string_view text);

// Splits a command line into words as Python's shlex.split does, which is
// how supervisord splits `command=`: whitespace separates words, single
// quotes keep everything, double quotes keep everything but "\"" and "\\",
// and a backslash outside quotes keeps the next character. Returns an
// Error naming an unterminated quote.
Result<std::vector<std::string>> split_command(std::string_view line);

// Replaces "%(name)s" and "%(name)d" with expansions[name] and "%%" with
// "%", as supervisord expands option values with Python's "%" operator.
// The "0" and "-" flags and a width are applied ("%(process_num)02d" gives
// "03"). A name missing from expansions (an ENV_ variable of the
// supervisord process, host_node_name) is left as written and appended to
// `unresolved`.
std::string expand_percent(std::string_view value,
                           const std::map<std::string, std::string>& expansions,
                           std::vector<std::string>& unresolved);

// Parses a supervisord boolean: true, yes, on, 1 or false, no, off, 0 in
// any case. Returns `fallback` for anything else.
bool parse_ini_bool(std::string_view value, bool fallback);

// Makes path absolute against `directory` and removes "." and ".."
// components and repeated slashes, lexically: "/a/b/../c" is "/a/c".
std::string absolute_path(std::string_view directory, std::string_view path);

// The directory part of an absolute path: "/etc" for "/etc/app.conf", "/"
// for "/app.conf".
std::string parent_directory(std::string_view path);

// Whether a file name matches one glob component ("*.conf"), as Python's
// glob matches it: a leading "." must be matched literally.
bool glob_component_matches(std::string_view pattern, std::string_view name);

// The first line of a text without its line end, trimmed of spaces.
std::string first_line(std::string_view text);

}  // namespace entrytrace
