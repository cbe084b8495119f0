// Small helpers for the sentences of evidence and diagnostics.
#pragma once

#include <cstddef>
#include <string>

namespace entrytrace {

// "1 process", "3 processes".
inline std::string count_phrase(size_t count, const char* singular,
                                const char* plural) {
  return std::to_string(count) + " " + (count == 1 ? singular : plural);
}

}  // namespace entrytrace
