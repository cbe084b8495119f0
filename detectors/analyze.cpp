#include "detectors/analyze.h"

#include <algorithm>

#include "common/phrases.h"
#include "detectors/supervisor_report.h"
#include "graph/exec_graph.h"
#include "graph/scoring.h"

namespace entrytrace {
namespace {

// Everything one analysis works on.
struct Context {
  const Capture& capture;
  const Catalogue& catalogue;
  const ExecGraph& graph;
  const GraphScores& scores;
  const SupervisorAnalysis& supervisors;
};

std::string pid_text(const ExecNode& node) {
  return "pid " + std::to_string(node.ns_pid);
}

// The path a person recognises the image by: exe, else argv[0], else comm.
std::string display_path(const ExecNode& node) {
  if (node.exe_known && !node.exe.empty()) {
    return node.exe;
  }
  if (!node.argv.empty()) {
    return node.argv.front();
  }
  return node.comm;
}

ResultNode to_result_node(const ExecNode& node) {
  ResultNode out;
  out.id = node.id;
  out.host_pid = node.process.host_pid;
  out.ns_pid = node.ns_pid;
  out.ppid = node.ppid;
  out.host_ppid = node.host_ppid;
  if (node.exe_known) {
    out.exe = node.exe;
  }
  out.exe_deleted = node.exe_deleted;
  out.argv = node.argv;
  out.comm = node.comm;
  out.start_ticks = node.process.start_ticks;
  out.uid = node.uid;
  out.euid = node.euid;
  out.exec_index = node.exec_index;
  out.first_seen_us = node.first_seen_us;
  out.ended_us = node.ended_us;
  if (node.ended_us) {
    out.end_reason = node.exited ? "exited" : "exec";
  }
  for (const ListeningSocket& socket : node.listening) {
    out.listening.push_back(describe_socket(socket));
  }
  out.unreadable = node.unreadable;
  return out;
}

ResultGraph to_result_graph(const ExecGraph& graph) {
  ResultGraph out;
  for (const ExecNode& node : graph.nodes()) {
    out.nodes.push_back(to_result_node(node));
  }
  for (const ExecEdge& edge : graph.edges()) {
    out.edges.push_back(ResultEdge{
        graph.nodes()[edge.from].id, graph.nodes()[edge.to].id,
        edge.parent_host_pid, edge.child_host_pid, edge_kind_name(edge.kind)});
  }
  return out;
}

// A child image that is the fork of its parent before the child exec'd:
// same exe and argv as the parent. It repeats the parent in the ancestry.
bool is_fork_copy(const ExecGraph& graph, size_t node) {
  auto edge = graph.incoming_edge(node);
  if (!edge || graph.edges()[*edge].kind != EdgeKind::kClone) {
    return false;
  }
  const ExecNode& child = graph.nodes()[node];
  const ExecNode& parent = graph.nodes()[graph.edges()[*edge].from];
  return child.exe == parent.exe && child.argv == parent.argv;
}

bool reached_by_exec(const ExecGraph& graph, size_t node) {
  auto edge = graph.incoming_edge(node);
  return edge && graph.edges()[*edge].kind == EdgeKind::kExec;
}

TerminalType terminal_type(const Context& ctx, size_t node) {
  if (ctx.scores.features[node].supervisor) {
    return TerminalType::kSupervisor;
  }
  for (size_t ancestor : ctx.graph.ancestors(node)) {
    if (ctx.scores.features[ancestor].supervisor) {
      return TerminalType::kService;
    }
  }
  if (ctx.scores.features[node].daemon) {
    return TerminalType::kDaemon;
  }
  return TerminalType::kProcess;
}

// Walks up from the terminal and collapses every wrapper image: exec chain
// predecessors and resident wrapper parents. Stops at the first resident
// parent that is not a wrapper (a supervisor, a server master). Appends one
// sentence per collapsed image and returns the wrapper names, nearest
// first.
std::vector<std::string> collapse_wrappers(const Context& ctx, size_t node,
                                           std::vector<std::string>& evidence) {
  std::vector<std::string> collapsed;
  const std::string into = display_path(ctx.graph.nodes()[node]);
  // The image one step below the ancestor being looked at.
  size_t below = node;
  for (size_t ancestor : ctx.graph.ancestors(node)) {
    const bool exec_predecessor = reached_by_exec(ctx.graph, below);
    below = ancestor;
    const ExecNode& image = ctx.graph.nodes()[ancestor];
    const auto& wrapper = ctx.scores.features[ancestor].wrapper;
    if (wrapper) {
      if (is_fork_copy(ctx.graph, ancestor)) {
        continue;
      }
      evidence.push_back("wrapper " + wrapper->name + " (" + pid_text(image) +
                         ") collapsed into " + into);
      collapsed.push_back(wrapper->name);
      continue;
    }
    if (exec_predecessor) {
      evidence.push_back("exec chain: " + pid_text(image) + " ran " +
                         display_path(image) + " (" + join_words(image.argv) +
                         ") before exec'ing toward " + into);
      continue;
    }
    if (is_fork_copy(ctx.graph, ancestor)) {
      continue;
    }
    if (const auto& supervisor = ctx.scores.features[ancestor].supervisor) {
      evidence.push_back("supervised by " + *supervisor + " (" +
                         pid_text(image) + ")");
    }
    break;
  }
  return collapsed;
}

void add_listening_evidence(const Context& ctx, size_t node,
                            std::vector<std::string>& evidence) {
  const ExecNode& image = ctx.graph.nodes()[node];
  for (const ListeningSocket& socket :
       ctx.scores.features[node].owned_sockets) {
    if (socket.owner_uid) {
      evidence.push_back(pid_text(image) + " (uid " +
                         std::to_string(*socket.owner_uid) +
                         ") likely listening on " + describe_socket(socket) +
                         ": socket owner found by uid, fd links unreadable");
      continue;
    }
    evidence.push_back(pid_text(image) + " listening on " +
                       describe_socket(socket));
  }
  int workers = 0;
  for (const NodeFeatures& f : ctx.scores.features) {
    if (f.worker_of == node && !f.exited) {
      ++workers;
    }
  }
  if (workers > 0) {
    evidence.push_back(
        pid_text(image) + " has " +
        count_phrase(workers, "worker process", "worker processes") +
        " forked from it, reported as its children");
  }
}

Terminal make_terminal(const Context& ctx, const Candidate& candidate,
                       std::vector<std::string>& collapsed) {
  const size_t node = candidate.node;
  const ExecNode& image = ctx.graph.nodes()[node];
  const NodeFeatures& f = ctx.scores.features[node];
  Terminal t;
  t.type = terminal_type(ctx, node);
  t.node_id = image.id;
  t.ns_pid = image.ns_pid;
  t.host_pid = image.process.host_pid;
  if (image.exe_known) {
    t.path = image.exe;
  }
  t.argv = image.argv;
  t.runtime = ctx.catalogue.classify_runtime(
      image.exe_known ? std::string_view(image.exe) : std::string_view(),
      image.argv);
  t.user.uid = image.euid;
  auto name = ctx.capture.user_names.find(image.euid);
  if (name != ctx.capture.user_names.end()) {
    t.user.name = name->second;
  }
  t.confidence = candidate.confidence;
  t.score = candidate.score;
  t.features = TerminalFeatures{
      f.lifetime_ms,
      f.execs_downstream,
      static_cast<int>(f.owned_sockets.size()),
      f.wrapper ? std::optional<std::string>(f.wrapper->name) : std::nullopt,
      f.children,
      f.ns_pid1,
      f.exited};

  add_listening_evidence(ctx, node, t.evidence);
  collapsed = collapse_wrappers(ctx, node, t.evidence);
  if (auto found = ctx.supervisors.terminal_evidence.find(node);
      found != ctx.supervisors.terminal_evidence.end()) {
    t.evidence.insert(t.evidence.end(), found->second.begin(),
                      found->second.end());
  }
  if (t.runtime) {
    t.evidence.push_back(
        "runtime " + *t.runtime + " from " +
        (image.exe_known ? "exe " + image.exe : "argv[0] (exe unreadable)"));
  }
  t.evidence.push_back("runs as uid " + std::to_string(image.euid) +
                       (t.user.name ? " (" + *t.user.name + ")" : ""));
  return t;
}

// pid 1 shells that stay resident do not pass SIGTERM on, so a stop of the
// container waits for the kill timeout.
void diagnose_resident_shell(const Context& ctx,
                             std::vector<std::string>& diagnostics) {
  for (size_t i = 0; i < ctx.graph.nodes().size(); ++i) {
    const ExecNode& node = ctx.graph.nodes()[i];
    const NodeFeatures& f = ctx.scores.features[i];
    if (node.ns_pid != 1 || f.exited || !f.wrapper ||
        f.wrapper->kind != WrapperKind::kShell || f.children == 0) {
      continue;
    }
    diagnostics.push_back("pid 1 is a shell (" + display_path(node) +
                          ") that does not forward SIGTERM to its children");
  }
}

bool has_subreaper_flag(const ExecNode& node) {
  return std::find(node.argv.begin(), node.argv.end(), "-s") != node.argv.end();
}

void diagnose_nested_init(const Context& ctx,
                          std::vector<std::string>& diagnostics) {
  for (size_t i = 0; i < ctx.graph.nodes().size(); ++i) {
    const ExecNode& node = ctx.graph.nodes()[i];
    const NodeFeatures& f = ctx.scores.features[i];
    if (node.ns_pid == 1 || f.exited || !f.wrapper ||
        f.wrapper->kind != WrapperKind::kInit || is_fork_copy(ctx.graph, i) ||
        has_subreaper_flag(node)) {
      continue;
    }
    diagnostics.push_back(
        f.wrapper->name + " (" + pid_text(node) +
        ") is not pid 1 and not a subreaper (no -s), so orphaned processes "
        "reparent to pid 1 instead of to it");
  }
}

void diagnose_unreadable(const Context& ctx,
                         std::vector<std::string>& diagnostics) {
  for (const ExecNode& node : ctx.graph.nodes()) {
    for (const std::string& field : node.unreadable) {
      diagnostics.push_back(pid_text(node) + " (" + node.id + "): " + field);
    }
  }
}

std::vector<std::string> summary_evidence(const Context& ctx) {
  size_t processes = 0;
  size_t exec_edges = 0;
  for (const ExecNode& node : ctx.graph.nodes()) {
    if (node.exec_index == 0) {
      ++processes;
    }
  }
  for (const ExecEdge& edge : ctx.graph.edges()) {
    if (edge.kind == EdgeKind::kExec) {
      ++exec_edges;
    }
  }
  return {"observed " + count_phrase(processes, "process", "processes") + ", " +
          count_phrase(ctx.graph.nodes().size(), "image", "images") + ", " +
          count_phrase(exec_edges, "exec", "execs") + " in " +
          std::to_string(window_end_us(ctx.capture) / 1000) + " ms"};
}

}  // namespace

EntryTraceResult analyze(const Capture& capture, const Catalogue& catalogue,
                         const AnalyzeOptions& options) {
  const ExecGraph graph = ExecGraph::build(capture);
  const GraphScores scores = score_graph(graph, capture, catalogue);
  const SupervisorAnalysis supervisors =
      analyze_supervisors(capture, catalogue, graph, scores);
  const Context ctx{capture, catalogue, graph, scores, supervisors};

  EntryTraceResult result;
  result.backend = capture.backend;
  result.target =
      ResultTarget{capture.target.description, capture.target.pid_ns,
                   capture.target.pid_ns_depth, capture.target.init_host_pid,
                   capture.target.host_pids_visible};
  result.window =
      ResultWindow{capture.window_us, capture.elapsed_us, capture.interval_us};
  result.exec_graph = to_result_graph(graph);
  result.application_found = !supervisors.no_application;

  result.evidence = capture.evidence;
  for (const std::string& line : summary_evidence(ctx)) {
    result.evidence.push_back(line);
  }
  const size_t count = std::min<size_t>(
      scores.ranked.size(), static_cast<size_t>(std::max(0, options.top_k)));
  for (size_t i = 0; i < count; ++i) {
    std::vector<std::string> collapsed;
    result.terminals.push_back(make_terminal(ctx, scores.ranked[i], collapsed));
    if (i == 0 && !collapsed.empty()) {
      result.evidence.push_back("collapsed into the top terminal: " +
                                join_words(collapsed));
    }
  }
  result.evidence.insert(result.evidence.end(), supervisors.evidence.begin(),
                         supervisors.evidence.end());

  result.diagnostics = capture.diagnostics;
  for (const std::string& line : graph.diagnostics()) {
    result.diagnostics.push_back(line);
  }
  diagnose_resident_shell(ctx, result.diagnostics);
  diagnose_nested_init(ctx, result.diagnostics);
  diagnose_unreadable(ctx, result.diagnostics);
  result.diagnostics.insert(result.diagnostics.end(),
                            supervisors.diagnostics.begin(),
                            supervisors.diagnostics.end());
  if (graph.nodes().empty()) {
    result.diagnostics.push_back("no process was observed in the window");
  }
  return result;
}

}  // namespace entrytrace
