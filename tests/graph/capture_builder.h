// Builds Captures for tests, one observation per call, in the words of a
// process tree: a process is seen, execs, listens, exits. Times are in
// milliseconds since the window started.
#pragma once

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/observation.h"

namespace entrytrace::testing {

inline ListeningSocket tcp(const std::string& address, uint16_t port,
                           uint64_t inode) {
  ListeningSocket socket;
  socket.protocol = SocketProtocol::kTcp;
  socket.address = address;
  socket.port = port;
  socket.inode = inode;
  socket.net_ns = 4026532000;
  return socket;
}

class CaptureBuilder {
 public:
  CaptureBuilder() {
    capture_.backend = "replay";
    capture_.target.description = "pid 4000";
    capture_.target.pid_ns = 4026531999;
    capture_.target.pid_ns_depth = 1;
    capture_.target.init_host_pid = 4000;
    capture_.window_us = 3000000;
    capture_.interval_us = 10000;
    capture_.elapsed_us = 3000000;
    capture_.window_start_ticks = 100000;
    capture_.ticks_per_second = 100;
    capture_.user_names = {{0, "root"}, {999, "redis"}, {65534, "nobody"}};
  }

  // First sight of a process. `ticks` are its start ticks; the ns pid of
  // the parent comes from an earlier seen() of host_ppid.
  ProcessId seen(int64_t ms, int32_t host_pid, int32_t ns_pid,
                 int32_t host_ppid, uint64_t ticks, const std::string& exe,
                 std::vector<std::string> argv, uint32_t euid = 0) {
    ns_pids_[host_pid] = ns_pid;
    ProcessSnapshot snapshot;
    snapshot.id = ProcessId{host_pid, ticks};
    snapshot.ns_pid = ns_pid;
    snapshot.host_ppid = host_ppid;
    auto parent = ns_pids_.find(host_ppid);
    snapshot.ns_ppid = parent == ns_pids_.end() ? 0 : parent->second;
    fill(snapshot, exe, std::move(argv), euid);
    push(ObservationKind::kProcessSeen, ms, snapshot.id, snapshot);
    snapshots_[snapshot.id] = snapshot;
    return snapshot.id;
  }

  void exec(int64_t ms, ProcessId id, const std::string& exe,
            std::vector<std::string> argv, uint32_t euid = 0) {
    ProcessSnapshot snapshot = snapshots_.at(id);
    fill(snapshot, exe, std::move(argv), euid);
    push(ObservationKind::kImageChanged, ms, id, snapshot);
    snapshots_[id] = snapshot;
  }

  // A second sight with a new parent (reparented to a subreaper).
  void reparented(int64_t ms, ProcessId id, int32_t host_ppid) {
    ProcessSnapshot snapshot = snapshots_.at(id);
    snapshot.host_ppid = host_ppid;
    snapshot.ns_ppid = ns_pids_.count(host_ppid) ? ns_pids_[host_ppid] : 0;
    push(ObservationKind::kProcessSeen, ms, id, snapshot);
  }

  void exit(int64_t ms, ProcessId id) {
    push(ObservationKind::kProcessExited, ms, id, std::nullopt);
  }

  void listen(int64_t ms, ProcessId id, std::vector<ListeningSocket> sockets) {
    Observation o;
    o.kind = ObservationKind::kSocketsSeen;
    o.time_us = ms * 1000;
    o.process = id;
    o.sockets = std::move(sockets);
    capture_.observations.push_back(std::move(o));
  }

  void unreadable(ProcessId id, const std::string& field) {
    for (auto& o : capture_.observations) {
      if (o.process == id && o.snapshot)
        o.snapshot->unreadable.push_back(field);
    }
  }

  Capture& capture() { return capture_; }

  // The same capture with its observations in another order.
  Capture shuffled(unsigned seed) const {
    Capture copy = capture_;
    std::mt19937 random(seed);
    std::shuffle(copy.observations.begin(), copy.observations.end(), random);
    return copy;
  }

 private:
  void fill(ProcessSnapshot& snapshot, const std::string& exe,
            std::vector<std::string> argv, uint32_t euid) {
    snapshot.uid = euid;
    snapshot.euid = euid;
    snapshot.image.exe = exe;
    snapshot.image.exe_known = !exe.empty();
    snapshot.image.argv = std::move(argv);
    const std::string base = exe.substr(exe.rfind('/') + 1);
    snapshot.image.comm = base.substr(0, 15);
    snapshot.image.start_stack = 0x7ffd0000 + (++stacks_) * 0x1000;
  }

  void push(ObservationKind kind, int64_t ms, ProcessId id,
            std::optional<ProcessSnapshot> snapshot) {
    Observation o;
    o.kind = kind;
    o.time_us = ms * 1000;
    o.process = id;
    o.snapshot = std::move(snapshot);
    capture_.observations.push_back(std::move(o));
  }

  Capture capture_;
  std::map<int32_t, int32_t> ns_pids_;
  std::map<ProcessId, ProcessSnapshot> snapshots_;
  uint64_t stacks_ = 0;
};

}  // namespace entrytrace::testing
