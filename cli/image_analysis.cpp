#include "cli/image_analysis.h"

#include <fstream>
#include <sstream>

#include "common/file_source.h"
#include "detectors/static_image.h"
#include "detectors/static_result.h"

namespace entrytrace {
namespace {

constexpr const char* kUnavailable = "Dynamic capture unavailable: ";

Result<std::string> read_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return system_error("cannot open --image-config " + path, errno);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The command the static side resolves: run's own command, or the image's
// command with --entrypoint and the arguments after "--".
Result<CommandOverrides> command_overrides(const Options& options) {
  CommandOverrides overrides;
  if (options.command == Command::kRun) {
    overrides.entrypoint = options.command_argv;
    return overrides;
  }
  if (options.entrypoint) {
    auto entrypoint = parse_entrypoint_override(*options.entrypoint);
    if (!entrypoint) {
      return Error{"invalid --entrypoint: " + entrypoint.error().message};
    }
    overrides.entrypoint = std::move(*entrypoint);
  }
  overrides.args = options.image_args;
  return overrides;
}

}  // namespace

Result<std::optional<EntryTraceResult>> analyze_image_options(
    const Options& options, const Catalogue& catalogue) {
  if (options.image_config.empty()) {
    return std::optional<EntryTraceResult>();
  }
  auto text = read_config_file(options.image_config);
  if (!text) {
    return text.error();
  }
  auto config = parse_image_config(*text);
  if (!config) {
    return Error{options.image_config + ": " + config.error().message};
  }
  auto overrides = command_overrides(options);
  if (!overrides) {
    return overrides.error();
  }

  std::string description = "image " + options.image_config;
  RecordedFiles no_files;
  std::optional<RootDirectory> root;
  if (!options.rootfs.empty()) {
    auto opened = RootDirectory::open(options.rootfs);
    if (!opened) {
      return Error{"cannot open --rootfs: " + opened.error().message};
    }
    root.emplace(std::move(*opened));
    description += ", rootfs " + options.rootfs;
  }
  const FileSource& files =
      root ? static_cast<const FileSource&>(*root) : no_files;
  auto result = analyze_image(*config, *overrides, files, catalogue,
                              StaticOptions{description, options.top_k});
  if (!result) {
    return Error{options.image_config + ": " + result.error().message};
  }
  if (!root) {
    result->evidence.push_back(
        "no --rootfs: commands, #! lines and scripts were not resolved to "
        "files of the image");
  }
  return std::optional<EntryTraceResult>(std::move(*result));
}

std::optional<std::string> capture_unavailable(const Capture& capture) {
  if (capture.backend != "none" || capture.evidence.empty() ||
      !capture.evidence.front().starts_with(kUnavailable)) {
    return std::nullopt;
  }
  return capture.evidence.front().substr(std::string(kUnavailable).size());
}

EntryTraceResult combine_with_image(
    EntryTraceResult live, const Capture& capture,
    const std::optional<EntryTraceResult>& image, const Catalogue& catalogue) {
  if (!image) {
    return live;
  }
  if (auto reason = capture_unavailable(capture)) {
    return fall_back_to_static(*image, *reason);
  }
  return merge_static(std::move(live), *image, catalogue);
}

}  // namespace entrytrace
