#include "common/capture_json.h"

#include <gtest/gtest.h>

#include "common/utf8.h"

namespace entrytrace {
namespace {

Capture sample_capture() {
  Capture capture;
  capture.backend = "procfs";
  capture.target = {"pid 4242", 4026532001, 1, 4242};
  capture.window_us = 3'000'000;
  capture.interval_us = 10'000;
  capture.elapsed_us = 2'990'000;
  capture.window_start_ticks = 123456;
  capture.ticks_per_second = 100;
  capture.user_names = {{0, "root"}, {65534, "nobody"}};
  capture.evidence = {"target pid namespace emptied after 1200 ms"};
  capture.diagnostics = {"1 process exited before it could be read"};

  ProcessSnapshot snapshot;
  snapshot.id = {4242, 123400};
  snapshot.ns_pid = 1;
  snapshot.uid = 65534;
  snapshot.euid = 65534;
  snapshot.image.exe = "/app/my app (v2)";
  snapshot.image.exe_known = true;
  snapshot.image.exe_deleted = true;
  snapshot.image.argv = {"python3", "-m", "http.server", ""};
  snapshot.image.comm = "x) R 1 1 1 (y\n";
  snapshot.image.start_stack = 140737488347136ULL;
  snapshot.unreadable = {"cwd: Permission denied"};

  Observation seen;
  seen.kind = ObservationKind::kProcessSeen;
  seen.time_us = 15;
  seen.process = snapshot.id;
  seen.snapshot = snapshot;

  Observation sockets;
  sockets.kind = ObservationKind::kSocketsSeen;
  sockets.time_us = 20'000;
  sockets.process = snapshot.id;
  sockets.sockets = {{SocketProtocol::kTcp6, 991, 4026532002, "::", 8080},
                     {SocketProtocol::kUnix, 992, 4026532002, "@abstract", 0}};

  Observation exited;
  exited.kind = ObservationKind::kProcessExited;
  exited.time_us = 1'200'000;
  exited.process = snapshot.id;

  capture.observations = {seen, sockets, exited};
  return capture;
}

TEST(CaptureJson, RoundTripKeepsEveryField) {
  Capture original = sample_capture();
  std::string text = capture_to_json(original);

  auto parsed = capture_from_json(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;

  EXPECT_EQ(capture_to_json(*parsed), text);
  EXPECT_EQ(parsed->target.init_host_pid, 4242);
  EXPECT_EQ(parsed->user_names.at(65534), "nobody");
  ASSERT_EQ(parsed->observations.size(), 3u);
  const auto& snapshot = *parsed->observations[0].snapshot;
  EXPECT_EQ(snapshot.id.start_ticks, 123400u);
  EXPECT_EQ(snapshot.image.comm, "x) R 1 1 1 (y\n");
  EXPECT_TRUE(snapshot.image.exe_deleted);
  EXPECT_EQ(snapshot.image.argv.back(), "");
  EXPECT_EQ(parsed->observations[1].sockets[0].address, "::");
  EXPECT_EQ(parsed->observations[2].kind, ObservationKind::kProcessExited);
}

TEST(CaptureJson, SameCaptureGivesSameBytes) {
  EXPECT_EQ(capture_to_json(sample_capture()),
            capture_to_json(sample_capture()));
}

TEST(CaptureJson, InvalidJsonNamesOffset) {
  auto parsed = capture_from_json("{\"schema\": ");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("offset"), std::string::npos);
}

TEST(CaptureJson, MissingMemberIsNamed) {
  std::string text = capture_to_json(sample_capture());
  auto position = text.find("\"ticksPerSecond\"");
  ASSERT_NE(position, std::string::npos);
  text.replace(position, 16, "\"ticksPerSecondX\"");

  auto parsed = capture_from_json(text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message, "capture.ticksPerSecond is missing");
}

TEST(CaptureJson, UnknownKindIsRejected) {
  std::string text = capture_to_json(sample_capture());
  auto position = text.find("processExited");
  text.replace(position, 13, "processGone!!");

  auto parsed = capture_from_json(text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("processGone!!"), std::string::npos);
}

TEST(ValidUtf8, KeepsValidText) {
  EXPECT_EQ(valid_utf8("plain"), "plain");
  EXPECT_EQ(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\x8D"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\x8D");
}

TEST(ValidUtf8, ReplacesEachInvalidByte) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(valid_utf8("a\xFF" "b"), "a" + replacement + "b");
  EXPECT_EQ(valid_utf8("\xC3"), replacement);
  // An overlong encoding of '/' and a UTF-16 surrogate.
  EXPECT_EQ(valid_utf8("\xC0\xAF"), replacement + replacement);
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), replacement + replacement + replacement);
}

TEST(DescribeSocket, FormatsEachProtocol) {
  struct Case {
    ListeningSocket socket;
    const char* text;
  };
  const Case cases[] = {
      {{SocketProtocol::kTcp, 1, 1, "0.0.0.0", 8080}, "0.0.0.0:8080"},
      {{SocketProtocol::kTcp6, 1, 1, "::", 8080}, "[::]:8080"},
      {{SocketProtocol::kUdp, 1, 1, "127.0.0.1", 53}, "udp 127.0.0.1:53"},
      {{SocketProtocol::kUnix, 1, 1, "/run/app.sock", 0},
       "unix /run/app.sock"},
      {{SocketProtocol::kUnix, 1, 1, "", 0}, "unix (unnamed)"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(describe_socket(c.socket), c.text);
  }
}

}  // namespace
}  // namespace entrytrace
