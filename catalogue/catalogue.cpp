#include "catalogue/catalogue.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <re2/re2.h>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace entrytrace {

const char* wrapper_kind_name(WrapperKind kind) {
  switch (kind) {
    case WrapperKind::kInit:
      return "init";
    case WrapperKind::kUserSwitch:
      return "user-switch";
    case WrapperKind::kShell:
      return "shell";
    case WrapperKind::kUtility:
      return "utility";
  }
  return "utility";
}

const char* wrapper_mode_name(WrapperMode mode) {
  return mode == WrapperMode::kExec ? "exec" : "resident";
}

const char* supervisor_format_name(SupervisorFormat format) {
  switch (format) {
    case SupervisorFormat::kSupervisordIni:
      return "supervisord-ini";
    case SupervisorFormat::kRunitScan:
      return "runit-scan";
    case SupervisorFormat::kRunitService:
      return "runit-service";
  }
  return "supervisord-ini";
}

namespace {

using JsonValue = rapidjson::Value;

// Parsing context: the source name and the path of the value being read,
// so that every error names where it is ("my.json: wrappers[2].exe: ...").
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Error error(const std::string& where, const std::string& what) const {
    return Error{source_ + ": " + where + ": " + what};
  }

  // Rejects members not in `known`, so that a misspelt key is an error
  // instead of a silently ignored setting.
  std::optional<Error> check_members(const JsonValue& object,
                                     const std::string& where,
                                     std::set<std::string> known) const {
    for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
      const std::string name = it->name.GetString();
      if (!known.count(name)) {
        return error(where, "unknown member \"" + name + "\"");
      }
    }
    return std::nullopt;
  }

  Result<std::string> string_member(const JsonValue& object,
                                    const std::string& where,
                                    const char* name) const {
    auto it = object.FindMember(name);
    if (it == object.MemberEnd() || !it->value.IsString()) {
      return error(where,
                   std::string("missing string member \"") + name + "\"");
    }
    return std::string(it->value.GetString(), it->value.GetStringLength());
  }

  Result<std::vector<std::string>> string_array(const JsonValue& object,
                                                const std::string& where,
                                                const char* name) const {
    std::vector<std::string> out;
    auto it = object.FindMember(name);
    if (it == object.MemberEnd()) {
      return out;
    }
    if (!it->value.IsArray()) {
      return error(where,
                   std::string("\"") + name + "\" must be an array of strings");
    }
    for (const auto& item : it->value.GetArray()) {
      if (!item.IsString()) {
        return error(
            where, std::string("\"") + name + "\" must be an array of strings");
      }
      out.emplace_back(item.GetString(), item.GetStringLength());
    }
    return out;
  }

  Result<std::shared_ptr<const re2::RE2>> pattern(
      const std::string& where, const std::string& text) const {
    re2::RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<const re2::RE2>(text, options);
    if (!re->ok()) {
      return error(where,
                   "invalid re2 pattern \"" + text + "\": " + re->error());
    }
    return std::shared_ptr<const re2::RE2>(re);
  }

 private:
  std::string source_;
};

std::string entry_where(const char* section, size_t index,
                        const JsonValue& entry) {
  std::string where = std::string(section) + "[" + std::to_string(index) + "]";
  auto it = entry.FindMember("name");
  if (it != entry.MemberEnd() && it->value.IsString()) {
    where += " (" + std::string(it->value.GetString()) + ")";
  }
  return where;
}

Result<WrapperKind> parse_kind(const Reader& reader, const std::string& where,
                               const std::string& text) {
  if (text == "init") {
    return WrapperKind::kInit;
  }
  if (text == "user-switch") {
    return WrapperKind::kUserSwitch;
  }
  if (text == "shell") {
    return WrapperKind::kShell;
  }
  if (text == "utility") {
    return WrapperKind::kUtility;
  }
  return reader.error(where, "invalid kind \"" + text +
                                 "\" (expected init, user-switch, shell or "
                                 "utility)");
}

