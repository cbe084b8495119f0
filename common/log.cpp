#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <memory>

namespace entrytrace {

bool configure_logging(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  // from_str returns off for any name it does not know.
  if (parsed == spdlog::level::off && level != "off") {
    return false;
  }

  auto logger = spdlog::stderr_color_st("entrytrace");
  spdlog::drop("entrytrace");
  logger->set_pattern("entrytrace: %l: %v");
  logger->set_level(parsed);
  spdlog::set_default_logger(std::move(logger));
  return true;
}

}  // namespace entrytrace
