#include "detectors/static_image.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cctype>

namespace entrytrace {
namespace {

constexpr size_t kMaxPasswdBytes = 1 << 20;

using JsonValue = rapidjson::Value;

// Quotes a list for messages: ["redis-server", "--port", "6379"].
std::string quoted_list(const std::vector<std::string>& words) {
  std::string text = "[";
  for (size_t i = 0; i < words.size(); ++i) {
    text += (i ? ", \"" : "\"") + words[i] + "\"";
  }
  return text + "]";
}

Result<std::optional<std::vector<std::string>>> string_list(
    const JsonValue& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) {
    return std::optional<std::vector<std::string>>();
  }
  if (!it->value.IsArray()) {
    return Error{std::string(name) + " must be an array of strings or null"};
  }
  std::vector<std::string> list;
  for (const auto& item : it->value.GetArray()) {
    if (!item.IsString()) {
      return Error{std::string(name) + " must be an array of strings or null"};
    }
    list.emplace_back(item.GetString(), item.GetStringLength());
  }
  return std::optional<std::vector<std::string>>(std::move(list));
}

Result<std::string> string_member(const JsonValue& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) {
    return std::string();
  }
  if (!it->value.IsString()) {
    return Error{std::string(name) + " must be a string"};
  }
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// The object that contains Entrypoint and Cmd, in any of the three layouts.
const JsonValue* find_config_object(const JsonValue& root) {
  const JsonValue* top = &root;
  if (top->IsArray()) {
    if (top->Size() != 1) {
      return nullptr;
    }
    top = &(*top)[0];
  }
  if (!top->IsObject()) {
    return nullptr;
  }
  for (const char* name : {"config", "Config"}) {
    auto it = top->FindMember(name);
    if (it != top->MemberEnd() && it->value.IsObject()) {
      return &it->value;
    }
  }
  return nullptr;
}

std::optional<uint32_t> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 10 ||
      !std::all_of(text.begin(), text.end(),
                   [](char c) { return std::isdigit(c) != 0; })) {
    return std::nullopt;
  }
  const unsigned long long value = std::stoull(std::string(text));
  if (value > UINT32_MAX) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(value);
}

}  // namespace

Result<ImageConfig> parse_image_config(std::string_view json) {
  rapidjson::Document document;
  document.Parse(json.data(), json.size());
  if (document.HasParseError()) {
    return Error{"invalid JSON at offset " +
                 std::to_string(document.GetErrorOffset()) + ": " +
                 rapidjson::GetParseError_En(document.GetParseError())};
  }
  const JsonValue* config = find_config_object(document);
  if (config == nullptr) {
    return Error{
        "no \"config\" or \"Config\" object: expected an OCI image "
        "config or the output of 'docker inspect' for one image or "
        "container"};
  }

  ImageConfig image;
  auto entrypoint = string_list(*config, "Entrypoint");
  auto cmd = string_list(*config, "Cmd");
  auto env = string_list(*config, "Env");
  auto user = string_member(*config, "User");
  auto working_dir = string_member(*config, "WorkingDir");
  for (const Error* error :
       {entrypoint ? nullptr : &entrypoint.error(),
        cmd ? nullptr : &cmd.error(), env ? nullptr : &env.error(),
        user ? nullptr : &user.error(),
        working_dir ? nullptr : &working_dir.error()}) {
    if (error != nullptr) {
      return Error{"config: " + error->message};
    }
  }

  image.entrypoint = *entrypoint;
  image.cmd = *cmd;
  image.env = env->value_or(std::vector<std::string>{});
  image.user = *user;
  image.working_dir = *working_dir;
  return image;
}