Result<WrapperMode> parse_mode(const Reader& reader, const std::string& where,
                               const std::string& text) {
  if (text == "exec") {
    return WrapperMode::kExec;
  }
  if (text == "resident") {
    return WrapperMode::kResident;
  }
  return reader.error(
      where, "invalid mode \"" + text + "\" (expected exec or resident)");
}

Result<bool> bool_member(const Reader& reader, const JsonValue& object,
                         const std::string& where, const char* name,
                         bool fallback) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd()) {
    return fallback;
  }
  if (!it->value.IsBool()) {
    return reader.error(where,
                        std::string("\"") + name + "\" must be true or false");
  }
  return it->value.GetBool();
}

Result<CommandSyntax> parse_syntax(const Reader& reader, const JsonValue& entry,
                                   const std::string& where) {
  CommandSyntax syntax;
  auto it = entry.FindMember("command");
  if (it == entry.MemberEnd()) {
    return syntax;
  }
  const JsonValue& command = it->value;
  const std::string here = where + ".command";
  if (!command.IsObject()) {
    return reader.error(here, "must be an object");
  }
  if (auto bad = reader.check_members(
          command, here,
          {"options", "optionsWithValue", "scriptOptions", "positionals",
           "assignments", "permute", "shell", "execsLastCommand", "userOptions",
           "userPositional"})) {
    return *bad;
  }

  auto options = bool_member(reader, command, here, "options", true);
  auto assignments = bool_member(reader, command, here, "assignments", false);
  auto permute = bool_member(reader, command, here, "permute", false);
  auto shell = bool_member(reader, command, here, "shell", false);
  auto execs_last =
      bool_member(reader, command, here, "execsLastCommand", false);
  for (const auto* flag :
       {&options, &assignments, &permute, &shell, &execs_last}) {
    if (!*flag) {
      return flag->error();
    }
  }
  syntax.options = *options;
  syntax.assignments = *assignments;
  syntax.permute = *permute;
  syntax.shell = *shell;
  syntax.execs_last_command = *execs_last;

  auto with_value = reader.string_array(command, here, "optionsWithValue");
  if (!with_value) {
    return with_value.error();
  }
  syntax.options_with_value = *with_value;
  auto script = reader.string_array(command, here, "scriptOptions");
  if (!script) {
    return script.error();
  }
  syntax.script_options = *script;
  auto user_options = reader.string_array(command, here, "userOptions");
  if (!user_options) {
    return user_options.error();
  }
  syntax.user_options = *user_options;

  for (auto [name, field] :
       {std::pair{"positionals", &syntax.positionals},
        std::pair{"userPositional", &syntax.user_positional}}) {
    auto count = command.FindMember(name);
    if (count == command.MemberEnd()) {
      continue;
    }
    if (!count->value.IsInt() || count->value.GetInt() < 0) {
      return reader.error(here,
                          std::string("\"") + name + "\" must be a count >= 0");
    }
    *field = count->value.GetInt();
  }
  return syntax;
}

// Compiles the "exe" pattern and the optional "argv" patterns of an entry.
Status compile_patterns(const Reader& reader, const JsonValue& entry,
                        const std::string& where, std::string& exe_text,
                        std::shared_ptr<const re2::RE2>& exe,
                        std::vector<std::string>* argv_text,
                        std::vector<std::shared_ptr<const re2::RE2>>* argv) {
  auto text = reader.string_member(entry, where, "exe");
  if (!text) {
    return text.error();
  }
  auto compiled = reader.pattern(where + ".exe", *text);
  if (!compiled) {
    return compiled.error();
  }
  exe_text = *text;
  exe = *compiled;

  if (argv_text == nullptr) {
    return Ok{};
  }
  auto patterns = reader.string_array(entry, where, "argv");
  if (!patterns) {
    return patterns.error();
  }
  for (size_t i = 0; i < patterns->size(); ++i) {
    auto re = reader.pattern(where + ".argv[" + std::to_string(i) + "]",
                             (*patterns)[i]);
    if (!re) {
      return re.error();
    }
    argv->push_back(*re);
  }
  *argv_text = *patterns;
  return Ok{};
}

