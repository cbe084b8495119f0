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
//
// SocketSchedule spaces the fd/ reads that find a process's listening
// sockets in the same way, on a slower scale.
#pragma once

#include <cstddef>
#include <cstdint>

namespace entrytrace {

struct ReadScheduleParams {
  int64_t hot_tail_us = 1500;
  int64_t backoff_first_us = 1000;
  // Cap for a few tracked processes; see backoff_cap_us(). A later exec of
  // a long-lived process is seen at most this long after it happened, and
  // an image that lives shorter than this after such an exec can be missed.
  int64_t backoff_max_us = 150'000;
  // Added to the cap per tracked process, so that many long-lived processes
  // cost about the same number of reads per second as a few.
  int64_t backoff_per_process_us = 200;
  // First and longest spacing of a process's fd/ reads for listening
  // sockets (SocketSchedule).
  int64_t socket_first_us = 50'000;
  int64_t socket_max_us = 1'000'000;
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
  // Makes a backed-off process due at now_us and leaves its backoff as it
  // is. Used when a new child of it appears: shells and supervisors fork
  // around their own execs, so the parent is worth a look then.
  void wake(int64_t now_us);

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

// When to read a process's fd/ again for listening sockets. Due at once for
// a new process and after each exec (restart()), because a program usually
// opens its listeners soon after it starts. Then the spacing doubles from
// socket_first_us up to socket_max_us while the reads find the same sockets,
// and falls back to socket_first_us when they change.
class SocketSchedule {
 public:
  // Makes the schedule due at now_us with the shortest spacing after.
  void restart(int64_t now_us);
  // Records a read at now_us; changed: it found other sockets than the
  // previous read.
  void record_read(const ReadScheduleParams& params, int64_t now_us,
                   bool changed);

  bool due(int64_t now_us) const { return now_us >= next_due_us_; }
  int64_t next_due_us() const { return next_due_us_; }

 private:
  int64_t next_due_us_ = 0;
  int64_t spacing_us_ = 0;
};

}  // namespace entrytrace
