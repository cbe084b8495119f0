#include "poller/process_tracker.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace entrytrace {
namespace {

// Builds a snapshot of a member process.
ProcessSnapshot make_snapshot(int32_t host_pid, uint64_t start_ticks,
                              int32_t ns_pid, int32_t host_ppid,
                              std::string exe, std::vector<std::string> argv,
                              uint64_t start_stack) {
  ProcessSnapshot snapshot;
  snapshot.id = ProcessId{host_pid, start_ticks};
  snapshot.ns_pid = ns_pid;
  snapshot.host_ppid = host_ppid;
  snapshot.image.exe = std::move(exe);
  snapshot.image.exe_known = !snapshot.image.exe.empty();
  snapshot.image.argv = std::move(argv);
  snapshot.image.comm =
      snapshot.image.argv.empty() ? "" : snapshot.image.argv[0].substr(0, 15);
  snapshot.image.start_stack = start_stack;
  return snapshot;
}

ProcessSnapshot shell(uint64_t stack = 1000) {
  return make_snapshot(100, 50, 1, 10, "/usr/bin/dash",
                       {"/bin/sh", "-c", "sleep 1; exec app"}, stack);
}

// Kinds of the observations, for compact checks.
std::vector<ObservationKind> kinds(const std::vector<Observation>& list) {
  std::vector<ObservationKind> result;
  for (const Observation& observation : list) {
    result.push_back(observation.kind);
  }
  return result;
}

using Kind = ObservationKind;

TEST(AssessReadiness, Cases) {
  ProcessImage parent = shell().image;
  ProcessImage same = parent;
  same.start_stack = 0;
  EXPECT_EQ(assess_readiness(same, &parent), Readiness::kParentImage);

  ProcessImage execing = parent;
  execing.argv.clear();
  EXPECT_EQ(assess_readiness(execing, &parent), Readiness::kExecInProgress);

  ProcessImage other =
      make_snapshot(1, 1, 1, 0, "/usr/bin/sleep", {"sleep", "1"}, 5).image;
  EXPECT_EQ(assess_readiness(other, &parent), Readiness::kReady);
  EXPECT_EQ(assess_readiness(parent, nullptr), Readiness::kReady);

  ProcessImage exiting;
  EXPECT_EQ(assess_readiness(exiting, nullptr), Readiness::kExiting);
}

struct ExecCase {
  std::string name;
  ProcessImage before;
  ProcessImage after;
  bool exec;
};

TEST(IsExec, Table) {
  ProcessImage base = shell().image;
  auto with = [&](auto change) {
    ProcessImage image = base;
    change(image);
    return image;
  };
  auto hidden = [](ProcessImage image) {
    image.start_stack = 0;
    return image;
  };

  const std::vector<ExecCase> cases = {
      {"nothing changed", base, base, false},
      {"new exe", base, with([](ProcessImage& i) {
         i.exe = "/usr/bin/gosu";
         i.start_stack = 2000;
       }),
       true},
      {"same exe and argv, new stack (re-exec)", base,
       with([](ProcessImage& i) { i.start_stack = 2000; }), true},
      {"title rewrite keeps the stack", base,
       with([](ProcessImage& i) { i.argv = {"nginx: master process"}; }),
       false},
      {"comm renamed by prctl", base,
       with([](ProcessImage& i) { i.comm = "worker"; }), false},
      {"argv changed, stack hidden", hidden(base),
       hidden(with([](ProcessImage& i) { i.argv = {"app"}; })), true},
      {"comm changed, exe and stack hidden", with([](ProcessImage& i) {
         i.exe_known = false;
         i.exe.clear();
         i.start_stack = 0;
       }),
       with([](ProcessImage& i) {
         i.exe_known = false;
         i.exe.clear();
         i.start_stack = 0;
         i.comm = "app";
       }),
       true},
      {"deleted flag only", base,
       with([](ProcessImage& i) { i.exe_deleted = true; }), false},
  };
  for (const ExecCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(is_exec(c.before, c.after), c.exec);
  }
}

TEST(ProcessTracker, ReadyProcessIsSeenAtOnce) {
  ProcessTracker tracker;
  tracker.see(shell(), 'S', 0);
  std::vector<Observation> list = tracker.take_observations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].kind, Kind::kProcessSeen);
  ASSERT_TRUE(list[0].snapshot.has_value());
  EXPECT_EQ(list[0].snapshot->ns_pid, 1);
  EXPECT_EQ(list[0].snapshot->ns_ppid, 0);
  EXPECT_EQ(tracker.init_host_pid(), 100);
}

