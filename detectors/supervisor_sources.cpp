#include "detectors/supervisor_sources.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <system_error>

#include "detectors/supervisor_config.h"

namespace entrytrace {
namespace {

bool running(const ExecNode& node) {
  return !node.ended_us.has_value();
}

std::string joined_with(const std::vector<std::string>& items,
                        std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    out += (out.empty() ? "" : std::string(separator)) + item;
  }
  return out;
}

bool contains(const std::vector<std::string>& items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// A child before its exec: same exe and argv as the parent it forked from.
bool fork_copy(const ExecGraph& graph, size_t node) {
  auto edge = graph.incoming_edge(node);
  if (!edge || graph.edges()[*edge].kind != EdgeKind::kClone) {
    return false;
  }
  const ExecNode& child = graph.nodes()[node];
  const ExecNode& parent = graph.nodes()[graph.edges()[*edge].from];
  return child.exe == parent.exe && child.argv == parent.argv;
}

const SupervisorEntry* configured_entry(const ExecNode& node,
                                        const Catalogue& catalogue) {
  auto name = catalogue.match_supervisor(node.exe, node.argv);
  if (!name) {
    return nullptr;
  }
  const SupervisorEntry* entry = catalogue.find_supervisor(*name);
  return entry != nullptr && entry->config ? entry : nullptr;
}

// Whether the nearest supervisor above the node scans service directories.
bool under_scan_supervisor(const ExecGraph& graph, size_t node,
                           const Catalogue& catalogue) {
  for (size_t ancestor : graph.ancestors(node)) {
    const SupervisorEntry* entry =
        configured_entry(graph.nodes()[ancestor], catalogue);
    if (entry != nullptr) {
      return entry->config->format == SupervisorFormat::kRunitScan;
    }
  }
  return false;
}

// The index of the argv element that names the supervisor program: the
// first that an argv pattern of the entry matches (the script of an
// interpreter), else 0.
size_t program_index(const SupervisorEntry& entry,
                     const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    for (const auto& pattern : entry.argv) {
      if (RE2::FullMatch(argv[i], *pattern)) {
        return i;
      }
    }
  }
  return 0;
}

// The value of a path option: "-c FILE", "-cFILE", "--configuration FILE"
// or "--configuration=FILE".
std::optional<std::string> option_value(const std::vector<std::string>& args,
                                        const std::vector<std::string>& names) {
  for (size_t i = 0; i < args.size(); ++i) {
    for (const std::string& name : names) {
      if (args[i] == name && i + 1 < args.size()) {
        return args[i + 1];
      }
      const bool long_name = name.starts_with("--");
      if (long_name && args[i].starts_with(name + "=")) {
        return args[i].substr(name.size() + 1);
      }
      if (!long_name && args[i].size() > name.size() &&
          args[i].starts_with(name)) {
        return args[i].substr(name.size());
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> first_operand(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (!arg.empty() && arg.front() != '-') {
      return arg;
    }
  }
  return std::nullopt;
}

std::string replace_all(std::string text, std::string_view from,
                        std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Finds the configuration path of the process: the path option, the
// operand, or the first search path that exists. Relative paths are taken
// from cwd. Returns nullopt and adds a problem when none is found.
std::optional<std::string> find_config_path(
    const SupervisorEntry& entry, const std::vector<std::string>& argv,
    std::string_view cwd, const FileSource& files,
    std::vector<std::string>& problems) {
  const SupervisorConfigSyntax& syntax = *entry.config;
  const size_t program = program_index(entry, argv);
  const std::vector<std::string> args(
      argv.begin() +
          static_cast<std::ptrdiff_t>(std::min(program + 1, argv.size())),
      argv.end());
  std::optional<std::string> named = option_value(args, syntax.path_options);
  if (!named && syntax.path_operand) {
    named = first_operand(args);
  }
  if (named) {
    if (!named->starts_with('/') && cwd.empty()) {
      problems.push_back("relative path " + *named +
                         " with an unknown working directory");
      return std::nullopt;
    }
    return absolute_path(cwd, *named);
  }

  const std::string program_path =
      program < argv.size()
          ? absolute_path(cwd.empty() ? "/" : cwd, argv[program])
          : "/";
  const std::string prefix = parent_directory(parent_directory(program_path));
  std::vector<std::string> tried;
  for (const std::string& search : syntax.search_paths) {
    const std::string path = replace_all(search, "{prefix}", prefix);
    if (!path.starts_with('/') && cwd.empty()) {
      continue;
    }
    const std::string candidate = absolute_path(cwd, path);
    tried.push_back(candidate);
    if (files.info(candidate)) {
      return candidate;
    }
  }
  problems.push_back("no configuration found at " +
                     (tried.empty() ? std::string("any search path")
                                    : joined_with(tried, ", ")));
  return std::nullopt;
}

bool has_wildcard(std::string_view component) {
  return component.find_first_of("*?[") != std::string_view::npos;
}

// Expands an absolute glob pattern through files, component by component,
// as Python's glob does: sorted, and empty when nothing matches.
std::vector<std::string> glob_paths(const FileSource& files,
                                    const std::string& pattern) {
  std::vector<std::string> paths = {""};
  size_t start = 1;
  while (start <= pattern.size() && !paths.empty()) {
    size_t end = pattern.find('/', start);
    if (end == std::string::npos) {
      end = pattern.size();
    }
    const std::string component = pattern.substr(start, end - start);
    start = end + 1;
    if (component.empty()) {
      continue;
    }
    std::vector<std::string> next;
    for (const std::string& base : paths) {
      if (!has_wildcard(component)) {
        next.push_back(base + "/" + component);
        continue;
      }
      auto entries = files.list(base.empty() ? "/" : base);
      if (!entries) {
        continue;
      }
      for (const std::string& entry : *entries) {
        if (glob_component_matches(component, entry)) {
          next.push_back(base + "/" + entry);
        }
      }
    }
    paths = std::move(next);
  }
  std::vector<std::string> existing;
  for (const std::string& path : paths) {
    if (files.info(path)) {
      existing.push_back(path);
    }
  }
  std::sort(existing.begin(), existing.end());
  return existing;
}

// The sections of several INI files merged as supervisord merges them: a
// section keeps the file it first appeared in, and a later value of the
// same key replaces the earlier one.
struct MergedIni {
  std::vector<IniSection> sections;
  std::vector<std::string> files;

  void merge(const IniFile& ini, const std::string& file) {
    for (const IniSection& section : ini.sections) {
      auto same = std::find_if(
          sections.begin(), sections.end(),
          [&](const IniSection& s) { return s.name == section.name; });
      if (same == sections.end()) {
        sections.push_back(section);
        files.push_back(file);
        continue;
      }
      for (const auto& [key, value] : section.values) {
        same->values[key] = value;
      }
    }
  }
};

// Reads and parses one INI file into merged; adds a problem when it cannot
// be read and one per line that cannot be parsed.
bool read_ini(const FileSource& files, const std::string& path,
              MergedIni& merged, std::vector<std::string>& problems) {
  auto text = files.read(path, kMaxConfigBytes);
  if (!text) {
    problems.push_back("cannot read " + text.error().message);
    return false;
  }
  const IniFile ini = parse_ini(*text);
  for (const std::string& error : ini.errors) {
    problems.push_back(path + " " + error);
  }
  merged.merge(ini, path);
  return true;
}

// Follows the include section of the main file: each whitespace-separated
// glob, relative to the main file's directory, in order.
void read_includes(const SupervisorConfigSyntax& syntax,
                   const std::string& main_path, const FileSource& files,
                   MergedIni& merged, SupervisorConfig& config) {
  if (syntax.include_section.empty() || merged.sections.empty()) {
    return;
  }
  auto section = std::find_if(
      merged.sections.begin(), merged.sections.end(),
      [&](const IniSection& s) { return s.name == syntax.include_section; });
  if (section == merged.sections.end()) {
    return;
  }
  auto value = section->values.find(syntax.include_key);
  if (value == section->values.end()) {
    return;
  }
  const std::string directory = parent_directory(main_path);
  std::vector<std::string> unresolved;
  const std::string patterns =
      expand_percent(value->second, {{"here", directory}}, unresolved);
  auto words = split_command(patterns);
  if (!words) {
    config.problems.push_back(main_path + ": [" + syntax.include_section +
                              "] " + words.error().message);
    return;
  }
  for (const std::string& word : *words) {
    const std::string pattern = absolute_path(directory, word);
    const std::vector<std::string> found = glob_paths(files, pattern);
    if (found.empty()) {
      config.problems.push_back("no file matches the include " + pattern);
    }
    for (const std::string& path : found) {
      if (read_ini(files, path, merged, config.problems)) {
        config.included.push_back(path);
      }
    }
  }
}

int parse_count(const std::map<std::string, std::string>& values,
                const std::string& key, int fallback) {
  auto found = values.find(key);
  if (found == values.end()) {
    return fallback;
  }
  int count = fallback;
  const std::string& text = found->second;
  std::from_chars(text.data(), text.data() + text.size(), count);
  return count;
}

std::string value_or(const std::map<std::string, std::string>& values,
                     const std::string& key, const std::string& fallback) {
  auto found = values.find(key);
  return found == values.end() ? fallback : found->second;
}

// The service prefix of a section name ("program" of "program:web"), or
// empty when the section defines no service.
std::string service_prefix(const SupervisorConfigSyntax& syntax,
                           const std::string& section) {
  const size_t colon = section.find(':');
  if (colon == std::string::npos || colon + 1 == section.size()) {
    return "";
  }
  const std::string prefix = section.substr(0, colon);
  return contains(syntax.service_sections, prefix) ? prefix : "";
}

// The processes of one service section: numprocs of them, each with its
// process_name and command expanded for its process_num.
void add_program(const IniSection& section, const std::string& file,
                 SupervisorConfig& config) {
  const std::string program = section.name.substr(section.name.find(':') + 1);
  const std::string header = "[" + section.name + "]";
  const int numprocs = std::clamp(parse_count(section.values, "numprocs", 1), 1,
                                  kMaxProcessesPerProgram);
  const int first = parse_count(section.values, "numprocs_start", 0);
  const std::string command = value_or(section.values, "command", "");
  if (command.empty()) {
    config.problems.push_back(header + " in " + file + " has no command");
  }
  for (int num = first; num < first + numprocs; ++num) {
    const std::map<std::string, std::string> expansions = {
        {"here", parent_directory(file)},
        {"program_name", program},
        {"group_name", program},
        {"process_num", std::to_string(num)},
        {"numprocs", std::to_string(numprocs)}};
    std::vector<std::string> unresolved;
    ServiceDefinition service;
    service.name = expand_percent(
        value_or(section.values, "process_name", "%(program_name)s"),
        expansions, unresolved);
    service.section = header;
    service.file = file;
    auto words = split_command(expand_percent(command, expansions, unresolved));
    if (words) {
      service.command = std::move(*words);
    } else {
      config.problems.push_back(header + " in " + file + ": " +
                                words.error().message);
    }
    service.autostart =
        parse_ini_bool(value_or(section.values, "autostart", "true"), true);
    config.services.push_back(std::move(service));
  }
}

void load_supervisord(const SupervisorConfigSyntax& syntax,
                      const std::string& path, const FileSource& files,
                      SupervisorConfig& config) {
  MergedIni merged;
  if (!read_ini(files, path, merged, config.problems)) {
    return;
  }
  config.path = path;
  read_includes(syntax, path, files, merged, config);
  for (size_t i = 0; i < merged.sections.size(); ++i) {
    if (!service_prefix(syntax, merged.sections[i].name).empty()) {
      add_program(merged.sections[i], merged.files[i], config);
    }
  }
}

std::optional<int32_t> parse_pid(std::string_view text) {
  const std::string line = first_line(text);
  int32_t pid = 0;
  auto [end, error] =
      std::from_chars(line.data(), line.data() + line.size(), pid);
  if (error != std::errc() || end != line.data() + line.size() || pid <= 0) {
    return std::nullopt;
  }
  return pid;
}

// One runit service directory: its down file, run script, log service
// and the state the supervisor wrote.
ServiceDefinition load_runit_service(const ServiceLayout& layout,
                                     const std::string& directory,
                                     const FileSource& files,
                                     std::vector<std::string>& problems) {
  ServiceDefinition service;
  const size_t slash = directory.rfind('/');
  service.name = directory.substr(slash + 1);
  service.file = directory;
  auto entries = files.list(directory);
  if (!entries) {
    problems.push_back("cannot list " + entries.error().message);
    return service;
  }
  service.down = contains(*entries, layout.down);
  if (!layout.log.empty() && contains(*entries, layout.log)) {
    auto log = files.info(directory + "/" + layout.log);
    service.has_log = log && log->directory;
  }
  auto run = files.read(directory + "/" + layout.run, kMaxConfigBytes);
  if (!run) {
    problems.push_back("cannot read " + run.error().message);
  } else if (auto script = parse_shell_script(*run)) {
    service.command = script->argv;
  }
  if (!layout.state.empty()) {
    if (auto state = files.read(directory + "/" + layout.state, 256)) {
      service.state = first_line(*state);
    }
  }
  if (!layout.pid.empty()) {
    if (auto pid = files.read(directory + "/" + layout.pid, 64)) {
      service.pid = parse_pid(*pid);
    }
  }
  return service;
}

// A runit scan directory: every entry that is a directory and not hidden
// is a service.
void load_runit_scan(const ServiceLayout& layout, const std::string& directory,
                     const FileSource& files, SupervisorConfig& config) {
  auto entries = files.list(directory);
  if (!entries) {
    config.problems.push_back("cannot list " + entries.error().message);
    return;
  }
  config.path = directory;
  for (const std::string& name : *entries) {
    if (!layout.hidden_prefix.empty() &&
        name.starts_with(layout.hidden_prefix)) {
      continue;
    }
    const std::string path = directory + "/" + name;
    auto info = files.info(path);
    if (!info || !info->directory) {
      continue;
    }
    config.services.push_back(
        load_runit_service(layout, path, files, config.problems));
  }
}

}  // namespace

std::vector<SupervisorSite> find_supervisor_sites(const Capture& capture,
                                                  const ExecGraph& graph,
                                                  const Catalogue& catalogue) {
  std::vector<SupervisorSite> sites;
  for (size_t i = 0; i < graph.nodes().size(); ++i) {
    const ExecNode& node = graph.nodes()[i];
    const SupervisorEntry* entry = configured_entry(node, catalogue);
    if (entry == nullptr || !running(node) || fork_copy(graph, i)) {
      continue;
    }
    if (entry->config->format == SupervisorFormat::kRunitService &&
        under_scan_supervisor(graph, i, catalogue)) {
      continue;
    }
    sites.push_back(SupervisorSite{i, entry, node_cwd(capture, node)});
  }
  return sites;
}

std::string node_cwd(const Capture& capture, const ExecNode& node) {
  std::string cwd;
  int64_t latest = -1;
  for (const Observation& o : capture.observations) {
    if (o.process != node.process || !o.snapshot || o.time_us < latest) {
      continue;
    }
    const ProcessImage& image = o.snapshot->image;
    if (image.cwd_known && image.exe == node.exe && image.argv == node.argv) {
      cwd = image.cwd;
      latest = o.time_us;
    }
  }
  return cwd;
}

SupervisorConfig load_supervisor_config(const SupervisorEntry& entry,
                                        const std::vector<std::string>& argv,
                                        std::string_view cwd,
                                        const FileSource& files) {
  SupervisorConfig config;
  if (!entry.config) {
    return config;
  }
  const SupervisorConfigSyntax& syntax = *entry.config;
  auto path = find_config_path(entry, argv, cwd, files, config.problems);
  if (!path) {
    return config;
  }
  switch (syntax.format) {
    case SupervisorFormat::kSupervisordIni:
      load_supervisord(syntax, *path, files, config);
      break;
    case SupervisorFormat::kRunitScan:
      load_runit_scan(syntax.layout, *path, files, config);
      break;
    case SupervisorFormat::kRunitService:
      config.path = *path;
      config.services.push_back(
          load_runit_service(syntax.layout, *path, files, config.problems));
      break;
  }
  return config;
}

}  // namespace entrytrace

namespace entrytrace {
namespace {

// Bytes of file content and directory entries already kept.
size_t kept_bytes(const std::map<std::string, TargetFile>& files) {
  size_t bytes = 0;
  for (const auto& [path, file] : files) {
    bytes += file.content.size();
    for (const std::string& entry : file.entries) {
      bytes += entry.size();
    }
  }
  return bytes;
}

}  // namespace

void keep_supervisor_files(Capture& capture, const Catalogue& catalogue,
                           const RootOpener& open_root,
                           const FileLimits& limits) {
  const ExecGraph graph = ExecGraph::build(capture);
  for (const SupervisorSite& site :
       find_supervisor_sites(capture, graph, catalogue)) {
    const ExecNode& node = graph.nodes()[site.node];
    const std::string name =
        site.entry->name + " (pid " + std::to_string(node.ns_pid) + ")";
    auto root = open_root(node);
    if (!root) {
      capture.diagnostics.push_back(
          name + ": configuration not read: " + root.error().message);
      continue;
    }
    FileLimits remaining = limits;
    remaining.max_total_bytes -=
        std::min(limits.max_total_bytes, kept_bytes(capture.files));
    RecordingFiles files(**root, capture.files, remaining);
    load_supervisor_config(*site.entry, node.argv, site.cwd, files);
    if (files.limit_reached()) {
      capture.diagnostics.push_back(
          name + ": configuration read in part: the capture keeps at most " +
          std::to_string(limits.max_entries) + " target files");
    }
  }
}

}  // namespace entrytrace
