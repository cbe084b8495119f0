// Reads the target files that detectors need into a live capture, before
// the target is stopped: the configuration of every supervisor found in the
// capture, through the root directory of that supervisor's process.
#pragma once

#include <string>

#include "catalogue/catalogue.h"
#include "common/observation.h"

namespace entrytrace {

// For each supervisor site of the capture (see find_supervisor_sites()),
// opens <proc_root>/<host pid>/root and keeps the supervisor's
// configuration files in capture.files (see keep_supervisor_files()). When
// the capture read a procfs scoped to the target, which shows no host
// pids, the host pid is found in proc_root by PID namespace, namespace pid
// and start ticks. A root that cannot be opened (EACCES without ptrace
// access, a process that exited) becomes a diagnostic.
void read_target_files(Capture& capture, const Catalogue& catalogue,
                       const std::string& proc_root);

}  // namespace entrytrace
