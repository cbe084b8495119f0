#include "common/target_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <deque>
#include <vector>

namespace entrytrace {
namespace {

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

Result<UniqueFd> open_by_walk_in_root(int root_fd, std::string_view path) {
  std::string name(path);
  std::vector<UniqueFd> walk;
  walk.emplace_back(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (!walk.back().valid()) {
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
      if (walk.size() > 1) {
        walk.pop_back();
      }
      continue;
    }

    int dir_fd = walk.back().get();
    UniqueFd entry(
        ::openat(dir_fd, component.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
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
        walk.resize(1);
      }
      std::deque<std::string> parts = split_path(*target);
      pending.insert(pending.begin(), parts.begin(), parts.end());
      continue;
    }

    if (pending.empty()) {
      // The last component: opened for reading from its directory, never
      // following a link that replaced it after the check above.
      UniqueFd file(::openat(dir_fd, component.c_str(),
                             O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!file.valid()) {
        return system_error(name, errno);
      }
      return file;
    }
    if (!S_ISDIR(info.st_mode)) {
      return system_error(name, ENOTDIR);
    }
    walk.push_back(std::move(entry));
  }
  // The path named the root or a directory reached by ".." or links.
  UniqueFd dir(::openat(walk.back().get(), ".", O_RDONLY | O_CLOEXEC));
  if (!dir.valid()) {
    return system_error(name, errno);
  }
  return dir;
}

Result<UniqueFd> open_in_root(int root_fd, std::string_view path) {
  std::string name(path);
  if (!openat2_disabled()) {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC;
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

  std::string text;
  char buffer[8192];
  while (text.size() < max_bytes) {
    size_t wanted = std::min(sizeof(buffer), max_bytes - text.size());
    ssize_t count = ::read(file->get(), buffer, wanted);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count < 0) {
      return system_error(root + "/" + std::string(path), errno);
    }
    if (count == 0) {
      break;
    }
    text.append(buffer, count);
  }
  return text;
}

}  // namespace entrytrace
