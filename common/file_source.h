// Read-only access to the files of a target's root filesystem, whatever
// holds them: an unpacked image for static mode, a live process's
// /proc/<pid>/root, or files kept in a recorded capture. Detectors read
// scripts and configurations through this interface and never open a path
// of the machine they run on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace entrytrace {

// What a path is after its links are resolved inside the root.
struct FileInfo {
  bool regular = false;
  bool directory = false;
  // Any execute bit is set.
  bool executable = false;
  uint64_t size = 0;
};

class FileSource {
 public:
  virtual ~FileSource() = default;

  // Reads at most max_bytes of the file at path, an absolute path inside
  // the root. Errors name the path and carry errno (ENOENT when missing).
  virtual Result<std::string> read(std::string_view path,
                                   size_t max_bytes) const = 0;

  // Names of the entries of directory path, sorted bytewise, without "."
  // and "..".
  virtual Result<std::vector<std::string>> list(
      std::string_view path) const = 0;

  virtual Result<FileInfo> info(std::string_view path) const = 0;

  // Returns the target of the symbolic link at path, as stored in the link,
  // after resolving the links of the directories above it. Errors carry
  // EINVAL when path is not a link; sources without links always return it.
  virtual Result<std::string> read_link(std::string_view path) const;
};

// A directory taken as "/": every path and every symbolic link is resolved
// by open_in_root(), so nothing outside the directory is opened.
class RootDirectory : public FileSource {
 public:
  explicit RootDirectory(UniqueFd root) : root_(std::move(root)) {}

  // Opens path (a host path such as an unpacked image, or
  // /proc/<pid>/root) as the root. Errors name the path and errno.
  static Result<RootDirectory> open(const std::string& path);

  Result<std::string> read(std::string_view path,
                           size_t max_bytes) const override;
  Result<std::vector<std::string>> list(std::string_view path) const override;
  Result<FileInfo> info(std::string_view path) const override;
  Result<std::string> read_link(std::string_view path) const override;

 private:
  UniqueFd root_;
};

// Files held in memory, as a recorded capture keeps them. A directory
// exists when some file lies below it.
class RecordedFiles : public FileSource {
 public:
  struct File {
    std::string content;
    bool executable = false;
  };

  RecordedFiles() = default;
  explicit RecordedFiles(std::map<std::string, File> files)
      : files_(std::move(files)) {}

  void add(std::string path, File file) {
    files_[std::move(path)] = std::move(file);
  }
  const std::map<std::string, File>& files() const { return files_; }

  Result<std::string> read(std::string_view path,
                           size_t max_bytes) const override;
  Result<std::vector<std::string>> list(std::string_view path) const override;
  Result<FileInfo> info(std::string_view path) const override;

 private:
  std::map<std::string, File> files_;
};

}  // namespace entrytrace