//   sh (100, ns 1)
//   └── fork (101): sh's image at 10 ms, sleep at 20 ms
TEST(ProcessTracker, ForkedChildWaitsForExec) {
  ProcessTracker tracker;
  tracker.see(shell(), 'S', 0);

  ProcessSnapshot forked = shell();
  forked.id = ProcessId{101, 60};
  forked.ns_pid = 2;
  forked.host_ppid = 100;
  tracker.see(forked, 'S', 10'000);
  EXPECT_EQ(tracker.observations().size(), 1u);

  ProcessSnapshot execd =
      make_snapshot(101, 60, 2, 100, "/usr/bin/sleep", {"sleep", "1"}, 3000);
  tracker.see(execd, 'S', 20'000);
  std::vector<Observation> list = tracker.take_observations();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].kind, Kind::kProcessSeen);
  EXPECT_EQ(list[1].time_us, 10'000) << "first sight, not the exec poll";
  EXPECT_EQ(list[1].snapshot->image.exe, "/usr/bin/sleep");
  EXPECT_EQ(list[1].snapshot->ns_ppid, 1);
}

TEST(ProcessTracker, EmptyCmdlineWaitsForExec) {
  ProcessTracker tracker;
  tracker.see(shell(), 'S', 0);
  ProcessSnapshot execing =
      make_snapshot(101, 60, 2, 100, "/usr/bin/sleep", {}, 0);
  tracker.see(execing, 'S', 10'000);
  EXPECT_EQ(tracker.observations().size(), 1u);
  tracker.see(
      make_snapshot(101, 60, 2, 100, "/usr/bin/sleep", {"sleep", "1"}, 3000),
      'S', 20'000);
  std::vector<Observation> list = tracker.take_observations();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].snapshot->image.argv,
            (std::vector<std::string>{"sleep", "1"}));
}

//   nginx master (100)
//   └── worker (101), same image on every poll: a fork without exec
TEST(ProcessTracker, ForkWithoutExecIsEmittedAfterPolls) {
  ProcessTracker tracker;
  tracker.see(shell(), 'S', 0);
  ProcessSnapshot worker = shell();
  worker.id = ProcessId{101, 60};
  worker.ns_pid = 2;
  worker.host_ppid = 100;
  for (int poll = 1; poll <= kMaxNotReadyPolls; ++poll) {
    tracker.see(worker, 'S', poll * 10'000);
    EXPECT_EQ(tracker.observations().size(), 1u) << "poll " << poll;
  }
  tracker.see(worker, 'S', 100'000);
  std::vector<Observation> list = tracker.take_observations();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].kind, Kind::kProcessSeen);
  EXPECT_EQ(list[1].time_us, 10'000);
  EXPECT_EQ(list[1].snapshot->image.argv, shell().image.argv);
}

// Polls 300 us apart: the poll count alone would give up on the child
// long before an exec that comes 2 ms after the fork.
TEST(ProcessTracker, NotReadyLimitIsAlsoATime) {
  ProcessTracker tracker;
  tracker.set_not_ready_limit_us(25'000);
  tracker.see(shell(), 'S', 0);
  ProcessSnapshot forked = shell();
  forked.id = ProcessId{101, 60};
  forked.ns_pid = 2;
  forked.host_ppid = 100;
  tracker.see(forked, 'S', 1'000);
  for (int64_t now_us = 1'300; now_us < 26'000; now_us += 300) {
    tracker.see_unchanged(101, now_us);
    ASSERT_EQ(tracker.observations().size(), 1u) << "at " << now_us << " us";
  }
  tracker.see_unchanged(101, 26'000);
  std::vector<Observation> list = tracker.take_observations();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].kind, Kind::kProcessSeen);
  EXPECT_EQ(list[1].time_us, 1'000);
  EXPECT_EQ(list[1].snapshot->image.argv, shell().image.argv);
}

TEST(ProcessTracker, UnchangedReadOfReadyProcessIsNoOp) {
  ProcessTracker tracker;
  tracker.see(shell(), 'S', 0);
  tracker.see_unchanged(100, 50'000);
  tracker.see_unchanged(999, 50'000);
  EXPECT_EQ(kinds(tracker.take_observations()),
            (std::vector<Kind>{Kind::kProcessSeen}));
}

TEST(ProcessTracker, ChildExitingBeforeExecIsCountedOnly) {
  ProcessTracker tracker;
  tracker.see(shell(), 'S', 0);
  ProcessSnapshot forked = shell();
  forked.id = ProcessId{101, 60};
  forked.host_ppid = 100;
  tracker.see(forked, 'S', 10'000);
  tracker.vanish(101, 20'000);
  EXPECT_EQ(kinds(tracker.take_observations()),
            (std::vector<Kind>{Kind::kProcessSeen}));
  EXPECT_EQ(tracker.exited_before_ready(), 1);
}

// One pid, one start tick, three images: sh -> gosu -> sh again.
TEST(ProcessTracker, ExecChainKeepsIdentity) {
  ProcessTracker tracker;
  tracker.see(shell(1000), 'S', 0);
  tracker.see(make_snapshot(100, 50, 1, 10, "/usr/local/bin/gosu",
                            {"gosu", "app", "/bin/sh"}, 2000),
              'S', 10'000);
  tracker.see(shell(3000), 'S', 20'000);
  tracker.see(shell(3000), 'S', 30'000);
  std::vector<Observation> list = tracker.take_observations();
  EXPECT_EQ(kinds(list),
            (std::vector<Kind>{Kind::kProcessSeen, Kind::kImageChanged,
                               Kind::kImageChanged}));
  for (const Observation& observation : list) {
    EXPECT_EQ(observation.process, (ProcessId{100, 50}));
  }
}

TEST(ProcessTracker, ExecInProgressOfKnownProcessWaits) {
  ProcessTracker tracker;
  tracker.see(shell(1000), 'S', 0);
  tracker.see(make_snapshot(100, 50, 1, 10, "/usr/bin/app", {}, 0), 'S',
              10'000);
  EXPECT_EQ(tracker.observations().size(), 1u);
  tracker.see(make_snapshot(100, 50, 1, 10, "/usr/bin/app", {"app"}, 4000), 'S',
              20'000);
  std::vector<Observation> list = tracker.take_observations();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].kind, Kind::kImageChanged);
  EXPECT_EQ(list[1].snapshot->image.argv, (std::vector<std::string>{"app"}));
}

TEST(ProcessTracker, PidReuseIsExitThenSeen) {
  ProcessTracker tracker;
  tracker.see(shell(), 'S', 0);
  ProcessSnapshot reused =
      make_snapshot(100, 90, 1, 10, "/usr/bin/other", {"other"}, 7000);
  tracker.see(reused, 'S', 10'000);
  std::vector<Observation> list = tracker.take_observations();
  ASSERT_EQ(kinds(list),
            (std::vector<Kind>{Kind::kProcessSeen, Kind::kProcessExited,
                               Kind::kProcessSeen}));
  EXPECT_EQ(list[1].process, (ProcessId{100, 50}));
  EXPECT_EQ(list[2].process, (ProcessId{100, 90}));
}

TEST(ProcessTracker, ZombieExitsOnce) {
  ProcessTracker tracker;
  tracker.see(shell(), 'S', 0);
  ProcessSnapshot zombie = make_snapshot(100, 50, 1, 10, "", {}, 0);
  tracker.see(zombie, 'Z', 10'000);
  tracker.see(zombie, 'Z', 20'000);
  tracker.vanish(100, 30'000);
  std::vector<Observation> list = tracker.take_observations();
  ASSERT_EQ(kinds(list),
            (std::vector<Kind>{Kind::kProcessSeen, Kind::kProcessExited}));
  EXPECT_EQ(list[1].time_us, 10'000);
  EXPECT_FALSE(tracker.has_live_members());
}

TEST(ProcessTracker, ZombieAtFirstSightIsNotReported) {
  ProcessTracker tracker;
  tracker.see(make_snapshot(100, 50, 1, 10, "", {}, 0), 'Z', 0);
  EXPECT_TRUE(tracker.observations().empty());
  EXPECT_EQ(tracker.zombies_at_first_sight(), 1);
}

TEST(ProcessTracker, SocketsEmittedOnChangeOnly) {
  ProcessTracker tracker;
  tracker.see(shell(), 'S', 0);
  ListeningSocket socket;
  socket.inode = 31337;
  socket.net_ns = 4;
  socket.address = "0.0.0.0";
  socket.port = 6379;

  tracker.set_sockets(100, {}, 1'000);
  tracker.set_sockets(100, {socket}, 2'000);
  tracker.set_sockets(100, {socket, socket}, 3'000);
  tracker.set_sockets(100, {}, 4'000);
  std::vector<Observation> list = tracker.take_observations();
  ASSERT_EQ(kinds(list),
            (std::vector<Kind>{Kind::kProcessSeen, Kind::kSocketsSeen,
                               Kind::kSocketsSeen}));
  EXPECT_EQ(list[1].sockets.size(), 1u);
  EXPECT_EQ(list[1].time_us, 2'000);
  EXPECT_TRUE(list[2].sockets.empty());
}

TEST(ProcessTracker, FinishEmitsPendingProcesses) {
  ProcessTracker tracker;
  tracker.see(shell(), 'S', 0);
  ProcessSnapshot forked = shell();
  forked.id = ProcessId{101, 60};
  forked.host_ppid = 100;
  tracker.see(forked, 'S', 10'000);
  tracker.finish();
  EXPECT_EQ(kinds(tracker.take_observations()),
            (std::vector<Kind>{Kind::kProcessSeen, Kind::kProcessSeen}));
}

TEST(ProcessTracker, ReusedParentPidIsNotTheParent) {
  ProcessTracker tracker;
  // Pid 100 started at tick 500, after its supposed child (tick 60).
  tracker.see(make_snapshot(100, 500, 1, 10, "/usr/bin/dash", {"sh"}, 1), 'S',
              0);
  ProcessSnapshot child =
      make_snapshot(101, 60, 2, 100, "/usr/bin/dash", {"sh"}, 1);
  tracker.see(child, 'S', 0);
  std::vector<Observation> list = tracker.take_observations();
  ASSERT_EQ(list.size(), 2u) << "not held as a fork of a later process";
  EXPECT_EQ(list[1].snapshot->ns_ppid, 0);
}

}  // namespace
}  // namespace entrytrace
