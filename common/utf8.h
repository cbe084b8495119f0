// JSON output must be valid UTF-8, but argv, comm and paths are arbitrary
// bytes.
#pragma once

#include <string>
#include <string_view>

namespace entrytrace {

// Returns text with every byte that is not part of a well-formed UTF-8
// sequence replaced by U+FFFD. Valid input is returned unchanged.
// NOTE: the replacement is lossy; a recorded capture of a process whose argv
// is not UTF-8 replays with U+FFFD in place of the invalid bytes.
std::string valid_utf8(std::string_view text);

}  // namespace entrytrace
