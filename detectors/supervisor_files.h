// The target files that supervisor detectors read, kept in the capture.
//
// Detectors read a supervisor's configuration through a FileSource. During a
// live capture that source is a RecordingFiles over the root directory of
// the supervisor process: it bounds what is read and records every entry
// in Capture::files. `entrytrace analyze` replays those entries through
// CapturedFiles, so the same detector code sees the same bytes and errors,
// and the result of a recorded capture equals the live one.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_source.h"
#include "common/observation.h"

namespace entrytrace {

// Bounds on what one capture keeps of the target's files.
struct FileLimits {
  // Bytes kept of one file; the rest is dropped and the file is marked
  // truncated.
  size_t max_file_bytes = 256 * 1024;
  // Entries kept (files, listings and errors together).
  size_t max_entries = 512;
  // Bytes kept of all files together.
  size_t max_total_bytes = 4 * 1024 * 1024;
};

// Serves reads from the files kept in a capture. A path that was not kept
// (never read live, or read past the entry limit) is an error with errno
// 0, so a detector can distinguish it from a file missing in the target
// (ENOENT).
class CapturedFiles : public FileSource {
 public:
  explicit CapturedFiles(const std::map<std::string, TargetFile>& files)
      : files_(files) {}

  Result<std::string> read(std::string_view path,
                           size_t max_bytes) const override;
  Result<std::vector<std::string>> list(std::string_view path) const override;
  Result<FileInfo> info(std::string_view path) const override;

 private:
  const TargetFile* find(std::string_view path) const;

  const std::map<std::string, TargetFile>& files_;
};

// Reads through another source and records each entry in `files`, within
// `limits`, and returns exactly what CapturedFiles will on replay. A path is
// read once, by what it is. A directory is listed and a regular file read,
// whichever the caller asked for, and other file types are not read. Past the
// entry limit a path is not read and fails as CapturedFiles fails for a
// path not kept; past the byte limit a file fails with EFBIG, and that is
// recorded.
class RecordingFiles : public FileSource {
 public:
  RecordingFiles(const FileSource& source,
                 std::map<std::string, TargetFile>& files, FileLimits limits)
      : source_(source), files_(files), limits_(limits) {}

  Result<std::string> read(std::string_view path,
                           size_t max_bytes) const override;
  Result<std::vector<std::string>> list(std::string_view path) const override;
  Result<FileInfo> info(std::string_view path) const override;

  // True once a read was refused because the entry limit was reached.
  bool limit_reached() const { return limit_reached_; }

 private:
  // The recorded entry for path, reading it first when it is new: listed
  // when it is a directory, read when it is a regular file. nullptr past
  // the entry limit.
  const TargetFile* entry(const std::string& path) const;
  TargetFile fetch_file(const std::string& path) const;
  TargetFile fetch_directory(const std::string& path) const;

  const FileSource& source_;
  std::map<std::string, TargetFile>& files_;
  FileLimits limits_;
  mutable size_t total_bytes_ = 0;
  mutable bool limit_reached_ = false;
};

}  // namespace entrytrace
