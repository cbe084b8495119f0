#include "common/target_root.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <deque>
#include <vector>

namespace entrytrace {
namespace {

// procfs and sysfs mounted inside a target's root show kernel-wide state
// (the kernel log, other namespaces' entries), so a link from a target file
// into them must not make entrytrace read it.
bool describes_the_host(__fsword_t type) {
  return type == PROC_SUPER_MAGIC || type == SYSFS_MAGIC;
}

// Paths are resolved to an O_PATH descriptor, which never calls the open
// method of a device driver and never waits for a FIFO writer. Only a
// regular file or a directory is then opened for reading.
constexpr int kPathFlags = O_PATH | O_CLOEXEC;
// O_NONBLOCK and O_NOCTTY change nothing for regular files and directories,
// the only types reopened, and stay as a second guard.
constexpr int kReadFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;

bool openat2_disabled() {
  const char* value = std::getenv(kForceNoOpenat2Env);
  return value != nullptr && std::string_view(value) == "1";
}

// Splits a path at '/' into components, dropping empty ones.
std::deque<std::string> split_path(std::string_view path) {
  std::deque<std::string> components;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start) {
      components.emplace_back(path.substr(start, end - start));
    }
    start = end + 1;
  }
  return components;
}

Result<std::string> read_link_at(int fd) {
  std::string target(256, '\0');
  while (true) {
    // An empty name reads the link that an O_PATH | O_NOFOLLOW fd refers to.
    ssize_t length = ::readlinkat(fd, "", target.data(), target.size());
    if (length < 0) {
      return system_error("readlink", errno);
    }
    if (static_cast<size_t>(length) < target.size()) {
      target.resize(length);
      return target;
    }
    target.resize(target.size() * 2);
  }
}

}  // namespace

