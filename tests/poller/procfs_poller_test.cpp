#include "poller/procfs_poller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/poller/fixture_root.h"

namespace entrytrace {
namespace {

using Kind = ObservationKind;

constexpr uint64_t kTargetPidNs = 4026532500;
constexpr uint64_t kTargetNetNs = 4026532600;

Target fixture_target() {
  Target target;
  target.description = "pid 4242";
  target.host_pid = 4242;
  target.pid_ns = kTargetPidNs;
  target.pid_ns_depth = 1;
  return target;
}

std::vector<Kind> kinds(const std::vector<Observation>& list) {
  std::vector<Kind> result;
  for (const Observation& observation : list) {
    result.push_back(observation.kind);
  }
  return result;
}

std::vector<int32_t> host_pids(const std::vector<Observation>& list) {
  std::vector<int32_t> result;
  for (const Observation& observation : list) {
    result.push_back(observation.process.host_pid);
  }
  return result;
}

bool has_line_starting(const std::vector<std::string>& lines,
                       const std::string& prefix) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.rfind(prefix, 0) == 0;
  });
}

// Polls each tree of a story in turn, 10 ms apart.
std::vector<Observation> poll_story(ProcfsPoller& poller, FixtureRoot& root,
                                    const std::vector<std::string>& trees) {
  int64_t now_us = 0;
  for (const std::string& tree : trees) {
    root.switch_to(tree);
    Status polled = poller.poll(now_us);
    EXPECT_TRUE(polled.ok()) << tree;
    now_us += 10'000;
  }
  return poller.take_observations();
}

