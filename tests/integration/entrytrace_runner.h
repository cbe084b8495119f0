// Runs the entrytrace binary as a user would and parses its JSON result.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <vector>

namespace entrytrace::testing {

struct RunOutput {
  int exit_status = -1;
  std::string out;
  std::string err;
  // The parsed stdout; holds a parse error when stdout is not JSON.
  rapidjson::Document result;

  bool json_ok() const { return !result.HasParseError() && result.IsObject(); }
};

// Runs ENTRYTRACE_BINARY with args, with PATH set to the system
// directories, and waits for it. Fails the calling test when it cannot be
// started.
RunOutput run_entrytrace(const std::vector<std::string>& args);

// Runs argv (argv[0] searched in the system PATH) the same way, for
// entrytrace started through a wrapper such as nsenter or setpriv.
RunOutput run_program(std::vector<std::string> argv);

// Runs a shell command line and returns its exit status.
int run_shell(const std::string& command);

// True when every named program is in the system PATH.
bool have_programs(const std::vector<std::string>& names, std::string* missing);

// All evidence sentences of the result: the top-level list and each
// terminal's, in order.
std::vector<std::string> all_evidence(const rapidjson::Document& result);

// True when any sentence contains the fragment.
bool mentions(const std::vector<std::string>& sentences,
              const std::string& fragment);

// True when one sentence contains every fragment.
bool mentions_all(const std::vector<std::string>& sentences,
                  const std::vector<std::string>& fragments);

std::string join(const std::vector<std::string>& sentences);

// The mount point of the cgroup v2 hierarchy, or "" when none is mounted.
std::string cgroup2_mount();

// Moves pid into the cgroup directory; false when the write fails.
bool move_to_cgroup(const std::string& cgroup, int pid);

}  // namespace entrytrace::testing
