#include "detectors/supervisor_files.h"

#include <algorithm>
#include <cerrno>

namespace entrytrace {
namespace {

Error not_kept(const std::string& path) {
  return Error{path + ": not kept in the capture", 0};
}

Error recorded_error(const TargetFile& file) {
  return Error{file.error, file.error_number};
}

// The entries of both sources, from one recorded TargetFile (nullptr when
// the path was not kept).

Result<std::string> read_entry(const TargetFile* file, const std::string& path,
                               size_t max_bytes) {
  if (file == nullptr) {
    return not_kept(path);
  }
  switch (file->kind) {
    case TargetFile::Kind::kFile:
      return file->content.substr(0, max_bytes);
    case TargetFile::Kind::kDirectory:
      return system_error(path, EISDIR);
    case TargetFile::Kind::kError:
      break;
  }
  return recorded_error(*file);
}

Result<std::vector<std::string>> list_entry(const TargetFile* file,
                                            const std::string& path) {
  if (file == nullptr) {
    return not_kept(path);
  }
  switch (file->kind) {
    case TargetFile::Kind::kFile:
      return system_error(path, ENOTDIR);
    case TargetFile::Kind::kDirectory:
      return file->entries;
    case TargetFile::Kind::kError:
      break;
  }
  return recorded_error(*file);
}

Result<FileInfo> info_entry(const TargetFile* file, const std::string& path) {
  if (file == nullptr) {
    return not_kept(path);
  }
  FileInfo info;
  switch (file->kind) {
    case TargetFile::Kind::kFile:
      info.regular = true;
      info.size = file->content.size();
      return info;
    case TargetFile::Kind::kDirectory:
      info.directory = true;
      return info;
    case TargetFile::Kind::kError:
      break;
  }
  return recorded_error(*file);
}

TargetFile error_file(const Error& error) {
  TargetFile file;
  file.kind = TargetFile::Kind::kError;
  file.error = error.message;
  file.error_number = error.errno_value;
  return file;
}

}  // namespace

const TargetFile* CapturedFiles::find(std::string_view path) const {
  auto found = files_.find(std::string(path));
  return found == files_.end() ? nullptr : &found->second;
}

Result<std::string> CapturedFiles::read(std::string_view path,
                                        size_t max_bytes) const {
  return read_entry(find(path), std::string(path), max_bytes);
}

Result<std::vector<std::string>> CapturedFiles::list(
    std::string_view path) const {
  return list_entry(find(path), std::string(path));
}

Result<FileInfo> CapturedFiles::info(std::string_view path) const {
  return info_entry(find(path), std::string(path));
}

Result<std::string> RecordingFiles::read(std::string_view path,
                                         size_t max_bytes) const {
  const std::string name(path);
  return read_entry(entry(name), name, max_bytes);
}

Result<std::vector<std::string>> RecordingFiles::list(
    std::string_view path) const {
  const std::string name(path);
  return list_entry(entry(name), name);
}

Result<FileInfo> RecordingFiles::info(std::string_view path) const {
  const std::string name(path);
  return info_entry(entry(name), name);
}

const TargetFile* RecordingFiles::entry(const std::string& path) const {
  auto found = files_.find(path);
  if (found != files_.end()) {
    return &found->second;
  }
  if (files_.size() >= limits_.max_entries) {
    limit_reached_ = true;
    return nullptr;
  }
  // What the path is decides how it is kept, whatever was asked for.
  TargetFile file;
  Result<FileInfo> info = source_.info(path);
  if (!info) {
    file = error_file(info.error());
  } else if (info->directory) {
    file = fetch_directory(path);
  } else if (info->regular) {
    file = fetch_file(path);
  } else {
    file =
        error_file(Error{path + ": not a regular file or directory", EINVAL});
  }
  return &(files_[path] = std::move(file));
}

TargetFile RecordingFiles::fetch_file(const std::string& path) const {
  // One byte past the limit distinguishes a file of exactly the limit from a
  // longer one.
  Result<std::string> content = source_.read(path, limits_.max_file_bytes + 1);
  if (!content) {
    return error_file(content.error());
  }
  if (total_bytes_ + content->size() > limits_.max_total_bytes) {
    return error_file(Error{path + ": not read, the capture already keeps " +
                                std::to_string(total_bytes_) +
                                " bytes of target files",
                            EFBIG});
  }
  TargetFile file;
  file.kind = TargetFile::Kind::kFile;
  file.truncated = content->size() > limits_.max_file_bytes;
  file.content = std::move(*content);
  file.content.resize(std::min(file.content.size(), limits_.max_file_bytes));
  total_bytes_ += file.content.size();
  return file;
}

TargetFile RecordingFiles::fetch_directory(const std::string& path) const {
  Result<std::vector<std::string>> entries = source_.list(path);
  if (!entries) {
    return error_file(entries.error());
  }
  size_t bytes = 0;
  for (const std::string& entry : *entries) {
    bytes += entry.size();
  }
  if (total_bytes_ + bytes > limits_.max_total_bytes) {
    return error_file(Error{path + ": not listed, the capture already keeps " +
                                std::to_string(total_bytes_) +
                                " bytes of target files",
                            EFBIG});
  }
  total_bytes_ += bytes;
  TargetFile file;
  file.kind = TargetFile::Kind::kDirectory;
  file.entries = std::move(*entries);
  return file;
}

}  // namespace entrytrace
