// Recording target files during a live capture and replaying them: the
// replay must give the detectors the entries the live read gave, errors
// and limits included, also after a round trip through the capture's JSON.
#include "detectors/supervisor_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "common/capture_json.h"

namespace entrytrace {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

RecordedFiles target_tree() {
  RecordedFiles files;
  files.add("/etc/supervisor/supervisord.conf", {"[supervisord]\n", false});
  files.add("/etc/supervisor/conf.d/web.conf", {"[program:web]\n", false});
  files.add("/etc/service/cron/run", {"#!/bin/sh\nexec cron -f\n", true});
  files.add("/etc/service/sshd/down", {"", false});
  return files;
}

// Every kind of entry, read the same way through both sources.
void read_everything(const FileSource& files,
                     std::vector<std::string>& entries) {
  auto text = files.read("/etc/supervisor/supervisord.conf", 100);
  entries.push_back(text ? *text : text.error().message);
  auto names = files.list("/etc/service");
  entries.push_back(names ? std::to_string(names->size()) + " entries"
                          : names.error().message);
  auto missing = files.read("/etc/supervisord.conf", 100);
  entries.push_back(missing ? *missing
                            : missing.error().message + " errno " +
                                  std::to_string(missing.error().errno_value));
  auto directory = files.info("/etc/service/cron");
  entries.push_back(directory && directory->directory ? "directory" : "?");
  auto not_directory = files.list("/etc/service/cron/run");
  entries.push_back(not_directory ? "listed" : not_directory.error().message);
}

TEST(RecordingFiles, ReplayGivesSameEntries) {
  const RecordedFiles target = target_tree();
  Capture capture;
  RecordingFiles recording(target, capture.files, FileLimits{});
  std::vector<std::string> live;
  read_everything(recording, live);

  auto replayed = capture_from_json(capture_to_json(capture));
  ASSERT_TRUE(replayed) << replayed.error().message;
  CapturedFiles captured(replayed->files);
  std::vector<std::string> replay;
  read_everything(captured, replay);

  EXPECT_EQ(live, replay);
  EXPECT_EQ(live[0], "[supervisord]\n");
  EXPECT_EQ(live[1], "2 entries");
  EXPECT_THAT(live[2], HasSubstr("errno " + std::to_string(ENOENT)));
  EXPECT_EQ(live[3], "directory");
  EXPECT_THAT(live[4], HasSubstr("Not a directory"));
}

TEST(RecordingFiles, PathIsKeptOnceAsItsKind) {
  const RecordedFiles target = target_tree();
  Capture capture;
  RecordingFiles recording(target, capture.files, FileLimits{});
  // A read of a directory lists it, and a listing of a file reads it.
  EXPECT_FALSE(recording.read("/etc/service", 10));
  EXPECT_FALSE(recording.list("/etc/service/cron/run"));

  ASSERT_EQ(capture.files.size(), 2u);
  const TargetFile& directory = capture.files.at("/etc/service");
  EXPECT_EQ(directory.kind, TargetFile::Kind::kDirectory);
  EXPECT_THAT(directory.entries, ElementsAre("cron", "sshd"));
  EXPECT_EQ(capture.files.at("/etc/service/cron/run").kind,
            TargetFile::Kind::kFile);
}

TEST(RecordingFiles, LongFileIsTruncated) {
  RecordedFiles target;
  target.add("/big.conf", {std::string(20, 'x'), false});
  target.add("/exact.conf", {std::string(8, 'y'), false});
  Capture capture;
  FileLimits limits;
  limits.max_file_bytes = 8;
  RecordingFiles recording(target, capture.files, limits);

  auto big = recording.read("/big.conf", 100);
  ASSERT_TRUE(big);
  EXPECT_EQ(*big, std::string(8, 'x'));
  EXPECT_TRUE(capture.files.at("/big.conf").truncated);
  ASSERT_TRUE(recording.read("/exact.conf", 100));
  EXPECT_FALSE(capture.files.at("/exact.conf").truncated);
}

TEST(RecordingFiles, EntryLimitMatchesReplay) {
  const RecordedFiles target = target_tree();
  Capture capture;
  FileLimits limits;
  limits.max_entries = 1;
  RecordingFiles recording(target, capture.files, limits);

  ASSERT_TRUE(recording.read("/etc/supervisor/supervisord.conf", 100));
  EXPECT_FALSE(recording.limit_reached());
  auto refused = recording.read("/etc/supervisor/conf.d/web.conf", 100);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(recording.limit_reached());
  EXPECT_EQ(capture.files.size(), 1u);

  auto replayed =
      CapturedFiles(capture.files).read("/etc/supervisor/conf.d/web.conf", 10);
  ASSERT_FALSE(replayed);
  EXPECT_EQ(replayed.error().message, refused.error().message);
  EXPECT_EQ(replayed.error().errno_value, 0);
}

TEST(RecordingFiles, ByteLimitIsRecorded) {
  RecordedFiles target;
  target.add("/a.conf", {std::string(6, 'a'), false});
  target.add("/b.conf", {std::string(6, 'b'), false});
  Capture capture;
  FileLimits limits;
  limits.max_total_bytes = 10;
  RecordingFiles recording(target, capture.files, limits);

  ASSERT_TRUE(recording.read("/a.conf", 100));
  auto over = recording.read("/b.conf", 100);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().errno_value, EFBIG);
  EXPECT_EQ(capture.files.at("/b.conf").kind, TargetFile::Kind::kError);
}

TEST(CapturedFiles, PathNotKeptIsNotMissing) {
  Capture capture;
  auto read = CapturedFiles(capture.files).read("/etc/app.conf", 10);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().errno_value, 0);
  EXPECT_THAT(read.error().message, HasSubstr("not kept in the capture"));
}

}  // namespace
}  // namespace entrytrace
