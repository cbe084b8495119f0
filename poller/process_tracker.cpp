#include "poller/process_tracker.h"

#include <algorithm>
#include <utility>

#include "common/log.h"

namespace entrytrace {
namespace {

bool is_dead_state(char state) {
  return state == 'Z' || state == 'X';
}

bool same_program(const ProcessImage& image, const ProcessImage& parent) {
  if (image.argv != parent.argv) {
    return false;
  }
  if (image.exe_known && parent.exe_known) {
    return image.exe == parent.exe;
  }
  return true;
}

}  // namespace

Readiness assess_readiness(const ProcessImage& image,
                           const ProcessImage* parent_image) {
  if (image.argv.empty()) {
    return image.exe_known ? Readiness::kExecInProgress : Readiness::kExiting;
  }
  if (parent_image != nullptr && same_program(image, *parent_image)) {
    return Readiness::kParentImage;
  }
  return Readiness::kReady;
}

bool is_exec(const ProcessImage& before, const ProcessImage& after) {
  bool exe_known = before.exe_known && after.exe_known;
  if (exe_known && before.exe != after.exe) {
    return true;
  }
  bool stack_known = before.start_stack != 0 && after.start_stack != 0;
  if (stack_known) {
    return before.start_stack != after.start_stack;
  }
  if (before.argv != after.argv) {
    return true;
  }
  return !exe_known && before.comm != after.comm;
}

void ProcessTracker::see(ProcessSnapshot snapshot, char state, int64_t now_us) {
  auto it = processes_.find(snapshot.id.host_pid);
  if (it != processes_.end() && it->second.latest.id != snapshot.id) {
    // Same pid, another start tick: the old process is gone.
    mark_exited(it->second, now_us);
    processes_.erase(it);
    it = processes_.end();
  }
  if (it == processes_.end()) {
    see_new(std::move(snapshot), state, now_us);
    return;
  }

  TrackedProcess& process = it->second;
  if (process.exited) {
    return;
  }
  if (is_dead_state(state)) {
    mark_exited(process, now_us);
    return;
  }
  fill_parent(snapshot);
  if (process.emitted) {
    see_emitted(process, std::move(snapshot), now_us);
  } else {
    see_pending(process, std::move(snapshot), now_us);
  }
}

void ProcessTracker::see_new(ProcessSnapshot snapshot, char state,
                             int64_t now_us) {
  fill_parent(snapshot);
  int32_t host_pid = snapshot.id.host_pid;
  TrackedProcess process;
  process.first_seen_us = now_us;
  if (snapshot.ns_pid == 1) {
    init_host_pid_ = host_pid;
  }

  if (is_dead_state(state)) {
    // Never seen alive: there is no image to report.
    process.exited = true;
    process.latest = std::move(snapshot);
    ++zombies_at_first_sight_;
    processes_.emplace(host_pid, std::move(process));
    return;
  }

  if (const TrackedProcess* parent = find_parent(snapshot)) {
    process.parent_image = parent->latest.image;
  } else if (capturer_pid_ && snapshot.host_ppid == *capturer_pid_) {
    process.parent_image = capturer_image_;
  }
  process.latest = std::move(snapshot);
  Readiness readiness =
      assess_readiness(process.latest.image,
                       process.parent_image ? &*process.parent_image : nullptr);

  TrackedProcess& stored =
      processes_.insert_or_assign(host_pid, std::move(process)).first->second;
  if (readiness == Readiness::kReady) {
    emit_seen(stored);
  } else {
    stored.not_ready_polls = 1;
    spdlog::debug("pid {} not ready at first sight, reading it again",
                  host_pid);
  }
}

void ProcessTracker::see_pending(TrackedProcess& process,
                                 ProcessSnapshot snapshot, int64_t now_us) {
  process.latest = std::move(snapshot);
  Readiness readiness =
      assess_readiness(process.latest.image,
                       process.parent_image ? &*process.parent_image : nullptr);
  ++process.not_ready_polls;
  if (readiness == Readiness::kReady ||
      not_ready_limit_reached(process, now_us)) {
    emit_seen(process);
  }
}

void ProcessTracker::see_unchanged(int32_t host_pid, int64_t now_us) {
  auto it = processes_.find(host_pid);
  if (it == processes_.end() || it->second.emitted || it->second.exited) {
    return;
  }
  TrackedProcess& process = it->second;
  ++process.not_ready_polls;
  if (not_ready_limit_reached(process, now_us)) {
    emit_seen(process);
  }
}

bool ProcessTracker::not_ready_limit_reached(const TrackedProcess& process,
                                             int64_t now_us) const {
  return process.not_ready_polls > kMaxNotReadyPolls &&
         now_us - process.first_seen_us >= not_ready_limit_us_;
}

void ProcessTracker::see_emitted(TrackedProcess& process,
                                 ProcessSnapshot snapshot, int64_t now_us) {
  Readiness readiness = assess_readiness(snapshot.image, nullptr);
  if (readiness == Readiness::kExiting) {
    // Not an exec: the next polls see the zombie or the pid gone.
    return;
  }
  if (readiness == Readiness::kExecInProgress &&
      ++process.not_ready_polls <= kMaxNotReadyPolls) {
    // Keep the previous reading so that the next poll finds the change again.
    return;
  }
  process.not_ready_polls = 0;

  bool exec = is_exec(process.emitted_image, snapshot.image);
  process.latest = std::move(snapshot);
  if (exec) {
    process.emitted_image = process.latest.image;
    emit(ObservationKind::kImageChanged, now_us, process.latest.id,
         process.latest);
  }
}

void ProcessTracker::vanish(int32_t host_pid, int64_t now_us) {
  auto it = processes_.find(host_pid);
  if (it == processes_.end()) {
    return;
  }
  mark_exited(it->second, now_us);
  processes_.erase(it);
}

void ProcessTracker::set_sockets(int32_t host_pid,
                                 std::vector<ListeningSocket> sockets,
                                 int64_t now_us) {
  auto it = processes_.find(host_pid);
  if (it == processes_.end() || !it->second.emitted || it->second.exited) {
    return;
  }
  std::sort(sockets.begin(), sockets.end());
  sockets.erase(std::unique(sockets.begin(), sockets.end()), sockets.end());
  TrackedProcess& process = it->second;
  if (sockets == process.sockets) {
    return;
  }
  process.sockets = sockets;
  Observation observation;
  observation.kind = ObservationKind::kSocketsSeen;
  observation.time_us = now_us;
  observation.process = process.latest.id;
  observation.sockets = std::move(sockets);
  observations_.push_back(std::move(observation));
}

void ProcessTracker::finish() {
  for (auto& [pid, process] : processes_) {
    if (!process.emitted && !process.exited) {
      emit_seen(process);
    }
  }
}

const TrackedProcess* ProcessTracker::find(int32_t host_pid) const {
  auto it = processes_.find(host_pid);
  return it == processes_.end() ? nullptr : &it->second;
}

std::vector<int32_t> ProcessTracker::live_pids() const {
  std::vector<int32_t> pids;
  for (const auto& [pid, process] : processes_) {
    if (!process.exited) {
      pids.push_back(pid);
    }
  }
  return pids;
}

bool ProcessTracker::has_live_members() const {
  return std::any_of(processes_.begin(), processes_.end(),
                     [](const auto& entry) { return !entry.second.exited; });
}

std::vector<Observation> ProcessTracker::take_observations() {
  std::stable_sort(observations_.begin(), observations_.end(),
                   [](const Observation& a, const Observation& b) {
                     return a.time_us < b.time_us;
                   });
  return std::exchange(observations_, {});
}

void ProcessTracker::mark_exited(TrackedProcess& process, int64_t now_us) {
  if (process.exited) {
    return;
  }
  process.exited = true;
  if (process.emitted) {
    emit(ObservationKind::kProcessExited, now_us, process.latest.id);
  } else {
    ++exited_before_ready_;
    spdlog::debug("pid {} exited before it was ready; not reported",
                  process.latest.id.host_pid);
  }
}

void ProcessTracker::fill_parent(ProcessSnapshot& snapshot) const {
  const TrackedProcess* parent = find_parent(snapshot);
  snapshot.ns_ppid = parent != nullptr ? parent->latest.ns_pid : 0;
}

const TrackedProcess* ProcessTracker::find_parent(
    const ProcessSnapshot& snapshot) const {
  auto it = processes_.find(snapshot.host_ppid);
  if (it == processes_.end()) {
    return nullptr;
  }
  // A parent cannot start after its child: that entry is a reused pid.
  if (it->second.latest.id.start_ticks > snapshot.id.start_ticks) {
    return nullptr;
  }
  return &it->second;
}

void ProcessTracker::emit_seen(TrackedProcess& process) {
  process.emitted = true;
  process.emitted_image = process.latest.image;
  process.not_ready_polls = 0;
  emit(ObservationKind::kProcessSeen, process.first_seen_us, process.latest.id,
       process.latest);
}

void ProcessTracker::emit(ObservationKind kind, int64_t time_us,
                          const ProcessId& id,
                          std::optional<ProcessSnapshot> snapshot) {
  spdlog::trace("{} pid {} at {} us", observation_kind_name(kind), id.host_pid,
                time_us);
  Observation observation;
  observation.kind = kind;
  observation.time_us = time_us;
  observation.process = id;
  observation.snapshot = std::move(snapshot);
  observations_.push_back(std::move(observation));
}

}  // namespace entrytrace
