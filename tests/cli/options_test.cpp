#include "cli/options.h"

#include <gtest/gtest.h>

#include <vector>

namespace entrytrace {
namespace {

using std::chrono::microseconds;

ParsedOptions parse(std::vector<const char*> args) {
  args.insert(args.begin(), "entrytrace");
  return parse_options(static_cast<int>(args.size()), args.data());
}

TEST(ParseDuration, AcceptsEveryUnit) {
  struct Case {
    const char* text;
    int64_t micros;
  };
  const Case cases[] = {{"250us", 250},      {"10ms", 10'000},
                        {"3s", 3'000'000},   {"1.5s", 1'500'000},
                        {"2m", 120'000'000}, {"0.5ms", 500}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto parsed = parse_duration(c.text);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->count(), c.micros);
  }
}

TEST(ParseDuration, RejectsMissingOrUnknownUnit) {
  for (const char* text : {"3", "3 sec", "fast", "-1s", "", "3h"}) {
    SCOPED_TRACE(text);
    auto parsed = parse_duration(text);
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message.find(text), std::string::npos);
  }
}

TEST(ParseOptions, RunTakesCommandAfterDashes) {
  auto parsed = parse({"run", "--window", "1s", "--", "tini", "--", "sh"});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->command, Command::kRun);
  EXPECT_EQ(parsed.options->window, microseconds(1'000'000));
  std::vector<std::string> expected = {"tini", "--", "sh"};
  EXPECT_EQ(parsed.options->command_argv, expected);
}

TEST(ParseOptions, RunWithoutCommandIsUsageError) {
  auto parsed = parse({"run"});
  EXPECT_FALSE(parsed.options);
  EXPECT_EQ(parsed.exit_status, 2);
}

TEST(ParseOptions, ObserveNeedsPositivePid) {
  EXPECT_EQ(parse({"observe", "--pid", "0"}).exit_status, 2);
  EXPECT_EQ(parse({"observe", "--pid", "abc"}).exit_status, 2);
  auto parsed = parse({"observe", "--pid", "42"});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->pid, 42);
}

TEST(ParseOptions, ObserveWithoutTargetWatchesOwnNamespace) {
  auto parsed = parse({"observe"});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->pid, 0);
  EXPECT_TRUE(parsed.options->cgroup_path.empty());
  EXPECT_TRUE(parsed.options->container_id.empty());
}

TEST(ParseOptions, ObserveTakesCgroupOrContainerId) {
  auto by_cgroup = parse({"observe", "--cgroup", "/sys/fs/cgroup/app"});
  ASSERT_TRUE(by_cgroup.options);
  EXPECT_EQ(by_cgroup.options->cgroup_path, "/sys/fs/cgroup/app");
  auto by_id = parse({"observe", "--container-id", "containerd://3026feb8"});
  ASSERT_TRUE(by_id.options);
  EXPECT_EQ(by_id.options->container_id, "containerd://3026feb8");
}

TEST(ParseOptions, ObserveTargetOptionsExcludeEachOther) {
  EXPECT_EQ(parse({"observe", "--pid", "1", "--cgroup", "/a"}).exit_status, 2);
  EXPECT_EQ(
      parse({"observe", "--pid", "1", "--container-id", "abcd"}).exit_status,
      2);
  EXPECT_EQ(parse({"observe", "--cgroup", "/a", "--container-id", "abcd"})
                .exit_status,
            2);
}

TEST(ParseOptions, IntervalLongerThanWindowIsRejected) {
  auto parsed = parse(
      {"observe", "--pid", "1", "--window", "10ms", "--interval", "20ms"});
  EXPECT_FALSE(parsed.options);
  EXPECT_EQ(parsed.exit_status, 2);
}

TEST(ParseOptions, EngineTicks) {
  struct Case {
    const char* name;
    std::vector<const char*> extra;
    int64_t idle_us;
    int64_t hot_us;
    bool realtime;
  };
  const std::vector<Case> cases = {
      {"defaults", {}, 600, 300, true},
      {"longer idle tick", {"--interval", "2ms"}, 2'000, 300, true},
      {"idle tick shorter than the hot one",
       {"--interval", "200us"},
       200,
       200,
       true},
      {"low cost", {"--low-cost"}, 10'000, 1'000, false},
      {"low cost with an interval",
       {"--low-cost", "--interval", "5ms"},
       5'000,
       1'000,
       false},
      {"low cost with realtime",
       {"--low-cost", "--realtime"},
       10'000,
       1'000,
       true},
      {"no realtime", {"--no-realtime"}, 600, 300, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<const char*> args = {"observe", "--pid", "1"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    auto parsed = parse(args);
    ASSERT_TRUE(parsed.options);
    EXPECT_EQ(parsed.options->interval.count(), c.idle_us);
    EXPECT_EQ(parsed.options->hot_interval.count(), c.hot_us);
    EXPECT_EQ(parsed.options->realtime, c.realtime);
  }
}

TEST(ParseOptions, RealtimeAndNoRealtimeConflict) {
  auto parsed = parse({"observe", "--pid", "1", "--realtime", "--no-realtime"});
  EXPECT_FALSE(parsed.options);
  EXPECT_EQ(parsed.exit_status, 2);
}

TEST(ParseOptions, HelpExitsZero) {
  auto parsed = parse({"run", "--help"});
  EXPECT_FALSE(parsed.options);
  EXPECT_EQ(parsed.exit_status, 0);
}

TEST(ParseOptions, UnknownCommandIsUsageError) {
  EXPECT_EQ(parse({"watch"}).exit_status, 2);
}

TEST(ParseOptions, TopKOutOfRangeIsRejected) {
  EXPECT_EQ(parse({"demo", "--top-k", "0"}).exit_status, 2);
  EXPECT_EQ(parse({"demo", "--top-k", "101"}).exit_status, 2);
}

TEST(ParseOptions, BackendIsChecked) {
  EXPECT_EQ(parse({"demo", "--backend", "kprobe"}).exit_status, 2);
  auto parsed = parse({"demo", "--backend", "netlink"});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->backend, "netlink");
  EXPECT_EQ(parse({"demo"}).options->backend, "auto");
}

TEST(ParseOptions, AnalyzeTakesOneFile) {
  auto parsed = parse({"analyze", "capture.json", "--top-k", "5"});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->capture_file, "capture.json");
  EXPECT_EQ(parsed.options->top_k, 5);
  EXPECT_EQ(parse({"analyze"}).exit_status, 2);
}

}  // namespace
}  // namespace entrytrace
