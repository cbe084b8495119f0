// Recording and replay of a Capture as JSON, so that every stage after
// capture can run on a file with no live process.
#pragma once

#include <string>
#include <string_view>

#include "common/observation.h"
#include "common/result.h"

namespace entrytrace {

// Serialises a capture. The same Capture always gives the same bytes.
std::string capture_to_json(const Capture& capture);

// Parses what capture_to_json wrote. Returns an Error naming the first
// missing or mistyped member.
Result<Capture> capture_from_json(std::string_view text);

}  // namespace entrytrace
