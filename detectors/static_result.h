// Static mode as an EntryTraceResult: analysis of an image alone, the
// fallback used when live capture fails, and the merge of a live result
// with the static one.
#pragma once

#include <string>
#include <vector>

#include "catalogue/catalogue.h"
#include "common/file_source.h"
#include "common/result.h"
#include "detectors/entrytrace_result.h"
#include "detectors/static_image.h"

namespace entrytrace {

struct StaticOptions {
  // The name of what was analysed, e.g. "image config.json, rootfs
  // ./rootfs".
  std::string description;
  // Number of terminal candidates to report, best first.
  int top_k = 3;
};

// Resolves what a container of the image would run and reports it with
// mode "static". Every file is read through files. Returns an Error only
// when the config and overrides give no command at all. Deterministic:
// the same inputs give the same result.
Result<EntryTraceResult> analyze_image(const ImageConfig& config,
                                       const CommandOverrides& overrides,
                                       const FileSource& files,
                                       const Catalogue& catalogue,
                                       const StaticOptions& options);

// A runtime loaded into a program as a library.
struct EmbeddedRuntime {
  std::string runtime;
  // The configuration file that loads it and the library it names.
  std::string config_file;
  std::string library;
};

// Applies the catalogue's embedded-runtime rules for the program at path:
// each rule's configuration directory is listed and read through files.
std::vector<EmbeddedRuntime> find_embedded_runtimes(
    const std::string& path, const std::vector<std::string>& argv,
    const FileSource& files, const Catalogue& catalogue);

// The static result standing in for a live capture that failed: its first
// evidence sentence is "Dynamic capture unavailable: <reason>".
EntryTraceResult fall_back_to_static(EntryTraceResult static_result,
                                     const std::string& reason);

// Merges a live result with the static result of its image (mode
// "merged"). When the top terminals are the same executable, the live
// confidence rises to 1 - (1 - live) * (1 - static). When the live
// terminal is a supervisor, or the static one is a supervisor above the
// live terminal, the terminal is marked and its confidence kept. Otherwise
// the live confidence is multiplied by 1 - static / 2. A static terminal
// that was not resolved to a file changes nothing. Each case adds evidence
// naming what both found.
EntryTraceResult merge_static(EntryTraceResult dynamic,
                              const EntryTraceResult& static_result,
                              const Catalogue& catalogue);

}  // namespace entrytrace
