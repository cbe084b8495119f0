// Reads procfs (or a recorded tree shaped like it) under a root given by the
// caller. Every per-process read goes through a directory fd of
// <proc_root>/<pid>, so all files of one read come from the same process even
// when its pid is reused meanwhile.
//
// Races are normal: a process can exit between the listing and any read.
// Those reads fail with ENOENT or ESRCH (see is_vanished()); callers skip and
// count them. EACCES on exe, cwd, fd/ and ns/ is normal without ptrace
// access to the process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/observation.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "poller/proc_parse.h"

namespace entrytrace {

// True when the error means the process no longer exists.
bool is_vanished(const Error& error);

// One numeric entry of a procfs listing.
struct PidEntry {
  int32_t pid = 0;
  // d_ino of the entry. procfs gives each new /proc/<pid> dentry a fresh
  // inode number, so a changed value means the pid may have been reused.
  uint64_t dir_inode = 0;
};

// An open <proc_root>/<pid> directory.
class PidDirectory {
 public:
  PidDirectory(int32_t pid, UniqueFd fd) : pid_(pid), fd_(std::move(fd)) {}

  int32_t pid() const { return pid_; }
  int fd() const { return fd_.get(); }
  // Inode number of the directory (as d_ino in a listing of the root), or 0
  // when fstat fails.
  uint64_t inode() const;

  // Reads a small file with one read() into a buffer, reading again only
  // when the buffer filled. Right for files that procfs produces in one
  // piece (stat, status, cmdline). Errors read "<name>: <strerror>".
  Result<std::string> read_file(const char* name) const;
  // Reads until end of file. Needed for multi-record files (net/tcp, whose
  // reads can return less than the buffer before the end) and regular files.
  Result<std::string> read_to_end(const char* name) const;
  // Returns the target text of a symbolic link such as "exe".
  Result<std::string> read_link(const char* name) const;
  // Returns the link texts of fd/*. Descriptors closed during the listing
  // are skipped.
  Result<std::vector<std::string>> read_fd_links() const;

 private:
  Result<std::string> read_impl(const char* name, bool to_end) const;

  int32_t pid_;
  UniqueFd fd_;
};

class ProcReader {
 public:
  explicit ProcReader(std::string proc_root)
      : proc_root_(std::move(proc_root)) {}

  const std::string& proc_root() const { return proc_root_; }

  // Lists the numeric entries of the root, sorted by pid. procfs lists
  // thread group leaders only; a recorded tree may list more.
  Result<std::vector<PidEntry>> list_pids() const;
  // Opens <proc_root>/<pid>. An Error with errno ENOENT means no such pid.
  Result<PidDirectory> open_pid(int32_t pid) const;

 private:
  std::string proc_root_;
};

// Environment variable that, set to "1", makes read_status() leave
// StatusFields::ns_tgid empty, as on kernels before 4.1 that have no NStgid
// line, so tests run the poller's paths for those kernels.
inline constexpr const char* kForceNoNstgidEnv = "ENTRYTRACE_FORCE_NO_NSTGID";

Result<StatFields> read_stat(const PidDirectory& dir);
// Reads and parses status. ns_tgid is empty when kForceNoNstgidEnv is set.
Result<StatusFields> read_status(const PidDirectory& dir);
// Inode of ns/<kind> ("pid", "net").
Result<uint64_t> read_namespace(const PidDirectory& dir, const char* kind);

// Everything capture reads of one process.
struct ProcessReading {
  StatFields stat;
  StatusFields status;
  // Identity, host ppid, ids and image. ns_pid and ns_ppid are left 0
  // because they depend on the target, which only the caller has.
  ProcessSnapshot snapshot;
};

// Reads stat, status, cmdline, exe and cwd. Returns an Error only when stat
// or status cannot be read (is_vanished() is true for an exited process). Other
// failures are recorded in snapshot.unreadable, such as
// "exe: Permission denied"; a zombie or a kernel thread has no exe, which
// reads as "exe: No such file or directory".
Result<ProcessReading> read_process(const PidDirectory& dir);

// Reads the parts that change on exec (stat, cmdline) for a cheap check.
struct ImageProbe {
  StatFields stat;
  std::vector<std::string> argv;
};
Result<ImageProbe> probe_image(const PidDirectory& dir);

// stat and cmdline of one process, opened once and read with pread at
// offset 0 on every probe: no path lookup, about a microsecond per file.
// The files stay bound to the process across its execs. Once it is reaped
// a read fails with ESRCH, even when its pid has been reused meanwhile, so
// a held file never reads another process.
class HeldImageFiles {
 public:
  // Opens stat and cmdline inside dir. Returns an Error naming the file
  // (is_vanished() for an exited process, EMFILE when out of descriptors).
  static Result<HeldImageFiles> open(const PidDirectory& dir);

  // Reads stat and cmdline again. Errors as for probe_image().
  Result<ImageProbe> probe() const;

 private:
  HeldImageFiles(UniqueFd stat, UniqueFd cmdline)
      : stat_(std::move(stat)), cmdline_(std::move(cmdline)) {}

  UniqueFd stat_;
  UniqueFd cmdline_;
};

}  // namespace entrytrace
