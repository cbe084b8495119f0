#include "graph/exec_graph.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace entrytrace {

const char* edge_kind_name(EdgeKind kind) {
  return kind == EdgeKind::kExec ? "exec" : "clone";
}

namespace {

int kind_rank(ObservationKind kind) {
  switch (kind) {
    case ObservationKind::kProcessSeen:
      return 0;
    case ObservationKind::kImageChanged:
      return 1;
    case ObservationKind::kSocketsSeen:
      return 2;
    case ObservationKind::kProcessExited:
      return 3;
  }
  return 4;
}

auto snapshot_key(const std::optional<ProcessSnapshot>& s) {
  static const ProcessSnapshot kEmpty;
  const ProcessSnapshot& v = s ? *s : kEmpty;
  return std::tie(v.image.exe, v.image.argv, v.image.start_stack, v.ns_pid,
                  v.host_ppid, v.ns_ppid, v.uid, v.euid, v.image.comm,
                  v.unreadable);
}

// A total order on observations, so that the fold does not depend on the
// order a backend appended them in when timestamps are equal.
bool observation_less(const Observation* a, const Observation* b) {
  if (a->time_us != b->time_us) {
    return a->time_us < b->time_us;
  }
  if (kind_rank(a->kind) != kind_rank(b->kind)) {
    return kind_rank(a->kind) < kind_rank(b->kind);
  }
  if (a->process != b->process) {
    return a->process < b->process;
  }
  if (a->snapshot.has_value() != b->snapshot.has_value()) {
    return !a->snapshot.has_value();
  }
  if (snapshot_key(a->snapshot) != snapshot_key(b->snapshot)) {
    return snapshot_key(a->snapshot) < snapshot_key(b->snapshot);
  }
  return a->sockets < b->sockets;
}

std::string node_id(const ProcessId& id, int exec_index) {
  return "p" + std::to_string(id.host_pid) + "-" +
         std::to_string(id.start_ticks) + "-" + std::to_string(exec_index);
}

// Whether a snapshot shows another image than the node: another start
// stack when both are known, else another exe or argv.
bool image_differs(const ExecNode& node, uint64_t node_stack,
                   const ProcessImage& image) {
  if (node_stack != 0 && image.start_stack != 0) {
    return node_stack != image.start_stack;
  }
  return node.exe != image.exe || node.argv != image.argv;
}

}  // namespace

// Folds observations, in order, into nodes and edges.
class GraphBuilder {
 public:
  ExecGraph build(const Capture& capture) {
    // A capture through a procfs scoped to the target holds namespace pids
    // where host pids would be.
    pid_label_ = capture.target.host_pids_visible ? "host pid " : "pid ";
    std::vector<const Observation*> ordered;
    ordered.reserve(capture.observations.size());
    for (const Observation& o : capture.observations) {
      ordered.push_back(&o);
    }
    std::sort(ordered.begin(), ordered.end(), observation_less);
    for (const Observation* o : ordered) {
      apply(*o);
    }
    finish();
    return std::move(graph_);
  }

 private:
  struct ProcessState {
    size_t current = 0;
    size_t first = 0;
    bool alive = true;
  };

  void apply(const Observation& o) {
    switch (o.kind) {
      case ObservationKind::kProcessSeen:
        if (o.snapshot) {
          seen(o.time_us, *o.snapshot);
        }
        break;
      case ObservationKind::kImageChanged:
        if (o.snapshot) {
          image_changed(o.time_us, *o.snapshot);
        }
        break;
      case ObservationKind::kProcessExited:
        exited(o.time_us, o.process);
        break;
      case ObservationKind::kSocketsSeen:
        sockets_seen(o.process, o.sockets);
        break;
    }
    if ((o.kind == ObservationKind::kProcessSeen ||
         o.kind == ObservationKind::kImageChanged) &&
        !o.snapshot) {
      note("observation " + std::string(observation_kind_name(o.kind)) +
           " of " + pid_label_ + std::to_string(o.process.host_pid) +
           " has no snapshot; ignored");
    }
  }

  void seen(int64_t time_us, const ProcessSnapshot& snapshot) {
    auto it = processes_.find(snapshot.id);
    if (it != processes_.end()) {
      // A second sight of a known process: an exec the backend reported as
      // a sighting, or nothing new.
      const size_t current = it->second.current;
      if (it->second.alive && image_differs(graph_.nodes_[current],
                                            stacks_[current], snapshot.image)) {
        exec(time_us, it->second, snapshot);
      }
      return;
    }
    end_reused_pid(time_us, snapshot.id);

    const size_t node = add_node(time_us, snapshot, 0);
    processes_[snapshot.id] = ProcessState{node, node, true};
    latest_by_pid_[snapshot.id.host_pid] = snapshot.id;
    link_parent(node, snapshot);
  }

