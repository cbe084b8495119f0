#include "common/file_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "common/target_root.h"

namespace entrytrace {
namespace {

// Trims trailing slashes so "/etc/" and "/etc" name one directory; "/" stays.
std::string normal_directory(std::string_view path) {
  std::string name(path);
  while (name.size() > 1 && name.back() == '/') {
    name.pop_back();
  }
  return name;
}

}  // namespace

Result<RootDirectory> RootDirectory::open(const std::string& path) {
  UniqueFd root(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) {
    return system_error(path, errno);
  }
  return RootDirectory(std::move(root));
}

Result<std::string> RootDirectory::read(std::string_view path,
                                        size_t max_bytes) const {
  Result<UniqueFd> file = open_in_root(root_.get(), path);
  if (!file) {
    return file.error();
  }
  return read_regular_file(file->get(), max_bytes, std::string(path));
}

Result<std::vector<std::string>> RootDirectory::list(
    std::string_view path) const {
  Result<UniqueFd> directory = open_in_root(root_.get(), path);
  if (!directory) {
    return directory.error();
  }
  // fdopendir takes the descriptor over; closedir closes it.
  DIR* stream = ::fdopendir(directory->release());
  if (stream == nullptr) {
    return system_error(std::string(path), errno);
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(stream)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      names.emplace_back(name);
    }
  }
  ::closedir(stream);
  std::sort(names.begin(), names.end());
  return names;
}

Result<FileInfo> RootDirectory::info(std::string_view path) const {
  // An O_PATH descriptor describes a device node or FIFO without opening it.
  Result<UniqueFd> file = open_path_in_root(root_.get(), path);
  if (!file) {
    return file.error();
  }
  struct stat status {};
  if (::fstat(file->get(), &status) != 0) {
    return system_error(std::string(path), errno);
  }
  FileInfo info;
  info.regular = S_ISREG(status.st_mode);
  info.directory = S_ISDIR(status.st_mode);
  info.executable = (status.st_mode & 0111) != 0;
  info.size = static_cast<uint64_t>(status.st_size);
  return info;
}

Result<std::string> FileSource::read_link(std::string_view path) const {
  return system_error(std::string(path), EINVAL);
}

Result<std::string> RootDirectory::read_link(std::string_view path) const {
  const std::string name = normal_directory(path);
  const size_t slash = name.rfind('/');
  const std::string base =
      slash == std::string::npos ? name : name.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") {
    return system_error(name, EINVAL);
  }
  const std::string parent =
      slash == std::string::npos || slash == 0 ? "/" : name.substr(0, slash);
  Result<UniqueFd> directory = open_in_root(root_.get(), parent);
  if (!directory) {
    return directory.error();
  }
  std::string target(256, '\0');
  while (true) {
    ssize_t length = ::readlinkat(directory->get(), base.c_str(), target.data(),
                                  target.size());
    if (length < 0) {
      return system_error(name, errno);
    }
    if (static_cast<size_t>(length) < target.size()) {
      target.resize(static_cast<size_t>(length));
      return target;
    }
    target.resize(target.size() * 2);
  }
}

Result<std::string> RecordedFiles::read(std::string_view path,
                                        size_t max_bytes) const {
  auto found = files_.find(std::string(path));
  if (found == files_.end()) {
    return system_error(std::string(path), ENOENT);
  }
  return found->second.content.substr(0, max_bytes);
}

Result<std::vector<std::string>> RecordedFiles::list(
    std::string_view path) const {
  std::string prefix = normal_directory(path);
  if (prefix != "/") {
    prefix += '/';
  }
  // "a-b" sorts between "a/x" and "a/y", so names are collected in a set.
  std::set<std::string> names;
  for (auto it = files_.lower_bound(prefix);
       it != files_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    std::string rest = it->first.substr(prefix.size());
    std::string name = rest.substr(0, rest.find('/'));
    if (!name.empty()) {
      names.insert(std::move(name));
    }
  }
  if (names.empty()) {
    return system_error(std::string(path), ENOENT);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

Result<FileInfo> RecordedFiles::info(std::string_view path) const {
  FileInfo info;
  auto found = files_.find(std::string(path));
  if (found != files_.end()) {
    info.regular = true;
    info.executable = found->second.executable;
    info.size = found->second.content.size();
    return info;
  }
  if (list(path)) {
    info.directory = true;
    return info;
  }
  return system_error(std::string(path), ENOENT);
}

}  // namespace entrytrace
