#include "poller/capabilities.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <unistd.h>

namespace entrytrace {
namespace {

TEST(Capabilities, DescribeNamesHeldAndMissing) {
  CapabilitySet set;
  set.effective = uint64_t{1} << CAP_SYS_PTRACE;
  std::string line = describe_capabilities(set);
  EXPECT_NE(line.find("CAP_SYS_PTRACE (exe, cwd, root and fd/ of other "
                      "users' processes, hidepid bypass): yes"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("CAP_SYS_ADMIN (with CAP_SYS_PTRACE a procfs scoped "
                      "to the target, namespaces for run): no"),
            std::string::npos)
      << line;
}

TEST(Capabilities, BpfNeedsBothCapabilities) {
  CapabilitySet set;
  set.effective = uint64_t{1} << 39;  // CAP_BPF without CAP_PERFMON
  EXPECT_NE(describe_capabilities(set).find("CAP_BPF+CAP_PERFMON (the eBPF "
                                            "backend): no"),
            std::string::npos);
  set.effective |= uint64_t{1} << 38;
  EXPECT_NE(describe_capabilities(set).find("CAP_BPF+CAP_PERFMON (the eBPF "
                                            "backend): yes"),
            std::string::npos);
}

TEST(Capabilities, ReadsOwnSet) {
  Result<CapabilitySet> set = read_capabilities();
  ASSERT_TRUE(set) << set.error().message;
  if (geteuid() != 0) {
    EXPECT_FALSE(set->has(CAP_SYS_ADMIN));
  }
}

}  // namespace
}  // namespace entrytrace
