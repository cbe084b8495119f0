// The JSON form of an EntryTraceResult.
#pragma once

#include <string>

#include "detectors/entrytrace_result.h"

namespace entrytrace {

// Serialises a result as pretty-printed JSON (2-space indent, trailing
// newline). Keys are written in a fixed order and numbers with fixed
// rounding (milliseconds, confidence and score to 3 decimals), so the same
// result always gives the same bytes. Strings that are not valid UTF-8
// have the invalid bytes replaced by U+FFFD.
std::string result_to_json(const EntryTraceResult& result);

}  // namespace entrytrace
