// The Observational Exec Graph (OEG): one node per program image that the
// capture saw, joined by the exec and clone edges between them.
//
// A process is identified by (host pid, start ticks). Its first image is a
// node; every exec (kImageChanged) starts a new node of the same process
// joined by an `exec` edge. A new process joins the image its parent was
// running when the child was first seen, by a `clone` edge. The parent is
// the ppid at first sight: reparenting to a subreaper later does not rewrite
// lineage. A pid seen again with other start ticks is a new process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/observation.h"

namespace entrytrace {

struct ExecNode {
  // "p<hostPid>-<startTicks>-<execIndex>": stable across runs.
  std::string id;
  ProcessId process;
  int32_t ns_pid = 0;
  // Parent at the first sight of the process, as target-namespace pid (0
  // when outside the namespace) and as host pid.
  int32_t ppid = 0;
  int32_t host_ppid = 0;
  std::string exe;
  bool exe_known = false;
  bool exe_deleted = false;
  std::vector<std::string> argv;
  std::string comm;
  uint32_t uid = 0;
  uint32_t euid = 0;
  // 0 for the first image seen of the process, +1 per exec.
  int exec_index = 0;
  // Microseconds since the window started.
  int64_t first_seen_us = 0;
  // When the image stopped running: the process exec'd another image or
  // exited. Unset while it runs at the end of the window.
  std::optional<int64_t> ended_us;
  // The process exited (as opposed to exec'ing away).
  bool exited = false;
  // The listening sockets the image held when last seen, sorted.
  std::vector<ListeningSocket> listening;
  std::vector<std::string> unreadable;
};

enum class EdgeKind { kClone, kExec };

// "clone", "exec".
const char* edge_kind_name(EdgeKind kind);

struct ExecEdge {
  // Node indexes into ExecGraph::nodes().
  size_t from = 0;
  size_t to = 0;
  int32_t parent_host_pid = 0;
  int32_t child_host_pid = 0;
  EdgeKind kind = EdgeKind::kClone;
};

class ExecGraph {
 public:
  // Folds the observations of a capture into the graph. The observations
  // are first put in a total order (time, then identity, kind and content),
  // so their order in the vector does not matter. Inconsistencies (an exit
  // of a process never seen, an exec of an unknown process) are tolerated
  // and recorded in diagnostics().
  static ExecGraph build(const Capture& capture);

  // Assembles a graph from nodes and edges as given, in that order; for
  // tests and for graphs loaded from elsewhere. Edges may be inconsistent
  // (even cyclic): the walks below still end.
  static ExecGraph from_parts(std::vector<ExecNode> nodes,
                              std::vector<ExecEdge> edges);

  // Sorted by first sight, then host pid, start ticks and exec index.
  const std::vector<ExecNode>& nodes() const { return nodes_; }
  // Sorted by the child node, then the parent node.
  const std::vector<ExecEdge>& edges() const { return edges_; }
  const std::vector<std::string>& diagnostics() const { return diagnostics_; }

  std::optional<size_t> find(const std::string& id) const;

  // The edge that leads into a node: the exec edge from the image it
  // replaced or the clone edge from its parent. Unset for roots.
  std::optional<size_t> incoming_edge(size_t node) const;
  // The image this node exec'd into, if any.
  std::optional<size_t> exec_successor(size_t node) const;
  // Nodes joined to this one by clone edges from it, in node order.
  std::vector<size_t> clone_children(size_t node) const;

  // Walks up incoming edges from `node` (excluded), nearest first. Stops at
  // a root or at a node already visited, so a malformed graph with a cycle
  // ends the walk instead of looping.
  std::vector<size_t> ancestors(size_t node) const;

  // Whether `ancestor` is reached by walking up from `node`.
  bool is_ancestor(size_t ancestor, size_t node) const;

  // The current image of a node's process: follows exec edges downwards.
  size_t latest_image(size_t node) const;

 private:
  std::vector<ExecNode> nodes_;
  std::vector<ExecEdge> edges_;
  std::vector<std::optional<size_t>> incoming_;
  std::vector<std::optional<size_t>> exec_next_;
  std::vector<std::vector<size_t>> clone_children_;
  std::vector<std::string> diagnostics_;

  void build_indexes();

  friend class GraphBuilder;
};

}  // namespace entrytrace
