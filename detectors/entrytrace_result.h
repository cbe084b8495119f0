// EntryTraceResult: what entrytrace reports about a target. Plain data; the
// JSON form (result_to_json) and every field are described in
// docs/result.md and docs/entrytrace-result.schema.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace entrytrace {

inline constexpr const char* kResultSchema = "entrytrace.result/v1";

// Where a result comes from: watching live processes, the image's config
// and files alone, or both.
inline constexpr const char* kModeDynamic = "dynamic";
inline constexpr const char* kModeStatic = "static";
inline constexpr const char* kModeMerged = "merged";

struct ResultTarget {
  std::string description;
  uint64_t pid_namespace = 0;
  int pid_namespace_depth = 0;
  int32_t init_host_pid = 0;
  // TargetInfo::host_pids_visible: when false, every host pid field of the
  // result is written as 0.
  bool host_pids_visible = true;
};

struct ResultWindow {
  int64_t requested_us = 0;
  int64_t observed_us = 0;
  int64_t interval_us = 0;
};

struct ResultNode {
  std::string id;
  int32_t host_pid = 0;
  int32_t ns_pid = 0;
  int32_t ppid = 0;
  int32_t host_ppid = 0;
  // Unset when the exe link could not be read.
  std::optional<std::string> exe;
  bool exe_deleted = false;
  std::vector<std::string> argv;
  std::string comm;
  uint64_t start_ticks = 0;
  uint32_t uid = 0;
  uint32_t euid = 0;
  int exec_index = 0;
  int64_t first_seen_us = 0;
  // Unset while the image runs at the end of the window.
  std::optional<int64_t> ended_us;
  // "exited" or "exec"; empty while running.
  std::string end_reason;
  // describe_socket() of each listening socket held.
  std::vector<std::string> listening;
  std::vector<std::string> unreadable;
};

struct ResultEdge {
  std::string from;
  std::string to;
  int32_t parent_host_pid = 0;
  int32_t child_host_pid = 0;
  // "clone" or "exec".
  std::string kind;
};

struct ResultGraph {
  std::vector<ResultNode> nodes;
  std::vector<ResultEdge> edges;
};

enum class TerminalType { kProcess, kSupervisor, kService, kDaemon };

// "process", "supervisor", "service", "daemon".
const char* terminal_type_name(TerminalType type);

struct TerminalUser {
  uint32_t uid = 0;
  std::optional<std::string> name;
};

struct TerminalFeatures {
  int64_t lifetime_ms = 0;
  int execs_downstream = 0;
  int listening = 0;
  // Name of the wrapper entry the terminal itself matches.
  std::optional<std::string> wrapper;
  int children = 0;
  bool ns_pid1 = false;
  bool exited = false;
};

struct Terminal {
  TerminalType type = TerminalType::kProcess;
  std::string node_id;
  int32_t ns_pid = 0;
  int32_t host_pid = 0;
  // The exe of the terminal; unset when unreadable.
  std::optional<std::string> path;
  std::vector<std::string> argv;
  std::optional<std::string> runtime;
  // Runtimes the program loads as libraries, such as "php" in apache2;
  // found by static analysis of the image's files.
  std::vector<std::string> embedded_runtimes;
  TerminalUser user;
  double confidence = 0;
  double score = 0;
  TerminalFeatures features;
  std::vector<std::string> evidence;
};

struct EntryTraceResult {
  std::string schema = kResultSchema;
  // kModeDynamic, kModeStatic or kModeMerged.
  std::string mode = "dynamic";
  std::string backend;
  ResultTarget target;
  ResultWindow window;
  ResultGraph exec_graph;
  // False when every running candidate is a supervisor, the init that
  // started one or a system daemon: the terminals are then not a workload.
  bool application_found = true;
  // Best first.
  std::vector<Terminal> terminals;
  std::vector<std::string> evidence;
  std::vector<std::string> diagnostics;
};

}  // namespace entrytrace