  void image_changed(int64_t time_us, const ProcessSnapshot& snapshot) {
    auto it = processes_.find(snapshot.id);
    if (it == processes_.end() || !it->second.alive) {
      note("exec of " + pid_label_ + std::to_string(snapshot.id.host_pid) +
           " seen before the process itself; its earlier images are "
           "unknown");
      seen(time_us, snapshot);
      return;
    }
    exec(time_us, it->second, snapshot);
  }

  void exec(int64_t time_us, ProcessState& state,
            const ProcessSnapshot& snapshot) {
    const size_t previous = state.current;
    ExecNode& old = graph_.nodes_[previous];
    old.ended_us = time_us;
    const int index = old.exec_index + 1;

    const size_t node = add_node(time_us, snapshot, index);
    // Lineage is fixed at first sight, whatever the ppid is now.
    const ExecNode& first = graph_.nodes_[state.first];
    graph_.nodes_[node].ppid = first.ppid;
    graph_.nodes_[node].host_ppid = first.host_ppid;
    edges_.push_back(ExecEdge{previous, node, snapshot.id.host_pid,
                              snapshot.id.host_pid, EdgeKind::kExec});
    state.current = node;
  }

  void exited(int64_t time_us, const ProcessId& id) {
    auto it = processes_.find(id);
    if (it == processes_.end()) {
      note("exit of " + pid_label_ + std::to_string(id.host_pid) +
           " that was never seen");
      return;
    }
    if (!it->second.alive) {
      return;
    }
    it->second.alive = false;
    ExecNode& node = graph_.nodes_[it->second.current];
    node.ended_us = time_us;
    node.exited = true;
  }

  void sockets_seen(const ProcessId& id,
                    const std::vector<ListeningSocket>& sockets) {
    auto it = processes_.find(id);
    if (it == processes_.end()) {
      note("sockets of " + pid_label_ + std::to_string(id.host_pid) +
           " that was never seen; ignored");
      return;
    }
    std::vector<ListeningSocket> sorted = sockets;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    graph_.nodes_[it->second.current].listening = std::move(sorted);
  }

  // A new identity on a pid that still looked alive means the exit of the
  // old one was missed.
  void end_reused_pid(int64_t time_us, const ProcessId& id) {
    auto latest = latest_by_pid_.find(id.host_pid);
    if (latest == latest_by_pid_.end() || latest->second == id) {
      return;
    }
    auto old = processes_.find(latest->second);
    if (old != processes_.end() && old->second.alive) {
      note(pid_label_ + std::to_string(id.host_pid) +
           " was reused (start ticks " +
           std::to_string(latest->second.start_ticks) + " then " +
           std::to_string(id.start_ticks) +
           ") before the exit of the first process was seen");
      exited(time_us, latest->second);
    }
  }

  // Joins a new process to its parent's current image, when the parent is
  // known, alive and not younger than the child.
  void link_parent(size_t node, const ProcessSnapshot& snapshot) {
    auto parent_id = latest_by_pid_.find(snapshot.host_ppid);
    if (parent_id == latest_by_pid_.end() ||
        parent_id->second.start_ticks > snapshot.id.start_ticks) {
      return;
    }
    auto parent = processes_.find(parent_id->second);
    if (parent == processes_.end() || !parent->second.alive) {
      return;
    }
    edges_.push_back(ExecEdge{parent->second.current, node, snapshot.host_ppid,
                              snapshot.id.host_pid, EdgeKind::kClone});
  }

  size_t add_node(int64_t time_us, const ProcessSnapshot& snapshot,
                  int exec_index) {
    ExecNode node;
    node.id = node_id(snapshot.id, exec_index);
    node.process = snapshot.id;
    node.ns_pid = snapshot.ns_pid;
    node.ppid = snapshot.ns_ppid;
    node.host_ppid = snapshot.host_ppid;
    node.exe = snapshot.image.exe;
    node.exe_known = snapshot.image.exe_known;
    node.exe_deleted = snapshot.image.exe_deleted;
    node.argv = snapshot.image.argv;
    node.comm = snapshot.image.comm;
    node.uid = snapshot.uid;
    node.euid = snapshot.euid;
    node.exec_index = exec_index;
    node.first_seen_us = time_us;
    node.unreadable = snapshot.unreadable;
    graph_.nodes_.push_back(std::move(node));
    stacks_.push_back(snapshot.image.start_stack);
    return graph_.nodes_.size() - 1;
  }