Result<WrapperEntry> parse_wrapper(const Reader& reader, const JsonValue& entry,
                                   const std::string& where) {
  if (!entry.IsObject()) {
    return reader.error(where, "must be an object");
  }
  if (auto bad = reader.check_members(
          entry, where, {"name", "kind", "mode", "exe", "argv", "command"})) {
    return *bad;
  }
  WrapperEntry wrapper;
  auto name = reader.string_member(entry, where, "name");
  if (!name) {
    return name.error();
  }
  wrapper.name = *name;

  auto kind_text = reader.string_member(entry, where, "kind");
  if (!kind_text) {
    return kind_text.error();
  }
  auto kind = parse_kind(reader, where, *kind_text);
  if (!kind) {
    return kind.error();
  }
  wrapper.kind = *kind;

  auto mode_text = reader.string_member(entry, where, "mode");
  if (!mode_text) {
    return mode_text.error();
  }
  auto mode = parse_mode(reader, where, *mode_text);
  if (!mode) {
    return mode.error();
  }
  wrapper.mode = *mode;

  Status patterns =
      compile_patterns(reader, entry, where, wrapper.exe_pattern, wrapper.exe,
                       &wrapper.argv_patterns, &wrapper.argv);
  if (!patterns) {
    return patterns.error();
  }

  auto syntax = parse_syntax(reader, entry, where);
  if (!syntax) {
    return syntax.error();
  }
  wrapper.syntax = *syntax;
  return wrapper;
}

Result<SupervisorFormat> parse_format(const Reader& reader,
                                      const std::string& where,
                                      const std::string& text) {
  for (SupervisorFormat format :
       {SupervisorFormat::kSupervisordIni, SupervisorFormat::kRunitScan,
        SupervisorFormat::kRunitService}) {
    if (text == supervisor_format_name(format)) {
      return format;
    }
  }
  return reader.error(where, "invalid format \"" + text +
                                 "\" (expected supervisord-ini, runit-scan "
                                 "or runit-service)");
}

// Reads the optional string members of an object into fields; a member
// that is absent leaves its field as it is.
Status optional_strings(
    const Reader& reader, const JsonValue& object, const std::string& where,
    std::initializer_list<std::pair<const char*, std::string*>> fields) {
  for (auto [name, field] : fields) {
    if (!object.HasMember(name)) {
      continue;
    }
    auto value = reader.string_member(object, where, name);
    if (!value) {
      return value.error();
    }
    *field = *value;
  }
  return Ok{};
}

Result<ServiceLayout> parse_layout(const Reader& reader,
                                   const JsonValue& config,
                                   const std::string& where) {
  ServiceLayout layout;
  auto it = config.FindMember("layout");
  if (it == config.MemberEnd()) {
    return layout;
  }
  const std::string here = where + ".layout";
  if (!it->value.IsObject()) {
    return reader.error(here, "must be an object");
  }
  if (auto bad = reader.check_members(
          it->value, here,
          {"run", "down", "state", "pid", "log", "hiddenPrefix"})) {
    return *bad;
  }
  Status status = optional_strings(reader, it->value, here,
                                   {{"run", &layout.run},
                                    {"down", &layout.down},
                                    {"state", &layout.state},
                                    {"pid", &layout.pid},
                                    {"log", &layout.log},
                                    {"hiddenPrefix", &layout.hidden_prefix}});
  if (!status) {
    return status.error();
  }
  return layout;
}

