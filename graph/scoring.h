// Steady-state features of every node of an exec graph at the end of the
// capture window, their score, and the ranked candidates for the terminal
// (the process that is the container's workload).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalogue/catalogue.h"
#include "common/observation.h"
#include "graph/exec_graph.h"

namespace entrytrace {

struct NodeFeatures {
  // Milliseconds the image ran: from its start (the process start ticks
  // for a first image that predates the window, else its first sight) to
  // its end or the end of the window.
  int64_t lifetime_ms = 0;
  // Images still running at the end of the window that descend from this
  // one through at least one exec. 0 means nothing was started from here
  // that replaced a process image and stayed.
  int execs_downstream = 0;
  // Images still running at the end of the window below this one, through
  // exec or clone edges. A wrapper with one is collapsed, never a terminal.
  int running_descendants = 0;
  // Listening sockets the image owns: it holds them and no running ancestor
  // does. A socket held by a master and its pre-fork workers is owned by
  // the master.
  std::vector<ListeningSocket> owned_sockets;
  // The running ancestor that owns a socket this image also holds, or the
  // parent of a running plain fork (same exe, no exec): the image is a
  // worker of that node.
  std::optional<size_t> worker_of;
  std::optional<WrapperMatch> wrapper;
  std::optional<std::string> supervisor;
  // The image runs, is not a supervisor and has a running supervisor below
  // it: the init or script that started the supervisor and stayed.
  bool supervisor_init = false;
  // The catalogue daemon entry the image matches (cron, sshd, syslog).
  std::optional<std::string> daemon;
  // Clone children of this image.
  int children = 0;
  bool ns_pid1 = false;
  // The image no longer runs at the end of the window (exited or exec'd).
  bool exited = false;
};

struct Candidate {
  size_t node = 0;
  double score = 0;
  // Softmax of the scores over the candidate set; see score_graph().
  double confidence = 0;
};

struct GraphScores {
  // Indexed like ExecGraph::nodes().
  std::vector<NodeFeatures> features;
  std::vector<double> scores;
  // The candidate set, best first (score descending, then node order).
  std::vector<Candidate> ranked;
};

// End of the window in microseconds since its start: the observed time,
// else the requested window, and never before the last observation.
int64_t window_end_us(const Capture& capture);

std::vector<NodeFeatures> compute_features(const ExecGraph& graph,
                                           const Capture& capture,
                                           const Catalogue& catalogue);

// The weighted sum of a node's features; docs/result.md lists the terms.
double score_features(const NodeFeatures& features,
                      const ScoringWeights& weights);

// Scores every node and ranks the candidate set: the images still running
// at the end of the window, minus wrappers with a running descendant and
// minus pre-fork workers. When that leaves nothing, the
// running images; when none runs, every image. A wrapper with a running
// descendant is left out even when no exec was seen, because its children
// may have been started before the window. Confidence is
// exp((s - max) / T) / sum over the set, with T the catalogue's
// confidenceTemperature, so it is in (0, 1] and sums to 1 over the set.
GraphScores score_graph(const ExecGraph& graph, const Capture& capture,
                        const Catalogue& catalogue);

}  // namespace entrytrace
