#include "poller/read_schedule.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace entrytrace {
namespace {

constexpr int64_t kTick = 300;

// One step of a schedule story: a read at time_us with its outcome, and the
// expected schedule afterwards.
struct Step {
  int64_t time_us;
  bool changed;
  bool pending;
  bool hot;
  int64_t next_due_us;
};

void run_story(const std::vector<Step>& steps, int64_t cap_us = 20'000) {
  ReadScheduleParams params;
  ReadSchedule schedule(0);
  for (const Step& step : steps) {
    SCOPED_TRACE("read at " + std::to_string(step.time_us) + " us");
    EXPECT_TRUE(schedule.due(step.time_us));
    schedule.record_read(params, step.time_us, step.changed, step.pending,
                         cap_us);
    EXPECT_EQ(schedule.hot(), step.hot);
    EXPECT_EQ(schedule.next_due_us(), step.next_due_us);
  }
}

TEST(ReadSchedule, NewProcessIsDueAtOnce) {
  ReadSchedule schedule(5'000);
  EXPECT_TRUE(schedule.hot());
  EXPECT_TRUE(schedule.due(5'000));
}

TEST(ReadSchedule, PendingStaysHotOnEveryTick) {
  // Still the parent's image 3 ms after the fork: read on every tick.
  std::vector<Step> steps;
  for (int64_t t = 0; t <= 3'000; t += kTick) {
    steps.push_back({t, false, true, true, t});
  }
  run_story(steps);
}

TEST(ReadSchedule, TailThenBackoffDoubling) {
  run_story({
      // The first exec at 600 us: hot for 1.5 ms after it.
      {600, true, false, true, 600},
      {900, false, false, true, 900},
      {1'800, false, false, true, 1'800},
      // 2.1 ms: the tail is over; backoff 1, 2, 4, 8, 16 ms, then the cap.
      {2'100, false, false, false, 3'100},
      {3'100, false, false, false, 5'100},
      {5'100, false, false, false, 9'100},
      {9'100, false, false, false, 17'100},
      {17'100, false, false, false, 33'100},
      {33'100, false, false, false, 53'100},
      {53'100, false, false, false, 73'100},
  });
}

TEST(ReadSchedule, SecondExecInTailRestartsIt) {
  // sh -c 'exec prog': sh at 0, prog 1.2 ms later, inside the tail.
  run_story({
      {0, true, false, true, 0},
      {1'200, true, false, true, 1'200},
      {2'600, false, false, true, 2'600},
      {2'700, false, false, false, 3'700},
  });
}

TEST(ReadSchedule, ChangeDuringBackoffMakesItHotAgain) {
  run_story({
      {0, true, false, true, 0},
      {1'500, false, false, false, 2'500},
      {2'500, false, false, false, 4'500},
      // A later exec of the long-lived process.
      {4'500, true, false, true, 4'500},
      {6'000, false, false, false, 7'000},
  });
}

TEST(ReadSchedule, CapBoundsBackoff) {
  run_story(
      {
          {0, true, false, true, 0},
          {1'500, false, false, false, 2'500},
          {2'500, false, false, false, 4'500},
          {4'500, false, false, false, 7'500},
          {7'500, false, false, false, 10'500},
      },
      3'000);
}

TEST(ReadSchedule, StopIsNeverDue) {
  ReadSchedule schedule(0);
  schedule.stop();
  EXPECT_FALSE(schedule.hot());
  EXPECT_FALSE(schedule.due(int64_t{1} << 50));
}

TEST(BackoffCap, GrowsWithTrackedProcesses) {
  ReadScheduleParams params;
  struct Case {
    size_t processes;
    int64_t cap_us;
  };
  params.backoff_max_us = 20'000;
  for (Case c : {Case{0, 20'000}, Case{10, 20'000}, Case{100, 20'000},
                 Case{101, 20'200}, Case{1'000, 200'000}}) {
    SCOPED_TRACE(std::to_string(c.processes) + " processes");
    EXPECT_EQ(backoff_cap_us(params, c.processes), c.cap_us);
  }
}

TEST(BackoffCap, DefaultIsLongerThanTheTailByFar) {
  ReadScheduleParams params;
  EXPECT_EQ(backoff_cap_us(params, 50), 150'000);
  EXPECT_EQ(backoff_cap_us(params, 1'000), 200'000);
}

TEST(ReadSchedule, WakeMakesBackedOffProcessDue) {
  ReadScheduleParams params;
  ReadSchedule schedule(0);
  schedule.record_read(params, 0, true, false, 20'000);
  schedule.record_read(params, 2'000, false, false, 20'000);
  ASSERT_EQ(schedule.next_due_us(), 3'000);
  schedule.record_read(params, 3'000, false, false, 20'000);
  ASSERT_FALSE(schedule.due(4'000));

  schedule.wake(4'000);
  EXPECT_TRUE(schedule.due(4'000));
  EXPECT_FALSE(schedule.hot());
  // The backoff goes on from where it was: 4 ms after this read.
  schedule.record_read(params, 4'000, false, false, 20'000);
  EXPECT_EQ(schedule.next_due_us(), 8'000);
}

TEST(ReadSchedule, WakeLeavesStoppedProcessStopped) {
  ReadSchedule schedule(0);
  schedule.stop();
  schedule.wake(1'000);
  EXPECT_FALSE(schedule.due(1'000));
}

TEST(ReadSchedule, WakeNeverDelays) {
  ReadScheduleParams params;
  ReadSchedule schedule(0);
  schedule.record_read(params, 0, true, false, 20'000);
  schedule.record_read(params, 2'000, false, false, 20'000);
  schedule.wake(5'000);
  EXPECT_EQ(schedule.next_due_us(), 3'000);
}

TEST(SocketSchedule, DueAtOnceThenDoublesToCap) {
  ReadScheduleParams params;
  params.socket_first_us = 50'000;
  params.socket_max_us = 300'000;
  SocketSchedule schedule;
  EXPECT_TRUE(schedule.due(0));
  struct Case {
    int64_t read_us;
    int64_t next_due_us;
  };
  for (Case c : {Case{0, 50'000}, Case{50'000, 150'000}, Case{150'000, 350'000},
                 Case{350'000, 650'000}, Case{650'000, 950'000}}) {
    SCOPED_TRACE("read at " + std::to_string(c.read_us) + " us");
    ASSERT_TRUE(schedule.due(c.read_us));
    schedule.record_read(params, c.read_us, false);
    EXPECT_EQ(schedule.next_due_us(), c.next_due_us);
  }
}

TEST(SocketSchedule, ChangeFallsBackToFirstSpacing) {
  ReadScheduleParams params;
  params.socket_first_us = 50'000;
  params.socket_max_us = 1'000'000;
  SocketSchedule schedule;
  schedule.record_read(params, 0, false);
  schedule.record_read(params, 50'000, false);
  schedule.record_read(params, 150'000, false);
  ASSERT_EQ(schedule.next_due_us(), 350'000);
  // A new listener: the next read comes after the first spacing again.
  schedule.record_read(params, 350'000, true);
  EXPECT_EQ(schedule.next_due_us(), 400'000);
}

TEST(SocketSchedule, RestartMakesItDueNow) {
  ReadScheduleParams params;
  SocketSchedule schedule;
  schedule.record_read(params, 0, false);
  schedule.record_read(params, params.socket_first_us, false);
  ASSERT_FALSE(schedule.due(params.socket_first_us + 1));
  // An exec: the new program is read at the next round.
  schedule.restart(params.socket_first_us + 1);
  EXPECT_TRUE(schedule.due(params.socket_first_us + 1));
  schedule.record_read(params, params.socket_first_us + 1, false);
  EXPECT_EQ(schedule.next_due_us(), 2 * params.socket_first_us + 1);
}

}  // namespace
}  // namespace entrytrace