Result<std::optional<SupervisorConfigSyntax>> parse_supervisor_config(
    const Reader& reader, const JsonValue& entry, const std::string& where) {
  auto it = entry.FindMember("config");
  if (it == entry.MemberEnd()) {
    return std::optional<SupervisorConfigSyntax>();
  }
  const JsonValue& config = it->value;
  const std::string here = where + ".config";
  if (!config.IsObject()) {
    return reader.error(here, "must be an object");
  }
  if (auto bad = reader.check_members(
          config, here,
          {"format", "pathOptions", "pathOperand", "searchPaths",
           "includeSection", "includeKey", "serviceSections", "layout"})) {
    return *bad;
  }
  SupervisorConfigSyntax syntax;
  auto format_text = reader.string_member(config, here, "format");
  if (!format_text) {
    return format_text.error();
  }
  auto format = parse_format(reader, here, *format_text);
  if (!format) {
    return format.error();
  }
  syntax.format = *format;

  auto operand = bool_member(reader, config, here, "pathOperand", false);
  if (!operand) {
    return operand.error();
  }
  syntax.path_operand = *operand;
  for (auto [name, field] :
       {std::pair{"pathOptions", &syntax.path_options},
        std::pair{"searchPaths", &syntax.search_paths},
        std::pair{"serviceSections", &syntax.service_sections}}) {
    auto values = reader.string_array(config, here, name);
    if (!values) {
      return values.error();
    }
    *field = *values;
  }
  Status names = optional_strings(reader, config, here,
                                  {{"includeSection", &syntax.include_section},
                                   {"includeKey", &syntax.include_key}});
  if (!names) {
    return names.error();
  }
  auto layout = parse_layout(reader, config, here);
  if (!layout) {
    return layout.error();
  }
  syntax.layout = *layout;
  return std::optional<SupervisorConfigSyntax>(syntax);
}

Result<SupervisorEntry> parse_supervisor(const Reader& reader,
                                         const JsonValue& entry,
                                         const std::string& where) {
  if (!entry.IsObject()) {
    return reader.error(where, "must be an object");
  }
  if (auto bad = reader.check_members(entry, where,
                                      {"name", "exe", "argv", "config"})) {
    return *bad;
  }
  SupervisorEntry supervisor;
  auto name = reader.string_member(entry, where, "name");
  if (!name) {
    return name.error();
  }
  supervisor.name = *name;
  Status patterns = compile_patterns(
      reader, entry, where, supervisor.exe_pattern, supervisor.exe,
      &supervisor.argv_patterns, &supervisor.argv);
  if (!patterns) {
    return patterns.error();
  }
  auto config = parse_supervisor_config(reader, entry, where);
  if (!config) {
    return config.error();
  }
  supervisor.config = *config;
  return supervisor;
}

Result<DaemonEntry> parse_daemon(const Reader& reader, const JsonValue& entry,
                                 const std::string& where) {
  if (!entry.IsObject()) {
    return reader.error(where, "must be an object");
  }
  if (auto bad = reader.check_members(entry, where, {"name", "exe"})) {
    return *bad;
  }
  DaemonEntry daemon;
  auto name = reader.string_member(entry, where, "name");
  if (!name) {
    return name.error();
  }
  daemon.name = *name;
  Status patterns = compile_patterns(reader, entry, where, daemon.exe_pattern,
                                     daemon.exe, nullptr, nullptr);
  if (!patterns) {
    return patterns.error();
  }
  return daemon;
}

Result<RuntimeEntry> parse_runtime(const Reader& reader, const JsonValue& entry,
                                   const std::string& where) {
  if (!entry.IsObject()) {
    return reader.error(where, "must be an object");
  }
  if (auto bad = reader.check_members(entry, where, {"name", "exe"})) {
    return *bad;
  }
  RuntimeEntry runtime;
  auto name = reader.string_member(entry, where, "name");
  if (!name) {
    return name.error();
  }
  runtime.name = *name;
  Status patterns = compile_patterns(reader, entry, where, runtime.exe_pattern,
                                     runtime.exe, nullptr, nullptr);
  if (!patterns) {
    return patterns.error();
  }
  return runtime;
}

// Compiles one more pattern member of an entry.
Status compile_member(const Reader& reader, const JsonValue& entry,
                      const std::string& where, const char* name,
                      std::string& text,
                      std::shared_ptr<const re2::RE2>& compiled) {
  auto value = reader.string_member(entry, where, name);
  if (!value) {
    return value.error();
  }
  auto pattern = reader.pattern(where + "." + name, *value);
  if (!pattern) {
    return pattern.error();
  }
  text = *value;
  compiled = *pattern;
  return Ok{};
}

