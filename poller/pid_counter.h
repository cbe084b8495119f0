// Change detection through the last-allocated pid of the reader's PID
// namespace. Every fork and clone moves that counter, and from the host an
// allocation in a child namespace moves it too (a task gets a pid at every
// level). So when it moves from A to B, the new tasks are among pids A+1..B
// and can be opened by number, with no directory listing.
//
// The counter is the READER's namespace's: /proc/sys/kernel/ns_last_pid and
// the last field of /proc/loadavg both report the namespace of the process
// reading them, not of the procfs mount. It is only used when the proc root
// is the procfs of that same namespace (see open_last_pid_counter()).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace entrytrace {

// The action a tick takes after reading the counter.
struct ProbePlan {
  enum class Kind {
    // The counter did not move: no pid was allocated.
    kNothing,
    // Open pids first..last (inclusive) by number.
    kProbe,
    // The counter wrapped, or moved further than probing is worth: list the
    // whole proc root instead.
    kList,
  };
  Kind kind = Kind::kNothing;
  int32_t first = 0;
  int32_t last = 0;
};

// Plans the pids to open when the counter moved from previous to current.
// A move of more than max_span pids, or backwards (pid_max reached and
// allocation restarted from a low pid), gives kList.
// NOTE: a wrap that lands exactly on the previous value reads as no change;
// the periodic safety listing covers that case.
ProbePlan plan_probe(int32_t previous, int32_t current, int32_t max_span);

// Parses /proc/sys/kernel/ns_last_pid ("19687\n").
Result<int32_t> parse_ns_last_pid(std::string_view text);

// Parses the last field of /proc/loadavg ("0.48 0.74 0.86 3/1105 19687\n").
Result<int32_t> parse_loadavg_last_pid(std::string_view text);

// An open counter file, read with pread at offset 0 on every tick (under a
// microsecond, no path lookup).
class LastPidCounter {
 public:
  enum class Source { kNsLastPid, kLoadavg };

  LastPidCounter(UniqueFd fd, Source source, std::string path)
      : fd_(std::move(fd)), source_(source), path_(std::move(path)) {}

  // Returns the last pid allocated in the reader's PID namespace. Returns
  // an Error naming the file when it cannot be read or parsed.
  Result<int32_t> read() const;

  const std::string& path() const { return path_; }

 private:
  UniqueFd fd_;
  Source source_;
  std::string path_;
};

// Returns the caller's pid as proc_root numbers it, read from the "self"
// link of proc_root. That differs from getpid() when proc_root is the procfs
// of an ancestor PID namespace. Returns an Error with ENOENT when the caller
// is not visible there: the procfs of a namespace that does not contain the
// caller, or a recorded tree.
Result<int32_t> read_own_pid(const std::string& proc_root);

// Opens the counter for proc_root, trying sys/kernel/ns_last_pid first and
// loadavg second. Returns an Error when proc_root is not the procfs of the
// caller's own PID namespace (a recorded tree, or another namespace's
// mount), because then the counter and the pids under proc_root do not
// match. The caller then lists the root instead.
Result<LastPidCounter> open_last_pid_counter(const std::string& proc_root);

}  // namespace entrytrace
