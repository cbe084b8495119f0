#include "poller/ebpf/path_in_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <vector>

#include "common/unique_fd.h"

namespace entrytrace {
namespace {

// The limit of symbolic links in one lookup, as the kernel's MAXSYMLINKS.
constexpr int kMaxLinks = 40;

void split_components(std::string_view path, std::deque<std::string>& out,
                      bool at_front) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start) {
      parts.emplace_back(path.substr(start, end - start));
    }
    start = end + 1;
  }
  if (at_front) {
    out.insert(out.begin(), parts.begin(), parts.end());
  } else {
    out.insert(out.end(), parts.begin(), parts.end());
  }
}

std::string join(const std::vector<std::string>& components) {
  if (components.empty()) {
    return "/";
  }
  std::string path;
  for (const std::string& component : components) {
    path += "/" + component;
  }
  return path;
}

Result<std::string> read_link_at(int fd, const std::string& shown) {
  std::string target(4096, '\0');
  ssize_t size = ::readlinkat(fd, "", target.data(), target.size());
  if (size < 0) {
    return system_error(shown, errno);
  }
  target.resize(static_cast<size_t>(size));
  return target;
}

}  // namespace

Result<std::string> resolve_in_root(int root_fd, std::string_view path) {
  std::deque<std::string> pending;
  split_components(path, pending, false);
  // dirs[i] is the directory reached by resolved[0..i); dirs[0] is the root.
  std::vector<UniqueFd> dirs;
  dirs.emplace_back(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (!dirs.back().valid()) {
    return system_error("duplicating the root directory descriptor", errno);
  }
  std::vector<std::string> resolved;
  int links = 0;

  while (!pending.empty()) {
    std::string component = std::move(pending.front());
    pending.pop_front();
    if (component == ".") {
      continue;
    }
    if (component == "..") {
      if (!resolved.empty()) {
        resolved.pop_back();
        dirs.pop_back();
      }
      continue;
    }
    std::string shown =
        join(resolved) + (resolved.empty() ? "" : "/") + component;
    UniqueFd fd(::openat(dirs.back().get(), component.c_str(),
                         O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
      return system_error(shown, errno);
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) {
      return system_error(shown, errno);
    }
    if (S_ISLNK(info.st_mode)) {
      if (++links > kMaxLinks) {
        return system_error(std::string(path), ELOOP);
      }
      Result<std::string> target = read_link_at(fd.get(), shown);
      if (!target) {
        return target.error();
      }
      if (target->starts_with("/")) {
        resolved.clear();
        dirs.resize(1);
      }
      split_components(*target, pending, true);
      continue;
    }
    if (!pending.empty() && !S_ISDIR(info.st_mode)) {
      return system_error(shown, ENOTDIR);
    }
    resolved.push_back(std::move(component));
    dirs.push_back(std::move(fd));
  }
  return join(resolved);
}

}  // namespace entrytrace
