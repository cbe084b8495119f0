// From a Capture to an EntryTraceResult: build the exec graph, score it,
// collapse wrappers, classify runtimes and attach evidence.
#pragma once

#include "catalogue/catalogue.h"
#include "common/observation.h"
#include "detectors/entrytrace_result.h"

namespace entrytrace {

struct AnalyzeOptions {
  // Number of terminal candidates to report, best first.
  int top_k = 3;
};

// Deterministic: the same capture and catalogue give the same result.
EntryTraceResult analyze(const Capture& capture, const Catalogue& catalogue,
                         const AnalyzeOptions& options);

}  // namespace entrytrace
