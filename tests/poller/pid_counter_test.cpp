#include "poller/pid_counter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "tests/poller/fixture_root.h"

namespace entrytrace {
namespace {

using Kind = ProbePlan::Kind;

struct PlanCase {
  const char* name;
  int32_t previous;
  int32_t current;
  Kind kind;
  int32_t first;
  int32_t last;
};

TEST(PlanProbe, RangesWrapsAndJumps) {
  constexpr int32_t kSpan = 256;
  const std::vector<PlanCase> cases = {
      {"no change", 1000, 1000, Kind::kNothing, 0, 0},
      {"one pid", 1000, 1001, Kind::kProbe, 1001, 1001},
      {"a few pids", 1000, 1005, Kind::kProbe, 1001, 1005},
      {"exactly the span", 1000, 1256, Kind::kProbe, 1001, 1256},
      {"one past the span", 1000, 1257, Kind::kList, 0, 0},
      {"big jump", 1000, 30000, Kind::kList, 0, 0},
      {"wrap to a low pid", 32760, 305, Kind::kList, 0, 0},
      {"wrap by one", 32767, 300, Kind::kList, 0, 0},
      {"start from zero", 0, 3, Kind::kProbe, 1, 3},
  };
  for (const PlanCase& c : cases) {
    SCOPED_TRACE(c.name);
    ProbePlan plan = plan_probe(c.previous, c.current, kSpan);
    EXPECT_EQ(plan.kind, c.kind);
    EXPECT_EQ(plan.first, c.first);
    EXPECT_EQ(plan.last, c.last);
  }
}

TEST(ParseNsLastPid, NumberWithNewline) {
  Result<int32_t> pid = parse_ns_last_pid("19687\n");
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  EXPECT_EQ(*pid, 19687);
}

TEST(ParseNsLastPid, TextIsAnError) {
  Result<int32_t> pid = parse_ns_last_pid("abc\n");
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.error().message, "ns_last_pid: 'abc' is not a pid");
}

TEST(ParseLoadavgLastPid, LastField) {
  Result<int32_t> pid = parse_loadavg_last_pid("7.48 4.74 2.86 3/1105 19687\n");
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  EXPECT_EQ(*pid, 19687);
}

TEST(ParseLoadavgLastPid, MissingFieldIsAnError) {
  Result<int32_t> pid = parse_loadavg_last_pid("7.48 4.74 2.86 3/1105\n");
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.error().message, "loadavg: expected 5 fields, got 4");
}

TEST(OpenLastPidCounter, RecordedTreeHasNone) {
  FixtureRoot root("thread");
  Result<LastPidCounter> counter = open_last_pid_counter(root.path());
  ASSERT_FALSE(counter.ok());
  EXPECT_NE(counter.error().message.find("is not the procfs of this"),
            std::string::npos)
      << counter.error().message;
}

TEST(ReadOwnPid, RecordedTreeHasNoSelf) {
  FixtureRoot root("thread");
  Result<int32_t> pid = read_own_pid(root.path());
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.error().errno_value, ENOENT) << pid.error().message;
}

TEST(ReadOwnPid, LiveProcfsGivesTheCallersPid) {
  Result<int32_t> pid = read_own_pid("/proc");
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  if (open_last_pid_counter("/proc").ok()) {
    EXPECT_EQ(*pid, getpid());
  }
}

TEST(OpenLastPidCounter, LiveProcfsMovesOnFork) {
  Result<LastPidCounter> counter = open_last_pid_counter("/proc");
  if (!counter.ok()) {
    GTEST_SKIP() << "/proc is not this namespace's procfs: "
                 << counter.error().message;
  }
  Result<int32_t> before = counter->read();
  ASSERT_TRUE(before.ok()) << before.error().message;

  pid_t child = fork();
  if (child == 0) {
    _exit(0);
  }
  ASSERT_GT(child, 0);
  Result<int32_t> after = counter->read();
  ASSERT_TRUE(after.ok()) << after.error().message;
  waitpid(child, nullptr, 0);

  // Other processes may fork meanwhile, so the child is within the range.
  ProbePlan plan = plan_probe(*before, *after, 1 << 30);
  ASSERT_EQ(plan.kind, Kind::kProbe);
  EXPECT_LE(plan.first, child);
  EXPECT_GE(plan.last, child);
}

}  // namespace
}  // namespace entrytrace
