#include "graph/scoring.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

namespace entrytrace {
namespace {

bool running(const ExecNode& node) {
  return !node.ended_us.has_value();
}

int64_t lifetime_ms(const ExecNode& node, const Capture& capture,
                    int64_t end_us) {
  const int64_t end = node.ended_us.value_or(end_us);
  int64_t micros = std::max<int64_t>(0, end - node.first_seen_us);
  // A first image that predates the window also ran from the process start
  // to the window start. Ticks are compared raw, then converted once.
  if (node.exec_index == 0 && capture.ticks_per_second > 0 &&
      node.process.start_ticks < capture.window_start_ticks) {
    const uint64_t ticks =
        capture.window_start_ticks - node.process.start_ticks;
    micros += static_cast<int64_t>(ticks * 1000000 / capture.ticks_per_second);
  }
  return micros / 1000;
}

struct Downstream {
  int through_exec = 0;
  int running = 0;
};

// Counts running images below `node`, and those reached through at least
// one exec edge.
Downstream count_downstream(const ExecGraph& graph, size_t node) {
  Downstream count;
  std::set<size_t> visited{node};
  // (node, reached through an exec)
  std::vector<std::pair<size_t, bool>> stack{{node, false}};
  while (!stack.empty()) {
    auto [current, through_exec] = stack.back();
    stack.pop_back();
    if (current != node && running(graph.nodes()[current])) {
      ++count.running;
      if (through_exec) {
        ++count.through_exec;
      }
    }
    if (auto next = graph.exec_successor(current)) {
      if (visited.insert(*next).second) {
        stack.push_back({*next, true});
      }
    }
    for (size_t child : graph.clone_children(current)) {
      if (visited.insert(child).second) {
        stack.push_back({child, through_exec});
      }
    }
  }
  return count;
}

using SocketKey = std::pair<uint64_t, uint64_t>;  // (net_ns, inode)

// Attributes every listening socket of a running image to its owner: the
// holders with no running ancestor that also has the socket open.
void attribute_sockets(const ExecGraph& graph,
                       std::vector<NodeFeatures>& features) {
  std::map<SocketKey, std::vector<size_t>> holders;
  for (size_t i = 0; i < graph.nodes().size(); ++i) {
    const ExecNode& node = graph.nodes()[i];
    if (!running(node)) {
      continue;
    }
    for (const ListeningSocket& socket : node.listening) {
      holders[{socket.net_ns, socket.inode}].push_back(i);
    }
  }
  for (size_t i = 0; i < graph.nodes().size(); ++i) {
    const ExecNode& node = graph.nodes()[i];
    if (!running(node)) {
      continue;
    }
    const std::vector<size_t> up = graph.ancestors(i);
    for (const ListeningSocket& socket : node.listening) {
      const auto& same = holders[{socket.net_ns, socket.inode}];
      // The farthest ancestor holding the socket is the owner.
      std::optional<size_t> owner;
      for (size_t ancestor : up) {
        if (std::find(same.begin(), same.end(), ancestor) != same.end()) {
          owner = ancestor;
        }
      }
      if (owner) {
        if (!features[i].worker_of) {
          features[i].worker_of = owner;
        }
      } else {
        features[i].owned_sockets.push_back(socket);
      }
    }
  }
}

// A running child that is a plain fork of its running parent's image (same
// exe, no exec seen) belongs to the parent's program, like a pre-fork
// worker whose sockets could not be read. A fork whose parent exited is a
// daemon that detached, and stays a candidate.
void mark_forked_copies(const ExecGraph& graph,
                        std::vector<NodeFeatures>& features) {
  for (size_t i = 0; i < graph.nodes().size(); ++i) {
    const ExecNode& parent = graph.nodes()[i];
    if (!running(parent)) {
      continue;
    }
    for (size_t child : graph.clone_children(i)) {
      const ExecNode& node = graph.nodes()[child];
      if (features[child].worker_of || !running(node) || node.exec_index != 0 ||
          !node.exe_known || !parent.exe_known || node.exe != parent.exe) {
        continue;
      }
      features[child].worker_of = i;
    }
  }
}

// Marks the running ancestors of every running supervisor that are not
// supervisors themselves.
void mark_supervisor_inits(const ExecGraph& graph,
                           std::vector<NodeFeatures>& features) {
  for (size_t i = 0; i < graph.nodes().size(); ++i) {
    if (!features[i].supervisor || !running(graph.nodes()[i])) {
      continue;
    }
    for (size_t ancestor : graph.ancestors(i)) {
      if (running(graph.nodes()[ancestor]) && !features[ancestor].supervisor) {
        features[ancestor].supervisor_init = true;
      }
    }
  }
}

}  // namespace

int64_t window_end_us(const Capture& capture) {
  int64_t end = capture.elapsed_us > 0 ? capture.elapsed_us : capture.window_us;
  for (const Observation& o : capture.observations) {
    end = std::max(end, o.time_us);
  }
  return end;
}

std::vector<NodeFeatures> compute_features(const ExecGraph& graph,
                                           const Capture& capture,
                                           const Catalogue& catalogue) {
  const int64_t end_us = window_end_us(capture);
  std::vector<NodeFeatures> features(graph.nodes().size());
  for (size_t i = 0; i < graph.nodes().size(); ++i) {
    const ExecNode& node = graph.nodes()[i];
    NodeFeatures& f = features[i];
    f.lifetime_ms = lifetime_ms(node, capture, end_us);
    const Downstream downstream = count_downstream(graph, i);
    f.execs_downstream = downstream.through_exec;
    f.running_descendants = downstream.running;
    f.wrapper = catalogue.match_wrapper(node.exe, node.argv);
    f.supervisor = catalogue.match_supervisor(node.exe, node.argv);
    f.daemon = catalogue.match_daemon(node.exe, node.argv);
    f.children = static_cast<int>(graph.clone_children(i).size());
    f.ns_pid1 = node.ns_pid == 1;
    f.exited = !running(node);
  }
  attribute_sockets(graph, features);
  mark_forked_copies(graph, features);
  mark_supervisor_inits(graph, features);
  return features;
}

double score_features(const NodeFeatures& f, const ScoringWeights& w) {
  const double seconds = static_cast<double>(f.lifetime_ms) / 1000.0;
  double score =
      w.lifetime_per_second * std::min(seconds, w.lifetime_cap_seconds);
  score += w.listening * std::min(static_cast<double>(f.owned_sockets.size()),
                                  w.listening_cap);
  if (f.wrapper) {
    score += w.wrapper_penalty;
  }
  if (f.supervisor || f.supervisor_init) {
    score += w.supervisor_penalty;
  }
  if (f.daemon) {
    score += w.daemon_penalty;
  }
  score += w.execs_downstream_penalty * f.execs_downstream;
  score += w.fanout_per_child *
           std::min(static_cast<double>(f.children), w.fanout_cap);
  if (f.ns_pid1) {
    score += w.ns_pid1;
  }
  if (f.exited) {
    score += w.exited_penalty;
  }
  if (static_cast<double>(f.lifetime_ms) < w.short_lived_ms) {
    score += w.short_lived_penalty;
  }
  return score;
}

namespace {

std::vector<size_t> candidate_set(const std::vector<NodeFeatures>& features) {
  std::vector<size_t> set;
  for (size_t i = 0; i < features.size(); ++i) {
    const NodeFeatures& f = features[i];
    const bool collapsing_wrapper = f.wrapper && f.running_descendants > 0;
    if (!f.exited && !collapsing_wrapper && !f.worker_of) {
      set.push_back(i);
    }
  }
  if (set.empty()) {
    for (size_t i = 0; i < features.size(); ++i) {
      if (!features[i].exited) {
        set.push_back(i);
      }
    }
  }
  if (set.empty()) {
    for (size_t i = 0; i < features.size(); ++i) {
      set.push_back(i);
    }
  }
  return set;
}

}  // namespace

GraphScores score_graph(const ExecGraph& graph, const Capture& capture,
                        const Catalogue& catalogue) {
  GraphScores out;
  out.features = compute_features(graph, capture, catalogue);
  const ScoringWeights& weights = catalogue.weights();
  for (const NodeFeatures& f : out.features) {
    out.scores.push_back(score_features(f, weights));
  }

  for (size_t i : candidate_set(out.features)) {
    out.ranked.push_back(Candidate{i, out.scores[i], 0});
  }
  std::stable_sort(
      out.ranked.begin(), out.ranked.end(),
      [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  if (out.ranked.empty()) {
    return out;
  }

  const double best = out.ranked.front().score;
  double sum = 0;
  for (Candidate& c : out.ranked) {
    c.confidence = std::exp((c.score - best) / weights.confidence_temperature);
    sum += c.confidence;
  }
  for (Candidate& c : out.ranked) {
    c.confidence /= sum;
  }
  return out;
}

}  // namespace entrytrace