// pid 4242 (ns 1), one start tick, four images:
//   sh docker-entrypoint.sh (uid 0) -> gosu redis ... (uid 0)
//     -> sh docker-entrypoint.sh (uid 999) -> redis-server *:6379 (uid 999)
TEST(ProcfsPoller, ExecChainIsOneIdentityFourImages) {
  FixtureRoot root("exec-chain/t0");
  ProcfsPoller poller(fixture_target(), root.path());
  std::vector<Observation> list = poll_story(
      poller, root,
      {"exec-chain/t0", "exec-chain/t1", "exec-chain/t2", "exec-chain/t3"});

  ASSERT_EQ(kinds(list),
            (std::vector<Kind>{Kind::kProcessSeen, Kind::kImageChanged,
                               Kind::kImageChanged, Kind::kImageChanged}));
  for (const Observation& observation : list) {
    EXPECT_EQ(observation.process, (ProcessId{4242, 89241}));
    ASSERT_TRUE(observation.snapshot.has_value());
    EXPECT_EQ(observation.snapshot->ns_pid, 1);
    EXPECT_EQ(observation.snapshot->ns_ppid, 0);
  }
  EXPECT_EQ(list[0].snapshot->image.exe, "/usr/bin/dash");
  EXPECT_EQ(list[0].snapshot->uid, 0u);
  EXPECT_EQ(list[1].snapshot->image.exe, "/usr/local/bin/gosu");
  EXPECT_EQ(list[2].snapshot->image.exe, "/usr/bin/dash");
  EXPECT_EQ(list[2].snapshot->image.argv, list[0].snapshot->image.argv)
      << "a re-exec with the same argv is still an exec";
  EXPECT_EQ(list[2].snapshot->uid, 999u);
  EXPECT_EQ(list[3].snapshot->image.argv,
            (std::vector<std::string>{"redis-server *:6379"}));
  EXPECT_EQ(list[3].time_us, 30'000);
  EXPECT_EQ(poller.init_host_pid(), 4242);
}

TEST(ProcfsPoller, OutsidersAreNotReported) {
  FixtureRoot root("thread");
  ProcfsPoller poller(fixture_target(), root.path());
  std::vector<Observation> list = poll_story(poller, root, {"thread"});
  // Host pid 1 and pid 1 of another container are outside; 4243 is a
  // thread of 4242.
  EXPECT_EQ(host_pids(list), (std::vector<int32_t>{4242}));
}

TEST(ProcfsPoller, ListeningSocketsOfTheProcess) {
  FixtureRoot root("exec-chain/t3");
  ProcfsPoller poller(fixture_target(), root.path());
  ASSERT_TRUE(poller.poll(0).ok());
  poller.poll_sockets(5'000);
  poller.poll_sockets(15'000);
  std::vector<Observation> list = poller.take_observations();
  ASSERT_EQ(kinds(list),
            (std::vector<Kind>{Kind::kProcessSeen, Kind::kSocketsSeen}));
  const std::vector<ListeningSocket>& sockets = list[1].sockets;
  ASSERT_EQ(sockets.size(), 2u) << "the connected socket is not listening";
  EXPECT_EQ(sockets[0].protocol, SocketProtocol::kTcp);
  EXPECT_EQ(sockets[0].address, "0.0.0.0");
  EXPECT_EQ(sockets[0].port, 6379);
  EXPECT_EQ(sockets[0].inode, 31337u);
  EXPECT_EQ(sockets[0].net_ns, kTargetNetNs);
  EXPECT_EQ(sockets[1].protocol, SocketProtocol::kTcp6);
  EXPECT_EQ(sockets[1].address, "::");
  EXPECT_EQ(sockets[1].inode, 31338u);
}

// t0: 4300 is "worker --once" (start 90000); t1: 4300 is "cleanup"
// (start 95000).
TEST(ProcfsPoller, PidReuseIsTwoIdentities) {
  FixtureRoot root("pid-reuse/t0");
  ProcfsPoller poller(fixture_target(), root.path());
  std::vector<Observation> list =
      poll_story(poller, root, {"pid-reuse/t0", "pid-reuse/t1"});
  ASSERT_EQ(kinds(list),
            (std::vector<Kind>{Kind::kProcessSeen, Kind::kProcessSeen,
                               Kind::kProcessExited, Kind::kProcessSeen}));
  EXPECT_EQ(list[1].process, (ProcessId{4300, 90000}));
  EXPECT_EQ(list[1].snapshot->ns_pid, 7);
  EXPECT_EQ(list[1].snapshot->ns_ppid, 1);
  EXPECT_EQ(list[2].process, (ProcessId{4300, 90000}));
  EXPECT_EQ(list[3].process, (ProcessId{4300, 95000}));
  EXPECT_EQ(list[3].snapshot->ns_pid, 12);
  EXPECT_EQ(list[3].snapshot->image.argv,
            (std::vector<std::string>{"/usr/bin/cleanup"}));
}

// t0: 4310 sleeps; t1: 4310 is a zombie and 4311 is one at first sight.
TEST(ProcfsPoller, ZombieIsAnExit) {
  FixtureRoot root("zombie/t0");
  ProcfsPoller poller(fixture_target(), root.path());
  std::vector<Observation> list =
      poll_story(poller, root, {"zombie/t0", "zombie/t1", "zombie/t1"});
  ASSERT_EQ(kinds(list),
            (std::vector<Kind>{Kind::kProcessSeen, Kind::kProcessSeen,
                               Kind::kProcessExited}));
  EXPECT_EQ(list[2].process, (ProcessId{4310, 91000}));
  EXPECT_EQ(list[2].time_us, 10'000);
  std::vector<std::string> diagnostics = poller.diagnostics();
  EXPECT_TRUE(has_line_starting(diagnostics,
                                "1 process exited before it could be read"))
      << "4311 was a zombie at first sight";
}

TEST(ProcfsPoller, VanishedMemberExits) {
  FixtureRoot root("zombie/t0");
  ProcfsPoller poller(fixture_target(), root.path());
  std::vector<Observation> list =
      poll_story(poller, root, {"zombie/t0", "exec-chain/t0"});
  // 4310 is gone from the second tree. 4242 keeps its start tick and stack
  // start there and only its argv differs: a title rewrite, not an exec.
  ASSERT_EQ(kinds(list),
            (std::vector<Kind>{Kind::kProcessSeen, Kind::kProcessSeen,
                               Kind::kProcessExited}));
  EXPECT_EQ(list[2].process.host_pid, 4310);
  EXPECT_EQ(list[2].time_us, 10'000);
}

//   run.sh (4242, ns 1)
//   └── inner-init (4400, ns 3; nested PID namespace, ns/pid not openable)
//       └── inner-app (4401, ns 4; no ns/pid link)
//   nginx (5000, another container)
//   └── worker (5001; no ns/pid link): outside, through its parent
TEST(ProcfsPoller, NestedNamespaceByAncestry) {
  FixtureRoot root("nested");
  ProcfsPoller poller(fixture_target(), root.path());
  std::vector<Observation> list = poll_story(poller, root, {"nested"});
  ASSERT_EQ(host_pids(list), (std::vector<int32_t>{4242, 4400, 4401}));
  EXPECT_EQ(list[1].snapshot->ns_pid, 3);
  EXPECT_EQ(list[1].snapshot->ns_ppid, 1);
  EXPECT_EQ(list[2].snapshot->ns_pid, 4);
  EXPECT_EQ(list[2].snapshot->ns_ppid, 3);
  EXPECT_TRUE(has_line_starting(poller.diagnostics(), "1 process left out"));
}

// The tree "thread" contains 1, 4242, its thread 4243 and 5000 (another
// container). Probing by number reads 4242, skips the thread and the
// outsider, and counts the pids that do not exist as vanished.
TEST(ProcfsPoller, ProbeCountsOnlyVanishedPids) {
  FixtureRoot root("thread");
  ProcfsPoller poller(fixture_target(), root.path());
  poller.probe(4240, 4245, 0);
  poller.probe(5000, 5000, 0);
  EXPECT_EQ(host_pids(poller.take_observations()),
            (std::vector<int32_t>{4242}));
  EXPECT_EQ(poller.probed_pids(), 7);
  EXPECT_EQ(poller.probe_vanished(), 4) << "4240, 4241, 4244 and 4245";
}

TEST(ProcfsPoller, ProbeAfterListingReadsNothingTwice) {
  FixtureRoot root("thread");
  ProcfsPoller poller(fixture_target(), root.path());
  ASSERT_TRUE(poller.poll(0).ok());
  poller.probe(4242, 4243, 300);
  poller.refresh(600);
  EXPECT_EQ(kinds(poller.take_observations()),
            (std::vector<Kind>{Kind::kProcessSeen}));
  EXPECT_EQ(poller.probe_vanished(), 0);
}

// The tree "thread" read as a procfs of the target's namespace: it lists
// 1, 4242, its thread 4243 and 5000. Gap probes after pid 4990 open the
// unlisted pids 4991..4999 by number and count each as vanished. A second
// listing with the same highest pid opens nothing more.
TEST(ProcfsPoller, ListingGapsAreProbed) {
  FixtureRoot root("thread");
  Target target = fixture_target();
  target.proc_in_target_ns = true;
  target.pid_ns_depth = 0;
  ProcfsPoller poller(target, root.path());
  poller.probe_gaps_after(4990);

  ASSERT_TRUE(poller.poll(0).ok());
  EXPECT_EQ(poller.probed_pids(), 9);
  EXPECT_EQ(poller.probe_vanished(), 9);
  ASSERT_TRUE(poller.poll(10'000).ok());
  EXPECT_EQ(poller.probed_pids(), 9);
  EXPECT_EQ(host_pids(poller.take_observations()),
            (std::vector<int32_t>{1, 4242, 5000}));
}

// Without a known highest pid the first listing sets it, so pids below it
// are never taken for exits.
TEST(ProcfsPoller, FirstListingStartsGapProbes) {
  FixtureRoot root("thread");
  Target target = fixture_target();
  target.proc_in_target_ns = true;
  target.pid_ns_depth = 0;
  ProcfsPoller poller(target, root.path());
  poller.probe_gaps_after(0);

  ASSERT_TRUE(poller.poll(0).ok());
  EXPECT_EQ(poller.probed_pids(), 0);
}

// A gap wider than kMaxGapProbe is not opened but counted.
TEST(ProcfsPoller, WideListingGapIsCounted) {
  FixtureRoot root("thread");
  Target target = fixture_target();
  target.proc_in_target_ns = true;
  target.pid_ns_depth = 0;
  ProcfsPoller poller(target, root.path());
  poller.probe_gaps_after(4000);

  ASSERT_TRUE(poller.poll(0).ok());
  EXPECT_EQ(poller.probed_pids(), 0);
  EXPECT_TRUE(has_line_starting(
      poller.diagnostics(),
      "999 pids allocated between two listings were not opened"));
}

TEST(ProcfsPoller, LiveMembersOfTarget) {
  FixtureRoot root("exec-chain/t0");
  ProcfsPoller poller(fixture_target(), root.path());
  ASSERT_TRUE(poller.poll(0).ok());
  EXPECT_TRUE(poller.has_live_members());

  Target other = fixture_target();
  other.pid_ns = 1;  // a namespace no process of the tree is in
  ProcfsPoller empty(other, root.path());
  ASSERT_TRUE(empty.poll(0).ok());
  EXPECT_FALSE(empty.has_live_members());
  EXPECT_TRUE(empty.take_observations().empty());
}

}  // namespace
}  // namespace entrytrace
