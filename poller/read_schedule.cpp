#include "poller/read_schedule.h"

#include <algorithm>
#include <limits>

namespace entrytrace {

int64_t backoff_cap_us(const ReadScheduleParams& params,
                       size_t tracked_processes) {
  int64_t scaled =
      static_cast<int64_t>(tracked_processes) * params.backoff_per_process_us;
  return std::max(params.backoff_max_us, scaled);
}

void ReadSchedule::record_read(const ReadScheduleParams& params, int64_t now_us,
                               bool changed, bool pending, int64_t cap_us) {
  if (changed) {
    last_change_us_ = now_us;
  }
  if (pending || now_us - last_change_us_ < params.hot_tail_us) {
    // Due again at the next tick, whatever its length.
    hot_ = true;
    backoff_us_ = params.backoff_first_us;
    next_due_us_ = now_us;
    return;
  }

  hot_ = false;
  if (backoff_us_ == 0) {
    backoff_us_ = params.backoff_first_us;
  }
  next_due_us_ = now_us + std::min(backoff_us_, cap_us);
  backoff_us_ = std::min(backoff_us_ * 2, cap_us);
}

void ReadSchedule::stop() {
  hot_ = false;
  next_due_us_ = std::numeric_limits<int64_t>::max();
}

void ReadSchedule::wake(int64_t now_us) {
  if (next_due_us_ != std::numeric_limits<int64_t>::max()) {
    next_due_us_ = std::min(next_due_us_, now_us);
  }
}

void SocketSchedule::restart(int64_t now_us) {
  next_due_us_ = now_us;
  spacing_us_ = 0;
}

void SocketSchedule::record_read(const ReadScheduleParams& params,
                                 int64_t now_us, bool changed) {
  int64_t cap_us = std::max(params.socket_max_us, params.socket_first_us);
  if (changed || spacing_us_ == 0) {
    spacing_us_ = params.socket_first_us;
  }
  next_due_us_ = now_us + spacing_us_;
  spacing_us_ = std::min(spacing_us_ * 2, cap_us);
}

}  // namespace entrytrace
