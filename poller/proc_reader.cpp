#include "poller/proc_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string_view>

#include "poller/text_fields.h"

namespace entrytrace {
namespace {

// Large enough for stat, status and most cmdlines in one read().
constexpr size_t kInitialBuffer = 4096;

ssize_t read_retrying(int fd, char* buffer, size_t size) {
  ssize_t count;
  do {
    count = ::read(fd, buffer, size);
  } while (count < 0 && errno == EINTR);
  return count;
}

// Reads a single-record procfs file from offset 0 of an open descriptor,
// reading again only when the buffer filled.
Result<std::string> pread_whole(int fd, const char* name) {
  std::string buffer(kInitialBuffer, '\0');
  size_t used = 0;
  while (true) {
    ssize_t count;
    do {
      count = ::pread(fd, buffer.data() + used, buffer.size() - used,
                      static_cast<off_t>(used));
    } while (count < 0 && errno == EINTR);
    if (count < 0) {
      return system_error(name, errno);
    }
    used += count;
    if (count == 0 || used < buffer.size()) {
      break;
    }
    buffer.resize(buffer.size() * 2);
  }
  buffer.resize(used);
  return buffer;
}

// Parses a listing name that is all digits into a pid.
bool parse_pid_name(const char* name, int32_t& pid) {
  std::string_view text(name);
  return parse_decimal(text, pid) && pid > 0;
}

// Reads one link inside an open fd/ directory; empty when it vanished.
std::string read_link_at(int dir_fd, const char* name) {
  std::string target(256, '\0');
  while (true) {
    ssize_t length = ::readlinkat(dir_fd, name, target.data(), target.size());
    if (length < 0) {
      return {};
    }
    if (static_cast<size_t>(length) < target.size()) {
      target.resize(length);
      return target;
    }
    target.resize(target.size() * 2);
  }
}

}  // namespace

bool is_vanished(const Error& error) {
  return error.errno_value == ENOENT || error.errno_value == ESRCH;
}

uint64_t PidDirectory::inode() const {
  struct stat info {};
  if (::fstat(fd_.get(), &info) != 0) {
    return 0;
  }
  return info.st_ino;
}

Result<std::string> PidDirectory::read_file(const char* name) const {
  return read_impl(name, false);
}

Result<std::string> PidDirectory::read_to_end(const char* name) const {
  return read_impl(name, true);
}

Result<std::string> PidDirectory::read_impl(const char* name,
                                            bool to_end) const {
  UniqueFd file(::openat(fd_.get(), name, O_RDONLY | O_CLOEXEC));
  if (!file.valid()) {
    return system_error(name, errno);
  }

  std::string buffer(kInitialBuffer, '\0');
  size_t used = 0;
  while (true) {
    ssize_t count =
        read_retrying(file.get(), buffer.data() + used, buffer.size() - used);
    if (count < 0) {
      return system_error(name, errno);
    }
    used += count;
    if (count == 0) {
      break;
    }
    if (used == buffer.size()) {
      buffer.resize(buffer.size() * 2);
    } else if (!to_end) {
      // A short read of a single-record procfs file is the whole file.
      break;
    }
  }
  buffer.resize(used);
  return buffer;
}

// The text is copied out of a stack buffer, so that the returned string is
// sized to the link and not to PATH_MAX: snapshots keep cwd and exe for
// every process for the whole window.
Result<std::string> PidDirectory::read_link(const char* name) const {
  char buffer[PATH_MAX];
  ssize_t length = ::readlinkat(fd_.get(), name, buffer, sizeof(buffer));
  if (length < 0) {
    return system_error(name, errno);
  }
  if (static_cast<size_t>(length) < sizeof(buffer)) {
    return std::string(buffer, static_cast<size_t>(length));
  }
  // Longer than PATH_MAX: procfs can report such a path for a deep cwd.
  std::string target(2 * sizeof(buffer), '\0');
  while (true) {
    length = ::readlinkat(fd_.get(), name, target.data(), target.size());
    if (length < 0) {
      return system_error(name, errno);
    }
    if (static_cast<size_t>(length) < target.size()) {
      target.resize(length);
      target.shrink_to_fit();
      return target;
    }
    target.resize(target.size() * 2);
  }
}

Result<std::vector<std::string>> PidDirectory::read_fd_links() const {
  int dir_fd = ::openat(fd_.get(), "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return system_error("fd", errno);
  }
  DIR* dir = ::fdopendir(dir_fd);
  if (dir == nullptr) {
    int saved = errno;
    ::close(dir_fd);
    return system_error("fd", saved);
  }

  std::vector<std::string> links;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') {
      continue;
    }
    std::string target = read_link_at(dir_fd, entry->d_name);
    if (!target.empty()) {
      links.push_back(std::move(target));
    }
  }
  ::closedir(dir);
  return links;
}

Result<std::vector<PidEntry>> ProcReader::list_pids() const {
  DIR* dir = ::opendir(proc_root_.c_str());
  if (dir == nullptr) {
    return system_error(proc_root_, errno);
  }
  std::vector<PidEntry> entries;
  errno = 0;
  while (dirent* entry = ::readdir(dir)) {
    PidEntry pid_entry;
    if (parse_pid_name(entry->d_name, pid_entry.pid)) {
      pid_entry.dir_inode = entry->d_ino;
      entries.push_back(pid_entry);
    }
  }
  int saved = errno;
  ::closedir(dir);
  if (saved != 0) {
    return system_error(proc_root_, saved);
  }

  std::sort(entries.begin(), entries.end(),
            [](const PidEntry& a, const PidEntry& b) { return a.pid < b.pid; });
  return entries;
}

