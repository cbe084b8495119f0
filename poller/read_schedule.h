// When to re-read a member process's stat and cmdline to catch its execs.
// Pure: time is passed in, so tests drive it with fake time.
//
// An exec allocates no pid, so the pid counter does not show it. A process
// is "hot", and read on every tick, until its first exec is seen (before
// that it shows its parent's image or an empty cmdline). It stays hot for
// hot_tail_us after every change, because the second exec of
// `sh -c 'exec prog'` follows the first by about a millisecond. An exec comes
// 0.5 to 2 ms after the fork, so the schedule stays at every tick from the
// first sight. After the tail, reads back off from backoff_first_us, doubling
// up to a cap, to catch later execs of long-lived processes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace entrytrace {

struct ReadScheduleParams {
  int64_t hot_tail_us = 1500;
  int64_t backoff_first_us = 1000;
  // Cap for a few tracked processes; see backoff_cap_us().
  int64_t backoff_max_us = 20'000;
  // Added to the cap per tracked process, so that many long-lived processes
  // cost about the same number of reads per second as a few.
  int64_t backoff_per_process_us = 200;
};

// The backoff cap with tracked_processes live members: backoff_max_us, or
// tracked_processes * backoff_per_process_us when that is longer.
int64_t backoff_cap_us(const ReadScheduleParams& params,
                       size_t tracked_processes);

class ReadSchedule {
 public:
  // Starts hot: a process just seen is read on every tick.
  explicit ReadSchedule(int64_t now_us) : last_change_us_(now_us) {}

  // Records a read at now_us. changed: the reading differed from the
  // previous one (an exec, a first ready image, an exit). pending: the
  // process has not shown its own program yet, so it stays hot. cap_us is
  // the current backoff cap (backoff_cap_us()).
  void record_read(const ReadScheduleParams& params, int64_t now_us,
                   bool changed, bool pending, int64_t cap_us);

  // Stops reads: the process exited and only its reaping is left to see.
  void stop();

  // True when the process is to be read at a tick at now_us.
  bool due(int64_t now_us) const { return now_us >= next_due_us_; }
  // True while the process is read on every tick.
  bool hot() const { return hot_; }
  int64_t next_due_us() const { return next_due_us_; }

 private:
  int64_t last_change_us_;
  int64_t next_due_us_ = 0;
  int64_t backoff_us_ = 0;
  bool hot_ = true;
};

}  // namespace entrytrace
