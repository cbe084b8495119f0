// Shell pattern matching (the patterns of case, ${name#pattern} and
// pathname expansion) for the static shell interpreter. A pattern is text
// where "*", "?" and "[...]" are wildcards and a backslash makes the next
// character literal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_source.h"

namespace entrytrace {

// True when pattern matches the whole of text. "*" and "?" match any
// character, "/" included, as in case patterns.
bool glob_match(std::string_view pattern, std::string_view text);

// Escapes "*", "?", "[", "]" and "\" so the text matches only itself.
std::string escape_glob(std::string_view text);

// True when pattern has an unescaped wildcard.
bool has_wildcard(std::string_view pattern);

// Removes the shortest or longest prefix (or suffix) of text that matches
// pattern, as ${name#pattern}, ${name##pattern}, ${name%pattern} and
// ${name%%pattern} do. Returns text unchanged when nothing matches.
std::string remove_prefix(std::string_view text, std::string_view pattern,
                          bool longest);
std::string remove_suffix(std::string_view text, std::string_view pattern,
                          bool longest);

// The most paths one pathname expansion keeps after each component.
inline constexpr size_t kMaxPathnameMatches = 4096;

// Pathname expansion of pattern inside files: each component with a
// wildcard is matched against the sorted directory listing, and names that
// start with "." match only a pattern that starts with ".". A relative
// pattern is taken from cwd and the matches stay relative. Returns the
// matches in order, at most kMaxPathnameMatches, or nothing when no path
// matches.
std::vector<std::string> expand_pathname(std::string_view pattern,
                                         std::string_view cwd,
                                         const FileSource& files);

}  // namespace entrytrace
