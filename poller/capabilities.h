// The capabilities entrytrace runs with and what each one enables, for the
// start-up log line and for decisions such as whether hidepid can hide
// processes from the poller.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace entrytrace {

// The effective capability set of the calling thread.
struct CapabilitySet {
  uint64_t effective = 0;

  // cap is a CAP_* number from <linux/capability.h>.
  bool has(int cap) const {
    return cap >= 0 && cap < 64 && (effective >> cap) & 1;
  }
};

// Reads the effective set with capget(2). Returns an Error with errno when
// the call fails.
Result<CapabilitySet> read_capabilities();

// Describes the set as one line: each capability that entrytrace uses, held
// or missing, with the features it enables, for example
// "CAP_SYS_PTRACE (exe, cwd and fd/ of other users' processes): yes".
std::string describe_capabilities(const CapabilitySet& capabilities);

}  // namespace entrytrace