  void note(std::string text) {
    graph_.diagnostics_.push_back(std::move(text));
  }

  // Sorts nodes and edges into output order and builds the indexes.
  void finish() {
    std::vector<ExecNode>& nodes = graph_.nodes_;
    std::vector<size_t> order(nodes.size());
    for (size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::tie(nodes[a].first_seen_us, nodes[a].process.host_pid,
                      nodes[a].process.start_ticks, nodes[a].exec_index) <
             std::tie(nodes[b].first_seen_us, nodes[b].process.host_pid,
                      nodes[b].process.start_ticks, nodes[b].exec_index);
    });
    std::vector<size_t> position(nodes.size());
    std::vector<ExecNode> sorted;
    sorted.reserve(nodes.size());
    for (size_t i = 0; i < order.size(); ++i) {
      position[order[i]] = i;
      sorted.push_back(std::move(nodes[order[i]]));
    }
    nodes = std::move(sorted);

    for (ExecEdge& edge : edges_) {
      edge.from = position[edge.from];
      edge.to = position[edge.to];
    }
    std::sort(edges_.begin(), edges_.end(),
              [](const ExecEdge& a, const ExecEdge& b) {
                return std::tie(a.to, a.from) < std::tie(b.to, b.from);
              });
    graph_.edges_ = std::move(edges_);
    graph_.build_indexes();
  }

  ExecGraph graph_;
  // "host pid " or, for a capture without host pids, "pid ".
  std::string pid_label_ = "host pid ";
  std::vector<ExecEdge> edges_;
  std::vector<uint64_t> stacks_;
  std::map<ProcessId, ProcessState> processes_;
  std::map<int32_t, ProcessId> latest_by_pid_;
};

ExecGraph ExecGraph::build(const Capture& capture) {
  return GraphBuilder().build(capture);
}

ExecGraph ExecGraph::from_parts(std::vector<ExecNode> nodes,
                                std::vector<ExecEdge> edges) {
  ExecGraph graph;
  graph.nodes_ = std::move(nodes);
  graph.edges_ = std::move(edges);
  graph.build_indexes();
  return graph;
}

void ExecGraph::build_indexes() {
  const size_t n = nodes_.size();
  incoming_.assign(n, std::nullopt);
  exec_next_.assign(n, std::nullopt);
  clone_children_.assign(n, {});
  for (size_t e = 0; e < edges_.size(); ++e) {
    const ExecEdge& edge = edges_[e];
    if (edge.from >= n || edge.to >= n) {
      continue;
    }
    incoming_[edge.to] = e;
    if (edge.kind == EdgeKind::kExec) {
      exec_next_[edge.from] = edge.to;
    } else {
      clone_children_[edge.from].push_back(edge.to);
    }
  }
}

std::optional<size_t> ExecGraph::find(const std::string& id) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].id == id) {
      return i;
    }
  }
  return std::nullopt;
}

std::optional<size_t> ExecGraph::incoming_edge(size_t node) const {
  return incoming_.at(node);
}

std::optional<size_t> ExecGraph::exec_successor(size_t node) const {
  return exec_next_.at(node);
}

std::vector<size_t> ExecGraph::clone_children(size_t node) const {
  return clone_children_.at(node);
}

std::vector<size_t> ExecGraph::ancestors(size_t node) const {
  std::vector<size_t> out;
  std::set<size_t> visited{node};
  std::optional<size_t> edge = incoming_.at(node);
  while (edge) {
    const size_t parent = edges_[*edge].from;
    if (!visited.insert(parent).second) {
      break;
    }
    out.push_back(parent);
    edge = incoming_[parent];
  }
  return out;
}

bool ExecGraph::is_ancestor(size_t ancestor, size_t node) const {
  const std::vector<size_t> up = ancestors(node);
  return std::find(up.begin(), up.end(), ancestor) != up.end();
}

size_t ExecGraph::latest_image(size_t node) const {
  std::set<size_t> visited{node};
  while (exec_next_.at(node) && visited.insert(*exec_next_[node]).second) {
    node = *exec_next_[node];
  }
  return node;
}

}  // namespace entrytrace
