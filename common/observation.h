// Observations: the contract between capture backends and everything after
// them. A backend turns the target's processes into a Capture, a list of
// timestamped observations plus what it learned about the target. The
// graph, scoring and detectors read only this, so a recorded Capture
// replays with no live process and no privilege.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace entrytrace {

// Identity of a process: host pid plus start time in clock ticks after boot
// (field 22 of /proc/<pid>/stat). A pid is reused; the pair is not. An exec
// keeps both.
struct ProcessId {
  int32_t host_pid = 0;
  uint64_t start_ticks = 0;

  auto operator<=>(const ProcessId&) const = default;
};

// One program image of a process, as read after its latest exec.
struct ProcessImage {
  // Target of /proc/<pid>/exe with one trailing " (deleted)" removed. The
  // path is relative to the process's own root, not the host's. Empty when
  // exe_known is false (EACCES, kernel thread, exited).
  std::string exe;
  bool exe_known = false;
  bool exe_deleted = false;

  // cmdline split at NUL. Processes that rewrite their title (nginx, redis)
  // keep it as one element; the strings are kept exactly as read.
  std::vector<std::string> argv;
  // comm from stat: at most 15 bytes, may contain any byte but NUL.
  std::string comm;
  std::string cwd;
  bool cwd_known = false;

  // startstack, field 28 of stat: the stack start address of the image.
  // It changes on every exec (with address space randomisation), so a
  // re-exec of the same binary with the same argv is still seen as an exec.
  // 0 when the kernel hides it (no ptrace access).
  uint64_t start_stack = 0;

  bool operator==(const ProcessImage&) const = default;
};

// The fields a backend read of one process image.
struct ProcessSnapshot {
  ProcessId id;
  // Pid inside the target's PID namespace: the NStgid entry at the target
  // namespace's depth.
  int32_t ns_pid = 0;
  // Parent as host pid and as target-namespace pid; ns_ppid is 0 when the
  // parent is outside the target namespace.
  int32_t host_ppid = 0;
  int32_t ns_ppid = 0;
  // Real and effective uid and gid from status.
  uint32_t uid = 0;
  uint32_t euid = 0;
  uint32_t gid = 0;
  uint32_t egid = 0;
  ProcessImage image;
  // One entry per field that could not be read, such as
  // "exe: Permission denied". Empty when everything was read.
  std::vector<std::string> unreadable;
};

enum class SocketProtocol { kTcp, kTcp6, kUdp, kUdp6, kUnix };

// A listening socket: TCP in LISTEN, UDP with no remote address, or a UNIX
// socket in the listening state. Sockets are keyed by (net_ns, inode),
// never by address.
struct ListeningSocket {
  SocketProtocol protocol = SocketProtocol::kTcp;
  uint64_t inode = 0;
  // Inode of the network namespace whose tables listed the socket.
  uint64_t net_ns = 0;
  // Numeric local address. IPv4-mapped IPv6 addresses are written as IPv4.
  // For UNIX sockets: the path, "@name" for an abstract name, or "" when
  // unnamed.
  std::string address;
  uint16_t port = 0;
  // Set when the holder's fd/ links were unreadable and the socket was
  // attributed by the uid column of its socket table instead: the socket
  // owner's uid. Unset when an fd/ link named the socket.
  std::optional<uint32_t> owner_uid;

  auto operator<=>(const ListeningSocket&) const = default;
};

// "0.0.0.0:8080", "[::]:8080", "udp 0.0.0.0:53", "unix /run/app.sock".
std::string describe_socket(const ListeningSocket& socket);
const char* protocol_name(SocketProtocol protocol);

enum class ObservationKind {
  // First sight of a process. The snapshot contains its image at that time.
  kProcessSeen,
  // Same identity, new image (an exec). The snapshot contains the new image.
  kImageChanged,
  // The process is gone (reaped, or a zombie was seen).
  kProcessExited,
  // The complete set of listening sockets the process has open now.
  kSocketsSeen,
};

const char* observation_kind_name(ObservationKind kind);

struct Observation {
  ObservationKind kind = ObservationKind::kProcessSeen;
  // Monotonic microseconds since the capture window started.
  int64_t time_us = 0;
  ProcessId process;
  // Set for kProcessSeen and kImageChanged.
  std::optional<ProcessSnapshot> snapshot;
  // Set for kSocketsSeen.
  std::vector<ListeningSocket> sockets;
};

// The target as resolved by the backend.
struct TargetInfo {
  // The target as the user named it, for example "pid 4242" or
  // "run: tini -- sh".
  std::string description;
  // Inode of the target PID namespace and its depth (0 = initial).
  uint64_t pid_ns = 0;
  int pid_ns_depth = 0;
  // Host pid of the target namespace's pid 1, 0 when it is not visible.
  int32_t init_host_pid = 0;
  // False when the backend read a procfs scoped to the target's namespace,
  // which shows no host pids: ProcessId::host_pid and
  // ProcessSnapshot::host_ppid then hold the target namespace's pids, which
  // identify processes as well within one capture.
  bool host_pids_visible = true;
};

// One result of a detector's read of the target's file system, kept in the
// capture so that a replay gives the detectors the same results.
struct TargetFile {
  enum class Kind { kFile, kDirectory, kError };
  Kind kind = Kind::kError;
  // kFile: the content, cut at the reader's size limit when truncated.
  std::string content;
  bool truncated = false;
  // kDirectory: entry names, sorted, without "." and "..".
  std::vector<std::string> entries;
  // kError: the message and errno of the failed read.
  std::string error;
  int error_number = 0;
};

// Everything a capture backend produced for one window.
struct Capture {
  std::string backend;
  TargetInfo target;
  int64_t window_us = 0;
  int64_t interval_us = 0;
  // Time actually observed: shorter than window_us when stopped early.
  int64_t elapsed_us = 0;
  // Clock ticks after boot when the window started, in the unit of
  // ProcessId::start_ticks, and the tick rate (sysconf(_SC_CLK_TCK)).
  uint64_t window_start_ticks = 0;
  uint64_t ticks_per_second = 100;
  std::vector<Observation> observations;
  // uid -> name from the target's /etc/passwd, when readable.
  std::map<uint32_t, std::string> user_names;
  // Sentences about the capture itself ("target exited after 1200 ms").
  std::vector<std::string> evidence;
  // Degradations: unreadable files, vanished pids, counts of skips.
  std::vector<std::string> diagnostics;
  // Files of the target that detectors read after the window (supervisor
  // configurations, service directories), by absolute path in the root of
  // the process that uses them.
  std::map<std::string, TargetFile> files;
};

}  // namespace entrytrace
