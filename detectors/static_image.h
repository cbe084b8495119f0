// The inputs of static mode: an image's config (Entrypoint, Cmd, Env, User,
// WorkingDir), the command a container runtime builds from it, and the
// users of the image's /etc/passwd.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_source.h"
#include "common/result.h"

namespace entrytrace {

// The PATH that Docker and containerd set for a container whose image sets
// none.
inline constexpr const char* kDefaultContainerPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct ImageConfig {
  // Unset when the config has none (absent or null).
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  // "name", "uid", "name:group" or "uid:gid"; empty for root.
  std::string user;
  // "NAME=VALUE" entries in config order.
  std::vector<std::string> env;
  std::string working_dir;
};

// Parses an image config in one of three layouts:
//   {"config": {"Entrypoint": [...], "Cmd": [...], ...}}   OCI image config
//   {"Config": {...}}                docker image inspect / container inspect
//   [{"Config": {...}}]              the same as docker inspect prints it
// Returns an Error naming the JSON offset or the member that has the wrong
// type.
Result<ImageConfig> parse_image_config(std::string_view json);

// The changes of the run command, as "docker run --entrypoint E IMAGE ARGS".
struct CommandOverrides {
  // Set, possibly to an empty list, when the entrypoint is overridden.
  std::optional<std::vector<std::string>> entrypoint;
  // The run arguments; empty means "use the image's Cmd".
  std::vector<std::string> args;
};

struct MergedCommand {
  std::vector<std::string> argv;
  // A sentence for the evidence on how argv was built.
  std::string explanation;
};

// Builds the container's argv as Docker, containerd and Podman do: the
// entrypoint (the override, else the image's) followed by the run
// arguments, else by the image's Cmd. An overridden entrypoint drops the
// image's Cmd. Returns an Error when the result is empty, because a runtime
// then refuses to start the container.
Result<MergedCommand> merge_command(const ImageConfig& config,
                                    const CommandOverrides& overrides);

// Parses a --entrypoint value: a JSON array of strings, "" for an empty
// entrypoint, or any other text as one executable name.
Result<std::vector<std::string>> parse_entrypoint_override(
    std::string_view text);

// The environment of the container's first process: the image's Env, with
// PATH set to kDefaultContainerPath when missing and HOME to the user's
// home directory (or "/") when missing.
std::map<std::string, std::string> container_environment(
    const ImageConfig& config, const std::string& home);

struct UserEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
};

// Parses /etc/passwd text. Malformed lines are skipped.
//   redis:x:999:999::/home/redis:/usr/sbin/nologin
std::vector<UserEntry> parse_passwd_entries(std::string_view text);

// A user as a runtime or a user-switch tool resolves it.
struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  // From /etc/passwd; unset when uid has no entry.
  std::optional<std::string> name;
  std::string home = "/";
};

// Resolves "name", "uid", "name:group" or "uid:gid" against the users of
// the image. A numeric uid needs no entry; a name does, so an unknown name
// is an Error naming it, as the runtime's own error would.
Result<ResolvedUser> resolve_user(std::string_view spec,
                                  const std::vector<UserEntry>& users);

// Reads and parses /etc/passwd through files. Returns no users when the
// file cannot be read.
std::vector<UserEntry> read_users(const FileSource& files);

}  // namespace entrytrace
