#include "detectors/static_result.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstdio>

#include "common/phrases.h"
#include "detectors/static_resolve.h"

namespace entrytrace {
namespace {

constexpr size_t kMaxModuleConfigBytes = 64 * 1024;
// The length of a comm, without the terminating NUL (TASK_COMM_LEN - 1).
constexpr size_t kCommLength = 15;

std::string confidence_text(double confidence) {
  char text[16];
  std::snprintf(text, sizeof text, "%.3f", confidence);
  return text;
}

std::string node_id(const StaticNode& node) {
  return "p" + std::to_string(node.pid) + "-0-" +
         std::to_string(node.exec_index);
}

// The pid of the process that started node's process, 0 for pid 1.
int parent_pid(const StaticPlan& plan, const StaticNode& node) {
  for (const StaticNode& first : plan.nodes) {
    if (first.pid == node.pid && first.exec_index == 0 && first.parent) {
      return plan.nodes[*first.parent].pid;
    }
  }
  return 0;
}

ResultNode to_result_node(const StaticPlan& plan, const StaticNode& node) {
  ResultNode out;
  out.id = node_id(node);
  out.ns_pid = node.pid;
  out.ppid = parent_pid(plan, node);
  out.exe = node.path;
  out.argv = node.argv;
  out.comm =
      base_name(node.path.value_or(node.argv.empty() ? "" : node.argv.front()))
          .substr(0, kCommLength);
  out.uid = node.uid;
  out.euid = node.uid;
  out.exec_index = node.exec_index;
  if (node.ended) {
    out.ended_us = 0;
    out.end_reason = node.exited ? "exited" : "exec";
  }
  return out;
}

ResultGraph to_result_graph(const StaticPlan& plan) {
  ResultGraph graph;
  for (const StaticNode& node : plan.nodes) {
    graph.nodes.push_back(to_result_node(plan, node));
  }
  for (const StaticNode& node : plan.nodes) {
    if (node.parent) {
      graph.edges.push_back(ResultEdge{node_id(plan.nodes[*node.parent]),
                                       node_id(node), 0, 0, "clone"});
    }
    if (node.exec_index > 0) {
      StaticNode previous = node;
      --previous.exec_index;
      graph.edges.push_back(
          ResultEdge{node_id(previous), node_id(node), 0, 0, "exec"});
    }
  }
  return graph;
}

std::vector<size_t> ancestors(const StaticPlan& plan, size_t node) {
  std::vector<size_t> found;
  const StaticNode* current = &plan.nodes[node];
  while (true) {
    const StaticNode* first = nullptr;
    for (const StaticNode& candidate : plan.nodes) {
      if (candidate.pid == current->pid && candidate.exec_index == 0) {
        first = &candidate;
      }
    }
    if (first == nullptr || !first->parent) {
      return found;
    }
    found.push_back(*first->parent);
    current = &plan.nodes[*first->parent];
  }
}

TerminalType terminal_type(const StaticPlan& plan, size_t node,
                           const Catalogue& catalogue) {
  const StaticNode& image = plan.nodes[node];
  if (catalogue.match_supervisor(image.path.value_or(""), image.argv)) {
    return TerminalType::kSupervisor;
  }
  for (size_t ancestor : ancestors(plan, node)) {
    const StaticNode& above = plan.nodes[ancestor];
    if (catalogue.match_supervisor(above.path.value_or(""), above.argv)) {
      return TerminalType::kService;
    }
  }
  return TerminalType::kProcess;
}

void add_program_evidence(Terminal& terminal, const FileSource& files,
                          const Catalogue& catalogue) {
  const std::string path = terminal.path.value_or("");
  if (auto server = catalogue.match_pre_fork_server(path, terminal.argv)) {
    terminal.evidence.push_back(
        *server +
        " is a pre-fork server: this process is the master, and "
        "the workers it forks are its children");
  }
  if (terminal.runtime) {
    terminal.evidence.push_back("runtime " + *terminal.runtime + " from exe " +
                                path);
  }
  for (const EmbeddedRuntime& embedded :
       find_embedded_runtimes(path, terminal.argv, files, catalogue)) {
    terminal.embedded_runtimes.push_back(embedded.runtime);
    terminal.evidence.push_back(embedded.runtime +
                                " embedded: " + embedded.config_file +
                                " loads " + embedded.library);
  }
}

Terminal make_terminal(const StaticPlan& plan, const StaticCandidate& candidate,
                       const FileSource& files, const Catalogue& catalogue) {
  const StaticNode& node = plan.nodes[candidate.node];
  Terminal terminal;
  terminal.type = terminal_type(plan, candidate.node, catalogue);
  terminal.node_id = node_id(node);
  terminal.ns_pid = node.pid;
  terminal.path = node.path;
  terminal.argv = node.argv;
  terminal.runtime =
      catalogue.classify_runtime(node.path.value_or(""), node.argv);
  terminal.user = TerminalUser{node.uid, node.user_name};
  terminal.confidence = candidate.confidence;
  terminal.features.wrapper = node.wrapper;
  terminal.features.ns_pid1 = node.pid == 1;
  for (const StaticNode& other : plan.nodes) {
    if (other.parent == candidate.node) {
      ++terminal.features.children;
    }
  }
  terminal.evidence = candidate.evidence;
  add_program_evidence(terminal, files, catalogue);
  terminal.evidence.push_back(
      "runs as uid " + std::to_string(node.uid) +
      (node.user_name ? " (" + *node.user_name + ")" : ""));
  return terminal;
}

std::string summary(const StaticPlan& plan) {
  int processes = 0;
  int execs = 0;
  for (const StaticNode& node : plan.nodes) {
    if (node.exec_index == 0) {
      ++processes;
    } else {
      ++execs;
    }
  }
  return "predicted " + std::to_string(processes) + " process(es), " +
         std::to_string(plan.nodes.size()) + " image(s), " +
         std::to_string(execs) + " exec(s)";
}

// True when the two terminals name one program: the same path, or, when
// the live exe is unreadable, the same program name.
bool same_executable(const Terminal& live, const Terminal& predicted) {
  if (!predicted.path) {
    return false;
  }
  if (live.path) {
    return *live.path == *predicted.path;
  }
  return !live.argv.empty() &&
         base_name(live.argv.front()) == base_name(*predicted.path);
}

// The ancestor of the live terminal whose exe is the static terminal's
// path and which is a supervisor, as "pid N".
std::optional<std::string> supervisor_above(const EntryTraceResult& live,
                                            const Terminal& predicted,
                                            const Catalogue& catalogue) {
  if (!predicted.path ||
      !catalogue.match_supervisor(*predicted.path, predicted.argv)) {
    return std::nullopt;
  }
  std::string id = live.terminals.front().node_id;
  for (size_t steps = 0; steps < live.exec_graph.nodes.size(); ++steps) {
    auto edge =
        std::find_if(live.exec_graph.edges.begin(), live.exec_graph.edges.end(),
                     [&](const ResultEdge& e) { return e.to == id; });
    if (edge == live.exec_graph.edges.end()) {
      return std::nullopt;
    }
    id = edge->from;
    auto node =
        std::find_if(live.exec_graph.nodes.begin(), live.exec_graph.nodes.end(),
                     [&](const ResultNode& n) { return n.id == id; });
    if (node != live.exec_graph.nodes.end() && node->exe == predicted.path) {
      return "pid " + std::to_string(node->ns_pid);
    }
  }
  return std::nullopt;
}

std::string describe(const Terminal& terminal) {
  return terminal.path.value_or("?") + " (" + join_words(terminal.argv) + ")";
}

}  // namespace

std::vector<EmbeddedRuntime> find_embedded_runtimes(
    const std::string& path, const std::vector<std::string>& argv,
    const FileSource& files, const Catalogue& catalogue) {
  std::vector<EmbeddedRuntime> found;
  for (const EmbeddedRuntimeEntry* rule :
       catalogue.embedded_runtime_rules(path, argv)) {
    auto names = files.list(rule->directory);
    if (!names) {
      continue;
    }
    for (const std::string& name : *names) {
      if (!RE2::FullMatch(name, *rule->file)) {
        continue;
      }
      const std::string config = rule->directory + "/" + name;
      auto text = files.read(config, kMaxModuleConfigBytes);
      if (!text) {
        continue;
      }
      size_t start = 0;
      while (start < text->size()) {
        size_t end = text->find('\n', start);
        if (end == std::string::npos) {
          end = text->size();
        }
        const std::string line = text->substr(start, end - start);
        start = end + 1;
        std::string library;
        if (!RE2::FullMatch(line, *rule->line, &library)) {
          continue;
        }
        if (!library.starts_with("/")) {
          const std::string root =
              rule->library_root.empty() ? "" : rule->library_root;
          library = root + "/" + library;
        }
        auto info = files.info(library);
        if (info && info->regular) {
          found.push_back(EmbeddedRuntime{rule->runtime, config, library});
          break;
        }
      }
    }
  }
  // One entry per runtime: the first configuration file that loads it.
  std::vector<EmbeddedRuntime> unique;
  for (EmbeddedRuntime& embedded : found) {
    if (std::none_of(unique.begin(), unique.end(), [&](const auto& u) {
          return u.runtime == embedded.runtime;
        })) {
      unique.push_back(std::move(embedded));
    }
  }
  return unique;
}

Result<EntryTraceResult> analyze_image(const ImageConfig& config,
                                       const CommandOverrides& overrides,
                                       const FileSource& files,
                                       const Catalogue& catalogue,
                                       const StaticOptions& options) {
  auto command = merge_command(config, overrides);
  if (!command) {
    return command.error();
  }

  std::vector<std::string> diagnostics;
  StaticStart start;
  start.argv = command->argv;
  auto user = resolve_user(config.user, read_users(files));
  if (user) {
    start.user = *user;
  } else {
    diagnostics.push_back("the image's User '" + config.user +
                          "' cannot be resolved (" + user.error().message +
                          "), so the runtime refuses to start the container");
  }
  start.environment = container_environment(config, start.user.home);
  start.cwd = config.working_dir.empty() ? "/" : config.working_dir;

  StaticPlan plan = resolve_static(start, files, catalogue);
  EntryTraceResult result;
  result.mode = kModeStatic;
  result.backend = "none";
  result.target.description = options.description;
  // No process ran, so there are no host pids.
  result.target.host_pids_visible = false;
  result.exec_graph = to_result_graph(plan);
  result.evidence.push_back("static analysis of the image: " +
                            command->explanation);
  result.evidence.insert(result.evidence.end(), plan.evidence.begin(),
                         plan.evidence.end());
  result.evidence.push_back(summary(plan));
  const size_t count = std::min<size_t>(
      plan.candidates.size(), static_cast<size_t>(std::max(0, options.top_k)));
  for (size_t i = 0; i < count; ++i) {
    Terminal terminal =
        make_terminal(plan, plan.candidates[i], files, catalogue);
    if (!user) {
      terminal.confidence = std::min(terminal.confidence, kStaticNotRunnable);
    }
    result.terminals.push_back(std::move(terminal));
  }
  result.diagnostics = std::move(diagnostics);
  result.diagnostics.insert(result.diagnostics.end(), plan.diagnostics.begin(),
                            plan.diagnostics.end());
  return result;
}

EntryTraceResult fall_back_to_static(EntryTraceResult static_result,
                                     const std::string& reason) {
  static_result.evidence.insert(static_result.evidence.begin(),
                                "Dynamic capture unavailable: " + reason);
  return static_result;
}

EntryTraceResult merge_static(EntryTraceResult dynamic,
                              const EntryTraceResult& static_result,
                              const Catalogue& catalogue) {
  dynamic.mode = kModeMerged;
  dynamic.evidence.insert(dynamic.evidence.end(),
                          static_result.evidence.begin(),
                          static_result.evidence.end());
  for (const std::string& line : static_result.diagnostics) {
    dynamic.diagnostics.push_back("static analysis: " + line);
  }
  if (dynamic.terminals.empty() || static_result.terminals.empty()) {
    dynamic.evidence.push_back("no comparison with static analysis: " +
                               std::string(dynamic.terminals.empty()
                                               ? "the live capture"
                                               : "static analysis") +
                               " found no terminal");
    return dynamic;
  }

  Terminal& live = dynamic.terminals.front();
  const Terminal& predicted = static_result.terminals.front();
  const double before = live.confidence;
  if (!predicted.path) {
    live.evidence.push_back(
        "static analysis of the image did not resolve " +
        (predicted.argv.empty() ? std::string("a command")
                                : predicted.argv.front()) +
        " to a file, so it neither raises nor lowers the confidence");
    return dynamic;
  }
  if (same_executable(live, predicted)) {
    live.confidence = 1 - (1 - before) * (1 - predicted.confidence);
    live.evidence.push_back(
        "static analysis of the image agrees: it resolves the same "
        "executable " +
        *predicted.path + "; confidence raised from " +
        confidence_text(before) + " to " + confidence_text(live.confidence));
    if (live.embedded_runtimes.empty()) {
      live.embedded_runtimes = predicted.embedded_runtimes;
      for (const std::string& line : predicted.evidence) {
        if (line.find(" embedded: ") != std::string::npos) {
          live.evidence.push_back(line);
        }
      }
    }
    return dynamic;
  }
  if (live.type == TerminalType::kSupervisor) {
    live.evidence.push_back(
        "static analysis of the image resolves " + describe(predicted) +
        "; this terminal is a supervisor, which starts programs from its "
        "configuration, so the live result is kept with its confidence");
    return dynamic;
  }
  if (auto above = supervisor_above(dynamic, predicted, catalogue)) {
    if (live.type == TerminalType::kProcess) {
      live.type = TerminalType::kService;
    }
    live.evidence.push_back(
        "static analysis of the image stops at the "
        "supervisor " +
        *predicted.path + ", which runs as " + *above +
        " above this terminal; confidence kept");
    return dynamic;
  }
  live.confidence = before * (1 - predicted.confidence / 2);
  const std::string conflict =
      "live capture and static analysis disagree: the live top terminal is " +
      describe(live) + ", static analysis of the image resolves " +
      describe(predicted) + " with confidence " +
      confidence_text(predicted.confidence);
  live.evidence.push_back(conflict + "; confidence lowered from " +
                          confidence_text(before) + " to " +
                          confidence_text(live.confidence));
  dynamic.diagnostics.push_back(conflict);
  return dynamic;
}

}  // namespace entrytrace