Result<MergedCommand> merge_command(const ImageConfig& config,
                                    const CommandOverrides& overrides) {
  MergedCommand merged;
  const std::vector<std::string> no_words;
  const auto& image_entrypoint = config.entrypoint.value_or(no_words);
  const auto& image_cmd = config.cmd.value_or(no_words);
  std::string explanation;
  if (overrides.entrypoint) {
    merged.argv = *overrides.entrypoint;
    merged.argv.insert(merged.argv.end(), overrides.args.begin(),
                       overrides.args.end());
    explanation = "entrypoint overridden with " +
                  quoted_list(*overrides.entrypoint) +
                  ", so the image's Cmd is dropped; run arguments " +
                  quoted_list(overrides.args);
  } else if (!overrides.args.empty()) {
    merged.argv = image_entrypoint;
    merged.argv.insert(merged.argv.end(), overrides.args.begin(),
                       overrides.args.end());
    explanation = "image Entrypoint " + quoted_list(image_entrypoint) +
                  " with run arguments " + quoted_list(overrides.args) +
                  " in place of the image's Cmd " + quoted_list(image_cmd);
  } else {
    merged.argv = image_entrypoint;
    merged.argv.insert(merged.argv.end(), image_cmd.begin(), image_cmd.end());
    explanation = "image Entrypoint " + quoted_list(image_entrypoint) +
                  " and Cmd " + quoted_list(image_cmd);
  }
  if (merged.argv.empty()) {
    return Error{"no command to run: " + explanation +
                 " give nothing to run; pass --entrypoint or arguments after "
                 "'--'"};
  }
  merged.explanation = explanation + " give " + quoted_list(merged.argv);
  return merged;
}

Result<std::vector<std::string>> parse_entrypoint_override(
    std::string_view text) {
  if (text.empty()) {
    return std::vector<std::string>{};
  }
  if (text.front() != '[') {
    return std::vector<std::string>{std::string(text)};
  }
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  if (document.HasParseError() || !document.IsArray()) {
    return Error{"'" + std::string(text) +
                 "' is not a JSON array of strings; write it as "
                 "'[\"/bin/sh\", \"-c\"]', or give one executable name"};
  }
  std::vector<std::string> words;
  for (const auto& item : document.GetArray()) {
    if (!item.IsString()) {
      return Error{"'" + std::string(text) +
                   "' has an element that is not a string"};
    }
    words.emplace_back(item.GetString(), item.GetStringLength());
  }
  return words;
}

std::map<std::string, std::string> container_environment(
    const ImageConfig& config, const std::string& home) {
  std::map<std::string, std::string> environment;
  for (const std::string& entry : config.env) {
    const size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) {
      continue;
    }
    environment[entry.substr(0, equals)] = entry.substr(equals + 1);
  }
  environment.emplace("PATH", kDefaultContainerPath);
  environment.emplace("HOME", home.empty() ? "/" : home);
  return environment;
}

std::vector<UserEntry> parse_passwd_entries(std::string_view text) {
  std::vector<UserEntry> users;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    std::vector<std::string_view> fields;
    size_t field_start = 0;
    while (field_start <= line.size()) {
      size_t colon = line.find(':', field_start);
      if (colon == std::string_view::npos) {
        colon = line.size();
      }
      fields.push_back(line.substr(field_start, colon - field_start));
      field_start = colon + 1;
    }
    if (fields.size() < 7 || fields[0].empty()) {
      continue;
    }
    auto uid = parse_id(fields[2]);
    auto gid = parse_id(fields[3]);
    if (!uid || !gid) {
      continue;
    }
    users.push_back(
        UserEntry{std::string(fields[0]), *uid, *gid, std::string(fields[5])});
  }
  return users;
}

Result<ResolvedUser> resolve_user(std::string_view spec,
                                  const std::vector<UserEntry>& users) {
  ResolvedUser resolved;
  const size_t colon = spec.find(':');
  const std::string_view user = spec.substr(0, colon);
  const std::string_view group =
      colon == std::string_view::npos ? "" : spec.substr(colon + 1);
  const UserEntry* entry = nullptr;
  // No user means root.
  if (auto uid = parse_id(user.empty() ? "0" : user)) {
    resolved.uid = *uid;
    for (const UserEntry& candidate : users) {
      if (candidate.uid == *uid) {
        entry = &candidate;
        break;
      }
    }
  } else {
    for (const UserEntry& candidate : users) {
      if (candidate.name == user) {
        entry = &candidate;
        break;
      }
    }
    if (entry == nullptr) {
      return Error{"user '" + std::string(user) +
                   "' not found in the image's /etc/passwd"};
    }
    resolved.uid = entry->uid;
  }
  if (entry != nullptr) {
    resolved.name = entry->name;
    resolved.gid = entry->gid;
    resolved.home = entry->home.empty() ? "/" : entry->home;
  }
  if (auto gid = parse_id(group)) {
    resolved.gid = *gid;
  }
  return resolved;
}

std::vector<UserEntry> read_users(const FileSource& files) {
  auto text = files.read("/etc/passwd", kMaxPasswdBytes);
  if (!text) {
    return {};
  }
  return parse_passwd_entries(*text);
}

}  // namespace entrytrace
