// Static analysis in the entrytrace executable: the static command, and
// the image options of run and observe, which add a static result to fall
// back on or to merge with the live one.
#pragma once

#include <optional>

#include "catalogue/catalogue.h"
#include "cli/options.h"
#include "common/observation.h"
#include "common/result.h"
#include "detectors/entrytrace_result.h"

namespace entrytrace {

// Reads --image-config, opens --rootfs and resolves the image statically.
// Returns nullopt when no image was given, and an Error naming the file or
// option when the image cannot be read or gives no command to run.
Result<std::optional<EntryTraceResult>> analyze_image_options(
    const Options& options, const Catalogue& catalogue);

// The result to print for a live capture: the live result alone, the
// static one when the capture failed (its evidence says why), or the two
// merged.
EntryTraceResult combine_with_image(
    EntryTraceResult live, const Capture& capture,
    const std::optional<EntryTraceResult>& image, const Catalogue& catalogue);

// The reason in the capture's "Dynamic capture unavailable: <reason>"
// evidence when no backend ran, else nullopt.
std::optional<std::string> capture_unavailable(const Capture& capture);

}  // namespace entrytrace
