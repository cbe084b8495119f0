#include "poller/capabilities.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace entrytrace {
namespace {

// Numbers from <linux/capability.h> of Linux 5.8, for older headers.
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

struct CapabilityUse {
  const char* names;
  int first;
  // -1 when one capability suffices.
  int second;
  const char* enables;
};

constexpr CapabilityUse kUses[] = {
    {"CAP_SYS_PTRACE", CAP_SYS_PTRACE, -1,
     "exe, cwd, root and fd/ of other users' processes, hidepid bypass"},
    {"CAP_SYS_ADMIN", CAP_SYS_ADMIN, -1,
     "with CAP_SYS_PTRACE a procfs scoped to the target, namespaces for run"},
    {"CAP_SYS_NICE", CAP_SYS_NICE, -1, "real-time capture with SCHED_FIFO"},
    {"CAP_BPF+CAP_PERFMON", kCapBpf, kCapPerfmon, "the eBPF backend"},
    {"CAP_NET_ADMIN", CAP_NET_ADMIN, -1, "the proc connector backend"},
    {"CAP_DAC_READ_SEARCH", CAP_DAC_READ_SEARCH, -1,
     "target files whatever their permission bits"},
};

}  // namespace

Result<CapabilitySet> read_capabilities() {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) {
    return system_error("capget", errno);
  }
  CapabilitySet set;
  set.effective =
      uint64_t{data[0].effective} | (uint64_t{data[1].effective} << 32);
  return set;
}

std::string describe_capabilities(const CapabilitySet& capabilities) {
  std::string line;
  for (const CapabilityUse& use : kUses) {
    bool present = capabilities.has(use.first) &&
                   (use.second < 0 || capabilities.has(use.second));
    if (!line.empty()) {
      line += "; ";
    }
    line += std::string(use.names) + " (" + use.enables +
            "): " + (present ? "yes" : "no");
  }
  return line;
}

}  // namespace entrytrace