namespace {

// The end of a walk below a root: the directories it entered, each with the
// name that led into it, and the last component when that is not a
// directory reached by the walk itself.
struct Walk {
  // dirs[0] is the root; names[i] leads from dirs[i] to dirs[i + 1].
  std::vector<UniqueFd> dirs;
  std::vector<std::string> names;
  // The last component, checked not to be a link, in dirs.back(). Empty
  // when the path ends at dirs.back().
  std::string last;
};

std::string join_names(const std::vector<std::string>& names,
                       const std::string& last) {
  std::string path;
  for (const std::string& name : names) {
    path += "/" + name;
  }
  if (!last.empty()) {
    path += "/" + last;
  }
  return path.empty() ? "/" : path;
}

// Walks path one component at a time with O_PATH | O_NOFOLLOW and resolves
// each symbolic link itself: an absolute target from the root, a relative
// one from the link's directory. ".." goes back one directory of the walk
// and stays at the root when there is none.
Result<Walk> walk_in_root(int root_fd, std::string_view path) {
  std::string name(path);
  Walk walk;
  walk.dirs.emplace_back(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (!walk.dirs.back().valid()) {
    return system_error(name, errno);
  }
  std::deque<std::string> pending = split_path(path);
  int links = 0;
  while (!pending.empty()) {
    std::string component = std::move(pending.front());
    pending.pop_front();
    if (component == ".") {
      continue;
    }
    if (component == "..") {
      if (walk.dirs.size() > 1) {
        walk.dirs.pop_back();
        walk.names.pop_back();
      }
      continue;
    }

    UniqueFd entry(::openat(walk.dirs.back().get(), component.c_str(),
                            O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!entry.valid()) {
      return system_error(name, errno);
    }
    struct stat info {};
    if (::fstatat(entry.get(), "", &info, AT_EMPTY_PATH) != 0) {
      return system_error(name, errno);
    }

    if (S_ISLNK(info.st_mode)) {
      if (++links > kMaxSymlinks) {
        return system_error(name, ELOOP);
      }
      Result<std::string> target = read_link_at(entry.get());
      if (!target) {
        return Error{name + ": " + target.error().message,
                     target.error().errno_value};
      }
      if (target->starts_with('/')) {
        walk.dirs.resize(1);
        walk.names.clear();
      }
      std::deque<std::string> parts = split_path(*target);
      pending.insert(pending.begin(), parts.begin(), parts.end());
      continue;
    }

    if (pending.empty()) {
      walk.last = std::move(component);
      return walk;
    }
    if (!S_ISDIR(info.st_mode)) {
      return system_error(name, ENOTDIR);
    }
    walk.dirs.push_back(std::move(entry));
    walk.names.push_back(std::move(component));
  }
  return walk;
}

}  // namespace

Result<UniqueFd> open_by_walk_in_root(int root_fd, std::string_view path) {
  std::string name(path);
  Result<Walk> walk = walk_in_root(root_fd, path);
  if (!walk) {
    return walk.error();
  }
  // The last component is opened from its directory with O_NOFOLLOW, so a
  // link that replaced it after the walk checked it is opened as the link
  // itself, which open_in_root() rejects. A path that ends at a directory
  // of the walk opens that directory.
  const char* last = walk->last.empty() ? "." : walk->last.c_str();
  UniqueFd file(
      ::openat(walk->dirs.back().get(), last, kPathFlags | O_NOFOLLOW));
  if (!file.valid()) {
    return system_error(name, errno);
  }
  return file;
}

Result<std::string> resolve_in_root(int root_fd, std::string_view path) {
  Result<Walk> walk = walk_in_root(root_fd, path);
  if (!walk) {
    return walk.error();
  }
  return join_names(walk->names, walk->last);
}

Result<UniqueFd> open_path_in_root(int root_fd, std::string_view path) {
  std::string name(path);
  if (!openat2_disabled()) {
    open_how how{};
    how.flags = kPathFlags;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    long fd = -1;
    for (int attempt = 0; attempt < kOpenat2Attempts; ++attempt) {
      fd = ::syscall(SYS_openat2, root_fd, name.c_str(), &how, sizeof(how));
      if (fd >= 0 || errno != EAGAIN) {
        break;
      }
    }
    if (fd >= 0) {
      return UniqueFd(static_cast<int>(fd));
    }
    if (errno != ENOSYS) {
      return system_error(name, errno);
    }
  }
  return open_by_walk_in_root(root_fd, path);
}

Result<UniqueFd> open_in_root(int root_fd, std::string_view path) {
  std::string name(path);
  Result<UniqueFd> located = open_path_in_root(root_fd, path);
  if (!located) {
    return located.error();
  }

  struct stat info {};
  if (::fstat(located->get(), &info) != 0) {
    return system_error(name, errno);
  }
  if (S_ISLNK(info.st_mode)) {
    // Only the fallback gets here, when the last component was replaced by
    // a link after the walk; openat2 follows links in the root itself.
    return system_error(name, ELOOP);
  }
  if (!S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode)) {
    return Error{name + ": not a regular file or directory", EINVAL};
  }

  struct statfs filesystem {};
  if (::fstatfs(located->get(), &filesystem) != 0) {
    return system_error(name, errno);
  }
  if (describes_the_host(filesystem.f_type)) {
    return Error{name +
                     ": on procfs or sysfs, whose files describe the "
                     "machine, not the target's image",
                 EINVAL};
  }

  // Opening /proc/self/fd/N of an O_PATH descriptor opens the very inode
  // that was checked, whatever has been renamed or replaced since.
  std::string reopen = "/proc/self/fd/" + std::to_string(located->get());
  UniqueFd file(::open(reopen.c_str(), kReadFlags));
  if (!file.valid()) {
    return system_error(name + " (reopened as " + reopen + ")", errno);
  }
  return file;
}

Result<std::string> read_regular_file(int fd, size_t max_bytes,
                                      const std::string& name) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    return system_error(name, errno);
  }
  if (!S_ISREG(info.st_mode)) {
    return Error{name + ": not a regular file", EINVAL};
  }
  std::string text;
  char buffer[8192];
  while (text.size() < max_bytes) {
    size_t wanted = std::min(sizeof(buffer), max_bytes - text.size());
    ssize_t count = ::read(fd, buffer, wanted);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count < 0) {
      return system_error(name, errno);
    }
    if (count == 0) {
      break;
    }
    text.append(buffer, static_cast<size_t>(count));
  }
  return text;
}

Result<std::string> read_target_file(const std::string& proc_root,
                                     int32_t host_pid, std::string_view path,
                                     size_t max_bytes) {
  std::string root = proc_root + "/" + std::to_string(host_pid) + "/root";
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) {
    return system_error(root, errno);
  }
  Result<UniqueFd> file = open_in_root(root_fd.get(), path);
  if (!file) {
    return Error{root + ": " + file.error().message, file.error().errno_value};
  }

  return read_regular_file(file->get(), max_bytes,
                           root + "/" + std::string(path));
}

Result<std::string> read_file_in_root(int root_fd, const std::string& root_name,
                                      std::string_view path, size_t max_bytes) {
  Result<UniqueFd> file = open_in_root(root_fd, path);
  if (!file) {
    return Error{root_name + ": " + file.error().message,
                 file.error().errno_value};
  }
  return read_regular_file(file->get(), max_bytes,
                           root_name + "/" + std::string(path));
}

}  // namespace entrytrace
