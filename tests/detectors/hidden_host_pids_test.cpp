// A capture read through a procfs scoped to the target's PID namespace has
// no host pids: its process identities carry the namespace's pids. The
// recorded capture records that, and the result writes 0 in every host pid
// field.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

#include "common/capture_json.h"
#include "detectors/analyze.h"
#include "detectors/result_json.h"
#include "tests/graph/capture_builder.h"

namespace entrytrace {
namespace {

using testing::CaptureBuilder;
using testing::tcp;

// tini (1) ── python3 (2), listening on 8080, as a scoped procfs numbers
// them: identity pids equal namespace pids, and init_host_pid is unknown.
CaptureBuilder scoped_sample() {
  CaptureBuilder b;
  b.capture().target.host_pids_visible = false;
  b.capture().target.init_host_pid = 0;
  b.seen(0, 1, 1, 0, 500, "/usr/bin/tini", {"tini", "--", "python3"});
  ProcessId server =
      b.seen(2, 2, 2, 1, 510, "/usr/bin/python3.11", {"python3", "app.py"});
  b.listen(100, server, {tcp("0.0.0.0", 8080, 71)});
  return b;
}

rapidjson::Document result_of(const Capture& capture) {
  const Catalogue catalogue = Catalogue::load_default();
  std::string text =
      result_to_json(analyze(capture, catalogue, AnalyzeOptions{}));
  rapidjson::Document document;
  document.Parse(text.c_str());
  return document;
}

TEST(HiddenHostPids, CaptureJsonKeepsFlag) {
  CaptureBuilder b = scoped_sample();

  Result<Capture> parsed = capture_from_json(capture_to_json(b.capture()));

  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_FALSE(parsed->target.host_pids_visible);
  EXPECT_EQ(parsed->observations.front().process.host_pid, 1);
}

TEST(HiddenHostPids, OlderCaptureHasHostPids) {
  CaptureBuilder b = scoped_sample();
  std::string text = capture_to_json(b.capture());
  const std::string member = "\"hostPidsVisible\": false";
  size_t at = text.find(member);
  ASSERT_NE(at, std::string::npos) << text;
  // Drops the member and the comma before it, as a capture recorded before
  // the member existed.
  size_t comma = text.rfind(',', at);
  text.erase(comma, at + member.size() - comma);

  Result<Capture> parsed = capture_from_json(text);

  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->target.host_pids_visible);
}

TEST(HiddenHostPids, ResultWritesZeroHostPids) {
  rapidjson::Document result = result_of(scoped_sample().capture());

  ASSERT_FALSE(result.HasParseError());
  const auto& target = result["target"];
  EXPECT_FALSE(target["hostPidsVisible"].GetBool());
  EXPECT_EQ(target["initHostPid"].GetInt(), 0);
  ASSERT_EQ(result["execGraph"]["nodes"].Size(), 2u);
  for (const auto& node : result["execGraph"]["nodes"].GetArray()) {
    SCOPED_TRACE(node["id"].GetString());
    EXPECT_EQ(node["hostPid"].GetInt(), 0);
    EXPECT_EQ(node["hostPpid"].GetInt(), 0);
    EXPECT_GT(node["nsPid"].GetInt(), 0);
  }
  ASSERT_EQ(result["execGraph"]["edges"].Size(), 1u);
  const auto& edge = result["execGraph"]["edges"][0];
  EXPECT_EQ(edge["parentHostPid"].GetInt(), 0);
  EXPECT_EQ(edge["childHostPid"].GetInt(), 0);
  ASSERT_GE(result["terminals"].Size(), 1u);
  const auto& top = result["terminals"][0];
  EXPECT_EQ(top["hostPid"].GetInt(), 0);
  EXPECT_EQ(top["nsPid"].GetInt(), 2);
  // Node ids keep the capture's identity, the namespace pid and the start
  // ticks, so they stay unique and the same from run to run.
  EXPECT_STREQ(top["nodeId"].GetString(), "p2-510-0");
}

TEST(HiddenHostPids, VisibleHostPidsAreWritten) {
  CaptureBuilder b = scoped_sample();
  b.capture().target.host_pids_visible = true;
  b.capture().target.init_host_pid = 1;

  rapidjson::Document result = result_of(b.capture());

  ASSERT_FALSE(result.HasParseError());
  EXPECT_TRUE(result["target"]["hostPidsVisible"].GetBool());
  EXPECT_EQ(result["target"]["initHostPid"].GetInt(), 1);
  EXPECT_EQ(result["terminals"][0]["hostPid"].GetInt(), 2);
}

}  // namespace
}  // namespace entrytrace
