// Logging: spdlog's default logger, writing to stderr only, because stdout
// carries the result.
//
// Levels:
//   error  the run cannot produce a result (bad option, target not found).
//   warn   the result is degraded (a backend failed, fields unreadable).
//   info   one line per stage: target, window, backend, summary counts.
//   debug  expected misses: a pid that vanished between two reads, EACCES
//          on one file. These are also counted into the result's
//          diagnostics, so nothing is lost at the default level.
//   trace  every observation as it is emitted.
#pragma once

#include <spdlog/spdlog.h>

namespace entrytrace {

// Points spdlog's default logger at stderr with the given level name
// ("warn", "info", "debug", "trace"). Returns false for an unknown name.
bool configure_logging(const std::string& level);

}  // namespace entrytrace