Result<EmbeddedRuntimeEntry> parse_embedded_runtime(const Reader& reader,
                                                    const JsonValue& entry,
                                                    const std::string& where) {
  if (!entry.IsObject()) {
    return reader.error(where, "must be an object");
  }
  if (auto bad = reader.check_members(entry, where,
                                      {"name", "runtime", "host", "directory",
                                       "file", "line", "libraryRoot"})) {
    return *bad;
  }
  EmbeddedRuntimeEntry embedded;
  for (auto [name, field] : {std::pair{"name", &embedded.name},
                             std::pair{"runtime", &embedded.runtime},
                             std::pair{"directory", &embedded.directory}}) {
    auto value = reader.string_member(entry, where, name);
    if (!value) {
      return value.error();
    }
    *field = *value;
  }
  if (entry.HasMember("libraryRoot")) {
    auto root = reader.string_member(entry, where, "libraryRoot");
    if (!root) {
      return root.error();
    }
    embedded.library_root = *root;
  }
  for (auto [name, text, compiled] :
       {std::tuple{"host", &embedded.host_pattern, &embedded.host},
        std::tuple{"file", &embedded.file_pattern, &embedded.file},
        std::tuple{"line", &embedded.line_pattern, &embedded.line}}) {
    Status status =
        compile_member(reader, entry, where, name, *text, *compiled);
    if (!status) {
      return status.error();
    }
  }
  if (embedded.line->NumberOfCapturingGroups() < 1) {
    return reader.error(where + ".line",
                        "needs a capturing group for the library path");
  }
  return embedded;
}

// Parses one section ("wrappers", ...) into entries, in file order.
template <typename Entry, typename Parse>
Result<std::vector<Entry>> parse_section(const Reader& reader,
                                         const JsonValue& root,
                                         const char* section, Parse parse) {
  std::vector<Entry> entries;
  auto it = root.FindMember(section);
  if (it == root.MemberEnd()) {
    return entries;
  }
  if (!it->value.IsArray()) {
    return reader.error(section, "must be an array");
  }
  std::set<std::string> names;
  const auto& array = it->value.GetArray();
  for (size_t i = 0; i < array.Size(); ++i) {
    const std::string where = entry_where(section, i, array[i]);
    Result<Entry> entry = parse(reader, array[i], where);
    if (!entry) {
      return entry.error();
    }
    if (!names.insert(entry->name).second) {
      return reader.error(where, "duplicate name \"" + entry->name + "\"");
    }
    entries.push_back(std::move(*entry));
  }
  return entries;
}

// Replaces entries with the same name in place and appends new ones.
template <typename Entry>
void merge_entries(std::vector<Entry>& base, std::vector<Entry> extra) {
  for (auto& entry : extra) {
    auto same = std::find_if(base.begin(), base.end(), [&](const Entry& e) {
      return e.name == entry.name;
    });
    if (same != base.end()) {
      *same = std::move(entry);
    } else {
      base.push_back(std::move(entry));
    }
  }
}

struct WeightField {
  const char* name;
  double ScoringWeights::*field;
};

constexpr WeightField kWeightFields[] = {
    {"lifetimePerSecond", &ScoringWeights::lifetime_per_second},
    {"lifetimeCapSeconds", &ScoringWeights::lifetime_cap_seconds},
    {"listening", &ScoringWeights::listening},
    {"listeningCap", &ScoringWeights::listening_cap},
    {"wrapperPenalty", &ScoringWeights::wrapper_penalty},
    {"execsDownstreamPenalty", &ScoringWeights::execs_downstream_penalty},
    {"fanoutPerChild", &ScoringWeights::fanout_per_child},
    {"fanoutCap", &ScoringWeights::fanout_cap},
    {"nsPid1", &ScoringWeights::ns_pid1},
    {"exitedPenalty", &ScoringWeights::exited_penalty},
    {"shortLivedPenalty", &ScoringWeights::short_lived_penalty},
    {"shortLivedMs", &ScoringWeights::short_lived_ms},
    {"confidenceTemperature", &ScoringWeights::confidence_temperature},
    {"supervisorPenalty", &ScoringWeights::supervisor_penalty},
    {"daemonPenalty", &ScoringWeights::daemon_penalty},
};

