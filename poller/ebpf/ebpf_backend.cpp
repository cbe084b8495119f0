// The eBPF capture backend: loads entrytrace.bpf.c through its generated
// skeleton, filters fork, exec and exit to the target PID namespace in the
// kernel, and feeds the events to an EventCapture. The event carries the
// identity, ids, argv and exec filename; exe and cwd are read from /proc when
// the event is handled, if /proc still shows the image of that exec.
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/target_root.h"
#include "common/unique_fd.h"
#include "poller/capture.h"
#include "poller/ebpf/entrytrace_events.h"
#include "poller/netlink_backend.h"
#include "poller/proc_parse.h"
#include "poller/proc_reader.h"

// Generated at build time by bpftool gen skeleton (see ebpf.cmake).
#include "entrytrace.skel.h"

namespace entrytrace {
namespace {

int log_libbpf(enum libbpf_print_level level, const char* format,
               va_list arguments) {
  char line[1024];
  int size = std::vsnprintf(line, sizeof(line), format, arguments);
  std::string_view text(
      line, size > 0 ? std::min<size_t>(size, sizeof(line) - 1) : 0);
  while (!text.empty() && text.back() == '\n') {
    text.remove_suffix(1);
  }
  if (level == LIBBPF_WARN) {
    spdlog::debug("libbpf: {}", text);
  } else {
    spdlog::trace("libbpf: {}", text);
  }
  return size;
}

std::string errno_text(int error) {
  return std::strerror(error < 0 ? -error : error);
}

// Image fields that only /proc has, read when an exec event is handled.
struct ProcExtras {
  std::optional<ExeLink> exe;
  std::string exe_error;
  std::optional<std::string> cwd;
  std::optional<std::string> cmdline;
  // /proc/<pid> was read but showed another image than the event's: the
  // process exec'd again before the event was handled.
  bool stale = false;
};

// What an exec event states about the image, to compare /proc against.
struct EventImage {
  std::string_view comm;
  std::string_view args;
  bool args_unread = false;
  bool args_truncated = false;
  // Another exec of the same process follows in the same batch of records.
  bool superseded = false;
};

// True when a cmdline read from /proc is the argument block of the event.
bool cmdline_matches(const EventImage& event, const std::string& cmdline) {
  if (event.args_unread) {
    return true;  // nothing to compare; comm and the batch decide
  }
  if (event.args_truncated) {
    return std::string_view(cmdline).starts_with(event.args);
  }
  return parse_cmdline(cmdline) == parse_cmdline(event.args);
}

// Reads exe, cwd and cmdline of a live process, after checking through stat
// that the pid still names the same process. exe is read before cmdline and
// comm, so that when those still match the event, no later exec came before
// the exe read, and exe belongs to the event's image.
ProcExtras read_extras(const ProcReader& reader, int32_t pid,
                       uint64_t start_ticks, const EventImage& event) {
  ProcExtras extras;
  Result<PidDirectory> dir = reader.open_pid(pid);
  if (!dir) {
    extras.exe_error = dir.error().message;
    return extras;
  }
  Result<StatFields> stat = read_stat(*dir);
  if (!stat || stat->start_ticks != start_ticks) {
    extras.exe_error = stat ? "exe: the pid was reused" : stat.error().message;
    return extras;
  }
  Result<std::string> exe = dir->read_link("exe");
  Result<std::string> cwd = dir->read_link("cwd");
  if (cwd) {
    extras.cwd = *cwd;
  }
  Result<std::string> cmdline = dir->read_file("cmdline");
  Result<StatFields> stat_after = read_stat(*dir);
  if (!cmdline || !stat_after) {
    extras.exe_error =
        !cmdline ? cmdline.error().message : stat_after.error().message;
    return extras;
  }
  extras.stale = event.superseded || stat_after->comm != event.comm ||
                 !cmdline_matches(event, *cmdline);
  if (extras.stale) {
    return extras;
  }
  if (!cmdline->empty()) {
    extras.cmdline = *cmdline;
  }
  if (exe) {
    extras.exe = parse_exe_link(*exe);
  } else {
    extras.exe_error = exe.error().message;
  }
  return extras;
}

// Resolves an exec filename to the real path inside the root directory of
// the process id names. A relative filename is taken from cwd, which must
// be a path in that root. The root is opened through a held /proc/<pid>
// descriptor between two start-time checks, so a pid that another process
// took fails instead of resolving in that process's root.
Result<std::string> resolve_exec_filename(
    const ProcReader& reader, const ProcessId& id, const std::string& filename,
    const std::optional<std::string>& cwd) {
  std::string path = filename;
  if (!filename.starts_with("/")) {
    if (!cwd || !cwd->starts_with("/")) {
      return Error{"exe: relative exec filename " + filename +
                   " and no working directory"};
    }
    path = *cwd + "/" + filename;
  }
  std::string root =
      reader.proc_root() + "/" + std::to_string(id.host_pid) + "/root";
  Result<PidDirectory> dir = reader.open_pid(id.host_pid);
  if (!dir) {
    return dir.error();
  }
  Error reused{"exe: " + root + ": pid " + std::to_string(id.host_pid) +
               " now names another process"};
  Result<StatFields> before = read_stat(*dir);
  if (!before || before->start_ticks != id.start_ticks) {
    return before ? reused : before.error();
  }
  UniqueFd root_fd(
      ::openat(dir->fd(), "root", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) {
    return system_error(root, errno);
  }
  Result<StatFields> after = read_stat(*dir);
  if (!after || after->start_ticks != id.start_ticks) {
    return after ? reused : after.error();
  }
  Result<std::string> resolved = resolve_in_root(root_fd.get(), path);
  if (!resolved) {
    return Error{
        "exe: " + filename + " in " + root + ": " + resolved.error().message,
        resolved.error().errno_value};
  }
  return resolved;
}

class EbpfBackend : public CaptureBackend {
 public:
  explicit EbpfBackend(entrytrace_bpf* skeleton) : skeleton_(skeleton) {
    long ticks = sysconf(_SC_CLK_TCK);
    ns_per_tick_ =
        1'000'000'000 / static_cast<uint64_t>(ticks > 0 ? ticks : 100);
  }
  ~EbpfBackend() override {
    ring_buffer__free(ring_);
    entrytrace_bpf__destroy(skeleton_);
  }

  Status open_ring() {
    ring_ = ring_buffer__new(bpf_map__fd(skeleton_->maps.events),
                             &EbpfBackend::on_record, this, nullptr);
    if (ring_ == nullptr) {
      return Error{
          "creating the ring buffer reader failed: " + errno_text(errno),
          errno};
    }
    return Ok{};
  }

  std::string name() const override { return "ebpf"; }
  Result<Capture> capture(const Target& target,
                          const CaptureOptions& options) override;

 private:
  struct Counters {
    int events = 0;
    int argv_from_proc = 0;
    int argv_completed = 0;
    int argv_unknown = 0;
    // exe taken from the event's filename because /proc/<pid> showed a
    // later exec, or because the process was gone.
    int exe_from_event_stale = 0;
    int exe_from_filename = 0;
    int exe_unknown_stale = 0;
    // exe taken from the filename without resolving it in any root.
    int exe_unresolved = 0;
    int filename_truncated = 0;
    int rescans = 0;
    uint64_t dropped = 0;
    std::vector<std::string> truncated;
  };

  // Copies each record, so that a batch can be read ahead: an exec event
  // followed by another exec of the same process in the same batch is known
  // to be stale in /proc before /proc is read.
  static int on_record(void* context, void* data, size_t size) {
    auto* self = static_cast<EbpfBackend*>(context);
    if (self->current_ != nullptr && size >= sizeof(entrytrace_event)) {
      const char* bytes = static_cast<const char*>(data);
      self->batch_.emplace_back(bytes, bytes + size);
    }
    return 0;
  }
  void handle_batch();
  void handle(const void* data, size_t size, bool superseded);
  ProcessSnapshot snapshot_of(const entrytrace_event& event) const;
  void fill_exec_image(const entrytrace_exec_event& event, bool superseded,
                       ProcessSnapshot& snapshot);
  void fill_exe_from_event(const std::string& filename,
                           const ProcExtras& extras, ProcessSnapshot& snapshot);
  Status pump(EventCapture& capture, int timeout_ms);
  void add_diagnostics(Capture& capture) const;

  entrytrace_bpf* skeleton_;
  ring_buffer* ring_ = nullptr;
  uint64_t ns_per_tick_ = 10'000'000;
  // Set while a capture runs; records arriving outside one are dropped.
  EventCapture* current_ = nullptr;
  Counters counters_;
  std::vector<std::vector<char>> batch_;
};

ProcessSnapshot EbpfBackend::snapshot_of(const entrytrace_event& event) const {
  ProcessSnapshot snapshot;
  // The same conversion as nsec_to_clock_t() for stat's starttime.
  snapshot.id =
      ProcessId{event.host_pid, event.start_boottime_ns / ns_per_tick_};
  snapshot.ns_pid = event.ns_pid;
  snapshot.host_ppid = event.host_ppid;
  snapshot.ns_ppid = event.ns_ppid;
  snapshot.uid = event.uid;
  snapshot.euid = event.euid;
  snapshot.gid = event.gid;
  snapshot.egid = event.egid;
  snapshot.image.comm.assign(event.comm,
                             strnlen(event.comm, sizeof(event.comm)));
  return snapshot;
}

void EbpfBackend::fill_exec_image(const entrytrace_exec_event& event,
                                  bool superseded, ProcessSnapshot& snapshot) {
  const uint32_t flags = event.header.flags;
  const bool unread = (flags & kEventArgvUnread) != 0;
  const bool truncated = (flags & kEventArgvTruncated) != 0;
  std::string_view args(event.args,
                        std::min<size_t>(event.args_size, sizeof(event.args)));
  std::string filename(event.filename,
                       strnlen(event.filename, sizeof(event.filename)));
  if ((flags & kEventFilenameTruncated) != 0) {
    ++counters_.filename_truncated;
  }

  EventImage stated{snapshot.image.comm, args, unread, truncated, superseded};
  ProcExtras extras = read_extras(current_->reader(), snapshot.id.host_pid,
                                  snapshot.id.start_ticks, stated);
  ProcessImage& image = snapshot.image;
  if (unread && extras.cmdline) {
    // The argument pages were not present for bpf_probe_read_user.
    image.argv = parse_cmdline(*extras.cmdline);
    ++counters_.argv_from_proc;
  } else if (unread) {
    image.argv = {filename};
    snapshot.unreadable.push_back(
        "argv: not readable at exec and gone from /proc; the exec filename "
        "stands in");
    ++counters_.argv_unknown;
  } else if (truncated && extras.cmdline &&
             extras.cmdline->size() > args.size() &&
             std::string_view(*extras.cmdline).starts_with(args)) {
    image.argv = parse_cmdline(*extras.cmdline);
    ++counters_.argv_completed;
  } else {
    image.argv = parse_cmdline(args);
    if (truncated) {
      snapshot.unreadable.push_back("argv: truncated at " +
                                    std::to_string(ENTRYTRACE_MAX_ARGV_BYTES) +
                                    " bytes");
      counters_.truncated.push_back(
          "argv of pid " + std::to_string(snapshot.id.host_pid) +
          " truncated at " + std::to_string(ENTRYTRACE_MAX_ARGV_BYTES) +
          " bytes");
    }
  }

  if (extras.exe) {
    image.exe = extras.exe->path;
    image.exe_deleted = extras.exe->deleted;
    image.exe_known = true;
  } else {
    fill_exe_from_event(filename, extras, snapshot);
  }
  // NOTE: cwd survives exec, so it is taken from /proc even when /proc shows
  // a later image; that image may have changed directory since.
  if (extras.cwd) {
    image.cwd = *extras.cwd;
    image.cwd_known = true;
  }
}

// Sets exe from the exec filename when /proc/<pid>/exe was not taken: the
// process exec'd again (stale) or exited before it was read. The filename is
// resolved inside the process's root, or, once the process is gone, in the
// root of its parent when that is a tracked member. Either pid must still
// name that process.
void EbpfBackend::fill_exe_from_event(const std::string& filename,
                                      const ProcExtras& extras,
                                      ProcessSnapshot& snapshot) {
  ProcessImage& image = snapshot.image;
  if (filename.starts_with("/dev/fd/") || filename.empty()) {
    // execveat of a descriptor: the filename names no path.
    if (extras.stale) {
      ++counters_.exe_unknown_stale;
      snapshot.unreadable.push_back(
          "exe: unknown, the process exec'd again before /proc/<pid>/exe "
          "was read and the exec filename is a descriptor");
    } else if (!extras.exe_error.empty()) {
      snapshot.unreadable.push_back(extras.exe_error);
    }
    return;
  }
  const ProcReader& reader = current_->reader();
  Result<std::string> resolved =
      resolve_exec_filename(reader, snapshot.id, filename, extras.cwd);
  // The parent's root is used only for a tracked member that still has
  // its pid: a parent outside the target has a root of its own.
  std::optional<ProcessId> parent = current_->live_member(snapshot.host_ppid);
  if (!resolved && !extras.stale && parent) {
    resolved = resolve_exec_filename(reader, *parent, filename, extras.cwd);
  }
  if (!resolved && filename.starts_with("/")) {
    // The path as given, not resolved through symbolic links, and marked so.
    spdlog::debug("pid {}: {}", snapshot.id.host_pid, resolved.error().message);
    image.exe = filename;
    image.exe_known = true;
    snapshot.unreadable.push_back(
        "exe: the exec filename as given, because it could not be resolved "
        "in the root of the process or of its tracked parent");
    ++counters_.exe_unresolved;
    return;
  }
  if (!resolved) {
    ++counters_.exe_unknown_stale;
    snapshot.unreadable.push_back(resolved.error().message);
    return;
  }
  image.exe = *resolved;
  image.exe_known = true;
  if (extras.stale) {
    ++counters_.exe_from_event_stale;
  } else {
    ++counters_.exe_from_filename;
  }
}

void EbpfBackend::handle_batch() {
  // Index of the last exec record of each pid in the batch.
  std::map<int32_t, size_t> last_exec;
  for (size_t i = 0; i < batch_.size(); ++i) {
    const auto* event =
        reinterpret_cast<const entrytrace_event*>(batch_[i].data());
    if (event->kind == kEventExec) {
      last_exec[event->host_pid] = i;
    }
  }
  for (size_t i = 0; i < batch_.size(); ++i) {
    const auto* event =
        reinterpret_cast<const entrytrace_event*>(batch_[i].data());
    bool superseded =
        event->kind == kEventExec && last_exec[event->host_pid] > i;
    handle(batch_[i].data(), batch_[i].size(), superseded);
  }
  batch_.clear();
}

void EbpfBackend::handle(const void* data, size_t size, bool superseded) {
  if (current_ == nullptr || size < sizeof(entrytrace_event)) {
    return;
  }
  ++counters_.events;
  const auto& event = *static_cast<const entrytrace_event*>(data);
  ProcessSnapshot snapshot = snapshot_of(event);
  switch (event.kind) {
    case kEventFork:
      current_->on_fork(std::move(snapshot), event.time_ns, std::nullopt);
      return;
    case kEventExec:
      if (size < sizeof(entrytrace_exec_event)) {
        return;
      }
      fill_exec_image(*static_cast<const entrytrace_exec_event*>(data),
                      superseded, snapshot);
      for (const std::string& message : snapshot.unreadable) {
        current_->note_unreadable(snapshot.id, message);
      }
      current_->on_exec(std::move(snapshot), event.time_ns, event.time_ns);
      return;
    case kEventExit:
      current_->on_exit(event.host_pid, event.time_ns);
      return;
    default:
      return;
  }
}

Status EbpfBackend::pump(EventCapture& capture, int timeout_ms) {
  int polled = ring_buffer__poll(ring_, timeout_ms);
  handle_batch();
  if (polled < 0 && polled != -EINTR) {
    return Error{"reading the BPF ring buffer failed: " + errno_text(polled),
                 -polled};
  }
  uint64_t dropped =
      __atomic_load_n(&skeleton_->bss->dropped_events, __ATOMIC_RELAXED);
  if (dropped != counters_.dropped) {
    // Events were lost, so their processes are read from /proc instead.
    counters_.dropped = dropped;
    ++counters_.rescans;
    spdlog::warn("BPF ring buffer full, {} events lost; rescanning /proc",
                 dropped);
    return capture.scan();
  }
  return Ok{};
}

void EbpfBackend::add_diagnostics(Capture& capture) const {
  auto add = [&](int count, const std::string& text) {
    if (count > 0) {
      capture.diagnostics.push_back(std::to_string(count) + " " + text);
    }
  };
  add(counters_.argv_from_proc,
      counters_.argv_from_proc == 1
          ? "exec had its argv read from /proc/<pid>/cmdline because the "
            "argument pages could not be read in the kernel"
          : "execs had their argv read from /proc/<pid>/cmdline because the "
            "argument pages could not be read in the kernel");
  add(counters_.argv_completed,
      "argv longer than " + std::to_string(ENTRYTRACE_MAX_ARGV_BYTES) +
          " bytes completed from /proc/<pid>/cmdline");
  add(counters_.argv_unknown,
      "argv unreadable in the kernel and in /proc; the exec filename stands "
      "in");
  add(counters_.exe_from_event_stale,
      "exe taken from the exec event's filename, resolved in the process's "
      "root, because /proc/<pid> already showed a later exec");
  add(counters_.exe_from_filename,
      "exe taken from the exec event's filename because the process exited "
      "before /proc/<pid>/exe could be read");
  add(counters_.exe_unresolved,
      "exe taken from the exec filename as given, not resolved through "
      "symbolic links, because it could not be resolved in the root of the "
      "process or of its tracked parent");
  add(counters_.exe_unknown_stale,
      "exe unknown because /proc/<pid> showed a later exec and the exec "
      "filename could not be resolved");
  add(counters_.filename_truncated,
      "exec filename truncated at " +
          std::to_string(ENTRYTRACE_MAX_FILENAME_BYTES - 1) + " bytes");
  for (const std::string& line : counters_.truncated) {
    capture.diagnostics.push_back(line);
  }
  if (counters_.dropped > 0) {
    capture.diagnostics.push_back(
        std::to_string(counters_.dropped) +
        " BPF events lost because the ring buffer was full; /proc was "
        "rescanned " +
        std::to_string(counters_.rescans) + " times");
  }
}

Result<Capture> EbpfBackend::capture(const Target& target,
                                     const CaptureOptions& options) {
  if (options.proc_root != "/proc") {
    return Error{"the eBPF backend needs the live /proc, not " +
                 options.proc_root};
  }
  if (!in_initial_pid_namespace()) {
    return Error{
        "the eBPF backend needs the initial PID namespace, because its "
        "events name pids of that namespace, and this process runs in a "
        "nested one"};
  }
  // The kernel-side filter checks PID namespaces only. EventCapture applies
  // a cgroup filter and leaves entrytrace out when it first reads a process
  // from /proc, and leaves out the children of what it left out.
  counters_ = Counters{};
  counters_.dropped = skeleton_->bss->dropped_events;

  EventCapture capture(target, options, name());
  current_ = &capture;
  // From here on the programs report the target's events. The seed scan in
  // run_event_capture() comes after, so a process started before this line
  // is found by the scan and one started after it by an event. A process
  // seen by both is kept once, by identity and event time.
  skeleton_->bss->target_level = static_cast<__u32>(target.pid_ns_depth);
  __atomic_store_n(&skeleton_->bss->target_ns_inum,
                   static_cast<__u32>(target.pid_ns), __ATOMIC_SEQ_CST);

  Result<Capture> result = run_event_capture(
      capture,
      [this](EventCapture& c, int timeout_ms) { return pump(c, timeout_ms); });

  __atomic_store_n(&skeleton_->bss->target_ns_inum, 0u, __ATOMIC_SEQ_CST);
  current_ = nullptr;
  ring_buffer__consume(ring_);  // drops what is left
  batch_.clear();
  if (result) {
    add_diagnostics(*result);
    spdlog::info("ebpf: {} events received", counters_.events);
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<CaptureBackend>> make_ebpf_backend() {
  libbpf_set_print(log_libbpf);
  if (::access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    return Error{
        "kernel BTF not found: /sys/kernel/btf/vmlinux: " + errno_text(errno),
        errno};
  }
  entrytrace_bpf* skeleton = entrytrace_bpf__open();
  if (skeleton == nullptr) {
    return Error{"opening the BPF object failed: " + errno_text(errno), errno};
  }
  int error = entrytrace_bpf__load(skeleton);
  if (error != 0) {
    entrytrace_bpf__destroy(skeleton);
    return Error{"loading program failed: " + errno_text(error), -error};
  }
  error = entrytrace_bpf__attach(skeleton);
  if (error != 0) {
    entrytrace_bpf__destroy(skeleton);
    return Error{"attaching programs failed: " + errno_text(error), -error};
  }
  auto backend = std::make_unique<EbpfBackend>(skeleton);
  Status ring = backend->open_ring();
  if (!ring) {
    return ring.error();
  }
  return std::unique_ptr<CaptureBackend>(std::move(backend));
}

}  // namespace entrytrace