Result<PidDirectory> ProcReader::open_pid(int32_t pid) const {
  std::string path = proc_root_ + "/" + std::to_string(pid);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return system_error(path, errno);
  }
  return PidDirectory(pid, std::move(fd));
}

Result<StatFields> read_stat(const PidDirectory& dir) {
  Result<std::string> text = dir.read_file("stat");
  if (!text) {
    return text.error();
  }
  return parse_stat(*text);
}

Result<StatusFields> read_status(const PidDirectory& dir) {
  Result<std::string> text = dir.read_file("status");
  if (!text) {
    return text.error();
  }
  Result<StatusFields> status = parse_status(*text);
  const char* no_nstgid = std::getenv(kForceNoNstgidEnv);
  if (status && no_nstgid != nullptr && std::string_view(no_nstgid) == "1") {
    status->ns_tgid.clear();
  }
  return status;
}

Result<uint64_t> read_namespace(const PidDirectory& dir, const char* kind) {
  std::string name = std::string("ns/") + kind;
  Result<std::string> text = dir.read_link(name.c_str());
  if (!text) {
    return text.error();
  }
  return parse_namespace_link(*text, kind);
}

namespace {

void read_exe(const PidDirectory& dir, ProcessSnapshot& snapshot) {
  Result<std::string> text = dir.read_link("exe");
  if (!text) {
    snapshot.unreadable.push_back(text.error().message);
    return;
  }
  ExeLink link = parse_exe_link(*text);
  snapshot.image.exe = std::move(link.path);
  snapshot.image.exe_deleted = link.deleted;
  snapshot.image.exe_known = true;
}

void read_cwd(const PidDirectory& dir, ProcessSnapshot& snapshot) {
  Result<std::string> text = dir.read_link("cwd");
  if (!text) {
    snapshot.unreadable.push_back(text.error().message);
    return;
  }
  snapshot.image.cwd = std::move(*text);
  snapshot.image.cwd_known = true;
}

void fill_from_stat(const StatFields& stat, ProcessSnapshot& snapshot) {
  snapshot.id.host_pid = stat.pid;
  snapshot.id.start_ticks = stat.start_ticks;
  snapshot.host_ppid = stat.ppid;
  snapshot.image.comm = stat.comm;
  snapshot.image.start_stack = stat.start_stack;
}

void fill_from_status(const StatusFields& status, ProcessSnapshot& snapshot) {
  snapshot.uid = status.uid;
  snapshot.euid = status.euid;
  snapshot.gid = status.gid;
  snapshot.egid = status.egid;
}

}  // namespace

Result<ProcessReading> read_process(const PidDirectory& dir) {
  ProcessReading reading;
  Result<StatFields> stat = read_stat(dir);
  if (!stat) {
    return stat.error();
  }
  reading.stat = std::move(*stat);
  Result<StatusFields> status = read_status(dir);
  if (!status) {
    return status.error();
  }
  reading.status = std::move(*status);

  ProcessSnapshot& snapshot = reading.snapshot;
  fill_from_stat(reading.stat, snapshot);
  fill_from_status(reading.status, snapshot);

  Result<std::string> cmdline = dir.read_file("cmdline");
  if (cmdline) {
    snapshot.image.argv = parse_cmdline(*cmdline);
  } else {
    snapshot.unreadable.push_back(cmdline.error().message);
  }
  read_exe(dir, snapshot);
  read_cwd(dir, snapshot);
  return reading;
}

Result<ImageProbe> probe_image(const PidDirectory& dir) {
  ImageProbe probe;
  Result<StatFields> stat = read_stat(dir);
  if (!stat) {
    return stat.error();
  }
  probe.stat = std::move(*stat);
  Result<std::string> cmdline = dir.read_file("cmdline");
  if (!cmdline) {
    return cmdline.error();
  }
  probe.argv = parse_cmdline(*cmdline);
  return probe;
}

Result<HeldImageFiles> HeldImageFiles::open(const PidDirectory& dir) {
  UniqueFd stat(::openat(dir.fd(), "stat", O_RDONLY | O_CLOEXEC));
  if (!stat.valid()) {
    return system_error("stat", errno);
  }
  UniqueFd cmdline(::openat(dir.fd(), "cmdline", O_RDONLY | O_CLOEXEC));
  if (!cmdline.valid()) {
    return system_error("cmdline", errno);
  }
  return HeldImageFiles(std::move(stat), std::move(cmdline));
}

Result<ImageProbe> HeldImageFiles::probe() const {
  ImageProbe probe;
  Result<std::string> stat_text = pread_whole(stat_.get(), "stat");
  if (!stat_text) {
    return stat_text.error();
  }
  Result<StatFields> stat = parse_stat(*stat_text);
  if (!stat) {
    return stat.error();
  }
  probe.stat = std::move(*stat);
  Result<std::string> cmdline = pread_whole(cmdline_.get(), "cmdline");
  if (!cmdline) {
    return cmdline.error();
  }
  probe.argv = parse_cmdline(*cmdline);
  return probe;
}

}  // namespace entrytrace