// Overrides the weights named in "scoring"; unnamed weights keep their
// value.
Status parse_weights(const Reader& reader, const JsonValue& root,
                     ScoringWeights& weights) {
  auto it = root.FindMember("scoring");
  if (it == root.MemberEnd()) {
    return Ok{};
  }
  if (!it->value.IsObject()) {
    return reader.error("scoring", "must be an object");
  }
  for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
    const std::string name = m->name.GetString();
    auto field =
        std::find_if(std::begin(kWeightFields), std::end(kWeightFields),
                     [&](const WeightField& f) { return name == f.name; });
    if (field == std::end(kWeightFields)) {
      return reader.error("scoring", "unknown weight \"" + name + "\"");
    }
    if (!m->value.IsNumber()) {
      return reader.error("scoring." + name, "must be a number");
    }
    weights.*(field->field) = m->value.GetDouble();
  }
  if (weights.confidence_temperature <= 0) {
    return reader.error("scoring.confidenceTemperature", "must be > 0");
  }
  return Ok{};
}

bool matches_argv(const std::vector<std::shared_ptr<const re2::RE2>>& patterns,
                  const std::vector<std::string>& argv) {
  for (const auto& pattern : patterns) {
    const bool any = std::any_of(
        argv.begin(), argv.end(),
        [&](const std::string& arg) { return RE2::FullMatch(arg, *pattern); });
    if (!any) {
      return false;
    }
  }
  return true;
}

std::string_view basename(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// Matches a pattern against the program name or the full exe path.
bool matches_exe(const re2::RE2& pattern, std::string_view name,
                 std::string_view exe) {
  return RE2::FullMatch(name, pattern) ||
         (!exe.empty() && RE2::FullMatch(exe, pattern));
}

}  // namespace

Catalogue Catalogue::load_default() {
  Catalogue catalogue;
  Status status =
      catalogue.merge_json(default_catalogue_json(), "default catalogue");
  if (!status) {
    throw std::logic_error(status.error().message);
  }
  return catalogue;
}

Status Catalogue::merge_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return system_error("cannot open catalogue " + path, errno);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return system_error("cannot read catalogue " + path, errno);
  }
  return merge_json(text.str(), path);
}

Status Catalogue::merge_json(std::string_view text, std::string_view source) {
  const Reader reader{std::string(source)};
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  if (document.HasParseError()) {
    return Error{std::string(source) + ": invalid JSON at offset " +
                 std::to_string(document.GetErrorOffset()) + ": " +
                 rapidjson::GetParseError_En(document.GetParseError())};
  }
  if (!document.IsObject()) {
    return reader.error("top level", "must be an object");
  }
  if (auto bad = reader.check_members(
          document, "top level",
          {"multiCall", "wrappers", "supervisors", "daemons", "runtimes",
           "preForkServers", "embeddedRuntimes", "scoring"})) {
    return *bad;
  }

  auto wrappers =
      parse_section<WrapperEntry>(reader, document, "wrappers", parse_wrapper);
  if (!wrappers) {
    return wrappers.error();
  }
  auto supervisors = parse_section<SupervisorEntry>(
      reader, document, "supervisors", parse_supervisor);
  if (!supervisors) {
    return supervisors.error();
  }
  auto runtimes =
      parse_section<RuntimeEntry>(reader, document, "runtimes", parse_runtime);
  if (!runtimes) {
    return runtimes.error();
  }
  auto daemons =
      parse_section<DaemonEntry>(reader, document, "daemons", parse_daemon);
  if (!daemons) {
    return daemons.error();
  }
  auto pre_fork = parse_section<SupervisorEntry>(
      reader, document, "preForkServers", parse_supervisor);
  if (!pre_fork) {
    return pre_fork.error();
  }
  auto embedded = parse_section<EmbeddedRuntimeEntry>(
      reader, document, "embeddedRuntimes", parse_embedded_runtime);
  if (!embedded) {
    return embedded.error();
  }
  auto multi_call = reader.string_array(document, "top level", "multiCall");
  if (!multi_call) {
    return multi_call.error();
  }
  ScoringWeights weights = weights_;
  Status weights_ok = parse_weights(reader, document, weights);
  if (!weights_ok) {
    return weights_ok.error();
  }

  // Everything parsed: apply, so that a failed merge changes nothing.
  merge_entries(wrappers_, std::move(*wrappers));
  merge_entries(supervisors_, std::move(*supervisors));
  merge_entries(runtimes_, std::move(*runtimes));
  merge_entries(daemons_, std::move(*daemons));
  merge_entries(pre_fork_servers_, std::move(*pre_fork));
  merge_entries(embedded_runtimes_, std::move(*embedded));
  for (auto& name : *multi_call) {
    if (std::find(multi_call_.begin(), multi_call_.end(), name) ==
        multi_call_.end()) {
      multi_call_.push_back(name);
    }
  }
  weights_ = weights;
  return Ok{};
}

