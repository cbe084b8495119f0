// What the supervisors of a capture run: each service of a supervisor's
// configuration matched to the process that runs it, the state of the
// services that do not run, and the role of the other long-running
// processes around them (the init that started a supervisor, system
// daemons, daemons started in the background by init scripts).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "catalogue/catalogue.h"
#include "common/observation.h"
#include "graph/exec_graph.h"
#include "graph/scoring.h"

namespace entrytrace {

struct SupervisorAnalysis {
  // Sentences for the result's top-level evidence, supervisor by
  // supervisor in node order, then the roles of the other processes.
  std::vector<std::string> evidence;
  // Sentences for the terminal of a node, by node index.
  std::map<size_t, std::vector<std::string>> terminal_evidence;
  // The parts of a configuration that could not be read or parsed.
  std::vector<std::string> diagnostics;
  // Set when every running candidate is a supervisor, the init that
  // started one or a system daemon.
  bool no_application = false;
};

// Reads the configuration of every supervisor site from the files kept in
// the capture (Capture::files) and matches its services to the processes
// below it. Deterministic: the same capture gives the same sentences.
SupervisorAnalysis analyze_supervisors(const Capture& capture,
                                       const Catalogue& catalogue,
                                       const ExecGraph& graph,
                                       const GraphScores& scores);

}  // namespace entrytrace