std::string Catalogue::program_name(
    std::string_view exe, const std::vector<std::string>& argv) const {
  std::string name(basename(exe));
  const bool multi_call = std::find(multi_call_.begin(), multi_call_.end(),
                                    name) != multi_call_.end();
  if ((name.empty() || multi_call) && !argv.empty()) {
    name = std::string(basename(argv[0]));
  }
  return name;
}

std::optional<WrapperMatch> Catalogue::match_wrapper(
    std::string_view exe, const std::vector<std::string>& argv) const {
  const std::string name = program_name(exe, argv);
  if (name.empty()) {
    return std::nullopt;
  }
  for (const WrapperEntry& entry : wrappers_) {
    if (!matches_exe(*entry.exe, name, exe) ||
        !matches_argv(entry.argv, argv)) {
      continue;
    }
    WrapperMatch match;
    match.name = entry.name;
    match.kind = entry.kind;
    match.mode = entry.mode;
    find_wrapped_command(entry.syntax, argv, match);
    return match;
  }
  return std::nullopt;
}

std::optional<std::string> Catalogue::classify_runtime(
    std::string_view exe, const std::vector<std::string>& argv) const {
  const std::string name = program_name(exe, argv);
  if (name.empty()) {
    return std::nullopt;
  }
  for (const RuntimeEntry& entry : runtimes_) {
    if (matches_exe(*entry.exe, name, exe)) {
      return entry.name;
    }
  }
  return std::string("native");
}

std::optional<std::string> Catalogue::match_supervisor(
    std::string_view exe, const std::vector<std::string>& argv) const {
  const std::string name = program_name(exe, argv);
  if (name.empty()) {
    return std::nullopt;
  }
  for (const SupervisorEntry& entry : supervisors_) {
    if (matches_exe(*entry.exe, name, exe) && matches_argv(entry.argv, argv)) {
      return entry.name;
    }
  }
  return std::nullopt;
}

const SupervisorEntry* Catalogue::find_supervisor(std::string_view name) const {
  for (const SupervisorEntry& entry : supervisors_) {
    if (entry.name == name) {
      return &entry;
    }
  }
  return nullptr;
}

std::optional<std::string> Catalogue::match_daemon(
    std::string_view exe, const std::vector<std::string>& argv) const {
  const std::string name = program_name(exe, argv);
  if (name.empty()) {
    return std::nullopt;
  }
  for (const DaemonEntry& entry : daemons_) {
    if (matches_exe(*entry.exe, name, exe)) {
      return entry.name;
    }
  }
  return std::nullopt;
}

std::optional<std::string> Catalogue::match_pre_fork_server(
    std::string_view exe, const std::vector<std::string>& argv) const {
  const std::string name = program_name(exe, argv);
  if (name.empty()) {
    return std::nullopt;
  }
  for (const SupervisorEntry& entry : pre_fork_servers_) {
    if (matches_exe(*entry.exe, name, exe) && matches_argv(entry.argv, argv)) {
      return entry.name;
    }
  }
  return std::nullopt;
}

std::vector<const EmbeddedRuntimeEntry*> Catalogue::embedded_runtime_rules(
    std::string_view exe, const std::vector<std::string>& argv) const {
  std::vector<const EmbeddedRuntimeEntry*> rules;
  const std::string name = program_name(exe, argv);
  if (name.empty()) {
    return rules;
  }
  for (const EmbeddedRuntimeEntry& entry : embedded_runtimes_) {
    if (matches_exe(*entry.host, name, exe)) {
      rules.push_back(&entry);
    }
  }
  return rules;
}

}  // namespace entrytrace
